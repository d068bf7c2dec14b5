#!/usr/bin/python3
"""daemon.ports: the test servers' port allocator (testports.py, harness.free_port).

Checked: its ports are outside the kernel's ephemeral range; processes asking at
the same moment in a range barely larger than what they ask for never get the
same port (without the locks they would, many times over); a process's ports are
free again once it exits (no stale lock); a port something has bound, for TCP or
for UDP, is never handed out; scripts/free-port (what shell tests use) agrees;
harness.Mailvetd starts again on another port when something outside the tests
took the one it picked. Usage: ports_test.py MAILVETD.
"""
import os
import random
import socket
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import testports  # noqa: E402

PROCS, EACH, SPAN = 6, 12, 100  # 72 ports asked of 100 at once


def child():
    """Wait for the go (a line on stdin), take EACH ports, print them, hold them until EOF."""
    sys.stdin.readline()
    print(" ".join(str(testports.free_port()) for _ in range(EACH)), flush=True)
    sys.stdin.read()


def check_range():
    lo, hi = testports.ephemeral_range()
    ports = [testports.free_port() for _ in range(50)]
    first, last = testports.candidate_range()
    for p in ports:
        assert not lo <= p <= hi, "port %d in the ephemeral range %d-%d" % (p, lo, hi)
        assert 1024 <= p and first <= p <= last, "port %d outside %d-%d" % (p, first, last)
    assert len(set(ports)) == len(ports), "one process got a port twice: %r" % ports
    for p in ports:
        testports.release(p)


def private_range(span):
    """(first, last): span ports at a random spot below the range free_port() picks from (and
    below the ephemeral range): no other test process takes one of them while this one
    releases and binds or locks them (ctest -j runs other tests at the same time)."""
    top = min(testports.LOW, testports.ephemeral_range()[0]) - 1
    bottom = max(1024, top - 10 * span)
    assert top - bottom >= 2 * span, "no room below port %d" % (top + 1)
    first = random.randint(bottom, top - span + 1)
    return first, first + span - 1


def check_concurrent():
    first = private_range(SPAN)[0]
    env = dict(os.environ, MV_TEST_PORT_RANGE="%d-%d" % (first, first + SPAN - 1))
    kids = [subprocess.Popen([sys.executable, __file__, "child"], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, env=env, text=True) for _ in range(PROCS)]
    for k in kids:  # all asked as close to the same moment as we can
        k.stdin.write("go\n")
        k.stdin.flush()
    got = []
    for k in kids:
        line = k.stdout.readline().split()
        assert len(line) == EACH, "a child did not get its %d ports: %r" % (EACH, line)
        got.append([int(x) for x in line])
    flat = [p for ports in got for p in ports]
    dup = sorted(p for p in set(flat) if flat.count(p) > 1)
    assert not dup, "ports handed to two processes at once: %r" % dup
    assert all(first <= p < first + SPAN for p in flat), flat
    # While they hold them, this process cannot have one of theirs.
    for p in got[0]:
        fd = testports._lock(p)
        assert fd is None, "port %d locked by a child, yet this process got it" % p
    for k in kids:
        k.stdin.close()
        assert k.wait(timeout=30) == 0
    # They exited: their locks went with them.
    for p in got[0]:
        fd = testports._lock(p)
        assert fd is not None, "port %d still locked after its process exited" % p
        os.close(fd)
    print("ok   %d processes, %d ports from %d-%d at once, none twice, none stale" %
          (PROCS, len(flat), first, first + SPAN - 1))


def check_bound_skipped():
    for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
        os.environ["MV_TEST_PORT_RANGE"] = "%d-%d" % private_range(100)
        try:
            p = testports.free_port()  # free now, from where no other test picks
        finally:
            del os.environ["MV_TEST_PORT_RANGE"]
        testports.release(p)  # unlocked, but bound by the socket below
        s = socket.socket(socket.AF_INET, kind)
        s.bind(("127.0.0.1", p))
        os.environ["MV_TEST_PORT_RANGE"] = "%d-%d" % (p, p)
        try:
            try:
                got = testports.free_port()
                raise AssertionError("port %d handed out while bound (%s)" % (got, kind))
            except RuntimeError:
                pass
            s.close()
            assert testports.free_port() == p, "port %d not handed out once unbound" % p
            testports.release(p)
        finally:
            del os.environ["MV_TEST_PORT_RANGE"]
            s.close()


def check_script():
    lo, hi = testports.ephemeral_range()
    out = subprocess.run([os.path.join(HERE, "..", "..", "scripts", "free-port")],
                         capture_output=True, text=True, timeout=30, check=True).stdout
    p = int(out)
    assert not lo <= p <= hi, "scripts/free-port gave %d, in the ephemeral range" % p
    assert os.path.exists(os.path.join(testports.LOCK_DIR, str(p))), "no lock file for %d" % p


def check_mailvetd_retry():
    """Something outside the tests holds the milter port harness.Mailvetd picked (it listens
    with a full backlog, so connecting there gets nowhere and mailvetd's bind fails):
    start() starts mailvetd again on another port, once."""
    import harness
    work = harness.tempdir("mailvetd-ports-")
    d = harness.Mailvetd(work)
    squat = socket.socket()
    squat.bind(("127.0.0.1", d.port))
    squat.listen(0)
    fill = []
    for _ in range(2):  # backlog 0 holds one; a SYN to a full backlog is dropped
        c = socket.socket()
        c.setblocking(False)
        try:
            c.connect(("127.0.0.1", d.port))
        except BlockingIOError:
            pass
        fill.append(c)
    taken = d.port
    try:
        d.start()
        assert d.port != taken, "mailvetd was not moved off the taken port %d" % taken
        assert "cannot listen on inet:%d@" % taken in d.log_text(), d.log_text()[-2000:]
        assert d.proc.poll() is None
    finally:
        rc = d.stop()
        for c in fill + [squat]:
            c.close()
    assert rc == 0, "mailvetd exit status %d (log in %s)" % (rc, work)
    import shutil
    shutil.rmtree(work, ignore_errors=True)


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "child":
        child()
        return 0
    failures = 0
    for case in (check_range, check_concurrent, check_bound_skipped, check_script,
                 check_mailvetd_retry):
        try:
            case()
            print("ok   %s" % case.__name__)
        except Exception:
            import traceback
            failures += 1
            print("FAIL %s" % case.__name__)
            traceback.print_exc(file=sys.stdout)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
