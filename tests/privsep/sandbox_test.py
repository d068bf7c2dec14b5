#!/usr/bin/python3
"""Issue 17, privilege separation: the worker's seccomp filter, a user of its
own for the key process, and a worker that dies in the middle of a message.

usage: sandbox_test.py CASE MAILVETD   (CASE: worker_seccomp, users, worker_crash);
MAILVET in the environment is the CLI. Runs as root (users creates two system
users and removes them; worker_crash runs a private Postfix).
"""
import os
import pwd
import shutil
import signal
import smtplib
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "daemon"))
import harness  # noqa: E402
import case_main  # noqa: E402
from harness import AUTHSERV_ID, DATA  # noqa: E402
import postfix_test  # noqa: E402
import privsep_test as pt  # noqa: E402

WORKER_USER = "mvtest-worker"
KEY_USER = "mvtest-keyd"


def status_field(pid, name):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith(name + ":"):
                    return line.split(":", 1)[1].split()
    except FileNotFoundError:
        return None  # gone
    raise AssertionError("no %s in /proc/%d/status" % (name, pid))


def wait_new_worker(d, old, timeout=20):
    end = time.time() + timeout
    while time.time() < end:
        pids = d.worker_pids()
        if len(pids) == 1 and pids[0] != old and harness.has_own_filter(pids[0], d.proc.pid):
            return pids[0]
        time.sleep(0.1)
    raise AssertionError("no new worker after %d died" % old)


def start(d):
    try:
        d.start()
    except Exception as e:  # a test that cannot start its server fails
        raise AssertionError("cannot start mailvetd: %s\n%s" % (e, d.log_text()[-4000:]))
    return d.serving_worker()


# ------------------------------------------------------------ worker_seccomp

def worker_seccomp(work):
    """The running worker has its filter (Seccomp: 2) and still does its work:
    a message is judged and signed through the key process; after a reload too."""
    d = harness.Mailvetd(work)
    w = start(d)
    try:
        assert status_field(w, "Seccomp") == ["2"], status_field(w, "Seccomp")
        # the supervisor has its own (a denylist: it starts processes), the worker one more
        assert status_field(d.proc.pid, "Seccomp") == ["2"]
        assert harness.seccomp_filters(d.proc.pid) == 1
        assert harness.has_own_filter(w, d.proc.pid), status_field(w, "Seccomp_filters")
        pt.assert_signed_and_verifies(d, "seccomp-1")
        d.reload()
        pt.assert_signed_and_verifies(d, "seccomp-2")
        assert d.worker_pid() == w, "the worker died under its filter"
        assert "no system-call filter" not in d.log_text()
    finally:
        rc = harness.stop_checked(d)
    assert rc == 0, "mailvetd exit status"


# ------------------------------------------------------------------ users

def add_user(name):
    subprocess.run(["userdel", name], capture_output=True)
    subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin",
                    "--user-group", name], check=True)
    return pwd.getpwnam(name)


def del_user(name):
    subprocess.run(["userdel", name], capture_output=True)
    subprocess.run(["groupdel", name], capture_output=True)


def users(work):
    """Started as root with [milter] user A and [privsep] key_user B: the
    supervisor stays root, the worker runs as A, the key process as B; the
    key files (0600, B's) cannot be opened as A; signing works."""
    a = add_user(WORKER_USER)
    b = add_user(KEY_USER)
    d = None
    try:
        os.chmod(work, 0o755)
        keys = os.path.join(work, "keys")
        os.mkdir(keys, 0o755)
        for k in ("rsa1.pem", "ed1.pem"):
            p = os.path.join(keys, k)
            shutil.copy(os.path.join(DATA, k), p)
            os.chown(p, b.pw_uid, b.pw_gid)
            os.chmod(p, 0o600)
        d = harness.Mailvetd(work, extra="[milter]\nuser = %s\n[privsep]\nkey_user = %s\n"
                             "[domain sign.example]\nkey = rsa1 %s\nkey = ed1 %s\n"
                             % (WORKER_USER, KEY_USER, os.path.join(keys, "rsa1.pem"),
                                os.path.join(keys, "ed1.pem")))
        # extra's keys are added to the base's [domain]: keep only ours
        with open(d.conf) as f:
            text = f.read()
        text = "\n".join(l for l in text.split("\n")
                         if not (l.startswith("key = ") and DATA in l)) + "\n"
        with open(d.conf, "w") as f:
            f.write(text)
        os.chmod(d.conf, 0o644)
        # a key the key user cannot read fails the check (and the start), naming it
        rsa = os.path.join(keys, "rsa1.pem")
        os.chown(rsa, 0, 0)
        r = subprocess.run([d.binary, "-n", "-c", d.conf], capture_output=True, text=True)
        assert r.returncode != 0 and "key_user " + KEY_USER in r.stderr, (r.returncode, r.stderr)
        os.chown(rsa, b.pw_uid, b.pw_gid)
        r = subprocess.run([d.binary, "-n", "-c", d.conf], capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        w = start(d)
        k = d.keyd_pid()
        assert k is not None, "no key process"
        assert status_field(d.proc.pid, "Uid")[:2] == ["0", "0"], status_field(d.proc.pid, "Uid")
        assert status_field(w, "Uid") == [str(a.pw_uid)] * 4, status_field(w, "Uid")
        assert status_field(w, "Gid") == [str(a.pw_gid)] * 4, status_field(w, "Gid")
        assert status_field(k, "Uid") == [str(b.pw_uid)] * 4, status_field(k, "Uid")
        assert status_field(w, "Groups") == [str(a.pw_gid)], status_field(w, "Groups")
        ps = subprocess.run(["ps", "-o", "user:32=,comm=", "-p", "%d,%d" % (w, k)],
                            capture_output=True, text=True).stdout
        assert WORKER_USER in ps and KEY_USER in ps, ps
        for key in ("rsa1.pem", "ed1.pem"):
            p = os.path.join(keys, key)
            st = os.stat(p)
            assert st.st_uid == b.pw_uid and (st.st_mode & 0o777) == 0o600, oct(st.st_mode)
            # as the worker's uid and gid (read from its status), the file does not open
            r = subprocess.run(["setpriv", "--reuid", str(a.pw_uid), "--regid", str(a.pw_gid),
                                "--clear-groups", "cat", p], capture_output=True, text=True)
            assert r.returncode != 0 and "Permission denied" in r.stderr, (r.returncode, r.stderr)
            # ... and as the key process's it does (the test can fail)
            r = subprocess.run(["setpriv", "--reuid", str(b.pw_uid), "--regid", str(b.pw_gid),
                                "--clear-groups", "cat", p], capture_output=True, text=True)
            assert r.returncode == 0 and "PRIVATE KEY" in r.stdout, r.stderr
        pt.assert_signed_and_verifies(d, "users-1")
        # a restarted worker is again A's, a restarted key process again B's
        os.kill(w, signal.SIGKILL)
        os.kill(k, signal.SIGKILL)
        w2 = wait_new_worker(d, w)
        k2 = pt.wait_new_keyd(d, k)
        end = time.time() + 20  # the new key process drops first thing: wait for it
        while not harness.has_own_filter(k2, d.proc.pid) and time.time() < end:
            time.sleep(0.1)
        assert status_field(w2, "Uid") == [str(a.pw_uid)] * 4
        assert status_field(k2, "Uid") == [str(b.pw_uid)] * 4
        pt.assert_signed_and_verifies(d, "users-2")
    finally:
        rc = harness.stop_checked(d) if d else 0
        del_user(WORKER_USER)
        del_user(KEY_USER)
    assert rc == 0, "mailvetd exit status"


# ------------------------------------------------------------ worker_crash

def smtp_until_mid_body(port, subject):
    """A client that sent DATA and part of the body: the open connection."""
    s = smtplib.SMTP("127.0.0.1", port, timeout=60)
    s.ehlo("client.test")
    assert s.mail("alice@good.example")[0] == 250
    assert s.rcpt("bob@dest.example")[0] == 250
    code, _ = s.docmd("DATA")
    assert code == 354, code
    s.send(("From: Alice <alice@good.example>\r\nTo: bob@dest.example\r\nSubject: %s\r\n"
            "Message-ID: <%d@good.example>\r\n\r\nfirst half of the body\r\n" % (subject, time.time())).encode())
    return s


def finish_body(s):
    """The rest and the final dot: the reply code, or None when the connection closed."""
    try:
        s.send(b"second half of the body\r\n.\r\n")
        code, text = s.getreply()
    except (smtplib.SMTPServerDisconnected, OSError):
        return None, b""
    try:
        s.quit()
    except (smtplib.SMTPServerDisconnected, OSError):
        pass
    return code, text


def send_whole(port, subject):
    s = smtplib.SMTP("127.0.0.1", port, timeout=60)
    s.ehlo("client.test")
    msg = ("From: Alice <alice@good.example>\r\nTo: bob@dest.example\r\nSubject: %s\r\n"
           "Message-ID: <again-%d@good.example>\r\n\r\nthe whole body\r\n" % (subject, time.time()))
    s.sendmail("alice@good.example", ["bob@dest.example"], msg)
    s.quit()


def count_subject(pf, subject):
    n = 0
    for _, m in pf.delivered():
        for name, v in postfix_test.header_fields(m):
            if name.lower() == "subject" and v.strip() == subject:
                n += 1
    return n


def killed_mid_message(d, pf, port, subject):
    """Kill the worker (SIGSYS, as the filter does) while a client is in DATA;
    the client must not see a 250; the message sent again arrives once."""
    w = d.worker_pid()
    s = smtp_until_mid_body(port, subject)
    time.sleep(0.3)
    os.kill(w, signal.SIGSYS)
    assert d.wait_log("worker %d killed by signal %d" % (w, signal.SIGSYS), 10), d.log_text()[-3000:]
    code, text = finish_body(s)
    print("port %d: the client saw %s %r" % (port, code if code else "the connection closed", text))
    assert code is None or 400 <= code < 500, (code, text)
    w2 = wait_new_worker(d, w)
    time.sleep(1)  # let a message that was wrongly accepted arrive
    assert count_subject(pf, subject) == 0, "delivered although the client got no 250"
    send_whole(port, subject)
    assert pf.wait_delivered(pf.seen + 1, 60) >= pf.seen + 1
    time.sleep(1)
    assert count_subject(pf, subject) == 1, count_subject(pf, subject)
    pf.seen += 1
    return w2, code


def worker_crash(work):
    """Postfix with mailvetd as its milter (milter_default_action = tempfail),
    then mailvetd's own SMTP listener relaying to smtp-sink."""
    postfix_test.preflight()
    os.chmod(work, 0o755)
    listen = harness.free_port()
    d = harness.Mailvetd(work, extra="[log]\ndebug = no\n")
    pf = postfix_test.Postfix(work, d.port)
    pf.seen = 0
    d.write_config("[log]\ndebug = no\n[listener mx]\nlisten = 127.0.0.1:%d\nnext_hop = "
                   "inet:127.0.0.1:%d\n" % (listen, pf.ports["sink"]))
    try:
        start(d)
        pf.start()
        harness.wait_port(listen, d.proc)
        subject = "crash milter %d" % time.time()
        _, code = killed_mid_message(d, pf, pf.ports["smtpd_milter"], subject)
        assert code is not None and 400 <= code < 500, code  # Postfix answers: a tempfail
        for _, m in pf.delivered():
            fields = postfix_test.header_fields(m)
            if any(n.lower() == "subject" and v.strip() == subject for n, v in fields):
                ar = [v for n, v in fields if n.lower() == "authentication-results"]
                assert ar and ar[0].strip().startswith(AUTHSERV_ID), fields
        subject = "crash listener %d" % time.time()
        killed_mid_message(d, pf, listen, subject)
        for _, m in pf.delivered():
            fields = postfix_test.header_fields(m)
            if any(n.lower() == "subject" and v.strip() == subject for n, v in fields):
                ar = [v for n, v in fields if n.lower() == "authentication-results"]
                assert ar and ar[0].strip().startswith(AUTHSERV_ID), fields
    finally:
        pf.stop()
        rc = harness.stop_checked(d)
    assert rc == 0, "mailvetd exit status"


# --------------------------------------------------------------- auth_user

AUTH_USER = "mvtest-authd"
AUTH_WORKER_USER = "mvtest-aworker"  # not privsep.users' own: the two may run at once


def auth_user(work):
    """[privsep] auth_user C: the auth process runs as C and reads the
    password file (C's, 0600), which the worker (user A) cannot open; AUTH
    through it works, and a restarted auth process is C's again."""
    import authd_test
    a = add_user(AUTH_WORKER_USER)
    c = add_user(AUTH_USER)
    t = None
    try:
        os.chmod(work, 0o755)
        t = authd_test.Setup(work)
        os.chown(t.passwd, c.pw_uid, c.pw_gid)
        os.chmod(t.passwd, 0o600)
        key = os.path.join(work, "srv.key")  # the TLS key: the key process's (user A here)
        os.chown(key, a.pw_uid, a.pw_gid)
        with open(t.d.conf) as f:
            text = f.read()
        assert "\nuser =\n" in text, text[:200]
        text = text.replace("\nuser =\n", "\nuser = %s\n" % AUTH_WORKER_USER, 1)
        text += "[privsep]\nauth_user = %s\n" % AUTH_USER
        with open(t.d.conf, "w") as f:
            f.write(text)
        os.chmod(t.d.conf, 0o644)
        w = start(t.d)
        p = t.d.auth_pid()
        assert p is not None, "no auth process"
        assert status_field(p, "Uid") == [str(c.pw_uid)] * 4, status_field(p, "Uid")
        assert status_field(w, "Uid") == [str(a.pw_uid)] * 4, status_field(w, "Uid")
        code, text = t.auth("alice", authd_test.USERS["alice"])
        assert code == 235, (code, text)
        code, text = t.auth("alice", "wrong")
        assert code == 535, (code, text)
        r = subprocess.run(["setpriv", "--reuid", str(a.pw_uid), "--regid", str(a.pw_gid),
                            "--clear-groups", "cat", t.passwd], capture_output=True, text=True)
        assert r.returncode != 0 and "Permission denied" in r.stderr, (r.returncode, r.stderr)
        r = subprocess.run(["setpriv", "--reuid", str(c.pw_uid), "--regid", str(c.pw_gid),
                            "--clear-groups", "cat", t.passwd], capture_output=True, text=True)
        assert r.returncode == 0 and "alice:" in r.stdout, r.stderr
        os.kill(p, signal.SIGKILL)
        end = time.time() + 20
        p2 = None
        while time.time() < end:
            p2 = t.d.auth_pid()
            if p2 and p2 != p and harness.has_own_filter(p2, t.d.proc.pid):
                break
            time.sleep(0.1)
        assert p2 and p2 != p, "no new auth process"
        assert status_field(p2, "Uid") == [str(c.pw_uid)] * 4, status_field(p2, "Uid")
        code, text = t.auth("bob", authd_test.USERS["bob"])
        assert code == 235, (code, text)
    finally:
        rc = harness.stop_checked(t.d) if t else 0
        del_user(AUTH_WORKER_USER)
        del_user(AUTH_USER)
    assert rc == 0, "mailvetd exit status"


CASES = {f.__name__: f for f in (worker_seccomp, users, auth_user, worker_crash)}


def main():
    case = case_main.pick(CASES, __doc__)
    if case is None:
        return 2
    work = harness.tempdir("mailvetd-sandbox-")  # each case starts the mailvetd it needs
    try:
        failures = harness.run_cases([case], work)
    except SystemExit as e:  # postfix_test.preflight: no Postfix is a failure here
        print("FAIL %s: cannot run (%s)" % (case.__name__, e))
        return 1
    return harness.finish(work, failures, 0, None, "work dir")


if __name__ == "__main__":
    sys.exit(main())
