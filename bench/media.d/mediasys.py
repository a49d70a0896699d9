"""bench/media's systems: sipsbridge (one install per libsrtp2 build) with
its SIP ends (sipphones.py), and rtpengine driven over its ng protocol;
the load generator (media_load.c) and the C tools it is built from.
Standard library only."""
import glob
import os
import random
import re
import socket
import subprocess
import time

from benchlib import (BenchError, fill, fresh_port, group_cpu, switch_pki,
                      tail, wait_listening)
from callsys import udp_free
import sbtest
from sipphones import Phones, SUITE, sdes_key, sdp_port, plain_sdp, srtp_sdp

DATA = os.path.dirname(os.path.abspath(__file__))


_ranges = []


def port_range(count):
    """A block of UDP ports for a relay under the kernel's ephemeral range
    (where the phones' and the bench's own sockets land), free now and
    not handed out before in this run."""
    rng = random.Random()
    for _ in range(500):
        lo = rng.randrange(10000, 32000 - count) & ~1
        hi = lo + count - 1
        if any(lo <= b and a <= hi for a, b in _ranges):
            continue
        if all(udp_free(p) for p in range(lo, hi + 1, 7)):
            _ranges.append((lo, hi))
            return lo, hi
    raise BenchError("no free block of %d UDP ports" % count)


def compile_c(out, sources, flags):
    """gcc -O2 the bench's C tools into the work directory."""
    argv = ["gcc", "-std=gnu11", "-O2", "-g", "-Wall", "-o", out] + \
        [os.path.join(DATA, s) for s in sources] + flags
    res = subprocess.run(argv, capture_output=True, text=True)
    if res.returncode:
        raise BenchError("could not build %s: %s" % (
            os.path.basename(out), (res.stderr or res.stdout)[-600:]))
    return out


def pkg_flags(*names, extra_path=None):
    env = dict(os.environ)
    if extra_path:
        env["PKG_CONFIG_PATH"] = extra_path + ":" + env.get(
            "PKG_CONFIG_PATH", "")
    res = subprocess.run(["pkg-config", "--cflags", "--libs"] + list(names),
                         capture_output=True, text=True, env=env)
    if res.returncode:
        raise BenchError("pkg-config %s: %s (install libssl-dev and "
                         "libsrtp2-dev)" % (" ".join(names),
                                            res.stderr.strip()))
    return res.stdout.split()


def srtp_library(prefix):
    """The libsrtp2 a sipsbridge install runs with (its path, as the
    dynamic linker resolves it) and its crypto: "nss" or "openssl"."""
    out = subprocess.run(["ldd", os.path.join(prefix, "bin", "sipsbridge")],
                         capture_output=True, text=True).stdout
    m = re.search(r"libsrtp2\.so\S* => (\S+)", out)
    if not m:
        return None, None
    lib = os.path.realpath(m.group(1))
    deps = subprocess.run(["ldd", lib], capture_output=True,
                          text=True).stdout
    return lib, "nss" if "libnss3" in deps else "openssl"


SRC_MEDIA = os.path.join(os.path.dirname(os.path.dirname(DATA)), "src",
                         "media")


def cost_tool(workdir, lib, tag):
    """srtp_cost linked against the libsrtp2 at `lib` (its headers in
    ../include beside its lib/, else the system's), with sipsbridge's
    OpenSSL primitives built in (srtp_cost -o installs them)."""
    libdir = os.path.dirname(lib)
    inc = os.path.join(os.path.dirname(libdir), "include")
    flags = ["-I" + SRC_MEDIA] + pkg_flags("libcrypto") + ["-ldl",
                                                           "-lpthread"]
    if os.path.isdir(os.path.join(inc, "srtp2")) and \
            not libdir.startswith(("/lib", "/usr/lib")):
        flags = ["-I" + inc, "-L" + libdir, "-Wl,-rpath," + libdir,
                 "-lsrtp2"] + flags
    else:
        flags = pkg_flags("libsrtp2") + flags
    return compile_c(os.path.join(workdir, "srtp_cost-" + tag),
                     ["srtp_cost.c", "srtp_lite.c",
                      os.path.join(SRC_MEDIA, "srtp_openssl_crypto.c")],
                     flags)


class Load:
    """media_load: the A and B phones of every call, in one process."""

    def __init__(self, procs, workdir, max_calls):
        exe = compile_c(os.path.join(workdir, "media_load"),
                        ["media_load.c", "srtp_lite.c"],
                        pkg_flags("libcrypto"))
        self.err = os.path.join(workdir, "media_load.err")
        self.proc = subprocess.Popen(
            [exe, "-n", str(max_calls)], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=open(self.err, "w"), text=True,
            bufsize=1, start_new_session=True)
        self.proc.log_path = self.err
        procs.live.append(self.proc)
        line = self.proc.stdout.readline().split()
        if len(line) != 3 or line[0] != "ready":
            raise BenchError("media_load did not start: %s" %
                             tail(self.err, 3).strip())
        self.ports = int(line[1]), int(line[2])

    def send(self, line):
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def call(self, i, a_port, b_port, tx_key, rx_key):
        self.send("call %d %d %d %s %s" % (i, a_port, b_port, tx_key.hex(),
                                            rx_key.hex()))

    def stop(self, i):
        self.send("stop %d" % i)

    def stats(self):
        self.send("stats")
        while True:
            line = self.proc.stdout.readline()
            if not line:
                raise BenchError("media_load exited: %s" %
                                 tail(self.err, 3).strip())
            if line.startswith("stats "):
                return {k: float(v) for k, v in
                        (x.split("=") for x in line.split()[1:])}


class System:
    """What the bench needs of a system: start, calls up and down, CPU,
    its own view of the relay, and crash checks."""

    name = label = version = None
    relay_threads = None

    def __init__(self, procs, root):
        self.procs = procs
        self.dir = os.path.join(root, self.name)
        os.makedirs(self.dir)
        self.proc = None
        self.settings = {}

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def threads(self, prefix=""):
        """(cpu seconds, voluntary context switches, kernel cpu seconds)
        of the process's threads whose name starts with `prefix`: a relay
        thread sleeps once per wakeup, so switches count its wakeups."""
        cpu = switches = kernel = 0
        for task in glob.glob("/proc/%d/task/*" % self.proc.pid):
            try:
                with open(task + "/comm") as f:
                    if not f.read().startswith(prefix):
                        continue
                with open(task + "/stat") as f:
                    data = f.read()
                with open(task + "/status") as f:
                    status = f.read()
            except OSError:
                continue
            fields = data[data.rindex(")") + 2:].split()
            cpu += int(fields[11]) + int(fields[12])
            kernel += int(fields[12])
            m = re.search(r"^voluntary_ctxt_switches:\s*(\d+)", status, re.M)
            switches += int(m.group(1)) if m else 0
        tick = os.sysconf("SC_CLK_TCK")
        return cpu / tick, switches, kernel / tick

    def cpu(self):
        return group_cpu(self.proc.pid)

    def crash(self):
        if self.proc and self.proc.poll() is not None:
            return "exit %s: %s" % (self.proc.returncode,
                                    tail(self.proc.log_path, 5).strip())
        return None


class Switch(System):
    """An installed sipsbridge on a copy of its shipped configuration.
    `native`: run with SB_SRTP_NATIVE_CRYPTO=1, libsrtp2's own ciphers
    and HMAC instead of sipsbridge's OpenSSL ones."""

    def __init__(self, procs, root, name, prefix, native=False):
        self.name = name
        super().__init__(procs, root)
        self.prefix = prefix
        self.native = native
        self.bin = os.path.join(prefix, "bin")
        self.lib, self.crypto = srtp_library(prefix)
        self.debian = bool(self.lib and self.lib.startswith(
            ("/lib", "/usr/lib")))
        self.primitives = "libsrtp2's own (%s)" % self.crypto if native \
            else "sipsbridge's OpenSSL"
        self.label = "%s (libsrtp2 %s: %s; ciphers and HMAC: %s)" % (
            name, "Debian" if self.debian else self.lib, self.crypto,
            self.primitives)

    def use(self):
        """sbtest's module paths pointed at this install."""
        sbtest.BINDIR = self.bin
        sbtest.MODDIR = os.path.join(self.prefix, "lib", "sipsbridge")
        sbtest.SHIPPED_CONF = os.path.join(self.prefix, "etc", "sipsbridge")
        sbtest.SIPSBRIDGE = os.path.join(self.bin, "sipsbridge")
        sbtest.GENTLS = os.path.join(self.bin, "gentls_cert")
        sbtest.CLI = os.path.join(self.bin, "sipsbridge-cli")

    def start(self, args, load):
        self.use()
        lo, hi = port_range(max(2000, 6 * args.concurrent))
        sw = self.sw = sbtest.Switch(self.dir, overrides={
            "internal_auth_calls": "false", "rtp_start_port": lo,
            "rtp_end_port": hi})
        switch_pki(sw)
        # SDES keys over UDP: the bench's phones speak UDP (README).
        sbtest.set_param(sw, "internal", "srtp-sdes-insecure", "true")
        self.phones = Phones(sw.ports["internal_sip_port"], load.ports,
                             self.on_up)
        fill(os.path.join(DATA, "dialplan.xml"),
             os.path.join(sw.conf, "dialplan", "public.xml"),
             {"UAS_PORT": self.phones.uas_port})
        out = subprocess.run([sbtest.SIPSBRIDGE, "-version"],
                             capture_output=True, text=True)
        self.version = (out.stdout or out.stderr).strip().split("\n")[0]
        self.settings = {"threads": args.threads, "rtp_ports": "%d-%d" % (
            lo, hi), "srtp_library": self.lib, "srtp_crypto": self.crypto,
            "prefix": self.prefix, "srtp_primitives": self.primitives,
            "signalling": "UDP, srtp-sdes-insecure=true, auth-calls=false"}
        # env execs the switch: the process (and its pid) is the switch.
        env = ["env", "SB_SRTP_NATIVE_CRYPTO=1"] if self.native else \
            ["env", "-u", "SB_SRTP_NATIVE_CRYPTO"]
        self.proc = self.procs.start(
            env + [sbtest.SIPSBRIDGE, "-nf", "-conf", sw.conf, "-run", sw.run_dir,
             "-log", sw.log_dir, "-db", sw.db_dir, "-mod", sbtest.MODDIR,
             "-threads", str(args.threads)],
            os.path.join(self.dir, "sipsbridge.out"))
        deadline = time.time() + 30
        while "SB00006" not in sw.log():
            if self.proc.poll() is not None or time.time() > deadline:
                raise BenchError("%s did not start: %s" % (self.name, (
                    tail(self.proc.log_path, 8) or sw.log()[-800:]).strip()))
            time.sleep(0.05)
        self.load = load

    def on_up(self, i, a_port, b_port, tx_key, rx_key):
        self.load.call(i, a_port, b_port, tx_key, rx_key)

    def cli(self, command):
        try:
            res = subprocess.run([os.path.join(self.bin, "sipsbridge-cli"),
                                  "-run", self.sw.run_dir, "-x", command],
                                 capture_output=True, text=True, timeout=30)
        except subprocess.TimeoutExpired:
            raise BenchError("sipsbridge-cli %r: no answer in 30 s" %
                             command)
        return res.stdout

    def setup(self, n, rate):
        """Calls 0..n-1 at `rate` calls/s; returns when all are up or
        their INVITEs have timed out."""
        ph = self.phones
        ph.new_round()
        t0 = time.time()
        for i in range(n):
            ph.invite(i)
            ph.pump(t0 + (i + 1) / rate)
        deadline = time.time() + 10
        while ph.count("up") < n and time.time() < deadline and \
                ph.count("calling"):
            ph.pump(time.time() + 0.1)
        return self.setup_figures(n)

    def setup_figures(self, n):
        ph = self.phones
        times = [c["setup"] for c in ph.calls.values() if c["setup"]]
        return {"up": ph.count("up"), "failed": n - ph.count("up"),
                "invite_retransmitted": sum(1 for c in ph.calls.values()
                                            if c["tries"] > 1),
                "setup_ms": 1000 * sum(times) / len(times) if times
                else None, "errors": ph.errors[:3]}

    def keep_alive(self, seconds):
        self.phones.pump(time.time() + seconds)

    def teardown(self, n, rate):
        """BYE from every caller at `rate` calls/s; the calls that did
        not end, and the BYEs that had to be sent again (lost)."""
        ph = self.phones
        t0 = time.time()
        for i in range(n):
            self.load.stop(i)
            ph.bye(i)
            ph.pump(t0 + (i + 1) / rate)
        deadline = time.time() + 10
        while ph.count("ending") and time.time() < deadline:
            ph.pump(time.time() + 0.1)
        return {"bye_failed": ph.count("ending") + ph.count("bye-failed"),
                "bye_retransmitted": sum(1 for c in ph.calls.values()
                                         if c.get("bye_retransmitted"))}

    relay_prefix = "sb-relay"

    COUNTERS = ("rx", "tx", "dropped", "auth_failed", "replayed")

    def counters(self):
        """The relay's own counters per leg (by UUID): rx, tx, dropped,
        auth-failed, replayed, and whether it is SRTP (`show
        channels`)."""
        out = {}
        for line in self.cli("show channels").splitlines():
            m = re.search(r"^(\S+) .* (srtp \S+|rtp) rx (\d+) tx (\d+) "
                          r"dropped (\d+) auth-failed (\d+) replayed (\d+)",
                          line)
            if m:
                out[m.group(1)] = dict(
                    zip(self.COUNTERS, (int(m.group(g))
                                        for g in range(3, 8))),
                    srtp=m.group(2).startswith("srtp"))
        return out

    def counter_delta(self, c0, c1, seconds):
        """Growth of the counters over a window, summed over the legs
        present at both ends."""
        both = [k for k in c1 if k in c0]
        out = {k: sum(c1[u][k] - c0[u][k] for u in both)
               for k in self.COUNTERS}
        out.update(legs=len(both), srtp_legs=sum(c1[u]["srtp"]
                                                 for u in both),
                   tx_pps=out["tx"] / seconds)
        return out

    def open_calls(self):
        m = re.search(r"^(\d+) call\(s\)", self.cli("show calls"), re.M)
        return int(m.group(1)) if m else None

    def complaint(self):
        lines = [x for x in tail(os.path.join(self.sw.log_dir,
                                              "sipsbridge.log"),
                                 3000).splitlines()
                 if ("[WARNING]" in x or "[ERROR]" in x) and
                 "SB02640" not in x]
        return lines[-1].strip()[:300] if lines else None


def benc(x):
    """bencode, for rtpengine's ng protocol."""
    if isinstance(x, int):
        return b"i%de" % x
    if isinstance(x, str):
        x = x.encode()
    if isinstance(x, bytes):
        return b"%d:%s" % (len(x), x)
    if isinstance(x, list):
        return b"l" + b"".join(benc(v) for v in x) + b"e"
    return b"d" + b"".join(benc(k) + benc(v)
                           for k, v in sorted(x.items())) + b"e"


def bdec(data, i=0):
    """(value, next offset) of the bencoded value at data[i]."""
    c = data[i:i + 1]
    if c == b"i":
        end = data.index(b"e", i)
        return int(data[i + 1:end]), end + 1
    if c in (b"l", b"d"):
        items, i = [], i + 1
        while data[i:i + 1] != b"e":
            v, i = bdec(data, i)
            items.append(v)
        if c == b"l":
            return items, i + 1
        return {items[k].decode(): items[k + 1]
                for k in range(0, len(items), 2)}, i + 1
    colon = data.index(b":", i)
    n = int(data[i:colon])
    return data[colon + 1:colon + 1 + n], colon + 1 + n


class Rtpengine(System):
    """rtpengine in userspace (--table=-1), driven over ng by the bench:
    offer from the plain phone with transport-protocol RTP/SAVP toward the
    SRTP phone, answer from the SRTP phone with RTP/AVP back."""

    name = "rtpengine"
    relay_prefix = ""  # every thread: its workers share the media

    def start(self, args, load):
        self.load = load
        self.ng_port, self.cli_port = fresh_port(), fresh_port()
        lo, hi = port_range(max(2000, 6 * args.concurrent))
        out = subprocess.run(["rtpengine", "--version"],
                             capture_output=True, text=True)
        self.version = "rtpengine " + (out.stdout or
                                       out.stderr).strip().split()[-1]
        self.label = "rtpengine (userspace, %d threads)" % \
            args.rtpengine_threads
        self.settings = {"threads": args.rtpengine_threads,
                         "rtp_ports": "%d-%d" % (lo, hi), "kernel": False,
                         "control": "ng over UDP from the bench"}
        self.proc = self.procs.start(
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
        wait_listening(self.cli_port, self.proc, "rtpengine")
        self.ng = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.ng.settimeout(5)
        self.cookie = 0
        self.run = 0

    def command(self, cmd):
        self.cookie += 1
        cookie = b"%d_%d" % (os.getpid(), self.cookie)
        self.ng.sendto(cookie + b" " + benc(cmd),
                       ("127.0.0.1", self.ng_port))
        while True:
            data = self.ng.recv(65536)
            if data.startswith(cookie + b" "):
                reply, _ = bdec(data, len(cookie) + 1)
                if reply.get("result") != b"ok":
                    raise BenchError("rtpengine %s: %r" % (
                        cmd["command"], reply))
                return reply

    def one_call(self, i):
        callid, ftag, ttag = "r%d-%d-media" % (self.run, i), "a%d" % i, \
            "b%d" % i
        common = {"call-id": callid, "from-tag": ftag,
                  "replace": ["origin", "session-connection"],
                  "ICE": "remove"}
        a_sdp = plain_sdp(self.load.ports[0], i)
        t0 = time.time()
        offer = self.command(dict(common, command="offer", sdp=a_sdp,
                                  **{"transport-protocol": "RTP/SAVP"}))
        to_b = offer["sdp"].decode()
        b_port, proto = sdp_port(to_b)
        key = sdes_key(to_b)
        if proto != "RTP/SAVP" or not key:
            raise BenchError("rtpengine's offer toward the SRTP phone has "
                             "no RTP/SAVP with %s: %r" % (SUITE, to_b))
        tx_key = os.urandom(30)
        answer = self.command(dict(
            common, command="answer", sdp=srtp_sdp(self.load.ports[1],
                                                   key[0], tx_key),
            **{"to-tag": ttag, "transport-protocol": "RTP/AVP"}))
        a_port, proto = sdp_port(answer["sdp"].decode())
        if proto != "RTP/AVP":
            raise BenchError("rtpengine's answer toward the plain phone is "
                             "%s" % proto)
        self.load.call(i, a_port, b_port, tx_key, key[1])
        return time.time() - t0

    def setup(self, n, rate):
        self.run += 1
        t0, times, errors = time.time(), [], []
        for i in range(n):
            try:
                times.append(self.one_call(i))
            except (BenchError, OSError) as e:
                errors.append(str(e)[:300])
            delay = t0 + (i + 1) / rate - time.time()
            if delay > 0:
                time.sleep(delay)
        return {"up": len(times), "failed": n - len(times),
                "setup_ms": 1000 * sum(times) / len(times) if times
                else None, "errors": errors[:3]}

    def keep_alive(self, seconds):
        time.sleep(seconds)

    def teardown(self, n, rate):
        failed = 0
        for i in range(n):
            self.load.stop(i)
            try:
                self.command({"command": "delete", "call-id": "r%d-%d-media"
                              % (self.run, i), "from-tag": "a%d" % i})
            except (BenchError, OSError):
                failed += 1
        return {"bye_failed": failed}

    def cli(self, command):
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

    def figure(self, command, label):
        """A number rtpengine's CLI prints; None when the CLI failed (a
        busy rtpengine may reset the connection: a missing sample)."""
        try:
            text = self.cli(command)
        except OSError:
            return None
        m = re.search(r"^\s*%s\s*:\s*(\d+)" % re.escape(label), text,
                      re.M)
        return int(m.group(1)) if m else None

    def counters(self):
        return {"pps": self.figure("list totals",
                                   "Packets per second (total)"),
                "errors": self.figure("list totals",
                                      "Errors per second (total)")}

    def open_calls(self):
        return self.figure("list numsessions", "Current sessions total")

    def complaint(self):
        lines = [x for x in tail(self.proc.log_path, 2000).splitlines()
                 if "ERR" in x or "WARN" in x]
        return lines[-1].strip()[:300] if lines else None
