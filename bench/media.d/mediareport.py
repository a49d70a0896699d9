"""bench/media's figures: one media round of a system, the machine's limit
from the parts (srtp_cost), the printed report and the JSON."""
import json
import statistics

# A G.711 call at 20 ms: 50 packets each way per second.
PPS_PER_CALL = 100
GOAL_PER_CORE = 1500


def delta(a, b, key):
    return b.get(key, 0) - a.get(key, 0)


def round_figures(n, setup, s0, s1, window, extra, before, after):
    """A media window's figures from the phones' stats at its start (s0)
    and end (s1), the system's CPU (`extra`: cpu_s, relay_cpu_s,
    counters...); the loss over the whole round (`before` the calls were
    set up, `after` the phones fell silent and the last packets came)."""
    dt = s1["t"] - s0["t"]
    sent = delta(s0, s1, "sent_ab") + delta(s0, s1, "sent_ba")
    rcvd = delta(s0, s1, "rcvd_ab") + delta(s0, s1, "rcvd_ba")
    lost = {k: delta(before, after, "sent_" + k) -
            delta(before, after, "rcvd_" + k) for k in ("ab", "ba")}
    total = delta(before, after, "sent_ab") + delta(before, after, "sent_ba")
    r = {"concurrent": n, "window_s": dt, "active": int(s1["active"]),
         "setup": setup, "pps": rcvd / dt, "expected_pps":
         n * PPS_PER_CALL, "sent_pps": sent / dt, "sent_round": total,
         "lost_ab": lost["ab"], "lost_ba": lost["ba"],
         "loss": (lost["ab"] + lost["ba"]) / total if total else None,
         "load_cores": delta(s0, s1, "cpu") / dt,
         "delay_mean_ms": s1["delay_mean_us"] / 1000,
         "delay_max_ms": s1["delay_max_us"] / 1000,
         "silent_legs": int(s1["silent_a"] + s1["silent_b"])}
    for k in ("auth_failed", "replayed", "malformed", "bad_payload",
              "unknown", "send_errors", "late_ticks"):
        r["phones_" + k] = int(delta(before, after, k))
    r.update(extra)
    r["cores"] = r["cpu_s"] / window
    r["calls_per_core"] = r["active"] / r["cores"] if r["cores"] else 0
    r["pps_per_core"] = r["pps"] / r["cores"] if r["cores"] else 0
    r["us_per_packet"] = 1e6 * r["cores"] / r["pps"] if r["pps"] else None
    # The kernel's share (system time of every thread: the socket calls,
    # and on loopback the delivery to the receiving phone): a relay can
    # carry no more calls per core than this part alone allows.
    if r.get("kernel_cpu_s") is not None and r["pps"]:
        r["kernel_us_per_packet"] = 1e6 * r["kernel_cpu_s"] / window / \
            r["pps"]
        r["kernel_calls_per_core"] = r["active"] * window / \
            r["kernel_cpu_s"] if r["kernel_cpu_s"] else None
    r["packets_per_wakeup"] = r["pps"] / r["wakeups_per_s"] \
        if r.get("wakeups_per_s") else None
    # What else kept the machine busy: neither the system, the phones,
    # this script nor the idle systems: other jobs.
    r["other_cores"] = max(0.0, r["machine_cores"] - r["cores"] -
                           r["load_cores"] - r["bench_cores"])
    if r.get("relay_cpu_s") is not None:
        r["relay_cores"] = r["relay_cpu_s"] / window
    r["problems"] = problems(r)
    return r


def problems(r):
    out = []
    n = r["concurrent"]
    s = r["setup"]
    if s["up"] < n:
        out.append("%d of %d calls not set up (%s)" % (
            n - s["up"], n, "; ".join(s["errors"]) or "no answer"))
    for when in ("up_at_start", "up_at_end"):
        if r.get(when) is not None and r[when] < s["up"]:
            out.append("%d calls held by the system at the window's %s" % (
                r[when], when[6:]))
    if r["loss"] is None or r["loss"] > 0.001:
        out.append("%d of %d packets lost (%.3f%%; A->B %d, B->A %d)" % (
            r["lost_ab"] + r["lost_ba"], r["sent_round"],
            100 * (r["loss"] or 1), r["lost_ab"], r["lost_ba"]))
    for k, what in (("auth_failed", "SRTP authentication failures"),
                    ("replayed", "replayed SRTP packets"),
                    ("malformed", "malformed SRTP packets"),
                    ("bad_payload", "packets with a wrong payload"),
                    ("unknown", "packets from unknown ports")):
        if r["phones_" + k]:
            out.append("the phones got %d %s" % (r["phones_" + k], what))
    if r["silent_legs"]:
        out.append("%d silent legs (a phone that got nothing)" %
                   r["silent_legs"])
    c = r.get("relay_counters") or {}
    for k, what in (("auth_failed", "SRTP authentication failures"),
                    ("replayed", "replays"), ("dropped", "dropped packets")):
        if c.get(k):
            out.append("the relay counted %d %s" % (c[k], what))
    if r.get("left_open"):
        out.append("%d calls left open after the teardown" %
                   r["left_open"])
    if r.get("teardown", {}).get("bye_failed"):
        out.append("%d calls did not end cleanly" %
                   r["teardown"]["bye_failed"])
    # A timer tick now and then coalesced is normal; more than 5 % of
    # the window's milliseconds means the phones could not keep up.
    if r["phones_late_ticks"] > 0.05 * 1000 * r["window_s"]:
        out.append("the load generator fell behind (%d ms late)" %
                   r["phones_late_ticks"])
    return out


def parse_parts(text):
    """srtp_cost's "key [sessions=N] value" lines as a dict."""
    out = {}
    for line in text.splitlines():
        f = line.split()
        if len(f) == 3 and "=" in f[1]:
            out[f[0]] = float(f[2])
        elif len(f) == 2:
            try:
                out[f[0]] = float(f[1])
            except ValueError:
                out[f[0]] = f[1]
    return out


def limit(p):
    """Calls per core a relay thread could carry on this machine: one
    pass of the relay loop per packet plus, on average, half a protect
    and half an unprotect."""
    srtp = (p["libsrtp2_protect_ns"] + p["libsrtp2_unprotect_ns"]) / 2
    loop = p.get("relay_loop_wake_ns") or p["relay_loop_ns"]
    return 1e9 / (loop + srtp) / PPS_PER_CALL


class Result:
    def __init__(self, system):
        self.system = system
        self.rounds = []
        self.error = None

    def clean_rounds(self):
        """The rounds no other work disturbed (other jobs kept under 0.3
        core busy), or all of them if none was."""
        clean = [r for r in self.rounds if r["other_cores"] <= 0.3]
        return clean or self.rounds

    def figure(self, key):
        """The median over the clean rounds."""
        vals = [r[key] for r in self.clean_rounds() if r.get(key) is not None]
        return statistics.median(vals) if vals else None

    def problems(self):
        out = []
        for n, r in enumerate(self.rounds, 1):
            out += ["round %d: %s" % (n, p) for p in r["problems"]]
        return out

    def ok(self):
        return self.error is None and self.rounds and not self.problems()

    def as_json(self):
        s = self.system
        return {"label": s.label, "version": s.version,
                "settings": s.settings, "error": self.error,
                "ok": bool(self.ok()), "rounds": self.rounds,
                "calls_per_core": self.figure("calls_per_core"),
                "pps_per_core": self.figure("pps_per_core"),
                "us_per_packet": self.figure("us_per_packet"),
                "cores": self.figure("cores")}


def system_lines(res):
    s = res.system
    head = "  %-20s" % s.name
    if res.error:
        return [head + " FAILED", "      " + res.error]
    cpc = res.figure("calls_per_core")
    lines = [head + " %5.0f bridged calls per core, %6.0f packets/s per "
             "core, %.1f us/packet  (%s)" % (
                 cpc, res.figure("pps_per_core"),
                 res.figure("us_per_packet"), s.label)]
    for n, r in enumerate(res.rounds, 1):
        bits = []
        if r.get("relay_cores") is not None:
            bits.append("relay thread %.3f" % r["relay_cores"])
        if r.get("packets_per_wakeup"):
            bits.append("%.1f packets per wakeup" %
                        r["packets_per_wakeup"])
        if r.get("kernel_us_per_packet") is not None:
            bits.append("kernel %.1f us/packet, %.0f calls per core from "
                        "kernel time alone" % (
                            r["kernel_us_per_packet"],
                            r.get("kernel_calls_per_core") or 0))
        relay = " (%s)" % ", ".join(bits) if bits else ""
        own = ""
        c = r.get("relay_counters")
        if c and "tx_pps" in c:
            own = "; relay's count %.0f/s, %d/%d legs SRTP" % (
                c["tx_pps"], c["srtp_legs"], c["legs"])
        elif c and c.get("pps") is not None:
            own = "; rtpengine's count %.0f/s" % c["pps"]
        lines.append(
            "      round %d: %d calls up, %.0f packets/s relayed (%.1f%% of "
            "%d), %.3f cores%s: %.0f calls per core%s" % (
                n, r["active"], r["pps"], 100 * r["pps"] /
                r["expected_pps"], r["expected_pps"], r["cores"], relay,
                r["calls_per_core"], own))
        lines.append(
            "               lost %d of %d packets sent in the round, "
            "SRTP auth failures at the phones %d, bad payloads %d, silent "
            "legs %d; delay mean %.2f ms, max %.1f ms; setup %.1f ms mean; "
            "phones used %.3f cores, the bench and idle systems %.3f, "
            "other work %.3f" % (
                r["lost_ab"] + r["lost_ba"], r["sent_round"],
                r["phones_auth_failed"],
                r["phones_bad_payload"], r["silent_legs"],
                r["delay_mean_ms"], r["delay_max_ms"],
                r["setup"]["setup_ms"] or 0, r["load_cores"],
                r["bench_cores"], r["other_cores"]))
        notes = []
        if r["setup"].get("invite_retransmitted"):
            notes.append("%d INVITEs sent again" %
                         r["setup"]["invite_retransmitted"])
        if r.get("teardown", {}).get("bye_retransmitted"):
            notes.append("%d BYEs sent again" %
                         r["teardown"]["bye_retransmitted"])
        # Machine-wide: other programs' drops count too, so only told
        # when this round lost something.
        if r.get("udp_rcvbuf_drops") and (r["lost_ab"] + r["lost_ba"] or
                                          notes):
            notes.append("the kernel dropped %d UDP datagrams for full "
                         "receive buffers (machine-wide)" %
                         r["udp_rcvbuf_drops"])
        if notes:
            lines.append("               note: " + "; ".join(notes))
        for p in r["problems"]:
            lines.append("               PROBLEM: " + p)
    return lines


def parts_lines(parts, n):
    out = []
    for tag, p in parts.items():
        if "error" in p:
            out.append("  parts (%s): %s" % (tag, p["error"]))
            continue
        out.append(
            "  parts (%s, %d sessions): protect %.2f us, unprotect %.2f us "
            "per 172-byte packet; relay loop %.2f us/packet, %.2f with "
            "the receiver asleep (sendto %.2f + recv %.2f); limit ~%.0f "
            "calls per core" % (
                tag, n, p["libsrtp2_protect_ns"] / 1000,
                p["libsrtp2_unprotect_ns"] / 1000,
                p["relay_loop_ns"] / 1000,
                p.get("relay_loop_wake_ns", 0) / 1000,
                p["udp_sendto_ns"] / 1000, p["udp_recv_ns"] / 1000,
                limit(p)))
    return out


def debian_switch(results):
    """The sipsbridge the goal is judged on: Debian's libsrtp2 with the
    primitives sipsbridge runs by default (its own OpenSSL ones)."""
    for name, res in results.items():
        s = res.system
        if getattr(s, "debian", False) and not s.native:
            return name
    return None


def gain(results, better, base):
    """Calls per core of `better` over `base`, when both were measured."""
    a, b = results.get(better), results.get(base)
    if a and b and a.rounds and b.rounds and b.figure("calls_per_core"):
        return a.figure("calls_per_core") / b.figure("calls_per_core")
    return None


def report(args, results, parts, busy, path=None):
    """Prints the report; True when every sipsbridge passed its checks."""
    if busy > 0.5:
        print("bench/media: WARNING: %.1f core(s) were busy before the "
              "bench started: the figures will be low" % busy)
    print("bench/media: %d concurrent G.711 calls (20 ms, both ways), plain "
          "RTP leg <-> SDES-SRTP leg (AES_CM_128_HMAC_SHA1_80), %d round(s)"
          " of %g s per system" % (args.concurrent, args.rounds,
                                   args.window))
    for res in results.values():
        for line in system_lines(res):
            print(line)
    rtp = results.get("rtpengine")
    ratios = {}
    for name, res in results.items():
        if name != "rtpengine" and rtp and res.rounds and rtp.rounds:
            ratios[name] = res.figure("calls_per_core") / \
                rtp.figure("calls_per_core")
            print("  ratio %s/rtpengine: %.2f calls per core" % (
                name, ratios[name]))
    deb = debian_switch(results)
    ours = gain(results, "sipsbridge", "sipsbridge-native")
    if ours:
        print("  gain of sipsbridge's OpenSSL primitives over Debian's "
              "libsrtp2's own (NSS): %.2f x calls per core" % ours)
    ossl = gain(results, "sipsbridge-openssl", "sipsbridge-native")
    if ossl:
        print("  gain of libsrtp2 on OpenSSL over Debian's (both with "
              "their own primitives): %.2f x calls per core" % ossl)
    for line in parts_lines(parts, args.concurrent):
        print(line)
    goal = ("goal (more bridged calls per core than rtpengine in the same "
            "run and at least 1,500 per core with Debian's libsrtp2, "
            "sipsbridge's primitives in it): ")
    met = False
    if not deb or not results[deb].rounds:
        goal += "not judged (no sipsbridge with Debian's libsrtp2 measured)"
    elif deb not in ratios:
        goal += "not judged (rtpengine not measured)"
    else:
        cpc = results[deb].figure("calls_per_core")
        met = ratios[deb] > 1 and cpc >= GOAL_PER_CORE and \
            results[deb].ok()
        goal += "%.0f per core (%s), ratio %.2f (%s): %s" % (
            cpc, "yes" if cpc >= GOAL_PER_CORE else "NO", ratios[deb],
            "yes" if ratios[deb] > 1 else "NO",
            "MET" if met else "NOT MET")
    print("  " + goal)
    busy_rounds = [(n, i) for n, res in results.items()
                   for i, r in enumerate(res.rounds, 1)
                   if r["other_cores"] > 0.3]
    if busy_rounds:
        print("bench/media: WARNING: other work kept the machine busy "
              "during %s: those rounds count only for a system with no "
              "other round" % ", ".join("%s round %d" % x
                                        for x in busy_rounds))
    good = all(r.ok() for n, r in results.items() if n != "rtpengine")
    if rtp and not rtp.ok():
        print("bench/media: WARNING: rtpengine: %s" % (
            rtp.error or "; ".join(rtp.problems())))
    if path:
        with open(path, "w") as f:
            json.dump({"concurrent": args.concurrent, "rounds": args.rounds,
                       "window_s": args.window, "busy_before": busy,
                       "systems": {n: r.as_json()
                                   for n, r in results.items()},
                       "ratio_calls_per_core_vs_rtpengine": ratios,
                       "openssl_gain": ossl, "primitives_gain": ours,
                       "parts": parts,
                       "goal_met": met}, f, indent=1)
    return good
