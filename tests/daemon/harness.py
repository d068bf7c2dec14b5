"""Start and stop a private mailvetd for the daemon tests.

Servers listen on 127.0.0.1 on ports picked here (free_port, from
testports.py); every process a test
starts is stopped by its PID (atexit and SIGTERM/SIGINT handlers), never by
name.
"""
import atexit
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

import testports

# Exit status 77 (ctest's SKIP_RETURN_CODE) is only for a test whose ../shared
# suite is absent; a test that cannot start its server or peer fails: cannot_run().
SKIP = 77
HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "data")
AUTHSERV_ID = "mx.test.example"

_children = []


def _cleanup(*_):
    for p in list(_children):
        if p.poll() is None:
            try:
                p.terminate()
                p.wait(timeout=10)
            except Exception:
                p.kill()
    _children.clear()


def _on_signal(sig, frame):
    _cleanup()
    sys.exit(128 + sig)


atexit.register(_cleanup)
signal.signal(signal.SIGTERM, _on_signal)
signal.signal(signal.SIGINT, _on_signal)


def track(p):
    _children.append(p)
    return p


def untrack(p):
    if p in _children:
        _children.remove(p)


# free_port(): a port outside the kernel's ephemeral range, this process's alone
# until it exits (testports.py says why bind(0) is not enough).
free_port = testports.free_port


def wait_port(port, proc=None, timeout=30):
    end = time.time() + timeout
    while time.time() < end:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError("process exited with %s before listening on %d" % (proc.returncode, port))
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("nothing listens on port %d" % port)


def cannot_run(why):
    """A server, peer or binary the test needs is missing: that is a failure
    (scripts/install-deps --test installs the peers; `make check` runs it)."""
    print("FAIL: cannot run: %s" % why)
    sys.exit(1)


def mailvetd_path():
    p = os.environ.get("MAILVETD")
    if not p and len(sys.argv) > 1:
        p = sys.argv[1]
    if not p or not os.access(p, os.X_OK):
        cannot_run("no mailvetd binary (pass its path as argument or MAILVETD)")
    return p


def vm_hwm_kb(pid):
    """Peak resident memory of a process (VmHWM, kB)."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return -1


def _thread_states(pid):
    """The state letter of each thread of pid (R, S, T, ...), from /proc/pid/task/*/stat."""
    states = []
    for tid in os.listdir("/proc/%d/task" % pid):
        try:
            with open("/proc/%d/task/%s/stat" % (pid, tid)) as f:
                states.append(f.read().rsplit(")", 1)[1].split()[0])
        except (FileNotFoundError, ProcessLookupError):
            pass
    return states


def stop_process(pid, timeout=10):
    """SIGSTOP pid and wait until every one of its threads is stopped. kill() returns
    before that: the stop reaches the other threads only once the thread that took the
    signal has run, and until then they may still serve requests (a thread bound to a
    busy CPU can take a while)."""
    os.kill(pid, signal.SIGSTOP)
    end = time.time() + timeout
    while time.time() < end:
        states = _thread_states(pid)
        if states and all(s in ("T", "t") for s in states):
            return
        time.sleep(0.005)
    raise AssertionError("process %d not stopped after %d s: thread states %s"
                         % (pid, timeout, _thread_states(pid)))


def seccomp_filters(pid):
    """How many seccomp filters pid runs under (0: none)."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("Seccomp_filters:"):
                return int(line.split()[1])
    return 0


def has_own_filter(pid, supervisor):
    """pid (a child of mailvetd's supervisor) installed a filter of its own:
    one more than the supervisor's, which every child inherits."""
    return seccomp_filters(pid) > seccomp_filters(supervisor)


def merge_ini(base, extra):
    """base with extra's sections merged in: mailvetd refuses a section or a
    key (other than a list key) set twice, so a key of extra replaces the
    base's value and a new section or key is added."""
    sections, order = {}, []
    for text in (base, extra):
        current = None
        for line in text.splitlines():
            if line.startswith("["):
                current = line.strip()
                if current not in sections:
                    sections[current] = []
                    order.append(current)
                continue
            name = line.split("=", 1)[0].strip()
            lines = sections[current]
            if text is extra and name not in ("key",):
                lines[:] = [l for l in lines if l.split("=", 1)[0].strip() != name]
            lines.append(line)
    return "".join(s + "\n" + "".join(l + "\n" for l in sections[s]) for s in order)


# What the worker logs once a reload is done (the last step of one).
RELOADED = "configuration reloaded"


class Mailvetd:
    """A mailvetd in the foreground on a picked port, logging to a file."""

    def __init__(self, workdir, extra="", port=None, internal="127.0.0.2", sections=None):
        self.binary = mailvetd_path()
        self.dir = workdir
        self.own_port = not port  # picked here: start() may pick another (see there)
        self.port = port or free_port()
        self.conf = os.path.join(workdir, "mailvet.conf")
        self.log = os.path.join(workdir, "mailvetd.log")
        self.internal = internal
        self.write_config(extra)
        self.proc = None

    def write_config(self, extra=""):
        # Keys readable by the unprivileged user the daemon may run as.
        text = """[milter]
socket = inet:%d@127.0.0.1
user =
drain_timeout = 20
[log]
destination = stderr
debug = yes
[verify]
authserv_id = %s
internal_hosts = %s
[dns]
zone_file = %s
[domain sign.example]
key = rsa1 %s
key = ed1 %s
""" % (self.port, AUTHSERV_ID, self.internal, os.path.join(DATA, "zone.txt"),
            os.path.join(DATA, "rsa1.pem"), os.path.join(DATA, "ed1.pem"))
        self.extra = extra
        # extra: "[section]\nkey = value" blocks; a key of extra replaces the base's.
        with open(self.conf, "w") as f:
            f.write(merge_ini(text, extra))

    def start(self):
        env = dict(os.environ)
        # Under ASan, freed buffers sit in a quarantine (256 MB by default),
        # which would hide whether a body is streamed or kept; keep it small.
        env["ASAN_OPTIONS"] = env.get("ASAN_OPTIONS", "") + ":quarantine_size_mb=4"
        for attempt in (1, 2):
            self.logf = open(self.log, "ab")
            self.proc = track(subprocess.Popen([self.binary, "-f", "-c", self.conf],
                                               stdout=self.logf, stderr=self.logf, env=env))
            try:
                wait_port(self.port, self.proc)
                return self
            except RuntimeError:
                # The milter port is this process's (testports), but a program
                # outside the tests could still bind it: once, with a port
                # picked here, pick another and start again.
                taken = "cannot listen on inet:%d@" % self.port in self.log_text()
                if attempt == 2 or not self.own_port or not taken or self.proc.poll() is None:
                    raise
                untrack(self.proc)
                self.logf.close()
                print("note: milter port %d was taken; starting again on another" % self.port)
                self.port = free_port()
                self.write_config(self.extra)

    def log_text(self):
        with open(self.log, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def message_lines(self):
        return [l for l in self.log_text().splitlines() if "event=message" in l or '"event":"message"' in l]

    def wait_log(self, needle, timeout=10):
        end = time.time() + timeout
        while time.time() < end:
            if needle in self.log_text():
                return True
            time.sleep(0.05)
        return False

    def wait_count(self, text, n, timeout=30, poll=0.05):
        """Wait until the log holds text at least n times."""
        end = time.time() + timeout
        while self.log_text().count(text) < n:
            assert time.time() < end, "%r not logged %d times after %d s:\n%s" % (
                text, n, timeout, self.log_text()[-3000:])
            time.sleep(poll)

    def reload(self, extra=None, timeout=30, poll=0.05):
        """SIGHUP (after rewriting the configuration with extra, when given) and wait until
        the worker says it reloaded: one "configuration reloaded" more than before. The
        supervisor tells the worker only once the key and auth processes have their new
        state in use, so their own "loaded" lines, which come before, are not waited for.
        Every reload of a test must be waited for so, or a late line of the reload before
        is taken for this one's."""
        before = self.log_text().count(RELOADED)
        if extra is not None:
            self.write_config(extra)
        self.hup()
        self.wait_count(RELOADED, before + 1, timeout, poll)

    def serving_worker(self, timeout=30):
        """The worker's pid once it has read its configuration. worker_pids() counts it from
        the fork, and the key or auth process too until it renames itself: the worker is the
        one the supervisor's last "worker N started" names, and its own system-call filter
        (one more than the supervisor's) is installed after its configuration is loaded."""
        end = time.time() + timeout
        while True:
            started = re.findall(r"worker (\d+) started", self.log_text())
            pid = int(started[-1]) if started else 0
            if pid in self.worker_pids() and self.keyd_pid() and has_own_filter(pid, self.proc.pid):
                return pid
            assert time.time() < end, "no worker with its filter after %d s:\n%s" % (
                timeout, self.log_text()[-3000:])
            time.sleep(0.1)

    def worker_pids(self, keyd=False):
        """The supervisor's children: the worker process(es) serving the milter
        (keyd=True: the key process instead)."""
        out = []
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            try:
                with open("/proc/%s/stat" % pid) as f:
                    stat = f.read()
                comm = stat.split("(", 1)[1].rsplit(")", 1)[0]
                fields = stat.rsplit(")", 1)[1].split()
                # The auth process (mailvetd-authd) is neither: see auth_pid().
                if int(fields[1]) == self.proc.pid and comm != "mailvetd-authd" and \
                        (comm == "mailvetd-keyd") == keyd:
                    out.append(int(pid))
            except (OSError, IndexError, ValueError):
                pass
        return out

    def keyd_pid(self):
        """The key process's pid (the supervisor's child named mailvetd-keyd), or None."""
        pids = self.worker_pids(keyd=True)
        return pids[0] if len(pids) == 1 else None

    def auth_pid(self):
        """The auth process's pid (the supervisor's child named mailvetd-authd), or None."""
        for pid in os.listdir("/proc"):
            try:
                with open("/proc/%s/stat" % pid) as f:
                    stat = f.read()
                if stat.split("(", 1)[1].rsplit(")", 1)[0] == "mailvetd-authd" and \
                        int(stat.rsplit(")", 1)[1].split()[1]) == self.proc.pid:
                    return int(pid)
            except (OSError, IndexError, ValueError):
                pass
        return None

    def worker_pid(self):
        """The one worker's pid (the process whose memory and CPU are the milter's)."""
        pids = self.worker_pids()
        assert len(pids) == 1, "expected one worker, found %r" % pids
        return pids[0]

    def hup(self):
        self.proc.send_signal(signal.SIGHUP)

    def stop(self, timeout=60):
        """SIGTERM; returns the exit status (ASan errors make it non-zero)."""
        if self.proc is None:
            return 0
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait()
        untrack(self.proc)
        self.logf.close()
        self.proc = None
        return rc


def stop_checked(d):
    """Stop d; 1 (after printing the log's tail) when its exit status says
    something went wrong, such as a sanitizer report, else 0."""
    rc = d.stop() if d.proc else 0
    if rc == 0:
        return 0
    print("FAIL mailvetd exit status %d (sanitizer report in %s)" % (rc, d.log))
    print(d.log_text()[-6000:])
    return 1


def tempdir(prefix):
    return tempfile.mkdtemp(prefix=prefix)


def run_cases(cases, arg, only=()):
    """Run each case(arg) (those named in only, when given); print ok/FAIL; the failures."""
    import traceback
    failures = 0
    for case in cases:
        if only and case.__name__ not in only:
            continue
        try:
            case(arg)
            print("ok   %s" % case.__name__)
        except Exception:
            failures += 1
            print("FAIL %s" % case.__name__)
            traceback.print_exc(file=sys.stdout)
    return failures


def finish(work, failures, d_rc, d, what="mailvetd.log"):
    """The end of a test run: mailvetd's exit status counts; the work dir is kept on failure."""
    if d_rc != 0:
        failures += 1
        print("FAIL mailvetd exit status %d" % d_rc)
        print(d.log_text()[-6000:])
    if failures:
        print("%d failure(s); logs in %s (%s)" % (failures, work, what))
        return 1
    import shutil
    shutil.rmtree(work, ignore_errors=True)
    return 0


class Sink(threading.Thread):
    """A next hop for the SMTP front end: accepts every message, keeps its bytes."""

    def __init__(self):
        super().__init__(daemon=True)
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.messages = []

    def run(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self.serve, args=(c,), daemon=True).start()

    def serve(self, c):
        f = c.makefile("rb")
        c.sendall(b"220 sink ESMTP\r\n")
        for line in f:
            verb = line[:4].upper()
            if verb == b"EHLO":
                c.sendall(b"250-sink\r\n250 8BITMIME\r\n")
            elif verb == b"DATA":
                c.sendall(b"354 go on\r\n")
                data = b""
                for l in f:
                    if l == b".\r\n":
                        break
                    data += l
                self.messages.append(data.decode("utf-8", "replace"))
                c.sendall(b"250 2.0.0 kept\r\n")
            elif verb == b"QUIT":
                c.sendall(b"221 bye\r\n")
                break
            else:
                c.sendall(b"250 ok\r\n")
        c.close()

    def stop(self):
        self.sock.close()
