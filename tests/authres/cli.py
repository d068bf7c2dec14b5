#!/usr/bin/python3
"""`mailvet parse` as its --help describes it: input forms, output shapes, exit statuses."""
import json
import os
import subprocess
import sys

MAILVET = os.environ["MAILVET"]

MESSAGE = (b"Received: from a by b; Fri, 15 Feb 2002 17:19:07 -0800\r\n"
           b"Authentication-Results: example.com;\r\n"
           b"\tspf=pass smtp.mailfrom=example.net\r\n"
           b"Subject: Authentication-Results: not.a.field; spf=pass\r\n"
           b"authentication-results: example.org 1; none\r\n"
           b"Authentication-Results: example.com; spf pass\r\n"
           b"From: a@example.net\r\n"
           b"\r\n"
           b"Authentication-Results: body.example; spf=pass\r\n")


def parse(args, data=b""):
    p = subprocess.run([MAILVET, "parse"] + args, input=data, capture_output=True)
    return p.returncode, p.stdout.decode("utf-8"), p.stderr.decode("utf-8")


def check(cond, what):
    if not cond:
        print("FAIL", what)
        check.failed += 1
    else:
        check.passed += 1


check.failed = check.passed = 0


def main():
    rc, out, _ = parse(["--json"], MESSAGE)
    got = json.loads(out)
    check(rc == 1, "a malformed field makes the exit status 1")
    check(len(got) == 3, "one object per field of the header, in order, none from the body")
    check(got[0]["authserv_id"] == "example.com" and got[0]["results"][0]["method"] == "spf",
          "a folded field (bare TAB continuation) parses")
    check(got[1] == {"authserv_id": "example.org", "version": 1, "results": []},
          "'none' gives an empty results array; the field name is case-insensitive")
    check(got[2] == {"error": "expected '=' after method at 18",
                     "header": "Authentication-Results: example.com; spf pass"},
          "a malformed field gives its error and text in its place")

    rc, out, _ = parse(["-"], MESSAGE)
    lines = out.splitlines()
    check(rc == 1 and lines[0] == "example.com: spf=pass smtp.mailfrom=example.net",
          "summary: one line per result")
    check(lines[1] == "example.org (version 1): none", "summary of a 'none' field")
    check(lines[2].startswith("error: expected '=' after method at 18: "), "summary of an error")

    rc, out, _ = parse(["--json"], b"Authentication-Results: spf=pass smtp.mailfrom=x\r\n")
    check(rc == 1 and "error" in json.loads(out)[0], "strict mode refuses a missing authserv-id")
    rc, out, _ = parse(["--json", "--lenient"],
                       b"Authentication-Results: spf=pass smtp.mailfrom=x\r\n")
    check(rc == 0 and json.loads(out)[0]["authserv_id"] is None,
          "--lenient accepts it with authserv_id null")

    rc, out, _ = parse(["--json"], b"Subject: nothing here\r\n")
    check(rc == 0 and json.loads(out) == [], "no field gives an empty array")
    rc, out, _ = parse(["--reformat"], b"Authentication-Results: example.org 1 ; none\n")
    check(rc == 0 and out == "Authentication-Results: example.org 1; none\r\n",
          "--reformat writes the field again")

    rc, out, _ = parse(["--help"])
    check(rc == 0 and "usage: mailvet parse" in out, "--help")
    rc, _, err = parse(["--bogus"])
    check(rc == 2 and "unknown option" in err, "an unknown option is a usage error")
    rc, _, err = parse(["/nonexistent/file"])
    check(rc == 2 and "/nonexistent/file" in err, "an unreadable file is exit status 2")
    rc, _, err = parse([], b"this is not a header\r\n")
    check(rc == 1 and err, "input that is no header block is malformed input")

    print(f"{check.passed} checks passed, {check.failed} failed")
    return 1 if check.failed else 0


if __name__ == "__main__":
    sys.exit(main())
