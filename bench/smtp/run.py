#!/usr/bin/python3
"""bench/smtp — what each way of running mailvet costs a Postfix site (by hand, not in make check).

Usage: bench/smtp/run.py [BUILD_DIR] [MESSAGES] [CONNECTIONS]   (as root; defaults build, 2000, 20)

One private Postfix (tests/daemon/postfix_test.py's: its own queue, smtp-sink as the next
hop) and one private mailvetd (zone-file DNS, tests/daemon/data/zone.txt), both on 127.0.0.1
ports picked here and stopped by PID at the end. The same messages (postfix_test's load
messages: From alice@good.example, SPF pass, DMARC p=reject, a 2.5 KiB body) go three ways:

  1. client -> Postfix alone                         (smtpd without milter: the limit)
  2. client -> Postfix + mailvetd as milter          (smtpd_milters = mailvetd)
  3. client -> mailvetd SMTP front end -> Postfix     ([listener] with XCLIENT, next hop 1's smtpd)

For each: messages/s, latency per message (MAIL .. end of DATA) p50/p99, CPU seconds per
1,000 messages of the mailvetd worker and of the whole machine (from /proc/stat: the client,
Postfix and the sink included), and at the end mailvetd's RSS with 1,000 idle connections on
the SMTP front end. The client is Python's smtplib in threads on the same 2 cores, so
compare the rows with each other, not with other machines.
"""
import os
import resource
import smtplib
import socket
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "daemon"))
import harness  # noqa: E402
import postfix_test as pft  # noqa: E402


def cpu_of(pid):
    """utime + stime of one process, in seconds."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_cpu():
    """CPU seconds the whole machine spent busy (all cores)."""
    with open("/proc/stat") as f:
        parts = [int(x) for x in f.readline().split()[1:]]
    idle = parts[3] + parts[4]
    return (sum(parts[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def run(name, port, n, conns, d, pf):
    before = len(pf.delivered())
    worker = d.worker_pid()
    w0, m0 = cpu_of(worker), machine_cpu()
    dt, lat, ids, errors = pft.load_run(port, "bench%d" % int(time.time() * 1000), n, conns)
    w1, m1 = cpu_of(worker), machine_cpu()
    if errors:
        print("%s: %d errors, e.g. %s" % (name, len(errors), errors[0]))
    got = pf.wait_delivered(before + n, timeout=300) - before
    row = (name, n / dt, pft.pct(lat, 50) * 1000, pft.pct(lat, 99) * 1000,
           (w1 - w0) * 1000.0 / n, (m1 - m0) * 1000.0 / n, got, n)
    print("%-36s %8.0f msg/s  p50 %7.1f ms  p99 %7.1f ms  mailvetd %5.2f s/1000  "
          "machine %5.2f s/1000  delivered %d of %d" % row)
    return row


def idle_rss(d, port, count=1000):
    worker = d.worker_pid()
    base = rss_kb(worker)
    socks = []
    for _ in range(count):
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        socks.append(s)
    for s in socks:
        s.recv(200)
    time.sleep(0.5)
    held = rss_kb(worker)
    for s in socks:
        s.close()
    print("mailvetd worker RSS: %.1f MB, %.1f MB with %d idle SMTP connections (%.1f kB each)"
          % (base / 1024.0, held / 1024.0, count, (held - base) / float(count)))


def main():
    build = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "build"))
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 2000
    conns = int(sys.argv[3]) if len(sys.argv) > 3 else 20
    os.environ["MAILVETD"] = os.path.join(build, "daemon", "mailvetd")
    os.environ.setdefault("MAILVET", os.path.join(build, "mailvet"))
    resource.setrlimit(resource.RLIMIT_NOFILE, (8192, 8192))  # mailvetd inherits it
    pft.preflight()
    work = harness.tempdir("mailvet-bench-smtp-")
    os.chmod(work, 0o755)
    front = harness.free_port()
    milter = harness.free_port()
    pf = pft.Postfix(work, milter)
    with open(os.path.join(pf.etc, "main.cf"), "a") as f:
        f.write("smtpd_authorized_xclient_hosts = 127.0.0.0/8\n")
    listener = ("[listener front]\nlisten = 127.0.0.1:%d\nnext_hop = inet:127.0.0.1:%d\n"
                "xclient = yes\nhostname = mx.test.example\n"
                % (front, pf.ports["smtpd_plain"]))
    d = harness.Mailvetd(work, port=milter, extra="[log]\ndebug = no\n" + listener)
    try:
        d.start()
        harness.wait_port(front, d.proc)
        pf.start()
        s = smtplib.SMTP("127.0.0.1", front, timeout=30)  # warm-up: DNS cache, connections
        s.ehlo("bench.test")
        s.quit()
        print("%d messages over %d connections each way" % (n, conns))
        rows = [run("1 client -> Postfix", pf.ports["smtpd_plain"], n, conns, d, pf),
                run("2 client -> Postfix + mailvetd milter", pf.ports["smtpd_milter"], n, conns,
                    d, pf),
                run("3 client -> mailvetd SMTP -> Postfix", front, n, conns, d, pf)]
        base = rows[0]
        for r in rows[1:]:
            print("%-36s added latency p50 %+.1f ms, p99 %+.1f ms; machine CPU %+.2f s/1000"
                  % (r[0], r[2] - base[2], r[3] - base[3], r[5] - base[5]))
        idle_rss(d, front)
    finally:
        pf.stop()
        d.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
