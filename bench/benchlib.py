"""Shared pieces of the benchmarks: processes, ports, the stunnel client,
SIPp runs and their statistics files. Standard library only."""
import os
import re
import shutil
import signal
import subprocess
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)
INTEROP = os.path.join(TOP, "tests", "interop")
# SIPp -r meaning "as fast as the window of outstanding calls allows".
UNLIMITED_RATE = 1000000


class BenchError(Exception):
    """A failure with a message meant for the user."""


class Procs:
    """Every process a bench started, each in its own process group so that
    one signal reaches a daemon and its children (Kamailio forks)."""

    def __init__(self):
        self.live = []

    def start(self, argv, log_path, cwd=None):
        with open(log_path, "ab") as out:
            proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                                    stdout=out, stderr=subprocess.STDOUT,
                                    cwd=cwd, start_new_session=True)
        proc.log_path = log_path
        self.live.append(proc)
        return proc

    def stop(self, proc, timeout=10):
        """SIGTERM to the group, SIGKILL if it lingers."""
        if proc.poll() is None:
            for sig in (signal.SIGTERM, signal.SIGKILL):
                try:
                    os.killpg(proc.pid, sig)
                except ProcessLookupError:
                    break
                try:
                    proc.wait(timeout=timeout)
                    break
                except subprocess.TimeoutExpired:
                    continue
        if proc in self.live:
            self.live.remove(proc)

    def stop_all(self):
        for proc in reversed(list(self.live)):
            self.stop(proc, timeout=5)


_used_ports = set()


def fresh_port():
    """A port free on 127.0.0.1 and not handed out before in this run:
    SIPp clients start together and must not race for the same one."""
    import sbtest
    while True:
        port = sbtest.free_port()
        if port not in _used_ports:
            _used_ports.add(port)
            return port


def group_cpu(pgid):
    """CPU seconds (user + system, all threads) used so far by the live
    processes of a process group."""
    ticks = 0
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % pid) as f:
                data = f.read()
        except OSError:
            continue
        # After "(comm) ": state ppid pgrp ..., utime and stime are the
        # 12th and 13th (proc(5) fields 14 and 15).
        fields = data[data.rindex(")") + 2:].split()
        if int(fields[2]) == pgid:
            ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def fill(template, dest, fields):
    """Copy a template to dest with its @NAME@ fields set; all of them."""
    with open(template) as f:
        text = f.read()
    for name, value in fields.items():
        text = text.replace("@%s@" % name, str(value))
    left = re.findall(r"@[A-Z_]+@", text)
    if left:
        raise BenchError("%s: unfilled %s" % (template, ", ".join(left)))
    with open(dest, "w") as f:
        f.write(text)
    return dest


def listening(port):
    """Whether a TCP socket listens on port, found without connecting: a
    test connection to stunnel would cost a TLS handshake."""
    want = ":%04X" % port
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                for line in f.readlines()[1:]:
                    cols = line.split()
                    if cols[1].endswith(want) and cols[3] == "0A":
                        return True
        except FileNotFoundError:
            pass
    return False


def wait_listening(port, proc, what, timeout=20):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise BenchError("%s exited (%s) before listening on %d: %s"
                             % (what, proc.returncode, port,
                                tail(proc.log_path, 5).strip()))
        if listening(port):
            return
        time.sleep(0.05)
    raise BenchError("%s not listening on 127.0.0.1:%d after %d s; see %s"
                     % (what, port, timeout, proc.log_path))


def tail(path, lines=15):
    try:
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-lines:])
    except FileNotFoundError:
        return ""


class Tunnel:
    """One stunnel client: plain TCP on 127.0.0.1:port in, one verified
    TLS connection to the system per TCP connection out."""

    def __init__(self, procs, workdir, name, template):
        self.procs = procs
        self.dir = workdir
        self.name = name
        self.template = template
        self.port = fresh_port()
        self.log = os.path.join(workdir, "stunnel.log")
        self.proc = None

    def start(self, connect_port, cafile):
        conf = fill(self.template, os.path.join(self.dir, "stunnel.conf"), {
            "ACCEPT_PORT": self.port, "CONNECT_PORT": connect_port,
            "CA_FILE": cafile, "LOG_FILE": self.log, "SERVICE": self.name})
        self.proc = self.procs.start(
            ["stunnel", conf], os.path.join(self.dir, "stunnel.out"))
        wait_listening(self.port, self.proc, "stunnel")

    def lines(self):
        try:
            with open(self.log, errors="replace") as f:
                return f.read().splitlines()
        except FileNotFoundError:
            return []

    def connections(self):
        """TLS connections opened so far."""
        return sum("accepted connection from" in x for x in self.lines())

    def status(self):
        """What stunnel saw of the TLS handshakes with the system."""
        lines = self.lines()
        if any("Certificate accepted at depth=0" in x for x in lines):
            return "the TLS handshake succeeded (stunnel verified the " \
                "certificate)"
        errs = [x.split(": ", 1)[-1] for x in lines if "LOG3[" in x]
        return "the TLS connection failed: " + (
            errs[-1] if errs else "see " + self.log)


def read_stats(path):
    """A SIPp -trace_stat file as dicts; "t" is the epoch of each row."""
    try:
        with open(path, errors="replace") as f:
            lines = [line.rstrip("\n") for line in f if line.strip()]
    except FileNotFoundError:
        return []
    if len(lines) < 2:
        return []
    head = lines[0].rstrip(";").split(";")
    rows = []
    for line in lines[1:]:
        row = dict(zip(head, line.rstrip(";").split(";")))
        try:
            row["t"] = float(row["CurrentTime"].split("\t")[-1])
        except (KeyError, ValueError):
            continue
        rows.append(row)
    return rows


def counter(row, name):
    try:
        return int(row.get(name, "0") or 0)
    except ValueError:
        return 0


def millis(value):
    """SIPp's hh:mm:ss:microseconds as milliseconds."""
    try:
        h, m, s, us = (int(x) for x in value.split(":"))
    except (AttributeError, ValueError):
        return 0.0
    return ((h * 60 + m) * 60 + s) * 1000 + us / 1000


def first_event(path):
    """The first event of a SIPp error file, the cause of what follows
    (SIPp does not end its events with a newline)."""
    try:
        with open(path, errors="replace") as f:
            text = f.read(4096)
    except FileNotFoundError:
        return ""
    events = re.split(r"\d{4}-\d\d-\d\d\t[\d:.]+\t[\d.]+: ", text)[1:]
    return events[0].strip().split("\n")[0][:200] if events else ""


def window_rate(rows, begin, end, name):
    """Per-second growth of a cumulative counter between the first row
    after begin and the last row before end (a row a second)."""
    inside = [r for r in rows if begin - 0.2 <= r["t"] <= end + 0.2]
    if len(inside) < 2:
        inside = rows
    if len(inside) < 2:
        return 0.0
    first, last = inside[0], inside[-1]
    span = last["t"] - first["t"]
    if span <= 0:
        return 0.0
    return (counter(last, name) - counter(first, name)) / span


class SippRun:
    """SIPp clients, one persistent TCP connection each (-t t1) into a
    system's tunnel, for a while; the figures of that measurement.

    A system here has: dir (for the files), tunnel (a Tunnel) and proc
    (whose process group is charged the CPU)."""

    def __init__(self, system, scenario, tag, connections, rate, window,
                 seconds, warmup, recv_timeout_ms, total=0, extra=None):
        self.system = system
        # extra(i): more SIPp arguments for client i (-inf, -key, ...).
        self.extra = extra
        self.scenario = scenario
        self.tag = tag
        self.connections = connections
        self.rate = rate
        self.window = window
        self.seconds = seconds
        self.warmup = warmup
        self.recv_timeout_ms = recv_timeout_ms
        self.total = total

    def argv(self, i):
        base = os.path.join(self.system.dir, "%s-%d" % (self.tag, i))
        argv = ["sipp", "127.0.0.1:%d" % self.system.tunnel.port,
                "-sf", self.scenario, "-s", "options", "-t", "t1",
                "-i", "127.0.0.1", "-p", str(fresh_port()),
                "-cp", str(fresh_port()),
                "-r", str(max(1, round(self.rate / self.connections))),
                "-rp", "1000", "-l", str(self.window),
                "-nostdin", "-recv_timeout", str(self.recv_timeout_ms),
                "-trace_stat", "-stf", base + ".csv", "-fd", "1",
                "-trace_err", "-error_file", base + "-errors.log",
                "-trace_screen", "-screen_file", base + "-screen.log"]
        if self.total:
            argv += ["-m", str(max(1, self.total // self.connections))]
        if self.extra:
            argv += self.extra(i)
        return argv, base

    def execute(self, procs):
        tls_before = self.system.tunnel.connections()
        cpu_before = group_cpu(self.system.proc.pid)
        clients = []
        for i in range(self.connections):
            argv, base = self.argv(i)
            clients.append((procs.start(argv, base + ".out"), base))
        started = time.time()
        stop_at = started + self.warmup + self.seconds
        for proc, _ in clients:
            try:
                proc.wait(timeout=max(0, stop_at - time.time()))
            except subprocess.TimeoutExpired:
                pass
        stopped = time.time()
        # SIGUSR1: SIPp makes no more calls and exits once the outstanding
        # ones are answered or have timed out.
        for proc, _ in clients:
            if proc.poll() is None:
                proc.send_signal(signal.SIGUSR1)
        for proc, _ in clients:
            try:
                proc.wait(timeout=self.recv_timeout_ms / 1000 + 5)
            except subprocess.TimeoutExpired:
                pass
            procs.stop(proc)
        res = self.figures(clients, started + self.warmup, stopped)
        res["cpu_s"] = group_cpu(self.system.proc.pid) - cpu_before
        res["wall_s"] = time.time() - started
        res["tls_connections"] = self.system.tunnel.connections() - \
            tls_before
        return res

    def figures(self, clients, begin, end):
        res = {"tag": self.tag, "rate": 0.0, "offered": 0.0, "ok": 0,
               "failed": 0, "causes": {}, "errors": [], "latency_ms": None,
               "client_calls": []}
        weighted = 0.0
        for proc, base in clients:
            rows = read_stats(base + ".csv")
            if proc.returncode not in (0, 1, 97, 99, -signal.SIGUSR1):
                res["errors"].append("sipp exit %s: %s" % (
                    proc.returncode, first_event(base + "-errors.log") or
                    tail(base + ".out", 1).strip()))
            if not rows:
                res["errors"].append("no SIPp statistics in %s.csv" % base)
                res["client_calls"].append((0, 0))
                continue
            last = rows[-1]
            ok = counter(last, "SuccessfulCall(C)")
            # Per client: calls that succeeded, calls that failed.
            res["client_calls"].append((ok, counter(last, "FailedCall(C)")))
            res["ok"] += ok
            res["failed"] += counter(last, "FailedCall(C)")
            for key in last:
                if key.startswith("Failed") and key.endswith("(C)") and \
                        key != "FailedCall(C)" and counter(last, key):
                    name = key[len("Failed"):-len("(C)")]
                    res["causes"][name] = \
                        res["causes"].get(name, 0) + counter(last, key)
            res["rate"] += window_rate(rows, begin, end, "SuccessfulCall(C)")
            res["offered"] += window_rate(rows, begin, end, "OutgoingCall(C)")
            weighted += millis(last.get("ResponseTime1(C)")) * ok
            if counter(last, "FailedCall(C)"):
                res["errors"].append("%s-errors.log: %s" % (
                    os.path.basename(base),
                    first_event(base + "-errors.log")))
        if res["ok"]:
            res["latency_ms"] = weighted / res["ok"]
        return res


def busy_cores(seconds=1.0):
    """Cores' worth of CPU used by everything on the machine over a short
    sample: the benchmarks share 2 cores, so other load skews them."""
    def sample():
        with open("/proc/stat") as f:
            cols = [int(x) for x in f.readline().split()[1:]]
        idle = cols[3] + cols[4]
        return sum(cols) - idle, sum(cols)
    busy0, all0 = sample()
    time.sleep(seconds)
    busy1, all1 = sample()
    if all1 == all0:
        return 0.0
    return (busy1 - busy0) / (all1 - all0) * (os.cpu_count() or 1)


def switch_pki(sw):
    """A fresh demo PKI for both profiles of a Switch's config copy. An
    install tree may already hold one (its ssl/ then comes along with the
    copy, and gentls_cert refuses to make a CA over it): the copy's is
    removed first; the install tree is never touched."""
    conf = os.path.realpath(sw.conf)
    for profile in ("internal", "external"):
        ssl = os.path.realpath(sw.ssl_dir(profile))
        if ssl.startswith(conf + os.sep) and os.path.isdir(ssl):
            shutil.rmtree(ssl)
    sw.make_demo_pki()


def lift_source_limits(sw, profile):
    """A bench is one source pushing thousands of messages and
    handshakes a second: the per-source attack limits (on by default)
    would measure themselves, and Kamailio runs without any."""
    import sbtest
    for name in ("tls-handshake-rate", "max-msg-rate", "max-udp-rate",
                 "auth-block-failures"):
        sbtest.set_param(sw, profile, name, "0")


def limits_fired(sw, profile, name):
    """How often limit @name fired, from `sips status` (its log line is
    throttled under load, so the log cannot count it)."""
    out = sw.cli("sips status profile %s" % profile, check=False).stdout
    m = re.search(r"limits fired:.*?\b%s (\d+)" % re.escape(name), out)
    return int(m.group(1)) if m else 0


def group_memory(pgid):
    """Memory of the live processes of a process group, in KiB: "pss" (the
    proportional set size: pages shared between Kamailio's processes are
    counted once in the sum), "rss" (shared pages counted in every
    process), and "procs"."""
    out = {"pss": 0, "rss": 0, "procs": 0}
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % pid) as f:
                data = f.read()
            if int(data[data.rindex(")") + 2:].split()[2]) != pgid:
                continue
            with open("/proc/%s/smaps_rollup" % pid) as f:
                rollup = f.read()
        except (OSError, ValueError):
            continue
        for line in rollup.splitlines():
            key, _, rest = line.partition(":")
            if key in ("Pss", "Rss"):
                out[key.lower()] += int(rest.split()[0])
        out["procs"] += 1
    return out


def tcp_sockets(port, states=("01",)):
    """Server-side TCP sockets of 127.0.0.1:port in the given states (as in
    /proc/net/tcp: "01" established, "08" close-wait), read from /proc
    without touching them."""
    want = ":%04X" % port
    n = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                for line in f.readlines()[1:]:
                    cols = line.split()
                    if cols[1].endswith(want) and cols[3] in states:
                        n += 1
        except FileNotFoundError:
            pass
    return n
