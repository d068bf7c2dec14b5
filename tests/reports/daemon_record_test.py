#!/usr/bin/python3
"""mailvetd records DMARC records into [reports] store (issue 15).

Usage: daemon_record_test.py MAILVETD MAILVET. Messages go through a private
mailvetd with our milter client (tests/daemon/milterproto.py); the store is
then read back with `mailvet report show --recorded --json`. A store that
cannot be opened changes no verdict and is logged, with the dropped count.
"""
import json
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "daemon"))
import harness  # noqa: E402
import cases  # noqa: E402
from milterproto import MilterClient  # noqa: E402

GOOD_IP, BAD_IP, INTERNAL_IP = "192.0.2.10", "198.51.100.7", "127.0.0.2"
BODY = b"Hello,\r\n\r\nthis is a test.\r\n"

# (client ip, from domain, the verdict the milter client sees); each sent `times` times.
MESSAGES = [
    (GOOD_IP, "good.example", "continue", 3),
    (BAD_IP, "reject.example", "reject", 2),
    (BAD_IP, "quarantine.example", "quarantine", 1),
    (BAD_IP, "temp.example", "tempfail", 1),      # temperror: comes back, not recorded
    (BAD_IP, "open.example", "continue", 1),      # p=none, SPF aligned: passes
    (INTERNAL_IP, "sign.example", "continue", 1),  # outbound: not recorded
]
# What `report show --json` must say: (domain, source) -> (messages, pass, fail).
EXPECTED = {
    ("good.example", GOOD_IP): (3, 3, 0),
    ("reject.example", BAD_IP): (2, 0, 2),
    ("quarantine.example", BAD_IP): (1, 0, 1),
    ("open.example", BAD_IP): (1, 1, 0),
}


def verdict(a):
    if a.final == "replycode":
        return "reject" if a.reply.startswith("5") else "tempfail"
    if any(m[0] == "quarantine" for m in a.mods):
        return "quarantine"
    return a.final


def send_all(d):
    """Send MESSAGES; returns the verdicts in order."""
    got, n = [], 0
    for ip, domain, _, times in MESSAGES:
        for _ in range(times):
            n += 1
            c = MilterClient("127.0.0.1", d.port)
            c.negotiate()
            c.connect("[%s]" % ip, ip, macros={"j": "mx.test.example"})
            c.helo("client.example")
            headers = [("From", " x@%s" % domain), ("To", " bob@dest.example"),
                       ("Subject", " test %d" % n), ("Message-ID", " <m%d@%s>" % (n, domain))]
            a = c.message("x@%s" % domain, headers, BODY, queue_id="RQ%d" % n)
            c.quit()
            got.append(verdict(a))
    return got


def expected_verdicts():
    return [v for _, _, v, times in MESSAGES for _ in range(times)]


def show(mailvet, store):
    out = subprocess.run([mailvet, "report", "show", store, "--recorded", "--json"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out
    rows = {}
    for line in out.stdout.splitlines():
        j = json.loads(line)
        rows[(j["domain"], j["source_ip"])] = (j["messages"], j["pass"], j["fail"])
    return rows


def records_equal_the_messages_sent(work, mailvet):
    store = os.path.join(work, "reports.db")
    d = harness.Mailvetd(work, extra="[reports]\nstore = sqlite:%s\nbatch = 2\n" % store).start()
    try:
        assert send_all(d) == expected_verdicts()
    finally:
        assert harness.stop_checked(d) == 0, "mailvetd exit status"
    log = d.log_text()
    assert "recording DMARC records into sqlite:%s" % store in log, log[-2000:]
    assert re.search(r"recorder stopped: 7 DMARC record\(s\) written, 0 dropped", log), log[-2000:]
    rows = show(mailvet, "sqlite:" + store)
    assert rows == EXPECTED, rows


def a_store_that_cannot_open_changes_no_verdict(work, mailvet):
    blocker = os.path.join(work, "not-a-directory")
    with open(blocker, "w") as f:
        f.write("x")
    store = "sqlite:%s/reports.db" % blocker
    d = harness.Mailvetd(work, extra="[reports]\nstore = %s\nqueue = 2\n" % store).start()
    try:
        assert send_all(d) == expected_verdicts()
        assert d.wait_log("cannot open the record store %s" % store), d.log_text()[-2000:]
    finally:
        assert harness.stop_checked(d) == 0, "mailvetd exit status"
    log = d.log_text()
    # 7 records, at most 2 held: 5 dropped while it was down, the last 2 at the stop.
    assert re.search(r"recorder stopped: 0 DMARC record\(s\) written, 7 dropped", log), log[-3000:]
    assert re.search(r"\d+ DMARC record\(s\) dropped so far", log), log[-3000:]


def a_bad_store_setting_is_refused(work, mailvet):
    for value, why in (("reports.db", "must be an absolute path"),
                       ("mysql:x", "unknown scheme")):
        d = harness.Mailvetd(work, extra="[reports]\nstore = %s\n" % value)
        out = subprocess.run([d.binary, "-n", "-c", d.conf], capture_output=True, text=True,
                             timeout=30)
        assert out.returncode != 0 and why in out.stderr, (value, out)


CASES = [records_equal_the_messages_sent, a_store_that_cannot_open_changes_no_verdict,
         a_bad_store_setting_is_refused]


def main():
    harness.mailvetd_path()
    return cases.main(CASES, "mailvetd-rec-", "daemon_record_test.py MAILVETD MAILVET")


if __name__ == "__main__":
    sys.exit(main())
