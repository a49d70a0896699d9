"""rtcp-mux (RFC 5761 5.1) negotiated on each leg of a bridged call.

A leg whose offer has a=rtcp-mux gets it in our answer, and RTCP goes to
and comes from its RTP port.  The other leg is offered mux (with a=rtcp
naming our separate RTCP port for an answerer that does not mux) only if
the caller asked, and gets RTCP muxed only if its answer agreed.  The
phones' media are the test's own sockets: hand-made RTP and RTCP show
which port each kind reaches, and SIPp's message trace shows the SDP.
"""
import os
import re
import socket
import struct
import time

import pytest

from sbtest import sipp, sipp_bg, sipp_wait, wait_for, free_port
from test_005_calls import bindings, call_switch

MUX, NO_MUX = "rtcp-mux", "x-no-mux"


class Port:
    """One of a phone's media sockets."""

    def __init__(self, port):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", port))
        self.sock.settimeout(0.1)
        self.port = port

    def send(self, data, port):
        self.sock.sendto(data, ("127.0.0.1", port))

    def drain(self):
        got = []
        while True:
            try:
                got.append(self.sock.recvfrom(2048))
            except socket.timeout:
                return got

    def close(self):
        self.sock.close()


class Phone:
    """An RTP port and its RTCP port (RTP + 1)."""

    def __init__(self):
        base = free_port(socket.SOCK_DGRAM, pair=True)
        self.rtp, self.rtcp = Port(base), Port(base + 1)

    def close(self):
        self.rtp.close()
        self.rtcp.close()


def rtp_packet(seq):
    return struct.pack("!BBHII", 0x80, 8, seq, seq * 160, 0x1234) + \
        b"\xd5" * 160


def rtcp_rr(ssrc):
    """An empty receiver report (RFC 3550 6.4.2): PT 201."""
    return struct.pack("!BBHI", 0x80, 201, 1, ssrc)


def traced_messages(path):
    with open(path, errors="replace") as f:
        return f.read()


def sdp_of(trace, first_line):
    """The body of the first traced message that starts @first_line and
    has SDP."""
    for part in re.split(r"\n[-]+ [\d\-:. \t]+\n", trace):
        start = part.find(first_line)
        if start < 0 or "m=audio" not in part[start:]:
            continue
        return part[start:].split("\n\n", 1)[-1].replace("\r", "")
    return None


def media_port(sdp):
    return int(re.search(r"^m=audio (\d+) ", sdp, re.M).group(1))


def relay_ports(sw):
    listing = sw.cli("show calls").stdout
    a = re.search(r"^\S+ A up .* port (\d+) peer", listing, re.M)
    b = re.search(r"^\S+ B up .* port (\d+) peer", listing, re.M)
    return (int(a.group(1)), int(b.group(1))) if a and b else None


def arrived(port, kind_pt, source):
    """Packets of payload/packet type @kind_pt got by @port from the
    switch's @source port."""
    return [d for d, src in port.drain()
            if src == ("127.0.0.1", source) and len(d) > 1 and
            (d[1] == kind_pt or d[1] & 0x7f == kind_pt)]


def run_call(sw, tmp_path, a_mux, b_mux, check):
    """A (offering @a_mux) calls B (answering @b_mux); @check(a, b,
    ports) runs while the call is up.  Returns the SDP B was offered and
    the SDP A was answered."""
    a, b = Phone(), Phone()
    port = sw.ports["internal_sip_port"]
    local = free_port(socket.SOCK_DGRAM)
    b_trace = os.path.join(str(tmp_path), "b.trace")
    a_trace = os.path.join(str(tmp_path), "a.trace")
    try:
        code, out = sipp("register_auth.xml", port, "u1", service="1001",
                         local_port=local,
                         extra=("-au", "1001", "-ap", "1234", "-key",
                                "expires", "300"))
        assert code == 0, out
        assert wait_for(lambda: "1001@127.0.0.1" in bindings(sw),
                        timeout=10), bindings(sw)
        callee = sipp_bg("rtcp_mux_uas.xml", port, "u1", service="1001",
                         local_port=local,
                         extra=("-key", "rtp_port", str(b.rtp.port),
                                "-key", "muxattr", b_mux, "-trace_msg",
                                "-message_file", b_trace))
        caller = sipp_bg("rtcp_mux_uac.xml", port, "u1", service="1000",
                         extra=("-au", "1000", "-ap", "1234", "-key",
                                "callee", "1001", "-key", "rtp_port",
                                str(a.rtp.port), "-key", "muxattr", a_mux,
                                "-trace_msg", "-message_file", a_trace))
        ports = None
        deadline = time.time() + 10
        while not ports and time.time() < deadline:
            ports = relay_ports(sw)
            time.sleep(0.1)
        assert ports, sw.cli("show calls").stdout
        check(a, b, ports)
        rc, out = sipp_wait(caller)
        assert rc == 0, out
        rc, out = sipp_wait(callee)
        assert rc == 0, out
        offer_b = sdp_of(traced_messages(b_trace), "INVITE sip:")
        answer_a = sdp_of(traced_messages(a_trace), "SIP/2.0 200 OK")
        assert offer_b and answer_a, (traced_messages(b_trace),
                                      traced_messages(a_trace))
        return offer_b, answer_a
    finally:
        a.close()
        b.close()


def rtcp_arrives(src, dst_port, to, from_port, ssrc):
    """RTCP sent from @src to the switch's @dst_port reaches @to from the
    switch's @from_port (retried: the first may race the answer)."""
    for _ in range(20):
        src.send(rtcp_rr(ssrc), dst_port)
        time.sleep(0.05)
        if arrived(to, 201, from_port):
            return True
    return False


@pytest.mark.parametrize("b_mux", [MUX, NO_MUX], ids=["b_muxes", "b_not"])
def test_caller_offers_mux(tmp_path, b_mux):
    sw = call_switch(tmp_path)
    sw.start()
    seen = {}

    def check(a, b, ports):
        sw_a, sw_b = ports
        # RTP still flows A -> B, RTP port to RTP port.
        for seq in range(5):
            a.rtp.send(rtp_packet(seq), sw_a)
        assert wait_for(lambda: arrived(b.rtp, 8, sw_b), timeout=3)
        # A muxes: its RTCP goes to our RTP port; B gets it on its RTCP
        # port from ours unless B muxes too.
        to, from_port = ((b.rtp, sw_b) if b_mux == MUX
                         else (b.rtcp, sw_b + 1))
        seen["a_to_b"] = rtcp_arrives(a.rtp, sw_a, to, from_port, 0xa)
        # And back: B's RTCP reaches A on A's RTP port, from ours.
        src, dst = ((b.rtp, sw_b) if b_mux == MUX
                    else (b.rtcp, sw_b + 1))
        seen["b_to_a"] = rtcp_arrives(src, dst, a.rtp, sw_a, 0xb)
        seen["a_rtcp_port"] = [d for d, _ in a.rtcp.drain()]
    try:
        offer_b, answer_a = run_call(sw, tmp_path, MUX, b_mux, check)
        assert seen["a_to_b"], "A's muxed RTCP did not reach B"
        assert seen["b_to_a"], "B's RTCP did not reach A's RTP port"
        assert not seen["a_rtcp_port"], "RTCP to A's RTCP port"
        # B is offered mux with our RTCP port as the fallback.
        assert re.search(r"^a=rtcp-mux$", offer_b, re.M), offer_b
        rtcp = re.search(r"^a=rtcp:(\d+)$", offer_b, re.M)
        assert rtcp and int(rtcp.group(1)) == media_port(offer_b) + 1, \
            offer_b
        # A's answer agrees to mux and needs no a=rtcp.
        assert re.search(r"^a=rtcp-mux$", answer_a, re.M), answer_a
        assert not re.search(r"^a=rtcp:", answer_a, re.M), answer_a
    finally:
        sw.stop()


def test_no_mux_unless_offered(tmp_path):
    """A asks for no mux: B is not offered it, and an answer of B's
    that claims it anyway is not heard (RFC 5761 5.1.1)."""
    sw = call_switch(tmp_path)
    sw.start()
    seen = {}

    def check(a, b, ports):
        sw_a, sw_b = ports
        seen["a_to_b"] = rtcp_arrives(a.rtcp, sw_a + 1, b.rtcp, sw_b + 1,
                                      0xa)
        seen["b_to_a"] = rtcp_arrives(b.rtcp, sw_b + 1, a.rtcp, sw_a + 1,
                                      0xb)
        seen["b_rtp_port"] = arrived(b.rtp, 201, sw_b)
    try:
        offer_b, answer_a = run_call(sw, tmp_path, NO_MUX, MUX, check)
        assert seen["a_to_b"] and seen["b_to_a"], seen
        assert not seen["b_rtp_port"], "RTCP muxed to B without an offer"
        assert not re.search(r"^a=rtcp-mux", offer_b, re.M), offer_b
        assert not re.search(r"^a=rtcp", answer_a, re.M), answer_a
    finally:
        sw.stop()


def rtcp_rows(rows, pair):
    """RTCP (RFC 5761 4: packet type 200-204) between the ports of
    @pair, by direction."""
    relay, phone = pair
    kinds = [(s, d) for s, d, p in rows
             if {s, d} == {relay, phone} and len(p) > 8 and
             200 <= p[1] <= 204]
    return (sum(1 for s, _ in kinds if s == phone),
            sum(1 for s, _ in kinds if s == relay))


def test_baresip_srtp_call_with_rtcp_mux(tmp_path):
    """Two baresips with rtcp_mux on: a plain UDP caller and an SRTP
    (TLS) callee.  Both are muxed, the tones cross, and SRTCP rides the
    SRTP leg's RTP port both ways with no authentication failure."""
    from sbtest import Baresip, gentls, write_tone_wav
    from test_006_srtp import (capture_start, tones_crossed, udp_payloads,
                               wait_relay_ports)
    sw = call_switch(tmp_path)
    internal = sw.ssl_dir("internal")
    gentls("create_client", "-base", internal, "-cn", "phone1002",
           "-out", "phone1002.pem")
    sw.start()
    pcap = os.path.join(str(tmp_path), "lo.pcap")
    cap = capture_start(pcap)
    phones = []
    recs = {}
    try:
        for name in ("plain", "secure"):
            recs[name] = os.path.join(str(tmp_path), "rec-" + name)
            os.makedirs(recs[name])
        secure = Baresip(
            tmp_path,
            "<sip:1002@127.0.0.1:%d;transport=tls>;auth_pass=1234;"
            "regint=600;audio_codecs=PCMU;mediaenc=srtp-mand;"
            "answermode=auto" % sw.ports["internal_tls_port"],
            os.path.join(internal, "cafile.pem"), seconds=25,
            certificate=os.path.join(internal, "phone1002.pem"),
            extra_modules=("sndfile.so",),
            extra_config=("snd_path %s" % recs["secure"], "rtcp_mux yes"),
            audio_source=write_tone_wav(
                os.path.join(str(tmp_path), "880.wav"), seconds=16,
                hz=880))
        phones.append(secure)
        assert wait_for(lambda: "1002@" in bindings(sw), timeout=15), \
            bindings(sw)
        plain = Baresip(
            tmp_path,
            "<sip:1001@127.0.0.1:%d>;auth_pass=1234;regint=600;"
            "audio_codecs=PCMU" % sw.ports["internal_sip_port"],
            os.path.join(internal, "cafile.pem"), seconds=14,
            extra_modules=("sndfile.so",),
            extra_config=("snd_path %s" % recs["plain"], "rtcp_mux yes"),
            audio_source=write_tone_wav(
                os.path.join(str(tmp_path), "440.wav"), seconds=16,
                hz=440),
            commands=("/dial sip:1002@127.0.0.1:%d"
                      % sw.ports["internal_sip_port"],),
            start_delay=1)
        phones.append(plain)
        ports = wait_relay_ports(sw, timeout=20)
        # While the call is up (baresip reports RTCP every few seconds):
        # the SRTP leg has taken SRTP and SRTCP with no failure.
        srtp_leg = (r" srtp \S+ rx (\d+) tx \d+ dropped \d+ "
                    r"auth-failed (\d+)")
        channels = ""
        deadline = time.time() + 10
        while time.time() < deadline:
            channels = sw.cli("show channels").stdout
            m = re.search(srtp_leg, channels)
            if m and int(m.group(1)) > 300:
                break
            time.sleep(0.5)
        m = re.search(srtp_leg, channels)
        assert m and int(m.group(1)) > 300, channels
        assert m.group(2) == "0", channels
        tones_crossed(plain.proc, cap, recs)
        rows = udp_payloads(pcap)
        sip = [p.decode(errors="replace") for s, d, p in rows
               if sw.ports["internal_sip_port"] in (s, d)]
        offer = [m for m in sip if m.startswith("INVITE ") and
                 "m=audio" in m]
        answer = [m for m in sip if m.startswith("SIP/2.0 200") and
                  "m=audio" in m]
        # baresip offers mux, and our answer to it agrees.
        assert offer and "a=rtcp-mux" in offer[0], offer
        assert answer and "a=rtcp-mux" in answer[0], answer
        plain_port, srtp_port, _ = ports
        # RTCP on the RTP ports, both ways, on both legs.
        for pair in (plain_port, srtp_port):
            from_phone, to_phone = rtcp_rows(rows, pair)
            assert from_phone and to_phone, (pair, from_phone, to_phone)
        # Nothing went to a separate RTCP port of either phone.
        for relay, phone in (plain_port, srtp_port):
            assert not [1 for s, d, p in rows
                        if s in (relay, relay + 1) and d == phone + 1], phone
    finally:
        if cap.poll() is None:
            cap.kill()
        for p in phones:
            p.close()
        sw.stop()
