"""Ports on 127.0.0.1 for the servers tests start (mailvetd, Dovecot, Postfix, sinks).

A port from bind(0) comes from the kernel's ephemeral range, the range every
outgoing connection's source port is taken from too, and it is free only until
the socket is closed: between free_port() and the server's bind, a parallel
test (ctest -j) or any client connection could take it ("Address already in
use"). So a port is picked at random BELOW the ephemeral range (the kernel never
hands those out by itself), and it is this process's alone: an exclusive flock
on LOCK_DIR/PORT, held until the process exits (the kernel drops it then, so a
crashed test leaves no stale lock), which every test process, shell script
(scripts/free-port + flock(1)) and C test (tests/auth/dovecot_auth.c) asks for
before it uses a port. A bind check (TCP and UDP) skips ports something else
holds. The lock files stay in LOCK_DIR: removing one would race with a process
opening it.
"""
import fcntl
import os
import random
import socket

LOCK_DIR = "/tmp/mailvet-test-ports"
LOW = 20000          # the bottom of the range picked from (far above well-known ports)
MIN_SPAN = 1000      # a range narrower than this is not used
TRIES = 2000

_rng = random.SystemRandom()
_held = {}           # port -> the fd whose lock reserves it for this process


def ephemeral_range():
    """The kernel's ephemeral port range (net.ipv4.ip_local_port_range)."""
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            lo, hi = (int(x) for x in f.read().split())
        return lo, hi
    except (OSError, ValueError):
        return 32768, 60999  # Linux's default


def candidate_range():
    """(first, last): where ports are picked, outside the ephemeral range. MV_TEST_PORT_RANGE
    ("FIRST-LAST") narrows it (the allocator's own test uses it to force contention)."""
    env = os.environ.get("MV_TEST_PORT_RANGE")
    if env:
        first, last = (int(x) for x in env.split("-"))
        return first, last
    lo, hi = ephemeral_range()
    if lo - 1 - LOW >= MIN_SPAN:
        return LOW, lo - 1
    if 65535 - (hi + 1) >= MIN_SPAN:
        return hi + 1, 65535
    raise RuntimeError("no port range outside the ephemeral range %d-%d "
                       "(net.ipv4.ip_local_port_range)" % (lo, hi))


def _lock_dir():
    try:
        os.mkdir(LOCK_DIR, 0o1777)
        os.chmod(LOCK_DIR, 0o1777)  # any user's tests share it (mkdir's mode is umasked)
    except FileExistsError:
        pass
    return LOCK_DIR


def bindable(port):
    """Nothing holds port on 127.0.0.1, for TCP or UDP (binding both succeeds now)."""
    for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
        s = socket.socket(socket.AF_INET, kind)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        finally:
            s.close()
    return True


def _lock(port):
    """An fd holding the exclusive lock on port, or None when another process has it."""
    try:
        # Read-only: flock needs no write access, so a lock file another user
        # created (mode 0644 after the umask) can still be locked.
        fd = os.open(os.path.join(_lock_dir(), str(port)), os.O_RDONLY | os.O_CREAT | os.O_CLOEXEC,
                     0o666)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return None
    return fd


def free_port():
    """A port on 127.0.0.1 free for TCP and UDP, outside the ephemeral range, reserved for
    this process (no other test process gets it) until the process exits."""
    first, last = candidate_range()
    for _ in range(TRIES):
        port = _rng.randint(first, last)
        if port in _held:
            continue
        fd = _lock(port)
        if fd is None:
            continue
        if not bindable(port):
            os.close(fd)
            continue
        _held[port] = fd
        return port
    raise RuntimeError("no free port in %d-%d after %d tries" % (first, last, TRIES))


def release(port):
    """Give port back before the process exits (only once nothing of ours uses it)."""
    fd = _held.pop(port, None)
    if fd is not None:
        os.close(fd)
