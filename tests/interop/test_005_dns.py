"""Issue 5: where a trunk call goes (RFC 3263): NAPTR picks the transport
and the SRV name, and the INVITE fails over across the SRV targets."""
import os
import re
import socket
import time

from sbtest import (FakeDns, dns_namespace, gentls, grep, sipp_bg,
                    sipp_wait, set_param, free_port, SCENARIOS)
from test_005_calls import (StunnelServer, add_extensions, call_switch,
                            caller)

LOCAL = socket.inet_aton("127.0.0.1")


def hosts(*names):
    """A records for @names, all 127.0.0.1, and no AAAA."""
    recs = {}
    for name in names:
        recs[(name, FakeDns.A)] = [LOCAL]
        recs[(name, FakeDns.AAAA)] = []
    return recs


# A TLS trunk here answers without SDES keys.
PLAIN = "{rtp_secure_media=forbidden}"


def route_trunk(sw, tmp_path, dns, uri):
    """Extension "trunk" bridges to @uri; names resolve through @dns."""
    dns_namespace(sw, tmp_path, dns)
    add_extensions(sw, '''
    <extension name="trunk">
      <condition field="destination_number" expression="^trunk$">
        <action application="bridge" data="%s"/>
      </condition>
    </extension>''' % uri)


def trunk_switch(tmp_path, dns, uri, **params):
    sw = call_switch(tmp_path, **params)
    route_trunk(sw, tmp_path, dns, uri)
    return sw


def uas(port, transport="u1", scenario="call_uas.xml", trace=None):
    extra = ("-key", "rtp_port", "9")
    if trace:
        extra += ("-trace_msg", "-message_file", trace)
    return sipp_bg(scenario, 0, transport, service="uas", local_port=port,
                   extra=extra)


def trunk_call(sw, callee):
    """1000 dials "trunk" while SIPp @callee waits behind the fake DNS;
    both must pass. Returns the switch's log."""
    time.sleep(0.3)
    code, out = caller(sw, "1000", "trunk")
    assert code == 0, out + sw.log()
    rc, out = sipp_wait(callee)
    assert rc == 0, out
    return sw.log()

def scenario_copy(tmp_path, name, old, new):
    with open(os.path.join(SCENARIOS, name)) as f:
        text = f.read().replace(old, new)
    path = os.path.join(str(tmp_path), "%s-%s" % (new.split()[0], name))
    with open(path, "w") as f:
        f.write(text)
    return path


def uas_503(tmp_path):
    return scenario_copy(tmp_path, "call_uas_busy.xml", "486 Busy Here",
                         "503 Service Unavailable")


def invites(trace):
    """(Call-ID, From tag, CSeq, branch) of each INVITE a SIPp saw."""
    with open(trace, errors="replace") as f:
        text = f.read()
    found = []
    for m in re.finditer(r"^INVITE sip:.*?(?=\r?\n\r?\n)", text,
                         re.M | re.S):
        head = m.group(0)
        found.append((re.search(r"^Call-ID: *(\S+)", head, re.M).group(1),
                      re.search(r"^From:.*;tag=([^;\s]+)", head,
                                re.M).group(1),
                      int(re.search(r"^CSeq: *(\d+)", head, re.M).group(1)),
                      re.search(r"^Via:.*;branch=([^;\s]+)", head,
                                re.M).group(1)))
    return found


def test_naptr_picks_tls_and_tls_checks_the_uri_host(tmp_path):
    """sip:uas@DOMAIN, no port, no transport: NAPTR first (RFC 3263 4.1).
    A regexp record (lowest order) is ignored, SIPS+D2T beats SIP+D2U;
    its replacement is the SRV name; the certificate names the domain,
    not the SRV target (RFC 5922), and is verified."""
    sw = call_switch(tmp_path)
    internal = sw.ssl_dir("internal")
    gentls("create_server", "-base", internal, "-cn", "trunk.naptr.test",
           "-alt", "trunk.naptr.test", "-out", "naptr.pem")
    uas_port = free_port()
    tunnel = StunnelServer(tmp_path, uas_port,
                           os.path.join(internal, "naptr.pem"))
    records = hosts("uas.naptr.test")
    records.update({
        ("trunk.naptr.test", FakeDns.NAPTR): [
            FakeDns.naptr(20, 10, "s", "SIP+D2U", "",
                          "_sip._udp.trunk.naptr.test"),
            FakeDns.naptr(5, 10, "s", "SIP+D2U", "!^.*$!sip:x@192.0.2.1!",
                          "."),
            FakeDns.naptr(10, 10, "s", "SIPS+D2T", "",
                          "_sips._tcp.trunk.naptr.test")],
        ("_sips._tcp.trunk.naptr.test", FakeDns.SRV): [
            FakeDns.srv(10, 0, tunnel.port, "uas.naptr.test")],
        ("_sip._udp.trunk.naptr.test", FakeDns.SRV): [
            FakeDns.srv(10, 0, free_port(socket.SOCK_DGRAM),
                        "uas.naptr.test")],
    })
    dns = FakeDns(records)
    route_trunk(sw, tmp_path, dns,
                PLAIN + "sip/internal/uas@trunk.naptr.test")
    sw.start()
    try:
        log = trunk_call(sw, uas(uas_port, "t1"))
        assert grep(r"SB02615 .*trunk\.naptr\.test: SRV target "
                    r"uas\.naptr\.test port %d over tls \(NAPTR SIPS\+D2T\)"
                    % tunnel.port, log), log
        assert grep(r"SB02612 .* over tls to 127\.0\.0\.1:%d" % tunnel.port,
                    log), log
        assert grep(r"SB02010 .*\(we are client\).*CN ?= ?trunk\.naptr\.test"
                    r".*verify: ok", log), log
        assert not grep(r"SB02616", log), log
        assert ("trunk.naptr.test", FakeDns.NAPTR) in dns.queries
        assert ("_sips._tcp.trunk.naptr.test", FakeDns.SRV) in dns.queries
        # What a lookup without NAPTR would have asked first.
        assert ("_sip._udp.trunk.naptr.test", FakeDns.SRV) not in \
            dns.queries[:dns.queries.index(
                ("_sips._tcp.trunk.naptr.test", FakeDns.SRV))]
    finally:
        dns.close()
        tunnel.close()
        sw.stop()


def test_naptr_picks_tcp_over_the_udp_default(tmp_path):
    """NAPTR SIP+D2T before SIP+D2U: the call goes over TCP to the
    _sip._tcp target, though sip: alone would mean UDP (whose SRV
    target here has nobody listening)."""
    uas_port = free_port()
    records = hosts("tcp.naptr.test", "udp.naptr.test")
    records.update({
        ("trunk.naptr.test", FakeDns.NAPTR): [
            FakeDns.naptr(50, 10, "s", "SIP+D2U", "",
                          "_sip._udp.trunk.naptr.test"),
            FakeDns.naptr(50, 5, "s", "SIP+D2T", "",
                          "_sip._tcp.trunk.naptr.test")],
        ("_sip._tcp.trunk.naptr.test", FakeDns.SRV): [
            FakeDns.srv(1, 0, uas_port, "tcp.naptr.test")],
        ("_sip._udp.trunk.naptr.test", FakeDns.SRV): [
            FakeDns.srv(1, 0, free_port(socket.SOCK_DGRAM),
                        "udp.naptr.test")],
    })
    dns = FakeDns(records)
    sw = trunk_switch(tmp_path, dns, "sip/internal/uas@trunk.naptr.test")
    sw.start()
    try:
        log = trunk_call(sw, uas(uas_port, "t1"))
        assert grep(r"SB02615 .*SRV target tcp\.naptr\.test port %d over "
                    r"tcp \(NAPTR SIP\+D2T\)" % uas_port, log), log
        assert grep(r"SB02612 .* over tcp to 127\.0\.0\.1:%d" % uas_port,
                    log), log
        assert not grep(r"SB02612 .* over udp", log), log
    finally:
        dns.close()
        sw.stop()


def test_refused_first_target_fails_over_to_the_next(tmp_path):
    """Two SRV targets; nothing listens at the first one's port (TCP
    connect refused): the INVITE goes to the second (RFC 3263 4.3), and
    the log says which target failed and why."""
    uas_port, dead_port = free_port(), free_port()
    records = hosts("dead.fo.test", "uas.fo.test")
    records[("_sip._tcp.trunk.fo.test", FakeDns.SRV)] = [
        FakeDns.srv(20, 0, uas_port, "uas.fo.test"),
        FakeDns.srv(10, 0, dead_port, "dead.fo.test")]
    dns = FakeDns(records)
    sw = trunk_switch(tmp_path, dns,
                      "sip/internal/uas@trunk.fo.test;transport=tcp")
    sw.start()
    try:
        callee = uas(uas_port, "t1")
        time.sleep(0.3)
        start = time.monotonic()
        code, out = caller(sw, "1000", "trunk")
        assert code == 0, out + sw.log()
        rc, out = sipp_wait(callee)
        assert rc == 0, out
        log = sw.log()
        fo = re.findall(r"SB02616 .*", log)
        assert len(fo) == 1, log
        assert re.search(r"trunk\.fo\.test: tcp dead\.fo\.test "
                         r"127\.0\.0\.1:%d \(transport failure" % dead_port,
                         fo[0]), log
        assert grep(r"SB02612 .* over tcp to 127\.0\.0\.1:%d" % uas_port,
                    log), log
        # A refused connection is known at once: no timer waited for it.
        assert time.monotonic() - start < 3 + 5, log
        # Transport as given: no NAPTR asked.
        assert ("trunk.fo.test", FakeDns.NAPTR) not in dns.queries
    finally:
        dns.close()
        sw.stop()


def test_tls_failure_at_first_target_fails_over(tmp_path):
    """sips: URI, two SRV targets: the first one's certificate names its
    SRV target but not the URI's domain, which is what TLS checks (RFC
    5922), so its handshake fails; the second one's names the domain only,
    and the call completes there."""
    sw = call_switch(tmp_path)
    internal = sw.ssl_dir("internal")
    gentls("create_server", "-base", internal, "-cn", "other.tls.test",
           "-alt", "other.tls.test", "-alt", "bad.tls.test",
           "-out", "wrong.pem")
    gentls("create_server", "-base", internal, "-cn", "trunk.tls.test",
           "-alt", "trunk.tls.test", "-out", "right.pem")
    uas_port = free_port()
    bad = StunnelServer(tmp_path, free_port(),
                        os.path.join(internal, "wrong.pem"))
    good = StunnelServer(tmp_path, uas_port,
                         os.path.join(internal, "right.pem"))
    records = hosts("bad.tls.test", "good.tls.test")
    records[("_sips._tcp.trunk.tls.test", FakeDns.SRV)] = [
        FakeDns.srv(1, 0, bad.port, "bad.tls.test"),
        FakeDns.srv(2, 0, good.port, "good.tls.test")]
    dns = FakeDns(records)
    route_trunk(sw, tmp_path, dns,
                PLAIN + "sip/internal/sips:uas@trunk.tls.test")
    sw.start()
    try:
        log = trunk_call(sw, uas(uas_port, "t1"))
        assert grep(r"SB02616 .*trunk\.tls\.test: tls bad\.tls\.test "
                    r"127\.0\.0\.1:%d \(transport failure" % bad.port,
                    log), log
        assert grep(r"SB02612 .* over tls to 127\.0\.0\.1:%d" % good.port,
                    log), log
        assert grep(r"SB02010 .*\(we are client\).*CN ?= ?trunk\.tls\.test"
                    r".*verify: ok", log), log
        # sips: without a transport param: NAPTR was asked (none there).
        assert ("trunk.tls.test", FakeDns.NAPTR) in dns.queries
    finally:
        dns.close()
        bad.close()
        good.close()
        sw.stop()


def test_503_from_first_target_sends_invite_to_the_next(tmp_path):
    """RFC 3263 4.3: a 503 means "try the next": a new transaction (new
    branch, next CSeq) in the same dialog attempt reaches the second
    target, and the call completes there."""
    first_port = free_port(socket.SOCK_DGRAM)
    second_port = free_port(socket.SOCK_DGRAM)
    records = hosts("one.fo.test", "two.fo.test")
    records[("_sip._udp.trunk.fo.test", FakeDns.SRV)] = [
        FakeDns.srv(10, 0, first_port, "one.fo.test"),
        FakeDns.srv(20, 0, second_port, "two.fo.test")]
    dns = FakeDns(records)
    sw = trunk_switch(tmp_path, dns, "sip/internal/uas@trunk.fo.test")
    sw.start()
    t1 = os.path.join(str(tmp_path), "first.log")
    t2 = os.path.join(str(tmp_path), "second.log")
    try:
        busy = uas(first_port, scenario=uas_503(tmp_path), trace=t1)
        trunk_call(sw, uas(second_port, trace=t2))
        rc, out = sipp_wait(busy)
        assert rc == 0, out
        log = sw.log()
        assert grep(r"SB02616 .*trunk\.fo\.test: udp one\.fo\.test "
                    r"127\.0\.0\.1:%d \(503 Service Unavailable\)"
                    % first_port, log), log
        assert grep(r"SB02612 .* over udp to 127\.0\.0\.1:%d" % second_port,
                    log), log
        (cid1, tag1, cseq1, br1), = invites(t1)
        (cid2, tag2, cseq2, br2), = invites(t2)
        assert (cid2, tag2) == (cid1, tag1)
        assert cseq2 == cseq1 + 1
        assert br2 != br1
    finally:
        dns.close()
        sw.stop()


def test_silent_first_target_times_out_then_next(tmp_path):
    """A UDP black hole (a socket that never answers): after Timer B
    (64*T1; T1 is 100 ms here) the second target gets the INVITE."""
    hole = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    hole.bind(("127.0.0.1", 0))
    hole_port = hole.getsockname()[1]
    uas_port = free_port(socket.SOCK_DGRAM)
    records = hosts("hole.fo.test", "uas.fo.test")
    records[("_sip._udp.trunk.fo.test", FakeDns.SRV)] = [
        FakeDns.srv(10, 0, hole_port, "hole.fo.test"),
        FakeDns.srv(10, 0, uas_port, "uas.fo.test")]
    # Same priority: weight 0 both, so the answer's order decides.
    dns = FakeDns(records)
    sw = trunk_switch(tmp_path, dns, "sip/internal/uas@trunk.fo.test")
    set_param(sw, "internal", "timer-T1", "100")
    sw.start()
    try:
        callee = uas(uas_port)
        time.sleep(0.3)
        start = time.monotonic()
        code, out = caller(sw, "1000", "trunk", hold_ms=500)
        elapsed = time.monotonic() - start
        assert code == 0, out + sw.log()
        rc, out = sipp_wait(callee)
        assert rc == 0, out
        log = sw.log()
        assert grep(r"SB02616 .*udp hole\.fo\.test 127\.0\.0\.1:%d "
                    r"\(no response before Timer B\)" % hole_port, log), log
        assert grep(r"SB02612 .* over udp to 127\.0\.0\.1:%d" % uas_port,
                    log), log
        # Timer B (6.4 s) was waited, not the 32 s of the default T1.
        assert 6 < elapsed < 20, elapsed
        # The hole got the INVITE and its retransmissions.
        hole.settimeout(0.1)
        got = []
        try:
            while True:
                got.append(hole.recv(4096))
        except socket.timeout:
            pass
        assert len(got) >= 3 and all(g.startswith(b"INVITE ") for g in got)
    finally:
        hole.close()
        dns.close()
        sw.stop()


def test_every_target_failing_names_them_all(tmp_path):
    """Both SRV targets answer 503 and a third does not resolve: the
    caller gets 503 (as with one target), and one log line names every
    target tried and the one that did not resolve."""
    ports = [free_port(socket.SOCK_DGRAM), free_port(socket.SOCK_DGRAM)]
    records = hosts("one.fo.test", "two.fo.test")
    records[("_sip._udp.trunk.fo.test", FakeDns.SRV)] = [
        FakeDns.srv(10, 0, ports[0], "one.fo.test"),
        FakeDns.srv(20, 0, 5999, "ghost.fo.test"),
        FakeDns.srv(30, 0, ports[1], "two.fo.test")]
    dns = FakeDns(records)
    sw = trunk_switch(tmp_path, dns, "sip/internal/uas@trunk.fo.test")
    sw.start()
    try:
        busy = [uas(p, scenario=uas_503(tmp_path)) for p in ports]
        time.sleep(0.3)
        fail = scenario_copy(tmp_path, "call_uac_fail.xml", "@STATUS@",
                             "503")
        code, out = caller(sw, "1000", "trunk", scenario=fail)
        assert code == 0, out + sw.log()
        for proc in busy:
            rc, out = sipp_wait(proc)
            assert rc == 0, out
        log = sw.log()
        assert len(re.findall(r"SB02616 ", log)) == 1, log
        assert grep(r"SB02617 .*trunk\.fo\.test: every target failed: "
                    r"udp one\.fo\.test 127\.0\.0\.1:%d \(503 [^)]*\); "
                    r"udp two\.fo\.test 127\.0\.0\.1:%d \(503 [^)]*\); "
                    r"not resolved: \"ghost\.fo\.test\"" % tuple(ports),
                    log), log
    finally:
        dns.close()
        sw.stop()


def test_ping_goes_through_the_srv_targets(tmp_path):
    """`sips profile NAME ping URI` fails over as an INVITE does (RFC 3263
    4.3): a target where nothing listens (TCP refused), then one that
    answers 503, then one that answers 200; one line per failed target,
    then the answer of the one that replied. The SIPp servers check
    what reached them."""
    dead, busy_port, ok_port = free_port(), free_port(), free_port()
    records = hosts("dead.ping.test", "busy.ping.test", "ok.ping.test")
    records[("_sip._tcp.trunk.ping.test", FakeDns.SRV)] = [
        FakeDns.srv(10, 0, dead, "dead.ping.test"),
        FakeDns.srv(20, 0, busy_port, "busy.ping.test"),
        FakeDns.srv(30, 0, ok_port, "ok.ping.test")]
    dns = FakeDns(records)
    sw = trunk_switch(tmp_path, dns, "sip/internal/uas@trunk.ping.test")
    sw.start()
    try:
        busy = uas(busy_port, "t1", scenario=scenario_copy(
            tmp_path, "options_uas.xml", "200 OK",
            "503 Service Unavailable"))
        ok = uas(ok_port, "t1", scenario="options_uas.xml")
        time.sleep(0.3)
        out = sw.cli("sips profile internal ping "
                     "sip:trunk.ping.test;transport=tcp").stdout
        for proc in (busy, ok):
            rc, text = sipp_wait(proc)
            assert rc == 0, text + out
        lines = out.strip().splitlines()
        assert len(lines) == 3, out
        assert re.match(r"tcp dead\.ping\.test 127\.0\.0\.1:%d: .*; trying "
                        r"the next target \(2 of 3\)$" % dead, lines[0]), out
        assert re.match(r"tcp busy\.ping\.test 127\.0\.0\.1:%d: Service "
                        r"Unavailable; trying the next target \(3 of 3\)$"
                        % busy_port, lines[1]), out
        assert re.match(r"200 OK from tcp ok\.ping\.test 127\.0\.0\.1:%d in "
                        r"[\d.]+ ms$" % ok_port, lines[2]), out
    finally:
        dns.close()
        sw.stop()
