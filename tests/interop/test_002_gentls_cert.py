"""scripts/gentls_cert makes a PKI that the real openssl CLI accepts.

Each test builds its own PKI in a fresh -base dir and judges the result with
openssl itself (verify, x509, pkey, s_server/s_client), never with the
script's own output alone.
"""
import base64
import os
import pathlib
import re
import socket
import stat
import subprocess
import time

import pytest

HERE = pathlib.Path(__file__).resolve().parent


def _gentls_path():
    """The installed script under `make check`, the source one otherwise."""
    destdir = os.environ.get("SB_DESTDIR")
    if destdir and os.environ.get("SB_BINDIR"):
        return destdir + os.environ["SB_BINDIR"] + "/gentls_cert"
    return str(HERE.parents[1] / "scripts" / "gentls_cert")


GENTLS = _gentls_path()
SERVER_CN = "sip.example.test"


def gentls(*args, umask=None):
    """Runs gentls_cert; returns the CompletedProcess (never raises)."""
    def preexec():
        if umask is not None:
            os.umask(umask)
    return subprocess.run([GENTLS, *map(str, args)], capture_output=True,
                          text=True, timeout=120, preexec_fn=preexec)


def ok(*args, **kw):
    r = gentls(*args, **kw)
    assert r.returncode == 0, (args, r.stdout, r.stderr)
    return r


def ossl(*args, check=True, input=None):
    r = subprocess.run(["openssl", *map(str, args)], capture_output=True,
                       text=True, timeout=60, input=input)
    if check:
        assert r.returncode == 0, (args, r.stdout, r.stderr)
    return r


def x509_text(path):
    return ossl("x509", "-in", path, "-noout", "-text").stdout


def ext(path, name):
    """The body of one extension as openssl prints it, lines joined."""
    out = ossl("x509", "-in", path, "-noout", "-ext", name).stdout
    lines = out.splitlines()
    return lines[0], " ".join(x.strip() for x in lines[1:])


def pem_blocks(path):
    text = pathlib.Path(path).read_text()
    return re.findall(r"-----BEGIN ([A-Z ]+)-----\n.*?-----END \1-----\n",
                      text, re.S), text


def mode_of(path):
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture
def pki(tmp_dir):
    """A CA plus the server agent.pem of the issue's example."""
    base = tmp_dir / "ssl"
    ok("setup", "-base", base)
    ok("create_server", "-base", base, "-cn", SERVER_CN,
       "-alt", "127.0.0.1", "-alt", "DNS:localhost")
    return base


# --- setup -----------------------------------------------------------------

def test_setup_makes_a_sha256_ca_with_critical_ca_true(tmp_dir):
    base = tmp_dir / "ssl"
    r = ok("setup", "-base", base, umask=0o022)
    assert len(r.stdout.splitlines()) == 1 and r.stderr == ""
    cacert, cakey = base / "CA" / "cacert.pem", base / "CA" / "cakey.pem"
    assert (base / "cafile.pem").read_bytes() == cacert.read_bytes()
    assert mode_of(cakey) == 0o600
    head, body = ext(cacert, "basicConstraints")
    assert "critical" in head and body == "CA:TRUE"
    head, body = ext(cacert, "keyUsage")
    assert "critical" in head
    assert body == "Certificate Sign, CRL Sign"
    text = x509_text(cacert)
    assert "Signature Algorithm: ecdsa-with-SHA256" in text
    subject = ossl("x509", "-in", cacert, "-noout", "-subject",
                   "-nameopt", "RFC2253").stdout.strip()
    assert subject == "subject=CN=SIPsBridge Demo CA,O=sipsbridge"
    # The CA signs itself: it verifies against its own certificate.
    ossl("verify", "-CAfile", cacert, cacert)


def test_setup_honours_cn_org_days(tmp_dir):
    base = tmp_dir / "ssl"
    ok("setup", "-base", base, "-cn", "Lab CA", "-org", "Lab", "-days", "20")
    cacert = base / "CA" / "cacert.pem"
    subject = ossl("x509", "-in", cacert, "-noout", "-subject",
                   "-nameopt", "RFC2253").stdout.strip()
    assert subject == "subject=CN=Lab CA,O=Lab"
    # Valid for 20 days: still valid in 19, no longer in 21.
    ossl("x509", "-in", cacert, "-noout", "-checkend", 19 * 86400)
    r = ossl("x509", "-in", cacert, "-noout", "-checkend", 21 * 86400,
             check=False)
    assert r.returncode != 0


def test_setup_refuses_an_existing_ca(pki):
    key_before = (pki / "CA" / "cakey.pem").read_bytes()
    r = gentls("setup", "-base", pki)
    assert r.returncode != 0
    assert "already exists" in r.stderr
    assert (pki / "CA" / "cakey.pem").read_bytes() == key_before


# --- create_server -----------------------------------------------------------

def test_server_cert_verifies_with_openssl(pki):
    r = ossl("verify", "-CAfile", pki / "cafile.pem", pki / "agent.pem")
    assert r.stdout.strip().endswith(": OK")
    ossl("verify", "-purpose", "sslserver", "-CAfile", pki / "cafile.pem",
         pki / "agent.pem")


def test_server_file_holds_cert_key_and_ca(pki):
    blocks, text = pem_blocks(pki / "agent.pem")
    assert blocks == ["CERTIFICATE", "PRIVATE KEY", "CERTIFICATE"]
    cacert = (pki / "CA" / "cacert.pem").read_text()
    assert text.endswith(cacert)
    certpub = ossl("x509", "-in", pki / "agent.pem", "-noout",
                   "-pubkey").stdout
    keypub = ossl("pkey", "-in", pki / "agent.pem", "-pubout").stdout
    assert certpub == keypub


def test_server_sans(pki):
    _, san = ext(pki / "agent.pem", "subjectAltName")
    names = set(san.split(", "))
    assert {"DNS:sip.example.test", "DNS:localhost",
            "IP Address:127.0.0.1"} == names


def test_server_eku_key_usage_and_ca_false(pki):
    _, eku = ext(pki / "agent.pem", "extendedKeyUsage")
    assert eku == ("TLS Web Server Authentication, "
                   "TLS Web Client Authentication")
    _, ku = ext(pki / "agent.pem", "keyUsage")
    assert ku == "Digital Signature"
    _, bc = ext(pki / "agent.pem", "basicConstraints")
    assert bc == "CA:FALSE"
    assert "Signature Algorithm: ecdsa-with-SHA256" in x509_text(
        pki / "agent.pem")


def test_key_files_are_0600_despite_a_loose_umask(tmp_dir):
    base = tmp_dir / "ssl"
    ok("setup", "-base", base, umask=0o000)
    ok("create_server", "-base", base, "-cn", SERVER_CN, umask=0o000)
    ok("create_client", "-base", base, "-cn", "alice", umask=0o000)
    for name in ("CA/cakey.pem", "agent.pem", "client.pem"):
        assert mode_of(base / name) == 0o600, name
    # Nothing holding a key may be left readable by others.
    for path in base.rglob("*"):
        if path.is_file() and "PRIVATE KEY" in path.read_text():
            assert mode_of(path) & 0o077 == 0, path


def test_default_key_is_ec_p256(pki):
    text = ossl("pkey", "-in", pki / "agent.pem", "-noout",
                "-text").stdout
    assert "ASN1 OID: prime256v1" in text
    assert "NIST CURVE: P-256" in text
    cakey = ossl("pkey", "-in", pki / "CA" / "cakey.pem", "-noout",
                 "-text").stdout
    assert "ASN1 OID: prime256v1" in cakey


def test_rsa_key_on_request(pki):
    ok("create_server", "-base", pki, "-cn", SERVER_CN, "-key", "rsa",
       "-out", "rsa.pem")
    text = ossl("pkey", "-in", pki / "rsa.pem", "-noout", "-text").stdout
    bits = int(re.search(r"Private-Key: \((\d+) bit", text).group(1))
    assert bits >= 2048
    _, ku = ext(pki / "rsa.pem", "keyUsage")
    assert ku == "Digital Signature, Key Encipherment"
    ossl("verify", "-CAfile", pki / "cafile.pem", pki / "rsa.pem")
    ok("create_server", "-base", pki, "-key", "rsa", "-bits", "3072",
       "-out", "rsa3072.pem")
    text = ossl("pkey", "-in", pki / "rsa3072.pem", "-noout",
                "-text").stdout
    assert "Private-Key: (3072 bit" in text


@pytest.mark.parametrize("bits", ["1024", "2047"])
def test_small_rsa_is_refused(pki, bits):
    r = gentls("create_server", "-base", pki, "-key", "rsa", "-bits", bits,
               "-out", "weak.pem")
    assert r.returncode != 0
    assert "2048" in r.stderr
    assert not (pki / "weak.pem").exists()


@pytest.mark.parametrize("alt", ["999.1.1.1", "a,b", "bad name", "-x.test"])
def test_bad_alt_is_refused(pki, alt):
    before = (pki / "agent.pem").read_bytes()
    r = gentls("create_server", "-base", pki, "-alt", alt)
    assert r.returncode == 2
    assert alt in r.stderr
    assert (pki / "agent.pem").read_bytes() == before


def test_create_needs_a_ca(tmp_dir):
    r = gentls("create_server", "-base", tmp_dir / "ssl")
    assert r.returncode != 0
    assert "setup" in r.stderr
    assert not (tmp_dir / "ssl" / "agent.pem").exists()


# --- create_client -----------------------------------------------------------

def test_client_cert_is_client_auth_only(pki):
    ok("create_client", "-base", pki, "-cn", "alice", "-out", "alice.pem")
    path = pki / "alice.pem"
    _, eku = ext(path, "extendedKeyUsage")
    assert eku == "TLS Web Client Authentication"
    ossl("verify", "-purpose", "sslclient", "-CAfile", pki / "cafile.pem",
         path)
    r = ossl("verify", "-purpose", "sslserver", "-CAfile",
             pki / "cafile.pem", path, check=False)
    assert r.returncode != 0
    assert mode_of(path) == 0o600
    ok("create_client", "-base", pki)
    assert (pki / "client.pem").exists()


# --- check -------------------------------------------------------------------

def test_check_accepts_a_good_file(pki):
    r = ok("check", "-base", pki)
    out = r.stdout
    assert "CN=sip.example.test" in out
    assert "DNS:localhost" in out and "IP Address:127.0.0.1" in out
    assert "TLS Web Server Authentication" in out
    assert re.search(r"notAfter: .* GMT \((364|365) days left\)", out), out
    r = ok("check", "-base", pki, pki / "agent.pem")
    assert "OK" in r.stdout.splitlines()[-1]


def _tamper_signature(path):
    """Flips the last byte of the leaf's signature, keeping valid DER."""
    text = pathlib.Path(path).read_text()
    m = re.search(r"(-----BEGIN CERTIFICATE-----\n)(.*?)(-----END)",
                  text, re.S)
    der = bytearray(base64.b64decode(m.group(2)))
    der[-1] ^= 0x01
    b64 = base64.encodebytes(bytes(der)).decode()
    b64 = "".join(b64.split())
    b64 = "\n".join(b64[i:i + 64] for i in range(0, len(b64), 64)) + "\n"
    pathlib.Path(path).write_text(text[:m.start(2)] + b64 + text[m.end(2):])


def test_check_rejects_a_tampered_signature(pki):
    path = pki / "agent.pem"
    _tamper_signature(path)
    # Still parses, still matches its key: only the signature is wrong.
    ossl("x509", "-in", path, "-noout")
    r = ossl("verify", "-CAfile", pki / "cafile.pem", path, check=False)
    assert r.returncode != 0
    r = gentls("check", "-base", pki)
    assert r.returncode != 0
    assert "verification" in r.stderr


def test_check_rejects_a_corrupt_certificate(pki):
    path = pki / "agent.pem"
    text = path.read_text()
    lines = text.splitlines(keepends=True)
    # Drop a line from the middle of the leaf's base64.
    del lines[4]
    path.write_text("".join(lines))
    r = gentls("check", "-base", pki)
    assert r.returncode != 0
    assert "corrupt" in r.stderr


def test_check_rejects_garbage(pki):
    (pki / "agent.pem").write_bytes(os.urandom(600))
    r = gentls("check", "-base", pki)
    assert r.returncode != 0
    (pki / "empty.pem").write_text("")
    assert gentls("check", "-base", pki, pki / "empty.pem").returncode != 0
    r = gentls("check", "-base", pki, pki / "missing.pem")
    assert r.returncode != 0 and "cannot read" in r.stderr


def test_check_rejects_a_key_of_another_cert(pki):
    ok("create_server", "-base", pki, "-cn", SERVER_CN, "-out", "other.pem")
    text_a = (pki / "agent.pem").read_text()
    text_b = (pki / "other.pem").read_text()
    cert_a = re.search(r"-----BEGIN CERTIFICATE.*?END CERTIFICATE-----\n",
                       text_a, re.S).group(0)
    key_b = re.search(r"-----BEGIN PRIVATE KEY.*?END PRIVATE KEY-----\n",
                      text_b, re.S).group(0)
    cacert = (pki / "CA" / "cacert.pem").read_text()
    mixed = pki / "mixed.pem"
    mixed.write_text(cert_a + key_b + cacert)
    os.chmod(mixed, 0o600)
    # The certificate alone is fine: the mismatch is the only fault.
    ossl("verify", "-CAfile", pki / "cafile.pem", mixed)
    r = gentls("check", "-base", pki, mixed)
    assert r.returncode != 0
    assert "does not match" in r.stderr


def test_check_rejects_a_cert_from_another_ca(pki, tmp_dir):
    other = tmp_dir / "other"
    ok("setup", "-base", other)
    ok("create_server", "-base", other, "-cn", SERVER_CN)
    r = gentls("check", "-base", pki, other / "agent.pem")
    assert r.returncode != 0
    assert "verification" in r.stderr


def _expired_cert(base, work):
    """A leaf signed by base's CA, valid only in January 2020."""
    work.mkdir()
    (work / "index.txt").write_text("")
    (work / "serial").write_text("1000\n")
    (work / "new").mkdir()
    cnf = work / "ca.cnf"
    cnf.write_text(f"""[ ca ]
default_ca = old
[ old ]
database = {work}/index.txt
new_certs_dir = {work}/new
serial = {work}/serial
default_md = sha256
policy = any
unique_subject = no
x509_extensions = leaf
[ any ]
commonName = supplied
[ leaf ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth, clientAuth
subjectAltName = DNS:{SERVER_CN}
""")
    ossl("genpkey", "-algorithm", "EC", "-pkeyopt",
         "ec_paramgen_curve:P-256", "-out", work / "key.pem")
    ossl("req", "-new", "-key", work / "key.pem", "-subj",
         f"/CN={SERVER_CN}", "-out", work / "req.pem")
    ossl("ca", "-batch", "-config", cnf, "-notext",
         "-cert", base / "CA" / "cacert.pem",
         "-keyfile", base / "CA" / "cakey.pem",
         "-startdate", "20200101000000Z", "-enddate", "20200201000000Z",
         "-in", work / "req.pem", "-out", work / "cert.pem")
    out = base / "old.pem"
    out.write_text((work / "cert.pem").read_text()
                   + (work / "key.pem").read_text()
                   + (base / "CA" / "cacert.pem").read_text())
    os.chmod(out, 0o600)
    return out


def test_check_rejects_an_expired_cert(pki, tmp_dir):
    path = _expired_cert(pki, tmp_dir / "oldca")
    cafile = pki / "cafile.pem"
    # Expiry is its only fault: openssl accepts it once time is ignored.
    ossl("verify", "-no_check_time", "-CAfile", cafile, path)
    r = ossl("verify", "-CAfile", cafile, path, check=False)
    assert r.returncode != 0 and "expired" in r.stdout + r.stderr
    r = gentls("check", "-base", pki, path)
    assert r.returncode != 0
    assert "certificate has expired" in r.stderr


def test_check_days_threshold(pki):
    ok("create_server", "-base", pki, "-cn", SERVER_CN, "-days", "5",
       "-out", "short.pem")
    path = pki / "short.pem"
    ok("check", "-base", pki, path)
    ok("check", "-base", pki, "-days", "3", path)
    r = gentls("check", "-base", pki, "-days", "30", path)
    assert r.returncode != 0
    assert "within 30 days" in r.stderr
    # The default server certificate (365 days) passes the same threshold.
    ok("check", "-base", pki, "-days", "30")


# --- command line and remove -------------------------------------------------

def test_usage_and_errors(tmp_dir):
    r = gentls("-h")
    assert r.returncode == 0 and "create_server" in r.stdout
    r = gentls("help")
    assert r.returncode == 0 and "usage:" in r.stdout
    for args in (["setup", "-base", tmp_dir, "-bogus", "1"],
                 ["frobnicate", "-base", tmp_dir],
                 [],
                 ["setup", "-base"],
                 ["check", "-base", tmp_dir, "-cn", "x"]):
        r = gentls(*args)
        assert r.returncode == 2, args
        assert "usage:" in r.stderr and r.stdout == "", args
    assert not (tmp_dir / "CA").exists()


def test_commands_are_quiet_on_success(tmp_dir):
    base = tmp_dir / "ssl"
    for args in (["setup"], ["create_server", "-cn", SERVER_CN],
                 ["create_client", "-cn", "alice"], ["remove"]):
        r = ok(*args, "-base", base)
        assert r.stderr == "", args
        assert len(r.stdout.splitlines()) == 1, (args, r.stdout)


def test_default_base_is_sb_ssl_dir(tmp_dir):
    base = tmp_dir / "env-ssl"
    env = dict(os.environ, SB_SSL_DIR=str(base))
    r = subprocess.run([GENTLS, "setup"], capture_output=True, text=True,
                       env=env, cwd=tmp_dir, timeout=60)
    assert r.returncode == 0, r.stderr
    assert (base / "cafile.pem").exists()
    env.pop("SB_SSL_DIR")
    r = subprocess.run([GENTLS, "setup"], capture_output=True, text=True,
                       env=env, cwd=tmp_dir, timeout=60)
    assert r.returncode == 0, r.stderr
    assert (tmp_dir / "conf" / "ssl" / "CA" / "cacert.pem").exists()


def test_remove_deletes_only_what_it_made(pki):
    ok("create_client", "-base", pki, "-cn", "alice")
    keep = pki / "notes.txt"
    keep.write_text("mine")
    ok("remove", "-base", pki)
    for name in ("CA", "cafile.pem", "agent.pem", "client.pem"):
        assert not (pki / name).exists(), name
    assert keep.read_text() == "mine"
    # Removing again is harmless, and a new CA can then be made.
    ok("remove", "-base", pki)
    ok("setup", "-base", pki)


# --- a real TLS handshake ----------------------------------------------------

def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SServer:
    """openssl s_server on a free loopback port, killed on exit."""

    def __init__(self, *args):
        self.args = args

    def __enter__(self):
        self.port = _free_port()
        self.proc = subprocess.Popen(
            ["openssl", "s_server", "-accept", f"127.0.0.1:{self.port}",
             "-www", *map(str, self.args)],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if "ACCEPT" in line:
                return self
            if not line and self.proc.poll() is not None:
                break
        self.__exit__()
        raise RuntimeError("s_server did not start")

    def __exit__(self, *exc):
        self.proc.kill()
        self.proc.wait(timeout=10)
        self.proc.stdout.close()


def s_client(port, *args, request=""):
    return subprocess.run(
        ["openssl", "s_client", "-connect", f"127.0.0.1:{port}",
         "-verify_return_error", *map(str, args)],
        input=request, capture_output=True, text=True, timeout=30)


def test_tls_handshake_with_hostname_check(pki):
    agent, cafile = pki / "agent.pem", pki / "cafile.pem"
    with SServer("-cert", agent, "-key", agent, "-CAfile", cafile) as srv:
        r = s_client(srv.port, "-CAfile", cafile, "-verify_hostname",
                     SERVER_CN, "-servername", SERVER_CN)
        assert r.returncode == 0, r.stdout + r.stderr
        assert "Verify return code: 0 (ok)" in r.stdout
        r = s_client(srv.port, "-CAfile", cafile, "-verify_ip",
                     "127.0.0.1")
        assert "Verify return code: 0 (ok)" in r.stdout
        # The check must be able to fail: a name not in the SANs.
        r = s_client(srv.port, "-CAfile", cafile, "-verify_hostname",
                     "other.example.test")
        assert r.returncode != 0
        assert "hostname mismatch" in r.stdout + r.stderr


def test_mutual_tls_with_client_cert(pki):
    """s_server -www answers only a client whose certificate it verifies."""
    ok("create_client", "-base", pki, "-cn", "alice")
    (pki / "x").mkdir()
    ok("setup", "-base", pki / "x")
    ok("create_client", "-base", pki / "x", "-cn", "mallory")
    agent, cafile = pki / "agent.pem", pki / "cafile.pem"
    get = "GET / HTTP/1.0\r\n\r\n"
    with SServer("-cert", agent, "-key", agent, "-CAfile", cafile,
                 "-Verify", "1", "-verify_return_error") as srv:
        for client, welcome in ((pki / "client.pem", True),
                                (pki / "x" / "client.pem", False)):
            r = s_client(srv.port, "-CAfile", cafile, "-cert", client,
                         "-key", client, "-verify_hostname", SERVER_CN,
                         "-ign_eof", request=get)
            assert "Verify return code: 0 (ok)" in r.stdout
            assert ("HTTP/1.0 200 ok" in r.stdout) == welcome, client
            if not welcome:
                assert "unknown ca" in r.stderr
