#!/usr/bin/python3
"""End to end and load: a private Postfix on 127.0.0.1 with mailvetd as its milter.

Usage: postfix_test.py MAILVETD. Needs root and Postfix (fails
otherwise). Starts, all on ports picked here and stopped by PID at the end:
  smtp-sink      the next hop; dumps each delivered message to a file
  mailvetd       zone-file DNS (data/zone.txt), internal host 127.0.0.2
  Postfix master its own config, queue and data directories in a temp dir;
                 smtpd on port A with smtpd_milters = mailvetd, on port B
                 without (the baseline for the added latency)
Then checks delivered copies (our field on top, forged field gone, another
ADMD's kept, p=reject refused with our text, outbound signed and verifying)
and runs the load: 2,000 messages over 20 connections, each way; nothing
lost or duplicated; prints messages/s, added latency p50/p99, peak memory.
"""
import glob
import os
import pwd
import re
import shutil
import smtplib
import subprocess
import sys
import threading
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import AUTHSERV_ID, DATA  # noqa: E402

POSTFIX_SBIN = "/usr/lib/postfix/sbin"
REJECT_TEXT = "5.7.1 mailvet-e2e: the sender's domain forbids this message (DMARC)"
LOAD_MESSAGES = int(os.environ.get("MV_LOAD_MESSAGES", "2000"))
LOAD_CONNECTIONS = 20

MASTER_CF = """\
127.0.0.1:{smtpd_milter} inet n - n - - smtpd
127.0.0.1:{smtpd_plain} inet n - n - - smtpd -o smtpd_milters=
cleanup   unix n - n - 0 cleanup
qmgr      unix n - n 300 1 qmgr
rewrite   unix - - n - - trivial-rewrite
bounce    unix - - n - 0 bounce
defer     unix - - n - 0 bounce
trace     unix - - n - 0 bounce
verify    unix - - n - 1 verify
flush     unix n - n 1000? 0 flush
proxymap  unix - - n - - proxymap
smtp      unix - - n - - smtp
relay     unix - - n - - smtp
showq     unix n - n - - showq
error     unix - - n - - error
retry     unix - - n - - error
discard   unix - - n - - discard
anvil     unix - - n - 1 anvil
scache    unix - - n - 1 scache
postlog   unix-dgram n - n - 1 postlogd
"""

MAIN_CF = """\
compatibility_level = 3.6
queue_directory = {d}/spool
data_directory = {d}/data
mail_owner = postfix
myhostname = mx.test.example
mydomain = test.example
myorigin = test.example
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
relay_domains = dest.example far.example
relayhost = [127.0.0.1]:{sink}
smtp_dns_support_level = disabled
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
smtpd_milters = inet:127.0.0.1:{milter}
milter_default_action = tempfail
maillog_file = /dev/stdout
alias_maps =
alias_database =
local_recipient_maps =
biff = no
in_flow_delay = 0
smtp_tls_security_level = none
smtpd_tls_security_level = none
default_destination_concurrency_limit = 20
default_process_limit = 100
"""

QUEUE_DIRS = ["active", "bounce", "corrupt", "defer", "deferred", "flush", "hold",
              "incoming", "private", "saved", "trace", "pid"]


def preflight():
    if os.geteuid() != 0:
        harness.cannot_run("needs root to run a private Postfix instance")
    for p in (POSTFIX_SBIN + "/master", "/usr/sbin/smtp-sink"):
        if not os.access(p, os.X_OK):
            harness.cannot_run("Postfix is not installed (%s missing; scripts/install-deps --test)" % p)
    try:
        pwd.getpwnam("postfix")
    except KeyError:
        harness.cannot_run("no postfix user (the postfix package creates it)")


class Postfix:
    def __init__(self, work, milter_port):
        self.d = work
        self.ports = {"smtpd_milter": harness.free_port(), "smtpd_plain": harness.free_port(),
                      "sink": harness.free_port(), "milter": milter_port}
        self.sinkdir = os.path.join(work, "sink")
        pw = pwd.getpwnam("postfix")
        etc, spool, data = (os.path.join(work, x) for x in ("etc", "spool", "data"))
        for x in (etc, spool, data, self.sinkdir):
            os.makedirs(x, exist_ok=True)
        with open(os.path.join(etc, "main.cf"), "w") as f:
            f.write(MAIN_CF.format(d=work, **self.ports))
        with open(os.path.join(etc, "master.cf"), "w") as f:
            f.write(MASTER_CF.format(**self.ports))
        for q in QUEUE_DIRS:
            p = os.path.join(spool, q)
            os.makedirs(p, exist_ok=True)
            if q != "pid":
                os.chown(p, pw.pw_uid, 0)
                os.chmod(p, 0o700)
        for q, mode in (("maildrop", 0o730), ("public", 0o710)):
            p = os.path.join(spool, q)
            os.makedirs(p, exist_ok=True)
            os.chown(p, pw.pw_uid, _gid("postdrop"))
            os.chmod(p, mode)
        os.chown(data, pw.pw_uid, 0)
        os.chown(self.sinkdir, pw.pw_uid, 0)
        os.chmod(work, 0o755)
        self.etc = etc
        self.log = os.path.join(work, "postfix.log")

    def start(self):
        self.sinklog = open(os.path.join(self.d, "sink.log"), "ab")
        self.sink = harness.track(subprocess.Popen(
            ["/usr/sbin/smtp-sink", "-u", "postfix", "-d", self.sinkdir + "/m.",
             "127.0.0.1:%d" % self.ports["sink"], "512"], stdout=self.sinklog, stderr=self.sinklog))
        harness.wait_port(self.ports["sink"], self.sink)
        self.logf = open(self.log, "ab")
        self.master = harness.track(subprocess.Popen(
            [POSTFIX_SBIN + "/master", "-c", self.etc, "-d"], stdout=self.logf, stderr=self.logf))
        harness.wait_port(self.ports["smtpd_milter"], self.master)
        harness.wait_port(self.ports["smtpd_plain"], self.master)
        return self

    def stop(self):
        for p in (getattr(self, "master", None), getattr(self, "sink", None)):
            if p is not None and p.poll() is None:
                p.terminate()
                try:
                    p.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
            if p is not None:
                harness.untrack(p)

    def delivered(self):
        """Every dumped message as (path, message bytes)."""
        out = []
        for path in glob.glob(os.path.join(self.sinkdir, "m.*")):
            with open(path, "rb") as f:
                out.append((path, sink_message(f.read())))
        return out

    def wait_delivered(self, count, timeout=120):
        end = time.time() + timeout
        while time.time() < end:
            n = len(glob.glob(os.path.join(self.sinkdir, "m.*")))
            if n >= count:
                time.sleep(0.5)   # let a few stragglers (duplicates?) show up
                return len(glob.glob(os.path.join(self.sinkdir, "m.*")))
            time.sleep(0.2)
        return len(glob.glob(os.path.join(self.sinkdir, "m.*")))


def _gid(name):
    import grp
    return grp.getgrnam(name).gr_gid


def sink_message(dump):
    """smtp-sink's dump: X-Client-*/X-*-Args envelope lines, then the message."""
    lines = dump.split(b"\n")
    i = 0
    while i < len(lines) and re.match(rb"^X-(Client|Helo|Mail|Rcpt)[-A-Za-z]*:", lines[i]):
        i += 1
    # smtp-sink's own Received field (it "received" the message): not Postfix's output
    if i < len(lines) and lines[i].startswith(b"Received: ") and b"by smtp-sink" in b"\n".join(lines[i:i + 3]):
        i += 1
        while i < len(lines) and lines[i][:1] in (b" ", b"\t"):
            i += 1
    return b"\n".join(lines[i:])


def header_fields(msg_bytes):
    """Header fields in order as (name, value) with folding kept."""
    head = msg_bytes.replace(b"\r\n", b"\n").split(b"\n\n", 1)[0].decode("utf-8", "replace")
    fields = []
    for line in head.split("\n"):
        if line[:1] in (" ", "\t") and fields:
            fields[-1] = (fields[-1][0], fields[-1][1] + "\n" + line)
        elif ":" in line:
            n, v = line.split(":", 1)
            fields.append((n, v))
    return fields


def find_by_subject(pf, subject):
    for path, m in pf.delivered():
        for n, v in header_fields(m):
            if n.lower() == "subject" and v.strip() == subject:
                return path, m
    return None, None


def swaks(port, sender, to, headers, body="Test body.\n", local="127.0.0.1"):
    data = "".join("%s: %s\n" % h for h in headers) + "\n" + body
    r = subprocess.run(["swaks", "--server", "127.0.0.1", "--port", str(port),
                        "--local-interface", local, "--from", sender, "--to", to,
                        "--helo", "client.test", "--data", "-"],
                       input=data, capture_output=True, text=True, timeout=60)
    return r


# ---------------------------------------------------------------- end to end

def e2e_inbound(pf, d):
    subject = "e2e inbound %d" % time.time()
    r = swaks(pf.ports["smtpd_milter"], "alice@good.example", "bob@dest.example", [
        ("Authentication-Results", "%s; dmarc=pass header.from=good.example" % AUTHSERV_ID),
        ("Authentication-Results", "other.example; spf=pass smtp.mailfrom=good.example"),
        ("From", "Alice <alice@good.example>"), ("To", "bob@dest.example"),
        ("Subject", subject), ("Message-ID", "<e2e-in@good.example>")])
    assert r.returncode == 0, r.stdout[-2000:]
    assert pf.wait_delivered(1) >= 1
    path, m = find_by_subject(pf, subject)
    assert m is not None, "not delivered"
    fields = header_fields(m)
    # Our field on top (above Postfix's own Received).
    assert fields[0][0] == "Authentication-Results" and fields[0][1].strip().startswith(AUTHSERV_ID + ";"), fields[:3]
    assert "spf=pass" in fields[0][1] and "dmarc=pass" in fields[0][1], fields[0]
    ars = [v.strip() for n, v in fields if n == "Authentication-Results"]
    assert len(ars) == 2, ars   # forged one gone
    assert ars[1].startswith("other.example;"), ars


def e2e_reject(pf, d):
    r = swaks(pf.ports["smtpd_milter"], "ceo@reject.example", "bob@dest.example", [
        ("From", "CEO <ceo@reject.example>"), ("To", "bob@dest.example"),
        ("Subject", "e2e reject")])
    out = r.stdout + r.stderr
    assert "<** 550 " + REJECT_TEXT in out, out[-2000:]
    time.sleep(0.5)
    assert find_by_subject(pf, "e2e reject")[1] is None, "a rejected message was delivered"


def e2e_outbound_signed(pf, d):
    subject = "e2e outbound %d" % time.time()
    r = swaks(pf.ports["smtpd_milter"], "carol@sign.example", "dave@far.example", [
        ("From", "Carol <carol@sign.example>"), ("To", "dave@far.example"),
        ("Subject", subject), ("Date", "Mon, 02 Jun 2025 10:00:00 +0000"),
        ("Message-ID", "<e2e-out@sign.example>")], body="Signed by mailvetd.\n", local="127.0.0.2")
    assert r.returncode == 0, r.stdout[-2000:]
    end = time.time() + 30
    while time.time() < end and find_by_subject(pf, subject)[1] is None:
        time.sleep(0.2)
    path, m = find_by_subject(pf, subject)
    assert m is not None, "not delivered"
    names = [n for n, v in header_fields(m)]
    assert names[:2] == ["DKIM-Signature", "DKIM-Signature"], names[:4]
    eml = os.path.join(d.dir, "outbound.eml")
    with open(eml, "wb") as f:
        f.write(m.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n"))
    v = subprocess.run([os.environ["MAILVET"], "verify", "--ip", "127.0.0.2", "--zone", os.path.join(DATA, "zone.txt"), eml],
                       capture_output=True, text=True)
    assert v.returncode == 0 and v.stdout.count("dkim=pass") == 2, v.stdout + v.stderr


def e2e_header_flood_hiding_a_p_reject_from_is_refused(pf, d):
    """Issue 10 item 1: 1,000 junk fields push the From past the header limit."""
    subject = "e2e flood %d" % time.time()
    junk = [("X-Junk-%d" % i, "filler %d" % i) for i in range(1000)]
    r = swaks(pf.ports["smtpd_milter"], "ceo@bank.example", "bob@dest.example",
              junk + [("From", "CEO <ceo@bank.example>"), ("Subject", subject)])
    out = r.stdout + r.stderr
    assert re.search(r"<\*\* 550 5\.6\.0 ", out), out[-2000:]
    time.sleep(0.5)
    assert find_by_subject(pf, subject)[1] is None, "the flooded message was delivered"


def e2e_from_domain_too_long_to_query_is_refused(pf, d):
    """Issue 10 item 2: a 247-octet From domain ending in bank.example (p=reject)."""
    long_domain = ".".join(["a" * 60] * 3 + ["x" * 51]) + ".bank.example"
    assert len(long_domain) == 247
    subject = "e2e long domain %d" % time.time()
    r = swaks(pf.ports["smtpd_milter"], "ceo@bank.example", "bob@dest.example",
              [("From", "CEO <ceo@%s>" % long_domain), ("Subject", subject)])
    out = r.stdout + r.stderr
    assert "<** 550 " + REJECT_TEXT in out, out[-2000:]
    time.sleep(0.5)
    assert find_by_subject(pf, subject)[1] is None, "the spoofed message was delivered"


# ---------------------------------------------------------------- load

def load_run(port, tag, n, conns):
    """n messages over conns connections; returns (seconds, latencies, ids, errors)."""
    per = [n // conns + (1 if i < n % conns else 0) for i in range(conns)]
    lat, ids, errors = [], [], []
    lock = threading.Lock()

    def worker(w, count):
        try:
            s = smtplib.SMTP("127.0.0.1", port, timeout=120)
            s.ehlo("load.test")
            for k in range(count):
                mid = "<%s-%d-%d@good.example>" % (tag, w, k)
                msg = ("From: Alice <alice@good.example>\r\nTo: bob@dest.example\r\n"
                       "Subject: load %s %d %d\r\nMessage-ID: %s\r\n\r\n" % (tag, w, k, mid)
                       + "line of load test body text\r\n" * 40)
                t = time.perf_counter()
                s.sendmail("alice@good.example", ["bob@dest.example"], msg)
                dt = time.perf_counter() - t
                with lock:
                    lat.append(dt)
                    ids.append(mid)
            s.quit()
        except Exception as e:  # noqa: BLE001
            with lock:
                errors.append("%s: %r" % (w, e))

    threads = [threading.Thread(target=worker, args=(w, per[w])) for w in range(conns)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - t0, sorted(lat), ids, errors


def pct(sorted_list, p):
    if not sorted_list:
        return float("nan")
    return sorted_list[min(len(sorted_list) - 1, int(round(p / 100.0 * (len(sorted_list) - 1))))]


def load(pf, d, already):
    base_t, base_lat, base_ids, base_err = load_run(pf.ports["smtpd_plain"], "plain", LOAD_MESSAGES, LOAD_CONNECTIONS)
    assert not base_err, base_err[:5]
    mil_t, mil_lat, mil_ids, mil_err = load_run(pf.ports["smtpd_milter"], "milter", LOAD_MESSAGES, LOAD_CONNECTIONS)
    assert not mil_err, mil_err[:5]
    want = already + 2 * LOAD_MESSAGES
    got = pf.wait_delivered(want, timeout=150)
    seen = {}
    for path, m in pf.delivered():
        for n, v in header_fields(m):
            if n.lower() == "message-id":
                seen[v.strip()] = seen.get(v.strip(), 0) + 1
    sent = set(mil_ids) | set(base_ids)
    lost = [i for i in sent if i not in seen]
    dup = [i for i in sent if seen.get(i, 0) > 1]
    added50 = (pct(mil_lat, 50) - pct(base_lat, 50)) * 1000
    added99 = (pct(mil_lat, 99) - pct(base_lat, 99)) * 1000
    hwm = harness.vm_hwm_kb(d.worker_pid())
    print("LOAD: %d messages over %d connections through Postfix + mailvetd: %.1f s, %.0f messages/s"
          % (LOAD_MESSAGES, LOAD_CONNECTIONS, mil_t, LOAD_MESSAGES / mil_t))
    print("LOAD: baseline without milter: %.1f s, %.0f messages/s" % (base_t, LOAD_MESSAGES / base_t))
    print("LOAD: per-message latency (MAIL..end of DATA) p50 %.1f ms / p99 %.1f ms with milter, "
          "p50 %.1f ms / p99 %.1f ms without" % (pct(mil_lat, 50) * 1000, pct(mil_lat, 99) * 1000,
                                                 pct(base_lat, 50) * 1000, pct(base_lat, 99) * 1000))
    print("LOAD: added latency per message: p50 %.1f ms, p99 %.1f ms" % (added50, added99))
    print("LOAD: mailvetd peak memory (VmHWM): %.1f MB" % (hwm / 1024.0))
    print("LOAD: delivered %d of %d; lost %d, duplicated %d" % (got, want, len(lost), len(dup)))
    assert not lost, "lost: %r" % lost[:5]
    assert not dup, "duplicated: %r" % dup[:5]
    assert len(mil_ids) == LOAD_MESSAGES and len(set(mil_ids)) == LOAD_MESSAGES
    lines = [l for l in d.message_lines() if "mail_from=alice@good.example" in l and "action=accept" in l]
    assert len(lines) >= LOAD_MESSAGES, "mailvetd logged %d accepted messages" % len(lines)


def main():
    preflight()
    harness.mailvetd_path()
    work = harness.tempdir("mailvetd-postfix-")
    os.chmod(work, 0o755)
    d = harness.Mailvetd(work, extra="[policy]\nreject_text = %s\n[log]\ndebug = no\n" % REJECT_TEXT)
    pf = Postfix(work, d.port)
    failures = 0
    try:
        d.start()
        pf.start()
        delivered = 0
        for case in (e2e_inbound, e2e_reject, e2e_outbound_signed,
                     e2e_header_flood_hiding_a_p_reject_from_is_refused,
                     e2e_from_domain_too_long_to_query_is_refused):
            try:
                case(pf, d)
                print("ok   %s" % case.__name__)
            except Exception:
                failures += 1
                print("FAIL %s" % case.__name__)
                traceback.print_exc(file=sys.stdout)
        delivered = len(pf.delivered())
        try:
            load(pf, d, delivered)
            print("ok   load")
        except Exception:
            failures += 1
            print("FAIL load")
            traceback.print_exc(file=sys.stdout)
    finally:
        pf.stop()
        rc = d.stop()
    if rc != 0:
        failures += 1
        print("FAIL mailvetd exit status %d" % rc)
        print(d.log_text()[-6000:])
    if failures:
        print("%d failure(s); logs in %s (mailvetd.log, postfix.log, sink/)" % (failures, work))
        with open(pf.log, "rb") as f:
            print(f.read().decode("utf-8", "replace")[-3000:])
        return 1
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
