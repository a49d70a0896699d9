"""g. A daemon restart with registered phones (half over TLS, half over
UDP): the bindings come back from the store without the phones
re-registering, after a clean stop (SIGTERM) and after a crash (SIGKILL);
the UDP phones are reached again (OPTIONS from the switch answered)."""
import asyncio
import re

from faultlib import (LoopThread, binding_rows, fault_switch, registrations,
                      size, summary)
import sipua

FIRST = 2000


def expiries(listing):
    """{aor: seconds left} of a `show registrations` listing."""
    out = {}
    for line in listing.splitlines():
        cols = line.split()
        if len(cols) > 2 and "@" in cols[0]:
            found = [c for c in cols[2:] if re.fullmatch(r"\d+", c)]
            # Tp, Flow, ..., Expires: the last number before the UA.
            if found:
                out[cols[0]] = int(found[-1])
    return out


def reached(sw, users):
    """How many of @users answer the switch's OPTIONS (200)."""
    ok = 0
    for u in users:
        out = sw.cli("sips profile internal options %s@127.0.0.1" % u,
                     check=False).stdout
        ok += out.startswith("200 ")
    return ok


def test_bindings_come_back_after_restart(tmp_path):
    n = size("restart_phones")
    sw = fault_switch(tmp_path, users=n)
    sw.start()
    loop = LoopThread()
    loop.start()
    phones = []
    try:
        async def up(i):
            p = sipua.Phone(str(FIRST + i), sw.tls_port if i % 2 == 0 else
                            sw.ports["internal_sip_port"],
                            transport="tls" if i % 2 == 0 else "udp",
                            cafile=sw.cafile, source="127.0.2.%d" % (i + 1))
            await p.connect()
            status = await p.register(expires=3600)
            assert status == 200, (i, status)
            return p

        async def all_up():
            return await asyncio.gather(*(up(i) for i in range(n)))

        phones = loop(all_up())
        udp_users = [p.user for p in phones if p.transport == "udp"]
        count0, listing0 = registrations(sw)
        rows0, exp0 = binding_rows(listing0), expiries(listing0)
        reached0 = reached(sw, udp_users)
        results = []
        for how in ("SIGTERM", "SIGKILL"):
            if how == "SIGTERM":
                sw.stop()
            else:
                sw.proc.kill()
                sw.proc.wait(timeout=10)
            sw.start()
            count, listing = registrations(sw)
            rows, exp = binding_rows(listing), expiries(listing)
            longer = [a for a in exp if a in exp0 and exp[a] > exp0[a]]
            results.append((how, count, rows, longer,
                            reached(sw, udp_users),
                            len(re.findall(r"gone \(restart\)", listing))))
        lost = []
        if count0 != n or len(rows0) != n or reached0 != len(udp_users):
            lost.append("before: %d bindings, %d UDP phones reached" % (
                count0, reached0))
        for how, count, rows, longer, ok, gone in results:
            if rows != rows0:
                lost.append("after %s: %d missing %s, %d new" % (
                    how, len(rows0 - rows), sorted(rows0 - rows)[:3],
                    len(rows - rows0)))
            if longer:
                lost.append("after %s: expiry extended for %s" % (
                    how, longer[:3]))
            if ok != len(udp_users):
                lost.append("after %s: %d of %d UDP phones reached" % (
                    how, ok, len(udp_users)))
        line = summary(
            "g restart",
            "%d bindings (%d TLS, %d UDP) before; %s" % (
                count0, n - len(udp_users), len(udp_users), "; ".join(
                    "after %s + start: %d back (%d same AOR+contact), TLS "
                    "flows shown gone (restart): %d, UDP phones reached by "
                    "OPTIONS: %d/%d, none with a longer expiry: %s" % (
                        how, count, len(rows & rows0), gone, ok,
                        len(udp_users), not longer)
                    for how, count, rows, longer, ok, gone in results)),
            "; ".join(lost))
        assert not lost, line
    finally:
        async def drop():
            for p in phones:
                p.abort()

        try:
            loop(drop())
            loop.close()
        finally:
            sw.stop()
