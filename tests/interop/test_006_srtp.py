"""Issue 6: plain RTP legs bridged to SDES-SRTP legs by rtp_secure_media."""
import base64
import os
import re
import socket
import subprocess
import threading
import time

from sbtest import (Switch, sipp, sipp_bg, sipp_wait, set_param, wait_for,
                    grep, SCENARIOS, free_port)
from test_005_calls import (call_switch, bindings, phone, caller,
                            failing_caller, add_extensions, RtpSink,
                            tone_frequency)

KEY_LEN = {
    "AES_CM_128_HMAC_SHA1_80": 30, "AES_CM_128_HMAC_SHA1_32": 30,
    "AES_256_CM_HMAC_SHA1_80": 46, "AES_256_CM_HMAC_SHA1_32": 46,
    "AEAD_AES_128_GCM": 28, "AEAD_AES_256_GCM": 44,
}


def srtp_peer_path():
    top = os.environ.get("SB_TOP_BUILDDIR")
    path = os.path.join(top or "", "tests", "peers", "srtp_peer")
    assert os.access(path, os.X_OK), "build tests/peers/srtp_peer first"
    return path


class SrtpUas:
    """A UDP SIP phone that answers one INVITE with SDES for @suite and
    talks SRTP through tests/peers/srtp_peer."""

    def __init__(self, suite, seconds=4):
        self.suite = suite
        self.seconds = seconds
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(20)
        self.port = self.sock.getsockname()[1]
        self.media_port = free_port(socket.SOCK_DGRAM)
        self.result = None
        self.offer = None
        self.error = None
        self.offers = []     # every offer, re-INVITEs included
        self.results = []    # srtp_peer's output per answer
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _reply(self, req, src, status, body=None, tag="uas1"):
        heads = req.split("\r\n\r\n")[0].split("\r\n")
        keep = [h for h in heads[1:] if h.split(":")[0].lower() in
                ("via", "from", "to", "call-id", "cseq")]
        keep = [h + ";tag=" + tag if h.lower().startswith("to:") and
                "tag=" not in h else h for h in keep]
        msg = "SIP/2.0 %s\r\n%s\r\n" % (status, "\r\n".join(keep))
        msg += "Contact: <sip:peer@127.0.0.1:%d>\r\n" % self.port
        if body:
            msg += "Content-Type: application/sdp\r\n"
        msg += "Content-Length: %d\r\n\r\n%s" % (len(body or ""),
                                                  body or "")
        self.sock.sendto(msg.encode(), src)

    def _run(self):
        try:
            while True:
                data, src = self.sock.recvfrom(65536)
                req = data.decode(errors="replace")
                if req.startswith("INVITE"):
                    self._answer(req, src)
                elif req.startswith("BYE"):
                    self._reply(req, src, "200 OK")
                    return
        except Exception as e:  # reported by the test
            self.error = e

    def _answer(self, req, src):
        self.offer = req.split("\r\n\r\n", 1)[1]
        self.offers.append(self.offer)
        m = re.search(r"m=audio (\d+) \S+ (\d+)", self.offer)
        line = re.search(r"a=crypto:(\d+) %s inline:([A-Za-z0-9+/=]+)"
                         % self.suite, self.offer)
        if not line:
            self._reply(req, src, "488 Not Acceptable Here")
            return
        ours = base64.b64encode(os.urandom(KEY_LEN[self.suite])).decode()
        sdp = ("v=0\r\no=peer 1 1 IN IP4 127.0.0.1\r\ns=-\r\n"
               "c=IN IP4 127.0.0.1\r\nt=0 0\r\n"
               "m=audio %d RTP/SAVP %s\r\n"
               "a=crypto:%s %s inline:%s\r\n"
               % (self.media_port, m.group(2), line.group(1), self.suite,
                  ours))
        self._reply(req, src, "100 Trying")
        self._reply(req, src, "200 OK", sdp)
        peer = subprocess.run(
            [srtp_peer_path(), self.suite, ours, line.group(2),
             str(self.media_port), "127.0.0.1", m.group(1),
             str(self.seconds)], capture_output=True, text=True,
            timeout=self.seconds + 10)
        self.result = peer.stdout + peer.stderr
        self.results.append(self.result)

    def counts(self, result=None):
        m = re.search(r"sent (\d+) received (\d+) auth_failed (\d+) "
                      r"replayed (\d+) payload_ok (\d+)",
                      result or self.result or "")
        return [int(x) for x in m.groups()] if m else None


def srtp_switch(tmp_path, ext_xml=None, **params):
    sw = call_switch(tmp_path, **params)
    if ext_xml:
        add_extensions(sw, ext_xml)
    return sw


def peer_extension(port, policy):
    return '''
    <extension name="srtp_peer">
      <condition field="destination_number" expression="^peer$">
        <action application="bridge"
                data="{rtp_secure_media=%s}sip/internal/peer@127.0.0.1:%d"/>
      </condition>
    </extension>''' % (policy, port)


import pytest


@pytest.mark.parametrize("suite", sorted(KEY_LEN))
def test_every_suite_end_to_end_with_a_libsrtp_peer(tmp_path, suite):
    """A plain SIPp caller (pcap RTP) to an SRTP phone: the switch
    protects toward it and unprotects what it sends, with each suite.
    The GCM suites are named bare (rtp_secure_media=SUITE: mandatory,
    that suite only), the others as mandatory:SUITE."""
    uas = SrtpUas(suite)
    policy = suite if suite.startswith("AEAD") else "mandatory:" + suite
    sw = srtp_switch(tmp_path, peer_extension(uas.port, policy),
                     srtp_sdes_insecure="true")
    sw.start()
    try:
        proc = sipp_bg("call_uac.xml", sw.ports["internal_sip_port"], "u1",
                       service="1000",
                       extra=("-au", "1000", "-ap", "1234", "-key",
                              "callee", "peer", "-mp",
                              str(free_port(socket.SOCK_DGRAM))))

        def b_leg_unprotects():
            m = re.search(r" B up .* srtp %s rx (\d+) tx (\d+) dropped \d+ "
                          r"auth-failed (\d+)" % suite,
                          sw.cli("show channels").stdout)
            return m and int(m.group(1)) > 20 and int(m.group(3)) == 0

        # The switch takes the peer's SRTP (unprotected, no failure).
        assert wait_for(b_leg_unprotects, timeout=8), \
            sw.cli("show channels").stdout
        code, out = sipp_wait(proc)
        assert code == 0, out + sw.log()
        uas.thread.join(15)
        assert uas.error is None, uas.error
        assert "RTP/SAVP" in uas.offer and suite in uas.offer, uas.offer
        # Only the suite asked for is offered.
        assert re.findall(r"a=crypto:\d+ (\S+)", uas.offer) == [suite], \
            uas.offer
        sent, received, auth, replay, ok = uas.counts()
        # The switch protected the caller's RTP for the peer.
        assert ok >= 50 and auth == 0 and replay == 0, uas.result
        log = sw.log()
        assert grep(r"SB02640 .*SDES keys sent over udp", log), log
        assert not grep(r"inline:", log), "a key was logged"
    finally:
        sw.stop()


def savp_caller(sw, tmp_path, callee, status):
    """A UDP caller offering RTP/SAVP with an SDES key; the call must
    fail with @status."""
    key = base64.b64encode(os.urandom(30)).decode()
    with open(os.path.join(SCENARIOS, "call_uac_fail.xml")) as f:
        text = f.read().replace("@STATUS@", str(status))
    text = text.replace(
        "m=audio [media_port] RTP/AVP 8\n",
        "m=audio [media_port] RTP/SAVP 8\n      a=crypto:1 "
        "AES_CM_128_HMAC_SHA1_80 inline:%s\n" % key)
    assert "RTP/SAVP" in text
    path = os.path.join(str(tmp_path), "savp_%d.xml" % status)
    with open(path, "w") as f:
        f.write(text)
    return caller(sw, "1000", callee, scenario=path)


def test_sdes_over_udp_refused_by_default(tmp_path):
    sw = srtp_switch(tmp_path)
    sw.start()
    try:
        callee = phone(sw, "1001")
        code, out = savp_caller(sw, tmp_path, "1001", 488)
        assert code == 0, out
        assert grep(r"SB02641 call .*: A leg: the offer is RTP/SAVP only",
                    sw.log()), sw.log()
        callee.kill()
    finally:
        sw.stop()


def test_mandatory_b_leg_over_udp_gives_488_without_calling(tmp_path):
    """SDES keys may not go over UDP: a B leg that must be SRTP cannot be
    offered at all; the caller hears 488 (not 503) and no INVITE leaves."""
    uas = SrtpUas("AES_CM_128_HMAC_SHA1_80")
    sw = srtp_switch(tmp_path, peer_extension(uas.port, "mandatory"))
    sw.start()
    try:
        code, out = failing_caller(sw, tmp_path, "1000", "peer", 488)
        assert code == 0, out + sw.log()
        assert grep(r"SB02641 call .*: B leg: SRTP is mandatory but SDES "
                    r"keys may not go over this transport", sw.log()), \
            sw.log()
        assert uas.offer is None, uas.offer
    finally:
        sw.stop()


def test_inbound_forbidden_refuses_a_savp_offer(tmp_path):
    sw = srtp_switch(tmp_path, '''
    <extension name="no_srtp">
      <condition field="destination_number" expression="^plain$">
        <action application="set" data="rtp_secure_media_inbound=forbidden"/>
        <action application="bridge" data="user/1001@${domain_name}"/>
      </condition>
    </extension>''', srtp_sdes_insecure="true")
    sw.start()
    try:
        code, out = savp_caller(sw, tmp_path, "plain", 488)
        assert code == 0, out
    finally:
        sw.stop()


def test_mandatory_b_leg_answered_plain_gives_488(tmp_path):
    sw = call_switch(tmp_path, srtp_sdes_insecure="true")
    sw.start()
    try:
        callee = phone(sw, "1001")
        add_port = callee.args[callee.args.index("-p") + 1]
        add_extensions(sw, peer_extension(int(add_port), "mandatory"))
        sw.cli("reloadxml")
        code, out = failing_caller(sw, tmp_path, "1000", "peer", 488)
        assert code == 0, out + sw.log()
        assert grep(r"SB02641 call .*: B leg: SRTP is mandatory and the "
                    r"answer has no usable a=crypto", sw.log()), sw.log()
        rc, out = sipp_wait(callee)
        assert rc == 0, out
    finally:
        sw.stop()


def capture_start(path):
    proc = subprocess.Popen(["tshark", "-q", "-i", "lo", "-f", "udp",
                             "-w", path], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    # tshark says "Capturing on 'Loopback: lo'" once it listens.
    deadline = time.time() + 10
    line = ""
    while time.time() < deadline and "Capturing" not in line:
        line = proc.stderr.readline()
    return proc


def udp_payloads(path):
    """(srcport, dstport, payload bytes) of every UDP packet."""
    out = subprocess.run(["tshark", "-r", path, "-T", "fields", "-e",
                          "udp.srcport", "-e", "udp.dstport", "-e",
                          "udp.payload"], capture_output=True, text=True,
                         timeout=60).stdout
    rows = []
    for line in out.splitlines():
        parts = line.split("\t")
        if len(parts) == 3 and parts[2]:
            rows.append((int(parts[0]), int(parts[1]),
                         bytes.fromhex(parts[2].replace(":", ""))))
    return rows


def relay_ports(sw):
    """(relay port, phone port) of the plain leg and of the SRTP leg, and
    the suite, once both legs are up and latched."""
    listing = sw.cli("show channels").stdout
    plain = re.search(r" up .* port (\d+) peer [\d.]+:(\d+) \(latched\) "
                      r"rtp rx", listing)
    secure = re.search(r" up .* port (\d+) peer [\d.]+:(\d+) \(latched\) "
                       r"srtp (\S+) rx", listing)
    if plain and secure:
        return ((int(plain.group(1)), int(plain.group(2))),
                (int(secure.group(1)), int(secure.group(2))),
                secure.group(3))
    return None


def wait_relay_ports(sw, timeout=15):
    """relay_ports() once the call is up (@timeout s at most)."""
    ports = None
    deadline = time.time() + timeout
    while time.time() < deadline and not ports:
        ports = relay_ports(sw)
        time.sleep(0.2)
    assert ports, sw.cli("show channels").stdout + sw.log()
    return ports


def tones_crossed(dialer, cap, recs):
    """After the dialing baresip (@dialer) hung up and the capture @cap
    stopped: the secure phone recorded the plain one's 440 Hz and the
    plain phone the secure one's 880 Hz (@recs: each one's snd_path)."""
    dialer.wait(timeout=30)
    time.sleep(0.5)
    cap.terminate()
    cap.wait(timeout=10)
    heard = {name: tone_frequency(os.path.join(
                 rec, [f for f in os.listdir(rec)
                       if f.endswith("-dec.wav")][0]))
             for name, rec in recs.items()}
    assert heard["secure"][0] == 440 and heard["secure"][1] > 10, heard
    assert heard["plain"][0] == 880 and heard["plain"][1] > 10, heard

def baresip_pair(sw, tmp_path, caller_tls):
    """A plain UDP baresip and an SRTP-mandatory TLS one; @caller_tls
    says which one dials.  Returns (phones, recordings)."""
    from sbtest import Baresip, gentls, write_tone_wav
    internal = sw.ssl_dir("internal")
    cafile = os.path.join(internal, "cafile.pem")
    recs = {}
    for name in ("plain", "secure"):
        recs[name] = os.path.join(str(tmp_path), "rec-" + name)
        os.makedirs(recs[name])
    tls_account = ("<sip:1002@127.0.0.1:%d;transport=tls>;auth_pass=1234;"
                   "regint=600;audio_codecs=PCMU;mediaenc=srtp-mand"
                   % sw.ports["internal_tls_port"])
    udp_account = ("<sip:1001@127.0.0.1:%d>;auth_pass=1234;regint=600;"
                   "audio_codecs=PCMU" % sw.ports["internal_sip_port"])
    dial = {"secure": "/dial sip:1001@127.0.0.1:%d;transport=tls"
                      % sw.ports["internal_tls_port"],
            "plain": "/dial sip:1002@127.0.0.1:%d"
                     % sw.ports["internal_sip_port"]}
    dialer = "secure" if caller_tls else "plain"
    phones = {}
    order = [("secure", tls_account, 880), ("plain", udp_account, 440)]
    if order[0][0] == dialer:
        order.reverse()  # the phone that answers registers first
    for name, account, hz in order:
        if name != dialer:
            account += ";answermode=auto"
        phones[name] = Baresip(
            tmp_path, account, cafile, seconds=8 if name == dialer else 20,
            certificate=os.path.join(internal, "phone1002.pem")
            if name == "secure" else None,
            extra_modules=("sndfile.so",),
            extra_config=("snd_path %s" % recs[name],),
            audio_source=write_tone_wav(
                os.path.join(str(tmp_path), "%d.wav" % hz), seconds=10,
                hz=hz),
            commands=() if name != dialer else (dial[name],),
            start_delay=0 if name != dialer else 3)
    return phones, recs, dialer


@pytest.mark.parametrize("caller_tls", [False, True],
                         ids=["plain_calls_srtp", "srtp_calls_plain"])
def test_plain_and_srtp_phones_hear_each_other(tmp_path, caller_tls):
    from sbtest import gentls
    sw = call_switch(tmp_path)
    gentls("create_client", "-base", sw.ssl_dir("internal"), "-cn",
           "phone1002", "-out", "phone1002.pem")
    sw.start()
    pcap = os.path.join(str(tmp_path), "lo.pcap")
    cap = capture_start(pcap)
    phones = {}
    try:
        phones, recs, dialer = baresip_pair(sw, tmp_path, caller_tls)
        assert wait_for(lambda: bindings(sw).count("registration") and
                        "1001@" in bindings(sw) and "1002@" in bindings(sw),
                        timeout=15), bindings(sw)
        ports = wait_relay_ports(sw)
        tones_crossed(phones[dialer].proc, cap, recs)
        # On the wire: the plain leg carries the audio bytes; the SRTP
        # leg never does.
        plain_port, srtp_port, suite = ports
        # As offerer we lead with vars.xml's rtp_sdes_suites (GCM first);
        # as answerer we take the phone's first line we allow.
        tag = {"AEAD_AES_256_GCM": 16, "AEAD_AES_128_GCM": 16,
               "AES_CM_128_HMAC_SHA1_80": 10, "AES_CM_128_HMAC_SHA1_32": 4}
        assert suite == ("AES_CM_128_HMAC_SHA1_80" if caller_tls
                         else "AEAD_AES_256_GCM"), suite
        rows = udp_payloads(pcap)
        plain = [p[12:] for s, d, p in rows
                 if {s, d} == set(plain_port) and len(p) == 172]
        srtp = [p for s, d, p in rows if {s, d} == set(srtp_port)]
        assert len(plain) > 50 and len(srtp) > 50, (len(plain), len(srtp))
        # 172 bytes of RTP plus the suite's authentication tag.
        assert all(len(p) == 172 + tag[suite] for p in srtp[:20]), \
            [len(p) for p in srtp[:20]]
        samples = set(plain[10:60])
        for p in srtp:
            for chunk in samples:
                assert chunk[:40] not in p, "audio bytes on the SRTP leg"
    finally:
        if cap.poll() is None:
            cap.kill()
        for p in phones.values():
            p.close()
        sw.stop()


def offered_key(offer, suite):
    m = re.search(r"a=crypto:\d+ %s inline:([A-Za-z0-9+/=]+)" % suite, offer)
    return m and m.group(1)


def test_reinvite_rekeys_the_srtp_leg(tmp_path):
    """A re-INVITE with a new offer gives the SRTP leg new keys (RFC 4568
    7.1.4): the libsrtp2 peer answers with a new key of its own, and media
    flows both ways under the new keys with no authentication failure."""
    suite = "AES_CM_128_HMAC_SHA1_80"
    uas = SrtpUas(suite, seconds=2)
    sw = srtp_switch(tmp_path, peer_extension(uas.port, "mandatory:" + suite),
                     srtp_sdes_insecure="true")
    sw.start()
    try:
        proc = sipp_bg("call_uac_reinvite.xml", sw.ports["internal_sip_port"],
                       "u1", service="1000",
                       extra=("-au", "1000", "-ap", "1234", "-key", "callee",
                              "peer", "-mp",
                              str(free_port(socket.SOCK_DGRAM))))
        assert wait_for(lambda: grep(r"SB02633 call .*: re-INVITE",
                                     sw.log()), timeout=10), sw.log()

        def b_leg():
            m = re.search(r" B up .* srtp %s rx (\d+) tx (\d+) dropped \d+ "
                          r"auth-failed (\d+)" % suite,
                          sw.cli("show channels").stdout)
            return m and [int(x) for x in m.groups()]
        # The switch unprotects what the peer sends under its new key:
        # more packets than the first key's 2 s, and no failure at all.
        assert wait_for(lambda: (b_leg() or [0])[0] > 120, timeout=4), \
            sw.cli("show channels").stdout
        counts = b_leg()
        assert counts and counts[2] == 0, sw.cli("show channels").stdout
        code, out = sipp_wait(proc)
        assert code == 0, out + sw.log()
        uas.thread.join(15)
        assert uas.error is None, uas.error
        assert len(uas.offers) == 2 and len(uas.results) == 2, uas.offers
        first, second = (offered_key(o, suite) for o in uas.offers)
        assert first and second and first != second, uas.offers
        for result in uas.results:
            sent, received, auth, replay, ok = uas.counts(result)
            # The peer decrypts what the switch protected, under the
            # first keys and then under the new ones.
            assert ok >= 50 and auth == 0 and replay == 0, uas.results
        assert not grep(r"inline:", sw.log()), "a key was logged"
    finally:
        sw.stop()
