#!/usr/bin/python3
"""Authenticated submission end to end: client -> mailvetd [listener] role submission -> Postfix.

Usage: submission_test.py MAILVETD MAILVET [CASE...]. Needs root, Postfix and Dovecot.
Every process started here is stopped by its PID.

Listeners of the mailvetd under test (one [submission] section, a password file):
  sub      role = submission, STARTTLS (port 587's job)
  subs     role = submission, tls = implicit (port 465's job, RFC 8314)
  mx       role = inbound, auth = yes, local_domains: unauthenticated clients may only
           send to our domains; logged-in users relay (spamops §3.2)
A second mailvetd checks passwords through a private Dovecot's auth socket, and a third
is the milter of a Postfix submission service whose SASL is that Dovecot.
"""
import crypt
import os
import smtplib
import ssl
import subprocess
import sys
import time
import warnings

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "daemon"))
sys.path.insert(0, os.path.join(HERE, "..", "smtp"))
sys.path.insert(0, os.path.join(HERE, "..", "store"))
import harness  # noqa: E402
import json  # noqa: E402
from pgserver import PgServer  # noqa: E402
import postfix_test as pft  # noqa: E402
from smtp_test import NextHopPostfix, Raw, make_ca, wait_subject, count_subject  # noqa: E402

warnings.filterwarnings("ignore", category=DeprecationWarning)

# Each case logs in as its own user, so the per-login limits of one never touch another.
USERS = {
    "alice": "alice-pass-7Qz", "bob": "bob-pass-3Kx", "limit": "limit-pass-9Wt",
    "guess": "guess-pass-2Lp", "relay": "relay-pass-5Rm", "dove": "dove-pass-8Hn",
    "implicit": "implicit-pass-1Vb", "swaks": "swaks-pass-4Ty", "rcpts": "rcpts-pass-6Gu",
    "mil": "mil-pass-0Pq",
}
SENDERS = """\
# login  addresses it may use
alice     alice@sign.example, @team.sign.example
bob       bob@sign.example
limit     limit@sign.example
guess     guess@sign.example
relay     relay@sign.example
dove      dove@sign.example
implicit  implicit@sign.example
swaks     swaks@sign.example
rcpts     rcpts@sign.example
mil       mil@sign.example
"""


GUESSER = "127.0.0.3"  # the password guesser's address


class Test:
    pass


DOVECOT_CONF = """\
base_dir = {d}/run
state_dir = {d}/state
log_path = {d}/dovecot.log
instance_name = mailvet-submission-{port}
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
default_internal_user = dovecot
default_internal_group = dovecot
default_login_user = dovenull
first_valid_uid = 1
passdb {{
  driver = passwd-file
  args = scheme=SHA512-CRYPT username_format=%u {d}/users
}}
userdb {{
  driver = static
  args = uid=dovecot gid=dovecot home={d}/home
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service auth {{
  unix_listener auth-client {{
    mode = 0666
  }}
}}
"""


class DovecotAuth:
    """A private Dovecot whose auth service checks the test's users (SHA512-CRYPT hashes)."""

    def __init__(self, d):
        self.d = d
        os.makedirs(os.path.join(d, "run"), exist_ok=True)
        os.makedirs(os.path.join(d, "state"), exist_ok=True)
        os.makedirs(os.path.join(d, "home"), exist_ok=True)
        os.chmod(d, 0o755)
        self.port = harness.free_port()
        with open(os.path.join(d, "users"), "w") as f:
            for user, pw in USERS.items():
                f.write("%s:%s\n" % (user, crypt.crypt(pw, crypt.mksalt(crypt.METHOD_SHA512))))
        self.conf = os.path.join(d, "dovecot.conf")
        with open(self.conf, "w") as f:
            f.write(DOVECOT_CONF.format(d=d, port=self.port))
        self.socket = os.path.join(d, "run", "auth-client")
        self.pid = None

    def start(self):
        subprocess.run(["/usr/sbin/dovecot", "-c", self.conf], check=True,
                       stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        pidfile = os.path.join(self.d, "run", "master.pid")
        for _ in range(100):
            if os.path.exists(pidfile) and os.path.getsize(pidfile) > 0 and os.path.exists(self.socket):
                break
            time.sleep(0.1)
        with open(pidfile) as f:
            self.pid = int(f.read())
        assert os.path.exists(self.socket), "Dovecot made no auth-client socket"
        return self

    def stop(self):
        if not self.pid:
            return
        try:
            os.kill(self.pid, 15)
            for _ in range(50):
                os.kill(self.pid, 0)
                time.sleep(0.1)
        except OSError:
            pass


class SubmissionPostfix(NextHopPostfix):
    """The next hop, plus a submission smtpd that authenticates through Dovecot and
    has mailvetd as milter (Postfix does SASL, mailvetd sees {auth_authen})."""

    def __init__(self, work, milter_port, dovecot_socket):
        super().__init__(work, milter_port)
        self.ports["submission"] = harness.free_port()
        with open(os.path.join(self.etc, "master.cf"), "a") as f:
            f.write("127.0.0.1:%d inet n - n - - smtpd\n"
                    "  -o smtpd_sasl_auth_enable=yes -o smtpd_sasl_type=dovecot\n"
                    "  -o smtpd_sasl_path=%s\n"
                    "  -o smtpd_tls_auth_only=no\n"
                    "  -o smtpd_client_restrictions=permit_sasl_authenticated,reject\n"
                    "  -o smtpd_relay_restrictions=permit_sasl_authenticated,reject\n"
                    "  -o smtpd_milters=inet:127.0.0.1:%d\n"
                    % (self.ports["submission"], dovecot_socket, milter_port))


def ctx(t):
    return ssl.create_default_context(cafile=t.ca)


def login_session(t, user, port="sub"):
    s = smtplib.SMTP("127.0.0.1", t.ports[port], timeout=60)
    s.ehlo("client.test")
    s.starttls(context=ctx(t))
    s.ehlo("client.test")
    s.login(user, USERS[user])
    return s


def message(subject, frm, mid=None, to="bob@dest.example"):
    mid = mid or "<%s@client.test>" % subject.replace(" ", ".")
    return ("From: %s\r\nTo: %s\r\nSubject: %s\r\nMessage-ID: %s\r\n"
            "Date: Thu, 03 Dec 2026 10:00:00 +0000\r\n\r\nHello.\r\n" % (frm, to, subject, mid))


def trace_lookup(t, store, message_id, timeout=20):
    """mailvet trace --message-id: the records found (the writer batches: wait for it)."""
    end = time.time() + timeout
    while True:
        r = subprocess.run([t.mailvet, "trace", "--store", store, "--message-id", message_id,
                            "--json"], capture_output=True, text=True, timeout=60)
        if r.returncode == 0 or time.time() > end:
            break
        time.sleep(0.3)
    assert r.returncode == 0, "trace exit %d: %s%s" % (r.returncode, r.stdout, r.stderr)
    return [json.loads(line) for line in r.stdout.splitlines() if line.strip()]


def field(m, name):
    return [v for n, v in pft.header_fields(m) if n.lower() == name.lower()]


# ---------------------------------------------------------------- cases

def ehlo_offers_auth_only_after_starttls(t):
    s = smtplib.SMTP("127.0.0.1", t.ports["sub"], timeout=30)
    code, before = s.ehlo("client.test")
    s.starttls(context=ctx(t))
    code, after = s.ehlo("client.test")
    s.quit()
    before, after = before.decode(), after.decode()
    print("     EHLO before STARTTLS:", before.replace("\n", " | "))
    print("     EHLO after STARTTLS: ", after.replace("\n", " | "))
    assert not any(l.startswith("AUTH ") for l in before.split("\n")), before
    assert "AUTH PLAIN LOGIN" in after.split("\n"), after
    assert "AUTHSERV=" + harness.AUTHSERV_ID in after.split("\n"), after


def no_auth_gives_530(t):
    s = smtplib.SMTP("127.0.0.1", t.ports["sub"], timeout=30)
    s.ehlo("client.test")
    s.starttls(context=ctx(t))
    s.ehlo("client.test")
    code, text = s.mail("alice@sign.example")
    s.quit()
    assert (code, text.decode()[:5]) == (530, "5.7.0"), (code, text)


def auth_before_tls_is_refused(t):
    r = Raw(t.ports["sub"])
    r.cmd("EHLO client.test")
    reply = r.cmd("AUTH PLAIN AGFsaWNlAGFsaWNlLXBhc3MtN1F6")
    assert reply.startswith("538 5.7.11"), reply
    assert r.cmd("MAIL FROM:<alice@sign.example>").startswith("530"), "MAIL before AUTH"
    r.cmd("QUIT")
    r.close()


def plain_and_login_mechanisms_and_a_delivered_message(t):
    for mech in ("PLAIN", "LOGIN"):
        subject = "submit %s %f" % (mech, time.time())
        s = smtplib.SMTP("127.0.0.1", t.ports["sub"], timeout=60)
        s.ehlo("client.test")
        s.starttls(context=ctx(t))
        s.ehlo("client.test")
        s.user, s.password = "alice", USERS["alice"]
        code, text = s.auth(mech, getattr(s, "auth_" + mech.lower()),
                            initial_response_ok=(mech == "PLAIN"))
        assert code == 235, (mech, code, text)
        s.sendmail("alice@sign.example", ["bob@dest.example"],
                   message(subject, "Alice <alice@sign.example>"))
        s.quit()
        m = wait_subject(t.pf, subject)
        assert m is not None, "not delivered"
    # The last one: our Received field (RFC 3848 ESMTPSA, a trace id), our A-R with
    # auth=pass smtp.auth=alice, a DKIM signature of sign.example.
    received = field(m, "Received")
    ours = [r for r in received if "(mailvetd)" in r]
    assert len(ours) == 1 and "with ESMTPSA id " in ours[0], received
    assert "alice" not in ours[0], "login in Received without received_login: %r" % ours[0]
    trace = ours[0].split(" id ", 1)[1].split(";", 1)[0].strip()
    print("     Received:", " ".join(ours[0].split()))
    ars = [a for a in field(m, "Authentication-Results") if harness.AUTHSERV_ID in a]
    assert ars and "auth=pass" in ars[0] and "smtp.auth=alice" in ars[0], ars
    print("     Authentication-Results:", " ".join(ars[0].split()))
    sigs = field(m, "DKIM-Signature")
    assert sigs and any("d=sign.example" in x.replace(" ", "") for x in sigs), sigs
    assert t.d.wait_log("trace_id=" + trace), "trace id not in the log line"
    # A week later, an abuse complaint quotes the Message-ID: who sent it?
    mid = field(m, "Message-ID")[0].strip()
    recs = trace_lookup(t, t.trace_store, mid)
    print("     mailvet trace --message-id %s: %s" % (mid, recs))
    assert len(recs) == 1, recs
    rec = recs[0]
    assert (rec["login"], rec["trace_id"], rec["client_ip"], rec["envelope_from"],
            rec["rcpt_count"], rec["dkim_domain"]) == \
        ("alice", trace, "127.0.0.1", "alice@sign.example", 1, "sign.example"), rec
    assert rec["dkim_selector"] in ("rsa1", "ed1"), rec


def implicit_tls_port(t):
    subject = "submit implicit %f" % time.time()
    s = smtplib.SMTP_SSL("127.0.0.1", t.ports["subs"], timeout=60, context=ctx(t))
    s.ehlo("client.test")
    assert s.sock.version() in ("TLSv1.2", "TLSv1.3")
    assert not s.has_extn("starttls"), "STARTTLS offered under implicit TLS"
    s.login("implicit", USERS["implicit"])
    s.sendmail("implicit@sign.example", ["bob@dest.example"],
               message(subject, "implicit@sign.example"))
    s.quit()
    assert wait_subject(t.pf, subject) is not None


def swaks_auth_plain_over_starttls(t):
    subject = "submit swaks %f" % time.time()
    r = subprocess.run(["swaks", "--server", "127.0.0.1", "--port", str(t.ports["sub"]),
                        "--tls", "--tls-ca-path", t.ca, "--auth", "PLAIN",
                        "--auth-user", "swaks", "--auth-password", USERS["swaks"],
                        "--from", "swaks@sign.example", "--to", "bob@dest.example",
                        "--h-From", "swaks@sign.example", "--h-Subject", subject,
                        "--helo", "client.test"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr
    assert "235 2.7.0" in r.stdout, r.stdout[-2000:]
    assert wait_subject(t.pf, subject) is not None


def wrong_password_535_then_the_failure_limit(t):
    # [submission] auth_failures = 3 in auth_failure_window = 12 s. From 127.0.0.3: the
    # limit is per client address, and the other cases' failures came from 127.0.0.1.
    t0 = time.time()
    first_535 = None  # when the first 535 arrived: its failure was counted before
    for i in range(3):
        s = smtplib.SMTP("127.0.0.1", t.ports["sub"], timeout=60, source_address=(GUESSER, 0))
        s.ehlo("client.test")
        s.starttls(context=ctx(t))
        s.ehlo("client.test")
        s.user, s.password = "guess", "wrong-%d" % i
        try:  # one mechanism: smtplib's login() would try the next one after a 535
            s.auth("PLAIN", s.auth_plain)
            raise AssertionError("a wrong password was accepted")
        except smtplib.SMTPAuthenticationError as e:
            assert e.smtp_code == 535 and e.smtp_error.startswith(b"5.7.8"), e
            first_535 = first_535 or time.time()
        if i < 2:
            s.quit()
        else:  # the third failure in the window: 421 and the connection closes
            try:
                code, text = s.noop()
            except smtplib.SMTPServerDisconnected:
                code = 421
            assert code == 421, (code, text)
    took = time.time() - t0
    assert took >= 1 + 2 + 4 - 0.5, "failure replies were not delayed (%.1f s)" % took
    # Blocked now, even with the right password.
    blocked = right_password_login(t)
    assert blocked.startswith("421 4.7.0"), blocked
    lines = [l for l in t.d.log_text().splitlines() if "login=guess failed" in l]
    assert len(lines) == 3 and all("client=" + GUESSER in l for l in lines), lines
    print("     fail2ban line:", lines[0][lines[0].find("event="):])
    # After the window, the right password works. The window (12 s) starts at
    # the first failure's second, rounded down (lib/auth/limiter.c window_roll):
    # after t0 - 1, so it cannot end before t0 + 11; that failure was counted
    # before its 535 was sent, so it has ended by first_535 + 12. Blocked
    # logins are not counted, so trying does not move the window.
    end = first_535 + 12 + 20
    while True:
        rep = right_password_login(t)
        if rep.startswith("235"):
            break
        assert rep.startswith("421 4.7.0"), rep
        assert time.time() < end, "still blocked %.1f s after the first 535" % (time.time() - first_535)
        time.sleep(0.5)
    took = time.time() - t0  # over 11 s but for time()'s coarse clock, a tick behind
    assert took > 10.5, "the block ended %.1f s after the first failure, before its 12 s window" % took
    print("     the right password works again %.1f s after the first 535" % (time.time() - first_535))


def right_password_login(t):
    """AUTH PLAIN with guess's right password from the guesser's address: the reply."""
    r = Raw(t.ports["sub"], source=GUESSER)
    r.cmd("EHLO client.test")
    r.cmd("STARTTLS")
    r.s = ctx(t).wrap_socket(r.s, server_hostname="127.0.0.1")
    r.buf = b""
    r.cmd("EHLO client.test")
    rep = r.cmd("AUTH PLAIN " + plain_b64("guess", USERS["guess"]))
    if rep.startswith("235"):
        r.cmd("QUIT")
    r.close()
    return rep


def plain_b64(user, password, authzid=""):
    import base64
    return base64.b64encode(("%s\0%s\0%s" % (authzid, user, password)).encode()).decode()


def hostile_auth_input(t):
    s = smtplib.SMTP("127.0.0.1", t.ports["sub"], timeout=60)
    s.ehlo("client.test")
    s.starttls(context=ctx(t))
    s.ehlo("client.test")
    cases = [
        ("AUTH PLAIN not*base64", "501 5.5.2"),
        ("AUTH PLAIN " + "A" * 100000, "500 5.5.6"),
        ("AUTH PLAIN " + plain_b64("alice", USERS["alice"], authzid="bob"), "535 5.7.8"),
        ("AUTH PLAIN " + __import__("base64").b64encode(b"\0ali\0ce\0x").decode(), "501"),
        ("AUTH CRAM-MD5", "504 5.5.4"),
    ]
    for line, want in cases:
        s.putcmd(line)
        code, text = s.getreply()
        got = "%d %s" % (code, text.decode())
        assert got.startswith(want), (line[:40], got)
    # "*" cancels an exchange
    s.putcmd("AUTH LOGIN")
    code, text = s.getreply()
    assert code == 334, (code, text)
    s.putcmd("*")
    code, text = s.getreply()
    assert (code, text.decode()[:5]) == (501, "5.0.0"), (code, text)
    # after all that, a login works, and AUTH again is refused
    s.login("bob", USERS["bob"])
    s.putcmd("AUTH PLAIN " + plain_b64("bob", USERS["bob"]))
    code, text = s.getreply()
    assert code == 503, (code, text)
    s.quit()
    assert t.d.proc.poll() is None, "mailvetd died"


def allowed_and_disallowed_senders(t):
    s = login_session(t, "alice")
    # another user's address in the envelope: refused at MAIL
    code, text = s.mail("bob@sign.example")
    assert (code, text.decode()[:5]) == (550, "5.7.1") and b"bob@sign.example" in text, (code, text)
    s.rset()
    # a domain pattern: allowed
    subject = "submit team %f" % time.time()
    s.sendmail("carol@team.sign.example", ["bob@dest.example"],
               message(subject, "Carol <carol@team.sign.example>"))
    assert wait_subject(t.pf, subject) is not None
    # the envelope is allowed, the header From is not: the case Postfix alone lets through
    subject = "submit forged from %f" % time.time()
    try:
        s.sendmail("alice@sign.example", ["bob@dest.example"],
                   message(subject, "The Boss <bob@sign.example>"))
        raise AssertionError("a header From of another user was accepted")
    except smtplib.SMTPDataError as e:
        assert e.smtp_code == 550 and b"5.7.1" in e.smtp_error and b"bob@sign.example" in e.smtp_error, e
    # Sender: is checked too
    subject2 = "submit forged sender %f" % time.time()
    try:
        s.sendmail("alice@sign.example", ["bob@dest.example"],
                   "Sender: bob@sign.example\r\n" + message(subject2, "alice@sign.example"))
        raise AssertionError("a Sender of another user was accepted")
    except smtplib.SMTPDataError as e:
        assert e.smtp_code == 550, e
    s.quit()
    time.sleep(0.5)
    assert count_subject(t.pf, subject) == 0 and count_subject(t.pf, subject2) == 0


RELAY_TRICKS = [
    "user%other.example@dest.example",
    "@relay.example,@dest.example:user@other.example",
    "user@other.example@dest.example",
    '"user@other.example"@dest.example',
    "other.example!user@dest.example",
    "user@[127.0.0.1]",
]


def relay_matrix(t):
    r = Raw(t.ports["mx"])
    r.cmd("EHLO client.test")
    assert r.cmd("MAIL FROM:<someone@far.example>").startswith("250")
    assert r.cmd("RCPT TO:<bob@dest.example>").startswith("250"), "local domain refused"
    reply = r.cmd("RCPT TO:<user@other.example>")
    assert reply.startswith("554 5.7.1") and "Relay access denied" in reply, reply
    for trick in RELAY_TRICKS:
        reply = r.cmd("RCPT TO:<%s>" % trick)
        assert reply[:1] == "5", (trick, reply)
        print("     %-48s %s" % (trick, reply.split("\n")[0]))
    r.cmd("QUIT")
    r.close()


def port25_auth_lets_a_user_relay(t):
    subject = "submit port25 %f" % time.time()
    s = smtplib.SMTP("127.0.0.1", t.ports["mx"], timeout=60)
    s.ehlo("client.test")
    assert not s.has_extn("auth"), "AUTH offered before STARTTLS on port 25"
    s.starttls(context=ctx(t))
    s.ehlo("client.test")
    assert s.has_extn("auth")
    s.login("relay", USERS["relay"])
    s.sendmail("relay@sign.example", ["user@other.example"], message(subject, "relay@sign.example",
                                                                     to="user@other.example"))
    s.quit()
    assert wait_subject(t.pf, subject) is not None


def per_login_limits(t):
    # recipients_per_message = 3
    s = login_session(t, "rcpts")
    s.mail("rcpts@sign.example")
    for i in range(3):
        assert s.rcpt("r%d@dest.example" % i)[0] == 250
    code, text = s.rcpt("r3@dest.example")
    assert (code, text.decode()[:5]) == (452, "4.5.3"), (code, text)
    s.rset()
    s.quit()
    # messages_per_hour = 5
    s = login_session(t, "limit")
    for i in range(5):
        s.sendmail("limit@sign.example", ["bob@dest.example"],
                   message("limit %d %f" % (i, time.time()), "limit@sign.example"))
    code, text = s.mail("limit@sign.example")
    assert (code, text.decode()[:5]) == (421, "4.7.0"), (code, text)


def no_password_in_any_log(t):
    texts = [t.d.log_text()] + t.logs
    for path in (t.pf.log, os.path.join(t.work, "dovecot", "dovecot.log")):
        if os.path.exists(path):
            texts.append(open(path, errors="replace").read())
    for path in (os.path.join(t.work, "trace.db"), os.path.join(t.work, "trace.db-wal")):
        if os.path.exists(path):  # the trace store
            texts.append(open(path, "rb").read().decode("latin-1"))
    blob = "\n".join(texts)
    for user, pw in USERS.items():
        assert pw not in blob, "the password of %s is in a log" % user
        assert plain_b64(user, pw) not in blob, "the PLAIN response of %s is in a log" % user


def dovecot_sasl_back_end(t):
    """A second mailvetd whose [submission] sasl is the private Dovecot's auth socket."""
    port = harness.free_port()
    d2 = os.path.join(t.work, "dovecot-mailvetd")
    os.makedirs(d2, exist_ok=True)
    m = harness.Mailvetd(d2, port=harness.free_port(), extra="""[log]
debug = no
[submission]
sasl = dovecot:{sock}
sender_login_map = {work}/senders
[trace]
store = {pg}
[listener sub]
role = submission
listen = 127.0.0.1:{port}
next_hop = inet:127.0.0.1:{plain}
xclient = yes
tls_cert = {work}/srv.pem
tls_key = {work}/srv.key
""".format(sock=t.dovecot.socket, work=t.work, port=port, plain=t.pf.ports["smtpd_plain"],
           pg=t.pg_store))
    m.start()
    try:
        harness.wait_port(port, m.proc)
        subject = "submit dovecot %f" % time.time()
        s = smtplib.SMTP("127.0.0.1", port, timeout=60)
        s.ehlo("client.test")
        s.starttls(context=ctx(t))
        s.ehlo("client.test")
        try:
            s.login("dove", "not-the-password")
            raise AssertionError("Dovecot back end accepted a wrong password")
        except smtplib.SMTPAuthenticationError as e:
            assert e.smtp_code == 535, e
        s.login("dove", USERS["dove"])
        mid = "<dove.%d@client.test>" % time.time()
        s.sendmail("dove@sign.example", ["bob@dest.example"],
                   message(subject, "dove@sign.example", mid=mid))
        s.quit()
        assert wait_subject(t.pf, subject) is not None
        # The trace record went to PostgreSQL (the store of a site with several nodes).
        recs = trace_lookup(t, t.pg_store, mid)
        print("     mailvet trace (PostgreSQL) --message-id %s: login %s" %
              (mid, [r["login"] for r in recs]))
        assert [r["login"] for r in recs] == ["dove"], recs
        t.logs.append(m.log_text())
    finally:
        assert m.stop() == 0, m.log_text()[-3000:]


def milter_enforces_the_header_from_rule(t):
    """Postfix submission with SASL through Dovecot, mailvetd as its milter."""
    port = t.pf.ports["submission"]
    ok_subject = "milter submit ok %f" % time.time()
    bad_subject = "milter submit forged %f" % time.time()
    s = smtplib.SMTP("127.0.0.1", port, timeout=60)
    s.ehlo("client.test")
    s.login("mil", USERS["mil"])
    s.sendmail("mil@sign.example", ["bob@dest.example"], message(ok_subject, "mil@sign.example"))
    try:
        s.sendmail("mil@sign.example", ["bob@dest.example"],
                   message(bad_subject, "The Boss <bob@sign.example>"))
        raise AssertionError("Postfix + mailvetd milter accepted another user's header From")
    except smtplib.SMTPDataError as e:
        assert e.smtp_code == 550 and b"bob@sign.example" in e.smtp_error, e
    # recipients_per_message = 3 too (Postfix accepted the RCPTs; the message is refused)
    try:
        s.sendmail("mil@sign.example", ["r%d@dest.example" % i for i in range(4)],
                   message("milter rcpts %f" % time.time(), "mil@sign.example"))
        raise AssertionError("a message to 4 recipients was accepted")
    except smtplib.SMTPDataError as e:
        assert e.smtp_code == 452 and b"4.5.3" in e.smtp_error, e
    # messages_per_hour = 5 holds for mail Postfix authenticated too (1 counted so far:
    # the refused one was not)
    for i in range(4):
        s.sendmail("mil@sign.example", ["bob@dest.example"],
                   message("milter limit %d %f" % (i, time.time()), "mil@sign.example"))
    try:
        s.sendmail("mil@sign.example", ["bob@dest.example"],
                   message("milter over %f" % time.time(), "mil@sign.example"))
        raise AssertionError("the sixth message of the hour was accepted")
    except smtplib.SMTPDataError as e:
        assert e.smtp_code == 451 and b"4.7.1" in e.smtp_error, e
    s.quit()
    assert wait_subject(t.pf, ok_subject) is not None
    time.sleep(0.5)
    assert count_subject(t.pf, bad_subject) == 0


CASES = [ehlo_offers_auth_only_after_starttls, no_auth_gives_530, auth_before_tls_is_refused,
         plain_and_login_mechanisms_and_a_delivered_message, implicit_tls_port,
         swaks_auth_plain_over_starttls, hostile_auth_input, allowed_and_disallowed_senders,
         relay_matrix, port25_auth_lets_a_user_relay, per_login_limits,
         dovecot_sasl_back_end, milter_enforces_the_header_from_rule,
         wrong_password_535_then_the_failure_limit]
LAST = [no_password_in_any_log]


def main():
    pft.preflight()
    harness.mailvetd_path()
    only = sys.argv[3:] if len(sys.argv) > 3 else []
    work = harness.tempdir("mailvetd-submission-")
    os.chmod(work, 0o755)
    t = Test()
    t.work = work
    t.mailvet = sys.argv[2]
    t.trace_ids = []
    t.logs = []
    t.dovecot = DovecotAuth(os.path.join(work, "dovecot"))
    t.trace_store = "sqlite:%s/trace.db" % work
    t.ca, cert, key = make_ca(work)
    with open(os.path.join(work, "passwd"), "w") as f:
        for user, pw in USERS.items():
            f.write("%s:%s\n" % (user, crypt.crypt(pw, crypt.mksalt(crypt.METHOD_SHA512))))
    with open(os.path.join(work, "senders"), "w") as f:
        f.write(SENDERS)
    os.chmod(os.path.join(work, "passwd"), 0o644)
    t.ports = {"sub": harness.free_port(), "subs": harness.free_port(), "mx": harness.free_port()}
    milter_port = harness.free_port()
    t.pf = SubmissionPostfix(work, milter_port, t.dovecot.socket)
    conf = """[log]
debug = no
[outbound]
authentication_results = yes
[trace]
store = sqlite:{work}/trace.db
[submission]
sasl = passwd-file:{work}/passwd
sender_login_map = {work}/senders
local_domains = dest.example, far.example
auth_failures = 3
auth_failure_window = 12
messages_per_hour = 5
recipients_per_message = 3
[listener sub]
role = submission
listen = 127.0.0.1:{sub}
next_hop = inet:127.0.0.1:{plain}
xclient = yes
hostname = mx.test.example
tls_cert = {cert}
tls_key = {key}
[listener subs]
role = submission
tls = implicit
listen = 127.0.0.1:{subs}
next_hop = inet:127.0.0.1:{plain}
xclient = yes
tls_cert = {cert}
tls_key = {key}
[listener mx]
listen = 127.0.0.1:{mx}
next_hop = inet:127.0.0.1:{plain}
xclient = yes
auth = yes
tls_cert = {cert}
tls_key = {key}
""".format(work=work, plain=t.pf.ports["smtpd_plain"], cert=cert, key=key, **t.ports)
    t.d = harness.Mailvetd(work, port=milter_port, extra=conf)
    try:
        t.pg = PgServer("mv-submission-pg-")
        t.pg.start()
        t.pg_store = t.pg.createdb("trace")
        t.dovecot.start()
        t.d.start()
        for p in t.ports.values():
            harness.wait_port(p, t.d.proc)
        t.pf.start()
        harness.wait_port(t.pf.ports["submission"], t.pf.master)
        failures = harness.run_cases(CASES + LAST, t, only)
    finally:
        t.pf.stop()
        rc = t.d.stop()
        t.dovecot.stop()
        if getattr(t, "pg", None):
            t.pg.cleanup()
    return harness.finish(work, failures, rc, t.d, "mailvetd.log, postfix.log, sink/, dovecot/")


if __name__ == "__main__":
    sys.exit(main())
