"""b. A TLS handshake flood from one source (127.0.0.2): a phone on
127.0.0.1 keeps being served. The test passes on service continuity; it
also reports whether a per-source handshake limit fired (its log line
names tls-handshake-rate) and whether the per-IP connection limit did."""
import os
import re

from faultlib import (Prober, conns, fault_switch, fired, flows, handshakes,
                      limits, load, load_result, size, summary, wait_idle)


def test_handshake_flood_phone_keeps_service(tmp_path):
    seconds = size("flood_seconds")
    procs_n, conc = size("flood_procs"), size("flood_concurrency")
    sw = fault_switch(tmp_path)
    sw.start()
    prober, clients = None, []
    try:
        ok0, failed0 = handshakes(sw)
        prober = Prober(sw)
        prober.start()
        for i in range(procs_n):
            clients.append(load(
                "flood", sw, os.path.join(str(tmp_path), "flood%d.json" % i),
                "--source", "127.0.0.2", "--seconds", seconds,
                "--concurrency", conc, "--timeout", 10))
        results = [load_result(c, timeout=seconds + 60) for c in clients]
        prober.stop()
        done = sum(r["ok"] for r in results)
        failed = sum(r["failed"] for r in results)
        errors = {}
        for r in results:
            for why, k in r["errors"].items():
                errors[why] = errors.get(why, 0) + k
        rate = done / max(r["seconds"] for r in results)
        idle = wait_idle(sw, timeout=30)
        ok1, failed1 = handshakes(sw)
        log = sw.log()
        limit_lines = [ln for ln in log.splitlines()
                       if "tls-handshake-rate" in ln]
        counters = limits(sw) or {}
        rate_fired = counters.get("tls-handshake-rate")
        per_ip = fired(sw, "max-connections", "SB02030")
        lost = []
        if prober.failures():
            lost.append("phone: %d REGISTERs failed: %s" % (
                len(prober.failures()), prober.failures()[:3]))
        if len(prober.results) < seconds:
            lost.append("phone: only %d probes in %d s" % (
                len(prober.results), seconds))
        if not idle:
            lost.append("connections left: %s, flows %d" % (conns(sw),
                                                            flows(sw)))
        if done + failed < 10 * seconds:
            lost.append("the flood did not flood: %d attempts" % (
                done + failed))
        code = re.search(r"\b(SB\d+)\b", limit_lines[0]).group(1) \
            if limit_lines else None
        line = summary(
            "b handshake flood",
            "%d handshake attempts from 127.0.0.2 in %d s (%d completed, "
            "%.0f/s; %d refused or failed: %s); switch counted %d ok, %d "
            "failed; %s; tls-handshake-rate limit fired: %s; "
            "max-connections-per-ip fired: %d" % (
                done + failed, seconds, done, rate, failed,
                ", ".join("%s %d" % kv for kv in sorted(errors.items())) or
                "none", ok1 - ok0, failed1 - failed0, prober.text(),
                "%s (%d log line(s) %s)" % (
                    "yes, %d times" % rate_fired if rate_fired else
                    "yes" if limit_lines and rate_fired is None else "no",
                    len(limit_lines), code or "")
                if limit_lines or rate_fired is not None else
                "no (no such limit in this switch)", per_ip),
            "; ".join(lost))
        assert not lost, line
    finally:
        for c in clients:
            if c.poll() is None:
                c.kill()
                c.wait()
        if prober and prober.is_alive():
            prober.stop()
        sw.stop()
