#!/usr/bin/python3
"""The IMAP and POP3 capability proxies end to end: imaplib/poplib -> mailvetd -> Dovecot.

Usage: proxy_test.py MAILVETD GROUP [CASE...]
GROUP: imap, pop3 (capabilities, STARTTLS, implicit TLS, big messages),
imap-hostile, pop3-hostile (a scripted server here, hostile clients),
imap-discover, pop3-discover (mailvet discover against the proxy and Dovecot), load
(200 concurrent IMAP sessions), native (Dovecot's own settings, no proxy),
imap-splice (literal bodies moved by splice(2): a scripted server, slow clients).

Needs root and Dovecot (dovecot-imapd, dovecot-pop3d): without them the test
FAILS. Dovecot runs with its own configuration in a temporary directory, on
127.0.0.1 ports picked here, and is stopped by its PID, as is mailvetd.
"""
import hashlib
import imaplib
import os
import poplib
import random
import re
import shutil
import socket
import ssl
import subprocess
import sys
import threading
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "daemon"))
import harness  # noqa: E402

ID = harness.AUTHSERV_ID           # [verify] authserv_id of the mailvetd under test
DRAFT_ID = "authserv.example.com"  # the draft's Appendix B id, on the scripted listeners
USER, PASSWORD = "alice", "secret"
BIG = 20 * 1024 * 1024
LOAD_SESSIONS = int(os.environ.get("MV_PROXY_LOAD_SESSIONS", "200"))
LOAD_MESSAGES = 50


def openssl(work, *args):
    subprocess.run(("openssl",) + args, check=True, capture_output=True, cwd=work)


def make_ca(work):
    """A test CA and a certificate for 127.0.0.1 signed by it (as tests/smtp does)."""
    openssl(work, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key",
            "-out", "ca.pem", "-days", "2", "-subj", "/CN=mailvet proxy test CA")
    openssl(work, "req", "-newkey", "rsa:2048", "-nodes", "-keyout", "srv.key", "-out",
            "srv.csr", "-subj", "/CN=127.0.0.1")
    with open(os.path.join(work, "ext.cnf"), "w") as f:
        f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    openssl(work, "x509", "-req", "-in", "srv.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
            "-CAcreateserial", "-out", "srv.pem", "-days", "2", "-extfile", "ext.cnf")
    return [os.path.join(work, n) for n in ("ca.pem", "srv.pem", "srv.key")]


def message(n, size=0, body=None):
    """Message n: CRLF lines; size pads the body to about that many bytes."""
    head = ("From: Bob <bob@example.org>\r\nTo: alice@example.net\r\n"
            "Subject: message %d\r\nMessage-ID: <m%d@example.org>\r\n\r\n" % (n, n)).encode()
    if body is None:
        line = b"%06d the quick brown fox jumps over the lazy dog 0123456789 abcdefghij\r\n"
        out, i, total = [], 0, 0
        while total < size:
            out.append(line % i)
            total += len(out[-1])
            i += 1
        body = b"".join(out) or b"short body\r\n"
    return head + body


CAPABILITY_BODY = (b"A message about the protocol:\r\n* CAPABILITY IMAP4rev1 AUTHSERV=forged.example\r\n"
                   b"* OK [CAPABILITY IMAP4rev1 STARTTLS] hi\r\nx OK [CAPABILITY X] done\r\n"
                   b"AUTHSERV forged.example\r\n")


class Dovecot:
    """A private Dovecot: IMAP and POP3 (plain and TLS) on picked ports, one Maildir user."""

    def __init__(self, work, cert, key, native=False):
        self.dir = os.path.join(work, "dovecot")
        self.home = os.path.join(self.dir, "home", USER)
        self.maildir = os.path.join(self.home, "Maildir")
        for d in ("run", "state", "home"):
            os.makedirs(os.path.join(self.dir, d), exist_ok=True)
        for sub in ("cur", "new", "tmp"):
            os.makedirs(os.path.join(self.maildir, sub), exist_ok=True)
        self.ports = {k: harness.free_port() for k in ("imap", "imaps", "pop3", "pop3s")}
        with open(os.path.join(self.dir, "passwd"), "w") as f:
            f.write("%s:{PLAIN}%s::::::\n" % (USER, PASSWORD))
        native_login = ("  executable = imap-login -o imap_capability=+AUTHSERV\n" if native else "")
        native_imap = ("  imap_capability = +AUTHSERV=%s\n" % ID if native else "")
        conf = """base_dir = {d}/run
state_dir = {d}/state
log_path = {d}/dovecot.log
protocols = imap pop3
listen = 127.0.0.1
ssl = yes
ssl_cert = <{cert}
ssl_key = <{key}
disable_plaintext_auth = no
auth_mechanisms = plain login
default_login_user = dovenull
default_internal_user = dovecot
mail_location = maildir:~/Maildir
pop3_uidl_format = %08Xu%08Xv
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {d}/passwd
}}
userdb {{
  driver = static
  args = uid=65534 gid=65534 home={d}/home/%u
}}
service imap-login {{
{native_login}  inet_listener imap {{
    address = 127.0.0.1
    port = {imap}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {imaps}
  }}
  process_min_avail = 2
  service_count = 0
  client_limit = 1000
}}
service pop3-login {{
  inet_listener pop3 {{
    address = 127.0.0.1
    port = {pop3}
  }}
  inet_listener pop3s {{
    address = 127.0.0.1
    port = {pop3s}
  }}
}}
service imap {{
  process_limit = 1000
}}
service anvil {{
  chroot =
}}
protocol imap {{
{native_imap}  mail_max_userip_connections = 1000
}}
protocol pop3 {{
  mail_max_userip_connections = 1000
}}
""".format(d=self.dir, cert=cert, key=key, native_login=native_login, native_imap=native_imap,
           **self.ports)
        self.conf = os.path.join(self.dir, "dovecot.conf")
        with open(self.conf, "w") as f:
            f.write(conf)
        self.proc = None

    def add(self, name, data):
        with open(os.path.join(self.maildir, "cur", name + ":2,S"), "wb") as f:
            f.write(data)

    def start(self):
        subprocess.run(["chown", "-R", "65534:65534", os.path.join(self.dir, "home")], check=True)
        self.out = open(os.path.join(self.dir, "dovecot.out"), "ab")
        self.proc = harness.track(subprocess.Popen(["dovecot", "-F", "-c", self.conf],
                                                   stdout=self.out, stderr=self.out))
        for p in self.ports.values():
            harness.wait_port(p, self.proc)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc:
            harness.untrack(self.proc)
        self.proc = None


class Scripted(threading.Thread):
    """A server that says what a test tells it: serve(conn) runs per connection."""

    def __init__(self, serve):
        super().__init__(daemon=True)
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.serve = serve

    def run(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self.safe, args=(c,), daemon=True).start()

    def safe(self, c):
        try:
            self.serve(c)
        except (OSError, EOFError):
            pass  # the client went away
        finally:
            c.close()


class Lines:
    """Read CRLF lines from a socket."""

    def __init__(self, sock):
        self.sock, self.buf = sock, b""

    def line(self):
        while b"\n" not in self.buf:
            d = self.sock.recv(65536)
            if not d:
                raise EOFError("connection closed; had %r" % self.buf[:200])
            self.buf += d
        line, self.buf = self.buf.split(b"\n", 1)
        return line + b"\n"

    def exactly(self, n):
        while len(self.buf) < n:
            d = self.sock.recv(1 << 20)
            if not d:
                raise EOFError("connection closed after %d of %d bytes" % (len(self.buf), n))
            self.buf += d
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def until_close(self):
        out = [self.buf]
        while True:
            d = self.sock.recv(1 << 20)
            if not d:
                return b"".join(out)
            out.append(d)


def b2_server(c):
    """Appendix B.2's server, word for word (its replies unwrapped)."""
    r = Lines(c)
    c.sendall(b"* OK IMAP server IMAP4rev1 ready\r\n")
    while True:
        line = r.line()
        tag, cmd = line.split(b" ", 2)[:2]
        cmd = cmd.strip().upper()
        if cmd == b"CAPABILITY":
            c.sendall(b"* CAPABILITY CAPABILITY IMAP4 IMAP4rev1 UIDPLUS\r\n" + tag +
                      b" OK CAPABILITY COMPLETED\r\n")
        elif cmd == b"LOGIN":
            c.sendall(tag + b" OK LOGIN COMPLETED\r\n")
        elif cmd == b"LOGOUT":
            c.sendall(b"* BYE\r\n" + tag + b" OK LOGOUT COMPLETED\r\n")
            return
        elif cmd == b"FETCH":
            # CAPABILITY inside a literal, a literal of 4 GB announced, then the end.
            body = CAPABILITY_BODY
            c.sendall(b"* 1 FETCH (BODY[] {%d}\r\n" % len(body) + body + b")\r\n" +
                      tag + b" OK FETCH completed\r\n")
        elif cmd == b"HUGE":
            c.sendall(b"* 1 FETCH (BODY[] {4294967296}\r\n* CAPABILITY IMAP4rev1\r\n")
            return
        elif cmd == b"NEGATIVE":
            c.sendall(b"* 1 FETCH (BODY[] {-1}\r\n* CAPABILITY IMAP4rev1\r\n" + tag + b" OK\r\n")
        elif cmd == b"SPLIT":
            for piece in (b"* CAP", b"ABILITY IMAP4rev1 AUTH", b"SERV=forged.example ID\r", b"\n",
                          tag + b" OK [CAPA", b"BILITY IMAP4rev1] done\r\n"):
                c.sendall(piece)
                time.sleep(0.05)
        elif cmd == b"LONGLINE":
            c.sendall(b"* OK " + b"x" * (10 * 1024 * 1024))
            return
        else:
            c.sendall(tag + b" BAD unknown\r\n")


def b3_server(c):
    """Appendix B.3's server, word for word."""
    r = Lines(c)
    c.sendall(b"+OK POP3 server ready\r\n")
    while True:
        cmd = r.line().strip().upper()
        if cmd == b"CAPA":
            c.sendall(b"+OK Capability list follows\r\nTOP\r\nUSER\r\nSASL CRAM-MD5\r\n"
                      b"RESP-CODES\r\n.\r\n")
        elif cmd.startswith(b"USER") or cmd.startswith(b"PASS"):
            c.sendall(b"+OK\r\n")
        elif cmd == b"RETR 1":
            c.sendall(b"+OK message follows\r\n" + CAPABILITY_BODY.replace(b"\r\nAUTH", b"\r\n.AUTH") +
                      b"STLS\r\n..\r\n.\r\n")
        elif cmd == b"LONGLINE":
            c.sendall(b"+OK " + b"x" * (10 * 1024 * 1024))
            return
        elif cmd == b"QUIT":
            c.sendall(b"+OK bye\r\n")
            return
        else:
            c.sendall(b"-ERR unknown\r\n")


# Literal bodies for the splice(2) path: random bytes with capability text inside (unchanged).
SPLICE_SEED = random.Random(14).randbytes(1 << 20) + CAPABILITY_BODY
SPLICE_SENT = {}  # tag -> bytes of its literal the scripted server has sent so far
SPLICE_TAIL = b")\r\n* CAPABILITY IMAP4rev1 AUTHSERV=forged.example\r\n"


def splice_chunks(n, steps=(1 << 20,)):
    """The n bytes of the literal of size n, in pieces of the sizes in steps (cycled)."""
    off, left, i = n % 4093, n, 0
    while left:
        take = min(steps[i % len(steps)], left, len(SPLICE_SEED) - off)
        yield SPLICE_SEED[off:off + take]
        off, left, i = (off + take) % len(SPLICE_SEED), left - take, i + 1


def splice_body(n):
    return b"".join(splice_chunks(n))


def splice_server(c):
    """LIT n: a FETCH reply with a literal of n bytes; ODD n: the same cut in odd TCP segments."""
    c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    r = Lines(c)
    c.sendall(b"* OK splice test server ready\r\n")
    while True:
        parts = r.line().split()
        tag, cmd = parts[0], parts[1].upper()
        if cmd == b"LOGOUT":
            c.sendall(b"* BYE\r\n" + tag + b" OK bye\r\n")
            return
        if cmd not in (b"LIT", b"ODD"):
            c.sendall(tag + b" BAD unknown\r\n")
            continue
        n, odd = int(parts[2]), cmd == b"ODD"
        head = b"* 1 FETCH (BODY[] {%d}\r\n" % n
        tail = SPLICE_TAIL + tag + b" OK FETCH done\r\n"
        SPLICE_SENT[tag] = 0
        if not odd:
            c.sendall(head)
            for piece in splice_chunks(n):
                c.sendall(piece)
                SPLICE_SENT[tag] += len(piece)
            c.sendall(tail)
            continue
        # The announcement cut inside "{n}" and its CRLF, the body in pieces of
        # 1, 7, ... bytes, its last piece and the next lines in one segment.
        for piece in (head[:7], head[7:-5], head[-5:-2], head[-2:-1], head[-1:]):
            c.sendall(piece)
            time.sleep(0.02)
        pieces = list(splice_chunks(n, (1, 7, 4096, 65537, 3, 262145, 1000, 131071)))
        for piece in pieces[:-1]:
            c.sendall(piece)
            time.sleep(0.002)
        c.sendall((pieces[-1] if pieces else b"") + tail)


# ---------------------------------------------------------------- helpers

def imap_caps_line(client):
    typ, data = client.capability()
    assert typ == "OK", (typ, data)
    return data[-1].decode()


def show(label, before, after):
    print("    %s before login: %s" % (label, before))
    print("    %s after login:  %s" % (label, after))


def imap_client(t, listener, starttls=False):
    port = t.ports[listener]
    if listener.startswith("imaps"):
        c = imaplib.IMAP4_SSL("127.0.0.1", port, ssl_context=t.ctx, timeout=30)
    else:
        c = imaplib.IMAP4("127.0.0.1", port, timeout=30)
        if starttls:
            c.starttls(ssl_context=t.ctx)
    return c


def imap_before_after(t, listener, starttls=False, expect_starttls=False):
    c = imap_client(t, listener, starttls)
    greeting = c.welcome.decode()
    before = imap_caps_line(c)
    assert before.split()[-1] == "AUTHSERV", before
    assert "AUTHSERV=" not in before, before
    assert "COMPRESS=DEFLATE" not in before
    assert ("STARTTLS" in before.split()) == expect_starttls, before
    assert "[CAPABILITY" not in greeting or greeting.split("]")[0].split()[-1] == "AUTHSERV", greeting
    c.untagged_responses.pop("CAPABILITY", None)
    typ, data = c.login(USER, PASSWORD)
    assert typ == "OK", (typ, data)
    # Dovecot puts its post-login capabilities in the tagged OK: rewritten there too.
    tagged_ok = c.untagged_responses.get("CAPABILITY", [b"(none)"])[-1].decode()
    assert tagged_ok.split()[-1] == "AUTHSERV=" + ID, tagged_ok
    after = imap_caps_line(c)
    assert after.split()[-1] == "AUTHSERV=" + ID, after
    assert after.split().count("AUTHSERV=" + ID) == 1 and " AUTHSERV " not in after + " "
    assert "STARTTLS" not in after.split() and "COMPRESS=DEFLATE" not in after
    show("imap " + listener + (" +STARTTLS" if starttls else ""), before, after)
    print("    [CAPABILITY] of LOGIN's tagged OK: %s" % tagged_ok)
    c.logout()
    return before, after


def pop3_client(t, listener, starttls=False):
    port = t.ports[listener]
    if listener.startswith("pop3s"):
        c = poplib.POP3_SSL("127.0.0.1", port, context=t.ctx, timeout=30)
    else:
        c = poplib.POP3("127.0.0.1", port, timeout=30)
        if starttls:
            c.stls(context=t.ctx)
    return c


def pop3_capa_lines(c):
    resp, lines, _ = c._longcmd("CAPA")
    return [l.decode() for l in lines]


def pop3_before_after(t, listener, starttls=False, expect_stls=False):
    c = pop3_client(t, listener, starttls)
    before = pop3_capa_lines(c)
    assert before[-1] == "AUTHSERV", before
    assert ("STLS" in before) == expect_stls, before
    c.user(USER)
    c.pass_(PASSWORD)
    after = pop3_capa_lines(c)
    assert after[-1] == "AUTHSERV " + ID, after
    assert "STLS" not in after and "AUTHSERV" not in after
    show("pop3 " + listener + (" +STLS" if starttls else ""), " | ".join(before), " | ".join(after))
    c.quit()


# ---------------------------------------------------------------- imap cases

def imap_capabilities_plain(t):
    imap_before_after(t, "imap")


def imap_capabilities_starttls(t):
    c = imaplib.IMAP4("127.0.0.1", t.ports["imap_stls"], timeout=30)
    pre = imap_caps_line(c)
    print("    imap_stls before STARTTLS: %s" % pre)
    assert "STARTTLS" in pre.split() and pre.split()[-1] == "AUTHSERV", pre
    c.logout()
    imap_before_after(t, "imap_stls", starttls=True)


def imap_capabilities_implicit_tls(t):
    imap_before_after(t, "imaps")


def imap_capabilities_upstream_tls(t):
    imap_before_after(t, "imap_up_tls")


def imap_starttls_twice_is_refused(t):
    c = imap_client(t, "imap_stls", starttls=True)
    tag = c._new_tag()
    c.send(tag + b" STARTTLS\r\n")
    line = c.readline()
    print("    second STARTTLS: %r" % line)
    assert line.startswith(tag + b" BAD"), line
    c.logout()


def imap_starttls_not_offered_is_refused(t):
    c = imap_client(t, "imap")
    tag = c._new_tag()
    c.send(tag + b" STARTTLS\r\n")
    line = c.readline()
    assert line.startswith(tag + b" BAD"), line
    c.logout()


def imap_compress_is_refused(t):
    c = imap_client(t, "imap")
    c.login(USER, PASSWORD)
    tag = c._new_tag()
    c.send(tag + b" COMPRESS DEFLATE\r\n")
    line = c.readline()
    assert line.startswith(tag + b" NO"), line
    assert imap_caps_line(c).split()[-1] == "AUTHSERV=" + ID  # the session goes on, uncompressed
    c.logout()


def fetch_all(c, n):
    c.select("INBOX", readonly=True)
    out = []
    for i in range(1, n + 1):
        typ, data = c.fetch(str(i), "(BODY.PEEK[])")
        assert typ == "OK", (typ, data)
        out.append(data[0][1])
    return out


def imap_big_message_is_byte_identical(t):
    """The 20 MB message (uid 1) through the proxy equals the direct fetch, and the body
    with CAPABILITY lines (uid 2) comes through unchanged."""
    direct = imaplib.IMAP4("127.0.0.1", t.dv.ports["imap"], timeout=60)
    direct.login(USER, PASSWORD)
    want = fetch_all(direct, 2)
    direct.logout()
    for listener in ("imap", "imaps"):
        c = imap_client(t, listener)
        c.login(USER, PASSWORD)
        start = time.time()
        got = fetch_all(c, 2)
        c.logout()
        assert len(got[0]) >= BIG and got[0] == want[0], (listener, len(got[0]), len(want[0]))
        assert got[1] == want[1] == t.capability_message, (listener, got[1][:300])
        print("    %s: 20 MB fetched byte-identical in %.2f s" % (listener, time.time() - start))


def imap_idle_passes(t):
    c = imap_client(t, "imap")
    c.login(USER, PASSWORD)
    c.select("INBOX")
    tag = c._new_tag()
    c.send(tag + b" IDLE\r\n")
    cont = c.readline()
    assert cont.startswith(b"+"), cont
    time.sleep(0.3)
    c.send(b"DONE\r\n")
    while True:
        line = c.readline()
        if line.startswith(tag):
            break
    assert line.startswith(tag + b" OK"), line
    assert imap_caps_line(c).split()[-1] == "AUTHSERV=" + ID
    c.logout()


def imap_idle_timeout_closes(t):
    start = time.time()  # before the connection: the proxy's idle timer starts at accept
    s = socket.create_connection(("127.0.0.1", t.ports["imap_idle"]), timeout=20)
    r = Lines(s)
    greeting = r.line()
    assert greeting.startswith(b"* OK"), greeting
    rest = r.until_close()
    took = time.time() - start
    print("    closed after %.1f s idle (timeout_idle = 2)" % took)
    assert 1.5 <= took < 10, took
    assert rest == b"", rest


# ---------------------------------------------------------------- pop3 cases

def pop3_capabilities_plain(t):
    pop3_before_after(t, "pop3")


def pop3_capabilities_stls(t):
    c = poplib.POP3("127.0.0.1", t.ports["pop3_stls"], timeout=30)
    pre = pop3_capa_lines(c)
    print("    pop3_stls before STLS: %s" % " | ".join(pre))
    assert "STLS" in pre and pre[-1] == "AUTHSERV", pre
    c.quit()
    pop3_before_after(t, "pop3_stls", starttls=True)


def pop3_capabilities_implicit_tls(t):
    pop3_before_after(t, "pop3s")


def pop3_stls_twice_is_refused(t):
    c = pop3_client(t, "pop3_stls", starttls=True)
    c._putcmd("STLS")
    line = c._getline()[0]
    print("    second STLS: %r" % line)
    assert line.startswith(b"-ERR"), line
    c.quit()


def pop3_big_message_is_byte_identical(t):
    direct = poplib.POP3("127.0.0.1", t.dv.ports["pop3"], timeout=60)
    direct.user(USER)
    direct.pass_(PASSWORD)
    want = [direct.retr(i)[1] for i in (1, 2)]
    direct.quit()
    for listener in ("pop3", "pop3s"):
        c = pop3_client(t, listener)
        c.user(USER)
        c.pass_(PASSWORD)
        start = time.time()
        got = [c.retr(i)[1] for i in (1, 2)]
        c.quit()
        assert got == want, listener
        assert sum(len(x) + 2 for x in got[0]) >= BIG
        assert b"\r\n".join(got[1]) + b"\r\n" == t.capability_message, got[1]
        print("    %s: 20 MB RETR identical in %.2f s" % (listener, time.time() - start))


# ---------------------------------------------------------------- splice(2) of literal bodies

def session_spliced(t, listener, timeout=10):
    """(server_bytes, spliced_bytes) of the last closed session of listener, from the log."""
    deadline = time.time() + timeout
    while True:
        log = t.d.log_text()
        ids = re.findall(r"id=(\d+) client=\S+ listener=%s\b" % listener, log)
        if ids:
            m = re.search(r"id=%s client=\S+ closed .*server_bytes=(\d+).*spliced_bytes=(\d+)"
                          % ids[-1], log)
            if m:
                return int(m.group(1)), int(m.group(2))
        if time.time() > deadline:
            raise AssertionError("no close line for the last session of %s" % listener)
        time.sleep(0.1)


def splice_expect(r, tag, n):
    head = r.line()
    assert head == b"* 1 FETCH (BODY[] {%d}\r\n" % n, head
    body = r.exactly(n)
    if body != splice_body(n):
        at = next(i for i, (a, b) in enumerate(zip(body, splice_body(n))) if a != b)
        raise AssertionError("literal of %d bytes differs at byte %d" % (n, at))
    tail = r.line() + r.line() + r.line()
    # After the literal the rewriter reads lines again: the CAPABILITY line is rewritten.
    assert tail == b")\r\n* CAPABILITY IMAP4rev1 AUTHSERV\r\n" + tag + b" OK FETCH done\r\n", tail


SPLICE_SIZES = [0, 1, 2, 16383, 16384, 16385, 65535, 65536, 65537, 131072, 262143, 262144,
                262145, 1048577, 5 * 1024 * 1024 + 3]


def imap_splice_literal_sizes(t):
    """Literals of many sizes, one at a time and pipelined: byte-exact, and spliced."""
    s, r = raw(t, "imap_splice")
    r.line()
    for i, n in enumerate(SPLICE_SIZES):
        s.sendall(b"a%d LIT %d\r\n" % (i, n))
        splice_expect(r, b"a%d" % i, n)
    s.sendall(b"".join(b"p%d LIT %d\r\n" % (i, n) for i, n in enumerate(SPLICE_SIZES)))
    for i, n in enumerate(SPLICE_SIZES):
        splice_expect(r, b"p%d" % i, n)
    s.sendall(b"z LOGOUT\r\n")
    assert r.line() + r.line() == b"* BYE\r\nz OK bye\r\n"
    s.close()
    total = 2 * sum(SPLICE_SIZES)
    server, spliced = session_spliced(t, "imap_splice")
    # At most one read of the bufferevent (128 KiB) of each literal goes the old way.
    least = 2 * sum(max(0, n - 128 * 1024 - 64) for n in SPLICE_SIZES)
    print("    %d literal bytes, %d of %d server bytes spliced (at least %d expected)"
          % (total, spliced, server, least))
    assert least <= spliced <= total, (spliced, least, total)


def imap_splice_odd_segments(t):
    """The announcement and the body cut in odd TCP segments, the next lines in the last one."""
    s, r = raw(t, "imap_splice")
    r.line()
    for i, n in enumerate((16385, 65537, 300001, 1)):
        s.sendall(b"o%d ODD %d\r\n" % (i, n))
        splice_expect(r, b"o%d" % i, n)
    s.close()
    server, spliced = session_spliced(t, "imap_splice")
    print("    %d of %d server bytes spliced" % (spliced, server))
    assert spliced > 300001 - 128 * 1024, spliced


def imap_splice_slow_reader(t):
    """A 50 MB literal read slowly: the upstream is held back, the worker's memory stays flat."""
    n, tag = 50 * 1024 * 1024, b"slow"
    worker = t.d.worker_pid()
    before = harness.vm_hwm_kb(worker)
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
    s.settimeout(60)
    s.connect(("127.0.0.1", t.ports["imap_splice"]))
    r = Lines(s)
    r.line()
    s.sendall(tag + b" LIT %d\r\n" % n)
    head = r.line()
    assert head == b"* 1 FETCH (BODY[] {%d}\r\n" % n, head
    want = hashlib.sha256(splice_body(n)).hexdigest()
    h, got = hashlib.sha256(), 0
    first = r.exactly(1 << 20) + r.buf  # and what Lines read beyond it
    r.buf = b""
    h.update(first)
    got += len(first)
    time.sleep(3)  # the client stops reading
    sent = SPLICE_SENT.get(tag, 0)
    print("    client stalled after 1 MB: the server could send %.1f MB of %d" % (sent / 1e6, n // 10**6))
    # What the kernel may hold: the proxy's upstream receive buffer (tcp_rmem's
    # maximum), two send buffers, the pipe; the worker itself holds nothing.
    with open("/proc/sys/net/ipv4/tcp_rmem") as f:
        rmem = int(f.read().split()[2])
    with open("/proc/sys/net/ipv4/tcp_wmem") as f:
        wmem = int(f.read().split()[2])
    bound = (1 << 20) + rmem + 2 * wmem + (2 << 20)
    assert sent < min(bound, n), (sent, bound)
    while got < n:
        d = s.recv(min(65536, n - got))
        if not d:
            raise AssertionError("closed after %d of %d bytes" % (got, n))
        h.update(d)
        got += len(d)
        if got % (8 << 20) < 65536:
            time.sleep(0.2)  # and again, now and then
    assert h.hexdigest() == want, "the 50 MB literal differs"
    assert r.line() + r.line() + r.line() == (b")\r\n* CAPABILITY IMAP4rev1 AUTHSERV\r\n" + tag +
                                              b" OK FETCH done\r\n")
    s.close()
    grew = harness.vm_hwm_kb(worker) - before
    server, spliced = session_spliced(t, "imap_splice")
    print("    worker peak memory grew by %d kB; %d of %d server bytes spliced" % (grew, spliced, server))
    assert grew < 8 * 1024, grew
    assert spliced >= n - 128 * 1024, spliced


def imap_splice_idle_client_times_out(t):
    """A client that stops reading in the middle of a spliced literal is closed after timeout_idle."""
    n = 50 * 1024 * 1024
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
    s.settimeout(60)
    s.connect(("127.0.0.1", t.ports["imap_splice_idle"]))
    r = Lines(s)
    r.line()
    s.sendall(b"i LIT %d\r\n" % n)
    r.line()
    r.exactly(1 << 20)
    start = time.time()
    time.sleep(5)  # timeout_idle is 2 s
    rest = len(r.until_close())
    print("    closed after %.1f s with %.1f MB of %d unread" % (time.time() - start, (n - (1 << 20) - rest) / 1e6, n // 10**6))
    assert (1 << 20) + rest < n, rest
    s.close()
    server, spliced = session_spliced(t, "imap_splice_idle")
    assert spliced > 0, spliced
    assert re.search(r"listener=imap_splice_idle", t.d.log_text())
    t.still_serves("imap")


# ---------------------------------------------------------------- the draft's examples, hostile input

def raw(t, listener):
    s = socket.create_connection(("127.0.0.1", t.ports[listener]), timeout=30)
    return s, Lines(s)


def imap_appendix_b2_exact(t):
    s, r = raw(t, "imap_b2")
    seen = [r.line()]
    s.sendall(b"x CAPABILITY\r\n")
    seen += [r.line(), r.line()]
    s.sendall(b"a LOGIN user secret\r\n")
    seen.append(r.line())
    s.sendall(b"x CAPABILITY\r\n")
    seen += [r.line(), r.line()]
    want = [b"* OK IMAP server IMAP4rev1 ready\r\n",
            b"* CAPABILITY CAPABILITY IMAP4 IMAP4rev1 UIDPLUS AUTHSERV\r\n",
            b"x OK CAPABILITY COMPLETED\r\n",
            b"a OK LOGIN COMPLETED\r\n",
            b"* CAPABILITY CAPABILITY IMAP4 IMAP4rev1 UIDPLUS AUTHSERV=authserv.example.com\r\n",
            b"x OK CAPABILITY COMPLETED\r\n"]
    for line in seen:
        print("    S: %s" % line.decode().rstrip())
    assert seen == want, seen
    s.close()


def pop3_appendix_b3_exact(t):
    s, r = raw(t, "pop3_b3")
    caps = [b"TOP\r\n", b"USER\r\n", b"SASL CRAM-MD5\r\n", b"RESP-CODES\r\n"]
    assert r.line() == b"+OK POP3 server ready\r\n"
    s.sendall(b"CAPA\r\n")
    before = [r.line() for _ in range(7)]
    s.sendall(b"USER u\r\nPASS p\r\n")
    assert [r.line(), r.line()] == [b"+OK\r\n", b"+OK\r\n"]
    s.sendall(b"CAPA\r\n")
    after = [r.line() for _ in range(7)]
    for line in before + after:
        print("    S: %s" % line.decode().rstrip())
    assert before == [b"+OK Capability list follows\r\n"] + caps + [b"AUTHSERV\r\n", b".\r\n"], before
    assert after == [b"+OK Capability list follows\r\n"] + caps + [
        b"AUTHSERV authserv.example.com\r\n", b".\r\n"], after
    s.close()


def imap_capability_inside_a_literal_unchanged(t):
    s, r = raw(t, "imap_b2")
    r.line()
    s.sendall(b"f FETCH 1 BODY[]\r\n")
    head = r.line()
    body = r.exactly(len(CAPABILITY_BODY))
    tail = r.line() + r.line()
    assert head == b"* 1 FETCH (BODY[] {%d}\r\n" % len(CAPABILITY_BODY), head
    assert body == CAPABILITY_BODY, body
    assert tail == b")\r\nf OK FETCH completed\r\n", tail
    s.close()


def imap_capability_split_across_segments(t):
    s, r = raw(t, "imap_b2")
    r.line()
    s.sendall(b"s SPLIT\r\n")
    got = [r.line(), r.line()]
    print("    split reply became: %r" % got)
    assert got == [b"* CAPABILITY IMAP4rev1 ID AUTHSERV\r\n",
                   b"s OK [CAPABILITY IMAP4rev1 AUTHSERV] done\r\n"], got
    s.close()


def imap_server_literal_of_4_gb(t):
    s, r = raw(t, "imap_b2")
    r.line()
    s.sendall(b"h HUGE\r\n")
    got = r.until_close()
    assert got == b"* 1 FETCH (BODY[] {4294967296}\r\n* CAPABILITY IMAP4rev1\r\n", got
    s.close()
    t.still_serves("imap")


def imap_server_negative_literal(t):
    s, r = raw(t, "imap_b2")
    r.line()
    s.sendall(b"n NEGATIVE\r\n")
    got = [r.line(), r.line(), r.line()]
    # {-1} is no literal (RFC 3501 number): the next line is a reply, rewritten as one.
    assert got == [b"* 1 FETCH (BODY[] {-1}\r\n", b"* CAPABILITY IMAP4rev1 AUTHSERV\r\n",
                   b"n OK\r\n"], got
    s.close()


def imap_server_unterminated_10_mb_line(t):
    before = harness.vm_hwm_kb(t.d.worker_pid())
    s, r = raw(t, "imap_b2")
    r.line()
    s.sendall(b"l LONGLINE\r\n")
    got = r.until_close()
    assert got == b"* OK " + b"x" * (10 * 1024 * 1024), len(got)
    s.close()
    grew = harness.vm_hwm_kb(t.d.worker_pid()) - before
    print("    worker peak memory grew by %d kB for a 10 MB line" % grew)
    assert grew < 8 * 1024, grew
    t.still_serves("imap")


def imap_client_literal_of_4_gb_and_negative(t):
    for announce in (b"{4294967296}", b"{-1}", b"{99999999999999999999999}"):
        s, r = raw(t, "imap")
        r.line()
        s.sendall(b"a LOGIN %s %s\r\n" % (USER.encode(), PASSWORD.encode()))
        assert r.line().startswith(b"a OK")
        s.sendall(b"b APPEND INBOX " + announce + b"\r\n")
        reply = r.line()
        print("    APPEND %s: %r" % (announce.decode(), reply[:80]))
        s.close()
    t.still_serves("imap")


def imap_client_unterminated_10_mb_line(t):
    before = harness.vm_hwm_kb(t.d.worker_pid())
    s, r = raw(t, "imap")
    r.line()
    try:
        s.sendall(b"a " + b"x" * (10 * 1024 * 1024))
    except OSError:
        pass  # Dovecot hangs up on a line that long
    s.close()
    grew = harness.vm_hwm_kb(t.d.worker_pid()) - before
    print("    worker peak memory grew by %d kB" % grew)
    assert grew < 8 * 1024, grew
    t.still_serves("imap")


def imap_starttls_with_pipelined_injection(t):
    """Bytes sent after STARTTLS in the clear never reach the server (CVE-2011-0411 style)."""
    s, r = raw(t, "imap_stls")
    r.line()
    s.sendall(b"a STARTTLS\r\nb LOGIN alice secret\r\n")
    assert r.line() == b"a OK Begin TLS negotiation now\r\n"
    tls = t.ctx.wrap_socket(s, server_hostname="127.0.0.1")
    tr = Lines(tls)
    tls.sendall(b"c CAPABILITY\r\n")
    caps = tr.line()
    assert caps.startswith(b"* CAPABILITY") and caps.rstrip().endswith(b" AUTHSERV"), caps
    line = tr.line()
    assert line.startswith(b"c OK"), line  # no reply to b: it never reached Dovecot
    tls.close()


def pop3_hostile(t):
    s, r = raw(t, "pop3_b3")
    r.line()
    s.sendall(b"RETR 1\r\n")
    got = [r.line()]
    while got[-1] != b".\r\n":
        got.append(r.line())
    assert b"".join(got[1:]) == CAPABILITY_BODY.replace(b"\r\nAUTH", b"\r\n.AUTH") + b"STLS\r\n..\r\n.\r\n"
    s.sendall(b"LONGLINE\r\n")
    got = r.until_close()
    assert got == b"+OK " + b"x" * (10 * 1024 * 1024), len(got)
    s.close()
    t.still_serves("pop3")


# ---------------------------------------------------------------- discover

def discover(t, url, *extra):
    pw = os.path.join(t.work, "password")
    with open(pw, "w") as f:
        f.write(PASSWORD + "\n")
    # ctest sets MAILVET; by hand, the CLI beside the daemon's build directory.
    cli = os.environ.get("MAILVET") or os.path.join(
        os.path.dirname(os.path.abspath(harness.mailvetd_path())), "..", "mailvet")
    cmd = [cli, "discover", "--timeout", "20", "--ca", t.ca,
           "--user", USER, "--password-file", pw] + list(extra) + [url]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    print("    $ %s -> %d\n%s" % (" ".join(cmd[1:]), p.returncode,
                                   "".join("      " + l + "\n" for l in p.stdout.splitlines())))
    return p


def discover_finds(t, proto):
    """mailvet discover through the proxy (plain, STARTTLS, implicit TLS) finds AUTHSERV and
    the id; against Dovecot directly it says there is none."""
    for url, extra in (("%s://127.0.0.1:%d" % (proto, t.ports[proto]), ()),
                       ("%s://127.0.0.1:%d" % (proto, t.ports[proto + "_stls"]), ("--starttls",)),
                       ("%ss://127.0.0.1:%d" % (proto, t.ports[proto + "s"]), ())):
        p = discover(t, url, *extra)
        assert p.returncode == 0, p.stderr
        assert "authserv: advertised" in p.stdout and "authserv-id: " + ID in p.stdout, p.stdout
    p = discover(t, "%s://127.0.0.1:%d" % (proto, t.dv.ports[proto]))
    assert p.returncode == 1, (p.returncode, p.stderr)
    assert "authserv: not advertised" in p.stdout, p.stdout


def imap_discover_finds_the_proxy_and_not_dovecot(t):
    discover_finds(t, "imap")


def pop3_discover_finds_the_proxy_and_not_dovecot(t):
    discover_finds(t, "pop3")


# ---------------------------------------------------------------- load

def load(t):
    direct = imaplib.IMAP4("127.0.0.1", t.dv.ports["imap"], timeout=60)
    direct.login(USER, PASSWORD)
    direct.select("INBOX", readonly=True)
    want = []
    for i in range(3, 3 + LOAD_MESSAGES):
        typ, data = direct.fetch(str(i), "(BODY.PEEK[])")
        want.append(data[0][1])
    direct.logout()
    want_digest = hashlib.sha256(b"".join(want)).hexdigest()
    errors, done = [], []
    barrier = threading.Barrier(LOAD_SESSIONS)

    def session(k):
        try:
            c = imaplib.IMAP4("127.0.0.1", t.ports["imap"], timeout=120)
            barrier.wait(timeout=120)  # all sessions open at once
            c.login(USER, PASSWORD)
            c.select("INBOX", readonly=True)
            got = []
            for i in range(3, 3 + LOAD_MESSAGES):
                typ, data = c.fetch(str(i), "(BODY.PEEK[])")
                got.append(data[0][1])
            caps = imap_caps_line(c)
            c.logout()
            if hashlib.sha256(b"".join(got)).hexdigest() != want_digest:
                errors.append("session %d: bytes differ" % k)
            elif caps.split()[-1] != "AUTHSERV=" + ID:
                errors.append("session %d: %s" % (k, caps))
            else:
                done.append(k)
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append("session %d: %r" % (k, e))

    start = time.time()
    threads = [threading.Thread(target=session, args=(k,)) for k in range(LOAD_SESSIONS)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=600)
    took = time.time() - start
    total = sum(len(x) for x in want) * len(done)
    print("    %d sessions x %d messages: %d ok, %d errors, %.1f s, %.1f MB through the proxy"
          % (LOAD_SESSIONS, LOAD_MESSAGES, len(done), len(errors), took, total / 1e6))
    assert not errors, errors[:5]
    assert len(done) == LOAD_SESSIONS


# ---------------------------------------------------------------- Dovecot alone

def dovecot_native_before_and_after_login(t):
    """Dovecot 2.3 can say it itself for IMAP: imap-login started with
    -o imap_capability=+AUTHSERV, and imap_capability = +AUTHSERV=ID for imap."""
    for port, tls in ((t.dv.ports["imap"], False), (t.dv.ports["imaps"], True)):
        c = (imaplib.IMAP4_SSL("127.0.0.1", port, ssl_context=t.ctx, timeout=30) if tls
             else imaplib.IMAP4("127.0.0.1", port, timeout=30))
        greeting = c.welcome.decode()
        before = imap_caps_line(c)
        c.login(USER, PASSWORD)
        after = imap_caps_line(c)
        show("dovecot imap%s" % ("s" if tls else ""), before, after)
        assert "AUTHSERV" in before.split() and "AUTHSERV=" not in before, before
        assert "AUTHSERV" in greeting, greeting
        assert ("AUTHSERV=" + ID) in after.split() and "AUTHSERV" not in after.split(), after
        c.logout()
    p = discover(t, "imap://127.0.0.1:%d" % t.dv.ports["imap"])
    assert p.returncode == 0 and "authserv-id: " + ID in p.stdout, p.stdout
    # POP3 has no such setting in Dovecot 2.3: its CAPA list is fixed.
    c = poplib.POP3("127.0.0.1", t.dv.ports["pop3"], timeout=30)
    caps = pop3_capa_lines(c)
    print("    dovecot pop3 CAPA: %s" % " | ".join(caps))
    assert not any(l.startswith("AUTHSERV") for l in caps), caps
    c.quit()


GROUPS = {
    "imap": [imap_capabilities_plain, imap_capabilities_starttls, imap_capabilities_implicit_tls,
             imap_capabilities_upstream_tls, imap_starttls_twice_is_refused,
             imap_starttls_not_offered_is_refused, imap_compress_is_refused,
             imap_big_message_is_byte_identical, imap_idle_passes, imap_idle_timeout_closes],
    "pop3": [pop3_capabilities_plain, pop3_capabilities_stls, pop3_capabilities_implicit_tls,
             pop3_stls_twice_is_refused, pop3_big_message_is_byte_identical],
    "imap-hostile": [imap_appendix_b2_exact, imap_capability_inside_a_literal_unchanged,
                     imap_capability_split_across_segments, imap_server_literal_of_4_gb,
                     imap_server_negative_literal, imap_server_unterminated_10_mb_line,
                     imap_client_literal_of_4_gb_and_negative, imap_client_unterminated_10_mb_line,
                     imap_starttls_with_pipelined_injection],
    "pop3-hostile": [pop3_appendix_b3_exact, pop3_hostile],
    "imap-discover": [imap_discover_finds_the_proxy_and_not_dovecot],
    "pop3-discover": [pop3_discover_finds_the_proxy_and_not_dovecot],
    "load": [load],
    "imap-splice": [imap_splice_literal_sizes, imap_splice_odd_segments, imap_splice_slow_reader,
                    imap_splice_idle_client_times_out],
    "native": [dovecot_native_before_and_after_login],
}


class Test:
    def still_serves(self, proto):
        """A new session of the proxy still works end to end."""
        if proto == "imap":
            c = imaplib.IMAP4("127.0.0.1", self.ports["imap"], timeout=30)
            c.login(USER, PASSWORD)
            assert imap_caps_line(c).split()[-1] == "AUTHSERV=" + ID
            c.logout()
        else:
            c = poplib.POP3("127.0.0.1", self.ports["pop3"], timeout=30)
            c.user(USER)
            c.pass_(PASSWORD)
            c.quit()


def listeners(t, cert, key):
    dv = t.dv.ports
    up = "upstream = inet:127.0.0.1:%d\n"
    tls = "tls = %s\ntls_cert = " + cert + "\ntls_key = " + key + "\n"
    out = ""
    specs = [("imap", "imap", up % dv["imap"]),
             ("imap_stls", "imap", up % dv["imap"] + tls % "starttls"),
             ("imaps", "imap", up % dv["imap"] + tls % "implicit"),
             ("imap_up_tls", "imap", up % dv["imaps"] + "upstream_tls = yes\n"),
             ("imap_idle", "imap", up % dv["imap"] + "timeout_idle = 2\n"),
             ("pop3", "pop3", up % dv["pop3"]),
             ("pop3_stls", "pop3", up % dv["pop3"] + tls % "starttls"),
             ("pop3s", "pop3", up % dv["pop3"] + tls % "implicit"),
             ("imap_b2", "imap", up % t.b2.port + "authserv_id = %s\n" % DRAFT_ID),
             ("pop3_b3", "pop3", up % t.b3.port + "authserv_id = %s\n" % DRAFT_ID),
             ("imap_splice", "imap", up % t.splice.port),
             ("imap_splice_idle", "imap", up % t.splice.port + "timeout_idle = 2\n")]
    for name, role, extra in specs:
        t.ports[name] = harness.free_port()
        out += "[listener %s]\nrole = %s\nlisten = 127.0.0.1:%d\n%s" % (name, role, t.ports[name], extra)
    return out


def main():
    harness.mailvetd_path()
    group = sys.argv[2] if len(sys.argv) > 2 else "imap"
    only = sys.argv[3:]
    if os.geteuid() != 0 or not shutil.which("dovecot"):
        print("FAIL: needs root and dovecot (dovecot-imapd, dovecot-pop3d)")
        return 1
    work = harness.tempdir("mailvetd-proxy-")
    os.chmod(work, 0o755)
    t = Test()
    t.work = work
    t.ports = {}
    t.ca, cert, key = make_ca(work)
    t.ctx = ssl.create_default_context(cafile=t.ca)
    t.dv = Dovecot(work, cert, key, native=group == "native")
    t.capability_message = message(2, body=CAPABILITY_BODY)
    if group in ("imap", "pop3"):
        t.dv.add("1.big", message(1, BIG))
    else:
        t.dv.add("1.small", message(1, 1000))
    t.dv.add("2.caps", t.capability_message)
    for i in range(3, 3 + LOAD_MESSAGES):
        t.dv.add("%d.msg" % i, message(i, 2000 + 300 * i))
    t.b2, t.b3 = Scripted(b2_server), Scripted(b3_server)
    t.splice = Scripted(splice_server)
    t.b2.start()
    t.b3.start()
    t.splice.start()
    t.d = harness.Mailvetd(work, extra="[log]\ndebug = no\n" + listeners(t, cert, key))
    failures, rc = 0, 0
    try:
        t.dv.start()
        t.d.start()
        for p in t.ports.values():
            harness.wait_port(p, t.d.proc)
        for case in GROUPS[group]:
            if only and case.__name__ not in only:
                continue
            try:
                case(t)
                print("ok   %s" % case.__name__)
            except Exception:
                failures += 1
                print("FAIL %s" % case.__name__)
                traceback.print_exc(file=sys.stdout)
    except Exception:
        failures += 1
        print("FAIL cannot start Dovecot or mailvetd")
        traceback.print_exc(file=sys.stdout)
    finally:
        t.dv.stop()
        rc = t.d.stop()
    if rc != 0:
        failures += 1
        print("FAIL mailvetd exit status %d" % rc)
        print(t.d.log_text()[-6000:])
    if failures:
        print("%d failure(s); logs in %s (mailvetd.log, dovecot/dovecot.log)" % (failures, work))
        return 1
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
