#!/usr/bin/python3
"""`mailvet discover` against tiny scripted SMTP, IMAP and POP3 servers (issue 14).

Each case is one ctest (`scripted.py CASE`): a server thread on a free 127.0.0.1 port
answers one connection as the case says (the draft's Appendix B lines as written,
hostile replies, silence, TLS), and the case checks mailvet's exit status and output.
"""
import os
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time

MAILVET = os.environ["MAILVET"]

B1_EHLO = [b"250-ENHANCEDSTATUSCODES", b"250-PIPELINING", b"250-8BITMIME", b"250-SIZE",
           b"250-DSN", b"250-DELIVERBY", b"250-AUTHSERV=authserver.example.com", b"250 HELP"]
B2_BEFORE = b"* CAPABILITY CAPABILITY IMAP4 IMAP4rev1 UIDPLUS AUTHSERV"
B2_AFTER = b"* CAPABILITY CAPABILITY IMAP4 IMAP4rev1 UIDPLUS AUTHSERV=authserv.example.com"
B3_BEFORE = [b"+OK Capability list follows", b"TOP", b"USER", b"SASL CRAM-MD5", b"RESP-CODES",
             b"AUTHSERV", b"."]
B3_AFTER = B3_BEFORE[:5] + [b"AUTHSERV authserv.example.com", b"."]


class Peer:
    """The server side of one connection: line reads and writes."""

    def __init__(self, sock):
        self.sock = sock
        self.f = sock.makefile("rb")

    def send(self, *lines):
        self.sock.sendall(b"".join(x + b"\r\n" for x in lines))

    def recv(self):
        return self.f.readline().rstrip(b"\r\n")

    def starttls(self, ctx):
        self.sock = ctx.wrap_socket(self.sock, server_side=True)
        self.f = self.sock.makefile("rb")


def serve(handler, tls=None):
    """Listen on a free port, run handler(Peer) for one connection in a thread; the port."""
    lsock = socket.socket()
    lsock.bind(("127.0.0.1", 0))
    lsock.listen(1)

    def run():
        conn, _ = lsock.accept()
        try:
            if tls:
                conn = tls.wrap_socket(conn, server_side=True)
            handler(Peer(conn))
        except (OSError, ssl.SSLError):
            pass
        finally:
            conn.close()
            lsock.close()

    threading.Thread(target=run, daemon=True).start()
    return lsock.getsockname()[1]


def smtp_b1(p):
    p.send(b"220 server.example.com ESMTP; Fri, 10 Oct 2008 13:52:37 -0700 (PDT)")
    if p.recv().startswith(b"EHLO "):
        p.send(*B1_EHLO)
    if p.recv() == b"QUIT":
        p.send(b"221 server.example.com closing connection")


def imap_b2(p):
    p.send(b"* OK IMAP server IMAP4rev1 ready")
    after = False
    while True:
        line = p.recv()
        if not line:
            return
        tag, cmd = line.split(b" ", 1)
        if cmd == b"CAPABILITY":
            p.send(B2_AFTER if after else B2_BEFORE, tag + b" OK CAPABILITY COMPLETED")
        elif cmd.startswith(b"LOGIN "):
            after = cmd == b'LOGIN "alice" "s3cret"'
            p.send(tag + (b" OK LOGIN completed" if after else b" NO [AUTHENTICATIONFAILED] no"))
        elif cmd == b"LOGOUT":
            p.send(b"* BYE", tag + b" OK LOGOUT completed")
            return


def pop3_b3(p):
    p.send(b"+OK POP3 server ready")
    after = False
    while True:
        line = p.recv()
        if line == b"CAPA":
            p.send(*(B3_AFTER if after else B3_BEFORE))
        elif line.startswith(b"USER "):
            p.send(b"+OK")
        elif line.startswith(b"PASS "):
            after = line == b"PASS s3cret"
            p.send(b"+OK logged in" if after else b"-ERR [AUTH] no")
        else:
            p.send(b"+OK bye")
            return


def smtp_plain(p):
    p.send(b"220 mx.example ESMTP")
    if p.recv().startswith(b"EHLO"):
        p.send(b"250-mx.example", b"250-PIPELINING", b"250 8BITMIME")
    p.recv()


def smtp_long_line(p):
    p.sock.sendall(b"220 " + b"x" * (10 << 20) + b"\r\n")


def smtp_endless(p):
    p.send(b"220 mx.example ESMTP")
    p.recv()
    p.sock.sendall(b"250-mx.example\r\n")
    for _ in range(5000):
        p.sock.sendall(b"250-CONTINUED\r\n")


def imap_huge_literal(p):
    p.send(b"* OK ready")
    tag = p.recv().split(b" ")[0]
    p.send(b"* CAPABILITY IMAP4rev1 AUTHSERV", b"* FOO {4294967296}", b"x" * 1000,
           tag + b" OK done")


def silent(p):
    time.sleep(6)


def drip(p):
    for ch in b"220 mx.example ESMTP\r\n" * 10:
        p.sock.sendall(bytes([ch]))
        time.sleep(0.2)


def smtp_starttls_injection(p):
    p.send(b"220 mx.example ESMTP")
    p.recv()
    p.send(b"250-mx.example", b"250 STARTTLS")
    p.recv()
    p.send(b"220 go ahead", b"250 injected")


def mailvet(*args, timeout=30):
    t0 = time.monotonic()
    r = subprocess.run([MAILVET, "discover"] + list(args), capture_output=True, timeout=timeout)
    return r.returncode, r.stdout.decode(), r.stderr.decode(), time.monotonic() - t0


def make_cert(d):
    key, crt = os.path.join(d, "key.pem"), os.path.join(d, "cert.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
                    "-keyout", key, "-out", crt], check=True, capture_output=True)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(crt, key)
    return ctx, crt


def expect(cond, what, result):
    if not cond:
        print("FAIL:", what)
        print("  exit %d, stdout:\n%s  stderr: %s" % (result[0], result[1], result[2]))
        sys.exit(1)
    print("ok:", what)


def case(name):
    d = tempfile.mkdtemp(prefix="mv-readers-")
    pw = os.path.join(d, "pw")
    with open(pw, "w") as f:
        f.write("s3cret\n")
    login = ["--user", "alice", "--password-file", pw]
    url = lambda scheme, h, tls=None: "%s://127.0.0.1:%d" % (scheme, serve(h, tls))  # noqa: E731

    if name == "smtp_appendix_b1":
        r = mailvet(url("smtp", smtp_b1))
        print(r[1], end="")
        expect(r[0] == 0 and "authserv-id: authserver.example.com\n" in r[1]
               and "ehlo: 250-AUTHSERV=authserver.example.com\n" in r[1], "B.1: id from EHLO", r)
    elif name == "imap_appendix_b2":
        r = mailvet(url("imap", imap_b2))
        print(r[1], end="")
        expect(r[0] == 0 and "before login: " + B2_BEFORE.decode() + "\n" in r[1]
               and "authserv-id: (not revealed; log in" in r[1], "B.2 before login", r)
        r = mailvet("--json", *login, url("imap", imap_b2))
        print(r[1], end="")
        expect(r[0] == 0 and '"authserv_id": "authserv.example.com"' in r[1]
               and '"lines": ["%s"]' % B2_AFTER.decode() in r[1]
               and '"notes": []' in r[1], "B.2 after login", r)
        r = mailvet("--user", "bob", "--password-file", pw, url("imap", imap_b2))
        expect(r[0] == 7 and "login refused" in r[2], "a refused LOGIN is exit 7", r)
    elif name == "pop3_appendix_b3":
        r = mailvet(url("pop3", pop3_b3))
        expect(r[0] == 0 and "authserv-id: (not revealed" in r[1], "B.3 before login", r)
        r = mailvet(*login, url("pop3", pop3_b3))
        print(r[1], end="")
        expect(r[0] == 0 and "after login: AUTHSERV authserv.example.com\n" in r[1]
               and "authserv-id: authserv.example.com\n" in r[1], "B.3 after login", r)
    elif name == "smtp_not_advertised":
        r = mailvet(url("smtp", smtp_plain))
        expect(r[0] == 1 and "authserv: not advertised\n" in r[1], "no AUTHSERV is exit 1", r)
    elif name == "smtp_hostile_long_line":
        r = mailvet(url("smtp", smtp_long_line))
        expect(r[0] == 6 and r[2].count("\n") == 1 and "longer than 16384 bytes" in r[2],
               "a 10 MB line is a one-line protocol error", r)
    elif name == "smtp_hostile_endless_reply":
        r = mailvet(url("smtp", smtp_endless))
        expect(r[0] == 6 and "more than 1000 lines" in r[2], "endless continuation lines", r)
    elif name == "imap_hostile_literal":
        r = mailvet(url("imap", imap_huge_literal))
        expect(r[0] == 6 and "literal" in r[2], "a 4 GB literal is refused, not read", r)
    elif name == "smtp_timeout":
        r = mailvet("--timeout", "2", url("smtp", silent))
        expect(r[0] == 4 and "timed out after 2 s" in r[2] and r[3] < 4, "a silent server", r)
        r = mailvet("--timeout", "2", url("smtp", drip))
        expect(r[0] == 4 and r[3] < 4, "a server dripping a byte at a time", r)
    elif name == "smtp_starttls_injection":
        r = mailvet("--starttls", url("smtp", smtp_starttls_injection))
        expect(r[0] == 6 and "data after the server's STARTTLS reply" in r[2],
               "bytes after the STARTTLS reply are refused", r)
    elif name == "smtp_tls":
        ctx, crt = make_cert(d)
        r = mailvet(url("smtps", smtp_b1, ctx))
        expect(r[0] == 5 and "certificate verification failed" in r[2]
               and r[2].count("\n") == 1, "a self-signed certificate fails verification", r)
        r = mailvet("--ca", crt, url("smtps", smtp_b1, ctx))
        expect(r[0] == 0 and "authserver.example.com" in r[1], "--ca trusts it", r)
        r = mailvet("--insecure", url("smtps", smtp_b1, ctx))
        expect(r[0] == 0, "--insecure skips verification", r)
        r = mailvet("--ca", crt, url("smtps", smtp_plain))
        expect(r[0] == 5 and "TLS handshake failed" in r[2], "TLS to a plain server", r)
    elif name == "trust_discover_imap":
        maildir = os.path.join(d, "Maildir")
        for sub in ("cur", "new", "tmp"):
            os.makedirs(os.path.join(maildir, sub))
        for sub, fid in (("cur", "authserv.example.com"), ("new", "AUTHSERV.example.com.")):
            with open(os.path.join(maildir, sub, "1.host:2,"), "w") as f:
                f.write("Authentication-Results: %s; spf=pass smtp.mailfrom=a.example\n"
                        "Received: from a by b; Mon, 1 Jan 2024 00:00:00 +0000\n"
                        "Authentication-Results: authserv.example.com; dkim=pass header.d=a.example\n"
                        "From: x@a.example\n\nbody\n" % fid)
        r = subprocess.run([MAILVET, "trust", "--discover", url("imap", imap_b2)] + login + [maildir],
                           capture_output=True)
        r = (r.returncode, r.stdout.decode(), r.stderr.decode())
        print(r[1], end="")
        expect(r[0] == 0 and r[1].count("trusted: field 1 ") == 2 and
               r[1].count("untrusted: field 3 (authserv.example.com): our authserv-id, but below") == 2,
               "--discover takes the id from IMAP after login; both Maildir messages judged", r)
        r = subprocess.run([MAILVET, "trust", "--discover", url("imap", imap_b2), maildir],
                           capture_output=True)
        expect(r.returncode == 8 and b"no authserv-id revealed" in r.stderr,
               "without --user IMAP reveals no id: exit 8", (r.returncode, "", r.stderr.decode()))
    else:
        sys.exit("unknown case " + name)


if __name__ == "__main__":
    case(sys.argv[1])
