"""Issue 2: the installed daemon serves TLS per profile, reports bad input."""
import os
import shutil
import signal
import socket
import subprocess

import pytest

from sbtest import (Switch, make_pki, s_client, wait_for, grep, gentls,
                    free_port)


def shipped_switch(tmp_path):
    """The shipped config as installed, own run/log dirs, demo PKI."""
    sw = Switch(tmp_path, shipped_ports=True)
    sw.make_demo_pki()
    return sw


def test_shipped_config_tls13_on_both_profiles(tmp_path):
    sw = shipped_switch(tmp_path)
    ip = sw.var("local_ip_v4")
    sw.start()
    try:
        for profile, port in (("internal", 5061), ("external", 5081)):
            cafile = os.path.join(sw.ssl_dir(profile), "cafile.pem")
            code, out = s_client(port, host=ip, cafile=cafile,
                                 servername="localhost")
            assert code == 0, out
            assert "Protocol version: TLSv1.3" in out, out
            assert "Verification: OK" in out, out
            # The wrong host name must fail verification.
            code, out = s_client(port, host=ip, cafile=cafile,
                                 servername="wrong.example")
            assert code != 0, out
        assert grep(r"SB02010 profile internal: TLS handshake ok", sw.log())
    finally:
        sw.stop()


def test_tls11_refused_tls12_accepted(tmp_path):
    sw = Switch(tmp_path)
    sw.make_demo_pki()
    sw.start()
    try:
        port = sw.ports["internal_tls_port"]
        cafile = os.path.join(sw.ssl_dir("internal"), "cafile.pem")
        # The client is made willing to speak TLS 1.1: the refusal is ours.
        legacy = ("-cipher", "DEFAULT@SECLEVEL=0")
        code, out = s_client(port, cafile=cafile, version="-tls1_1",
                             extra=legacy)
        assert code != 0, out
        assert "protocol version" in out or "unsupported protocol" in out, out
        code, out = s_client(port, cafile=cafile, version="-tls1_2",
                             servername="localhost")
        assert code == 0, out
        assert "Protocol version: TLSv1.2" in out
        assert "ECDHE" in out and "GCM" in out or "CHACHA20" in out, out
        assert wait_for(lambda: "SB02011" in sw.log())
    finally:
        sw.stop()


def corrupt_garbage(ssl_dir):
    with open(os.path.join(ssl_dir, "agent.pem"), "w") as f:
        f.write("-----BEGIN CERTIFICATE-----\nnot base64!\n")


def corrupt_missing(ssl_dir):
    os.unlink(os.path.join(ssl_dir, "agent.pem"))


def corrupt_key_mismatch(ssl_dir):
    """The certificate of agent.pem with the key of another one."""
    other = os.path.join(ssl_dir, "other")
    make_pki(other)
    agent = open(os.path.join(ssl_dir, "agent.pem")).read()
    theirs = open(os.path.join(other, "agent.pem")).read()
    cert = agent[:agent.index("-----END CERTIFICATE-----") + 26]
    key_start = theirs.index("-----BEGIN PRIVATE KEY-----")
    key = theirs[key_start:theirs.index("-----END PRIVATE KEY-----") + 26]
    with open(os.path.join(ssl_dir, "agent.pem"), "w") as f:
        f.write(cert + key)


def corrupt_encrypted_key(ssl_dir):
    path = os.path.join(ssl_dir, "agent.pem")
    text = open(path).read()
    start = text.index("-----BEGIN PRIVATE KEY-----")
    end = text.index("-----END PRIVATE KEY-----") + 26
    enc = subprocess.run(
        ["openssl", "pkey", "-aes256", "-passout", "pass:secret"],
        input=text[start:end], capture_output=True, text=True, check=True)
    with open(path, "w") as f:
        f.write(text[:start] + enc.stdout + text[end:])


@pytest.mark.parametrize("breakage,cause", [
    (corrupt_garbage, r"no usable certificate"),
    (corrupt_missing, r"cannot read .*agent\.pem: No such file"),
    (corrupt_key_mismatch, r"private key does not match the certificate"),
    (corrupt_encrypted_key, r"private key is encrypted and tls-passphrase "
                            r"is empty"),
])
def test_broken_agent_pem_reported_other_profile_serves(tmp_path, breakage,
                                                        cause):
    sw = Switch(tmp_path)
    sw.make_demo_pki()
    breakage(sw.ssl_dir("external"))
    sw.start()
    try:
        log = sw.log()
        lines = [l for l in log.splitlines() if "SB02101" in l]
        assert len(lines) == 1, log
        assert "profile external" in lines[0], lines[0]
        assert "agent.pem" in lines[0], lines[0]
        assert grep(cause, lines[0]), lines[0]
        # The internal profile serves TLS.
        cafile = os.path.join(sw.ssl_dir("internal"), "cafile.pem")
        code, out = s_client(sw.ports["internal_tls_port"], cafile=cafile,
                             servername="localhost")
        assert code == 0, out
        # The external one does not listen at all.
        with pytest.raises(OSError):
            socket.create_connection(
                ("127.0.0.1", sw.ports["external_tls_port"]), timeout=2)
        status = sw.cli("sips status").stdout
        assert "profile external: DOWN" in status, status
        assert "profile internal: RUNNING" in status, status
    finally:
        sw.stop()


def test_encrypted_key_with_passphrase_starts(tmp_path):
    sw = Switch(tmp_path)
    sw.make_demo_pki()
    corrupt_encrypted_key(sw.ssl_dir("external"))
    path = os.path.join(sw.conf, "sip_profiles", "external.xml")
    text = open(path).read().replace(
        '<param name="tls-passphrase" value=""/>',
        '<param name="tls-passphrase" value="secret"/>')
    open(path, "w").write(text)
    sw.start()
    try:
        cafile = os.path.join(sw.ssl_dir("external"), "cafile.pem")
        code, out = s_client(sw.ports["external_tls_port"], cafile=cafile,
                             servername="localhost")
        assert code == 0, out
        assert "secret" not in sw.log()
    finally:
        sw.stop()


def test_expired_and_expiring_certificates(tmp_path):
    sw = Switch(tmp_path)
    internal, external = sw.ssl_dir("internal"), sw.ssl_dir("external")
    make_pki(internal, days=10)     # expires soon: warned, serves
    make_pki(external)
    # An expired leaf for external, signed by its CA, dates in the past.
    _expired_with_openssl_ca(external)
    cert_path = os.path.join(external, "c.pem")
    with open(os.path.join(external, "agent.pem"), "w") as f:
        f.write(open(cert_path).read() +
                open(os.path.join(external, "k.pem")).read())
    sw.start()
    try:
        log = sw.log()
        assert grep(r"SB02101 profile external .*expired on 2020-02-01",
                    log), log
        assert grep(r"SB02110 profile internal: certificate .* expires in "
                    r"(9|10) days", log), log
        status = sw.cli("sips status profile internal").stdout
        assert "WARNING: renew soon" in status, status
    finally:
        sw.stop()


def _expired_with_openssl_ca(ssl_dir):
    ca = os.path.join(ssl_dir, "CA")
    work = os.path.join(ssl_dir, "expired-ca")
    os.makedirs(work, exist_ok=True)
    open(os.path.join(work, "index.txt"), "w").close()
    with open(os.path.join(work, "serial"), "w") as f:
        f.write("1000\n")
    cnf = os.path.join(work, "ca.cnf")
    with open(cnf, "w") as f:
        f.write("[ca]\ndefault_ca=d\n[d]\ndir=%s\ndatabase=$dir/index.txt\n"
                "serial=$dir/serial\nnew_certs_dir=$dir\n"
                "default_md=sha256\npolicy=p\nunique_subject=no\n"
                "[p]\ncommonName=supplied\n" % work)
    csr = os.path.join(work, "req.csr")
    subprocess.run(["openssl", "req", "-new", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-subj",
                    "/CN=localhost", "-keyout",
                    os.path.join(ssl_dir, "k.pem"), "-out", csr],
                   check=True, capture_output=True)
    subprocess.run(["openssl", "ca", "-batch", "-config", cnf, "-in", csr,
                    "-out", os.path.join(ssl_dir, "c.pem"), "-notext",
                    "-cert", os.path.join(ca, "cacert.pem"),
                    "-keyfile", os.path.join(ca, "cakey.pem"),
                    "-startdate", "20200101000000Z",
                    "-enddate", "20200201000000Z"],
                   check=True, capture_output=True)


def test_port_in_use_fails_only_that_profile(tmp_path):
    sw = Switch(tmp_path)
    sw.make_demo_pki()
    blocker = socket.socket()
    blocker.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    blocker.bind(("127.0.0.1", sw.ports["external_tls_port"]))
    blocker.listen()
    try:
        sw.start()
        line = [l for l in sw.log().splitlines() if "SB02101" in l]
        assert len(line) == 1 and "profile external" in line[0], sw.log()
        assert "cannot bind tls 127.0.0.1:%d" % sw.ports[
            "external_tls_port"] in line[0], line[0]
        assert "in use" in line[0], line[0]
        # The UDP/TCP port of external was released again.
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("127.0.0.1", sw.ports["external_sip_port"]))
        s.close()
    finally:
        blocker.close()
        sw.stop()


def test_nothing_starts_exit_nonzero(tmp_path):
    sw = Switch(tmp_path)
    sw.make_demo_pki()
    corrupt_garbage(sw.ssl_dir("internal"))
    corrupt_missing(sw.ssl_dir("external"))
    sw.start(expect_ready=False)
    code = sw.wait_exit()
    assert code != 0
    log = sw.log()
    assert log.count("SB02101") == 2, log
    assert "SB02108 mod_sips: no profile started" in log, log


def test_unknown_param_warned_bad_value_named(tmp_path):
    sw = Switch(tmp_path)
    sw.make_demo_pki()
    path = os.path.join(sw.conf, "sip_profiles", "internal.xml")
    text = open(path).read().replace(
        "<settings>", '<settings>\n    <param name="tls-frobnicate" '
        'value="1"/>')
    open(path, "w").write(text)
    path = os.path.join(sw.conf, "sip_profiles", "external.xml")
    text = open(path).read().replace('value="$${sip_tls_version}"',
                                     'value="tlsv1.2,tlsv1.4"')
    open(path, "w").write(text)
    sw.start()
    try:
        log = sw.log()
        assert grep(r"SB02103 .*internal\.xml:4: profile internal: unknown "
                    r"param \"tls-frobnicate\"", log), log
        assert grep(r"SB02101 profile external .*external\.xml:\d+: param "
                    r"\"tls-version\": unknown token \"tlsv1.4\"", log), log
    finally:
        sw.stop()


def test_malformed_xml_named_with_file_line(tmp_path):
    sw = Switch(tmp_path)
    path = os.path.join(sw.conf, "dialplan", "public.xml")
    with open(path, "a") as f:
        f.write("<oops>\n")
    sw.start(expect_ready=False)
    assert sw.wait_exit() != 0
    # libxml2 sees the unclosed <oops> where </section> comes; the line
    # map names the original file and line of both.
    assert grep(r"SB00101 config: .*sipsbridge\.xml:\d+: .*oops "
                r".*dialplan/public\.xml:\d+", sw.log()), sw.log()


def test_control_status_reload_shutdown(tmp_path):
    sw = Switch(tmp_path)
    sw.make_demo_pki()
    sw.start()
    status = sw.cli("status").stdout
    assert "UP 0 days" in status and "worker threads" in status, status
    out = sw.cli("sips status").stdout
    assert "profile internal: RUNNING" in out
    assert "SANs: DNS:localhost, IP:127.0.0.1" in out or \
        "IP:127.0.0.1" in out, out
    assert grep(r"expires: \d{4}-\d\d-\d\d .* \(\d+ days\)", out), out
    assert "binds: udp 127.0.0.1:%d" % sw.ports["internal_sip_port"] in out
    bad = sw.cli("no such command", check=False)
    assert bad.returncode == 1 and "unknown command" in bad.stdout + \
        bad.stderr
    # reloadxml with a broken file keeps the old tree and says where.
    path = os.path.join(sw.conf, "vars.xml")
    good = open(path).read()
    open(path, "w").write(good.replace("</include>", "<broken></include>"))
    out = sw.cli("reloadxml", check=False)
    assert out.returncode == 1 and "vars.xml" in out.stdout, out.stdout
    open(path, "w").write(good)
    assert "reloaded" in sw.cli("reloadxml").stdout
    # SIGHUP reloads too.
    sw.proc.send_signal(signal.SIGHUP)
    assert wait_for(lambda: sw.log().count("SB00104") >= 2)
    sw.cli("shutdown")
    assert sw.wait_exit() == 0
    assert "SB00007 sipsbridge stopped" in sw.log()


def test_cli_without_daemon_says_why(tmp_path):
    out = subprocess.run([os.path.join(os.path.dirname(
        __import__("sbtest").SIPSBRIDGE), "sipsbridge"), "-run",
        str(tmp_path), "-x", "status"], capture_output=True, text=True)
    assert out.returncode == 2
    assert "sipsbridge.sock" in out.stderr


def test_tls_handshake_timeout(tmp_path):
    sw = Switch(tmp_path)
    sw.make_demo_pki()
    path = os.path.join(sw.conf, "sip_profiles", "internal.xml")
    text = open(path).read().replace('name="tls-timeout" value="10"',
                                     'name="tls-timeout" value="1"')
    open(path, "w").write(text)
    sw.start()
    try:
        s = socket.create_connection(
            ("127.0.0.1", sw.ports["internal_tls_port"]))
        s.settimeout(5)
        # We never start the handshake: the switch hangs up after 1 s.
        assert s.recv(1) == b""
        s.close()
        assert wait_for(lambda: "SB02012" in sw.log())
    finally:
        sw.stop()
