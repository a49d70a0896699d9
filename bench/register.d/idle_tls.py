#!/usr/bin/python3
"""bench/register's idle phones: many TLS connections, each registered.

Each connection does what a phone does when it comes up: a TLS handshake
(the server's certificate verified against the CA, host name localhost),
REGISTER, the 401 challenge, REGISTER with MD5 digest credentials, 200.
Then it stays open and silent. When all are up, the client writes its
figures as one JSON object to --status and holds the connections until
SIGTERM. Standard library only (asyncio + ssl).

A connection that fails is retried with a new connection (Kamailio 5.6.3
with OpenSSL 3 now and then drops one); the failures are counted.
"""
import argparse
import asyncio
import hashlib
import json
import os
import re
import resource
import signal
import ssl
import time

CHALLENGE = re.compile(r"(?im)^WWW-Authenticate:\s*Digest\s+(.*)$")
PARAM = re.compile(r'([\w-]+)\s*=\s*("[^"]*"|[^,\s]+)')


def md5(text):
    return hashlib.md5(text.encode()).hexdigest()


def register(args, user, sockname, cseq, auth=""):
    """One REGISTER; the Contact is the user's own, so that bench/register's
    SIPp runs refresh this very binding."""
    ip, port = sockname[:2]
    tag = "idle%d" % user
    return ("REGISTER sip:%s;transport=tls SIP/2.0\r\n"
            "Via: SIP/2.0/TLS %s:%d;branch=z9hG4bK-%s-%d;rport\r\n"
            "Max-Forwards: 70\r\n"
            "From: <sip:%d@%s>;tag=%s\r\n"
            "To: <sip:%d@%s>\r\n"
            "Call-ID: %s@bench\r\n"
            "CSeq: %d REGISTER\r\n"
            "Contact: <sip:%d@%s;transport=tls>\r\n"
            "Expires: 3600\r\n"
            "%s"
            "User-Agent: sipsbridge-bench-idle\r\n"
            "Content-Length: 0\r\n\r\n" % (
                args.domain, ip, port, tag, cseq, user, args.domain, tag,
                user, args.domain, tag, cseq, user, ip, auth)).encode()


def authorization(args, user, challenge):
    """RFC 7616 MD5 with qop=auth when offered (RFC 2069 otherwise)."""
    found = CHALLENGE.search(challenge)
    if not found:
        raise RuntimeError("401 without a Digest challenge")
    params = {k.lower(): v.strip('"')
              for k, v in PARAM.findall(found.group(1))}
    realm, nonce = params.get("realm", ""), params.get("nonce", "")
    uri = "sip:%s;transport=tls" % args.domain
    ha1 = md5("%d:%s:%s" % (user, realm, args.password))
    ha2 = md5("REGISTER:" + uri)
    head = 'Authorization: Digest username="%d", realm="%s", nonce="%s", ' \
        'uri="%s", algorithm=MD5' % (user, realm, nonce, uri)
    if "auth" in params.get("qop", "").split(","):
        cnonce, nc = os.urandom(8).hex(), "00000001"
        response = md5(":".join((ha1, nonce, nc, cnonce, "auth", ha2)))
        head += ', qop=auth, nc=%s, cnonce="%s"' % (nc, cnonce)
    else:
        response = md5(":".join((ha1, nonce, ha2)))
    head += ', response="%s"' % response
    if "opaque" in params:
        head += ', opaque="%s"' % params["opaque"]
    return head + "\r\n"


async def response(reader):
    """One response off the stream: its head (the body is skipped)."""
    head = (await reader.readuntil(b"\r\n\r\n")).decode(errors="replace")
    length = re.search(r"(?im)^(?:content-length|l):\s*(\d+)", head)
    if length and int(length.group(1)):
        await reader.readexactly(int(length.group(1)))
    return head


def status_of(head):
    return head.split("\r\n", 1)[0]


async def phone(args, ctx, user):
    """Connect, register, return the open stream."""
    reader, writer = await asyncio.wait_for(asyncio.open_connection(
        "127.0.0.1", args.port, ssl=ctx, server_hostname="localhost"),
        args.timeout)
    try:
        sockname = writer.get_extra_info("sockname")
        if not sockname:
            raise RuntimeError("connection closed by the server")
        if args.bare:
            # TLS only: a CRLF keepalive (RFC 5626 4.4.1) proves it is up.
            writer.write(b"\r\n\r\n")
            await asyncio.wait_for(writer.drain(), args.timeout)
            return reader, writer
        writer.write(register(args, user, sockname, 1))
        head = await asyncio.wait_for(response(reader), args.timeout)
        if not head.startswith("SIP/2.0 401"):
            raise RuntimeError("first REGISTER: " + status_of(head))
        writer.write(register(args, user, sockname, 2,
                              authorization(args, user, head)))
        head = await asyncio.wait_for(response(reader), args.timeout)
        if not head.startswith("SIP/2.0 200"):
            raise RuntimeError("REGISTER with credentials: " +
                               status_of(head))
    except BaseException:
        writer.close()
        raise
    return reader, writer


def describe(exc):
    text = str(exc) or type(exc).__name__
    if isinstance(exc, asyncio.IncompleteReadError):
        text = "connection closed by the server"
    elif isinstance(exc, asyncio.TimeoutError):
        text = "timeout"
    return text[:160]


async def main(args):
    ctx = ssl.create_default_context(cafile=args.cafile)
    sem = asyncio.Semaphore(args.concurrency)
    held, errors = [], {}
    stats = {"opened": 0, "failed": 0, "gave_up": 0}

    async def one(user):
        async with sem:
            for _ in range(args.tries):
                try:
                    held.append(await phone(args, ctx, user))
                    stats["opened"] += 1
                    return
                except Exception as e:  # noqa: B902 (any failure counts)
                    stats["failed"] += 1
                    why = describe(e)
                    errors[why] = errors.get(why, 0) + 1
            stats["gave_up"] += 1

    started = time.time()
    await asyncio.gather(*(one(args.first + i) for i in range(args.count)))
    stats["seconds"] = round(time.time() - started, 2)
    stats["errors"] = errors
    tmp = args.status + ".tmp"
    with open(tmp, "w") as f:
        json.dump(stats, f)
    os.rename(tmp, args.status)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    for _, writer in held:
        writer.transport.abort()


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--cafile", required=True)
    p.add_argument("--first", type=int, required=True,
                   help="first user; the others follow")
    p.add_argument("--count", type=int, required=True)
    p.add_argument("--concurrency", type=int, default=8,
                   help="connections being set up at once")
    p.add_argument("--status", required=True,
                   help="JSON figures are written here once all are up")
    p.add_argument("--password", default="1234")
    p.add_argument("--domain", default="127.0.0.1")
    p.add_argument("--timeout", type=float, default=10)
    p.add_argument("--tries", type=int, default=3)
    p.add_argument("--bare", action="store_true",
                   help="TLS connections only, no REGISTER")
    return p.parse_args()


if __name__ == "__main__":
    ARGS = parse_args()
    # One descriptor per connection: up to the hard limit.
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    asyncio.run(main(ARGS))
