"""c. Many idle TLS connections: the memory each costs (the switch's RSS
before and after), all still open after a while, then closed cleanly with
the connection and flow counts back to zero."""
import os
import signal
import time

from faultlib import (Prober, conns, fault_switch, fired, flows,
                      open_fds, read_status, rss_kib, size, summary,
                      wait_idle, wait_status, load)
from sbtest import wait_for

# RSS per idle TLS connection above which the test fails (KiB). Under
# ASan every allocation carries redzones and shadow memory.
LIMIT_KIB = {True: 160, False: 64}


def test_idle_tls_connections_memory_and_clean_close(tmp_path):
    n, hold = size("idle"), size("idle_hold")
    asan = os.environ.get("SB_SANITIZE", "") not in ("", "no")
    sw = fault_switch(tmp_path, max_connections=n + 100)
    sw.start()
    client = None
    try:
        status = os.path.join(str(tmp_path), "idle.json")
        rss0, fds0 = rss_kib(sw), open_fds(sw)
        # 80 per source address: under the per-IP connection limit (128)
        # and the handshake burst (100) of one source.
        client = load("idle", sw, status, "--count", n, "--per-ip", 80,
                      "--third", 20, "--concurrency", 32)
        opened = wait_status(client, timeout=60 + n // 20)
        up = conns(sw)[1]
        rss1, fds1 = rss_kib(sw), open_fds(sw)
        per_conn = (rss1 - rss0) / max(1, opened["opened"])
        # A phone still comes up while they are held.
        prober = Prober(sw)
        prober.start()
        wait_for(lambda: len(prober.results) >= 3, timeout=30)
        prober.stop()
        time.sleep(hold)
        client.send_signal(signal.SIGUSR1)
        wait_for(lambda: os.path.exists(status + ".check"),
                 timeout=60 + n // 50)
        client.status_path = status + ".check"
        check = read_status(client)
        still = conns(sw)[1]
        client.send_signal(signal.SIGTERM)
        client.wait(timeout=60 + n // 50)
        client.status_path = status + ".closed"
        closed = read_status(client)
        idle = wait_idle(sw, timeout=60)
        rss2, fds2 = rss_kib(sw), open_fds(sw)
        lost = []
        if opened["opened"] != n:
            lost.append("%d of %d never opened: %s" % (
                n - opened["opened"], n, opened["errors"]))
        if up != opened["opened"]:
            lost.append("switch counted %d open of %d" % (up,
                                                          opened["opened"]))
        if check["alive"] != opened["opened"] or still != up:
            lost.append("after %d s: %d answered the ping, %d dead, switch "
                        "counts %d" % (hold, check["alive"], check["dead"],
                                       still))
        if closed["unclean"]:
            lost.append("%d not closed cleanly" % closed["unclean"])
        if not idle:
            lost.append("after close: connections %s, flows %d" % (
                conns(sw), flows(sw)))
        if fds2 > fds0 + 2:
            lost.append("descriptors %d before, %d after" % (fds0, fds2))
        if prober.failures():
            lost.append("phone: %s" % prober.failures()[:3])
        if per_conn > LIMIT_KIB[asan]:
            lost.append("%.1f KiB per connection (limit %d)" % (
                per_conn, LIMIT_KIB[asan]))
        refused = fired(sw, "max-connections", "SB02030")
        if refused:
            lost.append("%d connections refused by a limit" % refused)
        line = summary(
            "c idle TLS",
            "%d idle TLS connections opened in %.1f s, %d alive after %d s "
            "(CRLF ping answered), %d closed cleanly; switch RSS %.1f -> "
            "%.1f MiB = %.1f KiB per connection%s, %.1f MiB after close; "
            "descriptors %d -> %d -> %d; connections and flows after "
            "close: %s; %s" % (
                opened["opened"], opened["seconds"], check["alive"], hold,
                closed["clean"], rss0 / 1024, rss1 / 1024, per_conn,
                " (ASan build)" if asan else "", rss2 / 1024, fds0, fds1,
                fds2, "0/0" if idle else "%s/%d" % (conns(sw), flows(sw)),
                prober.text()),
            "; ".join(lost))
        assert not lost, line
    finally:
        if client and client.poll() is None:
            client.kill()
            client.wait()
        sw.stop()
