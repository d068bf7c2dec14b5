#!/usr/bin/python3
"""bench/reports: what recording DMARC records costs the milter (issue 15). By hand, not in make check.

    bench/reports/run.py [BUILD_DIR] [MESSAGES] [CONNECTIONS]    # defaults: build 4000 20

Starts a private mailvetd (zone-file DNS: tests/daemon/data/zone.txt; 127.0.0.1 ports picked
here, stopped by PID at the end) three times: [reports] store off, store = SQLite in a temp
dir, and store = a private PostgreSQL 15 (tests/store/pgserver.py: initdb in a temp dir, a
free port, stopped by PID).
Each time MESSAGES messages (good.example, SPF and DMARC pass, a DMARC record, so each makes
a record) go through the milter protocol (tests/daemon/milterproto.py, as Postfix speaks it)
over CONNECTIONS connections at once. Prints, for each way: messages/s, the milter's latency
per message (MAIL FROM to the end-of-message answer) p50/p99, and with the store on: records
per second into the store (from the first message to the last row in it) and records lost.
"""
import os
import sqlite3
import sys
import tempfile
import threading
import time
import shutil

HERE = os.path.dirname(os.path.abspath(__file__))
TESTS = os.path.join(HERE, "..", "..", "tests", "daemon")
sys.path.insert(0, TESTS)
sys.path.insert(0, os.path.join(TESTS, "..", "store"))
import harness  # noqa: E402
import subprocess  # noqa: E402
from pgserver import BIN, USER, PgServer  # noqa: E402
from milterproto import MilterClient  # noqa: E402

BODY = b"Hello,\r\n\r\nthis is a benchmark message.\r\n" * 20


def worker(port, n, first, lat, errors):
    try:
        c = MilterClient("127.0.0.1", port)
        c.negotiate()
        c.connect("[192.0.2.10]", "192.0.2.10", macros={"j": "mx.test.example"})
        c.helo("client.example")
        for i in range(n):
            k = first + i
            headers = [("From", " alice@good.example"), ("To", " bob@dest.example"),
                       ("Subject", " bench %d" % k), ("Message-ID", " <b%d@good.example>" % k)]
            t0 = time.perf_counter()
            a = c.message("alice@good.example", headers, BODY, queue_id="B%d" % k)
            lat.append(time.perf_counter() - t0)
            if a.final != "continue":
                errors.append(a)
        c.quit()
    except Exception as e:  # noqa: BLE001 - counted, the run goes on
        errors.append(e)


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * p / 100))] if xs else float("nan")


def rows(db):
    try:
        con = sqlite3.connect(db, timeout=5)
        n = con.execute("SELECT COUNT(*) FROM dmarc_record").fetchone()[0]
        con.close()
        return n
    except sqlite3.Error:
        return 0


def pg_rows(pg):
    r = subprocess.run([os.path.join(BIN, "psql"), "-h", "127.0.0.1", "-p", str(pg.port), "-U",
                        USER, "-d", "bench", "-Atc", "SELECT COUNT(*) FROM dmarc_record"],
                       capture_output=True, text=True)
    return int(r.stdout.strip()) if r.returncode == 0 and r.stdout.strip().isdigit() else 0


def one_way(work, messages, conns, store, pg=None):
    extra = "[log]\ndebug = no\n"
    db = os.path.join(work, "bench.db")
    if store == "sqlite":
        extra += "[reports]\nstore = sqlite:%s\n" % db
    elif store == "postgresql":
        extra += "[reports]\nstore = %s\n" % pg.createdb("bench")
    d = harness.Mailvetd(work, extra=extra).start()
    lat, errors, threads = [], [], []
    per = messages // conns
    t0 = time.perf_counter()
    for c in range(conns):
        t = threading.Thread(target=worker, args=(d.port, per, c * per, lat, errors))
        t.start()
        threads.append(t)
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - t0
    stored, t_rows = None, None
    if store:
        end = time.time() + 60
        count = (lambda: rows(db)) if store == "sqlite" else (lambda: pg_rows(pg))
        while time.time() < end and count() < per * conns:
            time.sleep(0.05)
        t_rows = time.perf_counter() - t0
        stored = count()
    rc = harness.stop_checked(d)
    return {"msgs": per * conns, "elapsed": elapsed, "lat": lat, "errors": errors, "rc": rc,
            "stored": stored, "t_rows": t_rows}


def main():
    build = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "..", "..", "build")
    messages = int(sys.argv[2]) if len(sys.argv) > 2 else 4000
    conns = int(sys.argv[3]) if len(sys.argv) > 3 else 20
    os.environ["MAILVETD"] = os.path.join(build, "daemon", "mailvetd")
    results = {}
    pg = PgServer("mailvet-bench-reports-pg-")
    pg.start()
    for store in (None, "sqlite", "postgresql"):
        work = tempfile.mkdtemp(prefix="mailvet-bench-reports-")
        try:
            results[store] = r = one_way(work, messages, conns, store, pg)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        name = "store = %-10s" % store if store else "store off          "
        print("%s: %d messages over %d connections in %.2f s: %.0f msg/s; latency p50 %.2f ms, "
              "p99 %.2f ms; %d errors; exit %d"
              % (name, r["msgs"], conns, r["elapsed"], r["msgs"] / r["elapsed"],
                 pct(r["lat"], 50) * 1000, pct(r["lat"], 99) * 1000, len(r["errors"]), r["rc"]))
        if store:
            print("               records in the store: %d of %d (lost %d), all written %.2f s "
                  "after the first message: %.0f records/s"
                  % (r["stored"], r["msgs"], r["msgs"] - r["stored"], r["t_rows"],
                     r["stored"] / r["t_rows"]))
    pg.cleanup()
    off = results[None]
    for store in ("sqlite", "postgresql"):
        on = results[store]
        print("added by recording into %s: p50 %+.2f ms, p99 %+.2f ms"
              % (store, (pct(on["lat"], 50) - pct(off["lat"], 50)) * 1000,
                 (pct(on["lat"], 99) - pct(off["lat"], 99)) * 1000))
    return 1 if any(r["errors"] or r["rc"] for r in results.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
