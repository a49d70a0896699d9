"""Shared pieces of the fault tests: sizes, the switch, its counters, a
phone that keeps registering while an attack runs, the load clients."""
import asyncio
import json
import os
import re
import statistics
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "interop"))
import sbtest  # noqa: E402  (the interop helpers: Switch, PKI, peers)
import sipua  # noqa: E402

LOADTLS = os.path.join(HERE, "loadtls.py")

# Each size: (make check, FAULT_SCALE=full). An explicit FAULT_<NAME>
# in the environment wins over both.
SIZES = {
    "loris": (200, 2000),          # slow-loris connections
    "guard": (3, 3),               # msg-timeout and tls-timeout, s
    "flood_seconds": (8, 30),      # handshake flood length
    "flood_procs": (1, 2),         # flooding processes
    "flood_concurrency": (24, 48),  # handshakes in flight per process
    "idle": (500, 10000),          # idle TLS connections
    "idle_hold": (4, 30),          # seconds they stay idle
    "storm_sources": (10, 50),     # source addresses of the storm
    "storm_attempts": (2000, 20000),  # wrong-password tries per phase
    "storm_udp_sources": (250, 5000),  # new UDP sources per phase
    "storm_phases": (4, 4),
    "reload_phones": (20, 100),    # TLS phones during reload-tls
    "restart_phones": (20, 100),   # phones registered across a restart
}


def full():
    return os.environ.get("FAULT_SCALE", "small") == "full"


def size(name):
    env = os.environ.get("FAULT_" + name.upper())
    if env:
        return int(env)
    return SIZES[name][1 if full() else 0]


SUMMARIES = []


def summary(name, held, lost, extra=""):
    """One line per test: what it held, what was lost (must be nothing)."""
    line = "%s: held %s; lost %s%s" % (name, held, lost or "nothing",
                                       "; " + extra if extra else "")
    SUMMARIES.append(line)
    print(line, flush=True)
    return line


def fault_switch(tmp_path, users=0, **params):
    """The installed switch with a demo PKI; @params set on the internal
    profile (underscores for dashes); @users extra users 2000.. with a
    dialplan extension that reaches them."""
    sw = sbtest.Switch(tmp_path)
    sw.make_demo_pki()
    sbtest.set_param(sw, "internal", "auth-algorithms", "MD5")
    for name, value in params.items():
        sbtest.set_param(sw, "internal", name.replace("_", "-"), str(value))
    if users:
        add_users(sw, 2000, users)
    sw.cafile = os.path.join(sw.ssl_dir("internal"), "cafile.pem")
    sw.tls_port = sw.ports["internal_tls_port"]
    return sw


def add_users(sw, first, count):
    path = os.path.join(sw.conf, "directory", "default.xml")
    with open(path) as f:
        text = f.read()
    users = "".join(
        '          <user id="%d"><params><param name="password" '
        'value="$${default_password}"/></params></user>\n' % u
        for u in range(first, first + count))
    text = text.replace("</users>", users + "        </users>", 1)
    with open(path, "w") as f:
        f.write(text)
    with open(os.path.join(sw.conf, "dialplan", "zz_faults.xml"), "w") as f:
        f.write('<include>\n  <context name="default">\n'
                '    <extension name="fault_users">\n'
                '      <condition field="destination_number" '
                'expression="^(2\\d{3})$">\n'
                '        <action application="bridge" '
                'data="user/$1@${domain_name}"/>\n'
                '      </condition>\n    </extension>\n'
                '  </context>\n</include>\n')


def sources(count, per_ip, third=10):
    """@count source addresses 127.0.T.H (T from @third), at most
    @per_ip uses of each: the per-IP connection limit is not the guard
    a test is about."""
    out, i = [], 0
    while len(out) < count:
        ip = "127.0.%d.%d" % (third + i // 250, 1 + i % 250)
        out += [ip] * min(per_ip, count - len(out))
        i += 1
    return out


def rss_kib(sw):
    with open("/proc/%d/status" % sw.proc.pid) as f:
        return int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1))


def open_fds(sw):
    return len(os.listdir("/proc/%d/fd" % sw.proc.pid))


def conns(sw, profile="internal"):
    """(tcp, tls) connections the profile counts now."""
    out = sw.cli("sips status profile " + profile).stdout
    m = re.search(r"connections: tcp (\d+), tls (\d+)", out)
    assert m, out
    return int(m.group(1)), int(m.group(2))


def handshakes(sw, profile="internal"):
    out = sw.cli("sips status profile " + profile).stdout
    m = re.search(r"tls handshakes ok (\d+), failed (\d+)", out)
    return int(m.group(1)), int(m.group(2))


def flows(sw):
    out = sw.cli("sips status").stdout
    return int(re.search(r"flows: (\d+) open", out).group(1))


def calls(sw):
    out = sw.cli("show calls").stdout
    return int(re.search(r"(\d+) call\(s\)", out).group(1))


def registrations(sw):
    out = sw.cli("show registrations").stdout
    return int(re.search(r"(\d+) registration\(s\)", out).group(1)), out


def binding_rows(listing):
    """{(aor, contact)} of a `show registrations` listing."""
    rows = set()
    for line in listing.splitlines():
        cols = line.split()
        if len(cols) >= 2 and "@" in cols[0] and cols[1].startswith("sip"):
            rows.add((cols[0], cols[1]))
    return rows


def limits(sw, profile="internal"):
    """{limit: times fired} of the profile's "limits fired:" status line,
    or None when the switch has no such line."""
    out = sw.cli("sips status profile " + profile).stdout
    m = re.search(r"limits fired:(.*)", out)
    if not m:
        return None
    return {k: int(v) for k, v in re.findall(r"([\w-]+) (\d+)",
                                              m.group(1))}


def fired(sw, name, code):
    """Times limit @name fired: from the status counters when the switch
    has them, else from its log lines @code."""
    counters = limits(sw)
    if counters is not None and name in counters:
        return counters[name]
    return count_events(sw, code)


def count_events(sw, code):
    """Events logged under @code: a limit that keeps firing is logged
    once, then as summary lines "N more in the last S s (not logged one
    by one)" every limit-log-interval; each event is in one of the two."""
    n = 0
    for line in sw.log().splitlines():
        if not re.search(r"\b%s\b" % code, line):
            continue
        more = re.search(r"(\d+) more in the last .*not logged one by one",
                         line)
        n += int(more.group(1)) if more else 1
    return n


def count_log(sw, code):
    return len(re.findall(r"\b%s\b" % code, sw.log()))


def wait_idle(sw, timeout=30, profile="internal"):
    """Wait until the profile has no connection and no flow is open."""
    return sbtest.wait_for(lambda: conns(sw, profile) == (0, 0) and
                           flows(sw) == 0, timeout=timeout, interval=0.2)


class Prober(threading.Thread):
    """A well-behaved phone on 127.0.0.1 that comes up (TLS handshake,
    REGISTER with digest, clean close) every @interval seconds while an
    attack runs; results in .results as (ok, seconds, why)."""

    def __init__(self, sw, interval=0.5, user="1000", timeout=32):
        super().__init__(daemon=True)
        self.sw, self.interval, self.user = sw, interval, user
        self.timeout = timeout
        self.results = []
        self.stopping = threading.Event()

    def run(self):
        asyncio.run(self._loop())

    async def _loop(self):
        while not self.stopping.is_set():
            started = time.monotonic()
            self.results.append(await sipua.probe(
                self.sw.tls_port, self.sw.cafile, self.user,
                timeout=self.timeout))
            left = self.interval - (time.monotonic() - started)
            if left > 0:
                await asyncio.sleep(left)

    def stop(self):
        self.stopping.set()
        self.join(self.timeout * 3)
        return self

    def failures(self):
        return [r for r in self.results if not r[0]]

    def text(self):
        lat = sorted(r[1] for r in self.results if r[0])
        if not lat:
            return "phone: 0 of %d REGISTERs ok" % len(self.results)
        p95 = lat[min(len(lat) - 1, int(len(lat) * 0.95))]
        return ("phone: %d/%d REGISTERs ok (handshake+401+200), latency "
                "p50 %.0f ms p95 %.0f ms max %.0f ms" % (
                    len(lat), len(self.results),
                    statistics.median(lat) * 1000, p95 * 1000,
                    lat[-1] * 1000))


def load(mode, sw, status, *args, port=None):
    """Start loadtls.py @mode against the switch's TLS port (or @port)."""
    argv = [sys.executable, LOADTLS, mode, "--port",
            str(port or sw.tls_port),
            "--cafile", sw.cafile, "--status", status, *map(str, args)]
    log = open(status + ".log", "w")
    proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
    proc.status_path = status
    return proc


def load_result(proc, timeout):
    """Wait for a load client and return its JSON figures."""
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        raise AssertionError("load client %s did not finish" %
                             proc.status_path)
    return read_status(proc)


def read_status(proc):
    try:
        with open(proc.status_path) as f:
            return json.load(f)
    except (FileNotFoundError, ValueError):
        with open(proc.status_path + ".log") as f:
            raise AssertionError("load client wrote no figures (exit %s):"
                                 "\n%s" % (proc.poll(), f.read()[-3000:]))


def wait_status(proc, timeout):
    """Wait for a long-running load client's status file."""
    ok = sbtest.wait_for(lambda: os.path.exists(proc.status_path) or
                         proc.poll() is not None, timeout=timeout,
                         interval=0.2)
    assert ok, "load client %s: no status in %d s" % (proc.status_path,
                                                     timeout)
    return read_status(proc)


def run_async(coro):
    return asyncio.run(coro)


class LoopThread(threading.Thread):
    """An asyncio loop of its own: phones keep answering while the test
    blocks on the CLI. run() waits for a coroutine run there."""

    def __init__(self):
        super().__init__(daemon=True)
        self.loop = asyncio.new_event_loop()

    def run(self):
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    def __call__(self, coro, timeout=120):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(
            timeout)

    def close(self):
        async def cancel_rest():
            rest = [t for t in asyncio.all_tasks()
                    if t is not asyncio.current_task()]
            for t in rest:
                t.cancel()
            await asyncio.gather(*rest, return_exceptions=True)

        self(cancel_rest(), timeout=10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.join(10)
        self.loop.close()
