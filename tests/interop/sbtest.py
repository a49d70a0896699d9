"""Helpers for interop tests: the installed switch, its config, a PKI."""
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import threading
import time

TOP_SRCDIR = os.environ.get(
    "SB_TOP_SRCDIR",
    os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))


def _installed(path_var, default):
    """A path of the installed tree (DESTDIR + configured dir)."""
    destdir = os.environ.get("SB_DESTDIR")
    if destdir:
        return destdir + os.environ[path_var]
    return os.path.join(TOP_SRCDIR, "build", "check", "inst", default)


BINDIR = _installed("SB_BINDIR", "bin")
MODDIR = _installed("SB_PKGLIBDIR", "lib/sipsbridge")
SHIPPED_CONF = os.path.join(_installed("SB_SYSCONFDIR", "etc"), "sipsbridge")
SIPSBRIDGE = os.path.join(BINDIR, "sipsbridge")
CLI = os.path.join(BINDIR, "sipsbridge-cli")
GENTLS = os.path.join(BINDIR, "gentls_cert")


# Ports handed out in this run: a port is free until its user binds it,
# so without this two callers (a switch's SIP port and a SIPp server's,
# chosen one after the other) could get the same one.
_GIVEN = set()


def free_port(kind=socket.SOCK_STREAM, pair=False):
    """A port free for TCP and UDP on 127.0.0.1 (and port+1 if pair),
    never one handed out before in this run."""
    for _ in range(200):
        with socket.socket(socket.AF_INET, kind) as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        ports = [port, port + 1] if pair else [port]
        if any(p in _GIVEN for p in ports):
            continue
        if all(_is_free(p) for p in ports):
            _GIVEN.update(ports)
            return port
    raise RuntimeError("no free port")


def _is_free(port):
    for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
        with socket.socket(socket.AF_INET, kind) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                return False
    return True


def gentls(*args, check=True):
    return subprocess.run([GENTLS, *args], capture_output=True, text=True,
                          check=check, timeout=60)


def make_pki(ssl_dir, cn="localhost", alts=("127.0.0.1", "localhost"),
             days=None):
    """A CA and a server agent.pem for one profile's ssl dir."""
    gentls("setup", "-base", ssl_dir, "-cn", "test CA " + cn)
    args = ["create_server", "-base", ssl_dir, "-cn", cn]
    for alt in alts:
        args += ["-alt", alt]
    if days is not None:
        args += ["-days", str(days)]
    gentls(*args)


class Switch:
    """The installed sipsbridge on a copy of the shipped config."""

    def __init__(self, tmp_path, overrides=None, shipped_ports=False):
        self.root = str(tmp_path)
        self.conf = os.path.join(self.root, "conf")
        self.run_dir = os.path.join(self.root, "run")
        self.log_dir = os.path.join(self.root, "log")
        self.db_dir = os.path.join(self.root, "db")
        # Not its ssl/ dir: a demo PKI made by scripts/run lives there.
        shutil.copytree(SHIPPED_CONF, self.conf,
                        ignore=shutil.ignore_patterns("ssl"))
        self.ports = {}
        sets = dict(overrides or {})
        if not shipped_ports:
            sets.setdefault("local_ip_v4", "127.0.0.1")
            sets.setdefault("domain", "127.0.0.1")
            sets.setdefault("domain_name", "127.0.0.1")
            for name in ("internal_sip_port", "internal_tls_port",
                         "external_sip_port", "external_tls_port"):
                sets.setdefault(name, str(free_port()))
        self.ports = {k: int(v) for k, v in sets.items()
                      if k.endswith("_port")}
        self.set_vars(sets)
        self.proc = None
        self.threads = 2
        self.wrapper = []  # a command the daemon runs under (unshare...)

    def set_vars(self, sets):
        """Append X-PRE-PROCESS set lines to vars.xml (they win)."""
        path = os.path.join(self.conf, "vars.xml")
        with open(path) as f:
            text = f.read()
        lines = "".join(
            '  <X-PRE-PROCESS cmd="set" data="%s=%s"/>\n' % (k, v)
            for k, v in sets.items())
        text = text.replace("</include>", lines + "</include>")
        with open(path, "w") as f:
            f.write(text)

    def var(self, name):
        out = subprocess.run([SIPSBRIDGE, "-conf", self.conf, "-var", name],
                             capture_output=True, text=True, check=True,
                             timeout=30)
        return out.stdout.strip()

    def ssl_dir(self, profile):
        return self.var(profile + "_ssl_dir")

    def make_demo_pki(self):
        for profile in ("internal", "external"):
            make_pki(self.ssl_dir(profile))

    def start(self, expect_ready=True, timeout=20):
        ready_before = self.log().count("SB00006")
        # stderr to a file: a pipe nobody reads would block the daemon.
        self.stderr_path = os.path.join(self.root, "stderr.%d" % time.time_ns())
        with open(self.stderr_path, "w") as err:
            self.proc = subprocess.Popen(
                self.wrapper + [SIPSBRIDGE, "-nf", "-conf", self.conf, "-run",
                 self.run_dir, "-log", self.log_dir, "-db", self.db_dir,
                 "-mod", MODDIR, "-threads", str(self.threads),
                 "-loglevel", os.environ.get("SB_TEST_LOGLEVEL", "info")],
                stdout=subprocess.DEVNULL, stderr=err)
        if not expect_ready:
            return self
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.log().count("SB00006") > ready_before:
                return self
            if self.proc.poll() is not None:
                raise AssertionError("sipsbridge exited %s:\n%s" % (
                    self.proc.returncode, self.stderr()))
            time.sleep(0.05)
        raise AssertionError("sipsbridge not ready:\n" + self.log())

    def wait_exit(self, timeout=30):
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError("sipsbridge did not exit")

    def stderr(self):
        try:
            with open(self.stderr_path, errors="replace") as f:
                return f.read()
        except (AttributeError, FileNotFoundError):
            return ""

    def log(self):
        try:
            with open(os.path.join(self.log_dir, "sipsbridge.log")) as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def cli(self, command, check=True):
        out = subprocess.run([CLI, "-run", self.run_dir, "-x", command],
                             capture_output=True, text=True, timeout=30)
        if check and out.returncode != 0:
            raise AssertionError("cli %r: %s %s" % (command, out.stdout,
                                                    out.stderr))
        return out

    def __enter__(self):
        """with Switch(...) as sw: started, and stopped (with its checks)
        at the end of the block."""
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()
        return False

    def stop(self):
        """SIGTERM; a clean exit (0) also means ASan found no leak."""
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else 0
        self.proc.send_signal(signal.SIGTERM)
        code = self.wait_exit()
        err = self.stderr()
        assert code == 0, "exit %s:\n%s" % (code, err[-4000:])
        assert "ERROR: AddressSanitizer" not in err, err
        assert "runtime error:" not in err, err
        return code


def s_client(port, host="127.0.0.1", cafile=None, servername=None,
             version="-tls1_3", extra=(), timeout=15):
    """openssl s_client: returns (returncode, output)."""
    args = ["openssl", "s_client", "-connect", "%s:%d" % (host, port),
            "-brief", "-verify_return_error", version, *extra]
    if cafile:
        args += ["-CAfile", cafile]
    if servername:
        args += ["-servername", servername, "-verify_hostname", servername]
    out = subprocess.run(args, input="", capture_output=True, text=True,
                         timeout=timeout)
    return out.returncode, out.stdout + out.stderr


def wait_for(predicate, timeout=10, interval=0.05):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return False


def grep(pattern, text):
    return re.search(pattern, text, re.M) is not None


SCENARIOS = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                         "scenarios")


def sipp(scenario, port, transport="u1", calls=1, extra=(), timeout=30,
         service="switch", local_port=None):
    """Run SIPp (Debian sip-tester) against 127.0.0.1:port."""
    args = ["sipp", "127.0.0.1:%d" % port, "-sf",
            os.path.join(SCENARIOS, scenario), "-t", transport,
            "-m", str(calls), "-i", "127.0.0.1",
            "-p", str(local_port or free_port()),
            "-s", service, "-nostdin", "-timeout", str(timeout),
            "-timeout_error", "-max_recv_loops", "1000", *extra]
    out = subprocess.run(args, capture_output=True, text=True,
                         timeout=timeout + 15, cwd=tmpdir_for_sipp())
    return out.returncode, out.stdout + out.stderr


def sipp_bg(scenario, port, transport="u1", extra=(), timeout=30,
            service="switch", local_port=None, calls=1):
    """SIPp in the background (a phone waiting for calls); finish with
    sipp_wait()."""
    args = ["sipp", "127.0.0.1:%d" % port, "-sf",
            os.path.join(SCENARIOS, scenario), "-t", transport,
            "-m", str(calls), "-i", "127.0.0.1",
            "-p", str(local_port or free_port()),
            "-s", service, "-nostdin", "-timeout", str(timeout),
            "-timeout_error", "-max_recv_loops", "1000", *extra]
    return subprocess.Popen(args, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True,
                            cwd=tmpdir_for_sipp())


def sipp_wait(proc, timeout=40):
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
        return -1, out
    return proc.returncode, out


def tmpdir_for_sipp():
    import tempfile
    return tempfile.mkdtemp(prefix="sipp-")


class Stunnel:
    """A TLS client tunnel: plain TCP on a local port, TLS to a server."""

    def __init__(self, tmp_path, tls_port, cafile, check_host="localhost",
                 cert=None):
        self.port = free_port()
        self.dir = os.path.join(str(tmp_path), "stunnel-%d" % self.port)
        os.makedirs(self.dir)
        cfg = os.path.join(self.dir, "stunnel.conf")
        with open(cfg, "w") as f:
            f.write("foreground = yes\npid =\nsyslog = no\n"
                    "output = %s/stunnel.log\ndebug = 5\n"
                    "[sip]\nclient = yes\naccept = 127.0.0.1:%d\n"
                    "connect = 127.0.0.1:%d\nCAfile = %s\n"
                    "verifyChain = yes\ncheckHost = %s\n"
                    % (self.dir, self.port, tls_port, cafile, check_host))
            if cert:
                f.write("cert = %s\n" % cert)
        self.proc = subprocess.Popen(["stunnel4", cfg],
                                     stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        if not wait_for(lambda: _port_open(self.port), timeout=10):
            self.close()
            raise AssertionError("stunnel did not start")

    def log(self):
        try:
            return open(os.path.join(self.dir, "stunnel.log")).read()
        except FileNotFoundError:
            return ""

    def close(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)


def _port_open(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


def set_param(sw, profile, name, value):
    """Set (or add) a <param> of a profile in the switch's config copy."""
    path = os.path.join(sw.conf, "sip_profiles", profile + ".xml")
    text = open(path).read()
    pat = re.compile(r'<param name="%s" value="[^"]*"/>' % re.escape(name))
    new = '<param name="%s" value="%s"/>' % (name, value)
    if pat.search(text):
        text = pat.sub(new, text)
    else:
        text = text.replace("<settings>", "<settings>\n    " + new, 1)
    open(path, "w").write(text)


def write_tone_wav(path, seconds=5, hz=440, rate=8000):
    """A mono 16-bit sine tone: a phone's audio that a test can find."""
    import math
    import struct
    import wave
    with wave.open(path, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(b"".join(
            struct.pack("<h", int(12000 * math.sin(2 * math.pi * hz * i /
                                                   rate)))
            for i in range(seconds * rate)))
    return path


class Baresip:
    """baresip (Debian baresip-core) as a phone, headless."""

    def __init__(self, tmp_path, account, cafile, seconds=30,
                 extra_modules=(), certificate=None, extra_config=(),
                 audio_source="/dev/null", commands=(), start_delay=0):
        self.dir = os.path.join(str(tmp_path), "baresip-%d" % free_port())
        os.makedirs(self.dir)
        self.port = free_port(pair=True)
        mods = ["g711.so", "aufile.so", "srtp.so", *extra_modules]
        with open(os.path.join(self.dir, "config"), "w") as f:
            f.write("sip_listen 127.0.0.1:%d\n" % self.port)
            f.write("sip_cafile %s\n" % cafile)
            if certificate:
                # baresip opens no TLS transport without one.
                f.write("sip_certificate %s\n" % certificate)
            f.write("net_interface 127.0.0.1\n")
            f.write("module_path /usr/lib/baresip/modules\n")
            for m in mods:
                f.write("module %s\n" % m)
            f.write("module_app account.so\nmodule_app menu.so\n")
            f.write("audio_player aufile,/dev/null\n")
            f.write("audio_source aufile,%s\n" % audio_source)
            for line in extra_config:
                f.write(line + "\n")
        with open(os.path.join(self.dir, "accounts"), "w") as f:
            f.write(account + "\n")
        self.log_path = os.path.join(self.dir, "baresip.out")
        if start_delay:
            time.sleep(start_delay)
        args = ["baresip", "-f", self.dir, "-t", str(seconds)]
        for c in commands:
            args += ["-e", c]
        self.proc = subprocess.Popen(
            args,
            stdin=subprocess.DEVNULL, stdout=open(self.log_path, "w"),
            stderr=subprocess.STDOUT)

    def output(self):
        return open(self.log_path, errors="replace").read()

    def close(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class FakeDns:
    """A DNS server on 127.x.y.z:53 for a daemon run under dns_namespace:
    @records maps (name, qtype) to a list of rdata bytes; other names get
    NXDOMAIN, known names without that type an empty answer.  With
    silent=True it answers nothing (a dead server)."""

    A, AAAA, SRV, NAPTR = 1, 28, 33, 35

    def __init__(self, records=None, silent=False):
        import struct
        self.struct = struct
        self.records = records or {}
        self.silent = silent
        self.queries = []
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        # Port 53 is fixed (resolv.conf names no port): an address of its
        # own in 127/8 keeps two runs of the tests apart.
        for _ in range(50):
            self.ip = "127.0.%d.%d" % (random.randint(1, 254),
                                       random.randint(2, 254))
            try:
                self.sock.bind((self.ip, 53))
                break
            except OSError:
                continue
        else:
            raise AssertionError("no free 127/8 address for port 53")
        self.sock.settimeout(0.2)
        self.running = True
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    @staticmethod
    def srv(priority, weight, port, target):
        import struct
        return struct.pack("!HHH", priority, weight, port) + \
            FakeDns.encode_name(target)

    @staticmethod
    def naptr(order, pref, flags, service, regexp, replacement):
        """NAPTR rdata (RFC 3403 4.1): the replacement is a plain name,
        "." (or "") for none."""
        import struct

        def text(s):
            return bytes([len(s)]) + s.encode()
        name = b"\0" if replacement in ("", ".") else \
            FakeDns.encode_name(replacement)
        return struct.pack("!HH", order, pref) + text(flags) + \
            text(service) + text(regexp) + name

    @staticmethod
    def encode_name(name):
        return b"".join(bytes([len(p)]) + p.encode()
                        for p in name.strip(".").split(".")) + b"\0"

    def _serve(self):
        while self.running:
            try:
                data, src = self.sock.recvfrom(512)
            except socket.timeout:
                continue
            except OSError:
                return
            labels, i = [], 12
            while i < len(data) and data[i]:
                labels.append(data[i + 1:i + 1 + data[i]].decode())
                i += 1 + data[i]
            qname = ".".join(labels).lower()
            qtype = self.struct.unpack("!H", data[i + 1:i + 3])[0]
            question = data[12:i + 5]
            self.queries.append((qname, qtype))
            if self.silent:
                continue
            known = any(n == qname for n, _ in self.records)
            answers = self.records.get((qname, qtype), [])
            flags = 0x8180 if known else 0x8183  # NXDOMAIN otherwise
            reply = data[:2] + self.struct.pack("!HHHHH", flags, 1,
                                                len(answers), 0, 0)
            reply += question
            for rdata in answers:
                reply += b"\xc0\x0c" + self.struct.pack(
                    "!HHIH", qtype, 1, 60, len(rdata)) + rdata
            self.sock.sendto(reply, src)

    def close(self):
        self.running = False
        self.thread.join(2)
        self.sock.close()


def dns_namespace(sw, tmp_path, dns, options=""):
    """Run @sw in its own mount namespace whose /etc/resolv.conf names
    the FakeDns @dns."""
    resolv = os.path.join(str(tmp_path), "resolv.conf")
    with open(resolv, "w") as f:
        f.write("nameserver %s\n%s" % (dns.ip, options))
    sw.wrapper = ["unshare", "-m", "sh", "-c",
                  'mount --bind "$0" /etc/resolv.conf && exec "$@"', resolv]


def smoke_select(config, items):
    """SB_CHECK_SMOKE=1 (the suite inside make distcheck, after the whole
    suite has already run on the same tree): every module is still
    collected, so a file missing from the tarball fails, but only the
    first test of each module runs."""
    if os.environ.get("SB_CHECK_SMOKE") != "1":
        return
    seen, keep, drop = set(), [], []
    for item in items:
        module = item.nodeid.split("::")[0]
        (drop if module in seen else keep).append(item)
        seen.add(module)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep
