"""d. A registration storm with wrong passwords: over TLS from a few
sources at real and unknown users (user 1000 among them), and over UDP
from thousands of new sources per phase, each sending one REGISTER with a
made-up digest answer per user (what spoofed sources can do). The phone
with the right password (1000 on 127.0.0.1) still registers, the storm
creates no binding, and the switch's memory stops growing: one of the
last two phases at least adds no more than SLACK_KIB (a leak grows in
each; under ASan the quarantine fills during the first ones)."""
import os
import time

from faultlib import (Prober, binding_rows, conns, count_log, fault_switch,
                      fired, flows, load, load_result, registrations,
                      rss_kib, size, summary, wait_idle)

# T1 of 20 ms: a UDP server transaction lingers 64*T1 (Timer J) after its
# answer; the phases measure what stays after that.
T1_MS = 20
SLACK_KIB = 3072
UDP_RATE = 6000


def storm_phase(sw, tmp_path, phase, srcs, attempts, udp_sources, totals):
    client = load("storm", sw, os.path.join(
        str(tmp_path), "storm%d.json" % phase),
        "--sources", srcs, "--third", 30, "--attempts", attempts,
        "--timeout", 10)
    res = load_result(client, timeout=120 + attempts // 10)
    for k, v in res["status"].items():
        totals["tls"][k] = totals["tls"].get(k, 0) + v
    for k, v in res["errors"].items():
        totals["errors"][k] = totals["errors"].get(k, 0) + v
    totals["reconnects"] += res["reconnects"]
    totals["seconds"] += res["seconds"]
    # Fresh sources each phase: 127.0.40.x and up, 250 per /24.
    third = 40 + phase * (udp_sources // 250 + 1)
    client = load("udpstorm", sw, os.path.join(
        str(tmp_path), "udp%d.json" % phase),
        "--sources", udp_sources, "--third", third, "--rate", UDP_RATE,
        port=sw.ports["internal_sip_port"])
    res = load_result(client, timeout=60 + udp_sources // 50)
    totals["udp"] += res["sent"]
    time.sleep(64 * T1_MS / 1000 + 0.5)


def test_wrong_password_storm(tmp_path):
    srcs, attempts = size("storm_sources"), size("storm_attempts")
    udp_sources, phases = size("storm_udp_sources"), size("storm_phases")
    sw = fault_switch(tmp_path, timer_T1=T1_MS)
    sw.start()
    prober = None
    try:
        rss = [rss_kib(sw)]
        prober = Prober(sw, interval=0.3)
        prober.start()
        totals = {"tls": {}, "errors": {}, "reconnects": 0, "seconds": 0.0,
                  "udp": 0}
        for phase in range(phases):
            storm_phase(sw, tmp_path, phase, srcs, attempts, udp_sources,
                        totals)
            rss.append(rss_kib(sw))
        prober.stop()
        n, listing = registrations(sw)
        rows = binding_rows(listing)
        stray = [r for r in rows if not r[0].startswith("1000@") or
                 "@127.0.0.1" not in r[1]]
        idle = wait_idle(sw, timeout=30)
        grow = [b - a for a, b in zip(rss, rss[1:])]
        status = totals["tls"]
        total = sum(status.values())
        failures = count_log(sw, "SB02411")
        fired_text = "limits fired: " + ", ".join(
            "%s %d" % (name, fired(sw, name, code)) for name, code in (
                ("auth-block", "SB02417"), ("auth-blocked", "SB02418"),
                ("max-udp-rate", "SB02037"), ("max-msg-rate", "SB02035")))
        lost = []
        if status.get("200"):
            lost.append("%d storm REGISTERs got 200" % status["200"])
        if stray:
            lost.append("storm bindings: %s" % sorted(stray)[:5])
        if not rows:
            lost.append("the phone's binding is missing")
        if total < phases * attempts * 0.9:
            lost.append("only %d of %d TLS storm attempts answered (%s)" % (
                total, phases * attempts, totals["errors"]))
        if prober.failures():
            lost.append("phone: %d REGISTERs failed: %s" % (
                len(prober.failures()), prober.failures()[:3]))
        if min(grow[-2:]) > SLACK_KIB:
            lost.append("RSS still growing: %s KiB per phase" % grow)
        if not idle:
            lost.append("connections left: %s, flows %d" % (conns(sw),
                                                            flows(sw)))
        line = summary(
            "d wrong-password storm",
            "%d phases of: wrong-password REGISTERs over TLS from %d "
            "sources at 40 users (20 real, 1000 included; %d in all, "
            "%.0f/s, answers %s, %d reconnects) and one UDP REGISTER with a "
            "made-up digest per user from %d new sources (%d in all); %d "
            "auth failures logged; %s; bindings after: %d (%s); switch RSS "
            "%s MiB (growth per phase %s KiB); %s" % (
                phases, srcs, total, total / max(totals["seconds"], 0.01),
                ", ".join("%s x%d" % kv for kv in sorted(status.items())),
                totals["reconnects"], udp_sources, totals["udp"], failures,
                fired_text, n, ", ".join("%s %s" % r for r in sorted(rows)),
                " -> ".join("%.1f" % (r / 1024) for r in rss),
                "/".join(str(g) for g in grow), prober.text()),
            "; ".join(lost))
        assert not lost, line
    finally:
        if prober and prober.is_alive():
            prober.stop()
        sw.stop()
