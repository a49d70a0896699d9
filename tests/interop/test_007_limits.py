"""Issue 7: limits under attack. Each test runs one attack from one
loopback source (127.0.0.2, ...) and checks that the limit fires (its log
line and its effect) while a well-behaved phone from another source
(127.0.0.3) keeps registering."""
import hashlib
import os
import re
import socket
import ssl
import threading
import time

import pytest

from sbtest import Switch, set_param, wait_for, grep

ATTACKER = "127.0.0.2"
PHONE = "127.0.0.3"
OTHER = "127.0.0.4"


def limit_switch(tmp_path, **params):
    sw = Switch(tmp_path)
    sw.make_demo_pki()
    set_param(sw, "internal", "auth-algorithms", "MD5")
    for name, value in params.items():
        set_param(sw, "internal", name.replace("_", "-"), str(value))
    return sw


def cafile(sw):
    return os.path.join(sw.ssl_dir("internal"), "cafile.pem")


class SipConn:
    """One SIP transport from a chosen loopback source to the switch."""

    def __init__(self, sw, transport, src, timeout=5):
        self.transport = transport
        self.src = src
        key = "internal_tls_port" if transport == "tls" else \
            "internal_sip_port"
        self.port = sw.ports[key]
        self.buf = b""
        if transport == "udp":
            self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            self.sock.bind((src, 0))
        else:
            raw = socket.create_connection(("127.0.0.1", self.port),
                                           timeout=timeout,
                                           source_address=(src, 0))
            if transport == "tls":
                ctx = ssl.create_default_context(cafile=cafile(sw))
                raw = ctx.wrap_socket(raw, server_hostname="localhost")
            self.sock = raw
        self.sock.settimeout(timeout)
        self.local_port = self.sock.getsockname()[1]

    def send(self, data):
        if self.transport == "udp":
            self.sock.sendto(data, ("127.0.0.1", self.port))
        else:
            self.sock.sendall(data)

    def recv_msg(self, timeout=5):
        """The next whole SIP message, or None (timeout or closed)."""
        self.sock.settimeout(timeout)
        if self.transport == "udp":
            try:
                return self.sock.recvfrom(65536)[0].decode(errors="replace")
            except OSError:
                return None
        while True:
            head, sep, rest = self.buf.partition(b"\r\n\r\n")
            if sep:
                m = re.search(rb"(?im)^content-length:\s*(\d+)", head)
                need = int(m.group(1)) if m else 0
                if len(rest) >= need:
                    self.buf = rest[need:]
                    return (head + sep + rest[:need]).decode(
                        errors="replace")
            try:
                chunk = self.sock.recv(65536)
            except OSError:
                return None
            if not chunk:
                return None
            self.buf += chunk

    def final(self, timeout=5):
        """The next final response (1xx skipped), or None."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            msg = self.recv_msg(max(0.05, deadline - time.time()))
            if msg is None:
                return None
            if not re.match(r"SIP/2\.0 1\d\d", msg):
                return msg
        return None

    def closed(self, timeout=5):
        """True once the switch has closed this connection."""
        self.sock.settimeout(timeout)
        try:
            while True:
                data = self.sock.recv(65536)
                if not data:
                    return True
        except socket.timeout:
            return False
        except OSError:
            return True

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


_seq = [0]


def _next():
    _seq[0] += 1
    return _seq[0]


def request(conn, method, user="1000", cseq=1, call_id=None, auth=None,
            extra=""):
    """A request from @conn's source; REGISTER carries a Contact."""
    n = _next()
    tp = conn.transport.upper()
    ruri = "sip:127.0.0.1:%d" % conn.port
    if conn.transport == "tls":
        ruri += ";transport=tls"
    if method == "INVITE":
        ruri = "sip:1001@127.0.0.1:%d" % conn.port
    lines = [
        "%s %s SIP/2.0" % (method, ruri),
        "Via: SIP/2.0/%s %s:%d;branch=z9hG4bKlim%d;rport"
        % (tp, conn.src, conn.local_port, n),
        "Max-Forwards: 70",
        "From: <sip:%s@127.0.0.1>;tag=f%d" % (user, n),
        "To: <sip:%s@127.0.0.1>" % (user if method == "REGISTER"
                                     else "1001"),
        "Call-ID: %s" % (call_id or "lim%d-%f@test" % (n, time.time())),
        "CSeq: %d %s" % (cseq, method),
        "Contact: <sip:%s@%s:%d;transport=%s>"
        % (user, conn.src, conn.local_port, conn.transport),
    ]
    if method == "REGISTER":
        lines.append("Expires: 600")
    if auth:
        lines.append(auth)
    if extra:
        lines.append(extra)
    lines.append("Content-Length: 0")
    return ("\r\n".join(lines) + "\r\n\r\n").encode(), ruri


def digest(challenge, method, uri, user, password):
    """An Authorization header answering a 401/407 @challenge (MD5)."""
    hdr = re.search(r"(?im)^(WWW|Proxy)-Authenticate: Digest (.*)$",
                    challenge)
    params = hdr.group(2)
    realm = re.search(r'realm="([^"]+)"', params).group(1)
    nonce = re.search(r'nonce="([^"]+)"', params).group(1)

    def md5(x):
        return hashlib.md5(x.encode()).hexdigest()

    ha1 = md5("%s:%s:%s" % (user, realm, password))
    ha2 = md5("%s:%s" % (method, uri))
    resp = md5("%s:%s:00000001:c0ffee:auth:%s" % (ha1, nonce, ha2))
    name = "Authorization" if hdr.group(1).upper() == "WWW" else \
        "Proxy-Authorization"
    return ('%s: Digest username="%s", realm="%s", nonce="%s", uri="%s", '
            'response="%s", algorithm=MD5, qop=auth, nc=00000001, '
            'cnonce="c0ffee"' % (name, user, realm, nonce, uri, resp))


def status(msg):
    m = re.match(r"SIP/2\.0 (\d{3})", msg or "")
    return int(m.group(1)) if m else None


def register(conn, user="1000", password="1234"):
    """REGISTER, answer the challenge; returns (status, last response)."""
    call_id = "reg%d-%f@test" % (_next(), time.time())
    data, uri = request(conn, "REGISTER", user, 1, call_id)
    conn.send(data)
    first = conn.final()
    if status(first) != 401:
        return status(first), first
    data, uri = request(conn, "REGISTER", user, 2, call_id,
                        digest(first, "REGISTER", uri, user, password))
    conn.send(data)
    last = conn.final()
    return status(last), last


def phone_registers(sw, transport="tls", user="1000"):
    """A correct phone from PHONE registers: the status code."""
    conn = SipConn(sw, transport, PHONE)
    try:
        return register(conn, user)[0]
    finally:
        conn.close()


def tls_attempt(sw, src, timeout=3):
    """One TLS handshake from @src: True when it completed."""
    try:
        conn = SipConn(sw, "tls", src, timeout=timeout)
    except (OSError, ssl.SSLError):
        return False
    conn.close()
    return True


def status_counts(sw):
    """`limits fired:` of sips status profile internal, by name."""
    out = sw.cli("sips status profile internal").stdout
    m = re.search(r"limits fired: (.*)", out)
    assert m, out
    return {k: int(v) for k, v in re.findall(r"([\w-]+) (\d+)", m.group(1))}


def test_tls_handshake_rate_per_source(tmp_path):
    sw = limit_switch(tmp_path, tls_handshake_rate=1, tls_handshake_burst=3,
                      limit_log_interval=2)
    sw.start()
    results = []
    stop = threading.Event()

    def flood():
        while not stop.is_set():
            results.append(tls_attempt(sw, ATTACKER, timeout=2))
            time.sleep(0.005)

    # Three at once: a refused attempt is quick, a completed one is not.
    attackers = [threading.Thread(target=flood) for _ in range(3)]
    t0 = time.time()
    for a in attackers:
        a.start()
    try:
        time.sleep(0.5)
        # While the flood runs, phones elsewhere keep registering.
        assert phone_registers(sw, "tls") == 200, sw.log()[-2000:]
        assert phone_registers(sw, "tls", "1001") == 200
        time.sleep(2.5)
        stop.set()
        for a in attackers:
            a.join(timeout=10)
        elapsed = time.time() - t0
        ok = results.count(True)
        refused = results.count(False)
        # Burst 3, then 1 a second: the rest are closed unshaken.
        assert 3 <= ok <= 3 + elapsed + 1, (ok, refused, elapsed)
        assert refused >= 15, (ok, refused)
        log = sw.log()
        assert grep(r"SB02034 profile internal: TLS connection from "
                    r"127\.0\.0\.2:\d+ closed before its handshake: source "
                    r"over tls-handshake-rate \(1/s, burst 3\)", log), log
        # Throttled: a flood of refusals is a line or two, and summaries.
        full = len(re.findall(r"SB02034 .*closed before its handshake", log))
        assert 1 <= full <= 2, log
        assert wait_for(lambda: grep(
            r"SB02034 profile internal: TLS connections closed before "
            r"their handshake \(tls-handshake-rate\): \d+ more in the last "
            r"2s", sw.log()), timeout=5), sw.log()
        assert "127.0.0.3" not in "".join(
            l for l in sw.log().splitlines() if "SB02034" in l)
        counts = status_counts(sw)
        assert 15 <= counts["tls-handshake-rate"] <= refused, (counts,
                                                                refused)
        # The source refills: a second later it may handshake again.
        time.sleep(1.1)
        assert tls_attempt(sw, ATTACKER)
    finally:
        stop.set()
        for a in attackers:
            a.join(timeout=10)
        sw.stop()


def test_connections_per_source(tmp_path):
    # A long log interval: no summary line within the test.
    sw = limit_switch(tmp_path, max_connections_per_ip=3,
                      limit_log_interval=60)
    sw.start()
    held = []
    try:
        for _ in range(3):
            held.append(SipConn(sw, "tls", ATTACKER))
        refused = 0
        for _ in range(8):
            if not tls_attempt(sw, ATTACKER):
                refused += 1
        assert refused == 8
        assert wait_for(lambda: "SB02030" in sw.log())
        log = sw.log()
        assert grep(r"SB02030 profile internal: tls connection from "
                    r"127\.0\.0\.2:\d+ refused: max-connections-per-ip "
                    r"reached", log), log
        # Eight refusals, one line (the rest go into a summary).
        assert log.count("SB02030") == 1, log
        # The held connections still work; another source is not limited.
        for c in held:
            c.send(b"\r\n\r\n")
            assert c.sock.recv(2) == b"\r\n"
        assert phone_registers(sw, "tls") == 200
        assert status_counts(sw)["max-connections"] == 8
        # A closed connection frees its place.
        held.pop().close()
        assert wait_for(lambda: tls_attempt(sw, ATTACKER), timeout=5)
    finally:
        for c in held:
            c.close()
        sw.stop()


def test_failed_auth_blocks_source(tmp_path):
    sw = limit_switch(tmp_path, auth_block_failures=5, auth_block_window=60,
                      auth_block_time=4)
    sw.start()
    try:
        attacker = SipConn(sw, "tcp", ATTACKER)
        # Wrong passwords over several users (each stays under its own
        # auth-max-failures of 3): the source as a whole is blocked.
        codes = []
        for i in range(5):
            codes.append(register(attacker, "10%02d" % (i % 3),
                                  "wrong")[0])
        assert codes[:4] == [401] * 4, codes
        assert grep(r"SB02417 profile internal: source 127\.0\.0\.2 "
                    r"blocked for 4s: 5 failed authentications within 60s",
                    sw.log()), sw.log()
        # Blocked: 403 at once, without a challenge (no digest work).
        data, _ = request(attacker, "REGISTER", "1000")
        attacker.send(data)
        resp = attacker.final()
        assert status(resp) == 403 and "Source Blocked" in resp, resp
        assert "WWW-Authenticate" not in resp, resp
        # Even the right password, and calls too.
        assert register(attacker, "1000", "1234")[0] == 403
        data, _ = request(attacker, "INVITE", "1000")
        attacker.send(data)
        assert status(attacker.final()) == 403
        # Over UDP nothing is answered.
        udp = SipConn(sw, "udp", ATTACKER)
        data, _ = request(udp, "REGISTER", "1000")
        udp.send(data)
        assert udp.recv_msg(timeout=1) is None
        # Harmless requests still pass.
        data, _ = request(udp, "OPTIONS")
        udp.send(data)
        assert status(udp.recv_msg()) == 200
        assert grep(r"SB02418 profile internal: REGISTER from "
                    r"127\.0\.0\.2:\d+ over tcp answered 403: source "
                    r"blocked for failed authentications", sw.log()), \
            sw.log()
        # The attacked user registers from its own phone meanwhile.
        assert phone_registers(sw, "tls", "1000") == 200
        assert phone_registers(sw, "udp", "1000") == 200
        out = sw.cli("sips status profile internal").stdout
        assert re.search(r"blocked sources: 127\.0\.0\.2 \(\d+ s left\)",
                         out), out
        # The block ends on time.
        time.sleep(4.2)
        assert register(attacker, "1000", "1234")[0] == 200
        attacker.close()
        udp.close()
    finally:
        sw.stop()


def test_message_rate_per_connection(tmp_path):
    sw = limit_switch(tmp_path, max_msg_rate=5, max_msg_burst=10,
                      msg_rate_close=3, max_udp_rate=5, max_udp_burst=10)
    sw.start()
    try:
        flood = SipConn(sw, "tls", ATTACKER)
        flood.send(b"".join(request(flood, "OPTIONS")[0] for _ in range(40)))
        answers = [flood.final() for _ in range(40)]
        codes = [status(a) for a in answers]
        ok, busy = codes.count(200), codes.count(503)
        assert 10 <= ok <= 12 and ok + busy == 40, codes
        assert all(re.search(r"(?im)^Retry-After: 1\s*$", a)
                   for a in answers if status(a) == 503)
        assert grep(r"SB02035 profile internal: flow \d+ from "
                    r"127\.0\.0\.2:\d+ over max-msg-rate \(5/s, burst "
                    r"10\): request answered 503", sw.log()), sw.log()
        # A second connection of the same source has its own bucket, and
        # another phone registers while the flood goes on.
        calm = SipConn(sw, "tls", ATTACKER)
        assert phone_registers(sw, "tls") == 200
        # Twenty a second on the flooding connection, two on the calm one.
        t0 = time.time()
        closed_at = None
        next_calm = t0
        while time.time() - t0 < 8:
            try:
                flood.send(request(flood, "OPTIONS")[0])
            except OSError:
                closed_at = time.time()
                break
            if flood.closed(timeout=0.05):
                closed_at = time.time()
                break
            if time.time() >= next_calm:
                next_calm += 0.5
                calm.send(request(calm, "OPTIONS")[0])
                assert status(calm.final()) == 200
        assert closed_at and closed_at - t0 < 6, closed_at
        assert grep(r"SB02036 profile internal: flow \d+ from "
                    r"127\.0\.0\.2:\d+ closed: over max-msg-rate \(5/s\) for "
                    r"3s \(msg-rate-close\)", sw.log()), sw.log()
        calm.send(request(calm, "OPTIONS")[0])
        assert status(calm.final()) == 200
        calm.close()
        # UDP: per source, and dropped rather than answered.
        udp = SipConn(sw, "udp", OTHER)
        for _ in range(40):
            udp.send(request(udp, "OPTIONS")[0])
        got = 0
        while udp.recv_msg(timeout=1) is not None:
            got += 1
        assert 10 <= got <= 12, got
        assert grep(r"SB02037 profile internal: UDP datagram from "
                    r"127\.0\.0\.4:\d+ dropped: source over max-udp-rate",
                    sw.log()), sw.log()
        assert phone_registers(sw, "udp") == 200
        counts = status_counts(sw)
        assert counts["max-msg-rate"] >= 28 and counts["msg-rate-close"] == 1
        assert counts["max-udp-rate"] >= 28, counts
        udp.close()
    finally:
        sw.stop()


def test_slow_senders_cut(tmp_path):
    sw = limit_switch(tmp_path, msg_timeout=2, max_msg_chunks=8,
                      tls_timeout=2, limit_log_interval=3)
    sw.start()
    try:
        t0 = time.time()
        loris = []
        for _ in range(10):
            c = SipConn(sw, "tls", ATTACKER)
            c.send(request(c, "OPTIONS")[0][:60])  # never finished
            loris.append(c)
        mute = [socket.create_connection(
            ("127.0.0.1", sw.ports["internal_tls_port"]),
            source_address=(ATTACKER, 0)) for _ in range(5)]
        dribble = SipConn(sw, "tls", ATTACKER)
        msg = request(dribble, "OPTIONS")[0]
        cut = False
        try:
            for i in range(len(msg)):
                dribble.send(msg[i:i + 1])  # a TLS record per byte
                time.sleep(0.005)
        except OSError:
            cut = True
        assert cut or dribble.closed(timeout=3)
        # While they hang, a phone elsewhere registers.
        assert phone_registers(sw, "tls") == 200
        assert all(c.closed(timeout=4) for c in loris)
        assert 1.5 < time.time() - t0 < 5
        for s in mute:
            s.settimeout(4)
            assert s.recv(1) == b""
            s.close()
        log = sw.log()
        assert grep(r"SB02031 profile internal: slow sender on flow \d+ "
                    r"from 127\.0\.0\.2:\d+: message not complete after 2s "
                    r"\(msg-timeout\)", log), log
        assert grep(r"SB02032 profile internal: slow sender on flow \d+ "
                    r"from 127\.0\.0\.2:\d+: message in more than 8 pieces",
                    log), log
        assert grep(r"SB02012 profile internal: TLS handshake not finished "
                    r"within tls-timeout \(2s\)", log), log
        # Ten cut connections, one line each kind, then a summary.
        assert len(re.findall(r"SB02031 .*slow sender on flow", log)) == 1
        def summarised():
            return sum(int(n) for n in re.findall(
                r"SB02031 profile internal: slow senders cut "
                r"\(msg-timeout\): (\d+) more in the last 3s", sw.log()))
        assert wait_for(lambda: summarised() == 9, timeout=7), sw.log()
        counts = status_counts(sw)
        assert counts["msg-timeout"] == 10 and counts["tls-timeout"] == 5, \
            counts
        assert counts["max-msg-chunks"] == 1, counts
        for c in loris:
            c.close()
        dribble.close()
    finally:
        sw.stop()


def test_new_params_have_safe_defaults(tmp_path):
    """The shipped profile runs with every limit on."""
    sw = limit_switch(tmp_path)
    sw.start()
    try:
        out = sw.cli("sips status profile internal").stdout
        assert "limits fired: tls-handshake-rate 0" in out, out
        assert re.search(r"sources tracked: \d+ of 8192", out), out
        assert phone_registers(sw, "tls") == 200
        assert phone_registers(sw, "udp", "1001") == 200
    finally:
        sw.stop()
