"""Call-layer fixes: profile restart under load, the ACK to a resent 2xx
of a re-INVITE or after the call ended, a CANCEL of a re-INVITE passed
on, an INVITE that cannot make a dialog, stray RTP (RTP Bleed).

The daemon is the ASan build: Switch.stop() fails on a non-zero exit or
an ASan report, and each test asserts stop() == 0 itself (stop() does
not check a daemon that already died).
"""
import re
import struct
import time

from sbtest import sipp_wait, wait_for, grep
from test_003_sip_transport import udp_exchange
from test_005_calls import (PASSED_ON, RtpSink, bindings, call_switch,
                            call_through, caller, caller_bg, fail_scenario,
                            no_calls, phone_done, register_from,
                            registered_phone)

class SilentPhone(RtpSink):
    """A phone registered from a UDP port that then never answers: the
    switch's INVITE to it stays in retransmission (Timer A)."""

    def __init__(self, sw, user):
        self.invites = []  # arrival times
        super().__init__(register_from(sw, user))

    def received(self, data, src):
        if data.startswith(b"INVITE "):
            self.invites.append(time.monotonic())


def test_profile_restart_with_a_call_up_and_an_invite_retransmitting(
        tmp_path):
    """`sips profile internal restart` drops the profile's calls (BYE to
    both legs of the call that is up, 480 to the caller whose callee
    never answers), ends its transactions (the INVITE to the silent
    phone is not retransmitted after), and the switch goes on: a new
    registration and a new call work, and it exits clean under ASan."""
    sw = call_switch(tmp_path)
    sw.start()
    silent = None
    procs = []
    try:
        callee = registered_phone(sw, "1001", scenario="call_uas.xml")
        procs.append(callee)
        up = caller_bg(sw, "1000", "1001", "call_uac_wait_bye.xml")
        procs.append(up)
        assert wait_for(lambda: grep(r"SB02622 call .*: bridged to",
                                     sw.log()), timeout=15), sw.log()
        silent = SilentPhone(sw, "1002")
        assert wait_for(lambda: "1002@127.0.0.1" in bindings(sw),
                        timeout=10), bindings(sw)
        pending = caller_bg(sw, "1003", "1002",
                            fail_scenario(tmp_path, 480))
        procs.append(pending)
        assert wait_for(lambda: silent.invites, timeout=15, interval=0.01)
        out = sw.cli("sips profile internal restart").stdout
        restarted = time.monotonic()
        assert "profile internal started" in out, out
        # Timer A would resend at 0.5, 1.5 and 3.5 s after the first.
        time.sleep(4)
        late = [t for t in silent.invites if t > restarted + 0.1]
        assert not late, (len(silent.invites), sw.log())
        for p in procs:
            rc, sipp_out = sipp_wait(p)
            assert rc == 0, sipp_out
        procs = []
        assert wait_for(lambda: no_calls(sw), timeout=5), \
            sw.cli("show calls").stdout
        assert grep(r"SB02104 profile internal stopped", sw.log())
        # The new profile serves: REGISTER and a call through it.
        callee = registered_phone(sw, "1004", scenario="call_uas.xml")
        code, out = caller(sw, "1005", "1004", hold_ms=500)
        assert code == 0, out
        rc, uas_out = sipp_wait(callee)
        assert rc == 0, uas_out
        assert sw.proc.poll() is None, sw.stderr()[-4000:]
    finally:
        for p in procs:
            p.kill()
            p.wait()
        if silent:
            silent.close()
        assert sw.stop() == 0


def test_resent_2xx_to_a_reinvite_toward_b_gets_its_own_ack(tmp_path):
    """A holds; the switch re-INVITEs B, which answers 200 and sends it
    again: both ACKs carry the re-INVITE's CSeq, not the first INVITE's
    (RFC 3261 13.2.2.4; the callee's scenario checks each one)."""
    sw = call_switch(tmp_path)
    sw.start()
    try:
        callee = registered_phone(
            sw, "1001", scenario="reinvite_2xx_resent_uas.xml")
        code, out = caller(sw, "1000", "1001", scenario="call_uac_hold.xml")
        assert code == 0, out
        rc, uas_out = sipp_wait(callee)
        assert rc == 0, uas_out
        assert grep(PASSED_ON, sw.log()), sw.log()
        assert wait_for(lambda: no_calls(sw), timeout=5), \
            sw.cli("show calls").stdout
    finally:
        assert sw.stop() == 0


def test_2xx_resent_after_the_call_ended_still_gets_its_ack(tmp_path):
    """A hangs up; B gets the BYE, then sends its 200 to the INVITE again
    (a retransmission that crossed our BYE): the leg is gone, but the
    switch ACKs it again with the INVITE's CSeq (RFC 3261 13.2.2.4; the
    callee's scenario waits for that ACK and checks it)."""
    sw = call_switch(tmp_path)
    sw.start()
    try:
        callee = registered_phone(
            sw, "1001", scenario="bye_then_2xx_resent_uas.xml")
        code, out = caller(sw, "1000", "1001", hold_ms=200)
        assert code == 0, out
        rc, uas_out = sipp_wait(callee)
        assert rc == 0, uas_out + sw.log()
        assert grep(r"SB02618 call .*: 2xx to CSeq \d+ again after its leg "
                    r"ended: our ACK again", sw.log()), sw.log()
        assert wait_for(lambda: no_calls(sw), timeout=5), \
            sw.cli("show calls").stdout
    finally:
        assert sw.stop() == 0


def bad_dialog_invite(port, n, contact):
    return ("INVITE sip:1001@127.0.0.1 SIP/2.0\r\n"
            "Via: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bKbad%d;rport\r\n"
            "Max-Forwards: 70\r\n"
            "From: <sip:1000@127.0.0.1>;tag=bad%d\r\n"
            "To: <sip:1001@127.0.0.1>\r\n"
            "Call-ID: bad-dialog-%d@127.0.0.1\r\n"
            "CSeq: 1 INVITE\r\n%s"
            "Content-Length: 0\r\n\r\n"
            % (port, n, n, n, contact)).encode()


def test_invite_without_a_usable_contact_gets_400(tmp_path):
    """An INVITE with no Contact, or Contact: *, cannot make a dialog: 400
    Bad Dialog Headers, before any authentication, and the daemon goes
    on (the leg it began is freed with no dialog: no ACK of it is kept).
    Then a call still goes through."""
    sw = call_switch(tmp_path)
    sw.start()
    try:
        port = sw.ports["internal_sip_port"]
        for n, contact in enumerate(("", "Contact: *\r\n")):
            replies = udp_exchange(port, bad_dialog_invite(port, n, contact),
                                   until=lambda r: any(" 400 " in t for
                                                       _, t in r))
            assert any(t.startswith("SIP/2.0 400 Bad Dialog Headers")
                       for _, t in replies), (replies, sw.log())
        assert sw.proc.poll() is None, sw.stderr()[-4000:]
        call_through(sw)
    finally:
        assert sw.stop() == 0


def b_leg_port(sw):
    m = re.search(r"^\S+ B \w+ .* port (\d+) ", sw.cli("show channels").stdout,
                  re.M)
    return int(m.group(1)) if m else None


def call_with_stranger(sw, step):
    """1000 calls 1001, whose SDP names an RtpSink's port and which
    sends no media; a stranger sends RTP (sequence numbers @step apart)
    to the B leg's port on the switch for 2.5 s. Returns the packets the
    callee's port and the stranger got, how many the stranger sent, and
    `show channels` during the call."""
    media = RtpSink()  # the callee's media port, named in its SDP
    stranger = RtpSink()
    callee = registered_phone(sw, "1001", rtp_port=media.port)
    a = caller_bg(sw, "1000", "1001", "call_uac.xml", hold_ms=2000)
    try:
        assert wait_for(lambda: b_leg_port(sw), timeout=10), \
            sw.cli("show channels").stdout
        port, seq, sent = b_leg_port(sw), 7, 0
        deadline = time.monotonic() + 2.5
        while time.monotonic() < deadline:
            pkt = struct.pack("!BBHII", 0x80, 8, seq & 0xffff, seq * 160,
                              0x5eed) + b"\xd5" * 160
            stranger.sock.sendto(pkt, ("127.0.0.1", port))
            seq, sent = seq + step, sent + 1
            time.sleep(0.02)
        channels = sw.cli("show channels").stdout
        rc, out = sipp_wait(a)
        a = None
        assert rc == 0, out
        phone_done(callee)
    finally:
        if a:
            a.kill()
            a.wait()
        media.close()
        stranger.close()
    return media.packets, stranger.packets, sent, channels


def test_stray_rtp_does_not_take_a_calls_media(tmp_path):
    """RTP Bleed: the callee sends no media of its own, so its leg has
    not latched. A stranger sends RTP to that leg's port on the switch,
    out of sequence, during the whole call. The caller's audio must still
    reach the port the callee's SDP named, and none of it the stranger
    (which a relay that latches on the first packet sends it all)."""
    with call_switch(tmp_path) as sw:
        media, stranger, sent, channels = call_with_stranger(sw, 3)
    assert sent > 50
    assert len(media) > 30, (len(media), channels)
    assert not stranger, (len(stranger), channels)
    b = re.search(r"^\S+ B .* dropped (\d+)", channels, re.M)
    assert b and int(b.group(1)) >= 50, channels


def test_latching_off_keeps_sending_to_the_sdp_address(tmp_path):
    """disable-rtp-auto-adjust=true (a peer that sends from another port
    than it receives on): RTP from another port, in sequence (which
    would latch after 4 packets), is taken and relayed, but what goes to
    that leg still goes to the SDP's address only."""
    with call_switch(tmp_path, disable_rtp_auto_adjust="true") as sw:
        media, stranger, sent, channels = call_with_stranger(sw, 1)
    assert sent > 50
    assert len(media) > 30, (len(media), channels)
    assert not stranger, (len(stranger), channels)
    b = re.search(r"^\S+ B .* rx (\d+) tx \d+ dropped (\d+)", channels,
                  re.M)
    assert b and int(b.group(1)) >= 50 and int(b.group(2)) == 0, channels
    assert "(latched)" not in channels.split(" B ")[1], channels


def test_cancel_of_a_reinvite_pending_at_b_is_passed_on(tmp_path):
    """A re-INVITEs (hold), the switch passes it on, B says only 100; A
    CANCELs: 200 and 487 to A, a CANCEL of the same CSeq to B (RFC 3261
    9.1, 9.2) whose 487 the switch ACKs; the call stays up with the old
    media (14.1) until A's BYE."""
    sw = call_switch(tmp_path)
    sw.start()
    a = None
    try:
        callee = registered_phone(
            sw, "1001", scenario="reinvite_cancel_uas.xml")
        a = caller_bg(sw, "1000", "1001", "reinvite_cancel_uac.xml")
        assert wait_for(lambda: grep(r"SB02651 call .*: the cancelled "
                                     r"re-INVITE got 487 from the B leg",
                                     sw.log()), timeout=15), sw.log()
        log = sw.log()
        assert grep(PASSED_ON, log), log
        assert grep(r"SB02650 call .*: re-INVITE cancelled by the A leg",
                    log), log
        assert "1 call(s)" in sw.cli("show calls").stdout
        rc, out = sipp_wait(a)
        a = None
        assert rc == 0, out
        rc, uas_out = sipp_wait(callee)
        assert rc == 0, uas_out
        assert grep(r"SB02604 call .*: BYE from the A leg", sw.log())
        assert wait_for(lambda: no_calls(sw), timeout=5), \
            sw.cli("show calls").stdout
    finally:
        if a is not None:
            a.kill()
            a.wait()
        assert sw.stop() == 0
