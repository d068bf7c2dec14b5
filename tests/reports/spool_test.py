#!/usr/bin/python3
"""reports.spool: records wait in the spool while the store is down (issue 15).

Usage: spool_test.py MAILVETD MAILVET. A private mailvetd records into a
store that cannot take records (a SQLite file whose directory is a plain
file; a PostgreSQL server that is stopped), with a small memory queue and a
spool: what the queue cannot hold goes to the spool, what is queued at the
stop goes there too, and once the store is back everything is in it, once
(`mailvet report show` equals the messages sent). Bad [reports]/[trace]
values are refused by mailvetd -n with file:line.
"""
import os
import re
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "daemon"))
sys.path.insert(0, os.path.join(HERE, "..", "store"))
import harness  # noqa: E402
import cases  # noqa: E402
import pgserver  # noqa: E402
from daemon_record_test import EXPECTED, expected_verdicts, send_all, show  # noqa: E402

RECORDS = sum(n for n, _, _ in EXPECTED.values())  # 7


def blocked_sqlite(work):
    """A SQLite location that cannot open until unblock() (its directory is a file)."""
    blocker = os.path.join(work, "db")
    with open(blocker, "w") as f:
        f.write("x")

    def unblock():
        os.unlink(blocker)
        os.mkdir(blocker)
    return "sqlite:%s/reports.db" % blocker, unblock


def spool_size(spool):
    return sum(os.path.getsize(os.path.join(spool, f)) for f in os.listdir(spool)) \
        if os.path.isdir(spool) else 0


def stopped(d):
    assert harness.stop_checked(d) == 0, "mailvetd exit status"
    return d.log_text()


def records_spooled_while_down_then_replayed(work, mailvet):
    store, unblock = blocked_sqlite(work)
    spool = os.path.join(work, "spool")
    d = harness.Mailvetd(work, extra="[reports]\nstore = %s\nqueue = 2\nbatch = 2\nspool = %s\n"
                         % (store, spool)).start()
    try:
        assert send_all(d) == expected_verdicts()
        assert d.wait_log("cannot open the record store"), d.log_text()[-2000:]
        assert spool_size(spool) > 0, "nothing in the spool"
        unblock()
        assert d.wait_log("replayed from the spool", timeout=20), d.log_text()[-3000:]
        end = time.time() + 20
        while time.time() < end and show(mailvet, store) != EXPECTED:
            time.sleep(0.2)
    finally:
        log = stopped(d)
    assert re.search(r"recorder stopped: 7 DMARC record\(s\) written, 0 dropped, 5 spooled "
                     r"\(5 replayed", log), log[-3000:]
    assert show(mailvet, store) == EXPECTED
    assert spool_size(spool) == 0, "the spool is not empty after the replay"


def queued_at_stop_goes_to_spool_and_next_start_replays(work, mailvet):
    """The stop spools what is queued; the next start replays it, a torn tail set aside."""
    store, unblock = blocked_sqlite(work)
    spool = os.path.join(work, "spool")
    extra = "[reports]\nstore = %s\nqueue = 100\nspool = %s\n" % (store, spool)
    d = harness.Mailvetd(work, extra=extra).start()
    try:
        assert send_all(d) == expected_verdicts()
    finally:
        log = stopped(d)
    assert re.search(r"recorder stopped: 0 DMARC record\(s\) written, 0 dropped, 7 spooled",
                     log), log[-3000:]
    with open(os.path.join(spool, "reports.spool"), "ab") as f:
        f.write(b"MVS1 torn entry")  # a crash in the middle of an append
    unblock()
    d = harness.Mailvetd(work, extra=extra).start()  # no message: the spool alone
    try:
        assert d.wait_log("7 DMARC record(s) replayed from the spool", timeout=20), \
            d.log_text()[-3000:]
        assert d.wait_log("kept as .damaged"), d.log_text()[-3000:]
    finally:
        stopped(d)
    assert show(mailvet, store) == EXPECTED
    assert os.listdir(spool) == ["reports.damaged"], os.listdir(spool)


def spool_bound_drops_the_rest(work, mailvet):
    """spool_max bounds the disk: a record is ~8 kB, so 1M holds ~120 of 140; the rest dropped."""
    store, _ = blocked_sqlite(work)
    spool = os.path.join(work, "spool")
    d = harness.Mailvetd(work, extra="[reports]\nstore = %s\nqueue = 1\nspool = %s\n"
                         "spool_max = 1M\n" % (store, spool)).start()
    try:
        for _ in range(20):
            assert send_all(d) == expected_verdicts()
    finally:
        log = stopped(d)
    m = re.search(r"0 DMARC record\(s\) written, (\d+) dropped, (\d+) spooled", log)
    assert m, log[-3000:]
    dropped, spooled = int(m.group(1)), int(m.group(2))
    assert dropped > 0 and spooled > 100 and dropped + spooled == 20 * RECORDS, (dropped, spooled)
    assert 0 < spool_size(spool) <= 1 << 20, spool_size(spool)
    assert "dropped so far" in log


def postgresql_stopped_then_back(work, mailvet):
    pg = pgserver.PgServer()
    try:
        pg.start()
        store = pg.createdb("mvspool")
        spool = os.path.join(work, "spool")
        d = harness.Mailvetd(work, extra="[reports]\nstore = %s\nqueue = 2\nbatch = 2\n"
                             "spool = %s\n" % (store, spool)).start()
        try:
            pg.stop()
            assert send_all(d) == expected_verdicts()
            assert d.wait_log("cannot write to the record store", timeout=20) or \
                d.wait_log("cannot open the record store", timeout=20), d.log_text()[-2000:]
            assert spool_size(spool) > 0, "nothing in the spool"
            pg.restart()
            assert d.wait_log("replayed from the spool", timeout=30), d.log_text()[-3000:]
            end = time.time() + 20
            while time.time() < end and show(mailvet, store) != EXPECTED:
                time.sleep(0.2)
        finally:
            log = stopped(d)
        assert re.search(r"recorder stopped: 7 DMARC record\(s\) written, 0 dropped", log), \
            log[-3000:]
        assert show(mailvet, store) == EXPECTED
    finally:
        pg.cleanup()


def bad_settings_refused_with_file_and_line(work, mailvet):
    for section, key, value, why in (
            ("reports", "spool", "spool", "must be an absolute directory"),
            ("reports", "spool_max", "5X", "spool_max: expected a size"),
            ("reports", "spool_max", "10", "spool_max: expected a size"),
            ("reports", "store", "mysql://x", "unknown scheme"),
            ("trace", "store", "traces.db", "must be an absolute path"),
            ("trace", "retention", "3w", "retention: expected a duration"),
            ("trace", "retention", "-1d", "retention: expected a duration"),
            ("trace", "queue", "0", "queue: expected a number"),
            ("trace", "colour", "blue", 'unknown key "colour" in [trace]')):
        d = harness.Mailvetd(work, extra="[%s]\n%s = %s\n" % (section, key, value))
        with open(d.conf) as f:
            line = [i + 1 for i, l in enumerate(f) if l.startswith(key + " =")][-1]
        out = subprocess.run([d.binary, "-n", "-c", d.conf], capture_output=True, text=True,
                             timeout=30)
        assert out.returncode != 0 and why in out.stderr and \
            ("%s:%d:" % (d.conf, line)) in out.stderr, (section, key, value, out)
    d = harness.Mailvetd(work, extra="[reports]\nstore = postgresql://u@127.0.0.1:5/db\n"
                         "spool = /var/spool/mailvet\nspool_max = 2G\n[trace]\n"
                         "store = pg:host=/run/postgresql dbname=mailvet\nretention = 12h\n"
                         "spool = /var/spool/mailvet\n")
    out = subprocess.run([d.binary, "-n", "-c", d.conf], capture_output=True, text=True,
                         timeout=30)
    assert out.returncode == 0, out


CASES = [records_spooled_while_down_then_replayed,
         queued_at_stop_goes_to_spool_and_next_start_replays, spool_bound_drops_the_rest,
         postgresql_stopped_then_back, bad_settings_refused_with_file_and_line]


def main():
    harness.mailvetd_path()
    return cases.main(CASES, "mailvetd-spool-", "spool_test.py MAILVETD MAILVET")


if __name__ == "__main__":
    sys.exit(main())
