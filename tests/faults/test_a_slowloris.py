"""a. Slow-loris: TLS connections that stall in the handshake or send a
SIP message a byte at a time are closed by the switch's guards
(tls-timeout, msg-timeout, max-msg-chunks) while a phone keeps
registering."""
import os

from faultlib import (Prober, conns, fault_switch, fired, flows, load,
                      load_result, size, summary, wait_idle)
from sbtest import wait_for

SLACK = 8  # seconds past a guard a busy 2-core machine may need


def test_slowloris_closed_by_guards_phone_served(tmp_path):
    n, guard = size("loris"), size("guard")
    sw = fault_switch(tmp_path, tls_timeout=guard, msg_timeout=guard,
                      max_msg_chunks=32)
    sw.start()
    prober = None
    try:
        prober = Prober(sw)
        prober.start()
        # 50 per source: the per-IP connection limit (128) is not the
        # guard under test.
        client = load("loris", sw, os.path.join(str(tmp_path), "loris.json"),
                      "--count", n, "--per-ip", 50, "--third", 10,
                      "--concurrency", 64, "--hold", guard + 30,
                      "--drip-slow", 0.5, "--drip-fast", 0.02)
        res = load_result(client, timeout=120 + n // 10)
        prober.stop()
        kinds = res["kinds"]
        lost = []
        for kind, k in kinds.items():
            if k["connected"] != k["count"]:
                lost.append("%s: %d of %d never connected %s" % (
                    kind, k["count"] - k["connected"], k["count"],
                    k["errors"]))
            if k["still_open"] or k["closed_by_server"] != k["connected"]:
                lost.append("%s: %d still open" % (kind, k["still_open"]))
            elif k["closed_after"][2] > guard + SLACK:
                lost.append("%s: closed only after %.1f s" % (
                    kind, k["closed_after"][2]))
        if prober.failures():
            lost.append("phone: %d REGISTERs failed: %s" % (
                len(prober.failures()), prober.failures()[:3]))
        if len(prober.results) < 4:
            lost.append("phone: only %d probes" % len(prober.results))
        idle = wait_idle(sw, timeout=30)
        if not idle:
            lost.append("connections left: %s, flows %d" % (conns(sw),
                                                            flows(sw)))
        hellos = kinds["hello-half"]["count"] + kinds["hello-full"]["count"]
        drips = kinds["drip-slow"]["count"] + kinds["drip-fast"]["count"]

        def guards():
            return (fired(sw, "tls-timeout", "SB02012"),
                    fired(sw, "msg-timeout", "SB02031"),
                    fired(sw, "max-msg-chunks", "SB02032"))

        # Throttled log lines are summed up every limit-log-interval.
        wait_for(lambda: guards()[0] >= hellos and
                 sum(guards()[1:]) >= drips, timeout=15, interval=0.5)
        tls_to, msg_to, chunks = guards()
        if tls_to < hellos:
            lost.append("tls-timeout fired %d times for %d stalled "
                        "handshakes" % (tls_to, hellos))
        if msg_to + chunks < drips:
            lost.append("slow-sender guards fired %d times for %d "
                        "drippers" % (msg_to + chunks, drips))
        closes = ", ".join(
            "%s %d closed after %s s" % (kind, k["closed_by_server"],
                                         "/".join("%.1f" % x for x in
                                                  k["closed_after"] or []))
            for kind, k in kinds.items())
        line = summary(
            "a slow-loris",
            "%d loris TLS connections (%s; min/median/max) closed by "
            "tls-timeout %d, msg-timeout %d, max-msg-chunks %d (guards %d s,"
            " 32 reads); %s; connections after: %s" % (
                n, closes, tls_to, msg_to, chunks, guard, prober.text(),
                "0" if idle else conns(sw)),
            "; ".join(lost))
        assert not lost, line
    finally:
        if prober and prober.is_alive():
            prober.stop()
        sw.stop()
