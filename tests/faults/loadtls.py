#!/usr/bin/python3
"""Hostile TLS clients for the fault tests (asyncio + ssl, stdlib only).

  loris  connections that stall in the TLS handshake or send a SIP
         message one byte at a time; each records when the server
         closed it
  flood  full TLS handshakes as fast as possible from one source
  idle   many TLS connections that stay open and silent; SIGUSR1 pings
         them all (CRLF keepalive), SIGTERM closes them cleanly
  storm  REGISTERs with wrong passwords from many sources (TLS)
  udpstorm  one UDP REGISTER with a made-up digest answer per source and
         user, from thousands of sources

The figures go to --status as one JSON object (idle: also .check and
.closed files).
"""
import argparse
import asyncio
import json
import os
import random
import resource
import signal
import socket
import ssl
import statistics
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sipua  # noqa: E402

REGISTER = ("REGISTER sip:127.0.0.1;transport=tls SIP/2.0\r\n"
            "Via: SIP/2.0/TLS 127.0.0.1:5999;branch=z9hG4bKloris%d\r\n"
            "Max-Forwards: 70\r\nFrom: <sip:1000@127.0.0.1>;tag=l\r\n"
            "To: <sip:1000@127.0.0.1>\r\nCall-ID: loris%d\r\n"
            "CSeq: 1 REGISTER\r\nContact: <sip:1000@127.0.0.1>\r\n"
            "Content-Length: 0\r\n\r\n")


def write_json(path, data):
    with open(path + ".tmp", "w") as f:
        json.dump(data, f)
    os.rename(path + ".tmp", path)


def sources(count, per_ip, third):
    out, i = [], 0
    while len(out) < count:
        ip = "127.0.%d.%d" % (third + i // 250, 1 + i % 250)
        out += [ip] * min(per_ip, count - len(out))
        i += 1
    return out


def client_ctx(args):
    ctx = ssl.create_default_context(cafile=args.cafile)
    return ctx


def client_hello(ctx):
    """The bytes of a ClientHello, made without a socket."""
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(inc, out, server_hostname="localhost")
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return out.read()


def describe(exc):
    if isinstance(exc, asyncio.TimeoutError):
        return "timeout"
    if isinstance(exc, asyncio.IncompleteReadError):
        return "closed by the server"
    return (type(exc).__name__ + ": " + str(exc))[:100]


async def until_closed(reader):
    """Read until the server closes (EOF, reset, close_notify)."""
    try:
        while await reader.read(4096):
            pass
    except (OSError, ssl.SSLError):
        pass


async def loris_one(args, ctx, kind, ip, rec):
    """One slow-loris connection of @kind; @rec gets its times."""
    t0 = time.monotonic()
    if kind.startswith("hello"):
        reader, writer = await asyncio.wait_for(asyncio.open_connection(
            "127.0.0.1", args.port, local_addr=(ip, 0)), args.timeout)
        rec["up"] = time.monotonic() - t0
        hello = client_hello(ctx)
        writer.write(hello[:len(hello) // 2] if kind == "hello-half"
                     else hello)
        start = time.monotonic()
        await asyncio.wait_for(until_closed(reader), args.hold)
    else:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(
            "127.0.0.1", args.port, ssl=ctx, server_hostname="localhost",
            local_addr=(ip, 0)), args.timeout)
        rec["up"] = time.monotonic() - t0
        writer.get_extra_info("socket").setsockopt(
            socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        gap = args.drip_slow if kind == "drip-slow" else args.drip_fast
        start = time.monotonic()
        closed = asyncio.ensure_future(until_closed(reader))
        data = (REGISTER % (rec["i"], rec["i"])).encode()
        for i in range(len(data) - 1):  # never the whole message
            if closed.done():
                break
            try:
                writer.write(data[i:i + 1])
                await writer.drain()
            except (OSError, ssl.SSLError):
                break
            await asyncio.sleep(gap)
            if time.monotonic() - start > args.hold:
                break
        await asyncio.wait_for(closed, max(0.1, args.hold -
                                           (time.monotonic() - start)))
    rec["closed_after"] = time.monotonic() - start
    writer.transport.abort()


async def loris(args):
    ctx = client_ctx(args)
    kinds = ["hello-half", "hello-full", "drip-slow", "drip-fast"]
    ips = sources(args.count, args.per_ip, args.third)
    recs = [{"i": i, "kind": kinds[i % len(kinds)], "ip": ips[i]}
            for i in range(args.count)]
    sem = asyncio.Semaphore(args.concurrency)

    async def one(rec):
        async with sem:
            # Hold the slot until the connection is up only.
            task = asyncio.ensure_future(loris_one(args, ctx, rec["kind"],
                                                   rec["ip"], rec))
            while "up" not in rec and not task.done():
                await asyncio.sleep(0.01)
        try:
            await task
        except Exception as e:  # noqa: B902 (every failure is counted)
            rec["error"] = describe(e)

    started = time.monotonic()
    await asyncio.gather(*(one(r) for r in recs))
    out = {"seconds": round(time.monotonic() - started, 2), "kinds": {}}
    for kind in kinds:
        mine = [r for r in recs if r["kind"] == kind]
        after = sorted(r["closed_after"] for r in mine
                       if "closed_after" in r)
        errors = {}
        for r in mine:
            if "error" in r:
                errors[r["error"]] = errors.get(r["error"], 0) + 1
        out["kinds"][kind] = {
            "count": len(mine), "connected": sum("up" in r for r in mine),
            "closed_by_server": len(after),
            "still_open": sum("up" in r and "closed_after" not in r
                              for r in mine),
            "errors": errors,
            "closed_after": [round(after[0], 2),
                             round(statistics.median(after), 2),
                             round(after[-1], 2)] if after else None}
    write_json(args.status, out)


async def flood(args):
    ctx = client_ctx(args)
    stats = {"ok": 0, "failed": 0, "errors": {}}
    deadline = time.monotonic() + args.seconds

    async def worker():
        while time.monotonic() < deadline:
            try:
                _, writer = await asyncio.wait_for(asyncio.open_connection(
                    "127.0.0.1", args.port, ssl=ctx,
                    server_hostname="localhost",
                    local_addr=(args.source, 0)), args.timeout)
                stats["ok"] += 1
                writer.transport.abort()  # no close_notify: a bot
            except Exception as e:  # noqa: B902
                stats["failed"] += 1
                why = describe(e)
                stats["errors"][why] = stats["errors"].get(why, 0) + 1
                await asyncio.sleep(0.01)

    started = time.monotonic()
    await asyncio.gather(*(worker() for _ in range(args.concurrency)))
    stats["seconds"] = round(time.monotonic() - started, 2)
    write_json(args.status, stats)


async def idle_open(args, ctx, ip):
    reader, writer = await asyncio.wait_for(asyncio.open_connection(
        "127.0.0.1", args.port, ssl=ctx, server_hostname="localhost",
        local_addr=(ip, 0)), args.timeout)
    try:
        writer.write(b"\r\n\r\n")
        pong = await asyncio.wait_for(reader.readexactly(2), args.timeout)
        if pong != b"\r\n":
            raise RuntimeError("no CRLF pong: %r" % pong)
    except BaseException:
        writer.transport.abort()
        raise
    return reader, writer


async def idle_ping(conn, timeout):
    reader, writer = conn
    try:
        writer.write(b"\r\n\r\n")
        return await asyncio.wait_for(reader.readexactly(2),
                                      timeout) == b"\r\n"
    except (Exception, asyncio.CancelledError):  # noqa: B902
        return False


async def idle_close(conn, timeout):
    """close_notify, then wait for the server's close."""
    _, writer = conn
    writer.close()
    try:
        await asyncio.wait_for(writer.wait_closed(), timeout)
        return True
    except (Exception, asyncio.CancelledError):  # noqa: B902
        writer.transport.abort()
        return False


async def idle(args):
    ctx = client_ctx(args)
    ips = sources(args.count, args.per_ip, args.third)
    sem = asyncio.Semaphore(args.concurrency)
    held, errors = [], {}

    async def one(ip):
        async with sem:
            for _ in range(3):
                try:
                    held.append(await idle_open(args, ctx, ip))
                    return
                except Exception as e:  # noqa: B902
                    why = describe(e)
                    errors[why] = errors.get(why, 0) + 1

    started = time.monotonic()
    await asyncio.gather(*(one(ip) for ip in ips))
    write_json(args.status, {"opened": len(held), "errors": errors,
                             "seconds": round(time.monotonic() - started,
                                              2)})
    loop = asyncio.get_running_loop()
    check, stop = asyncio.Event(), asyncio.Event()
    loop.add_signal_handler(signal.SIGUSR1, check.set)
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    while not stop.is_set():
        waiter = asyncio.ensure_future(check.wait())
        stopper = asyncio.ensure_future(stop.wait())
        await asyncio.wait([waiter, stopper],
                           return_when=asyncio.FIRST_COMPLETED)
        waiter.cancel()
        stopper.cancel()
        if check.is_set():
            check.clear()
            alive = await asyncio.gather(*(idle_ping(c, args.timeout)
                                           for c in held))
            write_json(args.status + ".check",
                       {"alive": sum(alive), "dead": len(alive) -
                        sum(alive)})
    clean = await asyncio.gather(*(idle_close(c, args.timeout)
                                   for c in held))
    write_json(args.status + ".closed",
               {"clean": sum(clean), "unclean": len(clean) - sum(clean)})


async def storm(args):
    ips = sources(args.sources, 1, args.third)
    users = [str(u) for u in range(1000, 1020)] + \
        [str(u) for u in range(3000, 3020)]
    stats = {"attempts": 0, "status": {}, "reconnects": 0, "errors": {}}
    left = [args.attempts]

    async def worker(ip):
        phone = None
        while left[0] > 0:
            try:
                if phone is None or phone.closed.is_set():
                    if phone is not None:
                        stats["reconnects"] += 1
                    phone = await sipua.Phone(
                        "1000", args.port, cafile=args.cafile, source=ip,
                        password="wrong", timeout=args.timeout).connect()
                left[0] -= 1
                phone.user = random.choice(users)
                phone.reg_call_id = "storm-" + os.urandom(6).hex()
                status = str(await phone.register(expires=3600))
                stats["attempts"] += 1
                stats["status"][status] = stats["status"].get(status, 0) + 1
            except Exception as e:  # noqa: B902
                why = describe(e)
                stats["errors"][why] = stats["errors"].get(why, 0) + 1
                if phone is not None:
                    phone.abort()
                phone = None
                await asyncio.sleep(0.05)
        if phone is not None:
            await phone.close()

    started = time.monotonic()
    await asyncio.gather(*(worker(ip) for ip in ips))
    stats["seconds"] = round(time.monotonic() - started, 2)
    write_json(args.status, stats)


def udpstorm(args):
    """One REGISTER per (source, real user) over UDP, each with a made-up
    digest answer: no 401 first, no reply read (spoofed sources could not
    read one either)."""
    import socket as so
    sent = 0
    started = time.monotonic()
    for i, ip in enumerate(sources(args.sources, 1, args.third)):
        s = so.socket(so.AF_INET, so.SOCK_DGRAM)
        s.bind((ip, 0))
        port = s.getsockname()[1]
        for u in range(1000, 1020):
            msg = ("REGISTER sip:127.0.0.1 SIP/2.0\r\n"
                   "Via: SIP/2.0/UDP %s:%d;branch=z9hG4bKus%d-%d\r\n"
                   "Max-Forwards: 70\r\n"
                   "From: <sip:%d@127.0.0.1>;tag=us%d\r\n"
                   "To: <sip:%d@127.0.0.1>\r\nCall-ID: us%d-%d\r\n"
                   "CSeq: 1 REGISTER\r\nContact: <sip:%d@%s:%d>\r\n"
                   'Authorization: Digest username="%d", '
                   'realm="127.0.0.1", nonce="%s", '
                   'uri="sip:127.0.0.1", response="%s", algorithm=MD5\r\n'
                   "Content-Length: 0\r\n\r\n" % (
                       ip, port, i, u, u, i, u, i, u, u, ip, port, u,
                       os.urandom(16).hex(), os.urandom(16).hex()))
            s.sendto(msg.encode(), ("127.0.0.1", args.port))
            sent += 1
        s.close()
        ahead = sent / args.rate - (time.monotonic() - started) \
            if args.rate else 0
        if ahead > 0:
            time.sleep(ahead)
    write_json(args.status, {"sent": sent, "seconds": round(
        time.monotonic() - started, 2)})


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("mode", choices=("loris", "flood", "idle", "storm",
                                      "udpstorm"))
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--cafile", required=True)
    p.add_argument("--status", required=True)
    p.add_argument("--count", type=int, default=100)
    p.add_argument("--per-ip", type=int, default=100)
    p.add_argument("--third", type=int, default=10,
                   help="sources are 127.0.THIRD.x and up")
    p.add_argument("--concurrency", type=int, default=32)
    p.add_argument("--timeout", type=float, default=15)
    p.add_argument("--hold", type=float, default=30,
                   help="loris: longest wait for the server to close")
    p.add_argument("--drip-slow", type=float, default=0.5)
    p.add_argument("--drip-fast", type=float, default=0.02)
    p.add_argument("--seconds", type=float, default=10)
    p.add_argument("--source", default="127.0.0.2")
    p.add_argument("--sources", type=int, default=10)
    p.add_argument("--attempts", type=int, default=100)
    p.add_argument("--rate", type=float, default=0,
                   help="udpstorm: datagrams per second (0: no pacing)")
    return p.parse_args()


if __name__ == "__main__":
    ARGS = parse_args()
    _, HARD = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (HARD, HARD))
    if ARGS.mode == "udpstorm":
        udpstorm(ARGS)
    else:
        asyncio.run(globals()[ARGS.mode](ARGS))
