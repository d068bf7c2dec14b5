#!/usr/bin/python3
"""daemon.local_policy: [policy] local policy through the milter (issue 16).

Usage: localpolicy_test.py MAILVETD. Our milter client (milterproto.py)
against a private mailvetd whose DNS is a zone in master-file syntax
(docs/zone-file.md). Checks: a p=reject failure from an overridden author
domain is quarantined or accepted, with local_policy= in the log line and in
the dmarc comment of our field; a skipped client or recipient domain gets no
field and passes; internal_clients makes mail outbound; SIGHUP rereads the
override file; the DMARC report record says reason local_policy.
"""
import os
import re
import smtplib
import sqlite3
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "reports"))
import cases  # noqa: E402  (each case in a fresh directory, kept when it fails)
import harness  # noqa: E402
from milterproto import MilterClient  # noqa: E402

BAD_IP = "198.51.100.7"
BODY = b"Hello,\r\n\r\nthis is a test.\r\n"

# Three p=reject domains nobody may send for, in RFC 1035 master-file syntax.
ZONE = """$ORIGIN example.
$TTL 300
@           IN SOA ns hostmaster ( 1 3600 600 86400 300 )
            IN NS  ns
ns          IN A   192.0.2.53
listed      IN TXT "v=spf1 -all"
_dmarc.listed     TXT "v=DMARC1; p=reject"
lists.friendly    TXT "v=spf1 -all"
_dmarc.lists.friendly TXT ( "v=DMARC1; "
                            "p=reject" )
other       300 IN TXT "v=spf1 -all"
_dmarc.other      TXT "v=DMARC1; p=reject"
"""


def setup(work, overrides, policy_extra="", extra=""):
    zone = os.path.join(work, "zone")
    with open(zone, "w") as f:
        f.write(ZONE)
    path = os.path.join(work, "overrides")
    with open(path, "w") as f:
        f.write(overrides)
    conf = ("[dns]\nzone_file = %s\n[policy]\ndmarc_override_file = %s\n%s%s"
            % (zone, path, policy_extra, extra))
    return harness.Mailvetd(work, extra=conf).start(), path


def send(d, domain, qid, ip=BAD_IP, rcpts=("bob@dest.example",)):
    c = MilterClient("127.0.0.1", d.port)
    c.negotiate()
    c.connect("[%s]" % ip, ip, macros={"j": "mx.test.example"})
    c.helo("client.example")
    headers = [("From", " x@%s" % domain), ("To", " bob@dest.example"),
               ("Subject", " %s" % qid), ("Message-ID", " <%s@%s>" % (qid, domain))]
    a = c.message("x@%s" % domain, headers, BODY, queue_id=qid, rcpts=rcpts)
    c.quit()
    return a


def verdict(a):
    if a.final == "replycode":
        return "reject" if a.reply.startswith("5") else "tempfail"
    if any(m[0] == "quarantine" for m in a.mods):
        return "quarantine"
    return a.final


def our_field(a):
    fields = [m[3] for m in a.inserted("Authentication-Results")]
    return " ".join(" ".join(fields).split())


def log_line(d, qid):
    assert d.wait_log("queue_id=%s " % qid), "no log line for %s" % qid
    lines = [l for l in d.message_lines() if "queue_id=%s " % qid in l]
    assert len(lines) == 1, lines
    return lines[0]


def check(what, cond, detail=""):
    if not cond:
        raise AssertionError("%s: %s" % (what, detail))
    print("     %s" % what)


# ---------------------------------------------------------------- cases

def overridden_domains_are_quarantined_or_accepted(work):
    d, _ = setup(work, "listed.example quarantine\n*.friendly.example accept\n")
    try:
        a = send(d, "listed.example", "LPQ1")
        check("p=reject from listed.example is quarantined", verdict(a) == "quarantine", a)
        reason = [m[3] for m in a.mods if m[0] == "quarantine"]
        check("the MTA's quarantine reason names the rule",
              reason == ["mailvetd: local_policy=dmarc_quarantine:listed.example (%s)"
                         % harness.AUTHSERV_ID], reason)
        ar = our_field(a)
        check("the dmarc comment names the rule",
              "local_policy=dmarc_quarantine:listed.example" in ar, ar)
        check("policy.dmarc says what was applied", "policy.dmarc=quarantine" in ar, ar)
        line = log_line(d, "LPQ1")
        print("     field: Authentication-Results:%s\n     log: %s" % (ar, line[line.find("event="):]))
        check("the log line names the rule",
              re.search(r'local_policy="?dmarc_quarantine:listed\.example', line), line)
        check("the log line says quarantine", "action=quarantine" in line, line)

        a = send(d, "lists.friendly.example", "LPA1")
        check("p=reject from a *.friendly.example domain is accepted",
              verdict(a) == "continue", a)
        ar = our_field(a)
        check("its field says dmarc=fail, policy.dmarc=none and the rule",
              "dmarc=fail" in ar and "policy.dmarc=none" in ar and
              "local_policy=dmarc_accept:*.friendly.example" in ar, ar)
        line = log_line(d, "LPA1")
        check("its log line says accept and the rule",
              "action=accept" in line and "dmarc_accept:*.friendly.example" in line, line)

        a = send(d, "other.example", "LPR1")
        check("an unlisted p=reject domain is still rejected", verdict(a) == "reject", a)
        check("and its log line has no local_policy", "local_policy" not in log_line(d, "LPR1"))
    finally:
        assert harness.stop_checked(d) == 0, "mailvetd exit status"


def header_quarantine_logs_quarantine(work):
    d, _ = setup(work, "listed.example quarantine\n", "quarantine = header\n")
    try:
        a = send(d, "listed.example", "LPH1")
        check("quarantine = header: accepted with our quarantine field",
              a.final == "continue" and a.inserted("X-Mailvet-Quarantine"), a)
        line = log_line(d, "LPH1")
        check("the log says quarantine and the rule",
              "action=quarantine" in line and "dmarc_quarantine:listed.example" in line, line)
    finally:
        assert harness.stop_checked(d) == 0, "mailvetd exit status"


def skipped_clients_and_recipients_pass_unchecked(work):
    d, _ = setup(work, "", "skip_clients = 198.51.100.99, 2001:db8::/32\n"
                 "skip_recipient_domains = archive.example\n")
    try:
        a = send(d, "other.example", "LPS1", ip="198.51.100.99")
        check("a skipped client's p=reject failure passes", verdict(a) == "continue", a)
        check("with no field of ours and no change", a.mods == [], a.mods)
        line = log_line(d, "LPS1")
        check("the log line says local_policy=skip_client",
              "local_policy=skip_client" in line and "action=accept" in line, line)

        a = send(d, "other.example", "LPS2", rcpts=("a@archive.example", "b@ARCHIVE.example"))
        check("mail to skipped recipient domains only passes unchecked",
              verdict(a) == "continue" and a.mods == [], a)
        check("the log line says local_policy=skip_recipient_domains",
              "local_policy=skip_recipient_domains" in log_line(d, "LPS2"))

        a = send(d, "other.example", "LPS3", rcpts=("a@archive.example", "b@dest.example"))
        check("one recipient outside them: checked and rejected", verdict(a) == "reject", a)
    finally:
        assert harness.stop_checked(d) == 0, "mailvetd exit status"


def internal_clients_are_outbound(work):
    d, _ = setup(work, "", "internal_clients = 203.0.113.0/24\n")
    try:
        a = send(d, "other.example", "LPI1", ip="203.0.113.5")
        check("an internal client's mail is not refused for DMARC", verdict(a) == "continue", a)
        line = log_line(d, "LPI1")
        check("it is logged outbound with local_policy=internal_client",
              "direction=outbound" in line and "local_policy=internal_client" in line, line)
    finally:
        assert harness.stop_checked(d) == 0, "mailvetd exit status"


def sighup_rereads_the_override_file(work):
    d, path = setup(work, "other.example quarantine\n")
    try:
        check("before: quarantined", verdict(send(d, "other.example", "LPU1")) == "quarantine")
        with open(path, "w") as f:
            f.write("# emptied\n")
        before = d.log_text().count("event=reload")
        d.hup()
        end = time.time() + 10
        while d.log_text().count("event=reload") <= before:
            assert time.time() < end, "no reload logged"
            time.sleep(0.05)
        check("after SIGHUP: rejected", verdict(send(d, "other.example", "LPU2")) == "reject")
        with open(path, "w") as f:
            f.write("other.example reject\n")  # a bad line: the running policy stays
        d.hup()
        check("a bad file on reload is logged with file:line",
              d.wait_log("%s:1: unknown action" % path), d.log_text()[-2000:])
        check("and the running policy stays", verdict(send(d, "other.example", "LPU3")) == "reject")
    finally:
        assert harness.stop_checked(d) == 0, "mailvetd exit status"


def report_record_says_local_policy(work):
    store = os.path.join(work, "reports.db")
    d, _ = setup(work, "listed.example quarantine\n",
                 extra="[reports]\nstore = sqlite:%s\nbatch = 1\n" % store)
    try:
        check("overridden message quarantined", verdict(send(d, "listed.example", "LPD1")) == "quarantine")
        check("unlisted message rejected", verdict(send(d, "other.example", "LPD2")) == "reject")
    finally:
        assert harness.stop_checked(d) == 0, "mailvetd exit status"
    db = sqlite3.connect(store)
    rows = {r[0]: r[1:] for r in db.execute(
        "SELECT header_from, disposition, reason, reason_comment FROM dmarc_record")}
    db.close()
    check("the overridden row: disposition quarantine, reason local_policy",
          rows.get("listed.example") ==
          ("quarantine", "local_policy", "dmarc_quarantine:listed.example"), rows)
    check("the other row: reject, no reason", rows.get("other.example") == ("reject", "", ""), rows)


def bad_files_are_refused_by_check(work):
    d = harness.Mailvetd(work, extra="[policy]\nskip_clients = %s/missing\n" % work)
    out = subprocess.run([d.binary, "-n", "-c", d.conf], capture_output=True, text=True,
                                 timeout=30)
    check("mailvetd -n refuses a missing list file with file:line",
          out.returncode != 0 and re.search(r"mailvet\.conf:\d+: \[policy\] skip_clients: .*missing: "
                                            r"No such file", out.stderr), out)


def list_file_the_daemon_user_cannot_read(work):
    """As root with user = nobody: a 0600 root list file is found by -n, not on the next SIGHUP."""
    assert os.geteuid() == 0, "needs root, to drop to user nobody as the daemon does"
    os.chmod(work, 0o755)
    lst = os.path.join(work, "skip-clients")
    with open(lst, "w") as f:
        f.write("192.0.2.99\n")
    os.chmod(lst, 0o600)
    d = harness.Mailvetd(work, extra="[milter]\nuser = nobody\n[policy]\nskip_clients = %s\n" % lst)
    os.chmod(d.conf, 0o644)
    out = subprocess.run([d.binary, "-n", "-c", d.conf], capture_output=True, text=True, timeout=30)
    check("mailvetd -n names the list file nobody cannot read",
          out.returncode != 0 and "[policy] skip_clients: %s: Permission denied for user nobody" % lst
          in out.stderr, out)
    os.chmod(lst, 0o644)
    out = subprocess.run([d.binary, "-n", "-c", d.conf], capture_output=True, text=True, timeout=30)
    check("readable, it passes", out.returncode == 0, out)


def smtp_send(port, domain, subject, rcpts=("bob@dest.example",)):
    """One message through the SMTP front end; the reply code to its DATA."""
    s = smtplib.SMTP("127.0.0.1", port, timeout=30)
    s.ehlo("client.example")
    try:
        s.sendmail("x@%s" % domain, list(rcpts),
                   "From: x@%s\r\nTo: bob@dest.example\r\nSubject: %s\r\n\r\nhi\r\n"
                   % (domain, subject))
        code = 250
    except smtplib.SMTPDataError as e:
        code = e.smtp_code
    s.quit()
    return code


def delivered(sink, subject):
    end = time.time() + 10
    while time.time() < end:
        for m in sink.messages:
            if "Subject: %s\r\n" % subject in m:
                return " ".join(m.split("\r\n\r\n", 1)[0].split())
        time.sleep(0.05)
    return None


def smtp_front_end_applies_the_same_policy(work):
    sink = harness.Sink()
    sink.start()
    port = harness.free_port()
    listener = "[listener lp]\nlisten = 127.0.0.1:%d\nnext_hop = inet:127.0.0.1:%d\n" % (
        port, sink.port)
    d, _ = setup(work, "listed.example accept\n", "skip_recipient_domains = archive.example\n",
                 extra=listener)
    try:
        harness.wait_port(port, d.proc)
        check("SMTP: p=reject from an accept-listed domain is delivered",
              smtp_send(port, "listed.example", "lp-smtp-1") == 250)
        head = delivered(sink, "lp-smtp-1")
        check("with the rule in our field's dmarc comment",
              head and "local_policy=dmarc_accept:listed.example" in head and
              "policy.dmarc=none" in head, head)
        check("SMTP: an unlisted p=reject domain is refused",
              smtp_send(port, "other.example", "lp-smtp-2") == 550)
        check("SMTP: to a skipped recipient domain it passes unchecked",
              smtp_send(port, "other.example", "lp-smtp-3", rcpts=("a@archive.example",)) == 250)
        head = delivered(sink, "lp-smtp-3")
        check("without a field of ours", head and "Authentication-Results" not in head, head)
        check("and the log says so", d.wait_log("local_policy=skip_recipient_domains"))
    finally:
        sink.stop()
        assert harness.stop_checked(d) == 0, "mailvetd exit status"


CASES = [overridden_domains_are_quarantined_or_accepted, header_quarantine_logs_quarantine,
         skipped_clients_and_recipients_pass_unchecked, internal_clients_are_outbound,
         sighup_rereads_the_override_file, report_record_says_local_policy,
         bad_files_are_refused_by_check, list_file_the_daemon_user_cannot_read,
         smtp_front_end_applies_the_same_policy]


def main():
    harness.mailvetd_path()
    return cases.run(CASES, "mailvetd-lp-")


if __name__ == "__main__":
    sys.exit(main())
