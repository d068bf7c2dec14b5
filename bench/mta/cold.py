#!/usr/bin/python3
"""bench/mta/cold.py — the cold case of issue 18 (by hand, not in make check).

Usage: bench/mta/cold.py [BUILD_DIR] [MESSAGES] [DELAY_MS]    (as root; defaults build 20 50)
       COLD_FILTERS=mailvetd,opendkim+opendmarc,rspamd picks a subset.

Every DNS answer takes DELAY_MS: an authoritative server on 127.0.0.1 (bench/mta/slowdns.py,
dnspython, UDP and TCP) answers each query that long after it arrived, each query on its own
timer. One unbound in front of it (stub-zones "coldbench." and "18.198.in-addr.arpa." pointing at
it, no QNAME minimisation), restarted — its cache empty — before each filter; the filters
resolve through that unbound as bench/mta/run.py configures them. No cache can help: every
message has its own names: From alice@D, MAIL FROM b@D, HELO mx.D, client 198.18.F.I (its own
PTR and A), DKIM-signed twice by D (rsa-sha256 2048, ed25519), ARC-sealed by fFmI-relay.coldbench,
D = fFmI.coldbench (its own organizational domain: "coldbench" is no public suffix; not
.test, which libunbound — in mailvetd and OpenDKIM — answers itself with NXDOMAIN) with
   D         TXT "v=spf1 include:_spf.D -all"   (SPF: two rounds)
   _spf.D    TXT "v=spf1 ip4:198.18.F.I -all"
   mx.D      TXT "v=spf1 ip4:198.18.F.I -all", A 198.18.F.I; PTR of 198.18.F.I -> mx.D
   rsa._domainkey.D, ed._domainkey.D, arc._domainkey.fFmI-relay.coldbench  TXT keys
   _dmarc.D  TXT "v=DMARC1; p=reject"
The longest dependency chain is two rounds (SPF D -> _spf.D; iprev PTR -> A); everything
else is one round.

One message at a time, one milter session per message (a new connection, as one SMTP
session each), driven by tests/daemon/milterproto.py the way Postfix drives a milter:
options, connect, helo, mail, rcpt, data, headers, end of headers, body, end of message.
Timed: from sending SMFIC_BODYEOB to the final reply (EOB->verdict), and the whole session.
OpenDKIM + OpenDMARC are chained as Postfix chains them: OpenDKIM's session first, then
OpenDMARC's with OpenDKIM's Authentication-Results on top; their EOB->verdict times are
summed. Each filter gets 2 unmeasured warm-up messages (with their own names too: they warm
the process, not the DNS). The DNS server's log gives, per message: the queries it caused
(their names contain D or its PTR name), their rounds in all and after EOB.
"""
import os
import resource
import smtplib
import socket
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "daemon"))
import harness  # noqa: E402
import milterproto as mp  # noqa: E402
import postfix_test as pft  # noqa: E402
import run  # noqa: E402  (bench/mta/run.py: the peers' configurations)
import slowdns  # noqa: E402
import testports  # noqa: E402

AUTHSERV = run.AUTHSERV
RCPT = run.RCPT

# Milter protocol flags beyond milterproto's (libmilter mfdef.h).
SMFIP_NR_CONN = 0x1000
SMFIP_NR_HELO = 0x2000
SMFIP_NR_MAIL = 0x4000
SMFIP_NR_DATA = 0x10000
SMFIP_NR_EOH = 0x40000
SMFIP_NR_BODY = 0x80000


def sh(cmd, **kw):
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw).stdout


def key_rdata(zone_line):
    """The TXT rdata of one `mailvet keygen` line."""
    return zone_line.split(None, 2)[2].strip()


class Msg:
    pass


def make_messages(work, mv, fidx, count, keys, zone, tag, ip=None):
    """count messages for filter number fidx, each with its own names; their records go into
    zone (slowdns.Zone) and into work/zone-TAG (for mailvet sign/seal)."""
    out = []
    lines = []
    t = str(int(time.time()))
    for i in range(count):
        m = Msg()
        m.label = "f%dm%d" % (fidx, i)
        m.d = "f%dm%d.coldbench" % (fidx, i)
        m.relay = "f%dm%d-relay.coldbench" % (fidx, i)
        m.ip = ip or "198.18.%d.%d" % (fidx, i + 1)
        m.ptr = ".".join(reversed(m.ip.split("."))) + ".in-addr.arpa"
        m.helo = "mx." + m.d
        m.sender = "b@" + m.d
        recs = [(m.d, "TXT", '"v=spf1 include:_spf.%s -all"' % m.d),
                ("_spf." + m.d, "TXT", '"v=spf1 ip4:%s -all"' % m.ip),
                (m.helo, "TXT", '"v=spf1 ip4:%s -all"' % m.ip),
                (m.helo, "A", m.ip),
                (m.ptr, "PTR", m.helo + "."),
                ("rsa._domainkey." + m.d, "TXT", keys["rsa"]),
                ("ed._domainkey." + m.d, "TXT", keys["ed"]),
                ("arc._domainkey." + m.relay, "TXT", keys["arc"]),
                ("_dmarc." + m.d, "TXT", '"v=DMARC1; p=reject"')]
        for r in recs:
            zone.add(*r)
            lines.append("%s %s %s" % r)
        out.append(m)
    zpath = os.path.join(work, "zone-" + tag)
    with open(zpath, "w") as f:
        f.write("\n".join(lines) + "\n")
    line = "The quick brown fox jumps over the lazy dog, again and again.\r\n"
    for i, m in enumerate(out):
        hdr = ("From: Alice <alice@%s>\r\nTo: %s\r\nSubject: cold %s\r\n"
               "Date: Tue, 14 Nov 2023 22:13:20 +0000\r\nMessage-ID: <cold%d@%s>\r\n\r\n"
               % (m.d, RCPT, m.d, i, m.d))
        plain = os.path.join(work, "plain-%s.eml" % m.d)
        with open(plain, "w", newline="") as f:
            f.write(hdr + line * ((4096 - len(hdr)) // len(line)))
        signed = sh([mv, "sign", "--domain", m.d, "--selector", "rsa", "--key", "rsa.pem",
                     "--selector", "ed", "--key", "ed.pem", "--now", t, plain], cwd=work)
        sp = os.path.join(work, "signed-%s.eml" % m.d)
        with open(sp, "w", newline="") as f:
            f.write(signed)
        env = ["--ip", m.ip, "--helo", m.helo, "--mail-from", m.sender]
        sealed = sh([mv, "seal", "--domain", m.relay, "--selector", "arc", "--key", "arc.pem",
                     "--authserv-id", "relay.example.net", "--zone", zpath, "--now", t,
                     "--verify"] + env + [sp], cwd=work)
        mpath = os.path.join(work, "msg-%s.eml" % m.d)
        with open(mpath, "w", newline="") as f:
            f.write(sealed)
        if i == 0:
            v = sh([mv, "verify", "--zone", zpath] + env + ["--authserv-id", AUTHSERV, mpath])
            assert ("dmarc=pass" in v and "arc=pass" in v and v.count("dkim=pass") == 2
                    and "spf=pass" in v and "iprev=pass" in v), v
        raw = sealed.encode().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
        m.headers = pft.header_fields(raw)
        m.body = raw.split(b"\r\n\r\n", 1)[1]
    return out


def unbound_conf(work, port, slowport, also53):
    lines = ["server:", "  interface: 127.0.0.1@%d" % port]
    if also53:
        lines.append("  interface: 127.0.0.1@53")
    lines += ["  do-daemonize: no", '  chroot: ""', '  username: ""', '  pidfile: ""',
              "  use-syslog: no", '  logfile: ""', '  directory: "%s"' % work, "  do-ip6: no",
              "  num-threads: 1", "  access-control: 127.0.0.0/8 allow",
              '  module-config: "iterator"', "  qname-minimisation: no",
              "  do-not-query-localhost: no", "  prefetch: no", "  minimal-responses: yes",
              '  local-zone: "coldbench." transparent', '  local-zone: "18.198.in-addr.arpa." transparent',
              '  local-zone: "." refuse',  # nothing else leaves the host
              "stub-zone:", '  name: "coldbench."', "  stub-addr: 127.0.0.1@%d" % slowport,
              "stub-zone:", '  name: "18.198.in-addr.arpa."',
              "  stub-addr: 127.0.0.1@%d" % slowport,
              "remote-control:", "  control-enable: no"]
    path = os.path.join(work, "unbound-cold.conf")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return path


# ---------------------------------------------------------------- one milter session

def step(c, cmd, data, no_flag, nr_flag):
    """One step as an MTA sends it: not at all when the milter asked to skip it, without
    waiting when it asked for no reply; returns the Answer or None. c.waits collects the
    time each answered step took before EOB (which step holds the MTA back)."""
    if no_flag and c.skip & no_flag:
        return None
    c.send(cmd, data)
    if nr_flag and c.skip & nr_flag:
        return None
    t = time.monotonic()
    a = c.answer()
    c.waits[cmd.decode()] = c.waits.get(cmd.decode(), 0.0) + time.monotonic() - t
    return a


def session(port, m, extra_headers=()):
    """One message through the milter on port; returns (eob_seconds, total_seconds,
    t_eob monotonic, final Answer)."""
    t_start = time.monotonic()
    c = mp.MilterClient("127.0.0.1", port, timeout=60)
    c.waits = {}
    c.negotiate()

    def ok(a):
        if a is not None and a.final not in ("continue",):
            raise mp.MilterError("early answer %r" % a)
    c.macros(b"C", j="mx.test.example", _="%s [%s]" % (m.helo, m.ip), daemon_name="smtpd",
             **{"if_name": "lo", "if_addr": "127.0.0.1"})
    ok(step(c, b"C", m.helo.encode() + b"\0" + b"4" + (25).to_bytes(2, "big") +
            m.ip.encode() + b"\0", mp.SMFIP_NOCONNECT, SMFIP_NR_CONN))
    ok(step(c, b"H", m.helo.encode() + b"\0", mp.SMFIP_NOHELO, SMFIP_NR_HELO))
    c.macros(b"M", i="COLDQ", mail_mailer="smtp", mail_host=m.d, mail_addr=m.sender)
    ok(step(c, b"M", ("<%s>" % m.sender).encode() + b"\0", mp.SMFIP_NOMAIL, SMFIP_NR_MAIL))
    c.macros(b"R", rcpt_mailer="smtp", rcpt_host="dest.example", rcpt_addr=RCPT)
    ok(step(c, b"R", ("<%s>" % RCPT).encode() + b"\0", mp.SMFIP_NORCPT, mp.SMFIP_NR_RCPT))
    if not c.skip & mp.SMFIP_NODATA:
        c.macros(b"T", i="COLDQ")
    ok(step(c, b"T", b"", mp.SMFIP_NODATA, SMFIP_NR_DATA))
    for n, v in list(extra_headers) + m.headers:
        if not c.leadspc and v.startswith(" "):
            v = v[1:]
        ok(step(c, b"L", n.encode() + b"\0" + v.encode() + b"\0", mp.SMFIP_NOHDRS,
                mp.SMFIP_NR_HDR))
    ok(step(c, b"N", b"", mp.SMFIP_NOEOH, SMFIP_NR_EOH))
    if not c.skip & mp.SMFIP_NOBODY:
        for i in range(0, len(m.body), 65535):
            ok(step(c, b"B", m.body[i:i + 65535], 0, SMFIP_NR_BODY))
    c.macros(b"E", i="COLDQ")
    t_eob = time.monotonic()
    c.send(b"E")
    a = c.answer()
    t_end = time.monotonic()
    c.quit()
    session.waits = c.waits
    return t_end - t_eob, t_end - t_start, t_eob, a


def smtp_session(port, m):
    """One message through mailvetd's SMTP front end (a new connection); returns
    (end-of-data..reply seconds, whole session seconds, t of the final dot, reply)."""
    t_start = time.monotonic()
    s = smtplib.SMTP("127.0.0.1", port, timeout=60)
    # The body and the final dot go in two writes: with Nagle on, the dot would wait for
    # the front end's delayed ACK of the body (40 ms) and be timed as the filter's.
    s.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    s.ehlo(m.helo)
    s.mail(m.sender)
    s.rcpt(RCPT)
    code, _ = s.docmd("DATA")
    assert code == 354, code
    raw = b"".join((n + ":" + v.replace("\n", "\r\n") + "\r\n").encode() for n, v in m.headers)
    data = raw + b"\r\n" + m.body
    if not data.endswith(b"\r\n"):
        data += b"\r\n"
    s.send(data.replace(b"\r\n.", b"\r\n.."))
    t_eod = time.monotonic()
    s.send(b".\r\n")
    code, msg = s.getreply()
    t_end = time.monotonic()
    s.quit()
    session.waits = {}
    return t_end - t_eod, t_end - t_start, t_eod, (code, msg)


def ar_of(a):
    return [x[3] for x in a.mods if x[2].lower() == "authentication-results"]


# ---------------------------------------------------------------- DNS accounting

def dns_of(queries, m, t_eob, delay):
    mine = [q for q in queries if q[1] == m.ptr or m.label + "." in q[1] or
            m.label + "-relay." in q[1]]
    times = [q[0] for q in mine]
    after = [t for t in times if t >= t_eob]
    return {"n": len(mine), "rounds": slowdns.rounds(times, delay),
            "rounds_after": slowdns.rounds(after, delay),
            "seq": sorted((round((q[0] - t_eob) * 1000, 1), "%s/%s" % (q[1], q[2]))
                          for q in mine)}


def pct(xs, p):
    xs = sorted(xs)
    k = max(0, min(len(xs) - 1, int(round(p / 100.0 * len(xs) + 0.5)) - 1))
    return xs[k]


def main():
    build = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "build"))
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 20
    delay = (float(sys.argv[3]) if len(sys.argv) > 3 else 50.0) / 1000.0
    mv = os.path.join(build, "mailvet")
    os.environ["MAILVETD"] = os.path.join(build, "daemon", "mailvetd")
    os.environ.setdefault("MAILVET", mv)
    resource.setrlimit(resource.RLIMIT_NOFILE, (8192, 8192))
    work = harness.tempdir("mailvet-bench-cold-")
    os.chmod(work, 0o755)
    keys = {}
    for sel, alg in (("rsa", ["rsa", "--bits", "2048"]), ("ed", ["ed25519"]),
                     ("arc", ["rsa", "--bits", "2048"])):
        keys[sel] = key_rdata(sh([mv, "keygen", "--algorithm"] + alg + [
            "--domain", "example.com", "--selector", sel, "--out", sel + ".pem"], cwd=work))
    zone = slowdns.Zone(["coldbench.", "18.198.in-addr.arpa."])
    filters = os.environ.get("COLD_FILTERS", "mailvetd,opendkim+opendmarc,rspamd,frontend").split(",")
    msgs = {}
    for fi, f in enumerate(filters, start=1):
        # The front end sees the real client, 127.0.0.1: its records name that address (the
        # PTR of 127.0.0.1 is answered by libunbound itself: iprev costs it no round).
        msgs[f] = make_messages(work, mv, fi, count + 2, keys, zone, f,
                                "127.0.0.1" if f == "frontend" else None)
    srv = slowdns.SlowServer(zone, delay)
    dnsport = harness.free_port()
    also53 = testports.bindable(53)
    uconf = unbound_conf(work, dnsport, srv.port, also53)
    print("slow DNS 127.0.0.1@%d (%.0f ms per answer); unbound 127.0.0.1@%d%s; %d messages "
          "per filter; load %s" % (srv.port, delay * 1000, dnsport,
                                   " and @53" if also53 else "", count,
                                   open("/proc/loadavg").read().split()[:3]), flush=True)
    if not also53:
        print("NOTE: 127.0.0.1:53 is taken: OpenDMARC resolves through the system's resolver")
    results = []
    unbound = None
    try:
        for f in filters:
            run.stop(unbound)
            unbound = run.start(["unbound", "-d", "-c", uconf], os.path.join(work, "unbound.log"))
            time.sleep(0.7)
            procs, ports = [], []
            d = None
            if f == "mailvetd":
                port = harness.free_port()
                d = harness.Mailvetd(work, port=port, extra=(
                    "[log]\ndebug = no\n[dns]\nzone_file =\nresolver = 127.0.0.1@%d\n" % dnsport))
                d.start()
                ports = [port]
            elif f == "opendkim+opendmarc":
                ports = [harness.free_port(), harness.free_port()]
                procs = [run.start_opendkim(work, ports[0], dnsport),
                         run.start_opendmarc(work, ports[1], also53)]
            elif f == "rspamd":
                ports = [harness.free_port()]
                procs = [run.start_rspamd(work, ports[0], dnsport)]
            elif f == "frontend":
                port, sink = harness.free_port(), harness.free_port()
                procs = [run.start(["/usr/sbin/smtp-sink", "-u", "postfix", "127.0.0.1:%d" % sink,
                                    "512"], os.path.join(work, "sink.log"))]
                harness.wait_port(sink, procs[0])
                d = harness.Mailvetd(work, port=harness.free_port(), extra=(
                    "[log]\ndebug = no\n[dns]\nzone_file =\nresolver = 127.0.0.1@%d\n"
                    "[listener front]\nlisten = 127.0.0.1:%d\nnext_hop = inet:127.0.0.1:%d\n"
                    "hostname = mx.test.example\n" % (dnsport, port, sink)))
                d.start()
                harness.wait_port(port, d.proc)
                ports = [port]
            else:
                raise SystemExit("unknown filter %s" % f)
            try:
                rows = []
                for k, m in enumerate(msgs[f]):
                    mark = srv.mark()
                    if f == "frontend":
                        eob, total, t_eob, reply = smtp_session(ports[0], m)
                        a = mp.Answer()
                        a.final = "%d" % reply[0]
                    else:
                        eob, total, t_eob, a = session(ports[0], m)
                    waits = dict(session.waits)
                    ars = ar_of(a)
                    if len(ports) == 2:   # OpenDMARC after OpenDKIM, with its A-R on top
                        top = [("Authentication-Results", " " + x) for x in ars]
                        eob2, total2, _, a2 = session(ports[1], m, top)
                        for kk, vv in session.waits.items():
                            waits["2" + kk] = vv   # "2N": OpenDMARC's end of headers
                        eob += eob2
                        total += total2
                        ars += ar_of(a2)
                        a = a2
                    time.sleep(0.3)   # late queries (none expected) land in this message
                    dq = dns_of(srv.queries(mark), m, t_eob, delay)
                    slow = max(waits.items(), key=lambda kv: kv[1], default=("-", 0.0))
                    if k < 2:
                        if k == 0 and f == "frontend":
                            print("  frontend first reply: %r; its log: %s" % (
                                reply, (d.message_lines() or ["(none)"])[-1][:400]))
                        elif k == 0:
                            print("  %s first A-R: %s" % (f, " | ".join(ars) or "(none: %r)" % a))
                        continue
                    rows.append((eob, total, dq, a.final, slow))
                eobs = [r[0] * 1000 for r in rows]
                tots = [r[1] * 1000 for r in rows]
                nq = [r[2]["n"] for r in rows]
                rd = [r[2]["rounds"] for r in rows]
                ra = [r[2]["rounds_after"] for r in rows]
                res = {"f": f, "p50": statistics.median(eobs), "p90": pct(eobs, 90),
                       "tot50": statistics.median(tots), "q": statistics.median(nq),
                       "qmin": min(nq), "qmax": max(nq), "rounds": statistics.median(rd),
                       "rafter": statistics.median(ra), "finals": sorted(set(r[3] for r in rows)),
                       "load": open("/proc/loadavg").read().split()[0],
                       "sample": rows[len(rows) // 2][2], "slow": rows[len(rows) // 2][4]}
                results.append(res)
                print("%-20s EOB->verdict p50 %6.1f p90 %6.1f ms (session p50 %6.1f); queries "
                      "%s (%d..%d), rounds %s (after EOB %s); finals %s; load %s"
                      % (f, res["p50"], res["p90"], res["tot50"], res["q"], res["qmin"],
                         res["qmax"], res["rounds"], res["rafter"], res["finals"], res["load"]),
                      flush=True)
                print("   its slowest step before EOB: %s %.1f ms (C connect, H helo, M mail, "
                      "R rcpt, T data, L header, N end of headers, B body)"
                      % (res["slow"][0], res["slow"][1] * 1000))
                print("   one message's queries (arrival, ms after EOB): " + ", ".join(
                    "%+.0f %s" % x for x in res["sample"]["seq"]), flush=True)
            finally:
                for p in procs:
                    run.stop(p)
                if d is not None:
                    d.stop()
        print("\n| filter | EOB->verdict p50 ms | p90 ms | session p50 ms | DNS queries/msg | "
              "50 ms rounds (all) | rounds after EOB | load avg |")
        print("|---|---|---|---|---|---|---|---|")
        for r in results:
            print("| %s | %.1f | %.1f | %.1f | %s | %s | %s | %s |"
                  % (r["f"], r["p50"], r["p90"], r["tot50"], r["q"], r["rounds"], r["rafter"],
                     r["load"]))
        print("work dir (logs): %s" % work)
    finally:
        run.stop(unbound)
        srv.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
