"""The installed switch under valgrind's memcheck through one busy life:
registrations over TLS and UDP, OPTIONS both ways, reload-tls under a
live TLS flow, calls with RTP (the echo test, phone to phone, and after
a reloadxml an SRTP leg), then SIGTERM with a call still up whose
caller is gone (its BYE unanswered).  memcheck must report no invalid
access, no use of uninitialised memory and no definitely or indirectly
lost block.

The release build (no sanitizers: ASan cannot run under valgrind),
installed in a DESTDIR by tests/valgrind/run."""
import os
import re
import signal
import socket
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "interop"))

from sbtest import (Switch, Stunnel, sipp, sipp_bg, sipp_wait,  # noqa: E402
                    set_param, wait_for, grep, free_port, SCENARIOS,
                    tmpdir_for_sipp)
from test_005_calls import (RtpSink, phone, caller,  # noqa: E402
                            add_extensions)
from test_006_srtp import SrtpUas, peer_extension  # noqa: E402

# The exit code that means "memcheck found an error", distinct from any
# of the daemon's own.
VG_ERROR_EXIT = 99
# Valgrind runs the daemon some 20-50 times slower: start-up takes
# seconds, and a loaded machine (make -j) makes it worse.
START_TIMEOUT = 180
SUITE = "AES_CM_128_HMAC_SHA1_80"


def valgrind_wrapper(log_path):
    return ["valgrind", "--error-exitcode=%d" % VG_ERROR_EXIT,
            "--leak-check=full", "--errors-for-leak-kinds=definite",
            "--show-leak-kinds=definite,indirect",
            # mod_sips.so is unloaded before the leak check: keep its
            # symbols so a leak inside it names the file and line.
            "--keep-debuginfo=yes", "--num-callers=30",
            # No thread starves under valgrind's one-at-a-time threads.
            "--fair-sched=yes",
            "--track-fds=no", "--log-file=" + log_path]


def vg_switch(tmp_path):
    sw = Switch(tmp_path)
    sw.make_demo_pki()
    # SIPp's digest code knows MD5 only.
    set_param(sw, "internal", "auth-algorithms", "MD5")
    # The SRTP peer's leg is plain UDP: SDES keys in the clear.
    set_param(sw, "internal", "srtp-sdes-insecure", "true")
    sw.vg_log = os.path.join(str(tmp_path), "valgrind.log")
    sw.wrapper = valgrind_wrapper(sw.vg_log)
    return sw


def registered(sw, aor):
    return aor in sw.cli("show registrations").stdout


def tls_phone(sw, tmp_path):
    """SIPp registered over TLS (through stunnel) that stays on its
    connection and answers the switch's requests (-aa)."""
    tunnel = Stunnel(tmp_path, sw.ports["internal_tls_port"],
                     os.path.join(sw.ssl_dir("internal"), "cafile.pem"))
    args = ["sipp", "127.0.0.1:%d" % tunnel.port, "-sf",
            os.path.join(SCENARIOS, "register_then_uas.xml"),
            "-t", "t1", "-m", "1", "-i", "127.0.0.1",
            "-p", str(free_port()), "-s", "1002", "-au", "1002",
            "-ap", "1234", "-key", "expires", "600", "-aa", "-nostdin",
            "-timeout", "60", "-timeout_error"]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True,
                            cwd=tmpdir_for_sipp())
    return tunnel, proc


def registrations(sw, sink):
    """The TLS phone 1002 (started by the caller) and the UDP phone 1001
    (then waiting for a call, media to @sink); OPTIONS to the switch, and
    from it over the TLS flow before and after reload-tls (the flow keeps
    the old context). Returns the waiting 1001."""
    callee = phone(sw, "1001", rtp_port=sink.port)
    assert wait_for(lambda: registered(sw, "1002@127.0.0.1"), timeout=30), \
        sw.cli("show registrations").stdout + sw.log()
    assert registered(sw, "1001@127.0.0.1")
    code, out = sipp("options_uac.xml", sw.ports["internal_sip_port"], "u1",
                     service="1000")
    assert code == 0, out
    options = "sips profile internal options 1002@127.0.0.1"
    out = sw.cli(options).stdout
    assert out.startswith("200 ") and "over tls flow" in out, out
    out = sw.cli("sips profile internal reload-tls").stdout
    assert "TLS reloaded" in out, out
    out = sw.cli(options).stdout
    assert out.startswith("200 ") and "over tls flow" in out, out
    return callee


def echo_call(sw):
    """1000 -> 9196 (echo) with G.711 RTP from SIPp's pcap, then BYE."""
    code, out = caller(sw, "1000", "9196", hold_ms=1500)
    assert code == 0, out + sw.log()
    assert grep(r"SB02604 call .*: BYE from the A leg", sw.log()), sw.log()


def phone_call(sw, sink, callee):
    """1000 -> the registered UDP phone 1001: RTP relayed to its sink."""
    code, out = caller(sw, "1000", "1001", hold_ms=1500)
    rc, uas_out = sipp_wait(callee, timeout=0.1 if code else 60)
    assert code == 0, out + uas_out + sw.log()
    assert rc == 0, uas_out
    assert len(sink.packets) >= 20, len(sink.packets)
    assert grep(r"SB02622 call .*: bridged to", sw.log()), sw.log()


def srtp_call(sw):
    """reloadxml with a new extension to an SRTP peer, then 1000 -> it:
    the switch protects the caller's RTP and unprotects the peer's."""
    uas = SrtpUas(SUITE)
    add_extensions(sw, peer_extension(uas.port, "mandatory:" + SUITE))
    out = sw.cli("reloadxml").stdout
    assert "reloaded" in out, out
    code, out = caller(sw, "1000", "peer", hold_ms=1500)
    assert code == 0, out + sw.log()
    uas.thread.join(30)
    assert uas.error is None, uas.error
    assert uas.result is not None and SUITE in uas.offer, uas.offer
    sent, received, auth, replay, ok = uas.counts()
    assert ok >= 20 and auth == 0, uas.result


def still_answers(sw):
    code, out = sipp("options_uac.xml", sw.ports["internal_sip_port"], "u1",
                     service="1000")
    assert code == 0, out


def call_left_up(sw):
    """A call to the echo test still up at SIGTERM, its caller gone: the
    switch's BYE is never answered, and shutdown must free it all."""
    proc = sipp_bg("call_uac_wait_bye.xml", sw.ports["internal_sip_port"],
                   "u1", service="1000",
                   extra=("-au", "1000", "-ap", "1234", "-key", "callee",
                          "9196", "-mp", str(free_port(socket.SOCK_DGRAM))))
    try:
        assert wait_for(lambda: "1 call(s)" in sw.cli("show calls").stdout,
                        timeout=30), sw.cli("show calls").stdout
    finally:
        proc.kill()
        proc.communicate()


def leak_bytes(report, kind):
    m = re.search(r"%s lost: ([\d,]+) bytes in ([\d,]+) blocks" % kind,
                  report)
    return int(m.group(1).replace(",", "")) if m else 0


def check_report(report, code):
    errors = re.search(r"ERROR SUMMARY: (\d+) errors", report)
    summary = "valgrind daemon: %s errors, definitely lost %d bytes, " \
        "indirectly lost %d bytes, exit %s" % (
            errors.group(1) if errors else "?",
            leak_bytes(report, "definitely"),
            leak_bytes(report, "indirectly"), code)
    print("\n" + summary)
    assert errors, "no valgrind summary (did it finish?):\n" + report
    bad = [p for p in ("Invalid read", "Invalid write", "Invalid free",
                       "uninitialised", "Mismatched free",
                       "are definitely lost", "are indirectly lost",
                       "Source and destination overlap")
           if p in report]
    assert not bad, "%s\n%s: %s" % (report, summary, bad)
    assert code != VG_ERROR_EXIT, report
    assert code == 0, "exit %s\n%s" % (code, report)
    assert errors.group(1) == "0", report


def stop(sw, timeout=120):
    """SIGTERM, then the exit code (valgrind's leak check takes time)."""
    sw.proc.send_signal(signal.SIGTERM)
    try:
        return sw.proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        sw.proc.kill()
        sw.proc.wait()
        raise AssertionError("sipsbridge under valgrind did not exit:\n" +
                             sw.log()[-4000:])


def test_daemon_is_valgrind_clean(tmp_path):
    sw = vg_switch(tmp_path)
    t0 = time.monotonic()
    try:
        sw.start(timeout=START_TIMEOUT)
    except AssertionError:
        if sw.proc.poll() is None:
            sw.proc.kill()
            sw.proc.wait()
        with open(sw.vg_log, errors="replace") as f:
            print(f.read())
        raise
    started = time.monotonic() - t0
    tunnel = tls = None
    sink = RtpSink()
    try:
        tunnel, tls = tls_phone(sw, tmp_path)
        callee = registrations(sw, sink)
        echo_call(sw)
        phone_call(sw, sink, callee)
        srtp_call(sw)
        still_answers(sw)
        rc, out = sipp_wait(tls, timeout=60)
        assert rc == 0, out
        tls = None
        call_left_up(sw)
    finally:
        if tls is not None:
            tls.kill()
            tls.wait()
        if tunnel:
            tunnel.close()
        sink.close()
        code = stop(sw)
    with open(sw.vg_log, errors="replace") as f:
        report = f.read()
    print("valgrind daemon: start %.1f s, whole run %.1f s" % (
        started, time.monotonic() - t0))
    check_report(report, code)
