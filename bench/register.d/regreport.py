"""bench/register's figures: one Result per system, the printed report and
the JSON document. bench/README.md describes every figure."""
import json
import statistics

KINDS = ("new", "refresh")
# The Kamailio variants (--kamailio-db), by system name.
KAMAILIOS = (("memory", "kamailio-mem"), ("sqlite", "kamailio-sqlite"))
# The goal for an idle registered TLS connection.
GOAL_KIB = 20.0


def ms(value):
    """SIPp times in whole milliseconds: a mean of 0 means under 1 ms."""
    return "<1" if value < 1 else "%.1f" % value


class Result:
    """What one system did over the whole bench."""

    def __init__(self, system, args):
        self.system = system
        self.args = args
        self.error = None
        self.new = []
        self.refresh = []
        self.memory = None

    def runs(self, kind=None):
        return getattr(self, kind) if kind else self.new + self.refresh

    def rate(self, kind):
        """Registrations/s of a kind: the median of the rounds."""
        rates = [r["rate"] for r in self.runs(kind)]
        return statistics.median(rates) if rates else 0.0

    def cpu_us(self, kind):
        """The system's CPU per registration (whole run), us."""
        per = [1e6 * r["cpu_s"] / r["ok"] for r in self.runs(kind)
               if r["ok"]]
        return statistics.median(per) if per else None

    def cores(self, kind):
        per = [r["cpu_s"] / r["wall_s"] for r in self.runs(kind)
               if r["wall_s"]]
        return statistics.median(per) if per else None

    def latency(self, kind):
        lat = [r["latency_ms"] for r in self.runs(kind)
               if r["latency_ms"] is not None]
        return statistics.median(lat) if lat else None

    def failures(self, kind=None):
        return sum(r["failed"] for r in self.runs(kind))

    def handshakes(self):
        """TLS connections opened per run: the connections must persist."""
        return max((r["tls_connections"] for r in self.runs()), default=0)

    def exhausted(self):
        return sum(r.get("exhausted", 0) for r in self.new)

    def kib_per_conn(self, key="pss"):
        """Growth of the system's memory per idle registered connection
        held at the reading."""
        m = self.memory
        if not m or "with" not in m or m.get("held", 0) <= 0:
            return None
        return (m["with"][key] - m["before"][key]) / m["held"]

    def kept_kib_per_conn(self):
        """What stayed resident once the connections were closed."""
        m = self.memory
        if not m or "after" not in m or not m["connections"]:
            return None
        return (m["after"]["pss"] - m["before"]["pss"]) / m["connections"]

    def memory_ok(self):
        m = self.memory
        if not self.args.conns:
            return True
        return bool(m) and "with" in m and m["gave_up"] == 0 and \
            m["held"] >= m["connections"]

    def ok(self):
        return (self.error is None and len(self.new) == self.args.rounds
                and len(self.refresh) == self.args.rounds and
                self.failures() == 0 and not self.exhausted() and
                self.handshakes() <= self.args.connections and
                self.memory_ok())

    def measured(self):
        """Whether anything was measured (a rate, or the idle memory)."""
        return bool(self.new) or bool(self.memory and "with" in
                                      self.memory)

    def kind_line(self, kind):
        cpu, cores = self.cpu_us(kind), self.cores(kind)
        lat = self.latency(kind)
        return "%-7s rounds %s, cpu %s us/reg on %s cores, mean " \
            "latency %s ms, failures %d" % (
                kind + ":", " ".join("%.0f" % r["rate"]
                                     for r in self.runs(kind)) or "-",
                "?" if cpu is None else "%.1f" % cpu,
                "?" if cores is None else "%.2f" % cores,
                "?" if lat is None else ms(lat), self.failures(kind))

    def memory_line(self):
        m, per = self.memory, self.kib_per_conn()
        if not m:
            return None
        if per is None:
            return "memory: no reading (%d of %d connections up)" % (
                m["opened"], m["connections"])
        out = "memory: %d idle %s connections: %.1f KiB/conn " \
            "(PSS +%.0f MiB; RSS %.1f KiB/conn), %.1f KiB/conn still " \
            "resident after they closed" % (
                m["held"], "TLS (no REGISTER)" if self.args.bare_tls
                else "registered TLS", per, (m["with"]["pss"] - m["before"]["pss"]) /
                1024.0, self.kib_per_conn("rss"), self.kept_kib_per_conn())
        out += "; set up at %.0f/s" % (m["opened"] / m["setup_s"])
        if m["failed"]:
            out += ", %d failed attempt(s) retried (%s)" % (
                m["failed"], "; ".join("%s: %d" % kv
                                       for kv in m["errors"].items()))
        return out

    def line(self):
        head = "%-15s " % self.system.name
        pad = "\n" + " " * 13
        if self.error and not self.measured():
            what = "NO ANSWER" if " did not answer " in self.error \
                else "ERROR"
            return head + what + pad + self.error
        out = head + "%6.0f regs/s new, %6.0f refreshes/s (closed loop, " \
            "%d failures)" % (self.rate("new"), self.rate("refresh"),
                              self.failures())
        for kind in KINDS:
            out += pad + self.kind_line(kind)
        out += pad + "tls-conns %d/%d" % (self.handshakes(),
                                          self.args.connections)
        out += pad + "store: " + self.store()["text"]
        if self.memory_line():
            out += pad + self.memory_line()
        m = self.memory
        if m and "held" in m and m["held"] < m["connections"]:
            out += pad + "ERROR: only %d of %d idle connections were " \
                "open at the reading (%d gave up)" % (
                    m["held"], m["connections"], m["gave_up"])
        if self.handshakes() > self.args.connections:
            out += pad + "ERROR: connections did not persist (%d TLS " \
                "connections in one run)" % self.handshakes()
        if self.exhausted():
            out += pad + "ERROR: %d SIPp client(s) ran out of new users: " \
                "raise --max-rate" % self.exhausted()
        for r in self.runs():
            if r["failed"] or r["errors"]:
                out += pad + "ERROR: in %s: %s %s" % (
                    r["tag"], r["causes"], "; ".join(r["errors"])[:300])
        if self.error:
            out += pad + "ERROR: " + self.error
        return out

    def store(self):
        """Where the system kept its bindings (read once, after the run)."""
        if not hasattr(self, "_store"):
            self._store = self.system.store()
        return self._store

    def json(self):
        s, m = self.system, self.memory
        doc = {"ok": self.ok(), "error": self.error,
               "answered": self.measured(), "store": self.store(),
               "tls_connections_per_run": self.handshakes(),
               "tls_port": s.tls_port, "version": s.version}
        for kind in KINDS:
            cpu, cores = self.cpu_us(kind), self.cores(kind)
            doc[kind] = {
                "registrations_per_s": round(self.rate(kind), 1),
                "rounds_per_s": [round(r["rate"], 1)
                                 for r in self.runs(kind)],
                "cpu_us_per_registration": None if cpu is None
                else round(cpu, 2),
                "cores_busy": None if cores is None else round(cores, 2),
                "mean_latency_ms": None if self.latency(kind) is None
                else round(self.latency(kind), 1),
                "failures": self.failures(kind),
                "registrations": sum(r["ok"] for r in self.runs(kind))}
        doc["new"]["clients_out_of_users"] = self.exhausted()
        if m:
            per, rss = self.kib_per_conn(), self.kib_per_conn("rss")
            kept = self.kept_kib_per_conn()
            doc["idle_memory"] = {
                "connections": m["connections"], "opened": m["opened"],
                "held_at_reading": m.get("held"),
                "failed_attempts": m["failed"], "gave_up": m["gave_up"],
                "errors": m["errors"],
                "setup_s": round(m.get("setup_s", 0), 1),
                "pss_kib": {k: m[k]["pss"] for k in
                            ("before", "with", "after") if k in m},
                "rss_kib": {k: m[k]["rss"] for k in
                            ("before", "with", "after") if k in m},
                "processes": m["before"]["procs"],
                "kib_per_connection": None if per is None
                else round(per, 2),
                "rss_kib_per_connection": None if rss is None
                else round(rss, 2),
                "kib_per_connection_after_close": None if kept is None
                else round(kept, 2)}
        return doc


def ratios(sb, kam):
    def div(a, b):
        return round(a / b, 3) if a and b else None
    return {"new": div(sb.rate("new"), kam.rate("new")),
            "refresh": div(sb.rate("refresh"), kam.rate("refresh")),
            "cpu_per_new": div(sb.cpu_us("new"), kam.cpu_us("new")),
            "cpu_per_refresh": div(sb.cpu_us("refresh"),
                                   kam.cpu_us("refresh")),
            "kib_per_connection": div(sb.kib_per_conn(),
                                      kam.kib_per_conn())}


def goals(sb, ratio):
    """The issue's goals: faster than Kamailio (new and refresh), against
    each Kamailio variant measured, and under 20 KiB per idle registered
    TLS connection."""
    per = sb.kib_per_conn()
    out = {"faster_than_kamailio": {}, "under_20_kib": None}
    for db, r in ratio.items():
        out["faster_than_kamailio"][db] = r["new"] > 1 and \
            r["refresh"] > 1 if r["new"] and r["refresh"] else None
    if per is not None:
        out["under_20_kib"] = per < GOAL_KIB
    return out


def fmt(v):
    return "n/a" if v is None else "%.2f" % v


def yes(v):
    return "n/a" if v is None else ("yes" if v else "NO")


def print_ratios(sb, kams):
    """One ratio line per Kamailio variant; the ratios by variant."""
    ratio = {}
    for db, kam in kams.items():
        ratio[db] = r = ratios(sb, kam)
        print("  ratio sipsbridge/%s: %s new regs/s, %s refreshes/s, "
              "%s cpu/new reg, %s cpu/refresh, %s KiB/conn" % (
                  kam.system.name, *(fmt(r[k]) for k in (
                      "new", "refresh", "cpu_per_new", "cpu_per_refresh",
                      "kib_per_connection"))))
    return ratio


def print_goals(sb, kams, ratio):
    goal = goals(sb, ratio)
    per = sb.kib_per_conn()
    faster = "; ".join("vs %s %s (new %s, refresh %s)" % (
        kams[db].system.name, yes(goal["faster_than_kamailio"][db]),
        fmt(ratio[db]["new"]), fmt(ratio[db]["refresh"]))
        for db in ratio) or "n/a (no Kamailio measured)"
    print("  goal: faster than Kamailio: %s; under %g KiB per idle TLS "
          "connection: %s (%s KiB)" % (
              faster, GOAL_KIB, yes(goal["under_20_kib"]),
              "n/a" if per is None else "%.1f" % per))
    return goal


def report(args, results, busy):
    """Print the figures (and write the JSON); True when the run counts as
    a success (see the exit status in bench/README.md)."""
    if busy > 0.3:
        print("bench/register: WARNING: %.1f core(s) were busy before the "
              "bench started: the figures will be low" % busy)
    print("bench/register: SIPp REGISTER + MD5 digest over TLS via "
          "stunnel, %d persistent connection(s) per system (window %d); "
          "%d x %g s per kind; %s" % (
              args.connections, args.window, args.rounds, args.duration,
              "%d idle %s connections" % (
                  args.conns, "TLS (no REGISTER)" if args.bare_tls
                  else "registered TLS")
              if args.conns else "no memory measurement"))
    for res in results.values():
        print("  " + res.line())
    ratio, goal = {}, {}
    sb = results.get("sipsbridge")
    kams = {db: results[name] for db, name in KAMAILIOS if name in results}
    if sb:
        ratio = print_ratios(sb, kams)
        goal = print_goals(sb, kams, ratio)
    if args.json:
        doc = {"benchmark": "register",
               "unit": "registrations (REGISTER, 401, REGISTER with MD5 "
               "digest, 200) per second; KiB of PSS per idle registered "
               "TLS connection",
               "connections": args.connections, "window": args.window,
               "rounds": args.rounds, "run_s": args.duration,
               "idle_connections": args.conns,
               "idle_connections_registered": not args.bare_tls,
               "busy_cores_before": round(busy, 2),
               "systems": {k: v.json() for k, v in results.items()},
               "kamailio_db": args.kamailio_db,
               "ratio_sipsbridge_kamailio": ratio or None,
               "goals": goal or None}
        with open(args.json, "w") as f:
            json.dump(doc, f, indent=2)
            f.write("\n")
    # Only our side's failures fail the run: Kamailio 5.6.3 with OpenSSL 3
    # now and then drops a TLS connection (bench/README.md).
    for kam in kams.values():
        if kam.measured() and not kam.ok():
            print("bench/register: WARNING: the reference %s had failures; "
                  "its figures may be off" % kam.system.name)
    return all(r.measured() for r in results.values()) and \
        (sb is None or sb.ok())
