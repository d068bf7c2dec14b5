#!/usr/bin/python3
"""`mailvet report send --relay`: reports delivered by SMTP, marked sent only
after the relay's 250 to the end of DATA, never sent twice (issue 15).

Usage: send_test.py MAILVET. The relay is a small SMTP server in this
process on a free 127.0.0.1 port: it accepts, or refuses at the end of DATA.
Each case is named for what it checks; exits non-zero if any fails.
"""
import email
import email.policy
import gzip
import os
import re
import socket
import subprocess
import sys
import threading

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import cases  # noqa: E402

ZONE = os.path.join(HERE, "reports.zone")
T0 = 1700000000
NOW = T0 + 2 * 86400
RECEIVER = "mx.receiver.example"
SUBJECT = re.compile(r"^Report Domain: (\S+) Submitter: mx\.receiver\.example Report-ID: <([0-9a-f]{32})>$")


class Relay:
    """A one-thread SMTP server: each message as (mail from, rcpt, data);
    refuse = the reply to the end of DATA when not 250."""

    def __init__(self, refuse=None):
        self.refuse = refuse
        self.messages = []
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                try:
                    self.session(conn.makefile("rwb"))
                except (OSError, ValueError):
                    pass

    def session(self, f):
        def say(line):
            f.write(line.encode() + b"\r\n")
            f.flush()
        say("220 relay.test ESMTP")
        sender, rcpt = None, []
        while True:
            line = f.readline()
            if not line:
                return
            cmd = line.decode().strip()
            verb = cmd[:4].upper()
            if verb in ("EHLO", "HELO"):
                say("250-relay.test\r\n250 8BITMIME")
            elif verb == "MAIL":
                sender, rcpt = cmd[10:].strip("<>"), []
                say("250 2.1.0 ok")
            elif verb == "RCPT":
                rcpt.append(cmd[8:].strip("<>"))
                say("250 2.1.5 ok")
            elif verb == "DATA":
                say("354 go on")
                data = b""
                while True:
                    l = f.readline()
                    if not l or l == b".\r\n":
                        break
                    data += l[1:] if l.startswith(b".") else l
                if self.refuse:
                    say(self.refuse)
                else:
                    self.messages.append((sender, rcpt, data))
                    say("250 2.0.0 queued as Q%d" % len(self.messages))
            elif verb == "QUIT":
                say("221 bye")
                return
            else:
                say("500 what")

    def close(self):
        self.sock.close()


def make_store(mailvet, work, extra=()):
    """Records for example.com (two rua destinations) and testing.example."""
    store = "sqlite:%s/rec.db" % work
    for name, ip, domain in [("a", "192.0.2.10", "example.com"), ("b", "198.51.100.7", "example.com"),
                             ("c", "198.51.100.7", "testing.example")] + list(extra):
        path = os.path.join(work, name + ".eml")
        with open(path, "w") as f:
            f.write("From: a@%s\nTo: b@receiver.example\nSubject: hi\nMessage-ID: <%s@x>\n\nbody\n"
                    % (domain, name))
        subprocess.run([mailvet, "verify", "--zone", ZONE, "--now", str(T0), "--authserv-id", RECEIVER,
                        "--no-iprev", "--ip", ip, "--mail-from", "a@" + domain, "--record-to", store, path],
                       capture_output=True, timeout=60)
    return store


def send(mailvet, store, relay_port, *more):
    return subprocess.run([mailvet, "report", "send", store, "--zone", ZONE,
                           "--relay", "127.0.0.1:%d" % relay_port,
                           "--from", "dmarc-reports@receiver.example", "--now", str(NOW),
                           "--receiver", RECEIVER, "--org-name", "Receiver",
                           "--email", "postmaster@receiver.example"] + list(more),
                          capture_output=True, text=True, timeout=120)


def check_message(sender, rcpt, data):
    """One delivered report: headers, Subject, the gzip attachment; returns (domain, to, id)."""
    m = email.message_from_bytes(data, policy=email.policy.default)
    assert sender == "dmarc-reports@receiver.example", sender
    assert len(rcpt) == 1 and m["To"].addresses[0].addr_spec == rcpt[0], (rcpt, m["To"])
    s = SUBJECT.match(str(m["Subject"]))
    assert s, m["Subject"]
    domain, rid = s.group(1), s.group(2)
    parts = [p for p in m.walk() if p.get_content_type() == "application/gzip"]
    assert len(parts) == 1, [p.get_content_type() for p in m.walk()]
    name = parts[0].get_filename()
    begin = T0 - T0 % 86400
    assert name == "%s!%s!%d!%d!%s.xml.gz" % (RECEIVER, domain, begin, begin + 86399, rid), name
    xml = gzip.decompress(parts[0].get_content()).decode()
    assert "<report_id>%s</report_id>" % rid in xml and "<domain>%s</domain>" % domain in xml, xml[:400]
    return domain, rcpt[0], rid


EXPECTED = {("example.com", "dmarc@example.com"), ("example.com", "agg@example.com"),
            ("testing.example", "rua@testing.example")}


def reports_arrive_and_a_second_run_sends_nothing(work, mailvet):
    store = make_store(mailvet, work)
    relay = Relay()
    try:
        out = send(mailvet, store, relay.port)
        assert out.returncode == 0, out
        got = {check_message(*m)[:2] for m in relay.messages}
        assert got == EXPECTED and len(relay.messages) == 3, (got, out)
        # The delivered messages read back with `report import` equal the records.
        files = []
        for i, (_, _, data) in enumerate(relay.messages):
            files.append(os.path.join(work, "got%d.eml" % i))
            with open(files[-1], "wb") as f:
                f.write(data)
        rcv = "sqlite:%s/rcv.db" % work
        subprocess.run([mailvet, "report", "import", rcv] + files, capture_output=True, timeout=60)
        shown = [subprocess.run([mailvet, "report", "show", s, "--json"] + flag, capture_output=True,
                                text=True, timeout=60, check=True).stdout
                 for s, flag in ((store, ["--recorded"]), (rcv, []))]
        assert shown[0] == shown[1] and shown[0].count("\n") == 3, shown
        again = send(mailvet, store, relay.port)
        assert again.returncode == 0 and len(relay.messages) == 3, (again, len(relay.messages))
        assert "0 sent, 0 not sent" in again.stderr, again.stderr
    finally:
        relay.close()


def a_refusing_relay_leaves_the_reports_for_the_next_run(work, mailvet):
    store = make_store(mailvet, work)
    refusing = Relay(refuse="451 4.3.0 try later")
    try:
        out = send(mailvet, store, refusing.port)
        assert out.returncode == 1, out
        assert "0 sent, 3 not sent" in out.stderr and "451 4.3.0 try later" in out.stderr, out.stderr
    finally:
        refusing.close()
    # A relay that is not there at all: nothing sent either.
    down = send(mailvet, store, refusing.port)
    assert down.returncode == 1 and "0 sent, 3 not sent" in down.stderr, down
    relay = Relay()
    try:
        out = send(mailvet, store, relay.port)
        assert out.returncode == 0 and "3 sent, 0 not sent" in out.stderr, out
        assert {check_message(*m)[:2] for m in relay.messages} == EXPECTED
    finally:
        relay.close()


def a_report_id_is_the_same_when_resent(work, mailvet):
    """Two stores holding the same records give the same report_id and file name."""
    ids = []
    for sub in ("one", "two"):
        os.mkdir(os.path.join(work, sub))
        store = make_store(mailvet, os.path.join(work, sub))
        relay = Relay()
        try:
            assert send(mailvet, store, relay.port).returncode == 0
            ids.append(sorted(check_message(*m) for m in relay.messages))
        finally:
            relay.close()
    assert ids[0] == ids[1], ids


def external_destinations_only_when_authorized(work, mailvet):
    """RFC 9990 "Verifying External Destinations", through --zone."""
    store = make_store(mailvet, work, [("d", "192.0.2.10", "ext-ok.example"),
                                       ("e", "192.0.2.10", "ext-no.example"),
                                       ("f", "192.0.2.10", "ext-temp.example"),
                                       ("g", "192.0.2.10", "sub.example.com")])
    relay = Relay()
    try:
        out = send(mailvet, store, relay.port)
        # ext-temp: the authorization lookup timed out, left for the next run.
        assert out.returncode == 1, out
        got = {check_message(*m)[:2] for m in relay.messages}
        assert got == EXPECTED | {("ext-ok.example", "agg@reports.example"),
                                  ("sub.example.com", "dmarc@example.com")}, got
        assert re.search(r"ext-no\.example -> agg@reports\.example skipped: "
                         r"ext-no\.example\._report\._dmarc\.reports\.example TXT: no v=DMARC1", out.stderr), out.stderr
        assert re.search(r"ext-temp\.example -> agg@reports\.example not sent \(next run retries\): "
                         r".*temporary DNS failure", out.stderr), out.stderr
        assert "5 sent, 1 not sent" in out.stderr and "1 external destination(s) not authorized" in out.stderr, out.stderr
        # The next run: nothing new is sent; the unauthorized one is still skipped.
        again = send(mailvet, store, relay.port)
        assert len(relay.messages) == 5 and "0 sent, 1 not sent" in again.stderr, again
    finally:
        relay.close()


CASES = [external_destinations_only_when_authorized, reports_arrive_and_a_second_run_sends_nothing,
         a_refusing_relay_leaves_the_reports_for_the_next_run,
         a_report_id_is_the_same_when_resent]


def main():
    return cases.main(CASES, "mv-send-", "send_test.py MAILVET")


if __name__ == "__main__":
    sys.exit(main())
