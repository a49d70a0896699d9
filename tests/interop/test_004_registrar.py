"""Issue 4: the registrar, and requests to phones over their own flow."""
import os
import re
import subprocess
import time

import pytest

from sbtest import (Switch, Stunnel, sipp, set_param, wait_for, grep,
                    SCENARIOS, free_port, tmpdir_for_sipp)


def reg_switch(tmp_path, **params):
    sw = Switch(tmp_path)
    sw.make_demo_pki()
    # SIPp's digest code knows MD5 only.
    set_param(sw, "internal", "auth-algorithms", "MD5")
    for name, value in params.items():
        set_param(sw, "internal", name.replace("_", "-"), value)
    return sw


def register(sw, port, user="1000", password="1234", transport="u1",
             expires=3600):
    return sipp("register_auth.xml", port, transport, service=user,
                extra=("-au", user, "-ap", password,
                       "-key", "expires", str(expires)))


def bindings(sw):
    return sw.cli("show registrations").stdout


def test_register_digest_and_listing(tmp_path):
    sw = reg_switch(tmp_path)
    sw.start()
    try:
        port = sw.ports["internal_sip_port"]
        code, out = register(sw, port)
        assert code == 0, out
        listing = bindings(sw)
        assert re.search(r"^1000@127\.0\.0\.1\s+sip:1000@127\.0\.0\.1:\d+"
                         r".*\budp\b", listing, re.M), listing
        reg = sw.cli("sips status profile internal reg").stdout
        assert "1 registration(s)" in reg, reg
        assert grep(r"SB02414 registrar: 1000@127\.0\.0\.1 bound", sw.log())
        assert "1234" not in sw.log()
    finally:
        sw.stop()


def test_wrong_password_401_then_403(tmp_path):
    sw = reg_switch(tmp_path, auth_max_failures="2")
    sw.start()
    try:
        code, out = sipp("register_wrong.xml", sw.ports["internal_sip_port"],
                         "u1", service="1000",
                         extra=("-au", "1000", "-ap", "wrong"))
        assert code == 0, out
        assert sw.log().count("SB02411") == 2, sw.log()
        assert "0 registration(s)" in bindings(sw)
    finally:
        sw.stop()


def test_contact_star_removes_and_expiry_on_time(tmp_path):
    sw = reg_switch(tmp_path, reg_min_expires="1")
    sw.start()
    try:
        port = sw.ports["internal_sip_port"]
        code, out = register(sw, port, expires=2)
        assert code == 0, out
        assert "1 registration(s)" in bindings(sw)
        t0 = time.time()
        assert wait_for(lambda: "0 registration(s)" in bindings(sw),
                        timeout=6)
        assert time.time() - t0 < 4.5
        assert grep(r"SB02432 registrar: 1 binding\(s\) expired", sw.log())
        # Contact: * with Expires: 0 removes every binding of the AOR.
        for _ in range(2):
            code, out = register(sw, port, user="1001")
            assert code == 0, out
        assert "2 registration(s)" in bindings(sw) or \
            "1 registration(s)" in bindings(sw)
        code, out = sipp("unregister_all.xml", port, "u1", service="1001",
                         extra=("-au", "1001", "-ap", "1234"))
        assert code == 0, out
        assert "0 registration(s)" in bindings(sw), bindings(sw)
    finally:
        sw.stop()


def test_min_expires_423(tmp_path):
    sw = reg_switch(tmp_path)
    sw.start()
    try:
        code, out = sipp("register_423.xml", sw.ports["internal_sip_port"],
                         "u1", service="1000",
                         extra=("-au", "1000", "-ap", "1234"))
        assert code == 0, out
    finally:
        sw.stop()


def test_bindings_survive_restart(tmp_path):
    sw = reg_switch(tmp_path)
    sw.start()
    code, out = register(sw, sw.ports["internal_sip_port"], user="1005")
    assert code == 0, out
    sw.stop()
    sw.start()
    try:
        listing = bindings(sw)
        assert "1005@127.0.0.1" in listing, listing
        assert "gone (restart)" in listing or "udp" in listing, listing
        assert "SB02401" in sw.log()
    finally:
        sw.stop()


def test_requests_to_phone_ride_its_tls_flow(tmp_path):
    sw = reg_switch(tmp_path)
    sw.start()
    tunnel = Stunnel(tmp_path, sw.ports["internal_tls_port"],
                     os.path.join(sw.ssl_dir("internal"), "cafile.pem"))
    try:
        args = ["sipp", "127.0.0.1:%d" % tunnel.port, "-sf",
                os.path.join(SCENARIOS, "register_then_uas.xml"),
                "-t", "t1", "-m", "1", "-i", "127.0.0.1",
                "-p", str(free_port()), "-s", "1002", "-au", "1002",
                "-ap", "1234", "-key", "expires", "600", "-aa", "-nostdin",
                "-timeout", "30", "-timeout_error"]
        phone = subprocess.Popen(args, stdout=subprocess.PIPE,
                                 stderr=subprocess.STDOUT, text=True,
                                 cwd=tmpdir_for_sipp())
        assert wait_for(lambda: "1002@127.0.0.1" in bindings(sw),
                        timeout=10), bindings(sw)
        listing = bindings(sw)
        assert re.search(r"1002@127\.0\.0\.1 .* tls\s+\d+\s+open", listing), \
            listing
        out = sw.cli("sips profile internal options 1002@127.0.0.1").stdout
        assert out.startswith("200 "), out
        assert "over tls flow" in out, out
        out = sw.cli("sips profile internal check_sync "
                     "1002@127.0.0.1").stdout
        assert out.startswith("200 "), out
        assert phone.wait(timeout=30) == 0, phone.stdout.read()
        # The switch never opened a connection of its own.
        assert "SB02001" not in sw.log() or \
            not grep(r"SB02001 .* connecting", sw.log())
        assert not grep(r"SB02040", sw.log())
        # The phone's TLS connection is gone now: fail fast, 480.
        assert wait_for(lambda: re.search(
            r"1002@127\.0\.0\.1 .* tls\s+\d+\s+gone", bindings(sw)),
            timeout=10), bindings(sw)
        t0 = time.time()
        out = sw.cli("sips profile internal options 1002@127.0.0.1",
                     check=False).stdout
        assert out.startswith("480 "), out
        assert time.time() - t0 < 2
        assert grep(r"SB02420 registrar: 1002@127\.0\.0\.1: flow \d+ .* "
                    r"is gone", sw.log())
        assert not grep(r"connecting tls", sw.log())
    finally:
        tunnel.close()
        sw.stop()


def test_mtls_client_certificates_checked_as_server(tmp_path):
    from sbtest import s_client, gentls, make_pki
    sw = Switch(tmp_path)
    sw.make_demo_pki()
    internal = sw.ssl_dir("internal")
    gentls("create_client", "-base", internal, "-cn", "phone1",
           "-out", "phone1.pem")
    gentls("create_client", "-base", internal, "-cn", "phone2",
           "-out", "phone2.pem")
    other = os.path.join(str(tmp_path), "otherca")
    make_pki(other)
    gentls("create_client", "-base", other, "-cn", "phone1",
           "-out", "stranger.pem")
    set_param(sw, "internal", "tls-verify-policy", "subjects_in")
    set_param(sw, "internal", "tls-require-client-cert", "true")
    set_param(sw, "internal", "tls-verify-in-subjects",
              "CN=phone1,O=sipsbridge")
    sw.start()
    try:
        port = sw.ports["internal_tls_port"]
        cafile = os.path.join(internal, "cafile.pem")

        def hello(pem):
            """The CRLF pong, or "" when the switch refused us."""
            import socket
            import ssl
            ctx = ssl.create_default_context(cafile=cafile)
            ctx.check_hostname = False
            if pem:
                ctx.load_cert_chain(pem)
            try:
                raw = socket.create_connection(("127.0.0.1", port),
                                               timeout=5)
                s = ctx.wrap_socket(raw)
                s.sendall(b"\r\n\r\n")
                data = s.recv(16)
                s.close()
                return data.decode()
            except (OSError, ssl.SSLError):
                return ""

        assert "\r\n" == hello(os.path.join(internal, "phone1.pem"))[:2]
        assert hello(None) == ""
        assert hello(os.path.join(other, "stranger.pem")) == ""
        assert hello(os.path.join(internal, "phone2.pem")) == ""
        log = sw.log()
        assert grep(r"SB02013 .*client subject \"/O=sipsbridge/CN=phone2\"",
                    log), log
        assert grep(r"SB02010 profile internal: TLS handshake ok.*"
                    r"CN=phone1, verify: ok", log), log
    finally:
        sw.stop()


def _register_udp(port, auth=None, branch="z9hG4bKr1", cseq=1):
    import socket
    msg = ("REGISTER sip:127.0.0.1:%d SIP/2.0\r\n"
           "Via: SIP/2.0/UDP 127.0.0.1:5999;branch=%s;rport\r\n"
           "Max-Forwards: 70\r\n"
           "From: <sip:1003@127.0.0.1>;tag=replay\r\n"
           "To: <sip:1003@127.0.0.1>\r\n"
           "Call-ID: replay-test@127.0.0.1\r\n"
           "CSeq: %d REGISTER\r\n"
           "Contact: <sip:1003@127.0.0.1:5999>\r\n"
           "%s"
           "Content-Length: 0\r\n\r\n"
           % (port, branch, cseq,
              "Authorization: %s\r\n" % auth if auth else ""))
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(3)
    s.sendto(msg.encode(), ("127.0.0.1", port))
    data = s.recv(65536).decode()
    s.close()
    return data


def _digest_auth(port, first, uri, nc="00000001"):
    """An MD5 Authorization for user 1003 answering the 401 @first."""
    import hashlib
    chal = re.search(r'WWW-Authenticate: Digest (.*)', first).group(1)
    realm = re.search(r'realm="([^"]+)"', chal).group(1)
    nonce = re.search(r'nonce="([^"]+)"', chal).group(1)

    def md5(x):
        return hashlib.md5(x.encode()).hexdigest()

    ha1 = md5("1003:%s:1234" % realm)
    ha2 = md5("REGISTER:%s" % uri)
    resp = md5("%s:%s:%s:abc:auth:%s" % (ha1, nonce, nc, ha2))
    return ('Digest username="1003", realm="%s", nonce="%s", uri="%s", '
            'response="%s", algorithm=MD5, qop=auth, nc=%s, '
            'cnonce="abc"' % (realm, nonce, uri, resp, nc))


def test_replayed_nonce_count_refused(tmp_path):
    sw = reg_switch(tmp_path)
    sw.start()
    try:
        port = sw.ports["internal_sip_port"]
        first = _register_udp(port)
        assert first.startswith("SIP/2.0 401"), first
        auth = _digest_auth(port, first, "sip:127.0.0.1:%d" % port)
        ok = _register_udp(port, auth, branch="z9hG4bKr2", cseq=2)
        assert ok.startswith("SIP/2.0 200"), ok
        # The same nonce-count again, in a new transaction: refused.
        again = _register_udp(port, auth, branch="z9hG4bKr3", cseq=3)
        assert again.startswith("SIP/2.0 401"), again
        assert grep(r"SB02411 .*1003@127\.0\.0\.1 .*nonce-count replayed",
                    sw.log()), sw.log()
    finally:
        sw.stop()


def test_digest_uri_must_be_the_request_uri(tmp_path):
    sw = reg_switch(tmp_path)
    sw.start()
    try:
        port = sw.ports["internal_sip_port"]
        first = _register_udp(port)
        assert first.startswith("SIP/2.0 401"), first
        # A correct response, but computed over another URI.
        auth = _digest_auth(port, first, "sip:other.example.net")
        bad = _register_udp(port, auth, branch="z9hG4bKu2", cseq=2)
        assert bad.startswith("SIP/2.0 400 Digest URI Mismatch"), bad
        assert grep(r"SB02416 .*digest uri \"sip:other\.example\.net\"",
                    sw.log()), sw.log()
        assert "1003@" not in bindings(sw)
    finally:
        sw.stop()


def test_baresip_over_tls_gets_options_and_notify_on_its_flow(tmp_path):
    from sbtest import Baresip
    from sbtest import gentls
    sw = Switch(tmp_path)
    sw.make_demo_pki()
    internal = sw.ssl_dir("internal")
    gentls("create_client", "-base", internal, "-cn", "phone1004",
           "-out", "phone1004.pem")
    sw.start()
    port = sw.ports["internal_tls_port"]
    phone = Baresip(tmp_path,
                    "<sip:1004@127.0.0.1:%d;transport=tls>;auth_pass=1234;"
                    "regint=600" % port,
                    os.path.join(internal, "cafile.pem"),
                    certificate=os.path.join(internal, "phone1004.pem"))
    try:
        assert wait_for(lambda: "1004@127.0.0.1" in bindings(sw),
                        timeout=15), bindings(sw) + phone.output()
        listing = bindings(sw)
        flow = re.search(r"1004@127\.0\.0\.1 .* tls\s+(\d+)\s+open",
                         listing)
        assert flow, listing
        flow = flow.group(1)
        out = sw.cli("sips profile internal options 1004@127.0.0.1").stdout
        assert out.startswith("200 ") and "tls flow %s" % flow in out, out
        out = sw.cli("sips profile internal notify 1004@127.0.0.1",
                     check=False).stdout
        # Whatever baresip thinks of the event, it answered on the flow.
        assert re.match(r"[2-6]\d\d ", out) and not out.startswith(
            ("408", "480", "503")), out
        assert "tls flow %s" % flow in out, out
        # One TLS connection in all, and the switch opened none.
        status = sw.cli("sips status profile internal").stdout
        assert "tls 1;" in status, status
        assert not grep(r"SB02001 .*connecting", sw.log())
    finally:
        phone.close()
        sw.stop()
