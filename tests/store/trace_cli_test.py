#!/usr/bin/python3
"""submission.trace_cli: `mailvet trace` finds trace records (issue 13).

Usage: trace_cli_test.py MAILVET TRACE_PUT. The same records go into a
SQLite store and a PostgreSQL database (a private server, pgserver.py;
one that cannot start fails the test); each search by Message-ID (with and
without brackets), trace id, login and time range must find exactly the
expected records, as a table and as JSON lines, with the documented exit
statuses (0 found, 1 none, 2 usage, 3 store error).
"""
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import pgserver  # noqa: E402
sys.path.insert(0, os.path.join(HERE, "..", "daemon"))
import harness  # noqa: E402

MAILVET, TRACE_PUT = sys.argv[1], sys.argv[2]
NOW = int(time.time())
DAY = 86400
# time, trace id, login, client, message id, envelope from, rcpts, d=, s=
RECORDS = [
    (1764547200 + 3600, "T-old", "alice@example.com", "192.0.2.1", "<old@example.com>",
     "alice@example.com", 1, "example.com", "s1"),      # 2025-12-01 01:00 UTC
    (NOW - 2 * DAY, "T-two", "bob@example.com", "2001:db8::2", "two@example.com",
     "bob@example.com", 2, "", ""),
    (NOW - 3600, "T-new", "alice@example.com", "192.0.2.3", "<new@example.com>",
     "alice@example.com", 3, "example.com", "s1"),
]
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL", what)


def trace(store, *args):
    r = subprocess.run([MAILVET, "trace", "--store", store] + list(args), capture_output=True,
                       text=True)
    return r.returncode, r.stdout, r.stderr


def ids_json(store, *args):
    rc, out, err = trace(store, "--json", *args)
    return rc, [json.loads(l)["trace_id"] for l in out.splitlines() if l.strip()]


def run_cases(name, store):
    lines = "".join("\t".join(str(f) for f in r) + "\n" for r in RECORDS)
    r = subprocess.run([TRACE_PUT, store], input=lines, text=True, capture_output=True)
    check(r.returncode == 0, "%s: trace_put: %s" % (name, r.stderr))
    cases = [
        (["--message-id", "new@example.com"], ["T-new"]),
        (["--message-id", "<new@example.com>"], ["T-new"]),
        (["--message-id", "<two@example.com>"], ["T-two"]),
        (["--trace-id", "T-two"], ["T-two"]),
        (["--login", "alice@example.com"], ["T-old", "T-new"]),
        (["--login", "alice@example.com", "--since", "7d"], ["T-new"]),
        (["--since", "3d", "--until", "1d"], ["T-two"]),
        (["--since", "2025-12-01", "--until", "2025-12-02"], ["T-old"]),
        (["--until", str(1764547200 + 3600)], []),  # until is exclusive
        (["--since", "24h"], ["T-new"]),
        (["--login", "nobody@example.com"], []),
        ([], ["T-old", "T-two", "T-new"]),
        (["--limit", "1"], ["T-old"]),
    ]
    for args, want in cases:
        rc, got = ids_json(store, *args)
        check(got == want and rc == (0 if want else 1),
              "%s: trace %s -> rc %d %r, want %r" % (name, " ".join(args), rc, got, want))
    rc, out, _ = trace(store, "--trace-id", "T-new")
    check(rc == 0 and "T-new" in out and "s1._domainkey.example.com" in out
          and "192.0.2.3" in out and "<new@example.com>" in out,
          "%s: table output: %r" % (name, out))
    rc, out, _ = trace(store, "--json", "--trace-id", "T-old")
    rec = json.loads(out.splitlines()[0]) if rc == 0 and out else {}
    check(rec.get("login") == "alice@example.com" and rec.get("rcpt_count") == 1
          and rec.get("client_ip") == "192.0.2.1" and rec.get("dkim_selector") == "s1"
          and rec.get("utc") == "2025-12-01T01:00:00Z", "%s: json fields: %r" % (name, out))
    rc, out, _ = trace(store, "--purge-before", "30d")
    check(rc == 0 and out.startswith("1 trace record"), "%s: purge: %d %r" % (name, rc, out))
    rc, got = ids_json(store)
    check(got == ["T-two", "T-new"], "%s: after purge: %r" % (name, got))


def main():
    d = harness.tempdir("mv-trace-cli-")
    run_cases("sqlite", "sqlite:%s/store.db" % d)
    # usage and store errors
    check(trace("sqlite:%s/store.db" % d, "--since", "yesterday")[0] == 2, "bad TIME is 2")
    check(subprocess.run([MAILVET, "trace"], capture_output=True).returncode == 2, "no --store is 2")
    check(trace("sqlite:%s/store.db" % d, "--purge-before", "1d", "--login", "x")[0] == 2,
          "purge with a filter is 2")
    check(trace("sqlite:/nonexistent-dir/x.db")[0] == 3, "unopenable store is 3")
    pg = pgserver.PgServer()
    try:
        pg.start()
        run_cases("postgresql", pg.createdb("mvtrace"))
        pg.stop()
        check(trace(pg.location("mvtrace"))[0] == 3, "a stopped server is 3")
    except RuntimeError as e:
        check(False, "postgresql: %s" % e)
    finally:
        pg.cleanup()
        subprocess.run(["rm", "-rf", d])
    print("FAIL: %d" % len(failures) if failures else "ok")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
