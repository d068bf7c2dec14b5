#!/usr/bin/python3
"""mailvetd's [http] listener: /metrics, the status page, credentials and
`mailvet stats`.

Usage: http_test.py CASE MAILVETD MAILVET, CASE one of metrics, status_page,
auth, stats_cli. A private mailvetd (tests/daemon/harness.py) answers a
known set of messages through our milter client; DNS comes from
tests/daemon/data/zone.txt. Exits non-zero on any failure.
"""
import html.parser
import json
import os
import re
import smtplib
import subprocess
import sys
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "daemon"))
sys.path.insert(0, HERE)
import harness  # noqa: E402
from harness import DATA  # noqa: E402
from milterproto import MilterClient, apply_mods  # noqa: E402
import promparse  # noqa: E402
from fakehop import FakeHop  # noqa: E402

CASE, MAILVETD, MAILVET = sys.argv[1], sys.argv[2], sys.argv[3]
os.environ["MAILVETD"] = MAILVETD

VERDICTS = ("accept", "reject", "quarantine", "tempfail")
# Every label the metrics may carry, and its values: bounded sets, never a domain or an address.
LABELS = {
    "front_end": {"milter", "smtp"},
    "verdict": set(VERDICTS),
    "method": {"spf", "dkim", "dmarc", "arc", "iprev", "auth", "other"},
    "result": {"none", "pass", "fail", "softfail", "neutral", "temperror", "permerror", "policy",
               "other"},
    "policy": {"none", "quarantine", "reject", "other"},
    "kind": {"internal", "unreadable_header", "http_unauthorized"},
    "process": {"key", "auth"},
    "outcome": {"answered", "timeout", "error", "skipped"},
}

# The known set: (client, queue id, author domain) -> the verdict it gets.
INBOUND = [("G1", "good.example"), ("G2", "good.example"), ("G3", "good.example"),
           ("R1", "reject.example"), ("R2", "reject.example"),
           ("Q1", "quarantine.example"), ("T1", "temp.example")]
OUTBOUND = [("O1", "sign.example")]


def start(workdir, extra=""):
    port = harness.free_port()
    d = harness.Mailvetd(workdir, extra="[http]\nlisten = 127.0.0.1:%d\n%s" % (port, extra))
    d.http = "http://127.0.0.1:%d" % port
    d.start()
    harness.wait_port(port, d.proc)
    return d


def get(url, headers=None):
    req = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, r.read().decode(), r.headers
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(), e.headers


def metrics(d, headers=None):
    status, body, hdrs = get(d.http + "/metrics", headers)
    assert status == 200, (status, body)
    assert hdrs["Content-Type"].startswith("text/plain; version=0.0.4"), hdrs["Content-Type"]
    return body, promparse.parse(body)


def send(c, qid, domain):
    return c.message("someone@" + domain, [("From", " Someone <someone@%s>" % domain),
                                           ("To", " rcpt@sign.example"), ("Subject", " " + qid)],
                     b"Hello.\r\n", queue_id=qid)


def send_known_set(d):
    """The known set through the milter; returns with one session still open."""
    c = MilterClient("127.0.0.1", d.port)
    c.negotiate()
    assert c.connect("mx.good.example", "192.0.2.10").final == "continue"
    c.helo("mx.good.example")
    for qid, domain in INBOUND:
        send(c, qid, domain)
    c.quit()
    out = MilterClient("127.0.0.1", d.port)
    out.negotiate()
    out.connect("localhost.test", "127.0.0.2")
    out.helo("localhost.test")
    for qid, domain in OUTBOUND:
        assert send(out, qid, domain).final == "continue"
    for qid, _ in INBOUND + OUTBOUND:
        assert d.wait_log("queue_id=%s " % qid), "no log line for %s" % qid
    return out


def wait_sessions(d, front_end, want):
    end = time.time() + 10
    while True:
        _, fams = metrics(d)
        got = promparse.value(fams, "mailvet_sessions_open", front_end=front_end)
        if got == want or time.time() > end:
            return got
        time.sleep(0.1)


# ---------------------------------------------------------------- metrics

EXPECTED = {
    ("mailvet_messages_total", (("front_end", "milter"), ("verdict", "accept"))): 4,
    ("mailvet_messages_total", (("front_end", "milter"), ("verdict", "reject"))): 2,
    ("mailvet_messages_total", (("front_end", "milter"), ("verdict", "quarantine"))): 1,
    ("mailvet_messages_total", (("front_end", "milter"), ("verdict", "tempfail"))): 1,
    # through the SMTP front end: one passes (relayed), one fails DMARC p=reject
    ("mailvet_messages_total", (("front_end", "smtp"), ("verdict", "accept"))): 1,
    ("mailvet_messages_total", (("front_end", "smtp"), ("verdict", "reject"))): 1,
    ("mailvet_results_total", (("method", "spf"), ("result", "pass"))): 4 + 1,
    ("mailvet_results_total", (("method", "spf"), ("result", "fail"))): 3 + 1,
    ("mailvet_results_total", (("method", "spf"), ("result", "temperror"))): 1,
    ("mailvet_results_total", (("method", "dkim"), ("result", "none"))): 8 + 2,
    ("mailvet_results_total", (("method", "arc"), ("result", "none"))): 8 + 2,
    ("mailvet_results_total", (("method", "dmarc"), ("result", "pass"))): 4 + 1,
    ("mailvet_results_total", (("method", "dmarc"), ("result", "fail"))): 3 + 1,
    ("mailvet_results_total", (("method", "dmarc"), ("result", "temperror"))): 1,
    ("mailvet_results_total", (("method", "iprev"), ("result", "pass"))): 7 + 2,
    ("mailvet_results_total", (("method", "iprev"), ("result", "permerror"))): 1,
    ("mailvet_dmarc_policy_applied_total", (("policy", "reject"),)): 2 + 1,
    ("mailvet_dmarc_policy_applied_total", (("policy", "quarantine"),)): 1,
    ("mailvet_verify_duration_seconds_count", ()): 8 + 2,
    ("mailvet_dns_timeouts_total", ()): 2,  # temp.example: its SPF and DMARC records
    ("mailvet_sessions_open", (("front_end", "milter"),)): 1,
    ("mailvet_sessions_open", (("front_end", "smtp"),)): 1,
}


def send_smtp(d, port):
    """Two messages through the SMTP front end; returns the session, still open."""
    s = smtplib.SMTP("127.0.0.1", port, timeout=30)
    s.ehlo("localhost.test")
    s.sendmail("someone@good.example", ["rcpt@dest.example"],
               b"From: someone@good.example\r\nSubject: S1\r\n\r\nHello.\r\n")
    try:
        s.sendmail("someone@reject.example", ["rcpt@dest.example"],
                   b"From: someone@reject.example\r\nSubject: S2\r\n\r\nHello.\r\n")
        raise AssertionError("a DMARC p=reject failure was accepted over SMTP")
    except smtplib.SMTPDataError as e:
        assert e.smtp_code == 550, e
    end = time.time() + 10
    while len(d.message_lines()) < len(INBOUND) + len(OUTBOUND) + 2 and time.time() < end:
        time.sleep(0.05)
    return s


def check_labels(fams):
    for name, f in fams.items():
        assert name.startswith("mailvet_") or name == "process_start_time_seconds", name
        for sname, labels, _ in f["samples"]:
            for k, v in labels.items():
                assert "@" not in v and ".example" not in v, (sname, labels)
                if k == "le":
                    promparse.parse_value(v, sname)
                elif k == "version":
                    assert sname == "mailvet_build_info", sname
                else:
                    assert k in LABELS and v in LABELS[k], (sname, k, v)


KEY_CACHE = ("mailvet_dkim_key_cache_hits_total", "mailvet_dkim_key_cache_misses_total",
             "mailvet_dkim_key_cache_evictions_total", "mailvet_dkim_key_cache_entries")


def calls(fams):
    """{(process, outcome): count} of mailvet_privsep_calls_total."""
    return {(l["process"], l["outcome"]): v for _, l, v in fams["mailvet_privsep_calls_total"]["samples"]}


def check_key_cache(d, fams, out):
    """No message of the known set has a DKIM signature: the decoded-key cache is
    untouched. A message the daemon signed (outbound session out: one signature
    per key of sign.example), sent back in twice: each key decoded once, then
    found decoded. Each of its signatures was one answered request to the key
    process; no request went unanswered, and with no AUTH nothing asked the auth
    process (there is none)."""
    for name in KEY_CACHE:
        assert promparse.value(fams, name) == 0, (name, promparse.value(fams, name))
    before = calls(fams)
    hs = [("From", " Someone <someone@sign.example>"), ("To", " rcpt@dest.example"),
          ("Subject", " key cache")]
    a = out.message("someone@sign.example", hs, b"Hello.\r\n", queue_id="KC0")
    signed = apply_mods(hs, a.mods)
    keys = len([v for n, v in signed if n == "DKIM-Signature"])
    assert keys >= 1, signed
    c = MilterClient("127.0.0.1", d.port)
    c.negotiate()
    assert c.connect("mx.good.example", "192.0.2.10").final == "continue"
    c.helo("mx.good.example")
    for qid in ("KC1", "KC2"):
        c.message("someone@sign.example", signed, b"Hello.\r\n", queue_id=qid)
        assert d.wait_log("queue_id=%s " % qid), "no log line for %s" % qid
    c.quit()
    _, fams = metrics(d)
    got = {name: promparse.value(fams, name) for name in KEY_CACHE}
    print("key cache after %d signatures verified twice: %r" % (keys, got))
    assert got["mailvet_dkim_key_cache_misses_total"] == keys, got
    assert got["mailvet_dkim_key_cache_hits_total"] == keys, got
    assert got["mailvet_dkim_key_cache_entries"] == keys, got
    assert got["mailvet_dkim_key_cache_evictions_total"] == 0, got
    after = calls(fams)
    print("requests to the key process: %d answered before the signed message, %d after"
          % (before[("key", "answered")], after[("key", "answered")]))
    assert after[("key", "answered")] - before[("key", "answered")] == keys, (before, after)
    assert before[("key", "answered")] >= keys, before  # the worker's start asked for each key
    for (process, outcome), v in after.items():
        if (process, outcome) != ("key", "answered"):
            assert v == 0, (process, outcome, v)
    assert len(after) == 8, after
    return set(KEY_CACHE) | {"mailvet_privsep_calls_total"}


def case_metrics(workdir):
    t0 = int(time.time())
    hop, smtp_port = FakeHop(), harness.free_port()
    d = start(workdir, "[listener mx]\nlisten = 127.0.0.1:%d\nnext_hop = inet:127.0.0.1:%d\n"
              % (smtp_port, hop.port))
    try:
        out = send_known_set(d)
        smtp = send_smtp(d, smtp_port)
        _, fams = metrics(d)
        checked = set()
        for (name, labels), want in EXPECTED.items():
            got = promparse.value(fams, name, **dict(labels))
            assert got == want, "%s%r = %r, expected %r" % (name, dict(labels), got, want)
            checked.add(promparse.family_of(name, fams))
        # Every other series of the exact families is 0.
        for fam in ("mailvet_messages_total", "mailvet_results_total",
                    "mailvet_dmarc_policy_applied_total", "mailvet_errors_total"):
            for sname, labels, v in fams[fam]["samples"]:
                if (sname, tuple(sorted(labels.items()))) not in EXPECTED:
                    assert v == 0, (sname, labels, v)
            checked.add(fam)
        for f in ("milter", "smtp"):
            for v in VERDICTS:
                promparse.value(fams, "mailvet_messages_total", front_end=f, verdict=v)
        q = promparse.value(fams, "mailvet_dns_queries_total")
        hits = promparse.value(fams, "mailvet_dns_cache_hits_total")
        pre = promparse.value(fams, "mailvet_dns_prefetched_total")
        lat = promparse.value(fams, "mailvet_dns_query_duration_seconds_count")
        assert q > 0 and lat == q - hits + pre, (q, hits, pre, lat)
        checked |= {"mailvet_dns_queries_total", "mailvet_dns_cache_hits_total",
                    "mailvet_dns_prefetched_total", "mailvet_dns_query_duration_seconds"}
        version = subprocess.run([MAILVET, "--version"], capture_output=True, text=True).stdout.split()[-1]
        assert promparse.value(fams, "mailvet_build_info", version=version) == 1
        started = promparse.value(fams, "process_start_time_seconds")
        assert t0 - 5 <= started <= time.time() + 1, (t0, started)
        checked |= {"mailvet_build_info", "process_start_time_seconds"}
        check_labels(fams)
        checked |= check_key_cache(d, fams, out)
        out.quit()
        smtp.quit()
        assert wait_sessions(d, "milter", 0) == 0, "the milter session gauge did not drop to 0"
        assert wait_sessions(d, "smtp", 0) == 0, "the SMTP session gauge did not drop to 0"
        assert set(fams) == checked, "families not checked: %r" % (set(fams) ^ checked)
        print("metrics checked: " + " ".join(sorted(checked)))
    finally:
        rc = harness.stop_checked(d)
    return rc


# ---------------------------------------------------------------- status page

class Page(html.parser.HTMLParser):
    """The text of every element with an id, and the rows of every table with one."""

    def __init__(self):
        super().__init__()
        self.ids, self.tables, self.stack = {}, {}, []
        self.table, self.row, self.cell = None, None, None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "table" and a.get("id"):
            self.table = self.tables.setdefault(a["id"], [])
        elif tag == "tr" and self.table is not None:
            self.row = []
        elif tag in ("td", "th") and self.row is not None:
            self.cell = []
        if a.get("id") and tag != "table":
            self.stack.append((a["id"], []))

    def handle_data(self, data):
        for _, buf in self.stack:
            buf.append(data)
        if self.cell is not None:
            self.cell.append(data)

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self.cell is not None and self.row is not None:
            self.row.append("".join(self.cell).strip())
            self.cell = None
        elif tag == "tr" and self.row is not None:
            self.table.append(self.row)
            self.row = None
        elif tag == "table":
            self.table = None
        if tag in ("td", "th") and self.stack:
            ident, buf = self.stack.pop()
            self.ids[ident] = "".join(buf).strip()


def chromium(workdir, url, *args):
    cmd = ["/usr/bin/chromium", "--headless", "--no-sandbox", "--disable-gpu",
           "--user-data-dir=" + os.path.join(workdir, "chromium"), "--window-size=1200,1400"]
    r = subprocess.run(cmd + list(args) + [url], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, (r.returncode, r.stderr[-2000:])
    return r.stdout


def case_status_page(workdir):
    store = os.path.join(workdir, "reports.db")
    extra = ("[reports]\nstore = sqlite:%s\n"
             "[domain other.example]\nkey = rsa1 %s\n"
             "[domain lists.untrusted.example]\nkey = ed1 %s\n") % (
        store, os.path.join(DATA, "rsa1.pem"), os.path.join(DATA, "rsa1.pem"))
    d = start(workdir, extra)
    try:
        send_known_set(d).quit()
        wait_sessions(d, "milter", 0)
        end = time.time() + 20  # the recorder writes in the background; the key check too
        while True:
            _, text, _ = get(d.http + "/")
            if ("reject.example" in text and "not checked yet" not in text) or time.time() > end:
                break
            time.sleep(0.2)
        shot = os.path.join(workdir, "status.png")
        chromium(workdir, d.http + "/", "--screenshot=" + shot)
        with open(shot, "rb") as f:
            png = f.read()
        assert png.startswith(b"\x89PNG") and len(png) > 5000, len(png)
        print("screenshot: " + shot)
        page = Page()
        page.feed(chromium(workdir, d.http + "/", "--dump-dom"))
        _, fams = metrics(d)
        for v in VERDICTS:
            total = sum(promparse.value(fams, "mailvet_messages_total", front_end=f, verdict=v)
                        for f in ("milter", "smtp"))
            for span in ("total", "hour", "day"):
                shown = int(page.ids["%s-%s" % (span, v)])
                assert shown == total, (span, v, shown, total)
        for f in ("milter", "smtp"):
            assert int(page.ids["sessions-" + f]) == promparse.value(fams, "mailvet_sessions_open", front_end=f)
        assert page.ids["config-path"] == d.conf, page.ids["config-path"]
        assert re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$", page.ids["config-loaded"]), page.ids
        assert re.match(r"\dd \d\dh \d\dm \d\ds", page.ids["uptime"]), page.ids["uptime"]
        keys = [tuple(r) for r in page.tables["keys"][1:]]
        want = [("sign.example", "rsa1", "rsa-sha256", "published record matches"),
                ("sign.example", "ed1", "ed25519-sha256", "published record matches"),
                ("other.example", "rsa1", "rsa-sha256", "missing"),
                ("lists.untrusted.example", "ed1", "rsa-sha256", "mismatch")]
        assert sorted(keys) == sorted(want), keys
        top = {r[0]: (int(r[1]), int(r[2])) for r in page.tables["top-domains"][1:]}
        assert top == {"good.example": (3, 0), "reject.example": (0, 2),
                       "quarantine.example": (0, 1)}, top
        print("status page numbers equal the counters: %s" % json.dumps(
            {k: v for k, v in page.ids.items() if k.startswith(("total-", "hour-", "day-", "sessions-"))}))
        reload_rechecks_the_keys(d, page.ids["config-loaded"])
    finally:
        rc = harness.stop_checked(d)
    return rc


def reload_rechecks_the_keys(d, loaded_before):
    """A SIGHUP that adds a key: the page shows it, checked, and a new load time."""
    time.sleep(1.1)  # the load time has a one-second resolution
    with open(d.conf, "a") as f:
        f.write("[domain new.example]\nkey = ed1 %s\n" % os.path.join(DATA, "ed1.pem"))
    d.hup()
    end = time.time() + 20
    while True:
        page = Page()
        page.feed(get(d.http + "/")[1])
        rows = [tuple(r) for r in page.tables["keys"][1:]]
        if ("new.example", "ed1", "ed25519-sha256", "missing") in rows or time.time() > end:
            break
        time.sleep(0.2)
    assert ("new.example", "ed1", "ed25519-sha256", "missing") in rows, rows
    assert page.ids["config-loaded"] != loaded_before, (page.ids["config-loaded"], loaded_before)
    print("after SIGHUP: loaded %s, %d keys checked" % (page.ids["config-loaded"], len(rows)))


# ---------------------------------------------------------------- auth

def check_config(workdir, text):
    conf = os.path.join(workdir, "check.conf")
    with open(conf, "w") as f:
        f.write(text)
    r = subprocess.run([MAILVETD, "-n", "-c", conf], capture_output=True, text=True, timeout=60)
    return conf, r


def case_auth(workdir):
    base = harness.Mailvetd(workdir)  # writes the base configuration only
    with open(base.conf) as f:
        text = f.read()
    lines = text.count("\n")
    conf, r = check_config(workdir, text + "[http]\nlisten = 0.0.0.0:8895\n")
    assert r.returncode != 0, r
    want = "%s:%d:" % (conf, lines + 2)
    assert want in r.stderr and "not a loopback address" in r.stderr, (want, r.stderr)
    print("-n refuses: " + r.stderr.strip())
    for extra, why in (("token = short\n", "shorter than"),
                       ("user = admin\n", "go together"),
                       ("user = admin\npassword_file = relative\n", "absolute path")):
        _, r = check_config(workdir, text + "[http]\nlisten = 0.0.0.0:8895\n" + extra)
        assert r.returncode != 0 and why in r.stderr, (extra, r.stderr)
    _, r = check_config(workdir, text + "[http]\nlisten = 0.0.0.0:8895\ntoken = 0123456789abcdef01\n")
    assert r.returncode == 0 and "configuration OK" in r.stdout, r
    _, r = check_config(workdir, text + "[http]\nlisten = 127.0.0.1:99999\n")
    assert r.returncode != 0 and "listen" in r.stderr, r.stderr

    token = "s3cret-token-0123456789"
    pwfile = os.path.join(workdir, "password")
    with open(pwfile, "w") as f:
        f.write("hunter2-long\n")
    d = start(workdir, "token = %s\nuser = admin\npassword_file = %s\n" % (token, pwfile))
    try:
        denied = 0
        for headers in ({}, {"Authorization": "Bearer wrong-token-0123456789"},
                        {"Authorization": "Basic YWRtaW46d3Jvbmc="}):  # admin:wrong
            for path in ("/metrics", "/"):
                status, _, hdrs = get(d.http + path, headers)
                assert status == 401, (path, headers, status)
                assert hdrs["WWW-Authenticate"], hdrs
                denied += 1
        status, _, _ = get(d.http + "/", {"Authorization": "Bearer " + token})
        assert status == 200, status
        import base64
        basic = base64.b64encode(b"admin:hunter2-long").decode()
        _, fams = metrics(d, {"Authorization": "Basic " + basic})
        assert promparse.value(fams, "mailvet_errors_total", kind="http_unauthorized") == denied
        r = subprocess.run([MAILVET, "stats", "--url", d.http], capture_output=True, text=True)
        assert r.returncode == 1 and "401" in r.stderr, r
        tokfile = os.path.join(workdir, "token")
        with open(tokfile, "w") as f:
            f.write(token + "\n")
        r = subprocess.run([MAILVET, "stats", "--url", d.http, "--token-file", tokfile],
                           capture_output=True, text=True)
        assert r.returncode == 0 and "mailvet_messages_total" in r.stdout, r
        status, _, _ = get(d.http + "/nothing", {"Authorization": "Bearer " + token})
        assert status == 404, status
        print("without credentials: 401 (%d requests); with the token or the password: 200" % denied)
    finally:
        rc = harness.stop_checked(d)
    return rc


# ---------------------------------------------------------------- stats_cli

def number(word):
    try:
        return float(word)
    except ValueError:
        return None  # a heading row: label names


def case_stats_cli(workdir):
    d = start(workdir)
    try:
        send_known_set(d).quit()
        wait_sessions(d, "milter", 0)
        r = subprocess.run([MAILVET, "stats", "--json", "--url", d.http], capture_output=True, text=True)
        assert r.returncode == 0, r
        _, fams = metrics(d)
        got = json.loads(r.stdout)
        assert [f["name"] for f in got["families"]] == list(fams), [f["name"] for f in got["families"]]
        for f in got["families"]:
            want = fams[f["name"]]
            assert f["type"] == want["type"] and f["help"] == want["help"], f["name"]
            pairs = [(s["name"], s["labels"], float(s["value"])) for s in f["samples"]]
            assert pairs == want["samples"], (f["name"], pairs, want["samples"])
        r = subprocess.run([MAILVET, "stats", "--url", d.http], capture_output=True, text=True)
        assert r.returncode == 0, r
        out = r.stdout
        rows = [l.split() for l in out.splitlines() if l.startswith("  ") and not l.startswith("  [")]
        n = 0
        for name, f in fams.items():
            assert "  [%s, %s]" % (name, f["type"]) in out and f["help"] in out, name
            for sname, labels, v in f["samples"]:
                words = ([sname[len(name) + 1:]] if sname != name else []) + list(labels.values())
                match = [w for w in rows if w[:-1] == words and number(w[-1]) == v]
                assert match, (sname, labels, v)
                n += 1
        print("mailvet stats: %d samples of %d families equal /metrics (table and --json)" % (n, len(fams)))
        r = subprocess.run([MAILVET, "stats", "--url", "http://127.0.0.1:%d" % harness.free_port()],
                           capture_output=True, text=True)
        assert r.returncode == 2 and "cannot connect" in r.stderr, r
        r = subprocess.run([MAILVET, "stats", "--url", d.http + "/nothing"], capture_output=True, text=True)
        assert r.returncode == 1 and "404" in r.stderr, r
    finally:
        rc = harness.stop_checked(d)
    return rc


CASES = {"metrics": case_metrics, "status_page": case_status_page, "auth": case_auth,
         "stats_cli": case_stats_cli}


def main():
    workdir = harness.tempdir("mv-http-%s-" % CASE)
    print("workdir: " + workdir)
    try:
        rc = CASES[CASE](workdir)
    except Exception:
        import traceback
        traceback.print_exc()
        rc = 1
    print("%s: %s" % (CASE, "ok" if rc == 0 else "FAILED"))
    return rc


if __name__ == "__main__":
    sys.exit(main())
