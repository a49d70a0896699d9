"""e. A TLS phone (baresip, SRTP) vanishes mid-call without close_notify,
while the other phone (baresip over UDP) keeps sending audio:
  - killed (kill -9): its TCP connection ends without a TLS close;
  - frozen (SIGSTOP): its connection stays up but nothing answers; it is
    killed only after the call is gone and the BYE to it timed out (a
    TCP reset then).
The call ends by the media timeout of the vanished leg, the BYE to that
leg fails cleanly, the other phone gets its BYE, `show calls` goes back to
0, no connection or flow is left, and the switch (ASan in make check)
stops with no report."""
import os
import re
import signal
import time

from faultlib import (calls, conns, count_log, fault_switch, flows,
                      registrations, summary, wait_idle)
from sbtest import Baresip, gentls, wait_for, write_tone_wav

MEDIA_TIMEOUT = 3
T1_MS = 50  # a BYE nobody answers times out after 64*T1 = 3.2 s


def channel_rx(sw):
    """{leg: rx packets} of `show channels` (A and B)."""
    out = sw.cli("show channels").stdout
    return {m.group(1): int(m.group(2)) for m in re.finditer(
        r"^\S+ ([AB]) up .* rx (\d+) tx \d+", out, re.M)}


def start_call(sw, tmp_path):
    """baresip 1002 (TLS, SRTP) called by baresip 1001 (UDP): both send
    a tone. Returns (callee, caller) once media flows both ways."""
    internal = sw.ssl_dir("internal")
    gentls("create_client", "-base", internal, "-cn", "phone1002",
           "-out", "phone1002.pem")
    tone = write_tone_wav(os.path.join(str(tmp_path), "tone.wav"),
                          seconds=60)
    callee = Baresip(
        tmp_path, "<sip:1002@127.0.0.1:%d;transport=tls>;auth_pass=1234;"
        "regint=600;answermode=auto;audio_codecs=PCMU;mediaenc=srtp-mand"
        % sw.tls_port, sw.cafile, seconds=120,
        certificate=os.path.join(internal, "phone1002.pem"),
        audio_source=tone)
    assert wait_for(lambda: "1002@127.0.0.1" in
                    registrations(sw)[1], timeout=20), callee.output()
    caller = Baresip(
        tmp_path, "<sip:1001@127.0.0.1:%d>;auth_pass=1234;regint=600;"
        "audio_codecs=PCMU" % sw.ports["internal_sip_port"], sw.cafile,
        seconds=120, audio_source=tone,
        commands=("/dial sip:1002@127.0.0.1:%d" %
                  sw.ports["internal_sip_port"],))
    ok = wait_for(lambda: min(channel_rx(sw).values() or [0]) > 50 and
                  len(channel_rx(sw)) == 2, timeout=20)
    assert ok, sw.cli("show channels").stdout + caller.output()
    return callee, caller


def vanish(tmp_path, how):
    sw = fault_switch(tmp_path, media_timeout=MEDIA_TIMEOUT, timer_T1=T1_MS)
    sw.start()
    callee = caller = None
    try:
        callee, caller = start_call(sw, tmp_path)
        before = calls(sw), conns(sw)[1]
        t0 = time.monotonic()
        callee.proc.send_signal(signal.SIGKILL if how == "killed"
                                else signal.SIGSTOP)
        gone = wait_for(lambda: calls(sw) == 0,
                        timeout=MEDIA_TIMEOUT + 64 * T1_MS / 1000 + 15,
                        interval=0.2)
        took = time.monotonic() - t0
        after_calls = calls(sw)
        if how == "frozen":
            # The BYE to the frozen phone times out (Timer F) while its
            # connection is still up; then it dies with unread data: a
            # TCP reset.
            time.sleep(64 * T1_MS / 1000 + 1)
            callee.proc.kill()
        idle = wait_idle(sw, timeout=20)
        log = sw.log()
        timeouts = count_log(sw, "SB02632")
        # baresip's words for a BYE it received.
        caller_bye = bool(re.search(r"session closed: Connection reset|"
                                    r"terminated \(duration",
                                    caller.output()))
        lost = []
        if before != (1, 1):
            lost.append("before: %d calls, %d TLS connections" % before)
        if not gone:
            lost.append("%d call(s) still up %.0f s later" % (after_calls,
                                                              took))
        if not timeouts:
            lost.append("no media timeout logged")
        if not re.search(r"hangup MEDIA_TIMEOUT", log):
            lost.append("not hung up for MEDIA_TIMEOUT")
        if not caller_bye:
            lost.append("the caller saw no BYE")
        if not idle:
            lost.append("left: connections %s, flows %d" % (conns(sw),
                                                            flows(sw)))
        if caller.proc.poll() is not None:
            lost.append("the caller phone exited (%s)" %
                        caller.proc.returncode)
        bye_fail = re.findall(r"SB0\d+ [^\n]*(?:BYE)[^\n]*(?:fail|gone|"
                              r"timeout|timed out|408|480|503)[^\n]*", log)
        if not bye_fail:
            lost.append("no log line says the BYE to the vanished leg "
                        "failed")
        line = summary(
            "e vanished phone (%s)" % how,
            "1 call TLS+SRTP <-> UDP with media both ways; callee %s "
            "without close_notify; call gone after %.1f s (media-timeout "
            "%d s, %d media timeout(s) logged), BYE to the vanished leg: "
            "%s; caller got BYE: %s; calls %d, TLS connections %s, flows %d "
            "after; ASan at stop: checked by stop()" % (
                "kill -9'd" if how == "killed" else
                "SIGSTOPped (then killed: reset)", took, MEDIA_TIMEOUT,
                timeouts, bye_fail[0][:120] if bye_fail else
                "no failure logged", "yes" if caller_bye else "no",
                after_calls, conns(sw)[1], flows(sw)),
            "; ".join(lost))
        assert not lost, line + "\n" + log[-3000:]
    finally:
        for phone in (callee, caller):
            if phone:
                if phone.proc.poll() is None:
                    phone.proc.kill()
                phone.close()
        sw.stop()


def test_phone_killed_mid_call(tmp_path):
    vanish(tmp_path, "killed")


def test_phone_frozen_mid_call(tmp_path):
    vanish(tmp_path, "frozen")
