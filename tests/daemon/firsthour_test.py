#!/usr/bin/python3
"""A new user's first hour with mailvetd (issue 16): every configuration that
would fail later, or do nothing, is refused by `mailvetd -n` with file:line
and the reason, and no start fails in silence.

Usage: firsthour_test.py MAILVETD. Each case is named for what it checks;
the script exits non-zero if any fails.
"""
import json
import os
import pwd
import re
import shutil
import socket
import subprocess
import sys
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import DATA  # noqa: E402

ZONE = os.path.join(DATA, "zone.txt")


def config(milter="user =\n", verify="", dns="", rest=""):
    """A configuration that passes `-n` as it is; each argument is added to its section."""
    return ("[milter]\n%s[log]\ndestination = stderr\n[verify]\nauthserv_id = mx.example\n%s"
            "[dns]\nzone_file = %s\n%s%s" % (milter, verify, ZONE, dns, rest))


def line_of(text, needle):
    for i, line in enumerate(text.splitlines(), 1):
        if needle in line:
            return i
    raise AssertionError("%r not in the configuration" % needle)


# (case name, configuration, the text of the line -n must name, words of the reason)
BROKEN = [
    ("user_that_does_not_exist",
     config(milter="user = no-such-user-mv\n"), "user = no-such", "no such user"),
    ("wildcard_domain_section_never_matches",
     config(rest="[domain *]\nkey = s1 %s\n" % os.path.join(DATA, "rsa1.pem")), "[domain *]",
     "wildcard"),
    ("domain_section_without_a_key",
     config(rest="[domain a.example]\nsubdomains = yes\n"), "[domain a.example]", "has no key"),
    ("domain_section_without_any_line",
     config(rest="[domain b.example]\n"), "[domain b.example]", "has no key"),
    ("bare_port_is_not_a_socket",
     config(milter="user =\nsocket = 8891\n"), "socket = 8891", "inet:PORT@HOST"),
    ("unknown_socket_scheme",
     config(milter="user =\nsocket = tcp:foo\n"), "socket = tcp:foo", "inet:PORT@HOST"),
    ("port_out_of_range",
     config(milter="user =\nsocket = inet:99999@127.0.0.1\n"), "99999", "1 to 65535"),
    ("relative_unix_socket",
     config(milter="user =\nsocket = unix:milter.sock\n"), "unix:milter.sock", "absolute path"),
    ("misspelt_syslog_facility",
     config().replace("destination = stderr\n", "facility = mial\n"), "facility = mial",
     "not a syslog facility"),
    ("missing_trust_anchor_file",
     config(dns="trust_anchor_file = /nonexistent/root.key\n"), "trust_anchor_file",
     "No such file"),
    ("signed_headers_without_from",
     config(rest="[outbound]\nheaders = to:subject\n[domain a.example]\nkey = s1 %s\n"
            % os.path.join(DATA, "rsa1.pem")), "headers = to:subject", "must include From"),
    ("key_set_twice",
     config(milter="user =\ntimeout = 60\ntimeout = 30\n"), "timeout = 30", "set twice"),
    ("section_twice",
     config(rest="[log] \ndebug = yes\n"), "[log] ", "appears twice"),
    ("domain_section_twice_in_another_case",
     config(rest="[domain a.example]\nkey = s1 %s\n[domain A.example.]\nkey = s2 %s\n"
            % (os.path.join(DATA, "rsa1.pem"), os.path.join(DATA, "ed1.pem"))),
     "[domain A.example.]", "appears twice"),
    ("missing_key_file",
     config(rest="[domain a.example]\nkey = s1 /nonexistent/k.pem\n"), "/nonexistent/k.pem",
     "No such file"),
    ("relative_key_path",
     config(rest="[domain a.example]\nkey = s1 keys/k.pem\n"), "keys/k.pem", "absolute path"),
]


def check(binary, conf):
    return subprocess.run([binary, "-n", "-c", conf], capture_output=True, text=True, timeout=20)


def broken_configuration_is_refused(binary, work, name, text, needle, reason):
    conf = os.path.join(work, name + ".conf")
    with open(conf, "w") as f:
        f.write(text)
    r = check(binary, conf)
    where = "%s:%d: " % (conf, line_of(text, needle))
    assert r.returncode == 1, (r.returncode, r.stdout, r.stderr)
    assert where in r.stderr and reason in r.stderr, (where, reason, r.stderr)
    assert r.stderr.count(conf) == 1, "the path printed more than once: " + r.stderr


def working_configuration_passes(binary, work):
    conf = os.path.join(work, "good.conf")
    with open(conf, "w") as f:
        f.write(config(rest="[domain a.example]\nkey = s1 %s\n" % os.path.join(DATA, "rsa1.pem")))
    r = check(binary, conf)
    assert r.returncode == 0 and "configuration OK" in r.stdout, (r.returncode, r.stderr)


def key_the_daemon_user_cannot_read(binary, work):
    """As root with user = nobody: a 0600 root key is read at start, not on the next SIGHUP."""
    if os.geteuid() != 0:
        print("    (not root: skipped)")
        return
    d = os.path.join(work, "drop")
    os.makedirs(d)
    os.chmod(d, 0o755)
    key = os.path.join(d, "k.pem")
    shutil.copy(os.path.join(DATA, "rsa1.pem"), key)
    os.chmod(key, 0o600)
    conf = os.path.join(d, "drop.conf")
    text = config(milter="user = nobody\n", rest="[domain a.example]\nkey = s1 %s\n" % key)
    with open(conf, "w") as f:
        f.write(text)
    os.chmod(conf, 0o644)
    os.chmod(work, 0o755)
    r = check(binary, conf)
    assert r.returncode == 1, (r.returncode, r.stderr)
    assert "%s:%d: " % (conf, line_of(text, "k.pem")) in r.stderr, r.stderr
    assert "Permission denied for user nobody" in r.stderr, r.stderr
    os.chmod(key, 0o644)
    r = check(binary, conf)
    assert r.returncode == 0, (r.returncode, r.stderr)
    os.chmod(conf, 0o600)  # the worker reads the configuration again after the drop
    r = check(binary, conf)
    assert r.returncode == 1 and "%s: Permission denied for user nobody" % conf in r.stderr, \
        r.stderr


def start_failure_in_the_background_is_printed(binary, work):
    """Logging to syslog, in the background: a socket already taken is said on stderr."""
    port = harness.free_port()
    conf = os.path.join(work, "busy.conf")
    with open(conf, "w") as f:
        f.write(config(milter="user =\nsocket = inet:%d@127.0.0.1\n" % port)
                .replace("destination = stderr\n", "destination = syslog\n"))
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", port))
    s.listen(1)
    try:
        r = subprocess.run([binary, "-c", conf], capture_output=True, text=True, timeout=30)
    finally:
        s.close()
    assert r.returncode == 1, (r.returncode, r.stderr)
    assert ("cannot listen on inet:%d@127.0.0.1" % port) in r.stderr, r.stderr


def relative_config_path_survives_the_fork(binary, work):
    """-c mailvet.conf from the configuration's directory: the worker still finds it."""
    sub = os.path.join(work, "rel")
    os.makedirs(sub)
    port = harness.free_port()
    with open(os.path.join(sub, "mailvet.conf"), "w") as f:
        f.write(config(milter="user =\nsocket = inet:%d@127.0.0.1\npid_file = %s\n"
                       % (port, os.path.join(sub, "pid"))))
    # Logging to stderr, the daemon keeps it: a file, not a pipe we would wait on.
    with open(os.path.join(sub, "log"), "wb") as log:
        r = subprocess.run([binary, "-c", "mailvet.conf"], cwd=sub, stdout=log, stderr=log,
                           timeout=30)
    assert r.returncode == 0, r.returncode
    with open(os.path.join(sub, "pid")) as f:
        pid = int(f.read())
    try:
        harness.wait_port(port, timeout=10)
    finally:
        os.kill(pid, 15)
        for _ in range(200):
            if not os.path.exists("/proc/%d" % pid):
                break
            time.sleep(0.05)


def pid_in(pid_file, proc, timeout=30):
    """The pid pid_file holds, once it holds one. mailvetd writes it just after it listens
    (open with O_TRUNC, then write): when the port answers, the file may be missing or empty."""
    end = time.time() + timeout
    while True:
        try:
            with open(pid_file) as f:
                text = f.read()
            if text.endswith("\n"):
                return int(text)
        except FileNotFoundError:
            text = None
        assert proc.poll() is None, "mailvetd exited with %s" % proc.returncode
        assert time.time() < end, "pid file %s holds %r after %d s" % (pid_file, text, timeout)
        time.sleep(0.05)


def start_and_stop(binary, conf, port, pid_file, before_stop=None):
    """Run mailvetd -f on conf until it listens; check the pid file names it; SIGTERM it."""
    p = harness.track(subprocess.Popen([binary, "-f", "-c", conf], stdout=subprocess.DEVNULL,
                                       stderr=subprocess.PIPE, text=True))
    try:
        harness.wait_port(port, p)
        assert pid_in(pid_file, p) == p.pid
        if before_stop:
            before_stop()
    finally:
        p.terminate()
        _, err = p.communicate(timeout=60)
        harness.untrack(p)
    assert p.returncode == 0, (p.returncode, err)
    return err


def pid_file_is_removed_after_the_privilege_drop(binary, work):
    """As root with user = nobody: the pid file's missing directory is made the user's, so the
    supervisor (now nobody) removes the file at exit; a root-owned directory is refused by -n."""
    d = os.path.join(work, "pid")
    os.makedirs(d)
    os.chmod(work, 0o755)
    os.chmod(d, 0o755)
    user = "nobody" if os.geteuid() == 0 else ""
    port = harness.free_port()
    pid_file = os.path.join(d, "run", "mailvetd.pid")
    conf = os.path.join(d, "pid.conf")
    with open(conf, "w") as f:
        f.write(config(milter="user = %s\nsocket = inet:%d@127.0.0.1\npid_file = %s\n"
                       % (user, port, pid_file)))
    os.chmod(conf, 0o644)
    start_and_stop(binary, conf, port, pid_file)
    assert not os.path.exists(pid_file), "pid file left behind"
    if os.geteuid() != 0:
        print("    (not root: the drop and the refused directory skipped)")
        return
    assert os.stat(os.path.dirname(pid_file)).st_uid == pwd.getpwnam("nobody").pw_uid
    text = config(milter="user = nobody\npid_file = %s\n" % os.path.join(d, "mailvetd.pid"))
    with open(conf, "w") as f:
        f.write(text)
    r = check(binary, conf)
    assert r.returncode == 1, (r.returncode, r.stderr)
    assert "%s:%d: " % (conf, line_of(text, "pid_file")) in r.stderr, r.stderr
    assert "cannot remove a file from %s" % d in r.stderr, r.stderr


def pid_file_of_another_start_is_left_alone(binary, work):
    """A pid file rewritten by someone else while we ran is not ours to remove at exit."""
    d = os.path.join(work, "pid-other")
    os.makedirs(d)
    port = harness.free_port()
    pid_file = os.path.join(d, "mailvetd.pid")
    conf = os.path.join(d, "other.conf")
    with open(conf, "w") as f:
        f.write(config(milter="user =\nsocket = inet:%d@127.0.0.1\npid_file = %s\n"
                       % (port, pid_file)))

    def replace():
        with open(pid_file + ".new", "w") as f:
            f.write("1\n")
        os.rename(pid_file + ".new", pid_file)

    start_and_stop(binary, conf, port, pid_file, replace)
    with open(pid_file) as f:
        assert f.read() == "1\n", "another start's pid file was changed or removed"


def start_line_in(log):
    """The JSON log holds mailvetd's start line ("... listening on ...")."""
    with open(log) as f:
        return any('"event":"start"' in l and "listening on" in l for l in f)


def json_log_lines_on_stderr_have_a_timestamp(binary, work):
    port = harness.free_port()
    conf = os.path.join(work, "json.conf")
    with open(conf, "w") as f:
        f.write(config(milter="user =\nsocket = inet:%d@127.0.0.1\n" % port)
                .replace("destination = stderr\n", "destination = stderr\nformat = json\n"))
    log = os.path.join(work, "json.log")
    with open(log, "wb") as out:
        p = harness.track(subprocess.Popen([binary, "-f", "-c", conf], stdout=out, stderr=out))
        try:
            harness.wait_port(port, p)
            # The start's line is written after the listen, so the port may answer before it
            # is out: wait for it, the line checked below whatever the stop logs.
            end = time.time() + 30
            while not start_line_in(log):
                assert p.poll() is None, "mailvetd exited with %s" % p.returncode
                assert time.time() < end, "no start line after 30 s in %s" % log
                time.sleep(0.05)
        finally:
            p.terminate()
            p.wait(timeout=60)
            harness.untrack(p)
    with open(log) as f:
        lines = [json.loads(l) for l in f if l.startswith("{")]
    assert lines, "no JSON line"
    for line in lines:
        assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$", line.get("time", "")), line


def run(case, *args):
    name = args[2] if case is broken_configuration_is_refused else case.__name__
    try:
        case(*args)
        print("ok   %s" % name)
        return 0
    except Exception:  # noqa: BLE001
        print("FAIL %s" % name)
        traceback.print_exc(file=sys.stdout)
        return 1


def main():
    binary = os.path.abspath(harness.mailvetd_path())
    work = harness.tempdir("mailvetd-first-")
    failures = 0
    for case in BROKEN:
        failures += run(broken_configuration_is_refused, binary, work, *case)
    others = [working_configuration_passes, key_the_daemon_user_cannot_read,
              start_failure_in_the_background_is_printed, relative_config_path_survives_the_fork,
              json_log_lines_on_stderr_have_a_timestamp,
              pid_file_is_removed_after_the_privilege_drop,
              pid_file_of_another_start_is_left_alone]
    for case in others:
        failures += run(case, binary, work)
    total = len(BROKEN) + len(others)
    print("%d passed, %d failed" % (total - failures, failures))
    if failures:
        print("work: %s" % work)
        return 1
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
