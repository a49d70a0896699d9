"""Issue 5: calls through the switch, B2BUA legs and the RTP relay."""
import os
import re
import socket
import subprocess
import threading
import time

from sbtest import (Switch, Stunnel, sipp, sipp_bg, sipp_wait, set_param,
                    wait_for, grep, SCENARIOS, free_port)


def call_switch(tmp_path, **params):
    sw = Switch(tmp_path)
    sw.make_demo_pki()
    set_param(sw, "internal", "auth-algorithms", "MD5")
    for name, value in params.items():
        set_param(sw, "internal", name.replace("_", "-"), value)
    return sw


def bindings(sw):
    return sw.cli("show registrations").stdout


class RtpSink:
    """A UDP socket standing for a phone's media port (@port, or any):
    keeps the packets and their sources (received() says what to keep)."""

    def __init__(self, port=0):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", port))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.packets = []
        self.sources = set()
        self.running = True
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while self.running:
            try:
                data, src = self.sock.recvfrom(65535)
            except socket.timeout:
                continue
            except OSError:
                return
            self.received(data, src)

    def received(self, data, src):
        self.packets.append(data)
        self.sources.add(src)

    def close(self):
        self.running = False
        self.thread.join(2)
        self.sock.close()


def phone(sw, user, scenario="call_uas.xml", rtp_port=9):
    """A UDP phone: SIPp registers from a port, then a second SIPp waits
    for calls on that port (one SIPp scenario cannot do both: a call
    with another Call-ID would not map to it)."""
    local = register_from(sw, user)
    return sipp_bg(scenario, sw.ports["internal_sip_port"], "u1",
                   service=user, local_port=local,
                   extra=("-key", "rtp_port", str(rtp_port)))


def register_from(sw, user):
    """SIPp registers @user (over UDP) from a free port: the port."""
    local = free_port(socket.SOCK_DGRAM)
    code, out = sipp("register_auth.xml", sw.ports["internal_sip_port"],
                     "u1", service=user, local_port=local,
                     extra=("-au", user, "-ap", "1234", "-key", "expires",
                            "300"))
    assert code == 0, out
    return local


def registered_phone(sw, user, **kw):
    """phone(), once the switch shows its binding."""
    callee = phone(sw, user, **kw)
    assert wait_for(lambda: user + "@127.0.0.1" in bindings(sw),
                    timeout=10), bindings(sw)
    return callee


def phone_done(callee):
    """The callee's SIPp ran its scenario through."""
    rc, out = sipp_wait(callee)
    assert rc == 0, out


def call_through(sw, uas="call_uas.xml", uac="call_uac.xml", **kw):
    """1000 calls 1001 (a phone running @uas) with @uac; both scenarios
    must pass. Returns the switch's log."""
    callee = registered_phone(sw, "1001", scenario=uas, **kw)
    code, out = caller(sw, "1000", "1001", scenario=uac)
    assert code == 0, out + sw.log()
    phone_done(callee)
    return sw.log()


def caller_args(user, callee, hold_ms=3000, extra=()):
    """SIPp arguments of a caller: digest credentials, whom to call, how
    long to hold, and a media port of its own."""
    return ("-au", user, "-ap", "1234", "-key", "callee", callee,
            "-key", "hold", str(hold_ms),
            "-mp", str(free_port(socket.SOCK_DGRAM))) + tuple(extra)


def caller(sw, user, callee, hold_ms=3000, scenario="call_uac.xml",
           extra=()):
    return sipp(scenario, sw.ports["internal_sip_port"], "u1",
                service=user, extra=caller_args(user, callee, hold_ms, extra))


def caller_bg(sw, user, callee, scenario, hold_ms=3000):
    """caller() in the background: sipp_wait() it."""
    return sipp_bg(scenario, sw.ports["internal_sip_port"], "u1",
                   service=user, extra=caller_args(user, callee, hold_ms))


def fail_scenario(tmp_path, status):
    """call_uac_fail.xml expecting the call to fail with @status."""
    with open(os.path.join(SCENARIOS, "call_uac_fail.xml")) as f:
        text = f.read().replace("@STATUS@", str(status))
    path = os.path.join(str(tmp_path), "call_uac_fail_%d.xml" % status)
    with open(path, "w") as f:
        f.write(text)
    return path


def failing_caller(sw, tmp_path, user, callee, status):
    """A caller that expects the call to fail with @status."""
    return caller(sw, user, callee, scenario=fail_scenario(tmp_path, status))


PASSED_ON = r"SB02633 call .*: re-INVITE with hold passed on"


def no_calls(sw):
    return "0 call(s)" in sw.cli("show calls").stdout


def test_udp_call_relays_rtp_and_bye_ends_both_legs(tmp_path):
    sw = call_switch(tmp_path)
    sw.start()
    sink = RtpSink()
    try:
        call_through(sw, rtp_port=sink.port)
        log = sw.log()
        assert grep(r"SB02622 call .*: bridged to", log), log
        # G.711 from the caller's pcap reached the callee's media port,
        # sent by the switch's relay (not by the caller).
        assert len(sink.packets) >= 50, len(sink.packets)
        # RTP version 2, PCMA (payload type 8) as the pcap holds.
        assert all(p[0] >> 6 == 2 and p[1] & 0x7f == 8
                   for p in sink.packets[:50]), sink.packets[0][:12]
        assert all(src[0] == "127.0.0.1" for src in sink.sources)
        assert grep(r"SB02604 call .*: BYE from the A leg", log), log
        assert wait_for(lambda: grep(r"SB02600 call .* B leg .* ended",
                                     sw.log()), timeout=5), sw.log()
    finally:
        sink.close()
        sw.stop()


def test_call_to_unregistered_user_fails_480(tmp_path):
    with call_switch(tmp_path) as sw:
        code, out = failing_caller(sw, tmp_path, "1000", "1005", 480)
        assert code == 0, out


def test_busy_callee_486_reaches_caller(tmp_path):
    with call_switch(tmp_path) as sw:
        callee = registered_phone(sw, "1001", scenario="call_uas_busy.xml")
        code, out = failing_caller(sw, tmp_path, "1000", "1001", 486)
        assert code == 0, out
        phone_done(callee)


def test_cancel_before_answer(tmp_path):
    with call_switch(tmp_path) as sw:
        call_through(sw, uas="call_uas_ring.xml", uac="call_uac_cancel.xml")
        assert grep(r"SB02603 call .*: cancelled by the caller", sw.log())


def test_callee_hangs_up_first(tmp_path):
    with call_switch(tmp_path) as sw:
        call_through(sw, uas="call_uas_bye.xml", uac="call_uac_wait_bye.xml")
        assert grep(r"SB02604 call .*: BYE from the B leg", sw.log())


def test_call_reaches_tls_phone_over_its_own_flow(tmp_path):
    """The INVITE to a phone registered over TLS (baresip) rides the
    phone's own connection; the caller's RTP reaches it."""
    from sbtest import Baresip, gentls, write_tone_wav
    sw = call_switch(tmp_path)
    internal = sw.ssl_dir("internal")
    gentls("create_client", "-base", internal, "-cn", "phone1002",
           "-out", "phone1002.pem")
    sw.start()
    rec = os.path.join(str(tmp_path), "rec")
    os.makedirs(rec)
    callee = Baresip(tmp_path,
                     "<sip:1002@127.0.0.1:%d;transport=tls>;auth_pass=1234;"
                     "regint=600;answermode=auto;audio_codecs=PCMA,PCMU;"
                     "mediaenc=srtp-mand"
                     % sw.ports["internal_tls_port"],
                     os.path.join(internal, "cafile.pem"),
                     certificate=os.path.join(internal, "phone1002.pem"),
                     extra_modules=("sndfile.so",),
                     extra_config=("snd_path %s" % rec,),
                     audio_source=write_tone_wav(
                         os.path.join(str(tmp_path), "tone.wav")))
    try:
        assert wait_for(lambda: "1002@127.0.0.1" in bindings(sw),
                        timeout=15), bindings(sw) + callee.output()
        code, out = caller(sw, "1000", "1002")
        assert code == 0, out + sw.log()
        log = sw.log()
        assert grep(r"SB02612 call .* INVITE .* over tls to 127\.0\.0\.1",
                    log), log
        # One TLS connection, the phone's; the switch opened none.
        assert len(re.findall(r"SB02010 .*\(we are server\)", log)) == 1, log
        assert not grep(r"\(we are client\)", log), log
        # baresip recorded what it decoded: the caller's audio arrived.
        decoded = [f for f in os.listdir(rec) if f.endswith("-dec.wav")]
        assert decoded, os.listdir(rec)
        size = os.path.getsize(os.path.join(rec, decoded[0]))
        assert size > 16000, size  # > 1 s of 8 kHz 16-bit audio
    finally:
        callee.close()
        sw.stop()


def test_call_to_dead_tls_flow_fails_fast_480(tmp_path):
    sw = call_switch(tmp_path)
    sw.start()
    tunnel = Stunnel(tmp_path, sw.ports["internal_tls_port"],
                     os.path.join(sw.ssl_dir("internal"), "cafile.pem"))
    try:
        code, out = sipp("register_auth.xml", tunnel.port, "t1",
                         service="1003",
                         extra=("-au", "1003", "-ap", "1234",
                                "-key", "expires", "600"))
        assert code == 0, out
        # SIPp has exited: its TLS connection (via stunnel) is closed.
        assert wait_for(lambda: re.search(r"1003@127\.0\.0\.1 .* tls",
                                          bindings(sw)), timeout=5)
        start = time.monotonic()
        code, out = failing_caller(sw, tmp_path, "1000", "1003", 480)
        assert code == 0, out
        assert time.monotonic() - start < 5
        log = sw.log()
        assert grep(r"SB02420 .*1003@127\.0\.0\.1: flow \d+ of .* is gone; "
                    r"INVITE not sent", log), log
    finally:
        tunnel.close()
        sw.stop()


def test_hold_reinvite_passes_through(tmp_path):
    with call_switch(tmp_path) as sw:
        call_through(sw, uas="call_uas_held.xml", uac="call_uac_hold.xml")
        assert grep(r"SB02633 call .*: re-INVITE with hold passed on",
                    sw.log()), sw.log()


def test_media_timeout_hangs_up_both_legs(tmp_path):
    with call_switch(tmp_path, media_timeout="2") as sw:
        callee = registered_phone(sw, "1001")
        start = time.monotonic()
        # Neither phone sends RTP: after 2 s the switch sends BYE to both.
        code, out = caller(sw, "1000", "1001",
                           scenario="call_uac_wait_bye.xml")
        assert code == 0, out
        assert 1.5 < time.monotonic() - start < 8
        phone_done(callee)
        assert grep(r"SB02632 call .*: no media for 2 s", sw.log())
        assert grep(r"hangup MEDIA_TIMEOUT", sw.log())


def test_show_calls_and_uuid_kill(tmp_path):
    with call_switch(tmp_path) as sw:
        callee = registered_phone(sw, "1001")
        caller_proc = caller_bg(sw, "1000", "1001", "call_uac_wait_bye.xml")
        assert wait_for(lambda: "1 call(s)" in sw.cli("show calls").stdout,
                        timeout=10), sw.cli("show calls").stdout
        listing = sw.cli("show calls").stdout
        a = re.search(r"^(\S+) A up\s+udp .*port \d+ peer 127\.0\.0\.1:\d+",
                      listing, re.M)
        assert a, listing
        assert re.search(r"^\S+ B up\s+udp ", listing, re.M), listing
        channels = sw.cli("show channels").stdout
        assert "2 channel(s)" in channels, channels
        out = sw.cli("uuid_kill %s" % a.group(1)).stdout
        assert out.startswith("+OK"), out
        rc, out = sipp_wait(caller_proc)
        assert rc == 0, out
        phone_done(callee)
        assert wait_for(lambda: "0 call(s)" in sw.cli("show calls").stdout,
                        timeout=5)
        bad = sw.cli("uuid_kill 00000000-0000-0000-0000-000000000000",
                     check=False).stdout
        assert bad.startswith("-ERR no such channel"), bad


def tone_frequency(path):
    """The strongest of a few test frequencies in a 16-bit mono WAV."""
    import math
    import struct
    import wave
    with wave.open(path) as w:
        rate = w.getframerate()
        raw = w.readframes(w.getnframes())
    samples = struct.unpack("<%dh" % (len(raw) // 2), raw)
    # Skip the start (jitter buffer fill), look at one second.
    chunk = samples[rate // 2: rate // 2 + rate]
    if len(chunk) < rate // 2:
        return None, 0.0

    def power(hz):
        re_ = sum(x * math.cos(2 * math.pi * hz * i / rate)
                  for i, x in enumerate(chunk))
        im = sum(x * math.sin(2 * math.pi * hz * i / rate)
                 for i, x in enumerate(chunk))
        return re_ * re_ + im * im

    powers = {hz: power(hz) for hz in (440, 660, 880, 1000)}
    best = max(powers, key=powers.get)
    rest = sum(v for k, v in powers.items() if k != best) or 1.0
    return best, powers[best] / rest


def test_two_baresips_udp_and_tls_hear_each_other(tmp_path):
    """A baresip on UDP calls a baresip registered over TLS: each one's
    tone is recorded at the other end."""
    from sbtest import Baresip, gentls, write_tone_wav
    sw = call_switch(tmp_path)
    internal = sw.ssl_dir("internal")
    gentls("create_client", "-base", internal, "-cn", "phone1002",
           "-out", "phone1002.pem")
    sw.start()
    cafile = os.path.join(internal, "cafile.pem")
    recs = {}
    for name in ("caller", "callee"):
        recs[name] = os.path.join(str(tmp_path), "rec-" + name)
        os.makedirs(recs[name])
    callee = Baresip(
        tmp_path,
        "<sip:1002@127.0.0.1:%d;transport=tls>;auth_pass=1234;regint=600;"
        "answermode=auto;audio_codecs=PCMU;mediaenc=srtp-mand"
        % sw.ports["internal_tls_port"],
        cafile, certificate=os.path.join(internal, "phone1002.pem"),
        extra_modules=("sndfile.so",),
        extra_config=("snd_path %s" % recs["callee"],),
        audio_source=write_tone_wav(os.path.join(str(tmp_path), "880.wav"),
                                    seconds=8, hz=880))
    caller_phone = None
    try:
        assert wait_for(lambda: "1002@127.0.0.1" in bindings(sw),
                        timeout=15), bindings(sw) + callee.output()
        caller_phone = Baresip(
            tmp_path,
            "<sip:1001@127.0.0.1:%d>;auth_pass=1234;regint=600;"
            "audio_codecs=PCMU" % sw.ports["internal_sip_port"],
            cafile, seconds=6, extra_modules=("sndfile.so",),
            extra_config=("snd_path %s" % recs["caller"],),
            audio_source=write_tone_wav(
                os.path.join(str(tmp_path), "440.wav"), seconds=8, hz=440),
            commands=("/dial sip:1002@127.0.0.1:%d"
                      % sw.ports["internal_sip_port"],))
        caller_phone.proc.wait(timeout=20)
        log = sw.log()
        assert grep(r"SB02622 call .*: bridged to", log), \
            log + caller_phone.output()
        assert grep(r"SB02612 call .* over tls to 127\.0\.0\.1", log), log
        heard = {}
        for name, rec in recs.items():
            dec = [f for f in os.listdir(rec) if f.endswith("-dec.wav")]
            assert dec, (name, os.listdir(rec))
            heard[name] = tone_frequency(os.path.join(rec, dec[0]))
        # The callee heard the caller's 440 Hz, the caller the callee's 880.
        assert heard["callee"][0] == 440 and heard["callee"][1] > 10, heard
        assert heard["caller"][0] == 880 and heard["caller"][1] > 10, heard
    finally:
        if caller_phone:
            caller_phone.close()
        callee.close()
        sw.stop()


def test_tls_caller_through_switch_to_udp_phone_with_rtp(tmp_path):
    """SIPp over TLS (stunnel) calls a UDP phone: signalling crosses from
    TLS to UDP and the caller's RTP reaches the callee."""
    sw = call_switch(tmp_path)
    sw.start()
    tunnel = Stunnel(tmp_path, sw.ports["internal_tls_port"],
                     os.path.join(sw.ssl_dir("internal"), "cafile.pem"))
    sink = RtpSink()
    try:
        callee = phone(sw, "1001", rtp_port=sink.port)
        code, out = sipp("call_uac.xml", tunnel.port, "t1", service="1000",
                         extra=("-au", "1000", "-ap", "1234",
                                "-key", "callee", "1001",
                                "-mp", str(free_port(socket.SOCK_DGRAM))))
        assert code == 0, out
        phone_done(callee)
        log = sw.log()
        assert grep(r"SB02601 call .* over tls \(authenticated\)", log), log
        assert grep(r"SB02612 call .* over udp to 127\.0\.0\.1", log), log
        assert len(sink.packets) >= 50, len(sink.packets)
    finally:
        sink.close()
        tunnel.close()
        sw.stop()


def test_call_forks_to_every_contact_of_the_user(tmp_path):
    """1001 registered from two phones: both ring, the first to answer
    gets the call, the other is cancelled."""
    with call_switch(tmp_path) as sw:
        ringer = phone(sw, "1001", scenario="call_uas_ring.xml")
        answerer = phone(sw, "1001")
        assert wait_for(lambda: "2 registration(s)" in bindings(sw),
                        timeout=10), bindings(sw)
        code, out = caller(sw, "1000", "1001")
        assert code == 0, out
        rc, out = sipp_wait(answerer)
        assert rc == 0, out
        rc, out = sipp_wait(ringer)
        assert rc == 0, out
        log = sw.log()
        assert len(re.findall(r"SB02612 call .* INVITE sip:1001@", log)) == 2


def add_extensions(sw, xml):
    """Extra extensions in the default context, in their own file."""
    with open(os.path.join(sw.conf, "dialplan", "zz_test.xml"), "w") as f:
        f.write('<include>\n  <context name="default">\n%s\n'
                '  </context>\n</include>\n' % xml)


def test_sequential_bridge_tries_the_next_target(tmp_path):
    sw = call_switch(tmp_path)
    add_extensions(sw, '''
    <extension name="seq">
      <condition field="destination_number" expression="^2001$">
        <action application="bridge"
                data="user/1005@${domain_name}|user/1001@${domain_name}"/>
      </condition>
    </extension>''')
    sw.start()
    try:
        callee = phone(sw, "1001")
        code, out = caller(sw, "1000", "2001")
        assert code == 0, out
        phone_done(callee)
    finally:
        sw.stop()


def test_continue_on_fail_runs_the_next_action(tmp_path):
    sw = call_switch(tmp_path)
    add_extensions(sw, '''
    <extension name="fallback">
      <condition field="destination_number" expression="^2002$">
        <action application="set" data="continue_on_fail=true"/>
        <action application="bridge" data="user/1005@${domain_name}"/>
        <action application="log" data="NOTICE fell back after ${originate_disposition}"/>
        <action application="hangup" data="USER_BUSY"/>
      </condition>
    </extension>''')
    sw.start()
    try:
        code, out = failing_caller(sw, tmp_path, "1000", "2002", 486)
        assert code == 0, out
        assert grep(r"SB03001 .*fell back after \w+", sw.log()), sw.log()
    finally:
        sw.stop()


def test_echo_extension_sends_the_audio_back(tmp_path):
    with call_switch(tmp_path) as sw:
        proc = sipp_bg("call_uac.xml", sw.ports["internal_sip_port"], "u1",
                       service="1000",
                       extra=("-au", "1000", "-ap", "1234", "-key",
                              "callee", "9196", "-mp",
                              str(free_port(socket.SOCK_DGRAM))))

        def echoed():
            m = re.search(r" A up .* rx (\d+) tx (\d+)",
                          sw.cli("show channels").stdout)
            return m and int(m.group(1)) > 20 and int(m.group(2)) > 20

        assert wait_for(echoed, timeout=10), sw.cli("show channels").stdout
        rc, out = sipp_wait(proc)
        assert rc == 0, out


def test_dialplan_errors_named_with_file_and_line(tmp_path):
    sw = call_switch(tmp_path)
    add_extensions(sw, '''
    <extension name="bad">
      <condition field="destination_number" expression="^(2003$">
        <action application="no_such_app" data="x"/>
      </condition>
    </extension>''')
    sw.start()
    try:
        log = sw.log()
        assert grep(r"SB02119 .*zz_test\.xml:5: dialplan: .*", log), log
        # Calls find no route (404); the switch keeps running.
        code, out = failing_caller(sw, tmp_path, "1000", "1001", 404)
        assert code == 0, out
    finally:
        sw.stop()


def test_max_forwards_zero_gets_483(tmp_path):
    with call_switch(tmp_path) as sw:
        port = sw.ports["internal_sip_port"]
        msg = ("INVITE sip:1001@127.0.0.1:%d SIP/2.0\r\n"
               "Via: SIP/2.0/UDP 127.0.0.1:5998;branch=z9hG4bKmf0;rport\r\n"
               "Max-Forwards: 0\r\n"
               "From: <sip:1000@127.0.0.1>;tag=mf\r\n"
               "To: <sip:1001@127.0.0.1>\r\n"
               "Call-ID: loop-test@127.0.0.1\r\nCSeq: 1 INVITE\r\n"
               "Contact: <sip:1000@127.0.0.1:5998>\r\n"
               "Content-Length: 0\r\n\r\n" % port)
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.settimeout(3)
        s.sendto(msg.encode(), ("127.0.0.1", port))
        reply = s.recv(65536).decode()
        s.close()
        assert reply.startswith("SIP/2.0 483"), reply
        assert grep(r"SB02605 call loop-test@127\.0\.0\.1: Max-Forwards 0",
                    sw.log())


def test_invite_retransmitted_after_the_answer_is_one_call(tmp_path):
    """RFC 6026: an INVITE retransmission that arrives after our 200
    gets the 200 again and does not start a second call."""
    with call_switch(tmp_path, auth_calls="false", context="default") as sw:
        port = sw.ports["internal_sip_port"]
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind(("127.0.0.1", 0))
        sock.settimeout(3)
        me = sock.getsockname()[1]
        body = ("v=0\r\no=x 1 1 IN IP4 127.0.0.1\r\ns=-\r\n"
                "c=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 9 RTP/AVP 0\r\n")
        invite = ("INVITE sip:9196@127.0.0.1:%d SIP/2.0\r\n"
                  "Via: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bKrt1;rport\r\n"
                  "Max-Forwards: 70\r\nFrom: <sip:1000@127.0.0.1>;tag=rt\r\n"
                  "To: <sip:9196@127.0.0.1>\r\nCall-ID: rt-1@127.0.0.1\r\n"
                  "CSeq: 1 INVITE\r\nContact: <sip:1000@127.0.0.1:%d>\r\n"
                  "Content-Type: application/sdp\r\nContent-Length: %d\r\n"
                  "\r\n%s" % (port, me, me, len(body), body))
        sock.sendto(invite.encode(), ("127.0.0.1", port))
        got = ""
        while not got.startswith("SIP/2.0 200"):
            got = sock.recv(65536).decode()
        time.sleep(0.3)
        sock.sendto(invite.encode(), ("127.0.0.1", port))
        again = ""
        while not again.startswith("SIP/2.0 200"):
            again = sock.recv(65536).decode()
        assert "Content-Type: application/sdp" in again
        assert len(re.findall(r"SB02601 call rt-1@", sw.log())) == 1, \
            sw.log()
        assert "1 call(s)" in sw.cli("show calls").stdout
        sock.close()


def test_tls_phone_lost_while_ringing_ends_the_call_fast(tmp_path):
    """The callee's TLS connection dies while it rings: the INVITE fails
    at once (480 to the caller), nothing connects back to the phone."""
    from sbtest import Baresip, gentls
    sw = call_switch(tmp_path)
    internal = sw.ssl_dir("internal")
    gentls("create_client", "-base", internal, "-cn", "phone1002",
           "-out", "phone1002.pem")
    sw.start()
    callee = Baresip(tmp_path,
                     "<sip:1002@127.0.0.1:%d;transport=tls>;auth_pass=1234;"
                     "regint=600;audio_codecs=PCMA;mediaenc=srtp-mand"
                     % sw.ports["internal_tls_port"],
                     os.path.join(internal, "cafile.pem"),
                     certificate=os.path.join(internal, "phone1002.pem"))
    try:
        assert wait_for(lambda: "1002@127.0.0.1" in bindings(sw),
                        timeout=15), bindings(sw)
        with open(os.path.join(SCENARIOS, "call_uac_fail.xml")) as f:
            text = f.read().replace("@STATUS@", "480")
        path = os.path.join(str(tmp_path), "fail480.xml")
        with open(path, "w") as f:
            f.write(text)
        proc = sipp_bg(path, sw.ports["internal_sip_port"], "u1",
                       service="1000",
                       extra=("-au", "1000", "-ap", "1234", "-key",
                              "callee", "1002", "-mp",
                              str(free_port(socket.SOCK_DGRAM))))
        assert wait_for(lambda: grep(r"SB02612 call .* over tls",
                                     sw.log()), timeout=10), sw.log()
        time.sleep(0.5)
        callee.proc.kill()  # no close_notify, no BYE: the phone is gone
        start = time.monotonic()
        rc, out = sipp_wait(proc, timeout=20)
        assert rc == 0, out + sw.log()
        assert time.monotonic() - start < 3
        assert not grep(r"\(we are client\)", sw.log())
    finally:
        callee.close()
        sw.stop()


class StunnelServer:
    """A TLS server tunnel: TLS on a local port, plain TCP to a UAS."""

    def __init__(self, tmp_path, target_port, cert):
        self.port = free_port()
        self.dir = os.path.join(str(tmp_path), "stunnel-srv-%d" % self.port)
        os.makedirs(self.dir)
        cfg = os.path.join(self.dir, "stunnel.conf")
        with open(cfg, "w") as f:
            f.write("foreground = yes\npid =\nsyslog = no\n"
                    "output = %s/stunnel.log\ndebug = 5\n[uas]\n"
                    "accept = 127.0.0.1:%d\nconnect = 127.0.0.1:%d\n"
                    "cert = %s\n" % (self.dir, self.port, target_port, cert))
        self.proc = subprocess.Popen(["stunnel4", cfg],
                                     stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        time.sleep(0.5)

    def close(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)


def test_trunk_over_tls_verified_and_reused(tmp_path):
    """bridge to sip/internal/...;transport=tls: the switch connects as a
    verified TLS client, and two calls share one connection."""
    from sbtest import gentls
    sw = call_switch(tmp_path, srtp_sdes_insecure="false")
    internal = sw.ssl_dir("internal")
    gentls("create_server", "-base", internal, "-cn", "localhost",
           "-alt", "127.0.0.1", "-alt", "localhost", "-out", "uas.pem")
    uas_port = free_port()
    tunnel = StunnelServer(tmp_path, uas_port,
                           os.path.join(internal, "uas.pem"))
    add_extensions(sw, '''
    <extension name="trunk">
      <condition field="destination_number" expression="^trunk$">
        <action application="bridge"
                data="{rtp_secure_media=forbidden}sip/internal/uas@localhost:%d;transport=tls"/>
      </condition>
    </extension>''' % tunnel.port)
    sw.start()
    try:
        uas = sipp_bg("call_uas.xml", 0, "t1", service="uas",
                      local_port=uas_port, calls=2,
                      extra=("-key", "rtp_port", "9"))
        time.sleep(0.5)
        for i in range(2):
            code, out = caller(sw, "1000", "trunk")
            assert code == 0, out + sw.log()
        rc, out = sipp_wait(uas)
        assert rc == 0, out
        log = sw.log()
        # Verified as a TLS client (the trunk's certificate, our CA) ...
        clients = re.findall(r"SB02010 .*\(we are client\).*verify: (\S+)",
                             log)
        # ... once: the second call rode the same connection.
        assert clients == ["ok"], log
        # The host name was looked up off the worker.
        assert len(re.findall(r"SB02614 call .*: resolving sip:uas@localhost",
                              log)) == 2, log
        assert len(re.findall(r"SB02612 call .* over tls", log)) == 2, log
    finally:
        tunnel.close()
        sw.stop()


def test_profile_restart_ends_its_calls_cleanly(tmp_path):
    with call_switch(tmp_path) as sw:
        proc = sipp_bg("call_uac_wait_bye.xml", sw.ports["internal_sip_port"],
                       "u1", service="1000",
                       extra=("-au", "1000", "-ap", "1234", "-key",
                              "callee", "9196", "-mp",
                              str(free_port(socket.SOCK_DGRAM))))
        assert wait_for(lambda: "1 call(s)" in sw.cli("show calls").stdout,
                        timeout=10), sw.cli("show calls").stdout
        out = sw.cli("sips profile internal restart").stdout
        rc, sipp_out = sipp_wait(proc)
        assert rc == 0, sipp_out + out
        assert "0 call(s)" in sw.cli("show calls").stdout
        # The restarted profile takes calls again.
        code, out = caller(sw, "1000", "9196", hold_ms=500)
        assert code == 0, out


def test_answered_before_bridge_gets_the_b_media(tmp_path):
    """answer, then bridge: the caller is re-INVITEd with the media of the
    leg that answered, and both tones still cross."""
    from sbtest import Baresip, gentls, write_tone_wav
    sw = call_switch(tmp_path)
    add_extensions(sw, '''
    <extension name="answer_first">
      <condition field="destination_number" expression="^2004$">
        <action application="answer"/>
        <action application="sleep" data="500"/>
        <action application="bridge" data="user/1002@${domain_name}"/>
      </condition>
    </extension>''')
    internal = sw.ssl_dir("internal")
    gentls("create_client", "-base", internal, "-cn", "phone1002",
           "-out", "phone1002.pem")
    sw.start()
    cafile = os.path.join(internal, "cafile.pem")
    recs = {n: os.path.join(str(tmp_path), "rec-" + n)
            for n in ("caller", "callee")}
    for d in recs.values():
        os.makedirs(d)
    callee = Baresip(
        tmp_path,
        "<sip:1002@127.0.0.1:%d;transport=tls>;auth_pass=1234;regint=600;"
        "answermode=auto;audio_codecs=PCMU;mediaenc=srtp-mand"
        % sw.ports["internal_tls_port"],
        cafile, certificate=os.path.join(internal, "phone1002.pem"),
        extra_modules=("sndfile.so",),
        extra_config=("snd_path %s" % recs["callee"],),
        audio_source=write_tone_wav(os.path.join(str(tmp_path), "880.wav"),
                                    seconds=8, hz=880))
    caller_phone = None
    try:
        assert wait_for(lambda: "1002@127.0.0.1" in bindings(sw),
                        timeout=15), bindings(sw)
        caller_phone = Baresip(
            tmp_path,
            "<sip:1001@127.0.0.1:%d>;auth_pass=1234;regint=600;"
            "audio_codecs=PCMU" % sw.ports["internal_sip_port"],
            cafile, seconds=7, extra_modules=("sndfile.so",),
            extra_config=("snd_path %s" % recs["caller"],),
            audio_source=write_tone_wav(
                os.path.join(str(tmp_path), "440.wav"), seconds=8, hz=440),
            commands=("/dial sip:2004@127.0.0.1:%d"
                      % sw.ports["internal_sip_port"],))
        caller_phone.proc.wait(timeout=20)
        log = sw.log()
        assert grep(r"SB02622 call .*: bridged to", log), log
        heard = {}
        for name, rec in recs.items():
            dec = sorted(f for f in os.listdir(rec) if f.endswith("-dec.wav"))
            assert dec, (name, os.listdir(rec))
            heard[name] = tone_frequency(os.path.join(rec, dec[-1]))
        assert heard["callee"][0] == 440 and heard["callee"][1] > 10, heard
        assert heard["caller"][0] == 880 and heard["caller"][1] > 10, heard
    finally:
        if caller_phone:
            caller_phone.close()
        callee.close()
        sw.stop()


def test_late_offer_caller_gets_our_offer_and_answers_in_the_ack(tmp_path):
    """RFC 3261 13.2.1: an INVITE without SDP gets the offer in the 200
    and answers in the ACK; media then flows to the callee."""
    sw = call_switch(tmp_path)
    sw.start()
    sink = RtpSink()
    try:
        call_through(sw, uac="call_uac_late.xml", rtp_port=sink.port)
        log = sw.log()
        assert grep(r"SB02635 call .*: INVITE without SDP", log), log
        assert not grep(r"SB02636", log), log
        # The caller's G.711 reached the callee through the relay.
        assert len(sink.packets) >= 50, len(sink.packets)
    finally:
        sink.close()
        sw.stop()


def test_late_offer_without_answer_in_the_ack_ends_the_call(tmp_path):
    with call_switch(tmp_path) as sw:
        callee = registered_phone(sw, "1001")
        code, out = caller(sw, "1000", "1001",
                           scenario="call_uac_late_noanswer.xml")
        assert code == 0, out + sw.log()
        # Both sides got a BYE from the switch.
        phone_done(callee)
        log = sw.log()
        assert grep(r"SB02636 call .*: late offer: no SDP answer", log), log
        assert wait_for(lambda: "0 call(s)" in sw.cli("show calls").stdout,
                        timeout=5), sw.cli("show calls").stdout


def test_2xx_to_a_reinvite_is_resent_over_udp_until_the_ack(tmp_path):
    """RFC 3261 13.3.1.4 holds for re-INVITEs too: the 200 comes again
    (T1, 2*T1, ...) until the ACK, and stops once it is there."""
    with call_switch(tmp_path, auth_calls="false", context="default") as sw:
        port = sw.ports["internal_sip_port"]
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind(("127.0.0.1", 0))
        me = sock.getsockname()[1]
        body = ("v=0\r\no=x 1 %d IN IP4 127.0.0.1\r\ns=-\r\n"
                "c=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 9 RTP/AVP 0\r\n")

        def request(method, cseq, to_tag="", sdp=None):
            return ("%s sip:9196@127.0.0.1:%d SIP/2.0\r\n"
                    "Via: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bKre%s%d;"
                    "rport\r\nMax-Forwards: 70\r\n"
                    "From: <sip:1000@127.0.0.1>;tag=re\r\n"
                    "To: <sip:9196@127.0.0.1>%s\r\nCall-ID: re-1@127.0.0.1\r\n"
                    "CSeq: %d %s\r\nContact: <sip:1000@127.0.0.1:%d>\r\n"
                    "%sContent-Length: %d\r\n\r\n%s"
                    % (method, port, me, method, cseq, to_tag, cseq, method,
                       me, "Content-Type: application/sdp\r\n" if sdp
                       else "", len(sdp or ""), sdp or "")).encode()

        def final_responses(seconds, cseq):
            """Every 200 to CSeq @cseq that arrives within @seconds."""
            got, end = [], time.monotonic() + seconds
            while time.monotonic() < end:
                sock.settimeout(max(0.01, end - time.monotonic()))
                try:
                    msg = sock.recv(65536).decode()
                except socket.timeout:
                    break
                if msg.startswith("SIP/2.0 200") and \
                        re.search(r"CSeq: %d INVITE" % cseq, msg):
                    got.append(msg)
            return got

        sock.sendto(request("INVITE", 1, sdp=body % 1), ("127.0.0.1", port))
        ok = final_responses(1.0, 1)
        assert ok, sw.log()
        tag = re.search(r"To: .*(;tag=[^;\r\n]+)", ok[0]).group(1)
        sock.sendto(request("ACK", 1, tag), ("127.0.0.1", port))
        sock.sendto(request("INVITE", 2, tag, body % 2), ("127.0.0.1", port))
        # No ACK yet: the 200 at once, then after T1 and 3*T1.
        resent = final_responses(2.0, 2)
        assert len(resent) >= 3, len(resent)
        assert all("m=audio" in m for m in resent), resent[0]
        sock.sendto(request("ACK", 2, tag), ("127.0.0.1", port))
        final_responses(0.2, 2)  # one may have crossed the ACK
        assert final_responses(2.5, 2) == [], "resent after the ACK"
        assert "1 call(s)" in sw.cli("show calls").stdout
        sock.sendto(request("BYE", 3, tag), ("127.0.0.1", port))
        sock.close()


def test_slow_dns_for_a_trunk_holds_no_worker(tmp_path):
    """A trunk whose name the DNS server never answers: the switch (one
    worker) keeps taking other calls while the lookup waits, and the
    trunk call fails with 503 once the lookup gives up."""
    from sbtest import FakeDns, dns_namespace
    dns = FakeDns(silent=True)
    sw = call_switch(tmp_path)
    sw.threads = 1
    dns_namespace(sw, tmp_path, dns, "options timeout:8 attempts:1\n")
    add_extensions(sw, '''
    <extension name="slow">
      <condition field="destination_number" expression="^slow$">
        <action application="bridge"
                data="sip/internal/uas@trunk.slow.test:5999"/>
      </condition>
    </extension>''')
    sw.start()
    try:
        with open(os.path.join(SCENARIOS, "call_uac_fail.xml")) as f:
            text = f.read().replace("@STATUS@", "503")
        path = os.path.join(str(tmp_path), "fail503.xml")
        with open(path, "w") as f:
            f.write(text)
        slow = sipp_bg(path, sw.ports["internal_sip_port"], "u1",
                       service="1000",
                       extra=("-au", "1000", "-ap", "1234", "-key",
                              "callee", "slow", "-mp",
                              str(free_port(socket.SOCK_DGRAM))))
        assert wait_for(lambda: grep(r"SB02614 .*resolving", sw.log()),
                        timeout=10), sw.log()
        # The only worker takes a whole call meanwhile.
        code, out = caller(sw, "1000", "9196")
        assert code == 0, out + sw.log()
        assert not grep(r"SB02610", sw.log()), sw.log()
        rc, out = sipp_wait(slow, timeout=40)
        assert rc == 0, out + sw.log()
        assert grep(r"SB02610 .*trunk\.slow\.test", sw.log()), sw.log()
        assert ("trunk.slow.test", FakeDns.A) in dns.queries, dns.queries
    finally:
        dns.close()
        sw.stop()


def test_trunk_domain_found_by_dns_srv(tmp_path):
    """RFC 3263: sip:uas@DOMAIN without a port asks _sip._udp.DOMAIN for
    SRV, and the INVITE goes to the chosen target's address and port (the
    lower priority wins; the other target does not exist)."""
    from sbtest import FakeDns, dns_namespace
    uas_port = free_port(socket.SOCK_DGRAM)
    dns = FakeDns({
        ("_sip._udp.trunk.srv.test", FakeDns.SRV): [
            FakeDns.srv(20, 0, 5999, "backup.srv.test"),
            FakeDns.srv(10, 5, uas_port, "uas.srv.test")],
        ("uas.srv.test", FakeDns.A): [socket.inet_aton("127.0.0.1")],
        ("uas.srv.test", FakeDns.AAAA): [],
    })
    sw = call_switch(tmp_path)
    dns_namespace(sw, tmp_path, dns)
    add_extensions(sw, '''
    <extension name="srv">
      <condition field="destination_number" expression="^srv$">
        <action application="bridge" data="sip/internal/uas@trunk.srv.test"/>
      </condition>
    </extension>''')
    sw.start()
    try:
        uas = sipp_bg("call_uas.xml", 0, "u1", service="uas",
                      local_port=uas_port, extra=("-key", "rtp_port", "9"))
        time.sleep(0.3)
        code, out = caller(sw, "1000", "srv")
        assert code == 0, out + sw.log()
        rc, out = sipp_wait(uas)
        assert rc == 0, out
        log = sw.log()
        assert grep(r"SB02615 .*trunk\.srv\.test: SRV target uas\.srv\.test "
                    r"port %d" % uas_port, log), log
        assert grep(r"SB02612 .* over udp to 127\.0\.0\.1:%d" % uas_port,
                    log), log
        assert ("_sip._udp.trunk.srv.test", FakeDns.SRV) in dns.queries
    finally:
        dns.close()
        sw.stop()


def test_sofia_contact_profile_forms(tmp_path):
    """FreeSWITCH's ${sofia_contact(*/user@domain)} finds the phone on any
    profile; PROFILE/user@domain only on that one (else not registered)."""
    sw = call_switch(tmp_path)
    add_extensions(sw, '''
    <extension name="any_profile">
      <condition field="destination_number" expression="^any1001$">
        <action application="bridge"
                data="${sofia_contact(*/1001@${domain_name})}"/>
      </condition>
    </extension>
    <extension name="other_profile">
      <condition field="destination_number" expression="^ext1001$">
        <action application="bridge"
                data="${sofia_contact(external/1001@${domain_name})}"/>
      </condition>
    </extension>''')
    sw.start()
    try:
        callee = registered_phone(sw, "1001")
        code, out = failing_caller(sw, tmp_path, "1000", "ext1001", 480)
        assert code == 0, out + sw.log()
        code, out = caller(sw, "1000", "any1001")
        assert code == 0, out + sw.log()
        phone_done(callee)
    finally:
        sw.stop()
