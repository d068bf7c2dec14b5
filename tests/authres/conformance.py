#!/usr/bin/python3
"""Conformance of `mailvet parse` with the public Authentication-Results suites.

1. RFC 8601 Appendix B ($MV_SHARED_DIR/conformance/authres/rfc8601-appendix-b.jsonl):
   `mailvet parse --json` of each header must equal `expect` exactly, and the field
   re-written by the formatter (`mailvet parse --reformat`) must parse to it again.
2. python-authres cases (authres-python-parse-cases.json): where RFC 8601 agrees with
   that library the structure must match (authserv_id, version, and per result method,
   version, result, reason, props); a case the library rejects must be an error for us
   too. The cases where RFC 8601 disagrees with the library are listed in DISAGREE with
   the reason; for them the strict parse must fail and the consumer mode (--lenient),
   made for such producers, must give the library's structure.

Exit 77 (skip) when the shared directory is absent.
"""
import json
import os
import subprocess
import sys

# doctest_line -> why RFC 8601 does not accept what python-authres accepts.
DISAGREE = {
    701: "'version=TLSv1.2 cipher=... bits=256' are not propspecs (RFC 8601 §2.2 requires "
         "ptype.property=pvalue); python-authres drops them silently",
    736: "same 'version=...' statements, and 'header.b=Qgi/FoC0': '/' is a tspecial, so the "
         "unquoted value is neither a token nor [local-part@]domain-name (it must be quoted, "
         "as python-authres itself writes it back)",
}


def run(mailvet, args, data):
    p = subprocess.run([mailvet, "parse"] + args, input=data, capture_output=True)
    return p.returncode, p.stdout.decode("utf-8"), p.stderr.decode("utf-8")


def appendix_b(mailvet, path, failures):
    n = 0
    with open(path, encoding="utf-8") as f:
        for line in f:
            if not line.strip():
                continue
            case = json.loads(line)
            n += 1
            name, header = case["case"], case["header"].encode("utf-8")
            rc, out, err = run(mailvet, ["--json"], header)
            got = json.loads(out) if out else None
            if rc != 0 or got != [case["expect"]]:
                failures.append(f"{name}: rc {rc}, got {out.strip()} {err.strip()}")
                continue
            rc, refmt, err = run(mailvet, ["--reformat"], header)
            rc2, out2, err2 = run(mailvet, ["--json"], refmt.encode("utf-8"))
            lines = refmt.split("\r\n")
            too_long = [l for l in lines if len(l.encode("utf-8")) > 78]
            if rc != 0 or rc2 != 0 or json.loads(out2) != [case["expect"]] or too_long:
                failures.append(f"{name}: round trip through {refmt!r} gave {out2.strip()} "
                                f"{err}{err2}")
    return n


def library_shape(case):
    """The library's answer in the shape mailvet prints."""
    return {
        "authserv_id": case["authserv_id"],
        "version": case["version"],
        "results": [{
            "method": r["method"],
            "version": r["version"],
            "result": r["result"],
            "reason": r["reason"],
            "props": [{"ptype": p["type"], "property": p["name"], "value": p["value"]}
                      for p in r["properties"]],
        } for r in case["results"]],
    }


def python_authres(mailvet, path, failures):
    with open(path, encoding="utf-8") as f:
        cases = json.load(f)["cases"]
    agree = 0
    for case in cases:
        line, header = case["doctest_line"], case["header"].encode("utf-8")
        rc, out, err = run(mailvet, ["--json"], header)
        got = json.loads(out)[0] if out else None
        if line in DISAGREE:
            rc2, out2, _ = run(mailvet, ["--json", "--lenient"], header)
            if rc != 1 or "error" not in got:
                failures.append(f"line {line}: expected a strict syntax error, got {out}")
            elif rc2 != 0 or json.loads(out2)[0] != library_shape(case):
                failures.append(f"line {line}: --lenient gave {out2}")
            continue
        if not case["ok"]:
            if rc != 1 or "error" not in got:
                failures.append(f"line {line}: library rejects it ({case['error']}), we gave {out}")
            else:
                agree += 1
            continue
        if rc != 0 or got != library_shape(case):
            failures.append(f"line {line}: got {out.strip()}, library {library_shape(case)}")
        else:
            agree += 1
    return len(cases), agree


def main():
    mailvet = os.environ.get("MAILVET")
    shared = os.environ.get("MV_SHARED_DIR", "")
    suite = os.path.join(shared, "conformance", "authres")
    if not shared or not os.path.isdir(suite):
        print(f"SKIP: no conformance suite at '{suite}' (set MV_SHARED_DIR)")
        return 77
    if not mailvet:
        print("MAILVET is not set")
        return 1
    failures = []
    nb = appendix_b(mailvet, os.path.join(suite, "rfc8601-appendix-b.jsonl"), failures)
    total, agree = python_authres(mailvet, os.path.join(suite, "authres-python-parse-cases.json"),
                                  failures)
    for f in failures:
        print("FAIL", f)
    print(f"appendix B: {nb} cases (parse + round trip); python-authres: {agree}/{total} agree, "
          f"{len(DISAGREE)} differ by RFC 8601 (listed in DISAGREE); {len(failures)} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
