#!/usr/bin/python3
"""DMARC failure reports (issue 15): mailvetd spools them, `mailvet report send
--failure-spool` delivers them as ARF (RFC 6591), each once.

Usage: failure_test.py MAILVETD MAILVET. Messages go through a private
mailvetd with the milter client (tests/daemon/milterproto.py, RCPT included);
reports go to the SMTP relay of send_test.py, run in this process.
"""
import glob
import os
import re
import smtplib
import sqlite3
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "daemon"))
import harness  # noqa: E402
import cases  # noqa: E402
from milterproto import MilterClient, SMFIP_NORCPT  # noqa: E402
from send_test import Relay  # noqa: E402

ZONE = os.path.join(HERE, "failure.zone")
GOOD_IP, BAD_IP = "192.0.2.10", "198.51.100.7"
BODY = b"Hello,\r\n\r\nthe secret body.\r\n"


def send(port, ip, domain, n, rcpt="bob@dest.example"):
    """One message from alice@domain to rcpt; returns the milter's final answer."""
    c = MilterClient("127.0.0.1", port)
    c.negotiate()
    assert not (c.skip & SMFIP_NORCPT), "mailvetd must ask for RCPT"
    c.connect("[%s]" % ip, ip, macros={"j": "mx.test.example"})
    c.helo("client.example")
    a = c.mail("alice@%s" % domain, macros={"i": "FQ%d" % n}, rcpt=rcpt)
    assert a.final == "continue", a
    for name, value in (("From", " Alice <alice@%s>" % domain), ("To", " Bob <%s>" % rcpt),
                        ("Subject", " fail %d" % n), ("Message-ID", " <m%d@%s>" % (n, domain))):
        c.header(name, value)
    c.eoh()
    c.body(BODY)
    a = c.eom()
    c.quit()
    return a


def daemon(work, rate="3/h", extra=""):
    store = os.path.join(work, "r.db")
    spool = os.path.join(work, "spool")
    os.mkdir(spool)
    conf = ("[dns]\nzone_file = %s\n[reports]\nstore = sqlite:%s\nbatch = 1\n"
            "failure_reports = yes\nfailure_spool = %s\nfailure_rate = %s\n%s"
            % (ZONE, store, spool, rate, extra))
    return harness.Mailvetd(work, extra=conf), "sqlite:" + store, spool


def report_send(mailvet, store, spool, relay_port, *more):
    return subprocess.run([mailvet, "report", "send", store, "--relay",
                           "127.0.0.1:%d" % relay_port, "--failure-spool", spool,
                           "--zone", ZONE, "--receiver", "mx.receiver.example",
                           "--from", "reports@mx.receiver.example"] + list(more),
                          capture_output=True, text=True, timeout=60)


def feedback_fields(data):
    """The message/feedback-report part's fields as a dict (unfolded)."""
    text = data.decode("utf-8", "replace")
    m = re.search(r"Content-Type: message/feedback-report\r\n.*?\r\n\r\n(.*?)\r\n\r\n--", text, re.S)
    assert m, text
    fields = {}
    for line in re.sub(r"\r\n[ \t]+", " ", m.group(1)).split("\r\n"):
        k, v = line.split(":", 1)
        fields[k] = v.strip()
    return fields


def spool_files(spool):
    return sorted(glob.glob(os.path.join(spool, "*.ruf")))


def failing_messages_are_spooled_redacted_and_rate_limited(work, mailvetd, mailvet):
    d, store, spool = daemon(work)
    d.start()
    try:
        for n in range(5):
            assert send(d.port, BAD_IP, "ruf.example", n).mods  # quarantined, A-R added
        send(d.port, GOOD_IP, "fo1.example", 10)   # DMARC passes on SPF; fo=1 reports
        send(d.port, GOOD_IP, "fo0.example", 11)   # fo=0: nothing to report
        send(d.port, BAD_IP, "psd.example", 12)    # psd=y: ruf= not considered
        assert d.wait_log("to=mailto:ruf@fo1.example spooled"), d.log_text()[-3000:]
    finally:
        assert harness.stop_checked(d) == 0, "mailvetd exit status"
    log = d.log_text()
    # 3 per destination per hour: messages 4 and 5 are dropped for each of the 3 destinations.
    assert len(re.findall(r"domain=ruf\.example to=\S+ dropped: over failure_rate 3 per 3600s",
                          log)) == 6, log[-4000:]
    files = spool_files(spool)
    assert len(files) == 4, files
    texts = [open(f, "rb").read() for f in files]
    for t in texts:
        assert b"alice@" not in t and b"bob@" not in t, t   # redacted (RFC 6590)
        assert b"the secret body" not in t, t               # headers only
        assert b"Subject: fail" in t and b"<m" in t, t      # the rest kept, message ids too
    ruf = [t for t in texts if b"Reported-Domain: ruf.example" in t]
    assert len(ruf) == 3 and all(b"Destinations: mailto:forensic@ruf.example,mailto:ruf@ruf-ok.test,"
                                 b"mailto:ruf@ruf-no.test\n" in t for t in ruf), ruf
    assert any(b"Reported-Domain: fo1.example" in t and b"Identity-Alignment: dkim\n" in t
               for t in texts), texts
    assert not any(b"fo0.example" in t or b"psd.example" in t for t in texts), texts
    # The records carry the first recipient's domain (envelope_to).
    db = sqlite3.connect(store[len("sqlite:"):])
    tos = {r[0] for r in db.execute("SELECT DISTINCT envelope_to FROM dmarc_record")}
    db.close()
    assert tos == {"dest.example"}, tos

    relay = Relay()
    out = report_send(mailvet, store, spool, relay.port)
    assert out.returncode == 0, out
    arf = [(rcpt, data) for _, rcpt, data in relay.messages if b"feedback-report" in data]
    by_dest = {}
    for rcpt, data in arf:
        by_dest.setdefault(rcpt[0], []).append(data)
    assert sorted((k, len(v)) for k, v in by_dest.items()) == [
        ("forensic@ruf.example", 3), ("ruf@fo1.example", 1), ("ruf@ruf-ok.test", 3)], by_dest
    assert "ruf@ruf-no.test skipped" in out.stderr, out.stderr
    data = by_dest["forensic@ruf.example"][0]
    assert b"Content-Type: multipart/report; report-type=feedback-report;" in data, data
    f = feedback_fields(data)
    assert f["Feedback-Type"] == "auth-failure" and f["Auth-Failure"] == "dmarc", f
    assert f["Identity-Alignment"] == "dkim, spf", f
    assert f["Source-IP"] == BAD_IP and f["Reported-Domain"] == "ruf.example", f
    assert re.match(r"FQ\d$", f["Original-Envelope-Id"]), f
    assert "dmarc=fail" in f["Authentication-Results"], f
    assert re.match(r"<x[0-9a-f]{16}@ruf\.example>$", f["Original-Mail-From"]), f
    assert f["Delivery-Result"] == "policy", f
    assert b"Content-Type: text/rfc822-headers" in data and b"Subject: fail" in data, data
    assert b"alice@" not in data and b"the secret body" not in data, data
    assert spool_files(spool) == [], "sent reports leave the spool"

    # Once: a second run sends nothing.
    before = len(relay.messages)
    out = report_send(mailvet, store, spool, relay.port)
    assert out.returncode == 0 and len(relay.messages) == before, (out, relay.messages[before:])


def off_by_default(work, mailvetd, mailvet):
    spool = os.path.join(work, "spool")
    os.mkdir(spool)
    d = harness.Mailvetd(work, extra="[dns]\nzone_file = %s\n[reports]\nfailure_spool = %s\n"
                         % (ZONE, spool)).start()
    try:
        send(d.port, BAD_IP, "ruf.example", 1)
    finally:
        assert harness.stop_checked(d) == 0, "mailvetd exit status"
    assert os.listdir(spool) == [], os.listdir(spool)


def a_refusing_relay_keeps_the_report(work, mailvetd, mailvet):
    d, store, spool = daemon(work, rate="1/h")
    d.start()
    try:
        send(d.port, BAD_IP, "ruf.example", 1)
        assert d.wait_log("spooled"), d.log_text()[-3000:]
    finally:
        assert harness.stop_checked(d) == 0, "mailvetd exit status"
    relay = Relay(refuse="451 4.3.0 try later")
    out = report_send(mailvet, store, spool, relay.port)
    assert out.returncode == 1 and len(spool_files(spool)) == 1, out
    good = Relay()
    out = report_send(mailvet, store, spool, good.port)
    assert out.returncode == 0 and spool_files(spool) == [], out
    assert len([m for m in good.messages if b"feedback-report" in m[2]]) == 2, good.messages


def bad_failure_settings_are_refused(work, mailvetd, mailvet):
    for key, value, why in (("failure_rate", "ten", "expected N/h"),
                            ("failure_spool", "spool", "an absolute directory"),
                            ("failure_reports", "maybe", "yes or no"),
                            ("failure_spool_max", "-1", "a size")):
        d = harness.Mailvetd(work, extra="[reports]\n%s = %s\n" % (key, value))
        out = subprocess.run([d.binary, "-n", "-c", d.conf], capture_output=True, text=True,
                             timeout=30)
        assert out.returncode != 0 and why in out.stderr, (key, out)


def the_smtp_front_end_records_the_recipient_domain(work, mailvetd, mailvet):
    """The SMTP front end ([listener], no milter) fills envelope_to from the first RCPT."""
    hop = Relay()
    port = harness.free_port()
    store = os.path.join(work, "fe.db")
    d = harness.Mailvetd(work, port=port, extra=(
        "[milter]\nsocket =\n[listener only]\nlisten = 127.0.0.1:%d\n"
        "next_hop = inet:127.0.0.1:%d\nxclient = no\n[dns]\nzone_file = %s\n"
        "[reports]\nstore = sqlite:%s\nbatch = 1\n" % (port, hop.port, ZONE, store)))
    d.start()
    try:
        s = smtplib.SMTP("127.0.0.1", port, timeout=30)
        s.ehlo("client.example")
        s.sendmail("alice@fe.example", ["carol@first.example", "dave@second.example"],
                   b"From: alice@fe.example\r\nTo: carol@first.example\r\nSubject: fe\r\n"
                   b"Message-ID: <fe1@fe.example>\r\n\r\nhello\r\n")
        s.quit()
    finally:
        assert harness.stop_checked(d) == 0, "mailvetd exit status"
    assert len(hop.messages) == 1, d.log_text()[-3000:]
    db = sqlite3.connect(store)
    got = list(db.execute("SELECT header_from, envelope_to FROM dmarc_record"))
    db.close()
    assert got == [("fe.example", "first.example")], got


CASES = [failing_messages_are_spooled_redacted_and_rate_limited, off_by_default,
         a_refusing_relay_keeps_the_report, bad_failure_settings_are_refused,
         the_smtp_front_end_records_the_recipient_domain]


def main():
    if len(sys.argv) != 3:
        print("usage: failure_test.py MAILVETD MAILVET")
        return 2
    if not os.access(sys.argv[1], os.X_OK):
        print("FAIL: %s is not an executable mailvetd" % sys.argv[1])
        return 1
    os.environ["MAILVETD"] = sys.argv[1]
    return cases.run(CASES, "mailvetd-ruf-", sys.argv[1], sys.argv[2])


if __name__ == "__main__":
    sys.exit(main())
