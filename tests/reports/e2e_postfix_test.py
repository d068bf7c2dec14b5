#!/usr/bin/python3
"""DMARC reports end to end through a real MTA (issue 15).

Usage: e2e_postfix_test.py MAILVETD MAILVET. Needs root and Postfix (it fails,
not skips, without them). A private Postfix (tests/daemon/postfix_test.py's:
smtp-sink as its next hop) runs mailvetd as its milter with [reports] store and
failure reports on; then:
  messages in through Postfix -> records in SQLite (envelope_to from RCPT)
  -> `mailvet report send --relay` into the same Postfix (its port without the
  milter) -> the sink's dumps: each aggregate report valid against the RFC 9990
  schema, `report import`ed back equal to what was recorded; the external
  destination that authorized reports gets them, the one that did not gets
  nothing; a second run sends nothing; the ARF failure reports arrive too.
"""
import gzip
import os
import re
import shutil
import subprocess
import sys
import time
import email
import email.policy

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "daemon"))
import harness  # noqa: E402
import postfix_test  # noqa: E402
from postfix_test import Postfix, swaks  # noqa: E402

ZONE = os.path.join(HERE, "e2e_postfix.zone")
RECEIVER = "mx.test.example"
# (sender domain, messages): e2e-pass passes SPF from 127.0.0.1, e2e-fail fails it.
SENT = [("e2e-pass.example", 3), ("e2e-fail.example", 2)]
# Aggregate reports expected at the sink: (policy domain, recipient).
AGGREGATE = {("e2e-pass.example", "agg@e2e-pass.example"),
             ("e2e-fail.example", "agg@e2e-fail.example"),
             ("e2e-fail.example", "ext@rep-ok.test")}


def schema():
    """The RFC 9990 schema from ../shared, or None (the check is then skipped, and says so)."""
    shared = os.environ.get("MV_SHARED_DIR") or os.path.join(HERE, "..", "..", "..", "shared")
    xsd = os.path.join(shared, "conformance", "dmarc-reports", "dmarc-xml-0.2.xsd")
    return xsd if os.path.exists(xsd) else None


def send_reports(mailvet, store, pf, now, spool):
    return subprocess.run([mailvet, "report", "send", store, "--relay",
                           "127.0.0.1:%d" % pf.ports["smtpd_plain"], "--period", "1h",
                           "--now", str(now), "--zone", ZONE, "--receiver", RECEIVER,
                           "--from", "dmarc-reports@test.example", "--failure-spool", spool],
                          capture_output=True, text=True, timeout=120)


def reports_at_sink(pf):
    """[(To address, message)] of the delivered reports (aggregate and ARF)."""
    out = []
    for _, raw in pf.delivered():
        m = email.message_from_bytes(raw, policy=email.policy.default)
        ctype = m.get_content_type()
        if ctype in ("multipart/mixed", "multipart/report") and m["To"]:
            out.append((m["To"].addresses[0].addr_spec, m))
    return out


def check_aggregate(work, to, m, xsd, n):
    """One aggregate report: its domain, and the XML written to a file (schema-checked)."""
    subject = re.match(r"Report Domain: (\S+) Submitter: mx\.test\.example Report-ID: <[0-9a-f]{32}>$",
                       str(m["Subject"]))
    assert subject, m["Subject"]
    gz = [p for p in m.walk() if p.get_content_type() == "application/gzip"]
    assert len(gz) == 1, [p.get_content_type() for p in m.walk()]
    xml = gzip.decompress(gz[0].get_content())
    path = os.path.join(work, "report%d.xml" % n)
    with open(path, "wb") as f:
        f.write(xml)
    assert b"<envelope_to>dest.example</envelope_to>" in xml, xml[:1500]
    assert b"<source_ip>127.0.0.1</source_ip>" in xml, xml[:1500]
    if xsd:
        r = subprocess.run(["xmllint", "--noout", "--schema", xsd, path], capture_output=True,
                           text=True, timeout=60)
        assert r.returncode == 0, r.stderr
    return subject.group(1)


def check_arf(m):
    f = [p for p in m.walk() if p.get_content_type() == "message/feedback-report"]
    assert len(f) == 1, [p.get_content_type() for p in m.walk()]
    text = m.as_bytes().replace(b"\r\n", b"\n")
    for needle in (b"\nFeedback-Type: auth-failure\n", b"\nAuth-Failure: dmarc\n",
                   b"\nIdentity-Alignment: dkim, spf\n", b"\nSource-IP: 127.0.0.1\n",
                   b"\nReported-Domain: e2e-fail.example\n", b"text/rfc822-headers"):
        assert needle in text, (needle, text[:3000])
    assert b"alice@" not in text and b"bob@" not in text, text   # local parts redacted


def run(work, mailvetd, mailvet):
    store = "sqlite:%s/reports.db" % work
    spool = os.path.join(work, "failure")
    os.mkdir(spool)
    d = harness.Mailvetd(work, extra="[dns]\nzone_file = %s\n[log]\ndebug = no\n"
                         "[reports]\nstore = %s\nbatch = 1\nfailure_reports = yes\n"
                         "failure_spool = %s\n" % (ZONE, store, spool))
    pf = Postfix(work, d.port)
    try:
        d.start()
        pf.start()
        n = 0
        for domain, times in SENT:
            for _ in range(times):
                n += 1
                r = swaks(pf.ports["smtpd_milter"], "alice@" + domain, "bob@dest.example",
                          [("From", "Alice <alice@%s>" % domain), ("To", "bob@dest.example"),
                           ("Subject", "e2e report %d" % n),
                           ("Message-ID", "<e2e-report-%d@%s>" % (n, domain))])
                assert r.returncode == 0, r.stdout[-2000:]
        assert pf.wait_delivered(n) == n, "the messages themselves reach the sink"
        assert harness.stop_checked(d) == 0, "mailvetd exit status"
        assert re.search(r"recorder stopped: %d DMARC record\(s\) written, 0 dropped" % n,
                         d.log_text()), d.log_text()[-3000:]
        assert len(os.listdir(spool)) == 2, os.listdir(spool)   # fo=1, both failing messages

        now = int(time.time()) + 3600   # the current hour complete
        out = send_reports(mailvet, store, pf, now, spool)
        assert out.returncode == 0, out
        assert "ext@rep-no.test skipped" in out.stderr and "ruf@rep-no.test skipped" in out.stderr, out.stderr
        want = n + len(AGGREGATE) + 2
        assert pf.wait_delivered(want) == want, (pf.wait_delivered(want), out)
        got = reports_at_sink(pf)
        xsd = schema()
        files, aggregate, arf = [], set(), []
        for i, (to, m) in enumerate(got):
            if m.get_content_type() == "multipart/report":
                assert to == "ruf@e2e-fail.example", to
                check_arf(m)
                arf.append(m)
                continue
            aggregate.add((check_aggregate(work, to, m, xsd, i), to))
            files.append(os.path.join(work, "got%d.eml" % i))
            with open(files[-1], "wb") as f:
                f.write(m.as_bytes())
        assert aggregate == AGGREGATE and len(arf) == 2, (aggregate, len(arf))
        if not xsd:
            print("NOTE: ../shared/conformance/dmarc-reports absent: the schema check was skipped")

        # Read back: what was delivered equals what was recorded.
        rcv = "sqlite:%s/received.db" % work
        subprocess.run([mailvet, "report", "import", rcv] + files, capture_output=True,
                       timeout=60, check=True)
        shown = [subprocess.run([mailvet, "report", "show", s, "--json"] + flag,
                                capture_output=True, text=True, timeout=60, check=True).stdout
                 for s, flag in ((store, ["--recorded"]), (rcv, []))]
        assert shown[0] == shown[1] and shown[0].count("\n") == 2, shown
        assert '"messages":3' in shown[0].replace(" ", "") and '"fail":2' in shown[0].replace(" ", ""), shown

        # Once: a second run sends nothing.
        again = send_reports(mailvet, store, pf, now, spool)
        assert again.returncode == 0 and "0 sent, 0 not sent" in again.stderr, again
        time.sleep(2)
        assert len(pf.delivered()) == want, "a report was sent twice"
    finally:
        pf.stop()
        d.stop()


def main():
    if len(sys.argv) != 3:
        print("usage: e2e_postfix_test.py MAILVETD MAILVET")
        return 2
    if os.geteuid() != 0 or not os.access(postfix_test.POSTFIX_SBIN + "/master", os.X_OK):
        print("FAIL: needs root and Postfix (scripts/install-deps --test)")
        return 1
    os.environ["MAILVETD"] = sys.argv[1]
    work = harness.tempdir("mailvet-e2e-postfix-")
    os.chmod(work, 0o755)
    try:
        run(work, sys.argv[1], sys.argv[2])
    except Exception:
        import traceback
        traceback.print_exc(file=sys.stdout)
        print("FAIL reports_through_postfix (logs in %s)" % work)
        return 1
    print("ok   reports_through_postfix")
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
