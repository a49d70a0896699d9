"""bench/calls' systems under test: sipsbridge, and Kamailio + rtpengine;
each behind its own stunnel client (the A leg), each calling its own UAS
(SIPp behind a stunnel TLS server: the B leg). Standard library only."""
import glob
import os
import random
import re
import socket
import subprocess
import time

from benchlib import (BenchError, Tunnel, counter, fill, first_event,
                      fresh_port, group_cpu, lift_source_limits,
                      limits_fired, read_stats, switch_pki, tail,
                      wait_listening)
import sbtest

DATA = os.path.dirname(os.path.abspath(__file__))
UAS_SCENARIO = os.path.join(DATA, "call_uas.xml")
# The callee every call dials: the bench extension of each system.
CALLEE = "bench1"


def udp_free(port):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def media_port():
    """A port for SIPp's media socket: SIPp also binds port + 2 (video),
    so both must be free, for UDP and TCP."""
    while True:
        port = fresh_port()
        if port < 65530 and udp_free(port + 2) and udp_free(port + 1):
            return port


_ranges = []


def port_range(count):
    """A block of UDP ports for a relay, under the kernel's ephemeral
    range (where SIPp's and stunnel's own sockets land), free now and not
    handed out before in this run."""
    rng = random.Random()
    for _ in range(200):
        lo = rng.randrange(20000, 32000 - count) & ~1
        hi = lo + count - 1
        if any(lo <= b and a <= hi for a, b in _ranges):
            continue
        if all(udp_free(p) for p in range(lo, hi + 1, 7)):
            _ranges.append((lo, hi))
            return lo, hi
    raise BenchError("no free block of %d UDP ports" % count)


class Uas:
    """The callee of one system: SIPp (-rtp_echo) behind a stunnel TLS
    server whose certificate comes from a PKI of its own."""

    def __init__(self, procs, workdir):
        self.procs = procs
        self.dir = workdir
        self.ssl = os.path.join(workdir, "uas-ssl")
        self.tls_port = fresh_port()
        self.sip_port = fresh_port()
        self.media_port = media_port()
        self.csv = os.path.join(workdir, "uas.csv")
        self.log = os.path.join(workdir, "stunnel-uas.log")
        self.proc = self.tunnel = None
        # A fresh PKI with gentls_cert: the system must trust its CA.
        sbtest.make_pki(self.ssl)
        self.cafile = os.path.join(self.ssl, "cafile.pem")

    def uri(self):
        return "sip:uas@127.0.0.1:%d;transport=tls" % self.tls_port

    def start(self):
        base = os.path.join(self.dir, "uas")
        self.proc = self.procs.start(
            ["sipp", "-sf", UAS_SCENARIO, "-t", "t1", "-i", "127.0.0.1",
             "-p", str(self.sip_port), "-mp", str(self.media_port),
             "-rtp_echo", "-key", "contact_port", str(self.tls_port),
             "-nostdin", "-recv_timeout", "120000", "-max_socket", "60000",
             "-trace_stat", "-stf", self.csv, "-fd", "1",
             "-trace_err", "-error_file", base + "-errors.log",
             "-trace_screen", "-screen_file", base + "-screen.log"],
            base + ".out", cwd=self.dir)
        wait_listening(self.sip_port, self.proc, "sipp (UAS)")
        conf = fill(os.path.join(DATA, "stunnel-uas.conf"),
                    os.path.join(self.dir, "stunnel-uas.conf"), {
                        "ACCEPT_PORT": self.tls_port,
                        "CONNECT_PORT": self.sip_port,
                        "CERT": os.path.join(self.ssl, "agent.pem"),
                        "LOG_FILE": self.log, "SERVICE": "uas"})
        self.tunnel = self.procs.start(
            ["stunnel", conf], os.path.join(self.dir, "stunnel-uas.out"))
        wait_listening(self.tls_port, self.tunnel, "stunnel (UAS)")

    def connections(self):
        """TLS connections the system opened to the UAS so far."""
        try:
            with open(self.log, errors="replace") as f:
                return sum("accepted connection from" in x for x in f)
        except FileNotFoundError:
            return 0

    def totals(self):
        """The UAS's counters: calls that ended well, failed, in progress,
        and the time of its last statistics row (one a second)."""
        rows = read_stats(self.csv)
        if not rows:
            return {"ok": 0, "failed": 0, "current": 0, "t": 0.0}
        last = rows[-1]
        return {"ok": counter(last, "SuccessfulCall(C)"),
                "failed": counter(last, "FailedCall(C)"),
                "current": counter(last, "CurrentCall"), "t": last["t"]}

    def settle(self, since, timeout=4.0):
        """The counters once a row written after `since` shows no call in
        progress (or after timeout: calls still open are stuck)."""
        deadline = time.time() + timeout
        while True:
            now = self.totals()
            if (now["t"] > since and now["current"] == 0) or \
                    time.time() > deadline:
                return now
            time.sleep(0.2)

    def first_error(self):
        return first_event(os.path.join(self.dir, "uas-errors.log"))

    def rejected(self):
        """Connections the UAS's stunnel refused (too many clients: its
        descriptors ran out)."""
        try:
            with open(self.log, errors="replace") as f:
                return sum("Connection rejected" in x for x in f)
        except FileNotFoundError:
            return 0


class System:
    """One system under test: its A-leg tunnel, its UAS, its processes."""

    name = None

    def __init__(self, procs, root):
        self.procs = procs
        self.dir = os.path.join(root, self.name)
        os.makedirs(self.dir)
        self.tunnel = Tunnel(procs, self.dir, self.name,
                             os.path.join(DATA, "stunnel.conf"))
        self.uas = Uas(procs, self.dir)
        self.tls_port = None
        self.proc = None
        self.helpers = []
        self.version = None
        self.settings = {}

    def alive(self):
        return self.proc is not None and self.proc.poll() is None and \
            all(p.poll() is None for p in self.helpers)

    def helper_cpu(self):
        """CPU seconds of the system's processes other than proc's group
        (SippRun charges that one)."""
        return sum(group_cpu(p.pid) for p in self.helpers)

    def cpu(self):
        return group_cpu(self.proc.pid) + self.helper_cpu()

    def crash(self):
        return None

    def refused(self):
        """Connections the system refused for its own limits."""
        return 0

    def last_complaint(self, path, words):
        """The last line of a log with one of `words`, for a report."""
        lines = [x for x in tail(path, 2000).splitlines()
                 if any(w in x for w in words)]
        return lines[-1].strip()[:300] if lines else None


class Sipsbridge(System):
    name = "sipsbridge"

    def configure(self, args):
        """The switch's config copy: no call authentication, a block of
        relay ports, the bench dialplan, the UAS's CA trusted."""
        lo, hi = port_range(max(2000, 8 * args.concurrent))
        sw = self.switch = sbtest.Switch(self.dir, overrides={
            "internal_auth_calls": "false", "rtp_start_port": lo,
            "rtp_end_port": hi})
        switch_pki(sw)
        # The switch opens a TLS connection per B leg and keeps it (README):
        # the shipped limits (128 per IP) would refuse calls after a few
        # seconds. --shipped-limits keeps them.
        if not args.shipped_limits:
            for name in ("max-connections", "max-connections-per-ip"):
                sbtest.set_param(sw, "internal", name,
                                 args.max_connections)
            lift_source_limits(sw, "internal")
        fill(os.path.join(DATA, "dialplan.xml"),
             os.path.join(sw.conf, "dialplan", "public.xml"),
             {"UAS_PORT": self.uas.tls_port})
        # The switch verifies the UAS (tls-verify-policy out): its CA
        # joins the profile's trusted CAs.
        ssl = sw.ssl_dir("internal")
        with open(self.uas.cafile) as f, \
                open(os.path.join(ssl, "cafile.pem"), "a") as out:
            out.write(f.read())
        self.settings = {
            "threads": args.threads, "loglevel": args.loglevel or "default",
            "auth_calls": False, "rtp_ports": "%d-%d" % (lo, hi),
            "max_connections": "shipped" if args.shipped_limits
            else args.max_connections,
            "dialplan": "bridge sip/internal/" + self.uas.uri()[4:]}

    def start(self, args):
        self.uas.start()
        self.configure(args)
        sw = self.switch
        self.tls_port = sw.ports["internal_tls_port"]
        out = subprocess.run([sbtest.SIPSBRIDGE, "-version"],
                             capture_output=True, text=True)
        self.version = (out.stdout or out.stderr).strip().split("\n")[0]
        # As sbtest.Switch.start, but stderr to a file: a pipe nobody reads
        # would block a daemon that logs under load.
        self.proc = self.procs.start(
            [sbtest.SIPSBRIDGE, "-nf", "-conf", sw.conf, "-run", sw.run_dir,
             "-log", sw.log_dir, "-db", sw.db_dir, "-mod", sbtest.MODDIR,
             "-threads", str(args.threads)] +
            (["-loglevel", args.loglevel] if args.loglevel else []),
            os.path.join(self.dir, "sipsbridge.out"))
        deadline = time.time() + 30
        while "SB00006" not in sw.log():
            if self.proc.poll() is not None or time.time() > deadline:
                raise BenchError("sipsbridge did not start: " + (
                    tail(self.proc.log_path, 8) or sw.log()[-800:]).strip())
            time.sleep(0.05)
        wait_listening(self.tls_port, self.proc, "sipsbridge")
        self.tunnel.start(self.tls_port, os.path.join(
            sw.ssl_dir("internal"), "cafile.pem"))

    def log_path(self):
        return os.path.join(self.switch.log_dir, "sipsbridge.log")

    def legs(self):
        """Per leg (uuid, A/B, Call-ID): relayed packets (rx, tx), from
        `show channels`."""
        out = self.switch.cli("show channels", check=False).stdout
        legs = {}
        for line in out.splitlines():
            m = re.match(r"(\S+) ([AB]) \S+\s+\S+\s+\S+\s+(\S+) .*"
                         r"\brx (\d+) tx (\d+)", line)
            if m:
                legs[(m.group(1), m.group(2), m.group(3))] = (
                    int(m.group(4)), int(m.group(5)))
        return legs

    def complaint(self):
        return self.last_complaint(self.log_path(), ("[WARNING]",
                                                     "[ERROR]"))

    def refused(self):
        """Connections refused for max-connections(-per-ip)."""
        return limits_fired(self.switch, "internal", "max-connections")

    def open_calls(self):
        out = self.switch.cli("show calls", check=False).stdout
        m = re.search(r"^(\d+) call\(s\)", out, re.M)
        return int(m.group(1)) if m else None

    def crash(self):
        code = self.proc.poll()
        if code is not None:
            return "exit %s: %s" % (code, tail(self.proc.log_path, 5).strip())
        return None


class Kamailio(System):
    """Kamailio (stateful proxy, record-route) + rtpengine (userspace)."""

    name = "kamailio"

    def start(self, args):
        self.uas.start()
        ssl = os.path.join(self.dir, "ssl")
        sbtest.make_pki(ssl)
        self.tls_port = fresh_port()
        self.ng_port, self.cli_port = fresh_port(), fresh_port()
        lo, hi = port_range(max(2000, 8 * args.concurrent))
        self.start_rtpengine(args, lo, hi)
        mods = glob.glob("/usr/lib/*/kamailio/modules/rtpengine.so")
        if not mods or not glob.glob(os.path.join(
                os.path.dirname(mods[0]), "tls.so")):
            raise BenchError("kamailio's tls.so or rtpengine.so not found: "
                             "install kamailio-tls-modules (scripts/setup)")
        tls_cfg = fill(os.path.join(DATA, "kamailio-tls.cfg"),
                       os.path.join(self.dir, "tls.cfg"),
                       {"AGENT_PEM": os.path.join(ssl, "agent.pem"),
                        "UAS_CA": self.uas.cafile})
        cfg = fill(os.path.join(DATA, "kamailio.cfg"),
                   os.path.join(self.dir, "kamailio.cfg"), {
                       "TLS_PORT": self.tls_port, "TLS_CFG": tls_cfg,
                       "MODULE_DIR": os.path.dirname(mods[0]),
                       "TCP_CHILDREN": args.kamailio_children,
                       "NG_PORT": self.ng_port, "UAS_URI": self.uas.uri()})
        run = os.path.join(self.dir, "run")
        os.makedirs(run)
        out = subprocess.run(["kamailio", "-v"], capture_output=True,
                             text=True)
        self.version = out.stdout.split("\n")[0].replace("version: ", "")
        self.version = self.version.strip() + " + " + self.rtp_version
        self.settings = {
            "tcp_children": args.kamailio_children,
            "rtpengine_threads": args.rtpengine_threads,
            "rtpengine_ports": "%d-%d" % (lo, hi),
            "rtpengine_kernel": False}
        # -DD: in the foreground, with its children (-E: log to stderr).
        self.proc = self.procs.start(
            ["kamailio", "-DD", "-E", "-f", cfg, "-m", "256", "-M", "16",
             "-Y", run, "-P", os.path.join(run, "kamailio.pid")],
            os.path.join(self.dir, "kamailio.log"), cwd=self.dir)
        wait_listening(self.tls_port, self.proc, "kamailio")
        self.tunnel.start(self.tls_port, os.path.join(ssl, "cafile.pem"))

    def start_rtpengine(self, args, lo, hi):
        """rtpengine in userspace only (--table=-1: no kernel module),
        with no config file, deleting a call at once on delete."""
        out = subprocess.run(["rtpengine", "--version"],
                             capture_output=True, text=True)
        self.rtp_version = "rtpengine " + (
            out.stdout or out.stderr).strip().split()[-1]
        rtp = self.procs.start(
            ["rtpengine", "--config-file=none", "--foreground",
             "--log-stderr", "--log-level=4", "--table=-1",
             "--interface=127.0.0.1",
             "--listen-ng=127.0.0.1:%d" % self.ng_port,
             "--listen-cli=127.0.0.1:%d" % self.cli_port,
             "--port-min=%d" % lo, "--port-max=%d" % hi,
             "--num-threads=%d" % args.rtpengine_threads,
             "--delete-delay=0", "--timeout=60",
             "--pidfile=" + os.path.join(self.dir, "rtpengine.pid")],
            os.path.join(self.dir, "rtpengine.log"))
        self.helpers.append(rtp)
        wait_listening(self.cli_port, rtp, "rtpengine")

    def complaint(self):
        return self.last_complaint(self.proc.log_path, ("ERROR:",)) or \
            self.last_complaint(self.helpers[0].log_path, ("ERR", "WARN"))

    def rtpengine(self, command):
        """One command on rtpengine's CLI port; its text."""
        with socket.create_connection(("127.0.0.1", self.cli_port),
                                      timeout=5) as s:
            s.sendall(command.encode() + b"\n")
            chunks = []
            while True:
                data = s.recv(65536)
                if not data:
                    break
                chunks.append(data)
        return b"".join(chunks).decode(errors="replace")

    def rtp_figure(self, command, label):
        m = re.search(r"^\s*%s\s*:\s*(\d+)" % re.escape(label),
                      self.rtpengine(command), re.M)
        return int(m.group(1)) if m else None

    def pps(self):
        """rtpengine's own count of packets relayed in the last second."""
        return self.rtp_figure("list totals",
                               "Packets per second (total)")

    def open_calls(self):
        try:
            return self.rtp_figure("list numsessions",
                                   "Current sessions total")
        except OSError:
            return None

    def crash(self):
        for p in [self.proc] + self.helpers:
            if p.poll() is not None:
                return "%s exit %s: %s" % (
                    os.path.basename(p.args[0]), p.returncode,
                    tail(p.log_path, 5).strip())
        for line in tail(self.proc.log_path, 400).splitlines():
            if "exited by a signal" in line:
                return line.strip()
        return None
