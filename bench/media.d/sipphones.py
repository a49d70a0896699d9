"""bench/media's SIP ends for sipsbridge, over UDP on 127.0.0.1: a caller
(UAC) that offers plain G.711 from the load generator's A socket, and a
callee (UAS) that answers the switch's RTP/SAVP offer with an SDES key of
its own and the load generator's B socket. Standard library only.

Each call i dials bench<i>; the bench dialplan bridges it to uas<i>, so
the UAS knows which call an INVITE belongs to. A call is up once the UAC
has the 200 (the relay's A port) and the UAS has the INVITE (the relay's
B port and key): then `on_up(i, a_port, b_port, tx_key, rx_key)` runs.
"""
import base64
import os
import re
import select
import socket
import time

SUITE = "AES_CM_128_HMAC_SHA1_80"


def header(msg, name):
    """The first value of a header (full name, case-insensitive)."""
    m = re.search(r"^%s\s*:\s*(.*?)\r?$" % re.escape(name), msg,
                  re.M | re.I)
    return m.group(1).strip() if m else None


def headers(msg, name):
    return [v.strip() for v in re.findall(
        r"^%s\s*:\s*(.*?)\r?$" % re.escape(name), msg.split("\r\n\r\n")[0],
        re.M | re.I)]


def body(msg):
    return msg.split("\r\n\r\n", 1)[1] if "\r\n\r\n" in msg else ""


def sdp_port(sdp):
    m = re.search(r"^m=audio (\d+) (\S+)", sdp, re.M)
    return (int(m.group(1)), m.group(2)) if m else (None, None)


def sdes_key(sdp, suite=SUITE):
    """(tag, key+salt bytes) of the suite's a=crypto line, or None."""
    m = re.search(r"^a=crypto:(\d+) %s inline:([A-Za-z0-9+/=]+)" % suite,
                  sdp, re.M)
    if not m:
        return None
    b64 = m.group(2)
    return m.group(1), base64.b64decode(b64 + "=" * (-len(b64) % 4))


def uri_of(contact):
    m = re.search(r"<([^>]+)>", contact or "")
    return m.group(1) if m else (contact or "").split(";")[0]


def plain_sdp(port, version=1):
    return ("v=0\r\no=- %d %d IN IP4 127.0.0.1\r\ns=-\r\n"
            "c=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio %d RTP/AVP 0\r\n"
            "a=rtpmap:0 PCMU/8000\r\na=ptime:20\r\na=sendrecv\r\n"
            % (port, version, port))


def srtp_sdp(port, tag, key):
    return ("v=0\r\no=- %d 1 IN IP4 127.0.0.1\r\ns=-\r\n"
            "c=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio %d RTP/SAVP 0\r\n"
            "a=rtpmap:0 PCMU/8000\r\na=ptime:20\r\na=sendrecv\r\n"
            "a=crypto:%s %s inline:%s\r\n"
            % (port, port, tag, SUITE, base64.b64encode(key).decode()))


class Phones:
    """The UAC and the UAS of one switch; one UDP socket each."""

    def __init__(self, switch_port, load_ports, on_up):
        self.switch = ("127.0.0.1", switch_port)
        self.a_media, self.b_media = load_ports
        self.on_up = on_up
        self.uac = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.uas = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        for s in (self.uac, self.uas):
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
            s.bind(("127.0.0.1", 0))
            s.setblocking(False)
        self.uac_port = self.uac.getsockname()[1]
        self.uas_port = self.uas.getsockname()[1]
        self.run = 0
        self.calls = {}
        self.errors = []

    def close(self):
        self.uac.close()
        self.uas.close()

    # -- the caller ------------------------------------------------------
    def new_round(self):
        self.run += 1
        self.calls = {}
        self.by_callid = {}

    def invite(self, i):
        c = self.calls[i] = {
            "callid": "r%d-%d-%s@bench-media" % (self.run, i,
                                                 os.urandom(4).hex()),
            "ftag": "a%d" % i, "sent": time.time(), "tries": 1,
            "a": None, "b": None, "state": "calling", "setup": None}
        self.by_callid[c["callid"]] = i
        self._send_invite(i)

    def _send_invite(self, i):
        c = self.calls[i]
        sdp = plain_sdp(self.a_media, i)
        msg = ("INVITE sip:bench%d@127.0.0.1:%d SIP/2.0\r\n"
               "Via: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bK%s;rport\r\n"
               "Max-Forwards: 70\r\n"
               "From: <sip:caller%d@127.0.0.1>;tag=%s\r\n"
               "To: <sip:bench%d@127.0.0.1>\r\n"
               "Call-ID: %s\r\nCSeq: 1 INVITE\r\n"
               "Contact: <sip:caller%d@127.0.0.1:%d>\r\n"
               "Content-Type: application/sdp\r\nContent-Length: %d\r\n"
               "\r\n%s" % (i, self.switch[1], self.uac_port,
                           c["callid"][:24].replace("@", ""), i,
                           c["ftag"], i, c["callid"], i, self.uac_port,
                           len(sdp), sdp))
        self.uac.sendto(msg.encode(), self.switch)

    def _in_dialog(self, i, method, cseq, branch):
        c = self.calls[i]
        return ("%s %s SIP/2.0\r\n"
                "Via: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bK%s;rport\r\n"
                "Max-Forwards: 70\r\n"
                "From: <sip:caller%d@127.0.0.1>;tag=%s\r\nTo: %s\r\n"
                "Call-ID: %s\r\nCSeq: %d %s\r\nContent-Length: 0\r\n\r\n"
                % (method, c["target"], self.uac_port, branch, i,
                   c["ftag"], c["to"], c["callid"], cseq, method))

    def bye(self, i):
        c = self.calls.get(i)
        if not c or c["state"] != "up":
            return False
        c["state"] = "ending"
        c["bye_sent"], c["bye_tries"] = time.time(), 1
        c["bye"] = self._in_dialog(i, "BYE", 2, "r%db%d" % (self.run, i))
        self.uac.sendto(c["bye"].encode(), self.switch)
        return True

    def _uac_response(self, msg):
        i = self.by_callid.get(header(msg, "Call-ID"))
        if i is None:
            return
        c = self.calls[i]
        status = int(msg.split(" ", 2)[1])
        method = (header(msg, "CSeq") or " ").split()[-1]
        if method == "BYE":
            if status >= 200:
                c["state"] = "ended" if status < 300 else "bye-failed"
            return
        if status < 200 or method != "INVITE":
            c["provisional"] = True
            return
        if status >= 300:
            c["state"] = "failed %d" % status
            self.errors.append("call %d: %s" % (i, msg.split("\r\n")[0]))
            return
        first = c["a"] is None
        c["to"] = header(msg, "To")
        c["target"] = uri_of(header(msg, "Contact"))
        port, proto = sdp_port(body(msg))
        if first:
            c["a"] = port
            c["setup"] = time.time() - c["sent"]
        # Every 2xx is acknowledged, a retransmitted one too.
        self.uac.sendto(self._in_dialog(
            i, "ACK", 1, "r%da%d" % (self.run, i)).encode(), self.switch)
        if first:
            self._maybe_up(i)

    # -- the callee ------------------------------------------------------
    def _reply(self, req, src, status, extra="", sdp=""):
        to = header(req, "To")
        if "tag=" not in to:
            to += ";tag=b%s" % (header(req, "Call-ID") or "")[:8]
        lines = ["SIP/2.0 %s" % status]
        lines += ["Via: %s" % v for v in headers(req, "Via")]
        lines += ["From: %s" % header(req, "From"), "To: %s" % to,
                  "Call-ID: %s" % header(req, "Call-ID"),
                  "CSeq: %s" % header(req, "CSeq"),
                  "Contact: <sip:uas@127.0.0.1:%d>" % self.uas_port]
        if sdp:
            lines.append("Content-Type: application/sdp")
        lines.append("Content-Length: %d" % len(sdp))
        self.uas.sendto(("\r\n".join(lines) + "\r\n\r\n" + sdp).encode(),
                        src)

    def _uas_request(self, msg, src):
        method = msg.split(" ", 1)[0]
        if method == "ACK":
            return
        if method != "INVITE":
            self._reply(msg, src, "200 OK")
            return
        m = re.match(r"INVITE sip:uas(\d+)@", msg)
        i = int(m.group(1)) if m else None
        c = self.calls.get(i)
        if c is None:
            self._reply(msg, src, "404 Not Found")
            return
        if c["b"] is None:
            sdp = body(msg)
            port, proto = sdp_port(sdp)
            key = sdes_key(sdp)
            if proto != "RTP/SAVP" or not key or len(key[1]) != 30:
                self.errors.append("call %d: the B-leg offer is not "
                                   "RTP/SAVP with %s: %r" % (i, SUITE,
                                                             sdp[:300]))
                self._reply(msg, src, "488 Not Acceptable Here")
                return
            c["b"] = port
            c["rx_key"] = key[1]
            c["tx_key"] = os.urandom(30)
            c["b_sdp"] = srtp_sdp(self.b_media, key[0], c["tx_key"])
            self._maybe_up(i)
        self._reply(msg, src, "200 OK", sdp=c["b_sdp"])

    def _maybe_up(self, i):
        c = self.calls[i]
        if c["a"] and c["b"] and c["state"] == "calling":
            c["state"] = "up"
            self.on_up(i, c["a"], c["b"], c["tx_key"], c["rx_key"])

    # -- the loop --------------------------------------------------------
    def pump(self, until):
        """Handle whatever arrives until the time `until`; retransmit
        INVITEs that got no answer (timer A, 500 ms doubling)."""
        while True:
            left = until - time.time()
            ready, _, _ = select.select([self.uac, self.uas], [], [],
                                        max(0, min(left, 0.05)))
            for s in ready:
                while True:
                    try:
                        data, src = s.recvfrom(65536)
                    except BlockingIOError:
                        break
                    msg = data.decode(errors="replace")
                    if s is self.uac and msg.startswith("SIP/2.0"):
                        self._uac_response(msg)
                    elif s is self.uas and not msg.startswith("SIP/2.0"):
                        self._uas_request(msg, src)
            self._retransmit()
            if time.time() >= until:
                return

    def _retransmit(self):
        """RFC 3261 timers A and E over UDP: 500 ms, doubling."""
        now = time.time()
        for i, c in self.calls.items():
            if c["state"] == "calling" and not c.get("provisional") and \
                    now - c["sent"] > 0.5 * (2 ** c["tries"] - 1) and \
                    c["tries"] < 6:
                c["tries"] += 1
                self._send_invite(i)
            elif c["state"] == "ending" and c["bye_tries"] < 8 and \
                    now - c["bye_sent"] > 0.5 * (2 ** c["bye_tries"] - 1):
                c["bye_tries"] += 1
                c["bye_retransmitted"] = True
                self.uac.sendto(c["bye"].encode(), self.switch)

    def count(self, state):
        return sum(1 for c in self.calls.values() if c["state"] == state)
