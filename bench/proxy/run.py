#!/usr/bin/python3
"""bench/proxy: what the IMAP capability proxy costs.

    bench/proxy/run.py [BUILD_DIR] [MESSAGES] [SIZE_KB] [ROUNDS] [CLIENTS] [ATTEMPTS]   # as root, by hand

One private Dovecot and one private mailvetd (an [listener] of role imap in front of
Dovecot), started here on 127.0.0.1 and stopped by PID (tests/proxy/proxy_test.py's
classes). CLIENTS concurrent imaplib sessions each fetch MESSAGES messages of SIZE_KB
ROUNDS times, first straight from Dovecot, then through the proxy, alternating ATTEMPTS
times (default 2);
the bytes must be equal. Printed: MB/s both ways, the ratio, CPU seconds of the mailvetd
worker per GB, then the worker's RSS with 1,000 idle sessions through the proxy.
Defaults: 100 messages of 1 MiB, 5 rounds, 2 clients (1 GB each way).
"""
import hashlib
import imaplib
import os
import re
import socket
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..", "..")
sys.path.insert(0, os.path.join(ROOT, "tests", "proxy"))
sys.path.insert(0, os.path.join(ROOT, "tests", "daemon"))

BUILD = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "build"))
MESSAGES = int(sys.argv[2]) if len(sys.argv) > 2 else 100
SIZE_KB = int(sys.argv[3]) if len(sys.argv) > 3 else 1024
ROUNDS = int(sys.argv[4]) if len(sys.argv) > 4 else 5
CLIENTS = int(sys.argv[5]) if len(sys.argv) > 5 else 2
ATTEMPTS = int(sys.argv[6]) if len(sys.argv) > 6 else 2
IDLE = 1000

os.environ["MAILVETD"] = os.path.join(BUILD, "daemon", "mailvetd")
sys.argv[1:] = [os.environ["MAILVETD"]]
import harness  # noqa: E402
import proxy_test as pt  # noqa: E402


def cpu_s(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return -1


def fetch_rounds(port, digest):
    c = imaplib.IMAP4("127.0.0.1", port, timeout=300)
    c.login(pt.USER, pt.PASSWORD)
    c.select("INBOX", readonly=True)
    total = 0
    for _ in range(ROUNDS):
        h = hashlib.sha256()
        for i in range(1, MESSAGES + 1):
            typ, data = c.fetch(str(i), "(BODY.PEEK[])")
            h.update(data[0][1])
            total += len(data[0][1])
        if h.hexdigest() != digest:
            raise SystemExit("bytes through port %d differ" % port)
    c.logout()
    return total


def run(port, digest, worker):
    results, threads = [], []
    cpu0 = cpu_s(worker)
    start = time.time()
    for _ in range(CLIENTS):
        th = threading.Thread(target=lambda: results.append(fetch_rounds(port, digest)))
        th.start()
        threads.append(th)
    for th in threads:
        th.join()
    took = time.time() - start
    return sum(results), took, cpu_s(worker) - cpu0


def main():
    work = harness.tempdir("mailvet-bench-proxy-")
    os.chmod(work, 0o755)
    ca, cert, key = pt.make_ca(work)
    dv = pt.Dovecot(work, cert, key)
    for i in range(1, MESSAGES + 1):
        dv.add("%d.msg" % i, pt.message(i, SIZE_KB * 1024))
    port = harness.free_port()
    d = harness.Mailvetd(work, extra="[log]\ndebug = no\n[listener imap]\nrole = imap\n"
                         "listen = 127.0.0.1:%d\nupstream = inet:127.0.0.1:%d\n"
                         % (port, dv.ports["imap"]))
    try:
        dv.start()
        d.start()
        harness.wait_port(port, d.proc)
        for _ in range(100):  # the supervisor forks the worker after the port is bound
            if len(d.worker_pids()) == 1:
                break
            time.sleep(0.1)
        worker = d.worker_pid()
        c = imaplib.IMAP4("127.0.0.1", dv.ports["imap"])
        c.login(pt.USER, pt.PASSWORD)
        c.select("INBOX", readonly=True)
        h = hashlib.sha256()
        for i in range(1, MESSAGES + 1):
            h.update(c.fetch(str(i), "(BODY.PEEK[])")[1][0][1])
        c.logout()
        digest = h.hexdigest()
        rows = []
        for attempt in range(ATTEMPTS):
            for name, p in (("direct", dv.ports["imap"]), ("proxy", port)):
                n, took, cpu = run(p, digest, worker)
                rows.append((name, attempt, n, took, cpu))
                print("%-6s run %d: %.0f MB in %.2f s = %.1f MB/s; mailvetd worker CPU %.2f s/GB"
                      " (load average %.2f)"
                      % (name, attempt + 1, n / 1e6, took, n / 1e6 / took, cpu / (n / 1e9),
                         os.getloadavg()[0]), flush=True)
        ratios, cpus = [], []
        for attempt in range(ATTEMPTS):
            direct = [r for r in rows if r[0] == "direct" and r[1] == attempt][0]
            proxy = [r for r in rows if r[0] == "proxy" and r[1] == attempt][0]
            ratios.append(100.0 * (proxy[2] / proxy[3]) / (direct[2] / direct[3]))
            cpus.append(proxy[4] / (proxy[2] / 1e9))
            print("run %d: proxy throughput = %.1f %% of direct" % (attempt + 1, ratios[-1]))
        closed = re.findall(r"closed .*server_bytes=(\d+).*spliced_bytes=(\d+)", d.log_text())
        print("proxy sessions: %d of %d server bytes moved by splice(2)"
              % (sum(int(b) for _, b in closed), sum(int(a) for a, _ in closed)))
        print("median of %d runs: proxy = %.1f %% of direct, %.2f CPU s per GB"
              % (ATTEMPTS, sorted(ratios)[ATTEMPTS // 2], sorted(cpus)[ATTEMPTS // 2]))
        before = rss_kb(worker)
        socks = []
        for _ in range(IDLE):
            s = socket.create_connection(("127.0.0.1", port))
            socks.append(s)
        for s in socks:
            s.recv(4096)  # the greeting: the session and its upstream are up
        time.sleep(1)
        after = rss_kb(worker)
        print("worker RSS: %d kB before, %d kB with %d idle sessions: %.1f kB per session"
              % (before, after, IDLE, (after - before) / IDLE))
        for s in socks:
            s.close()
    finally:
        dv.stop()
        d.stop()
    import shutil
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
