"""Issue 7: hot certificate rotation and the certificate lifecycle.

New TLS clients (openssl s_client) must be shown the new certificate after
`sips profile NAME reload-tls` or SIGHUP, while a phone registered over TLS
before (baresip, SIPp behind stunnel) keeps its connection and is reached
over it. Broken files are refused and the old certificate serves on.
Certificates and CAs near expiry are logged and shown in `sips status`.
"""
import os
import re
import signal
import subprocess
import threading

import pytest

from sbtest import (Baresip, Stunnel, Switch, SCENARIOS, free_port, gentls,
                    grep, make_pki, set_param, tmpdir_for_sipp, wait_for)


# --- certificates --------------------------------------------------------

def cert_ids(pem):
    """(serial, sha256 fingerprint) of the first certificate in @pem."""
    out = subprocess.run(["openssl", "x509", "-noout", "-serial",
                          "-fingerprint", "-sha256"], input=pem,
                         capture_output=True, text=True, check=True)
    serial = re.search(r"^serial=([0-9A-F]+)$", out.stdout, re.M).group(1)
    fpr = re.search(r"Fingerprint=([0-9A-F:]+)$", out.stdout, re.M).group(1)
    return serial, fpr


def file_ids(path):
    with open(path) as f:
        return cert_ids(f.read())


def served_ids(port, cafile):
    """What a new TLS client is shown on @port, verified against @cafile."""
    out = subprocess.run(
        ["openssl", "s_client", "-connect", "127.0.0.1:%d" % port,
         "-servername", "localhost", "-verify_hostname", "localhost",
         "-CAfile", cafile, "-verify_return_error"],
        input="", capture_output=True, text=True, timeout=30)
    text = out.stdout + out.stderr
    assert out.returncode == 0, text
    assert "Verify return code: 0 (ok)" in text, text
    pem = re.search(r"-----BEGIN CERTIFICATE-----\n.*?"
                    r"-----END CERTIFICATE-----\n", out.stdout, re.S)
    assert pem, text
    return cert_ids(pem.group(0))


def new_agent(ssl_dir, days=None):
    """A new agent.pem from the same CA (a new key, a new serial)."""
    args = ["create_server", "-base", ssl_dir, "-cn", "localhost",
            "-alt", "127.0.0.1", "-alt", "localhost"]
    if days is not None:
        args += ["-days", str(days)]
    gentls(*args)
    return file_ids(os.path.join(ssl_dir, "agent.pem"))


def _ossl(*args):
    subprocess.run(["openssl", *map(str, args)], check=True,
                   capture_output=True, timeout=60)


def openssl_ca_sign(work, subj, start, end, ca=None, is_ca=False):
    """A certificate valid only from @start to @end (openssl ca): signed
    by @ca (dir holding cacert.pem, cakey.pem), or self-signed. Returns
    (cert path, key path)."""
    os.makedirs(work, exist_ok=True)
    open(os.path.join(work, "index.txt"), "w").close()
    with open(os.path.join(work, "serial"), "w") as f:
        f.write("%d\n" % (1000 + len(os.listdir(work))))
    cnf = os.path.join(work, "ca.cnf")
    with open(cnf, "w") as f:
        f.write("[ca]\ndefault_ca=d\n[d]\ndir=%s\ndatabase=$dir/index.txt\n"
                "serial=$dir/serial\nnew_certs_dir=$dir\ndefault_md=sha256\n"
                "policy=p\nunique_subject=no\nx509_extensions=x\n"
                "[p]\ncommonName=supplied\n[x]\n%s\n"
                % (work, "basicConstraints=critical,CA:TRUE" if is_ca else
                   "basicConstraints=CA:FALSE\nsubjectAltName="
                   "DNS:localhost,IP:127.0.0.1"))
    key = os.path.join(work, "key.pem")
    csr = os.path.join(work, "req.csr")
    cert = os.path.join(work, "cert.pem")
    _ossl("req", "-new", "-newkey", "ec", "-pkeyopt",
          "ec_paramgen_curve:P-256", "-nodes", "-subj", subj, "-keyout",
          key, "-out", csr)
    signer = (["-cert", os.path.join(ca, "cacert.pem"), "-keyfile",
               os.path.join(ca, "cakey.pem")] if ca else
              ["-selfsign", "-keyfile", key])
    _ossl("ca", "-batch", "-config", cnf, "-in", csr, "-out", cert,
          "-notext", "-startdate", start, "-enddate", end, *signer)
    return cert, key


def break_garbage(ssl_dir):
    with open(os.path.join(ssl_dir, "agent.pem"), "w") as f:
        f.write("-----BEGIN CERTIFICATE-----\nnot base64!\n")


def break_key_mismatch(ssl_dir):
    """agent.pem's certificate with a key that is not its own."""
    path = os.path.join(ssl_dir, "agent.pem")
    text = open(path).read()
    cert = text[:text.index("-----END CERTIFICATE-----") + 26]
    key = subprocess.run(["openssl", "genpkey", "-algorithm", "EC",
                          "-pkeyopt", "ec_paramgen_curve:P-256"],
                         capture_output=True, text=True, check=True).stdout
    with open(path, "w") as f:
        f.write(cert + key)


def break_expired(ssl_dir):
    """A leaf of the profile's own CA, valid only in January 2020."""
    cert, key = openssl_ca_sign(os.path.join(ssl_dir, "old"), "/CN=localhost",
                                "20200101000000Z", "20200201000000Z",
                                ca=os.path.join(ssl_dir, "CA"))
    with open(os.path.join(ssl_dir, "agent.pem"), "w") as f:
        f.write(open(cert).read() + open(key).read())


def add_ca(ssl_dir, pem_path):
    with open(os.path.join(ssl_dir, "cafile.pem"), "a") as f:
        f.write(open(pem_path).read())


# --- the switch and its phones --------------------------------------------

def tls_switch(tmp_path, overrides=None):
    sw = Switch(tmp_path, overrides=overrides)
    sw.make_demo_pki()
    # SIPp's digest code knows MD5 only.
    set_param(sw, "internal", "auth-algorithms", "MD5")
    return sw


def bindings(sw):
    return sw.cli("show registrations").stdout


def tls_flow(sw, user):
    m = re.search(r"%s@127\.0\.0\.1 .* tls\s+(\d+)\s+open" % user,
                  bindings(sw))
    return m.group(1) if m else None


def options_over(sw, user, flow):
    out = sw.cli("sips profile internal options %s@127.0.0.1" % user,
                 check=False).stdout
    assert out.startswith("200 "), out
    assert "tls flow %s" % flow in out, out


def status(sw):
    return sw.cli("sips status profile internal").stdout


def log_lines(sw, tag):
    return [l for l in sw.log().splitlines() if " %s " % tag in l]


def baresip_phone(sw, tmp_path, user="1004"):
    internal = sw.ssl_dir("internal")
    gentls("create_client", "-base", internal, "-cn", "phone" + user,
           "-out", "phone%s.pem" % user)
    return Baresip(tmp_path,
                   "<sip:%s@127.0.0.1:%d;transport=tls>;auth_pass=1234;"
                   "regint=600" % (user, sw.ports["internal_tls_port"]),
                   os.path.join(internal, "cafile.pem"), seconds=60,
                   certificate=os.path.join(internal, "phone%s.pem" % user))


# --- rotation ---------------------------------------------------------------

def test_reload_tls_new_clients_get_new_cert_phone_keeps_its_flow(tmp_path):
    sw = tls_switch(tmp_path)
    internal = sw.ssl_dir("internal")
    cafile = os.path.join(internal, "cafile.pem")
    port = sw.ports["internal_tls_port"]
    sw.start()
    phone = baresip_phone(sw, tmp_path)
    try:
        assert wait_for(lambda: tls_flow(sw, "1004"), timeout=20), \
            bindings(sw) + phone.output()
        flow = tls_flow(sw, "1004")
        old = file_ids(os.path.join(internal, "agent.pem"))
        assert served_ids(port, cafile) == old
        new = new_agent(internal)
        assert new != old
        # Nothing changes before it is asked for.
        assert served_ids(port, cafile) == old
        out = sw.cli("sips profile internal reload-tls").stdout
        assert "TLS reloaded" in out and "serial %s" % new[0] in out, out
        line = log_lines(sw, "SB02115")
        assert len(line) == 1 and "profile internal" in line[0], sw.log()
        assert "serial %s" % new[0] in line[0], line[0]
        assert "CN=localhost" in line[0] and "expires 20" in line[0], line[0]
        assert served_ids(port, cafile) == new
        st = status(sw)
        assert "serial: %s" % new[0] in st and "sha256: %s" % new[1] in st, st
        assert "(generation 2)" in st, st
        # The phone stays registered on its own connection, made from
        # the old context, and is reached over it.
        options_over(sw, "1004", flow)
        out = sw.cli("sips profile internal notify 1004@127.0.0.1",
                     check=False).stdout
        assert "tls flow %s" % flow in out, out
        # A second rotation frees the middle context (no connection
        # holds it) while the phone's first one stays in use.
        third = new_agent(internal)
        sw.cli("sips profile internal reload-tls")
        assert served_ids(port, cafile) == third
        options_over(sw, "1004", flow)
        assert tls_flow(sw, "1004") == flow, bindings(sw)
        assert wait_for(lambda: "tls 1;" in status(sw)), status(sw)
        assert "1004" in bindings(sw)
        assert not grep(r"SB02116", sw.log()), sw.log()
    finally:
        phone.close()
        sw.stop()   # exit 0: no leak, no use-after-free of a context


def test_sighup_rotates_every_tls_profile_sipp_phone_stays(tmp_path):
    sw = tls_switch(tmp_path)
    internal, external = sw.ssl_dir("internal"), sw.ssl_dir("external")
    cafile = os.path.join(internal, "cafile.pem")
    sw.start()
    tunnel = Stunnel(tmp_path, sw.ports["internal_tls_port"], cafile)
    phone = None
    try:
        args = ["sipp", "127.0.0.1:%d" % tunnel.port, "-sf",
                os.path.join(SCENARIOS, "register_then_uas.xml"),
                "-t", "t1", "-m", "1", "-i", "127.0.0.1",
                "-p", str(free_port()), "-s", "1002", "-au", "1002",
                "-ap", "1234", "-key", "expires", "600", "-aa", "-nostdin",
                "-timeout", "40", "-timeout_error"]
        phone = subprocess.Popen(args, stdout=subprocess.PIPE,
                                 stderr=subprocess.STDOUT, text=True,
                                 cwd=tmpdir_for_sipp())
        assert wait_for(lambda: tls_flow(sw, "1002"), timeout=10), \
            bindings(sw)
        flow = tls_flow(sw, "1002")
        new_int = new_agent(internal)
        new_ext = new_agent(external)
        sw.proc.send_signal(signal.SIGHUP)
        assert wait_for(lambda: len(log_lines(sw, "SB02115")) == 2,
                        timeout=10), sw.log()
        assert served_ids(sw.ports["internal_tls_port"], cafile) == new_int
        assert served_ids(sw.ports["external_tls_port"],
                          os.path.join(external, "cafile.pem")) == new_ext
        # The stunnel connection predates the reload: still the flow.
        options_over(sw, "1002", flow)
        code = phone.wait(timeout=40)
        assert code == 0, phone.stdout.read()
    finally:
        if phone and phone.poll() is None:
            phone.kill()
            phone.wait()
        tunnel.close()
        sw.stop()


def test_new_outbound_connection_presents_the_new_cert(tmp_path):
    """A trunk connection opened after the reload uses the new context
    (the switch's client certificate is its agent.pem)."""
    sw = tls_switch(tmp_path)
    internal = sw.ssl_dir("internal")
    agent = os.path.join(internal, "agent.pem")
    cafile = os.path.join(internal, "cafile.pem")
    sw.start()

    def client_cert_seen_by_server():
        port = free_port()
        # The server certificate is the profile's own (same CA, SANs).
        server = subprocess.Popen(
            ["openssl", "s_server", "-accept", "127.0.0.1:%d" % port,
             "-cert", agent, "-key", agent, "-CAfile", cafile,
             "-Verify", "2", "-naccept", "1"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True)
        try:
            # Not probed with a connection: it accepts only one.
            assert "ACCEPT" in _read_until(server, "ACCEPT", 10)
            ping = threading.Thread(target=sw.cli, args=(
                "sips profile internal ping sips:127.0.0.1:%d" % port,),
                kwargs={"check": False})
            ping.start()
            out = _read_until(server, "-----END CERTIFICATE-----", 20)
        finally:
            server.kill()
            server.wait()
        ping.join(timeout=60)
        pem = re.search(r"-----BEGIN CERTIFICATE-----\n.*?"
                        r"-----END CERTIFICATE-----\n", out, re.S)
        assert pem, out
        return cert_ids(pem.group(0))

    try:
        old = file_ids(agent)
        assert client_cert_seen_by_server() == old
        new = new_agent(internal)
        assert "TLS reloaded" in sw.cli(
            "sips profile internal reload-tls").stdout
        assert client_cert_seen_by_server() == new
    finally:
        sw.stop()


def _read_until(proc, marker, timeout):
    """Lines of @proc's output until one holds @marker (or the time is up)."""
    lines = []
    timer = threading.Timer(timeout, proc.kill)
    timer.start()
    try:
        for line in proc.stdout:
            lines.append(line)
            if marker in line:
                break
    finally:
        timer.cancel()
    return "".join(lines)


@pytest.mark.parametrize("breakage,cause", [
    (break_garbage, r"agent\.pem: no usable certificate: bad end line"),
    (break_key_mismatch,
     r"agent\.pem: the private key does not match the certificate"),
    (break_expired, r"agent\.pem: certificate \".*\" expired on 2020-02-01"),
])
def test_broken_new_agent_pem_refused_old_cert_serves(tmp_path, breakage,
                                                      cause):
    sw = tls_switch(tmp_path)
    internal = sw.ssl_dir("internal")
    cafile = os.path.join(internal, "cafile.pem")
    port = sw.ports["internal_tls_port"]
    sw.start()
    try:
        old = served_ids(port, cafile)
        breakage(internal)
        out = sw.cli("sips profile internal reload-tls", check=False)
        assert out.returncode != 0, out.stdout
        assert "reload-tls refused" in out.stdout, out.stdout
        assert grep(cause, out.stdout), out.stdout
        assert internal in out.stdout, out.stdout
        assert "certificate in service stays" in out.stdout, out.stdout
        lines = log_lines(sw, "SB02116")
        assert len(lines) == 1 and "[ERR]" in lines[0], sw.log()
        assert "profile internal" in lines[0] and grep(cause, lines[0]), \
            lines[0]
        assert not log_lines(sw, "SB02115"), sw.log()
        assert served_ids(port, cafile) == old
        st = status(sw)
        assert "serial: %s" % old[0] in st and "(generation 1)" in st, st
        # SIGHUP meets the same file: refused again, still served.
        sw.proc.send_signal(signal.SIGHUP)
        assert wait_for(lambda: len(log_lines(sw, "SB02116")) == 2,
                        timeout=10), sw.log()
        assert served_ids(port, cafile) == old
        # A good file afterwards is taken.
        new = new_agent(internal)
        sw.cli("sips profile internal reload-tls")
        assert served_ids(port, cafile) == new
    finally:
        sw.stop()


def test_reload_tls_of_unknown_or_plain_profile(tmp_path):
    sw = tls_switch(tmp_path)
    sw.start()
    try:
        out = sw.cli("sips profile nosuch reload-tls", check=False)
        assert out.returncode != 0 and "no such profile" in out.stdout, \
            out.stdout
        sw.cli("sips profile external stop")
        out = sw.cli("sips profile external reload-tls", check=False)
        assert out.returncode != 0 and "not running" in out.stdout, \
            out.stdout
    finally:
        sw.stop()


# --- lifecycle ---------------------------------------------------------------

def _short_ca(tmp_path, days):
    base = os.path.join(str(tmp_path), "short-ca")
    gentls("setup", "-base", base, "-cn", "short-lived CA", "-days",
           str(days))
    return os.path.join(base, "cafile.pem")


def test_expiry_warnings_at_start_status_and_after_reload(tmp_path):
    sw = Switch(tmp_path)
    internal, external = sw.ssl_dir("internal"), sw.ssl_dir("external")
    make_pki(internal, days=10)
    make_pki(external)
    add_ca(internal, _short_ca(tmp_path, 5))
    sw.start()
    try:
        warn = log_lines(sw, "SB02110")
        assert len(warn) == 1, sw.log()
        assert "[WARNING]" in warn[0], warn[0]
        assert grep(r"profile internal: certificate \"CN=localhost,"
                    r"O=sipsbridge\" in \S+/agent\.pem expires in (9|10) "
                    r"days \(.*\), within 14 days", warn[0]), warn[0]
        err = log_lines(sw, "SB02113")
        assert len(err) == 1 and "[ERR]" in err[0], sw.log()
        assert grep(r"profile internal: CA certificate \"CN=short-lived CA,"
                    r"O=sipsbridge\" in \S+/cafile\.pem expires in (4|5) "
                    r"days .*within 7 days", err[0]), err[0]
        assert "profile external" not in " ".join(
            log_lines(sw, "SB02110") + log_lines(sw, "SB02113")), sw.log()
        st = sw.cli("sips status").stdout
        assert grep(r"expires: .* \((9|10) days\) WARNING: renew soon "
                    r"\(within 14 days\)", st), st
        assert grep(r"CA: CN=short-lived CA,O=sipsbridge, expires: .* "
                    r"\((4|5) days\) ERROR: expires within 7 days", st), st
        assert "cafile: %s/cafile.pem, 2 CA(s)" % internal in st, st
        # The check runs again after reload-tls: same files, same lines.
        sw.cli("sips profile internal reload-tls")
        assert len(log_lines(sw, "SB02110")) == 2, sw.log()
        assert len(log_lines(sw, "SB02113")) == 2, sw.log()
        # Renewed files: nothing more to say, status is clean.
        new_agent(internal)
        ca_only = open(os.path.join(internal, "CA", "cacert.pem")).read()
        with open(os.path.join(internal, "cafile.pem"), "w") as f:
            f.write(ca_only)
        sw.cli("sips profile internal reload-tls")
        assert len(log_lines(sw, "SB02110")) == 2, sw.log()
        assert len(log_lines(sw, "SB02113")) == 2, sw.log()
        st = status(sw)
        assert "WARNING" not in st and "ERROR" not in st, st
        assert "1 CA(s)" in st, st
    finally:
        sw.stop()


def test_expired_ca_reported_by_the_periodic_check(tmp_path):
    # cert_check_interval (vars.xml, seconds; a day by default).
    sw = Switch(tmp_path, overrides={"cert_check_interval": "1"})
    sw.make_demo_pki()
    internal = sw.ssl_dir("internal")
    cert, _ = openssl_ca_sign(os.path.join(str(tmp_path), "oldca"),
                              "/CN=retired CA", "20200101000000Z",
                              "20200201000000Z", is_ca=True)
    add_ca(internal, cert)
    sw.start()
    try:
        lines = log_lines(sw, "SB02114")
        assert len(lines) >= 1 and "[ERR]" in lines[0], sw.log()
        assert grep(r"profile internal: CA certificate \"CN=retired CA\" "
                    r"in \S+/cafile\.pem expired \d+ day\(s\) ago "
                    r"\(2020-02-01 00:00:00 UTC\)", lines[0]), lines[0]
        # Then on every tick of the check, not just at start.
        assert wait_for(lambda: len(log_lines(sw, "SB02114")) >= 3,
                        timeout=15), sw.log()
        st = status(sw)
        assert grep(r"CA: CN=retired CA, expires: 2020-02-01 .* ERROR: "
                    r"expired", st), st
    finally:
        sw.stop()


def test_gentls_cert_check_days_with_several_cas(tmp_path):
    base = os.path.join(str(tmp_path), "ssl")
    make_pki(base, days=10)
    add_ca(base, _short_ca(tmp_path, 5))
    cafile = os.path.join(base, "cafile.pem")
    agent = os.path.join(base, "agent.pem")
    # The leaf alone: within 30 days fails, within 8 passes.
    r = gentls("check", "-base", base, "-days", "30", agent, check=False)
    assert r.returncode != 0 and "expires within 30 days" in r.stderr, \
        r.stderr
    # The cafile: both CAs listed, the short one fails -days 8.
    r = gentls("check", "-base", base, cafile, check=False)
    assert r.returncode == 0, r.stderr
    assert "CA 1:" in r.stdout and "CA 2:" in r.stdout, r.stdout
    assert "2 CA certificate(s)" in r.stdout, r.stdout
    r = gentls("check", "-base", base, "-days", "8", cafile, check=False)
    assert r.returncode != 0, r.stdout
    assert 'CA "CN=short-lived CA,O=sipsbridge" expires within 8 days' in \
        r.stderr, r.stderr
    assert "CN=test CA" not in r.stderr, r.stderr
    # The profile dir as a whole: agent.pem passes -days 8, its cafile
    # does not.
    r = gentls("check", "-base", base, "-days", "8", check=False)
    assert r.returncode != 0 and "short-lived CA" in r.stderr, r.stderr
    r = gentls("check", "-base", base, "-days", "3", check=False)
    assert r.returncode == 0, r.stderr
    # An expired CA is named as such.
    old, _ = openssl_ca_sign(os.path.join(str(tmp_path), "oldca"),
                             "/CN=retired CA", "20200101000000Z",
                             "20200201000000Z", is_ca=True)
    add_ca(base, old)
    r = gentls("check", "-base", base, cafile, check=False)
    assert r.returncode != 0 and 'CA "CN=retired CA" has expired' in \
        r.stderr, r.stderr
