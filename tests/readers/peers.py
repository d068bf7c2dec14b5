#!/usr/bin/python3
"""`mailvet discover` against real servers (issue 14): a private Dovecot (imap, pop3) and a
private Postfix (smtp), each started here with its own configuration in a temp dir on free
127.0.0.1 ports and stopped by PID (no root, Dovecot or Postfix: a failure). Prints the capability lines seen before and after login.

Dovecot 2.3 can say what the draft asks of IMAP: `imap_capability = +AUTHSERV` is what the
login process advertises, and a userdb field `imap_capability=+AUTHSERV=<id>` replaces it
for the logged-in session. It has no setting for POP3 CAPA, so POP3 shows no AUTHSERV.
"""
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "daemon"))
import harness  # noqa: E402

MAILVET = os.environ["MAILVET"]
DOVECOT = "/usr/sbin/dovecot"

DOVECOT_CONF = """\
base_dir = {d}/run
state_dir = {d}/state
log_path = {d}/dovecot.log
instance_name = mailvet-test-{imap}
protocols = imap pop3
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain
default_internal_user = {user}
default_internal_group = {group}
default_login_user = {login}
first_valid_uid = 1
mail_location = maildir:~/Maildir
imap_capability = +AUTHSERV
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {d}/passwd
}}
userdb {{
  driver = static
  args = uid={user} gid={group} home={d}/home imap_capability=+AUTHSERV=authserv.example.com
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {imap}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service pop3-login {{
  inet_listener pop3 {{
    address = 127.0.0.1
    port = {pop3}
  }}
  inet_listener pop3s {{
    port = 0
  }}
}}
"""


def expect(cond, what, r):
    print(r[1], end="")
    if not cond:
        print("FAIL: %s (exit %d) %s" % (what, r[0], r[2]))
        sys.exit(1)
    print("ok:", what)


def discover(*args):
    r = subprocess.run([MAILVET, "discover"] + list(args), capture_output=True, timeout=60)
    return r.returncode, r.stdout.decode(), r.stderr.decode()


class Dovecot:
    def __init__(self, d):
        if os.geteuid() != 0:
            harness.cannot_run("needs root to run a private Dovecot with its login users")
        if not os.access(DOVECOT, os.X_OK):
            harness.cannot_run("Dovecot is not installed (scripts/install-deps --test)")
        self.d = d
        self.ports = {"imap": harness.free_port(), "pop3": harness.free_port()}
        os.chmod(d, 0o755)
        for sub in ("run", "state", "home/Maildir/cur", "home/Maildir/new", "home/Maildir/tmp"):
            os.makedirs(os.path.join(d, sub), exist_ok=True)
        pw = pwd.getpwnam("dovecot")
        for root, dirs, _ in os.walk(os.path.join(d, "home")):
            os.chown(root, pw.pw_uid, pw.pw_gid)
        with open(os.path.join(d, "passwd"), "w") as f:
            f.write("alice:{PLAIN}s3cret::::::\n")
        with open(os.path.join(d, "pw"), "w") as f:
            f.write("s3cret\n")
        self.conf = os.path.join(d, "dovecot.conf")
        with open(self.conf, "w") as f:
            f.write(DOVECOT_CONF.format(d=d, user="dovecot", group="dovecot", login="dovenull",
                                        **self.ports))

    def start(self):
        # The master forks into the background: no pipe of ours may stay open in it.
        subprocess.run([DOVECOT, "-c", self.conf], check=True, stdin=subprocess.DEVNULL,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        pidfile = os.path.join(self.d, "run", "master.pid")
        for _ in range(100):
            if os.path.exists(pidfile) and os.path.getsize(pidfile) > 0:
                break
            time.sleep(0.1)
        with open(pidfile) as f:
            self.pid = int(f.read())
        for p in self.ports.values():
            harness.wait_port(p)
        return self

    def stop(self):
        try:
            os.kill(self.pid, 15)
            for _ in range(50):
                os.kill(self.pid, 0)
                time.sleep(0.1)
        except (OSError, AttributeError):
            pass


def dovecot_case(name, d):
    dc = Dovecot(d)
    try:
        dc.start()
    except Exception:
        dc.stop()
        raise
    login = ["--user", "alice", "--password-file", os.path.join(d, "pw")]
    try:
        if name == "imap":
            url = "imap://127.0.0.1:%d" % dc.ports["imap"]
            r = discover(url)
            expect(r[0] == 0 and "authserv-id: (not revealed" in r[1]
                   and " AUTHSERV " in r[1].split("\n")[0] + " ", "Dovecot IMAP before login", r)
            r = discover(*login, url)
            expect(r[0] == 0 and "authserv-id: authserv.example.com\n" in r[1]
                   and "note:" not in r[1], "Dovecot IMAP after login: the draft's values", r)
            r = discover("--user", "alice", "--password-file", "/dev/null", url)
            expect(r[0] == 7, "a wrong password is exit 7", r)
        else:
            url = "pop3://127.0.0.1:%d" % dc.ports["pop3"]
            r = discover(*login, url)
            expect(r[0] == 1 and "authserv: not advertised\n" in r[1],
                   "Dovecot POP3 cannot advertise AUTHSERV: exit 1", r)
    finally:
        dc.stop()


def postfix_case(d):
    if os.geteuid() != 0:
        harness.cannot_run("needs root to run a private Postfix instance")
    import postfix_test
    postfix_test.preflight()
    pf = postfix_test.Postfix(d, harness.free_port()).start()
    try:
        r = discover("smtp://127.0.0.1:%d" % pf.ports["smtpd_plain"])
        expect(r[0] == 1 and "authserv: not advertised\n" in r[1] and "ehlo: 250-" in r[1],
               "Postfix has no AUTHSERV: exit 1", r)
    finally:
        pf.stop()


def main():
    d = tempfile.mkdtemp(prefix="mv-peers-")
    try:
        if sys.argv[1] == "postfix":
            postfix_case(d)
        else:
            dovecot_case(sys.argv[1], d)
    finally:
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    main()
