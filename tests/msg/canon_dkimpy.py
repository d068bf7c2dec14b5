#!/usr/bin/python3
"""Differential test: our DKIM canonicalization against dkimpy's (python3-dkim).

Generates messages from a fixed seed (CRLF and bare LF line ends, folding,
whitespace runs, lone CRs, trailing blank lines), runs them through
canon_tool, and compares header and body canonicalization with what dkimpy
computes from dkim.rfc822_parse and dkim.canonicalization. Fails when
dkimpy is not installed.
"""
import random
import struct
import subprocess
import sys

try:
    import dkim
    from dkim.canonicalization import Relaxed, Simple
except ImportError:
    print("FAIL: canon_dkimpy: python3-dkim is not installed (scripts/install-deps --test)")
    sys.exit(1)

COUNT = 3000


def value(rng):
    parts = []
    for _ in range(rng.randint(0, 6)):
        parts.append(rng.choice([b"a", b"Bc", b" ", b"\t", b"  \t", b":", b"x\ry", b"\xc3\xa9"]))
        if rng.random() < 0.2:
            parts.append(rng.choice([b"\r\n ", b"\r\n\t", b"\n ", b"\r\n \t "]))
    return b"".join(parts)


def message(rng):
    eol = rng.choice([b"\r\n", b"\n"])
    head = b""
    for _ in range(rng.randint(1, 4)):
        name = rng.choice([b"From", b"SUBJECT", b"x-Test", b"DKIM-Signature"])
        v = value(rng)
        if eol == b"\n":
            v = v.replace(b"\r\n", b"\n")
        head += name + b":" + v + eol
    body = b"".join(rng.choice([b"a", b"b c", b" ", b"\t", b"\r", b"\n", b"\r\n", b"\r\n\r\n"])
                    for _ in range(rng.randint(0, 12)))
    return head + eol + body


def records(data, n):
    out, pos = [], 0
    for _ in range(n):
        (ln,) = struct.unpack(">I", data[pos:pos + 4])
        out.append(data[pos + 4:pos + 4 + ln])
        pos += 4 + ln
    return out, pos


def main():
    tool = sys.argv[1]
    rng = random.Random(6376)
    msgs = [message(rng) for _ in range(COUNT)]
    msgs += [b"A: 1\r\n\r\n", b"A: 1\r\n\r\n\r\n", b"A: 1\n\n \t\n\n", b"A: 1\r\n\r\nx\r",
             b"A: 1\r\n\r\n \r\n x  ", b"B : Y\t\r\n\tZ  \r\n\r\n C \r\nD \t E\r\n\r\n\r\n"]
    msgs = [m for m in msgs if not m.startswith(b"B :")]  # dkimpy refuses WSP before ':'
    stdin = b"".join(struct.pack(">I", len(m)) + m for m in msgs)
    res = subprocess.run([tool], input=stdin, stdout=subprocess.PIPE, check=True)
    pos, failures = 0, 0
    for m in msgs:
        got, used = records(res.stdout[pos:], 4)
        pos += used
        headers, body = dkim.rfc822_parse(m)
        want = [
            b"".join(n + b":" + v for n, v in Simple.canonicalize_headers(headers)),
            b"".join(n + b":" + v for n, v in Relaxed.canonicalize_headers(headers)),
            Simple.canonicalize_body(body),
            Relaxed.canonicalize_body(body),
        ]
        for what, g, w in zip(("simple header", "relaxed header", "simple body", "relaxed body"),
                              got, want):
            if g != w:
                failures += 1
                if failures <= 10:
                    print("MISMATCH %s for %r:\n  ours   %r\n  dkimpy %r" % (what, m, g, w))
    print("canon_dkimpy: %d messages, %d mismatches" % (len(msgs), failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
