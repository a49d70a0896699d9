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
