"""Issue 3: the SIP stack over UDP, TCP and TLS against real peers."""
import os
import socket
import ssl
import subprocess
import time

import pytest

from sbtest import (Switch, Stunnel, sipp, set_param, wait_for, grep,
                    make_pki, free_port, gentls)


@pytest.fixture
def switch(tmp_path):
    sw = Switch(tmp_path)
    sw.make_demo_pki()
    yield sw
    sw.stop()


def cafile(sw, profile="internal"):
    return os.path.join(sw.ssl_dir(profile), "cafile.pem")


def request(method, port, transport="UDP", branch="z9hG4bKtest1",
            extra="", cseq=1, local_port=5999, body=""):
    return ("%s sip:switch@127.0.0.1:%d SIP/2.0\r\n"
            "Via: SIP/2.0/%s 127.0.0.1:%d;branch=%s;rport\r\n"
            "Max-Forwards: 70\r\n"
            "From: <sip:test@127.0.0.1>;tag=t%s\r\n"
            "To: <sip:switch@127.0.0.1>\r\n"
            "Call-ID: %s@test\r\n"
            "CSeq: %d %s\r\n"
            "%s"
            "Content-Length: %d\r\n\r\n%s"
            % (method, port, transport, local_port, branch, branch, branch,
               cseq, method, extra, len(body), body)).encode()


def test_options_200_over_udp_tcp_tls(switch, tmp_path):
    switch.start()
    port = switch.ports["internal_sip_port"]
    code, out = sipp("options_uac.xml", port, "u1")
    assert code == 0, out
    code, out = sipp("options_uac.xml", port, "t1")
    assert code == 0, out
    tunnel = Stunnel(tmp_path, switch.ports["internal_tls_port"],
                     cafile(switch))
    try:
        code, out = sipp("options_uac.xml", tunnel.port, "t1", calls=5)
        assert code == 0, out + tunnel.log()
    finally:
        tunnel.close()
    assert grep(r"SB02010 profile internal: TLS handshake ok", switch.log())


def test_unknown_method_405_with_allow(switch):
    switch.start()
    code, out = sipp("method_405.xml", switch.ports["internal_sip_port"],
                     "u1")
    assert code == 0, out


def udp_exchange(port, data, wait=1.0, until=None):
    """Send one datagram, collect (time, text) of replies for @wait s."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    s.settimeout(0.05)
    t0 = time.time()
    s.sendto(data, ("127.0.0.1", port))
    replies = []
    while time.time() - t0 < wait:
        try:
            msg, _ = s.recvfrom(65536)
        except socket.timeout:
            continue
        replies.append((time.time() - t0, msg.decode(errors="replace")))
        if until and until(replies):
            break
    s.close()
    return replies


def test_malformed_request_gets_400(switch):
    switch.start()
    port = switch.ports["internal_sip_port"]
    bad = request("OPTIONS", port).replace(b"CSeq: 1 OPTIONS",
                                           b"CSeq: x OPTIONS")
    replies = udp_exchange(port, bad, wait=2,
                           until=lambda r: len(r) >= 1)
    assert replies and replies[0][1].startswith("SIP/2.0 400"), replies
    mismatch = request("OPTIONS", port).replace(b"CSeq: 1 OPTIONS",
                                                b"CSeq: 1 INVITE")
    replies = udp_exchange(port, mismatch, wait=2,
                           until=lambda r: len(r) >= 1)
    assert replies and replies[0][1].startswith("SIP/2.0 400"), replies
    assert grep(r"SB02201 profile internal: malformed message", switch.log())


def test_rport_received_in_response(switch):
    switch.start()
    port = switch.ports["internal_sip_port"]
    replies = udp_exchange(port, request("OPTIONS", port), wait=2,
                           until=lambda r: len(r) >= 1)
    assert replies, "no answer"
    text = replies[0][1]
    assert text.startswith("SIP/2.0 200"), text
    via = [l for l in text.split("\r\n") if l.lower().startswith("via:")][0]
    assert ";rport=" in via and not via.rstrip().endswith(";rport"), via


def test_invite_final_retransmitted_on_timer_g(tmp_path):
    sw = Switch(tmp_path)
    sw.make_demo_pki()
    set_param(sw, "internal", "timer-T1", "100")
    set_param(sw, "internal", "timer-T2", "400")
    sw.start()
    try:
        port = sw.ports["internal_sip_port"]
        replies = udp_exchange(port, request("INVITE", port,
                                             branch="z9hG4bKinv1"),
                               wait=8)
        # The call is refused (407 for auth-calls, or 400): a final
        # non-2xx, retransmitted by the INVITE server transaction.
        finals = [t for t, m in replies if m.startswith("SIP/2.0 4")]
        # G: T1, 2T1, 4T1, then T2 until H = 64*T1 (6.4 s).
        assert len(finals) >= 10, replies
        gaps = [b - a for a, b in zip(finals, finals[1:])]
        expect = [0.1, 0.2, 0.4, 0.4, 0.4]
        for got, want in zip(gaps, expect):
            assert abs(got - want) < 0.08, gaps
        assert finals[-1] < 6.4 + 0.3, finals
        # An ACK stops the retransmissions.
        replies = udp_exchange(port, request("INVITE", port,
                                             branch="z9hG4bKinv2"),
                               wait=0.15)
        assert replies
        to = [l for l in replies[-1][1].split("\r\n")
              if l.lower().startswith("to:")][0]
        ack = request("ACK", port, branch="z9hG4bKinv2").replace(
            b"To: <sip:switch@127.0.0.1>", to.encode()).replace(
            b"CSeq: 1 ACK", b"CSeq: 1 ACK")
        replies = udp_exchange(port, ack, wait=1.5)
        assert not [m for t, m in replies if m.startswith("SIP/2.0 4")]
    finally:
        sw.stop()


def tls_connect(sw, profile="internal"):
    ctx = ssl.create_default_context(cafile=cafile(sw, profile))
    raw = socket.create_connection(
        ("127.0.0.1", sw.ports[profile + "_tls_port"]), timeout=5)
    return ctx.wrap_socket(raw, server_hostname="localhost")


def read_response(s, timeout=5):
    s.settimeout(timeout)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(4096)
        if not chunk:
            break
        data += chunk
    return data.decode(errors="replace")


def test_crlf_ping_gets_pong_over_tls(switch):
    switch.start()
    s = tls_connect(switch)
    try:
        s.sendall(b"\r\n\r\n")
        s.settimeout(3)
        assert s.recv(16) == b"\r\n"
        # The connection still carries SIP afterwards.
        s.sendall(request("OPTIONS", 5061, "TLS"))
        assert read_response(s).startswith("SIP/2.0 200")
    finally:
        s.close()


def test_byte_by_byte_sender_cut_or_served(tmp_path):
    sw = Switch(tmp_path)
    sw.make_demo_pki()
    set_param(sw, "internal", "max-msg-chunks", "16")
    set_param(sw, "external", "max-msg-chunks", "100000")
    sw.start()
    try:
        msg = request("OPTIONS", 5061, "TLS")
        # internal: 16 pieces at most -> cut.
        s = tls_connect(sw, "internal")
        s.settimeout(5)
        cut = False
        try:
            for i in range(len(msg)):
                s.sendall(msg[i:i + 1])   # one TLS record per byte
                time.sleep(0.002)
            cut = s.recv(100) == b""
        except (ConnectionError, ssl.SSLError, OSError):
            cut = True
        s.close()
        assert cut
        assert wait_for(lambda: "SB02032" in sw.log()), sw.log()
        # external: generous limit -> served.
        s = tls_connect(sw, "external")
        for i in range(len(msg)):
            s.sendall(msg[i:i + 1])
        assert read_response(s).startswith("SIP/2.0 200")
        s.close()
    finally:
        sw.stop()


def test_tcp_without_handshake_dropped_after_tls_timeout(tmp_path):
    sw = Switch(tmp_path)
    sw.make_demo_pki()
    set_param(sw, "internal", "tls-timeout", "1")
    sw.start()
    try:
        s = socket.create_connection(
            ("127.0.0.1", sw.ports["internal_tls_port"]))
        s.settimeout(5)
        t0 = time.time()
        assert s.recv(1) == b""
        assert 0.8 < time.time() - t0 < 3
        assert wait_for(lambda: "SB02012" in sw.log())
    finally:
        sw.stop()


def test_connection_limit_per_ip(tmp_path):
    sw = Switch(tmp_path)
    sw.make_demo_pki()
    set_param(sw, "internal", "max-connections-per-ip", "2")
    sw.start()
    try:
        port = sw.ports["internal_sip_port"]
        keep = [socket.create_connection(("127.0.0.1", port))
                for _ in range(2)]
        third = socket.create_connection(("127.0.0.1", port))
        third.settimeout(5)
        assert third.recv(1) == b""
        assert wait_for(lambda: "SB02030" in sw.log())
        # The first two still work.
        keep[0].sendall(request("OPTIONS", port, "TCP"))
        assert read_response(keep[0]).startswith("SIP/2.0 200")
        for s in keep + [third]:
            s.close()
    finally:
        sw.stop()


def s_server(tmp_path, ssl_dir, pem="agent.pem"):
    """openssl s_server as a TLS peer that prints what it receives."""
    port = free_port()
    log = open(os.path.join(str(tmp_path), "s_server-%d.out" % port), "w")
    proc = subprocess.Popen(
        ["openssl", "s_server", "-accept", "127.0.0.1:%d" % port,
         "-cert", os.path.join(ssl_dir, pem), "-quiet"],
        stdin=subprocess.PIPE, stdout=log, stderr=subprocess.STDOUT)
    assert wait_for(lambda: _listening(port), timeout=10)
    return proc, port, log.name


def _listening(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


def test_ping_as_tls_client_verifies_server(tmp_path):
    sw = Switch(tmp_path)
    sw.make_demo_pki()
    set_param(sw, "external", "timer-T1", "50")
    sw.start()
    peer_dir = os.path.join(str(tmp_path), "peer")
    ext = sw.ssl_dir("external")
    try:
        # A peer certificate from the external profile's own CA.
        gentls("create_server", "-base", ext, "-cn", "trunk.test",
               "-alt", "127.0.0.1", "-out", "trunk.pem")
        gentls("create_client", "-base", ext, "-cn", "phone.test",
               "-out", "clientonly.pem")
        # 1. Name matches: handshake verified, OPTIONS reaches the peer.
        proc, port, out = s_server(tmp_path, ext, "trunk.pem")
        sw.cli("sips profile external ping sip:trunk.test:%d;"
               "transport=tls" % port, check=False)
        proc.kill()
        proc.wait()
        # trunk.test does not resolve here: use the IP SAN instead.
        proc, port, out = s_server(tmp_path, ext, "trunk.pem")
        sw.cli("sips profile external ping sip:127.0.0.1:%d;"
               "transport=tls" % port, check=False)
        assert wait_for(lambda: "OPTIONS sip:127.0.0.1" in open(out).read(),
                        timeout=5), open(out).read()
        proc.kill()
        proc.wait()
        assert grep(r"SB02010 profile external: TLS handshake ok, flow \d+ "
                    r"to 127\.0\.0\.1:%d \(we are client\)" % port,
                    sw.log()), sw.log()
        # 2. A server certificate for another name: refused.
        make_pki(peer_dir, cn="other.test", alts=("other.test",))
        proc, port, out = s_server(tmp_path, peer_dir)
        t0 = time.time()
        res = sw.cli("sips profile external ping sip:127.0.0.1:%d;"
                     "transport=tls" % port, check=False)
        # The closed flow ends the transaction at once (no Timer F wait).
        assert res.stdout.startswith("503 "), res.stdout
        assert time.time() - t0 < 2
        proc.kill()
        proc.wait()
        assert "OPTIONS" not in open(out).read()
        assert grep(r"SB02011 profile external: TLS handshake failed.*to "
                    r"127\.0\.0\.1:%d \(we are client\).*verify" % port,
                    sw.log()), sw.log()
        # 3. A client-only certificate presented by a server: refused.
        proc, port, out = s_server(tmp_path, ext, "clientonly.pem")
        sw.cli("sips profile external ping sip:127.0.0.1:%d;"
               "transport=tls" % port, check=False)
        proc.kill()
        proc.wait()
        assert "OPTIONS" not in open(out).read()
        assert grep(r"SB02011 .*127\.0\.0\.1:%d \(we are client\).*"
                    r"(purpose|unsupported)" % port, sw.log()), sw.log()
    finally:
        sw.stop()


def test_ping_udp_retransmits_on_timer_e(tmp_path):
    sw = Switch(tmp_path)
    sw.make_demo_pki()
    set_param(sw, "internal", "timer-T1", "50")
    set_param(sw, "internal", "timer-T2", "200")
    sw.start()
    try:
        silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        silent.bind(("127.0.0.1", 0))
        silent.settimeout(0.05)
        port = silent.getsockname()[1]
        cli = subprocess.Popen(
            [__import__("sbtest").CLI, "-run", sw.run_dir, "-x",
             "sips profile internal ping sip:127.0.0.1:%d" % port],
            stdout=subprocess.PIPE, text=True)
        times, t0 = [], None
        deadline = time.time() + 6
        while time.time() < deadline:
            try:
                silent.recvfrom(65536)
            except socket.timeout:
                continue
            now = time.time()
            t0 = t0 or now
            times.append(now - t0)
        out = cli.communicate(timeout=15)[0]
        assert "408" in out, out
        gaps = [b - a for a, b in zip(times, times[1:])]
        # E: T1, 2T1, then T2 (= 4T1) until F = 64*T1 = 3.2 s.
        for got, want in zip(gaps, [0.05, 0.1, 0.2, 0.2, 0.2]):
            assert abs(got - want) < 0.05, gaps
        assert 10 <= len(times) <= 20, times
        assert times[-1] < 3.3, times
    finally:
        sw.stop()
