#!/usr/bin/python3
"""reports.two_writers_pg: two mailvetd nodes record into one PostgreSQL store at once.

Usage: two_writers_test.py MAILVETD MAILVET. A private PostgreSQL server
(tests/store/pgserver.py; one that cannot start fails the test) and an
empty database; two mailvetd processes with the same [reports] store, each
fed messages through the milter by two threads at the same time, from the
first message on (so both create the schema at once, too). After both stop,
the store holds one record per message: nothing lost, nothing doubled.
"""
import os
import sys
import threading

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "daemon"))
sys.path.insert(0, os.path.join(HERE, "..", "store"))
import harness  # noqa: E402
import cases  # noqa: E402
import pgserver  # noqa: E402
from daemon_record_test import BODY, show  # noqa: E402
from milterproto import MilterClient  # noqa: E402

PER_THREAD = 40
THREADS = 2  # per node
IP = "192.0.2.10"


def feed(d, tag, errors, start):
    start.wait()
    try:
        for n in range(PER_THREAD):
            c = MilterClient("127.0.0.1", d.port)
            c.negotiate()
            c.connect("[%s]" % IP, IP, macros={"j": "mx.test.example"})
            c.helo("client.example")
            headers = [("From", " x@good.example"), ("To", " bob@dest.example"),
                       ("Subject", " %s %d" % (tag, n)),
                       ("Message-ID", " <%s-%d@good.example>" % (tag, n))]
            a = c.message("x@good.example", headers, BODY, queue_id="%s%d" % (tag, n))
            c.quit()
            if a.final != "continue":
                errors.append((tag, n, a.final))
    except Exception as e:  # reported by the main thread
        errors.append((tag, repr(e)))


def two_nodes_one_store_nothing_lost(work, mailvet):
    pg = pgserver.PgServer()
    nodes = []
    try:
        pg.start()
        store = pg.createdb("mvtwo")
        for name in ("node1", "node2"):
            w = os.path.join(work, name)
            os.mkdir(w)
            nodes.append(harness.Mailvetd(w, extra="[reports]\nstore = %s\nbatch = 5\n"
                                          % store).start())
        errors, start = [], threading.Event()
        threads = [threading.Thread(target=feed, args=(d, "n%dt%d" % (i, t), errors, start))
                   for i, d in enumerate(nodes) for t in range(THREADS)]
        for t in threads:
            t.start()
        start.set()
        for t in threads:
            t.join(timeout=300)
        assert not errors, errors[:5]
        for d in nodes:
            assert harness.stop_checked(d) == 0, "mailvetd exit status"
            log = d.log_text()
            assert "recording DMARC records into %s" % store in log, log[-2000:]
            # both created the schema at once: the advisory lock made that one creation
            assert "cannot open the record store" not in log, log[-2000:]
            assert "cannot write to the record store" not in log, log[-2000:]
            assert "%d DMARC record(s) written, 0 dropped" % (THREADS * PER_THREAD) in log, \
                log[-2000:]
        rows = show(mailvet, store)
        want = 2 * THREADS * PER_THREAD
        assert rows == {("good.example", IP): (want, want, 0)}, rows
    finally:
        for d in nodes:
            if d.proc:
                d.stop()
        pg.cleanup()


CASES = [two_nodes_one_store_nothing_lost]


def main():
    harness.mailvetd_path()
    return cases.main(CASES, "mailvetd-two-", "two_writers_test.py MAILVETD MAILVET")


if __name__ == "__main__":
    sys.exit(main())
