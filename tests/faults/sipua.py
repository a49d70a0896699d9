"""A small SIP phone for the fault tests: asyncio, over TLS or UDP.

It registers with MD5 digest credentials, places calls (answering the
switch's 407), answers calls with an SDES answer to an SRTP offer, and
answers BYE, OPTIONS and NOTIFY. It sends no media. Standard library only.
"""
import asyncio
import base64
import hashlib
import os
import re
import socket
import ssl
import struct
import time

PASSWORD = "1234"
DOMAIN = "127.0.0.1"
COMPACT = {"v": "via", "f": "from", "t": "to", "i": "call-id",
           "m": "contact", "l": "content-length", "c": "content-type"}
CHALLENGE = re.compile(r'([\w-]+)\s*=\s*("[^"]*"|[^,\s]+)')


class SipError(Exception):
    """A request that did not end as the phone expected."""


class Msg:
    """One parsed SIP message: first line, headers (lower-case names, in
    order, values as sent) and body."""

    def __init__(self, raw):
        head, _, self.body = raw.partition(b"\r\n\r\n")
        lines = head.decode(errors="replace").split("\r\n")
        self.first = lines[0]
        self.headers = []
        for line in lines[1:]:
            if line[:1] in (" ", "\t") and self.headers:
                name, value = self.headers[-1]
                self.headers[-1] = (name, value + " " + line.strip())
                continue
            name, _, value = line.partition(":")
            name = name.strip().lower()
            self.headers.append((COMPACT.get(name, name), value.strip()))
        self.body = self.body.decode(errors="replace")
        self.is_response = self.first.startswith("SIP/2.0 ")
        self.status = int(self.first.split()[1]) if self.is_response else 0
        self.method = "" if self.is_response else self.first.split()[0]

    def all(self, name):
        return [v for n, v in self.headers if n == name]

    def get(self, name, default=""):
        found = self.all(name)
        return found[0] if found else default

    def cseq_method(self):
        return self.get("cseq").split()[-1].upper()


def md5(text):
    return hashlib.md5(text.encode()).hexdigest()


def digest(msg, method, uri, user, password):
    """Authorization value answering the challenge of a 401/407."""
    name = "www-authenticate" if msg.status == 401 else "proxy-authenticate"
    value = msg.get(name)
    if not value.lower().startswith("digest"):
        raise SipError("%d without a Digest challenge" % msg.status)
    p = {k.lower(): v.strip('"') for k, v in CHALLENGE.findall(value[6:])}
    ha1 = md5("%s:%s:%s" % (user, p["realm"], password))
    ha2 = md5("%s:%s" % (method, uri))
    out = 'Digest username="%s", realm="%s", nonce="%s", uri="%s", ' \
        'algorithm=MD5' % (user, p["realm"], p["nonce"], uri)
    if "auth" in p.get("qop", "").split(","):
        cnonce = os.urandom(6).hex()
        resp = md5(":".join((ha1, p["nonce"], "00000001", cnonce, "auth",
                             ha2)))
        out += ', qop=auth, nc=00000001, cnonce="%s"' % cnonce
    else:
        resp = md5(":".join((ha1, p["nonce"], ha2)))
    out += ', response="%s"' % resp
    if "opaque" in p:
        out += ', opaque="%s"' % p["opaque"]
    return out


def tag_of(value):
    m = re.search(r";\s*tag=([^;>\s]+)", value)
    return m.group(1) if m else ""


def uri_of(value):
    m = re.search(r"<([^>]+)>", value)
    return m.group(1) if m else value.split(";")[0].strip()


def sdes_answer(offer, port):
    """An SDP answer: PCMU/PCMA as offered; RTP/SAVP with a key of ours
    for the first AES_CM_128_HMAC_SHA1_80 (or _32) crypto line offered."""
    savp = "RTP/SAVP" in offer
    pt = "0" if re.search(r"m=audio \d+ \S+ .*\b0\b", offer) else "8"
    lines = ["v=0", "o=fault 1 1 IN IP4 127.0.0.1", "s=-",
             "c=IN IP4 127.0.0.1", "t=0 0",
             "m=audio %d %s %s" % (port, "RTP/SAVP" if savp else "RTP/AVP",
                                   pt)]
    if savp:
        m = re.search(r"a=crypto:(\d+) (AES_CM_128_HMAC_SHA1_(?:80|32))",
                      offer)
        if not m:
            raise SipError("no AES_CM_128 crypto line in the offer")
        key = base64.b64encode(os.urandom(30)).decode()
        lines.append("a=crypto:%s %s inline:%s" % (m.group(1), m.group(2),
                                                   key))
    lines.append("a=sendrecv")
    return "\r\n".join(lines) + "\r\n"


def sdp_offer(port, srtp):
    lines = ["v=0", "o=fault 1 1 IN IP4 127.0.0.1", "s=-",
             "c=IN IP4 127.0.0.1", "t=0 0",
             "m=audio %d %s 0" % (port, "RTP/SAVP" if srtp else "RTP/AVP"),
             "a=rtpmap:0 PCMU/8000"]
    if srtp:
        lines.append("a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:" +
                     base64.b64encode(os.urandom(30)).decode())
    return "\r\n".join(lines) + "\r\n"


class Dialog:
    """One call as the phone sees it."""

    def __init__(self, call_id, local_tag, remote_tag, local_uri,
                 remote_uri, target, routes, cseq):
        self.call_id, self.local_tag, self.remote_tag = (call_id, local_tag,
                                                         remote_tag)
        self.local_uri, self.remote_uri = local_uri, remote_uri
        self.target, self.routes, self.cseq = target, routes, cseq
        self.ended = asyncio.Event()
        self.ended_by = None


class Phone:
    """One phone: user @user on one TLS connection (or UDP socket)."""

    def __init__(self, user, port, transport="tls", cafile=None,
                 source="127.0.0.1", password=PASSWORD, timeout=10):
        self.user, self.port, self.transport = user, port, transport
        self.cafile, self.source, self.password = cafile, source, password
        self.timeout = timeout
        self.pending = {}
        self.dialogs = {}
        self.pongs = 0
        self.pong = asyncio.Event()
        self.closed = asyncio.Event()
        self.deaf = False  # stops answering anything (a vanished phone)
        self.reg_call_id = "reg-%s-%s" % (user, os.urandom(4).hex())
        self.reg_cseq = 0
        self.incoming = asyncio.Queue()
        self.writer = self.udp = None
        self.peer_cert = None

    @property
    def tp(self):
        return "TLS" if self.transport == "tls" else "UDP"

    async def connect(self):
        loop = asyncio.get_running_loop()
        if self.transport == "udp":
            self.udp, _ = await loop.create_datagram_endpoint(
                lambda: _Udp(self), local_addr=(self.source, 0),
                remote_addr=("127.0.0.1", self.port))
            self.local = self.udp.get_extra_info("sockname")[:2]
            return self
        ctx = ssl.create_default_context(cafile=self.cafile)
        reader, self.writer = await asyncio.wait_for(
            asyncio.open_connection("127.0.0.1", self.port, ssl=ctx,
                                    server_hostname="localhost",
                                    local_addr=(self.source, 0)),
            self.timeout)
        self.local = self.writer.get_extra_info("sockname")[:2]
        sslobj = self.writer.get_extra_info("ssl_object")
        self.peer_cert = sslobj.getpeercert(binary_form=True)
        self.reader_task = asyncio.ensure_future(self._read(reader))
        return self

    async def _read(self, reader):
        try:
            while True:
                line = await reader.readuntil(b"\r\n")
                if line == b"\r\n":
                    self.pongs += 1
                    self.pong.set()
                    continue
                head = line + await reader.readuntil(b"\r\n\r\n")
                m = re.search(rb"(?im)^(?:content-length|l)\s*:\s*(\d+)",
                              head)
                body = await reader.readexactly(int(m.group(1))) \
                    if m and int(m.group(1)) else b""
                self._dispatch(head + body)
        except (asyncio.IncompleteReadError, ConnectionError, OSError,
                ssl.SSLError):
            pass
        finally:
            self.closed.set()

    def _dispatch(self, raw):
        if self.deaf:
            return
        msg = Msg(raw)
        if msg.is_response:
            branch = re.search(r"branch=([^;,\s]+)", msg.get("via"))
            fut = self.pending.get(branch.group(1) if branch else "")
            if fut and not fut.done() and msg.status >= 200:
                fut.set_result(msg)
            return
        self._on_request(msg)

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        if self.udp:
            self.udp.sendto(data)
        else:
            self.writer.write(data)

    def via(self, branch):
        return "Via: SIP/2.0/%s %s:%d;branch=%s;rport" % (
            self.tp, self.local[0], self.local[1], branch)

    def contact(self):
        if self.transport == "tls":
            return "<sip:%s@%s;transport=tls>" % (self.user, self.local[0])
        return "<sip:%s@%s:%d>" % (self.user, self.local[0], self.local[1])

    async def request(self, method, uri, headers, body="",
                      content_type="application/sdp"):
        """Send a request, wait for its final response."""
        branch = "z9hG4bK" + os.urandom(8).hex()
        fut = asyncio.get_running_loop().create_future()
        self.pending[branch] = fut
        text = "%s %s SIP/2.0\r\n%s\r\nMax-Forwards: 70\r\n" % (
            method, uri, self.via(branch))
        text += "".join(h + "\r\n" for h in headers)
        if body:
            text += "Content-Type: %s\r\n" % content_type
        text += "Content-Length: %d\r\n\r\n%s" % (len(body.encode()), body)
        try:
            for _ in range(8 if self.udp else 1):
                self.send(text)
                try:
                    return await asyncio.wait_for(asyncio.shield(fut),
                                                  self.timeout /
                                                  (8 if self.udp else 1))
                except asyncio.TimeoutError:
                    continue
            raise SipError("%s %s: no final response" % (method, uri))
        finally:
            del self.pending[branch]

    async def register(self, expires=600):
        """REGISTER, 401, REGISTER with credentials: the final status."""
        uri = "sip:%s" % DOMAIN
        if self.transport == "tls":
            uri += ";transport=tls"
        auth = None
        for _ in range(2):
            self.reg_cseq += 1
            headers = ["From: <sip:%s@%s>;tag=r%s" % (self.user, DOMAIN,
                                                      self.user),
                       "To: <sip:%s@%s>" % (self.user, DOMAIN),
                       "Call-ID: " + self.reg_call_id,
                       "CSeq: %d REGISTER" % self.reg_cseq,
                       "Contact: " + self.contact(),
                       "Expires: %d" % expires,
                       "User-Agent: sipsbridge-faults"]
            if auth:
                headers.append("Authorization: " + auth)
            resp = await self.request("REGISTER", uri, headers)
            if resp.status != 401 or auth:
                return resp.status
            auth = digest(resp, "REGISTER", uri, self.user, self.password)
        return resp.status

    async def ping(self, timeout=5):
        """RFC 5626 CRLF keepalive: True when the pong came back."""
        self.pong.clear()
        self.send(b"\r\n\r\n")
        try:
            await asyncio.wait_for(self.pong.wait(), timeout)
            return True
        except asyncio.TimeoutError:
            return False

    async def call(self, target, srtp=True):
        """INVITE (with 407 answered), ACK: the Dialog, or SipError."""
        uri = "sip:%s@%s" % (target, DOMAIN)
        call_id = "call-%s-%s" % (self.user, os.urandom(5).hex())
        tag = os.urandom(4).hex()
        body = sdp_offer(40000 + int(self.user) % 20000, srtp)
        auth, cseq = None, 0
        for _ in range(2):
            cseq += 1
            headers = ["From: <sip:%s@%s>;tag=%s" % (self.user, DOMAIN, tag),
                       "To: <%s>" % uri, "Call-ID: " + call_id,
                       "CSeq: %d INVITE" % cseq, "Contact: " + self.contact()]
            if auth:
                headers.append("Proxy-Authorization: " + auth)
            resp = await self.request("INVITE", uri, headers, body)
            if resp.status >= 300:
                self._ack_failure(resp, uri, cseq)
            if resp.status == 407 and not auth:
                auth = digest(resp, "INVITE", uri, self.user, self.password)
                continue
            break
        if resp.status != 200:
            raise SipError("call %s -> %s: %s" % (self.user, target,
                                                  resp.first))
        routes = list(reversed(resp.all("record-route")))
        d = Dialog(call_id, tag, tag_of(resp.get("to")),
                   "<sip:%s@%s>" % (self.user, DOMAIN), "<%s>" % uri,
                   uri_of(resp.get("contact")), routes, cseq)
        self.dialogs[call_id] = d
        self._send_in_dialog(d, "ACK", cseq)
        return d

    def _ack_failure(self, resp, uri, cseq):
        """ACK of a non-2xx final response: same branch (RFC 3261 17.1.1)."""
        text = "ACK %s SIP/2.0\r\nVia: %s\r\nMax-Forwards: 70\r\n" \
            "From: %s\r\nTo: %s\r\nCall-ID: %s\r\nCSeq: %d ACK\r\n" \
            "Content-Length: 0\r\n\r\n" % (
                uri, resp.get("via"), resp.get("from"), resp.get("to"),
                resp.get("call-id"), cseq)
        self.send(text)

    def _in_dialog_headers(self, d, method, cseq):
        return (["From: %s;tag=%s" % (d.local_uri, d.local_tag),
                 "To: %s;tag=%s" % (d.remote_uri, d.remote_tag),
                 "Call-ID: " + d.call_id, "CSeq: %d %s" % (cseq, method)] +
                ["Route: " + r for r in d.routes])

    def _send_in_dialog(self, d, method, cseq):
        """A request without a transaction of ours (ACK)."""
        branch = "z9hG4bK" + os.urandom(8).hex()
        text = "%s %s SIP/2.0\r\n%s\r\nMax-Forwards: 70\r\n" % (
            method, d.target, self.via(branch))
        text += "".join(h + "\r\n" for h in
                        self._in_dialog_headers(d, method, cseq))
        self.send(text + "Content-Length: 0\r\n\r\n")

    async def hangup(self, d):
        """BYE in dialog @d: the final status."""
        d.cseq += 1
        resp = await self.request("BYE", d.target,
                                  self._in_dialog_headers(d, "BYE", d.cseq))
        d.ended_by = "us"
        d.ended.set()
        return resp.status

    def _respond(self, req, status, reason, extra=(), body="", to_tag=None):
        to = req.get("to")
        if to_tag and not tag_of(to):
            to += ";tag=" + to_tag
        text = "SIP/2.0 %d %s\r\n" % (status, reason)
        text += "".join("Via: %s\r\n" % v for v in req.all("via"))
        text += "From: %s\r\nTo: %s\r\nCall-ID: %s\r\nCSeq: %s\r\n" % (
            req.get("from"), to, req.get("call-id"), req.get("cseq"))
        text += "".join(h + "\r\n" for h in extra)
        if body:
            text += "Content-Type: application/sdp\r\n"
        text += "Content-Length: %d\r\n\r\n%s" % (len(body.encode()), body)
        self.send(text)

    def _on_request(self, req):
        call_id = req.get("call-id")
        if req.method == "INVITE" and not tag_of(req.get("to")):
            tag = os.urandom(4).hex()
            try:
                answer = sdes_answer(req.body, 40000 + int(self.user) % 20000)
            except SipError:
                self._respond(req, 488, "Not Acceptable Here", to_tag=tag)
                return
            d = Dialog(call_id, tag, tag_of(req.get("from")),
                       "<sip:%s@%s>" % (self.user, DOMAIN),
                       uri_of(req.get("from")),
                       uri_of(req.get("contact")),
                       req.all("record-route"), 0)
            self.dialogs[call_id] = d
            self._respond(req, 200, "OK", ["Contact: " + self.contact()],
                          answer, to_tag=tag)
            self.incoming.put_nowait(d)
        elif req.method == "ACK":
            return
        elif req.method == "BYE":
            self._respond(req, 200, "OK")
            d = self.dialogs.get(call_id)
            if d:
                d.ended_by = "them"
                d.ended.set()
        elif req.method == "CANCEL":
            self._respond(req, 200, "OK")
        else:
            self._respond(req, 200, "OK")

    def _stop_reader(self):
        task = getattr(self, "reader_task", None)
        if task and not task.done():
            task.cancel()

    def abort(self):
        """Drop the connection: no close_notify, a TCP reset (linger 0)."""
        self._stop_reader()
        if self.udp:
            self.udp.close()
        elif self.writer:
            sock = self.writer.get_extra_info("socket")
            try:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                struct.pack("ii", 1, 0))
            except (OSError, AttributeError):
                pass  # already closed
            self.writer.transport.abort()

    async def close(self):
        """A clean close: close_notify, then TCP FIN."""
        if self.udp:
            self.udp.close()
            return
        if self.writer:
            self.writer.close()
            try:
                await asyncio.wait_for(self.writer.wait_closed(), 5)
            except (asyncio.TimeoutError, OSError, ssl.SSLError):
                pass
        self._stop_reader()


class _Udp(asyncio.DatagramProtocol):
    def __init__(self, phone):
        self.phone = phone

    def datagram_received(self, data, addr):
        if data.strip():
            self.phone._dispatch(data)


async def probe(port, cafile, user="1000", source="127.0.0.1", timeout=10):
    """A well-behaved phone coming up: TLS handshake, REGISTER with
    digest, a clean close. (ok, seconds, why)."""
    start = time.monotonic()
    phone = Phone(user, port, cafile=cafile, source=source, timeout=timeout)
    try:
        await phone.connect()
        status = await phone.register()
        ok = status == 200
        why = "" if ok else "REGISTER: %d" % status
    except (OSError, asyncio.TimeoutError, ssl.SSLError, SipError) as e:
        ok, why = False, "%s: %s" % (type(e).__name__, e)
    finally:
        await phone.close()
    return ok, time.monotonic() - start, why
