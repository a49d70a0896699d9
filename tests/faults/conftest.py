"""Fixtures of the fault tests: descriptors, ASan's quarantine, and the
summary line each test printed, repeated at the end of the run."""
import os
import resource

import faultlib

# Thousands of connections: one descriptor each, in this process and in
# the switch (which inherits the limit from its parent, this process).
_, _HARD = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (_HARD, _HARD))

# Under ASan, freed memory waits in a quarantine (256 MiB by default)
# before it is reused: RSS would measure the quarantine filling, not the
# switch. A small one keeps the memory figures about the switch.
_ASAN = os.environ.get("ASAN_OPTIONS", "")
if "quarantine_size_mb" not in _ASAN:
    os.environ["ASAN_OPTIONS"] = (_ASAN + ":" if _ASAN else "") + \
        "quarantine_size_mb=16"


def pytest_report_header(config):
    return "faults: scale %s, RLIMIT_NOFILE %d, ASAN_OPTIONS=%s" % (
        "full" if faultlib.full() else "small", _HARD,
        os.environ.get("ASAN_OPTIONS", ""))


def pytest_terminal_summary(terminalreporter):
    if faultlib.SUMMARIES:
        terminalreporter.section("fault summaries")
        for line in faultlib.SUMMARIES:
            terminalreporter.write_line(line)


def pytest_collection_modifyitems(config, items):
    faultlib.sbtest.smoke_select(config, items)
