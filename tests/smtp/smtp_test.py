#!/usr/bin/python3
"""The SMTP front end end to end: client -> mailvetd [listener] -> private Postfix -> smtp-sink.

Usage: smtp_test.py MAILVETD [load | CASE...]. Needs root and Postfix (fails
otherwise). Reuses tests/daemon's harness (private mailvetd) and the
Postfix class of postfix_test.py; the next hop is Postfix's smtpd without
milter, with XCLIENT authorized for 127.0.0.0/8. Every process started here
is stopped by its PID.

Listeners of the mailvetd under test:
  mx       in front of Postfix, XCLIENT, the defaults
  small    in front of Postfix: max_message_size 20k, 2 s command timeout
  fragile  in front of a fake next hop (a thread here) that dies mid-DATA
  lmtp     in front of a fake LMTP server (a thread here)
  lb       behind a load balancer (127.0.0.1 sends a PROXY header), in front of Postfix
"""
import os
import signal
import socket
import smtplib
import ssl
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "daemon"))
import harness  # noqa: E402
import postfix_test as pft  # noqa: E402
from harness import AUTHSERV_ID  # noqa: E402

REJECT_TEXT = "5.7.1 mailvet-smtp: the sender's domain forbids this message (DMARC)"
LOAD_MESSAGES = int(os.environ.get("MV_SMTP_LOAD_MESSAGES", "5000"))
LOAD_CONNECTIONS = 50


class NextHopPostfix(pft.Postfix):
    """The milter test's Postfix; its plain smtpd is our next hop, trusting our XCLIENT."""

    def __init__(self, work, milter_port):
        super().__init__(work, milter_port)
        with open(os.path.join(self.etc, "main.cf"), "a") as f:
            f.write("smtpd_authorized_xclient_hosts = 127.0.0.0/8\n"
                    "smtpd_recipient_restrictions = check_recipient_access "
                    "inline:{ { refuse@dest.example = REJECT 5.1.1 no such user here } }\n")


class FakeNextHop(threading.Thread):
    """An SMTP server that accepts everything, then drops the connection after 354."""

    def __init__(self):
        super().__init__(daemon=True)
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]

    def run(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self.serve, args=(c,), daemon=True).start()

    def serve(self, c):
        f = c.makefile("rb")
        c.sendall(b"220 fake ESMTP\r\n")
        in_mail = nodata = False
        for line in f:
            verb = line[:4].upper()
            if verb in (b"EHLO", b"LHLO"):
                c.sendall(b"250-fake\r\n250 8BITMIME\r\n")
            elif verb == b"MAIL":
                c.sendall(b"503 5.5.1 nested MAIL command\r\n" if in_mail else b"250 ok\r\n")
                in_mail, nodata = True, b"nodata@" in line
            elif verb == b"RSET":
                in_mail = False
                c.sendall(b"250 ok\r\n")
            elif verb == b"DATA" and nodata:
                c.sendall(b"554 5.5.1 no data for you\r\n")
            elif verb == b"DATA":
                c.sendall(b"354 go ahead\r\n")
                f.read(10)      # some of the message, then the next hop "dies"
                c.close()
                return
            elif verb == b"QUIT":
                c.sendall(b"221 bye\r\n")
                c.close()
                return
            else:
                c.sendall(b"250 ok\r\n")


class FakeLmtp(FakeNextHop):
    """An LMTP server: after the message one reply per recipient; full@ is over quota."""

    def serve(self, c):
        f = c.makefile("rb")
        c.sendall(b"220 fake LMTP\r\n")
        rcpts = []
        for line in f:
            verb = line[:4].upper()
            if verb == b"LHLO":
                c.sendall(b"250-fake\r\n250 8BITMIME\r\n")
            elif verb == b"RCPT":
                rcpts.append(line)
                c.sendall(b"250 ok\r\n")
            elif verb == b"DATA":
                c.sendall(b"354 go ahead\r\n")
                for body in f:
                    if body == b".\r\n":
                        break
                c.sendall(b"".join(b"452 4.2.2 over quota\r\n" if b"full@" in r
                                   else b"250 2.0.0 delivered\r\n" for r in rcpts))
                rcpts = []
            elif verb == b"QUIT":
                c.sendall(b"221 bye\r\n")
                c.close()
                return
            else:
                if verb == b"RSET":
                    rcpts = []
                c.sendall(b"250 ok\r\n")


class Raw:
    """A plain socket client, for what smtplib will not send."""

    def __init__(self, port, greet=True, source=None):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=30,
                                          source_address=(source, 0) if source else None)
        self.buf = b""
        if greet:
            assert self.reply().startswith("220 "), "no greeting"

    def send(self, data):
        self.s.sendall(data if isinstance(data, bytes) else data.encode())

    def reply(self):
        """One whole reply (all its lines) as text."""
        lines = []
        while True:
            while b"\r\n" not in self.buf:
                chunk = self.s.recv(65536)
                if not chunk:
                    raise EOFError("connection closed; got %r" % lines)
                self.buf += chunk
            line, self.buf = self.buf.split(b"\r\n", 1)
            lines.append(line.decode("utf-8", "replace"))
            if len(line) < 4 or line[3:4] != b"-":
                return "\n".join(lines)

    def cmd(self, line):
        self.send(line + "\r\n")
        return self.reply()

    def close(self):
        self.s.close()


def msg(subject, frm="Alice <alice@good.example>", extra=(), mid=None, body="Test body.\r\n"):
    head = [("From", frm), ("To", "bob@dest.example"), ("Subject", subject)]
    if mid:
        head.append(("Message-ID", mid))
    return "".join("%s: %s\r\n" % h for h in list(extra) + head) + "\r\n" + body


def wait_subject(pf, subject, timeout=20):
    end = time.time() + timeout
    while time.time() < end:
        path, m = pft.find_by_subject(pf, subject)
        if m is not None:
            return m
        time.sleep(0.1)
    return None


def count_subject(pf, needle):
    n = 0
    for path, m in pf.delivered():
        for name, v in pft.header_fields(m):
            if name.lower() == "subject" and needle in v:
                n += 1
    return n


# ---------------------------------------------------------------- cases

def ehlo_shows_authserv(t):
    s = smtplib.SMTP("127.0.0.1", t.ports["mx"], timeout=30)
    code, text = s.ehlo("client.test")
    s.quit()
    lines = text.decode().split("\n")
    assert code == 250, (code, text)
    line = [l for l in lines if l.startswith("AUTHSERV")]
    assert line == ["AUTHSERV=" + AUTHSERV_ID], lines
    for kw in ("PIPELINING", "8BITMIME", "SMTPUTF8", "ENHANCEDSTATUSCODES", "HELP"):
        assert kw in lines, (kw, lines)
    assert "SIZE 10240000" in lines, lines
    assert lines[-1] == "HELP", lines   # Appendix B.1: AUTHSERV=, then HELP last
    print("EHLO: 250-" + line[0])


def delivered_copy_has_our_field_on_top_and_no_forged_one(t):
    subject = "smtp inbound %f" % time.time()
    s = smtplib.SMTP("127.0.0.1", t.ports["mx"], timeout=30)
    s.ehlo("client.test")
    s.sendmail("alice@good.example", ["bob@dest.example"], msg(subject, extra=[
        ("Authentication-Results", "%s; dmarc=pass header.from=good.example" % AUTHSERV_ID),
        ("Authentication-Results", "other.example; spf=pass smtp.mailfrom=good.example")]))
    s.quit()
    m = wait_subject(t.pf, subject)
    assert m is not None, "not delivered"
    fields = pft.header_fields(m)
    # Postfix (the next hop) puts its Received on top; ours is right below it.
    assert fields[0][0] == "Received", fields[:2]
    # XCLIENT: Postfix saw the real client's HELO, not mailvetd's.
    assert "from client.test" in fields[0][1], fields[0]
    assert fields[1][0] == "Authentication-Results", fields[:3]
    assert fields[1][1].strip().startswith(AUTHSERV_ID + ";"), fields[1]
    assert "spf=pass" in fields[1][1] and "dmarc=pass" in fields[1][1], fields[1]
    ars = [v.strip() for n, v in fields if n == "Authentication-Results"]
    assert len(ars) == 2, ars   # the forged one is gone
    assert ars[1].startswith("other.example;"), ars   # another ADMD's is kept


def p_reject_is_refused_at_end_of_data_with_our_text(t):
    subject = "smtp reject %f" % time.time()
    s = smtplib.SMTP("127.0.0.1", t.ports["mx"], timeout=30)
    s.ehlo("client.test")
    try:
        s.sendmail("ceo@reject.example", ["bob@dest.example"],
                   msg(subject, frm="CEO <ceo@reject.example>"))
        raise AssertionError("accepted")
    except smtplib.SMTPDataError as e:
        assert e.smtp_code == 550 and e.smtp_error.decode() == REJECT_TEXT, e
    # The session goes on.
    assert s.noop()[0] == 250
    s.quit()
    time.sleep(0.5)
    assert pft.find_by_subject(t.pf, subject)[1] is None, "a rejected message was delivered"


def next_hop_refusing_one_rcpt_of_three_refuses_exactly_that_one(t):
    subject = "smtp rcpt %f" % time.time()
    s = smtplib.SMTP("127.0.0.1", t.ports["mx"], timeout=30)
    s.ehlo("client.test")
    assert s.mail("alice@good.example")[0] == 250
    codes = [s.rcpt(r) for r in ("bob@dest.example", "refuse@dest.example", "carol@dest.example")]
    assert [c // 100 for c, _ in codes] == [2, 5, 2], codes
    assert b"no such user here" in codes[1][1], codes   # the next hop's own text
    code, text = s.data(msg(subject))
    assert code == 250, (code, text)
    s.quit()
    m = wait_subject(t.pf, subject)
    assert m is not None and count_subject(t.pf, subject) == 1


def next_hop_dying_mid_data_gives_4xx_and_a_retry_is_delivered_once(t):
    subject = "smtp fragile %f" % time.time()
    s = smtplib.SMTP("127.0.0.1", t.ports["fragile"], timeout=30)
    s.ehlo("client.test")
    try:
        s.sendmail("alice@good.example", ["bob@dest.example"], msg(subject))
        raise AssertionError("accepted although the next hop died")
    except smtplib.SMTPDataError as e:
        assert 400 <= e.smtp_code < 500, e
    assert s.noop()[0] == 250
    s.quit()
    # The client retries (here through the healthy listener): delivered once.
    s = smtplib.SMTP("127.0.0.1", t.ports["mx"], timeout=30)
    s.sendmail("alice@good.example", ["bob@dest.example"], msg(subject))
    s.quit()
    assert wait_subject(t.pf, subject) is not None
    time.sleep(0.5)
    assert count_subject(t.pf, subject) == 1


def next_hop_refusing_data_is_reset_for_the_next_transaction(t):
    """The next hop refuses DATA: the client hears it, and its next MAIL is not "nested"."""
    s = smtplib.SMTP("127.0.0.1", t.ports["fragile"], timeout=30)
    s.ehlo("client.test")
    try:
        s.sendmail("nodata@good.example", ["bob@dest.example"], msg("smtp no data"))
        raise AssertionError("accepted")
    except smtplib.SMTPDataError as e:
        assert (e.smtp_code, e.smtp_error) == (554, b"5.5.1 no data for you"), e
    assert s.mail("alice@good.example")[0] == 250
    s.quit()


def commands_out_of_sequence_and_the_small_ones(t):
    r = Raw(t.ports["mx"])
    assert r.cmd("MAIL FROM:<a@good.example>").startswith("503 5.5.1")   # before EHLO
    assert r.cmd("HELO client.test") == "250 mx.test.example"
    assert r.cmd("RCPT TO:<bob@dest.example>").startswith("503 5.5.1")
    assert r.cmd("DATA").startswith("503 5.5.1")
    assert r.cmd("VRFY bob").startswith("252 2.5.0")
    assert r.cmd("HELP").startswith("214 ")
    assert r.cmd("NOOP").startswith("250 2.0.0")
    assert r.cmd("MAIL FROM:<a@good.example> RET=FULL").startswith("555 5.5.4")
    assert r.cmd("MAIL FROM:<a@good.example>").startswith("250")
    assert r.cmd("MAIL FROM:<a@good.example>").startswith("503 5.5.1")  # nested
    assert r.cmd("RCPT TO:<bob@dest.example> NOTIFY=NEVER").startswith("555 5.5.4")
    assert r.cmd("DATA").startswith("554 5.5.1")                          # no recipient
    assert r.cmd("RSET").startswith("250")
    assert r.cmd("STARTTLS now").startswith("501")
    # 8 refused so far; the 20th refused command closes the connection.
    for i in range(12):
        assert r.cmd("BOGUS %d" % i).startswith("500 5.5.2")
    assert r.reply().startswith("421 4.7.0")
    assert r.s.recv(10) == b""


def smuggle(t, name, separator):
    """A message whose body holds separator + a second transaction: never two at the next hop."""
    tag = "%s %f" % (name, time.time())
    r = Raw(t.ports["mx"])
    r.cmd("EHLO client.test")
    assert r.cmd("MAIL FROM:<alice@good.example>").startswith("250")
    assert r.cmd("RCPT TO:<bob@dest.example>").startswith("250")
    assert r.cmd("DATA").startswith("354")
    r.send(("From: Alice <alice@good.example>\r\nSubject: outer %s\r\n\r\nbody\r\n" % tag).encode()
           + separator
           + ("MAIL FROM:<ceo@reject.example>\r\nRCPT TO:<bob@dest.example>\r\nDATA\r\n"
              "From: CEO <ceo@reject.example>\r\nSubject: smuggled %s\r\n\r\nhi\r\n.\r\n" % tag).encode())
    first = r.reply()
    # The rule (docs/internals/smtp.md): a bare CR or LF refuses the whole message.
    assert first.startswith("550 5.6.0"), first
    # The session goes on and is in step: the next command gets its own reply.
    assert r.cmd("NOOP").startswith("250"), "out of step"
    r.cmd("QUIT")
    r.close()
    time.sleep(1.0)
    assert count_subject(t.pf, "smuggled " + tag) == 0, "smuggled message delivered"
    assert count_subject(t.pf, "outer " + tag) == 0
    # The refusal came before the checks, so there is no verdict line: the reason is logged.
    assert t.d.wait_log("refused: bare CR or LF"), t.d.log_text()[-2000:]


def smuggling_lf_dot_lf(t):
    smuggle(t, "lf-dot-lf", b"\n.\n")


def smuggling_cr_dot_cr(t):
    smuggle(t, "cr-dot-cr", b"\r.\r")


def smuggling_lf_dot_crlf(t):
    smuggle(t, "lf-dot-crlf", b"\n.\r\n")


def command_of_513_bytes_gets_500_and_the_session_goes_on(t):
    r = Raw(t.ports["mx"])
    line = "NOOP " + "x" * (513 - 2 - 5)
    assert len(line) + 2 == 513
    assert r.cmd(line).startswith("500 5.5.2"), "no 500"
    assert r.cmd("NOOP").startswith("250")
    # 512 is fine.
    assert r.cmd("NOOP " + "x" * (512 - 2 - 5)).startswith("250")
    # A huge line (100 kB) is dropped, not buffered, and answered once.
    assert r.cmd("NOOP " + "y" * 100000).startswith("500 5.5.2")
    assert r.cmd("NOOP").startswith("250")
    r.cmd("QUIT")


def client_talking_before_the_greeting_is_served_in_order(t):
    r = Raw(t.ports["mx"], greet=False)
    r.send("EHLO early.test\r\nNOOP\r\n")
    assert r.reply().startswith("220 "), "greeting first"
    assert "AUTHSERV=" in r.reply()
    assert r.reply().startswith("250")
    r.cmd("QUIT")


def size_exceeded_is_refused(t):
    r = Raw(t.ports["small"])
    r.cmd("EHLO client.test")
    assert r.cmd("MAIL FROM:<alice@good.example> SIZE=30000").startswith("552 5.3.4")
    # A client that declares nothing and sends too much: refused at the end.
    assert r.cmd("MAIL FROM:<alice@good.example>").startswith("250")
    assert r.cmd("RCPT TO:<bob@dest.example>").startswith("250")
    assert r.cmd("DATA").startswith("354")
    r.send(msg("smtp too big", body="x" * 70 + "\r\n") .replace("\r\n\r\n", "\r\n\r\n" + ("y" * 70 + "\r\n") * 400) + ".\r\n")
    assert r.reply().startswith("552 5.3.4")
    assert r.cmd("NOOP").startswith("250")
    r.cmd("QUIT")
    time.sleep(0.3)
    assert count_subject(t.pf, "smtp too big") == 0


def thousand_recipients_are_taken_and_the_next_is_not(t):
    subject = "smtp 1000 rcpt %f" % time.time()
    r = Raw(t.ports["mx"])
    r.cmd("EHLO client.test")
    assert r.cmd("MAIL FROM:<alice@good.example>").startswith("250")
    # Pipelined (RFC 2920), in groups of 100.
    for g in range(10):
        r.send("".join("RCPT TO:<r%d@dest.example>\r\n" % (g * 100 + i) for i in range(100)))
        for i in range(100):
            rep = r.reply()
            assert rep.startswith("250"), (g * 100 + i, rep)
    assert r.cmd("RCPT TO:<over@dest.example>").startswith("452 4.5.3")
    assert r.cmd("DATA").startswith("354")
    r.send(msg(subject) + ".\r\n")
    assert r.reply().startswith("250")
    r.cmd("QUIT")
    assert wait_subject(t.pf, subject, timeout=60) is not None


def idle_client_is_timed_out_with_421(t):
    t0 = time.time()  # before the connection: the server's idle timer starts at accept
    r = Raw(t.ports["small"])
    rep = r.reply()
    assert rep.startswith("421 4.4.2"), rep
    assert 1.5 < time.time() - t0 < 10
    try:
        assert r.s.recv(10) == b""
    except OSError:
        pass


def swaks_client(t):
    """swaks, as an admin would try the listener by hand."""
    subject = "smtp swaks %f" % time.time()
    r = subprocess.run(["swaks", "--server", "127.0.0.1", "--port", str(t.ports["mx"]),
                        "--from", "alice@good.example", "--to", "bob@dest.example",
                        "--h-From", "Alice <alice@good.example>", "--h-Subject", subject,
                        "--helo", "client.test"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr
    ehlo = [l for l in r.stdout.splitlines() if "AUTHSERV=" in l]
    assert ehlo and ehlo[0].endswith("AUTHSERV=" + AUTHSERV_ID), r.stdout[-2000:]
    m = wait_subject(t.pf, subject)
    assert m is not None, "not delivered"
    ars = [v for n, v in pft.header_fields(m) if n.lower() == "authentication-results"]
    assert ars and ars[0].strip().startswith(AUTHSERV_ID + ";"), ars


def smtp_source_client(t):
    """Postfix's smtp-source: 3 sessions of 4 messages each, all delivered once."""
    before = len(t.pf.delivered())
    r = subprocess.run(["smtp-source", "-s", "3", "-m", "12", "-l", "2000", "-M", "client.test",
                        "-f", "alice@good.example", "-t", "bob@dest.example",
                        "127.0.0.1:%d" % t.ports["mx"]], capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    got = t.pf.wait_delivered(before + 12, timeout=60)
    assert got == before + 12, "delivered %d of 12" % (got - before)


def starttls_with_a_test_ca(t):
    ctx = ssl.create_default_context(cafile=t.ca)
    s = smtplib.SMTP("127.0.0.1", t.ports["mx"], timeout=30)
    s.ehlo("client.test")
    assert s.has_extn("starttls")
    s.starttls(context=ctx)
    assert s.sock.version() in ("TLSv1.2", "TLSv1.3"), s.sock.version()
    subject = "smtp tls %f" % time.time()
    s.ehlo("client.test")
    assert not s.has_extn("starttls")
    s.sendmail("alice@good.example", ["bob@dest.example"], msg(subject))
    s.quit()
    assert wait_subject(t.pf, subject) is not None


def load(t):
    """postfix_test's load run, through our listener: none lost, none duplicated."""
    tag = "load%d" % int(time.time())
    before = len(t.pf.delivered())
    s = smtplib.SMTP("127.0.0.1", t.ports["mx"], timeout=30)
    ehlo = [l for l in s.ehlo("load.test")[1].decode().split("\n") if l.startswith("AUTHSERV")]
    s.quit()
    print("LOAD: EHLO line: 250-%s" % ehlo[0])
    dt, lat, ids, errors = pft.load_run(t.ports["mx"], tag, LOAD_MESSAGES, LOAD_CONNECTIONS)
    assert not errors, errors[:5]
    got = t.pf.wait_delivered(before + LOAD_MESSAGES, timeout=150)
    seen = {}
    for path, m in t.pf.delivered():
        for n, v in pft.header_fields(m):
            if n.lower() == "message-id" and tag in v:
                seen[v.strip()] = seen.get(v.strip(), 0) + 1
    lost = [i for i in ids if i not in seen]
    dup = [i for i in ids if seen.get(i, 0) > 1]
    hwm = harness.vm_hwm_kb(t.d.worker_pid())
    print("LOAD: %d messages over %d connections client -> mailvetd SMTP -> Postfix: "
          "%.1f s, %.0f messages/s; latency p50 %.1f ms, p99 %.1f ms; worker VmHWM %.1f MB"
          % (LOAD_MESSAGES, LOAD_CONNECTIONS, dt, LOAD_MESSAGES / dt, pft.pct(lat, 50) * 1000,
             pft.pct(lat, 99) * 1000, hwm / 1024.0))
    print("LOAD: delivered %d of %d; lost %d, duplicated %d"
          % (len(seen), LOAD_MESSAGES, len(lost), len(dup)))
    assert len(ids) == LOAD_MESSAGES and not lost and not dup, (lost[:5], dup[:5])
    assert got >= before + LOAD_MESSAGES


def idle_connections_memory(t):
    """Memory per idle connection: RSS of the worker before and after 500 idle clients."""
    pid = t.d.worker_pid()

    def rss():
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    base = rss()
    socks = []
    for i in range(500):
        s = socket.create_connection(("127.0.0.1", t.ports["mx"]), timeout=10)
        socks.append(s)
    for s in socks:
        assert s.recv(200).startswith(b"220 ")
    time.sleep(0.5)
    used = rss() - base
    for s in socks:
        s.close()
    print("MEMORY: 500 idle connections: %d kB more RSS, %.1f kB each" % (used, used / 500.0))


def reload_applies_listener_keys_to_new_connections(t):
    """SIGHUP: a changed listener key applies to new connections; the listener keeps serving."""
    conf = open(t.d.conf).read()
    try:
        with open(t.d.conf, "w") as f:
            f.write(conf.replace("[listener mx]\n", "[listener mx]\nauthserv_advertise = bare\n"))
        t.d.hup()
        end = time.time() + 10
        lines = []
        while time.time() < end:
            s = smtplib.SMTP("127.0.0.1", t.ports["mx"], timeout=30)
            lines = s.ehlo("client.test")[1].decode().split("\n")
            s.quit()
            if "AUTHSERV" in lines:
                break
            time.sleep(0.2)
        assert "AUTHSERV" in lines, lines
    finally:
        with open(t.d.conf, "w") as f:
            f.write(conf)
        t.d.hup()
    # The reload is asynchronous (key and auth processes first): ask until it shows.
    end = time.time() + 15
    while True:
        s = smtplib.SMTP("127.0.0.1", t.ports["mx"], timeout=30)
        lines = s.ehlo("client.test")[1].decode().split("\n")
        s.quit()
        if "AUTHSERV=" + AUTHSERV_ID in lines:
            break
        assert time.time() < end, lines
        time.sleep(0.2)


def smtp_listener_without_milter(t):
    """[milter] socket empty: mailvetd runs with its SMTP listener only, and stops cleanly."""
    work = harness.tempdir("mailvetd-smtp-only-")
    port = harness.free_port()
    d = harness.Mailvetd(work, port=port, extra="[milter]\nsocket =\n[listener only]\n"
                         "listen = 127.0.0.1:%d\nnext_hop = inet:127.0.0.1:%d\n"
                         % (port, t.pf.ports["smtpd_plain"]))
    d.start()
    try:
        subject = "smtp only %f" % time.time()
        s = smtplib.SMTP("127.0.0.1", port, timeout=30)
        assert "AUTHSERV=" + AUTHSERV_ID in s.ehlo("client.test")[1].decode().split("\n")
        s.sendmail("alice@good.example", ["bob@dest.example"], msg(subject))
        s.quit()
        assert wait_subject(t.pf, subject) is not None
        assert "listening on 1 SMTP listener(s)" in d.log_text(), d.log_text()[-2000:]
    finally:
        assert harness.stop_checked(d) == 0


def lmtp_next_hop_one_reply_per_recipient(t):
    """LMTP: the client hears the first refusal among the per-recipient replies, else 250."""
    s = smtplib.SMTP("127.0.0.1", t.ports["lmtp"], timeout=30)
    s.ehlo("client.test")
    s.mail("alice@good.example")
    assert s.rcpt("bob@dest.example")[0] == 250
    assert s.rcpt("full@dest.example")[0] == 250
    code, text = s.data(msg("smtp lmtp mixed"))
    assert (code, text) == (452, b"4.2.2 over quota"), (code, text)
    s.mail("alice@good.example")
    assert s.rcpt("bob@dest.example")[0] == 250
    code, text = s.data(msg("smtp lmtp ok"))
    assert (code, text) == (250, b"2.0.0 delivered"), (code, text)
    s.quit()


def proxy(t, header, client):
    """A balancer's PROXY header: the checks, the log and the next hop see the real client."""
    subject = "smtp proxy %s %f" % (client, time.time())
    r = Raw(t.ports["lb"], greet=False)
    r.send(header)
    assert r.reply().startswith("220 "), "no greeting after the PROXY header"
    r.cmd("EHLO client.test")
    assert r.cmd("MAIL FROM:<someone@nodmarc.example>").startswith("250")
    assert r.cmd("RCPT TO:<bob@dest.example>").startswith("250")
    assert r.cmd("DATA").startswith("354")
    r.send(msg(subject, frm="Someone <someone@nodmarc.example>") + ".\r\n")
    rep = r.reply()
    assert rep.startswith("250"), rep
    r.cmd("QUIT")
    m = wait_subject(t.pf, subject)
    assert m is not None, "not delivered"
    received = pft.header_fields(m)[0]
    assert "[%s]" % client in received[1], received   # XCLIENT ADDR from the PROXY header
    assert t.d.wait_log("client=%s " % client), "the log line names another client"


def proxy_v1_from_a_balancer_names_the_client(t):
    proxy(t, b"PROXY TCP4 192.0.2.7 127.0.0.1 40000 25\r\n", "192.0.2.7")


def proxy_v2_from_a_balancer_names_the_client(t):
    # TCP over IPv4 (the test Postfix has inet_protocols = ipv4; IPv6: parse_unit)
    src = socket.inet_pton(socket.AF_INET, "198.51.100.23")
    dst = socket.inet_pton(socket.AF_INET, "127.0.0.1")
    header = (b"\r\n\r\n\x00\r\nQUIT\n" + bytes([0x21, 0x11, 0, 12]) + src + dst
              + (40000).to_bytes(2, "big") + (25).to_bytes(2, "big"))
    proxy(t, header, "198.51.100.23")


def proxy_header_malformed_closes_without_a_word(t):
    r = Raw(t.ports["lb"], greet=False)
    r.send(b"EHLO not-a-proxy-header\r\n")
    assert r.s.recv(100) == b"", "answered without a PROXY header"
    r.close()


def abandoned_connections(t):
    """10,000 connections opened and abandoned (some mid-command, some mid-DATA): still serving."""
    pid = t.d.worker_pid()
    before = harness.vm_hwm_kb(pid)
    t0 = time.time()
    for i in range(10000):
        c = socket.create_connection(("127.0.0.1", t.ports["mx"]), timeout=10)
        if i % 10 == 1:
            c.sendall(b"EHLO half")          # half a command
        elif i % 100 == 2:
            c.sendall(b"EHLO x\r\nMAIL FROM:<a@good.example>\r\nRCPT TO:<bob@dest.example>\r\n"
                      b"DATA\r\nSubject: abandoned\r\n\r\nhalf a bo")
        c.close()
    dt = time.time() - t0
    time.sleep(1)
    s = smtplib.SMTP("127.0.0.1", t.ports["mx"], timeout=30)
    assert s.ehlo("client.test")[0] == 250
    s.quit()
    after = harness.vm_hwm_kb(pid)
    print("ABANDONED: 10,000 connections in %.1f s; worker VmHWM %.1f -> %.1f MB"
          % (dt, before / 1024.0, after / 1024.0))
    assert after - before < 64 * 1024, (before, after)
    assert count_subject(t.pf, "abandoned") == 0


def starttls_certificate_is_reloaded_on_sighup(t):
    def peer_cn():
        ctx = ssl.create_default_context(cafile=t.ca)
        s = smtplib.SMTP("127.0.0.1", t.ports["mx"], timeout=30)
        s.starttls(context=ctx)
        cn = dict(x[0] for x in s.sock.getpeercert()["subject"])["commonName"]
        s.quit()
        return cn
    assert peer_cn() == "first"
    cert, key = make_server_cert(t.work, "srv2", "second")
    os.replace(cert, os.path.join(t.work, "srv.pem"))
    os.replace(key, os.path.join(t.work, "srv.key"))
    t.d.hup()
    end = time.time() + 10
    while time.time() < end and peer_cn() != "second":
        time.sleep(0.2)
    assert peer_cn() == "second"


def drain_reached_the_loop(probe, timeout=15):
    """Wait until the front end's loop drains: a new transaction on probe (an idle
    session) gets 421 4.3.2 (the supervisor tells the worker through a pipe, so
    the loop learns it a while after the signal)."""
    end = time.time() + timeout
    for tries in range(1, 1000000):
        rep = probe.cmd("MAIL FROM:<alice@good.example>")
        if rep.startswith("421 4.3.2"):
            print("    the drain reached the loop: MAIL %d got 421 4.3.2 on a second session" % tries)
            probe.close()
            return
        assert rep.startswith("250"), rep
        assert probe.cmd("RSET").startswith("250")
        assert time.time() < end, "the loop still takes new transactions %d s after SIGTERM" % timeout
        time.sleep(0.1)


def sigterm_lets_the_message_in_flight_finish(t):
    """SIGTERM drains: a message in DATA is finished and relayed, then mailvetd exits 0."""
    work = harness.tempdir("mailvetd-smtp-drain-")
    port = harness.free_port()
    d = harness.Mailvetd(work, port=port, extra="[milter]\nsocket =\n[listener only]\n"
                         "listen = 127.0.0.1:%d\nnext_hop = inet:127.0.0.1:%d\n"
                         % (port, t.pf.ports["smtpd_plain"]))
    d.start()
    subject = "smtp drain %f" % time.time()
    r = Raw(port)
    r.cmd("EHLO client.test")
    assert r.cmd("MAIL FROM:<alice@good.example>").startswith("250")
    assert r.cmd("RCPT TO:<bob@dest.example>").startswith("250")
    assert r.cmd("DATA").startswith("354")
    probe = Raw(port)  # a second session, to see when the drain has reached the loop
    probe.cmd("EHLO client.test")
    text = msg(subject)
    r.send(text[:20])
    d.proc.send_signal(signal.SIGTERM)
    assert d.wait_log("signal 15: draining", timeout=15), "no drain logged after SIGTERM"
    drain_reached_the_loop(probe)
    r.send(text[20:] + ".\r\n")
    rep = r.reply()
    assert rep.startswith("250"), rep
    try:
        rep = r.cmd("MAIL FROM:<alice@good.example>")
        assert rep.startswith("421 4.3.2"), rep
    except (EOFError, OSError):
        pass                    # or the loop had already closed it
    assert d.proc.wait(timeout=30) == 0
    harness.untrack(d.proc)
    d.proc = None
    d.logf.close()
    assert wait_subject(t.pf, subject) is not None


CASES = [ehlo_shows_authserv, swaks_client, smtp_source_client,
         delivered_copy_has_our_field_on_top_and_no_forged_one,
         p_reject_is_refused_at_end_of_data_with_our_text,
         next_hop_refusing_one_rcpt_of_three_refuses_exactly_that_one,
         next_hop_dying_mid_data_gives_4xx_and_a_retry_is_delivered_once,
         next_hop_refusing_data_is_reset_for_the_next_transaction,
         smuggling_lf_dot_lf, smuggling_cr_dot_cr, smuggling_lf_dot_crlf,
         command_of_513_bytes_gets_500_and_the_session_goes_on,
         commands_out_of_sequence_and_the_small_ones,
         client_talking_before_the_greeting_is_served_in_order,
         size_exceeded_is_refused, thousand_recipients_are_taken_and_the_next_is_not,
         idle_client_is_timed_out_with_421, starttls_with_a_test_ca,
         starttls_certificate_is_reloaded_on_sighup,
         reload_applies_listener_keys_to_new_connections, smtp_listener_without_milter,
         sigterm_lets_the_message_in_flight_finish,
         lmtp_next_hop_one_reply_per_recipient, proxy_v1_from_a_balancer_names_the_client,
         proxy_v2_from_a_balancer_names_the_client, proxy_header_malformed_closes_without_a_word,
         abandoned_connections]
LOAD_CASES = [idle_connections_memory, load]


class Test:
    pass


def openssl(work, *args):
    subprocess.run(("openssl",) + args, check=True, capture_output=True, cwd=work)


def make_server_cert(work, name, cn):
    """NAME.pem and NAME.key for 127.0.0.1, signed by the test CA."""
    openssl(work, "req", "-newkey", "rsa:2048", "-nodes", "-keyout", name + ".key", "-out",
            name + ".csr", "-subj", "/CN=" + cn)
    with open(os.path.join(work, "ext.cnf"), "w") as f:
        f.write("subjectAltName=IP:127.0.0.1,DNS:mx.test.example\n")
    openssl(work, "x509", "-req", "-in", name + ".csr", "-CA", "ca.pem", "-CAkey", "ca.key",
            "-CAcreateserial", "-out", name + ".pem", "-days", "2", "-extfile", "ext.cnf")
    return os.path.join(work, name + ".pem"), os.path.join(work, name + ".key")


def make_ca(work):
    """A test CA and a server certificate for 127.0.0.1 signed by it."""
    openssl(work, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key",
            "-out", "ca.pem", "-days", "2", "-subj", "/CN=mailvet test CA")
    cert, key = make_server_cert(work, "srv", "first")
    return os.path.join(work, "ca.pem"), cert, key


def main():
    pft.preflight()
    harness.mailvetd_path()
    # No argument: every case but the load; "load": the load; else the cases named.
    only = sys.argv[2:]
    cases = LOAD_CASES if only == ["load"] else CASES + LOAD_CASES if only else CASES
    work = harness.tempdir("mailvetd-smtp-")
    os.chmod(work, 0o755)
    t = Test()
    t.work = work
    t.ca, cert, key = make_ca(work)
    fake = FakeNextHop()
    fake.start()
    lmtp = FakeLmtp()
    lmtp.start()
    t.ports = {"mx": harness.free_port(), "small": harness.free_port(),
               "fragile": harness.free_port(), "lmtp": harness.free_port(),
               "lb": harness.free_port()}
    # The milter port is only a placeholder for the Postfix class's milter smtpd.
    milter_port = harness.free_port()
    t.pf = NextHopPostfix(work, milter_port)
    listeners = """
[listener mx]
listen = 127.0.0.1:{mx}
next_hop = inet:127.0.0.1:{plain}
xclient = yes
hostname = mx.test.example
tls_cert = {cert}
tls_key = {key}
[listener small]
listen = 127.0.0.1:{small}
next_hop = inet:127.0.0.1:{plain}
xclient = yes
max_message_size = 20k
timeout_command = 2
[listener fragile]
listen = 127.0.0.1:{fragile}
next_hop = inet:127.0.0.1:{fake}
[listener lmtp]
listen = 127.0.0.1:{lmtp}
next_hop = inet:127.0.0.1:{fakelmtp}
next_hop_protocol = lmtp
[listener lb]
listen = 127.0.0.1:{lb}
next_hop = inet:127.0.0.1:{plain}
xclient = yes
proxy_from = 127.0.0.1
""".format(plain=t.pf.ports["smtpd_plain"], fake=fake.port, fakelmtp=lmtp.port, cert=cert, key=key, **t.ports)
    t.d = harness.Mailvetd(work, port=milter_port, extra="[policy]\nreject_text = %s\n[log]\ndebug = no\n"
                           % REJECT_TEXT + listeners)
    try:
        t.d.start()
        for p in t.ports.values():
            harness.wait_port(p, t.d.proc)
        t.pf.start()
        failures = harness.run_cases(cases, t, [] if only == ["load"] else only)
    finally:
        t.pf.stop()
        rc = t.d.stop()
    return harness.finish(work, failures, rc, t.d, "mailvetd.log, postfix.log, sink/")


if __name__ == "__main__":
    sys.exit(main())
