#!/usr/bin/python3
"""`mailvet report send --sendmail [PATH]` (issue 15): each report handed to a
sendmail-compatible program as `PATH -t -oi -f FROM`, marked sent only when it
exits 0; the spooled failure reports go the same way.

Usage: sendmail_test.py MAILVET. The program is a fake sendmail (a shell
script) that records its arguments and standard input, and exits as told.
"""
import email
import email.policy
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import cases  # noqa: E402
from send_test import make_store, check_message, EXPECTED, ZONE, NOW, RECEIVER  # noqa: E402

FAKE = """#!/bin/sh
# A fake sendmail: arguments and the message into %(out)s/N.args and N.msg.
n=$(ls %(out)s | grep -c '\\.msg$')
printf '%%s\\n' "$@" > %(out)s/$n.args
cat > %(out)s/$n.msg
exit %(status)d
"""

FROM = "dmarc-reports@receiver.example"


def fake_sendmail(work, name, status):
    out = os.path.join(work, name + ".out")
    os.makedirs(out, exist_ok=True)
    path = os.path.join(work, name)
    with open(path, "w") as f:
        f.write(FAKE % {"out": out, "status": status})
    os.chmod(path, 0o755)
    return path, out


def calls(out):
    """What the fake sendmail got: [(args, message bytes)] in order."""
    got = []
    for i in range(len([n for n in os.listdir(out) if n.endswith(".msg")])):
        with open(os.path.join(out, "%d.args" % i)) as f:
            args = f.read().split("\n")[:-1]
        with open(os.path.join(out, "%d.msg" % i), "rb") as f:
            got.append((args, f.read()))
    return got


def send(mailvet, store, sendmail_args, *more):
    return subprocess.run([mailvet, "report", "send", "--zone", ZONE] + sendmail_args +
                          ["--from", FROM, "--now", str(NOW), "--receiver", RECEIVER,
                           "--org-name", "Receiver", "--email", "postmaster@receiver.example"] +
                          list(more) + [store], capture_output=True, text=True, timeout=120)


def rcpt_of(data):
    m = email.message_from_bytes(data, policy=email.policy.default)
    return [a.addr_spec for a in m["To"].addresses]


def reports_go_to_sendmail_once(work, mailvet):
    store = make_store(mailvet, work)
    path, out = fake_sendmail(work, "sendmail", 0)
    r = send(mailvet, store, ["--sendmail", path])
    assert r.returncode == 0, r
    got = calls(out)
    assert len(got) == 3, got
    seen = set()
    for args, data in got:
        assert args == ["-t", "-oi", "-f", FROM], args
        assert b"\r\n" not in data and data.endswith(b"\n"), data[:200]  # local line ends
        seen.add(check_message(FROM, rcpt_of(data), data.replace(b"\n", b"\r\n"))[:2])
    assert seen == EXPECTED, seen
    # Sent once: the second run (here with --sendmail=PATH) hands over nothing.
    r = send(mailvet, store, ["--sendmail=" + path])
    assert r.returncode == 0 and len(calls(out)) == 3, (r, calls(out))


def a_failing_sendmail_marks_nothing_sent(work, mailvet):
    store = make_store(mailvet, work)
    bad, bad_out = fake_sendmail(work, "bad-sendmail", 1)
    r = send(mailvet, store, ["--sendmail", bad])
    assert r.returncode == 1, r
    assert len(calls(bad_out)) == 3 and "sendmail exited with status 1" in r.stderr, r.stderr
    good, good_out = fake_sendmail(work, "sendmail", 0)
    r = send(mailvet, store, ["--sendmail", good])
    assert r.returncode == 0 and len(calls(good_out)) == 3, (r, calls(good_out))


SPOOLED = (b"Mailvet-Failure-Report: 1\nArrival: %d\nReported-Domain: example.com\n"
           b"Policy-Domain: example.com\nDestinations: mailto:ruf@example.com\n"
           b"Source-IP: 198.51.100.7\nEnvelope-Id: Q1\nMail-From: x00@example.com\n"
           b"Identity-Alignment: dkim, spf\nDelivery-Result: reject\n"
           b"Authentication-Results: mx.receiver.example; dmarc=fail header.from=example.com\n"
           b"Header-Bytes: %d\nBody-Bytes: -0\n\n%s")
HEADER = b"From: x00@example.com\r\nSubject: forged\r\n"


def failure_reports_go_to_sendmail(work, mailvet):
    store = "sqlite:%s/empty.db" % work
    spool = os.path.join(work, "spool")
    os.mkdir(spool)
    with open(os.path.join(spool, "1700000000-1-0.ruf"), "wb") as f:
        f.write(SPOOLED % (NOW - 60, len(HEADER), HEADER))
    bad, bad_out = fake_sendmail(work, "bad-sendmail", 1)
    r = send(mailvet, store, ["--sendmail", bad, "--failure-spool", spool])
    assert r.returncode == 1 and len(calls(bad_out)) == 1, r
    assert os.listdir(spool) == ["1700000000-1-0.ruf"], os.listdir(spool)
    path, out = fake_sendmail(work, "sendmail", 0)
    r = send(mailvet, store, ["--sendmail", path, "--failure-spool", spool])
    assert r.returncode == 0, r
    (args, data), = calls(out)
    assert args == ["-t", "-oi", "-f", FROM], args
    assert rcpt_of(data) == ["ruf@example.com"], data[:300]
    assert b"report-type=feedback-report" in data and b"\nAuth-Failure: dmarc\n" in data, data
    assert b"\nSource-IP: 198.51.100.7\n" in data and b"Subject: forged" in data, data
    assert os.listdir(spool) == [], os.listdir(spool)


def failure_rate_holds_across_runs(work, mailvet):
    """--failure-rate 2/h: the third report to one destination is dropped, and so is
    one spooled later (the ledger in the spool remembers what was sent)."""
    store = "sqlite:%s/empty.db" % work
    spool = os.path.join(work, "spool")
    os.mkdir(spool)

    def spool_one(name):
        with open(os.path.join(spool, name), "wb") as f:
            f.write(SPOOLED % (NOW - 60, len(HEADER), HEADER))
    for i in range(3):
        spool_one("1700000000-1-%d.ruf" % i)
    path, out = fake_sendmail(work, "sendmail", 0)
    r = send(mailvet, store, ["--sendmail", path, "--failure-spool", spool, "--failure-rate", "2/h"])
    assert r.returncode == 0 and len(calls(out)) == 2, r
    assert r.stderr.count("dropped: over --failure-rate 2 per 3600s") == 1, r.stderr
    assert "2 sent, 0 not sent, 0 external destination(s) not authorized, 1 over --failure-rate" in r.stderr, r.stderr
    assert os.listdir(spool) == [".rate"], os.listdir(spool)
    spool_one("1700000001-1-0.ruf")
    r = send(mailvet, store, ["--sendmail", path, "--failure-spool", spool, "--failure-rate", "2/h"])
    assert r.returncode == 0 and len(calls(out)) == 2 and "1 over --failure-rate" in r.stderr, r
    r = send(mailvet, store, ["--sendmail", path, "--failure-rate", "ten"])
    assert r.returncode == 2, r


CASES = [reports_go_to_sendmail_once, a_failing_sendmail_marks_nothing_sent,
         failure_reports_go_to_sendmail, failure_rate_holds_across_runs]

if __name__ == "__main__":
    sys.exit(cases.main(CASES, "mailvet-sendmail-", "sendmail_test.py MAILVET"))
