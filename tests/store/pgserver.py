"""A private PostgreSQL server for tests (Debian's postgresql 15).

initdb into a temporary directory, then `postgres -D DIR -k DIR -h 127.0.0.1
-p PORT` on a port picked here. initdb and postgres refuse to run as root,
so when the test runs as root both run as the `postgres` user (the
directory is handed to it). The server is stopped by its PID (fast
shutdown) through harness.track; a server that cannot start raises, and the
test fails: it never skips.
"""
import os
import pwd
import shutil
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "daemon"))
import harness  # noqa: E402

BIN = os.environ.get("MV_PG_BIN", "/usr/lib/postgresql/15/bin")
USER = "mailvet"  # the database superuser initdb creates


class PgServer:
    def __init__(self, prefix="mv-pg-"):
        self.dir = harness.tempdir(prefix)
        self.data = os.path.join(self.dir, "data")
        self.port = harness.free_port()
        self.proc = None
        self.log = os.path.join(self.dir, "postgres.log")
        self.run_as = None
        if os.geteuid() == 0:
            pw = pwd.getpwnam("postgres")
            self.run_as = pw
            os.chown(self.dir, pw.pw_uid, pw.pw_gid)
        for tool in ("initdb", "postgres", "createdb"):
            if not os.access(os.path.join(BIN, tool), os.X_OK):
                raise RuntimeError("no %s in %s (scripts/install-deps --test installs postgresql)"
                                   % (tool, BIN))

    def _demote(self):
        if self.run_as:
            os.setgid(self.run_as.pw_gid)
            os.setuid(self.run_as.pw_uid)

    def _run(self, args):
        r = subprocess.run(args, preexec_fn=self._demote, capture_output=True, cwd=self.dir)
        if r.returncode != 0:
            raise RuntimeError("%s failed: %s" % (args[0], (r.stdout + r.stderr).decode(errors="replace")))

    def start(self):
        self._run([os.path.join(BIN, "initdb"), "-D", self.data, "-U", USER, "--auth=trust",
                   "-E", "UTF8", "--locale=C", "--no-sync"])
        self._spawn()
        return self

    def _spawn(self):
        logf = open(self.log, "ab")
        self.proc = harness.track(subprocess.Popen(
            [os.path.join(BIN, "postgres"), "-D", self.data, "-k", self.dir, "-h", "127.0.0.1",
             "-p", str(self.port), "-c", "fsync=off", "-c", "max_connections=50"],
            stdout=logf, stderr=logf, preexec_fn=self._demote, cwd=self.dir))
        logf.close()
        end = time.time() + 60
        while True:
            r = subprocess.run([os.path.join(BIN, "pg_isready"), "-h", "127.0.0.1", "-p",
                                str(self.port), "-U", USER], capture_output=True)
            if r.returncode == 0:
                return
            if self.proc.poll() is not None or time.time() > end:
                raise RuntimeError("postgres did not start:\n" + self.log_text()[-3000:])
            time.sleep(0.1)

    def createdb(self, name):
        self._run([os.path.join(BIN, "createdb"), "-h", "127.0.0.1", "-p", str(self.port),
                   "-U", USER, name])
        return self.location(name)

    def location(self, db):
        return "postgresql://%s@127.0.0.1:%d/%s" % (USER, self.port, db)

    def log_text(self):
        try:
            with open(self.log, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def stop(self):
        """Fast shutdown (SIGINT) by PID; the data directory stays (restart())."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        harness.untrack(self.proc)
        self.proc = None

    def restart(self):
        self._spawn()

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)
