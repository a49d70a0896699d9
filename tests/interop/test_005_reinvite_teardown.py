"""A re-INVITE passing through the switch when the call ends under it.

A calls B through the switch and re-INVITEs (hold); the switch passes the
offer on to B, which sends 100 and holds its answer back.  Then the call
ends: A hangs up, B hangs up, media times out, or the switch stops.  The
re-INVITE must get a final response, a late 2xx from B still gets its
ACK, the call is gone, and the daemon (ASan build) exits clean: Switch.
stop() fails on a non-zero exit, which LeakSanitizer gives on a leak.
"""
import time

from sbtest import sipp_wait, wait_for, grep
from test_005_calls import (PASSED_ON, call_switch, call_through, caller_bg,
                            no_calls, registered_phone)


def test_caller_bye_with_its_reinvite_pending(tmp_path):
    """(a) A's BYE: 200 for it, 487 for the re-INVITE; B gets a BYE."""
    sw = call_switch(tmp_path)
    sw.start()
    try:
        call_through(sw, uas="reinvite_pending_uas.xml",
                     uac="reinvite_pending_uac_bye.xml")
        assert grep(PASSED_ON, sw.log()), sw.log()
        assert wait_for(lambda: no_calls(sw), timeout=5), \
            sw.cli("show calls").stdout
    finally:
        # The re-INVITE to B is still unanswered: its transaction and
        # what rides on it go at shutdown, without a leak.
        sw.stop()


def test_shutdown_with_a_reinvite_pending(tmp_path):
    """(b) SIGTERM: A gets 487 and a BYE, B a BYE, the daemon exits 0."""
    sw = call_switch(tmp_path)
    sw.start()
    a = None
    try:
        callee = registered_phone(sw, "1001",
                                  scenario="reinvite_pending_uas.xml")
        a = caller_bg(sw, "1000", "1001", "reinvite_pending_uac_term.xml")
        assert wait_for(lambda: grep(PASSED_ON, sw.log()), timeout=15), \
            sw.log()
        assert "1 call(s)" in sw.cli("show calls").stdout
        time.sleep(0.3)
        assert sw.stop() == 0
        rc, out = sipp_wait(a)
        a = None
        assert rc == 0, out
        rc, out = sipp_wait(callee)
        assert rc == 0, out
    finally:
        if a is not None:
            a.kill()
            a.wait()
        sw.stop()


def test_late_2xx_to_a_reinvite_after_bye_is_acked(tmp_path):
    """(c) B answers 200 only after the BYEs: the switch still ACKs it
    (RFC 3261 13.2.2.4); A's re-INVITE got 487 at its BYE."""
    sw = call_switch(tmp_path)
    sw.start()
    try:
        call_through(sw, uas="reinvite_pending_uas_late.xml",
                     uac="reinvite_pending_uac_bye.xml")
        assert wait_for(lambda: no_calls(sw), timeout=5), \
            sw.cli("show calls").stdout
    finally:
        sw.stop()


def test_callee_bye_with_a_reinvite_pending(tmp_path):
    """B hangs up instead of answering: A's re-INVITE gets 487 and A a
    BYE."""
    sw = call_switch(tmp_path)
    sw.start()
    try:
        call_through(sw, uas="reinvite_pending_uas_bye.xml",
                     uac="reinvite_pending_uac_term.xml")
        assert grep(r"SB02604 call .*: BYE from the B leg", sw.log())
        assert wait_for(lambda: no_calls(sw), timeout=5), \
            sw.cli("show calls").stdout
    finally:
        sw.stop()


def test_media_timeout_with_a_reinvite_pending(tmp_path):
    """No RTP: media-timeout ends the call while the re-INVITE waits."""
    sw = call_switch(tmp_path, media_timeout="3")
    sw.start()
    try:
        call_through(sw, uas="reinvite_pending_uas.xml",
                     uac="reinvite_pending_uac_term.xml")
        log = sw.log()
        assert grep(PASSED_ON, log), log
        assert grep(r"SB02632 call .*: no media for 3 s", log), log
        assert wait_for(lambda: no_calls(sw), timeout=5), \
            sw.cli("show calls").stdout
    finally:
        sw.stop()
