"""bench/calls' figures: one Result per system, the printed report and the
JSON document. bench/README.md describes every figure."""
import json
import statistics

# The system names of the report, by --only name.
LABELS = {"sipsbridge": "sipsbridge", "kamailio": "kamailio+rtpengine"}
# Less than this share of the expected packets relayed: media lost.
MIN_RELAYED = 0.9
# More TLS connections from the system still open at the UAS after a run:
# the system neither reuses nor closes them.
B_OPEN_MAX = 16


def ms(value):
    """SIPp times in whole milliseconds: a mean of 0 means under 1 ms."""
    if value is None:
        return "-"
    return "<1" if value < 1 else "%.1f" % value


def ratio(a, b):
    return round(a / b, 3) if a and b else None


class Result:
    """What one system did over the whole bench."""

    def __init__(self, system, args):
        self.system = system
        self.args = args
        self.error = None
        self.closed = []
        self.opened = []
        self.media = None
        self.lo = self.hi = None

    def runs(self):
        return self.closed + self.opened

    def all_runs(self):
        return ([self.media] if self.media else []) + self.runs()

    def capacity(self):
        rates = [r["rate"] for r in self.closed]
        return statistics.median(rates) if rates else 0.0

    def cpu_us(self):
        """The system's CPU per completed call (closed loop), us."""
        per = [1e6 * r["cpu_s"] / r["ok"] for r in self.closed if r["ok"]]
        return statistics.median(per) if per else None

    def cores(self):
        per = [r["cpu_s"] / r["wall_s"] for r in self.closed if r["wall_s"]]
        return statistics.median(per) if per else None

    def next_rate(self):
        """Bisection between the best rate that held and the lowest that
        did not, starting at 3/4 of the closed-loop capacity."""
        if self.lo is None:
            self.lo, self.hi = 0.25 * self.capacity(), self.capacity()
            return max(1, int(0.75 * self.capacity()))
        return max(1, int((self.lo + self.hi) / 2))

    def record(self, res):
        self.opened.append(res)
        if res["verdict"] == "held":
            self.lo = res["target"]
        else:
            self.hi = res["target"]

    def best(self):
        held = [r for r in self.opened if r["verdict"] == "held"]
        return max(held, key=lambda r: r["target"]) if held else None

    def rate(self):
        """Sustained calls/s: what SIPp offered in the best step that
        held."""
        best = self.best()
        return best["offered"] if best else 0.0

    def failures(self):
        """Failed calls where none may fail: the closed loop (either side)
        and the media run."""
        n = sum(r["failed"] + r["uas_failed"] for r in self.closed)
        if self.media:
            n += self.media["failed"] + self.media["uas_failed"]
        return n

    def left_open(self):
        """Calls still open after a run, at the UAS or in the system."""
        return max((max(r["uas_open"], r["sys_open"] or 0)
                    for r in self.all_runs()), default=0)

    def a_conns(self):
        return max((r["tls_connections"] for r in self.runs()), default=0)

    def b_conns(self):
        """TLS connections the system opened to the UAS, most in a run."""
        return max((r["b_connections"] for r in self.all_runs()),
                   default=0)

    def b_open(self):
        """The system's TLS connections open at the UAS after a run, most
        of any run."""
        return max((r["b_open"] for r in self.all_runs()), default=0)

    def b_problem(self):
        if self.b_open() <= B_OPEN_MAX:
            return None
        return "the B legs' TLS connections are neither reused nor " \
            "closed: up to %d opened in one run (one per call), %d " \
            "still open after a run; refused so far: %d by the UAS's " \
            "stunnel (too many clients), %d by the system's own limits" % (
                self.b_conns(), self.b_open(),
                self.system.uas.rejected(), self.system.refused())

    def calls_per_core(self):
        m = self.media
        if not m or not m["cores"]:
            return None
        return m["concurrent"] / m["cores"]

    def media_problems(self):
        m = self.media
        if m is None:
            return []
        out = []
        if m["failed"] or m["uas_failed"]:
            out.append("%d call(s) failed" % (m["failed"] + m["uas_failed"]))
        for when in ("up_at_start", "up_at_end"):
            if m[when] is not None and m[when] != m["concurrent"]:
                out.append("%d of %d calls up at the window's %s" % (
                    m[when], m["concurrent"], when[6:]))
        if m["silent_legs"]:
            out.append("%d of %d legs relayed nothing in the window" % (
                m["silent_legs"], m["legs"]))
        if m["pps"] < MIN_RELAYED * m["expected_pps"]:
            out.append("relayed %.0f of %.0f expected packets/s" % (
                m["pps"], m["expected_pps"]))
        return out

    def ok(self):
        return (self.error is None and
                (not self.args.rounds or self.best() is not None) and
                self.failures() == 0 and self.left_open() == 0 and
                self.a_conns() <= self.args.connections and
                not self.b_problem() and not self.media_problems())

    def cps_lines(self, pad):
        best, cpu = self.best(), self.cpu_us()
        out = "%7.0f calls/s sustained (open loop, 0 failures, mean " \
            "setup %s ms)" % (self.rate(), ms(best["latency_ms"])
                              if best else "-")
        out += pad + "capacity %.0f calls/s closed loop (rounds %s), " \
            "cpu %s us/call on %s cores, failures %d" % (
                self.capacity(),
                " ".join("%.0f" % r["rate"] for r in self.closed),
                "?" if cpu is None else "%.0f" % cpu,
                "?" if self.cores() is None else "%.2f" % self.cores(),
                sum(r["failed"] + r["uas_failed"] for r in self.closed))
        out += pad + "open loop: " + ", ".join(
            "%d/s %s" % (r["target"], r["verdict"]) for r in self.opened)
        return out

    def conns_line(self, pad):
        return pad + "tls-conns A leg %d/%d per run; B leg (to the UAS) " \
            "up to %d opened per run, up to %d open after a run" % (
                self.a_conns(), self.args.connections, self.b_conns(),
                self.b_open())

    def media_line(self, pad):
        m = self.media
        cpc = self.calls_per_core()
        per_pkt = 1e6 * m["cores"] / m["pps"] if m["pps"] else None
        out = pad + "media: %d concurrent G.711 calls, %.0f packets/s " \
            "relayed (%.0f%% of %.0f), %.3f cores: %s calls per core, " \
            "%s us/packet" % (
                m["concurrent"], m["pps"],
                100.0 * m["pps"] / m["expected_pps"] if m["expected_pps"]
                else 0, m["expected_pps"], m["cores"],
                "?" if cpc is None else "%.0f" % cpc,
                "?" if per_pkt is None else "%.1f" % per_pkt)
        out += pad + "       up %s/%s at the window's start, %s at its " \
            "end; setup %s ms; silent legs %s; failures %d" % (
                m["up_at_start"], m["concurrent"], m["up_at_end"],
                ms(m["latency_ms"]), "-" if m["silent_legs"] is None
                else m["silent_legs"], m["failed"] + m["uas_failed"])
        return out

    def line(self):
        head = "%-18s " % LABELS[self.system.name]
        pad = "\n" + " " * 21
        if self.error and not self.closed and not self.media:
            what = "NO CALLS" if " did not carry calls" in self.error \
                else "ERROR"
            return head + what + pad + self.error
        out = head + (self.cps_lines(pad) if self.args.rounds else
                      "(no calls/s measurement)")
        if self.media:
            out += self.media_line(pad)
        out += self.conns_line(pad)
        for r in self.closed + ([self.media] if self.media else []):
            if r["failed"] or r["uas_failed"]:
                out += pad + "ERROR: failures in %s: %s %s" % (
                    r.get("tag", "the media run"), r["causes"],
                    "; ".join(r["errors"])[:400])
        if self.left_open():
            out += pad + "ERROR: calls left open after a run (%d)" % \
                self.left_open()
        if self.a_conns() > self.args.connections:
            out += pad + "ERROR: A-leg connections did not persist (%d " \
                "TLS connections in one run)" % self.a_conns()
        if self.b_problem():
            out += pad + "ERROR: " + self.b_problem()
        for p in self.media_problems():
            out += pad + "ERROR: media: " + p
        if self.error:
            out += pad + "ERROR: " + self.error
        return out

    def json(self):
        s, best = self.system, self.best()

        def run(r):
            keep = ("tag", "target", "verdict", "rate", "offered", "ok",
                    "failed", "uas_failed", "uas_open", "sys_open",
                    "causes", "latency_ms", "cpu_s", "wall_s",
                    "tls_connections", "b_connections", "b_open",
                    "b_refused")
            return {k: r[k] for k in keep if k in r}
        return {
            "ok": self.ok(), "error": self.error,
            "calls_per_s": round(self.rate(), 1),
            "sustained_target_per_s": best["target"] if best else None,
            "mean_setup_ms": best["latency_ms"] if best else None,
            "capacity_per_s": round(self.capacity(), 1),
            "cpu_us_per_call": None if self.cpu_us() is None
            else round(self.cpu_us(), 1),
            "cores_busy": None if self.cores() is None
            else round(self.cores(), 3),
            "failures": self.failures(), "left_open": self.left_open(),
            "closed_loop": [run(r) for r in self.closed],
            "open_loop": [run(r) for r in self.opened],
            "a_leg_tls_connections_per_run": self.a_conns(),
            "b_leg_tls_connections_per_run": self.b_conns(),
            "b_leg_tls_connections_open_after_run": self.b_open(),
            "b_leg_problem": self.b_problem(),
            "media": None if not self.media else dict(
                {k: v for k, v in self.media.items()
                 if k not in ("errors",)},
                calls_per_core=self.calls_per_core(),
                problems=self.media_problems()),
            "settings": s.settings, "version": s.version,
            "tls_port": s.tls_port}


def goal_line(sb, kam, ratios):
    """The issue's goal: more calls/s and more concurrent relayed calls
    per core than Kamailio + rtpengine."""
    parts, met = [], True
    for key, label in (("sustained", "calls/s"),
                       ("calls_per_core", "concurrent relayed calls per "
                        "core")):
        value = ratios.get(key)
        if value is None:
            parts.append("%s not measured" % label)
            met = False
        else:
            parts.append("%s %s (%.2f)" % (label, "yes" if value > 1
                                           else "NO", value))
            met = met and value > 1
    ok = sb.ok() and kam.error is None
    return met and ok, "goal (more calls/s and more concurrent relayed " \
        "calls per core than Kamailio + rtpengine): %s: %s" % (
            ", ".join(parts), "MET" if met and ok else "NOT MET" +
            ("" if ok else " (a system failed a check)"))


def report(args, results, busy):
    if busy > 0.3:
        print("bench/calls: WARNING: %.1f core(s) were busy before the "
              "bench started: the figures will be low" % busy)
    print("bench/calls: SIPp calls, TLS on both legs via stunnel (UAC -> "
          "system -> UAS), %d A-leg connection(s) per system; calls/s: "
          "closed loop %d x %g s (window %d), open loop %d x %g s, hold "
          "%d ms, no media; media: %d concurrent G.711 calls (30 ms "
          "packets, UAS echo), measured over %g s" % (
              args.connections, args.rounds, args.duration, args.window,
              args.steps, args.step_duration, args.hold, args.concurrent,
              args.media_window if args.concurrent else 0))
    for res in results.values():
        print("  " + res.line())
    ratios = {}
    sb, kam = results.get("sipsbridge"), results.get("kamailio")
    met = None
    if sb and kam:
        kam_cpc = kam.calls_per_core()
        ratios = {"sustained": ratio(sb.rate(), kam.rate()),
                  "capacity": ratio(sb.capacity(), kam.capacity()),
                  "cpu_per_call": ratio(sb.cpu_us(), kam.cpu_us()),
                  "calls_per_core": ratio(sb.calls_per_core(), kam_cpc)}
        print("  ratio sipsbridge/kamailio+rtpengine: %s calls/s "
              "sustained, %s capacity, %s cpu/call, %s concurrent calls "
              "per core (media)" % tuple(
                  "n/a" if v is None else "%.2f" % v
                  for v in ratios.values()))
        met, text = goal_line(sb, kam, ratios)
        print("  " + text)
    if args.json:
        doc = {"benchmark": "calls",
               "unit": "calls (INVITE to BYE, TLS both legs) per second; "
               "concurrent G.711 calls relayed per core",
               "connections": args.connections, "window": args.window,
               "hold_ms": args.hold, "closed_loop_rounds": args.rounds,
               "closed_loop_s": args.duration, "open_loop_steps": args.steps,
               "open_loop_s": args.step_duration,
               "concurrent": args.concurrent,
               "media_window_s": args.media_window,
               "ramp_rate": args.ramp_rate,
               "busy_cores_before": round(busy, 2),
               "systems": {k: v.json() for k, v in results.items()},
               "ratio_sipsbridge_kamailio": ratios or None,
               "goal_met": met}
        with open(args.json, "w") as f:
            json.dump(doc, f, indent=2)
            f.write("\n")
    ref = results.get("kamailio")
    if ref and ref.error is None and not ref.ok():
        print("bench/calls: WARNING: the reference had failures; its "
              "figures may be low")
    ours = results.get("sipsbridge")
    return all(r.error is None or r.closed or r.media
               for r in results.values()) and (ours is None or ours.ok())
