#!/usr/bin/python3
"""bench/mta — what each authentication filter costs a Postfix site (by hand, not in make check).

Usage: bench/mta/run.py [BUILD_DIR] [MESSAGES] [CONNECTIONS] [RATE] [SECONDS]
       (as root; defaults build, 2000, 20, 50, 20)

One run, started here on 127.0.0.1 ports picked here, every process stopped by its PID:
  - one unbound serving the benchmark zone as local-data (and nothing else: "." refused);
    also on 127.0.0.1:53 when nothing listens there (OpenDMARC cannot be given a port);
  - one private Postfix (tests/daemon/postfix_test.py's: own queue, smtp-sink as next hop)
    with one smtpd port per way;
  - mailvetd (milter and [listener] SMTP front end), OpenDKIM (verify only) + OpenDMARC,
    rspamd (proxy worker in milter mode, self-scan, only DKIM, SPF, DMARC and ARC),
    each with its own config written into the temp dir, each resolving through the unbound.
The messages: From alice@example.com, signed twice (rsa-sha256 2048 and ed25519) and
ARC-sealed by example.net (`mailvet keygen/sign/seal`, as bench/verify/run.sh), SPF pass for
127.0.0.1, DMARC p=reject published, 4 KiB and 64 KiB. Each way, each size:
  load:  MESSAGES over CONNECTIONS connections as fast as they go (throughput);
  paced: RATE messages/s for SECONDS over 10 connections (latency without queueing).
Ways: 1 Postfix alone; 2 + mailvetd milter; 3 + OpenDKIM + OpenDMARC milters;
4 + rspamd milter; 5 client -> mailvetd SMTP front end -> Postfix (smtpd without milter).
Reported: messages/s, latency MAIL..end of DATA p50/p99 and added over way 1, CPU seconds
per 1,000 messages of the filter processes (and of unbound, and of the whole machine),
peak RSS of the filter processes (VmHWM, reset before each run via clear_refs).
"""
import glob
import os
import resource
import smtplib
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "daemon"))
import harness  # noqa: E402
import testports  # noqa: E402
import postfix_test as pft  # noqa: E402

ENVELOPE_FROM = "b@example.com"
RCPT = "bob@dest.example"
HELO = "mx.example.com"
AUTHSERV = "mx.test.example"
PSL = "/usr/share/publicsuffix/public_suffix_list.dat"


def sh(cmd, **kw):
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw).stdout


def cpu_of(pids):
    t = 0
    for pid in pids:
        try:
            with open("/proc/%d/stat" % pid) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            t += int(fields[11]) + int(fields[12])
        except OSError:
            pass
    return t / os.sysconf("SC_CLK_TCK")


def machine_cpu():
    with open("/proc/stat") as f:
        parts = [int(x) for x in f.readline().split()[1:]]
    return (sum(parts[:8]) - parts[3] - parts[4]) / os.sysconf("SC_CLK_TCK")


def hwm_kb(pids):
    t = 0
    for pid in pids:
        try:
            with open("/proc/%d/status" % pid) as f:
                for line in f:
                    if line.startswith("VmHWM:"):
                        t += int(line.split()[1])
        except OSError:
            pass
    return t


def reset_hwm(pids):
    for pid in pids:
        try:
            with open("/proc/%d/clear_refs" % pid, "w") as f:
                f.write("5")
        except OSError:
            pass


def children(pid):
    out = []
    for p in os.listdir("/proc"):
        if p.isdigit():
            try:
                with open("/proc/%s/stat" % p) as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == pid:
                        out.append(int(p))
            except (OSError, IndexError, ValueError):
                pass
    return out


def start(argv, log, **kw):
    f = open(log, "ab")
    return harness.track(subprocess.Popen(argv, stdout=f, stderr=f, **kw))


def stop(p):
    if p is None or p.poll() is not None:
        return
    kids = children(p.pid)
    p.terminate()
    try:
        p.wait(timeout=20)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
    for k in kids:
        try:
            os.kill(k, 15)
        except OSError:
            pass
    harness.untrack(p)


# ---------------------------------------------------------------- messages and DNS

def make_messages(work, mv):
    os.chdir(work)
    zone = sh([mv, "keygen", "--algorithm", "rsa", "--bits", "2048", "--domain", "example.com",
               "--selector", "rsa", "--out", "rsa.pem"])
    zone += sh([mv, "keygen", "--algorithm", "ed25519", "--domain", "example.com",
                "--selector", "ed", "--out", "ed.pem"])
    zone += sh([mv, "keygen", "--algorithm", "rsa", "--bits", "2048", "--domain", "example.net",
                "--selector", "arc", "--out", "arc.pem"])
    zone += ('example.com TXT "v=spf1 ip4:127.0.0.1 -all"\n'
             'mx.example.com TXT "v=spf1 ip4:127.0.0.1 -all"\n'
             '_dmarc.example.com TXT "v=DMARC1; p=reject"\n'
             "1.0.0.127.in-addr.arpa PTR mx.example.com\n"
             "mx.example.com A 127.0.0.1\n")
    with open("zone", "w") as f:
        f.write(zone)
    env = ["--ip", "127.0.0.1", "--helo", HELO, "--mail-from", ENVELOPE_FROM]
    msgs = {}
    t = str(int(time.time()))
    for kib in (4, 64):
        hdr = ("From: Alice <alice@example.com>\r\nTo: bob@dest.example\r\nSubject: bench\r\n"
               "Date: Tue, 14 Nov 2023 22:13:20 +0000\r\nMessage-ID: <bench%d@example.com>\r\n\r\n"
               % kib)
        line = "The quick brown fox jumps over the lazy dog, again and again.\r\n"
        with open("plain%d.eml" % kib, "w", newline="") as f:
            f.write(hdr + line * ((kib * 1024 - len(hdr)) // len(line)))
        signed = sh([mv, "sign", "--domain", "example.com", "--selector", "rsa", "--key",
                     "rsa.pem", "--selector", "ed", "--key", "ed.pem", "--now", t,
                     "plain%d.eml" % kib])
        with open("signed%d.eml" % kib, "w", newline="") as f:
            f.write(signed)
        sealed = sh([mv, "seal", "--domain", "example.net", "--selector", "arc", "--key",
                     "arc.pem", "--authserv-id", "relay.example.net", "--zone", "zone", "--now",
                     t, "--verify"] + env + ["signed%d.eml" % kib])
        with open("msg%d.eml" % kib, "w", newline="") as f:
            f.write(sealed)
        v = sh([mv, "verify", "--zone", "zone"] + env + ["--authserv-id", AUTHSERV,
                                                         "msg%d.eml" % kib])
        assert "dmarc=pass" in v and "arc=pass" in v and v.count("dkim=pass") == 2, v
        # smtplib sends bytes as they are: every line must end in CRLF (mailvetd's front end
        # refuses bare LF, as Postfix's smtpd_forbid_bare_newline = reject does).
        with open("msg%d.eml" % kib, "rb") as f:
            msgs[kib] = f.read().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    return msgs


def unbound_conf(work, port, also53):
    lines = ["server:", "  interface: 127.0.0.1@%d" % port]
    if also53:
        lines.append("  interface: 127.0.0.1@53")
    lines += ["  do-daemonize: no", '  chroot: ""', '  username: ""', '  pidfile: ""',
              "  use-syslog: no", '  logfile: ""', '  directory: "%s"' % work, "  do-ip6: no",
              "  num-threads: 1", "  access-control: 127.0.0.0/8 allow",
              '  module-config: "iterator"', '  local-zone: "." refuse']
    zones, data = set(), []
    for line in open(os.path.join(work, "zone")):
        p = line.split(None, 2)
        if len(p) != 3:
            continue
        name, typ, rdata = p[0].rstrip(".").lower() + ".", p[1].upper(), p[2].strip()
        if typ in ("PTR", "CNAME", "MX", "NS") and not rdata.endswith("."):
            rdata += "."
        labels = name.split(".")
        zones.add(".".join(labels[1:] if name.endswith(".in-addr.arpa.") else labels[-3:]))
        data.append("  local-data: '%s %s %s'" % (name, typ, rdata))
    lines += ['  local-zone: "%s" static' % z for z in sorted(zones)] + data
    lines += ["remote-control:", "  control-enable: no"]
    path = os.path.join(work, "unbound.conf")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return path


# ---------------------------------------------------------------- the peers

def start_opendkim(work, port, dnsport):
    d = os.path.join(work, "opendkim")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "internal"), "w") as f:
        f.write("192.0.2.250\n")   # not 127.0.0.1: its default would make us "internal"
    conf = os.path.join(d, "opendkim.conf")
    with open(conf, "w") as f:
        f.write("Mode v\nSocket inet:%d@127.0.0.1\nAuthservID %s\nNameservers 127.0.0.1@%d\n"
                "InternalHosts %s/internal\nPeerList %s/internal\nSyslog no\nPidFile %s/pid\n"
                "AlwaysAddARHeader yes\nBackground no\n"
                % (port, AUTHSERV, dnsport, d, d, d))
    p = start(["/usr/sbin/opendkim", "-f", "-x", conf], os.path.join(d, "log"))
    harness.wait_port(port, p)
    return p


def start_opendmarc(work, port, use_ns):
    d = os.path.join(work, "opendmarc")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "ignore"), "w") as f:
        f.write("192.0.2.250\n")   # its default ignores 127.0.0.1
    with open(os.path.join(d, "resolv.conf"), "w") as f:
        f.write("nameserver 127.0.0.1\noptions attempts:2 timeout:1\n")
    conf = os.path.join(d, "opendmarc.conf")
    with open(conf, "w") as f:
        f.write("Socket inet:%d@127.0.0.1\nAuthservID %s\nTrustedAuthservIDs %s\n"
                "IgnoreHosts %s/ignore\nSPFSelfValidate true\nSPFIgnoreResults true\n"
                "PublicSuffixList %s\nRejectFailures false\nFailureReports false\n"
                "Syslog false\nPidFile %s/pid\n" % (port, AUTHSERV, AUTHSERV, d, PSL, d))
    argv = ["/usr/sbin/opendmarc", "-f", "-c", conf]
    if use_ns:
        # OpenDMARC (and its libspf2) resolve through libresolv: /etc/resolv.conf, port 53.
        # Give it a private mount namespace whose /etc/resolv.conf names 127.0.0.1.
        argv = ["unshare", "-m", "--propagation", "private", "sh", "-c",
                'mount --bind "$0" /etc/resolv.conf && exec "$@"',
                os.path.join(d, "resolv.conf")] + argv
    p = start(argv, os.path.join(d, "log"))
    harness.wait_port(port, p)
    return p


def start_rspamd(work, port, dnsport):
    rs = os.path.join(work, "rs")
    for x in ("local.d", "db", "run", "log"):
        os.makedirs(os.path.join(rs, x), exist_ok=True)
    with open(os.path.join(rs, "rspamd.conf"), "w") as f:
        f.write("""options {
  pidfile = "$RUNDIR/rspamd.pid";
  filters = "dkim";
  url_tld = "${SHAREDIR}/effective_tld_names.dat";
  cache_file = "$DBDIR/symbols.cache";
  hs_cache_dir = "$DBDIR/";
  tempdir = "$DBDIR";
  local_addrs = [];
  dns { nameserver = ["127.0.0.1:%d"]; timeout = 1s; retransmits = 2; }
}
logging { type = "file"; filename = "$LOGDIR/rspamd.log"; level = "info"; }
worker "rspamd_proxy" {
  bind_socket = "127.0.0.1:%d"; milter = yes; timeout = 120s; count = 2;
  upstream "local" { default = yes; self_scan = yes; }
  max_retries = 5; discard_on_reject = false; quarantine_on_reject = false;
}
modules { path = "${PLUGINSDIR}"; }
.include "$CONFDIR/modules.d/dkim.conf"
.include "$CONFDIR/modules.d/spf.conf"
.include "$CONFDIR/modules.d/dmarc.conf"
.include "$CONFDIR/modules.d/arc.conf"
group "policies" { .include "$CONFDIR/scores.d/policies_group.conf" }
""" % (dnsport, port))
    with open(os.path.join(rs, "local.d", "arc.conf"), "w") as f:
        f.write("sign_inbound = false;\nsign_local = false;\nsign_authenticated = false;\n")
    # The client is 127.0.0.1: without check_local the DKIM, SPF and DMARC modules skip a "local"
    # address, leaving only ARC.
    for mod in ("dkim", "spf", "dmarc"):
        with open(os.path.join(rs, "local.d", mod + ".conf"), "w") as f:
            f.write("check_local = true;\ncheck_authed = true;\n")
    p = start(["rspamd", "-f", "-i", "-c", os.path.join(rs, "rspamd.conf"),
               "--var", "LOCAL_CONFDIR=" + rs, "--var", "DBDIR=%s/db" % rs,
               "--var", "RUNDIR=%s/run" % rs, "--var", "LOGDIR=%s/log" % rs],
              os.path.join(rs, "stdout.log"))
    harness.wait_port(port, p, timeout=120)
    return p


# ---------------------------------------------------------------- load

def send_worker(port, msg, times, lat, errors, lock):
    try:
        s = smtplib.SMTP("127.0.0.1", port, timeout=120)
        s.ehlo(HELO)
        for at in times:
            if at is not None:
                d = at - time.perf_counter()
                if d > 0:
                    time.sleep(d)
            t = time.perf_counter()
            s.sendmail(ENVELOPE_FROM, [RCPT], msg)
            dt = time.perf_counter() - t
            with lock:
                lat.append(dt)
        s.quit()
    except Exception as e:  # noqa: BLE001
        with lock:
            errors.append(repr(e))


def drive(port, msg, n, conns, rate=None):
    """n messages over conns connections; paced at rate msg/s when given."""
    lat, errors, lock = [], [], threading.Lock()
    t0 = time.perf_counter() + 0.2
    plan = [[] for _ in range(conns)]
    for i in range(n):
        plan[i % conns].append(t0 + i / rate if rate else None)
    threads = [threading.Thread(target=send_worker, args=(port, msg, plan[w], lat, errors, lock))
               for w in range(conns)]
    start_t = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - max(start_t, t0 if rate else start_t), sorted(lat), errors


def sink_count(pf):
    return len(glob.glob(os.path.join(pf.sinkdir, "m.*")))


def sink_clear(pf):
    for p in glob.glob(os.path.join(pf.sinkdir, "m.*")):
        os.unlink(p)


def measure(way, kind, port, msg, n, conns, rate, pf, pids_fn, unbound):
    pids = pids_fn()
    reset_hwm(pids)
    c0, u0, m0 = cpu_of(pids), cpu_of([unbound.pid]), machine_cpu()
    dt, lat, errors = drive(port, msg, n, conns, rate)
    c1, u1, m1 = cpu_of(pids), cpu_of([unbound.pid]), machine_cpu()
    got = pf.wait_delivered(n, timeout=300)
    sample = b""
    files = glob.glob(os.path.join(pf.sinkdir, "m.*"))
    if files:
        with open(files[0], "rb") as f:
            sample = pft.sink_message(f.read())
    row = {"way": way, "kind": kind, "n": n, "mps": n / dt, "p50": pft.pct(lat, 50) * 1000,
           "p99": pft.pct(lat, 99) * 1000, "cpu": (c1 - c0) * 1000.0 / n if pids else 0.0,
           "ucpu": (u1 - u0) * 1000.0 / n, "mcpu": (m1 - m0) * 1000.0 / n,
           "rss": hwm_kb(pids) / 1024.0, "got": got, "errors": len(errors)}
    print("%-34s %-6s %6.0f msg/s p50 %6.1f p99 %6.1f ms  filter %5.2f s/1000  unbound %4.2f  "
          "machine %5.2f  RSS %6.1f MB  delivered %d/%d%s"
          % (way, kind, row["mps"], row["p50"], row["p99"], row["cpu"], row["ucpu"], row["mcpu"],
             row["rss"], got, n, ("  ERRORS %d e.g. %s" % (len(errors), errors[0])) if errors else ""),
          flush=True)
    ars = [l for l in sample.decode("utf-8", "replace").replace("\r\n", "\n").split("\n\n")[0]
           .replace("\n\t", " ").replace("\n ", " ").split("\n")
           if l.lower().startswith("authentication-results:")]
    row["ar"] = ars
    sink_clear(pf)
    return row


def main():
    build = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "build"))
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 2000
    conns = int(sys.argv[3]) if len(sys.argv) > 3 else 20
    rate = float(sys.argv[4]) if len(sys.argv) > 4 else 50.0
    secs = float(sys.argv[5]) if len(sys.argv) > 5 else 20.0
    mv = os.path.join(build, "mailvet")
    os.environ["MAILVETD"] = os.path.join(build, "daemon", "mailvetd")
    os.environ.setdefault("MAILVET", mv)
    resource.setrlimit(resource.RLIMIT_NOFILE, (8192, 8192))
    pft.preflight()
    work = harness.tempdir("mailvet-bench-mta-")
    os.chmod(work, 0o755)
    msgs = make_messages(work, mv)
    cwd_keep = work

    dnsport = harness.free_port()
    also53 = testports.bindable(53)
    unbound = start(["unbound", "-d", "-c", unbound_conf(work, dnsport, also53)],
                    os.path.join(work, "unbound.log"))
    time.sleep(0.5)
    print("unbound 127.0.0.1@%d%s (pid %d)" % (dnsport, " and @53" if also53 else "", unbound.pid))
    if not also53:
        print("NOTE: something listens on 127.0.0.1:53; OpenDMARC resolves through the "
              "system's resolver, not the benchmark's unbound")

    ports = {k: harness.free_port() for k in ("milter", "front", "odkim", "odmarc", "rs",
                                              "smtpd_odk", "smtpd_rs", "smtpd_dk",
                                              "smtpd_dm")}
    pf = pft.Postfix(work, ports["milter"])
    with open(os.path.join(pf.etc, "main.cf"), "a") as f:
        f.write("smtpd_authorized_xclient_hosts = 127.0.0.0/8\n")
    with open(os.path.join(pf.etc, "master.cf"), "a") as f:
        f.write("127.0.0.1:%d inet n - n - - smtpd -o { smtpd_milters = inet:127.0.0.1:%d, "
                "inet:127.0.0.1:%d }\n" % (ports["smtpd_odk"], ports["odkim"], ports["odmarc"]))
        for sp, mp in (("smtpd_rs", "rs"), ("smtpd_dk", "odkim"), ("smtpd_dm", "odmarc")):
            f.write("127.0.0.1:%d inet n - n - - smtpd -o smtpd_milters=inet:127.0.0.1:%d\n"
                    % (ports[sp], ports[mp]))
    listener = ("[listener front]\nlisten = 127.0.0.1:%d\nnext_hop = inet:127.0.0.1:%d\n"
                "xclient = yes\nhostname = mx.test.example\n"
                % (ports["front"], pf.ports["smtpd_plain"]))
    extra = ("[log]\ndebug = no\n[dns]\nzone_file =\nresolver = 127.0.0.1@%d\n" % dnsport
             + listener)
    # MTA_MILTER=unix: Postfix talks to mailvetd's milter over a unix socket (the default
    # mailvetd configuration) instead of TCP on loopback.
    if os.environ.get("MTA_MILTER") == "unix":
        sockdir = os.path.join(work, "mvsock")
        os.makedirs(sockdir, exist_ok=True)
        os.chmod(sockdir, 0o755)
        extra += "[milter]\nsocket = unix:%s/milter.sock\nsocket_umask = 0\n" % sockdir
        with open(os.path.join(pf.etc, "main.cf"), "a") as f:
            f.write("smtpd_milters = unix:%s/milter.sock\n" % sockdir)
    d = harness.Mailvetd(work, port=ports["milter"], extra=extra)
    if os.environ.get("MTA_MILTER") == "unix":
        d.port = ports["front"]  # what start() waits for
    procs = {}
    try:
        d.start()
        harness.wait_port(ports["front"], d.proc)
        # Only the peers of the ways asked for (rspamd alone takes a minute of CPU to start).
        want = os.environ.get("MTA_WAYS", "1,2,3,4,5").split(",")
        if "3" in want or os.environ.get("MTA_SPLIT"):
            procs["opendkim"] = start_opendkim(work, ports["odkim"], dnsport)
            procs["opendmarc"] = start_opendmarc(work, ports["odmarc"], also53)
        if "4" in want:
            procs["rspamd"] = start_rspamd(work, ports["rs"], dnsport)
        pf.start()
        harness.wait_port(ports["smtpd_odk"], pf.master)
        harness.wait_port(ports["smtpd_rs"], pf.master)
        os.chdir(cwd_keep)

        def mvd():
            return [d.proc.pid] + children(d.proc.pid)

        def odk():
            return [procs["opendkim"].pid, procs["opendmarc"].pid] + children(procs["opendmarc"].pid)

        def rsp():
            return [procs["rspamd"].pid] + children(procs["rspamd"].pid)

        ways = [("1 Postfix alone", pf.ports["smtpd_plain"], lambda: []),
                ("2 Postfix + mailvetd milter", pf.ports["smtpd_milter"], mvd),
                ("3 Postfix + OpenDKIM + OpenDMARC", ports["smtpd_odk"], odk),
                ("4 Postfix + rspamd milter", ports["smtpd_rs"], rsp),
                ("5 mailvetd SMTP -> Postfix", ports["front"], mvd)]
        if os.environ.get("MTA_SPLIT"):   # where OpenDKIM + OpenDMARC's time goes
            ways += [("3a Postfix + OpenDKIM alone", ports["smtpd_dk"],
                      lambda: [procs["opendkim"].pid]),
                     ("3b Postfix + OpenDMARC alone", ports["smtpd_dm"],
                      lambda: [procs["opendmarc"].pid] + children(procs["opendmarc"].pid))]
        only = os.environ.get("MTA_WAYS")   # e.g. "1,2,5": a subset of the ways
        if only:
            ways = [w for w in ways if w[0].split()[0] in only.split(",")]
        rows = []
        for kib in [int(x) for x in os.environ.get("MTA_SIZES", "4,64").split(",")]:
            msg = msgs[kib]
            print("== %d KiB (%d bytes): load %d messages over %d connections; paced %.0f msg/s "
                  "for %.0f s over 10 connections" % (kib, len(msg), n, conns, rate, secs),
                  flush=True)
            for way, port, pids_fn in ways:
                sink_clear(pf)
                drive(port, msg, 40, 10)   # warm-up: every filter's DNS cache, connections
                pf.wait_delivered(40, timeout=120)
                sink_clear(pf)
                for kind, nn, cc, rr in (("load", n, conns, None),
                                         ("paced", int(rate * secs), 10, rate)):
                    r = measure(way, kind, port, msg, nn, cc, rr, pf, pids_fn, unbound)
                    r["kib"] = kib
                    rows.append(r)
                print("   A-R: %s" % (" | ".join(r["ar"]) or "(none)"), flush=True)
        rsl = os.path.join(work, "rs", "log", "rspamd.log")
        if os.path.exists(rsl):
            text = open(rsl, errors="replace").read()
            print("rspamd log: %d results, R_DKIM_ALLOW %d, R_SPF_ALLOW %d, DMARC_POLICY_ALLOW %d, "
                  "ARC_ALLOW %d" % (text.count("(default: "), text.count("R_DKIM_ALLOW("),
                                    text.count("R_SPF_ALLOW("), text.count("DMARC_POLICY_ALLOW("),
                                    text.count("ARC_ALLOW(")))
        print("\n| size | way | run | msg/s | p50 ms | p99 ms | added p50 | added p99 | filter CPU s/1000 "
              "| unbound CPU s/1000 | machine CPU s/1000 | filter peak RSS MB |")
        print("|---|---|---|---|---|---|---|---|---|---|---|---|")
        base = {(r["kib"], r["kind"]): r for r in rows if r["way"].startswith("1 ")}
        for r in rows:
            b = base[(r["kib"], r["kind"])]
            print("| %d KiB | %s | %s | %.0f | %.1f | %.1f | %+.1f | %+.1f | %s | %.2f | %.2f | %s |"
                  % (r["kib"], r["way"], r["kind"], r["mps"], r["p50"], r["p99"],
                     r["p50"] - b["p50"], r["p99"] - b["p99"],
                     "—" if r["way"].startswith("1 ") else "%.2f" % r["cpu"], r["ucpu"], r["mcpu"],
                     "—" if r["way"].startswith("1 ") else "%.1f" % r["rss"]))
        print("work dir (logs): %s" % work)
    finally:
        pf.stop()
        for p in procs.values():
            stop(p)
        d.stop()
        stop(unbound)
    return 0


if __name__ == "__main__":
    sys.exit(main())
