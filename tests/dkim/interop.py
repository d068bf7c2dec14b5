#!/usr/bin/python3
"""tests/dkim/interop.py — DKIM interop with dkimpy and Mail::DKIM, both directions.

Peers sign, mailvet verifies; mailvet signs, peers verify: the four
canonicalization pairs, with and without l=, rsa-sha256 and ed25519-sha256
(Mail::DKIM 1.20230212 has no ed25519), and tampered copies that must fail.
Keys come from `mailvet keygen`, DNS from the zone file it prints (mailvet:
--zone; dkimpy: dnsfunc; Mail::DKIM: Mail::DKIM::DNS::resolver).
Exit 0 all good, 1 a failure or a peer missing (never a skip).
"""
import base64
import json
import os
import re
import subprocess
import sys
import tempfile
import time

MAILVET = os.environ.get("MAILVET", "mailvet")
HERE = os.path.dirname(os.path.abspath(__file__))
PERL_PEER = os.path.join(HERE, "mail_dkim.pl")
DOMAIN = "example.com"
NOW = 1700000000
CANONS = ["simple/simple", "simple/relaxed", "relaxed/simple", "relaxed/relaxed"]

MESSAGE = (b"From: Alice <alice@example.com>\r\n"
           b"To: Bob <bob@example.net>\r\n"
           b"Subject:  Interop   test \r\n"
           b"Date: Tue, 14 Nov 2023 22:13:20 +0000\r\n"
           b"Message-ID: <interop@example.com>\r\n"
           b"\r\n"
           b"Hello Bob,  \r\n"
           b"\r\n"
           b"this line has \t tabs and  spaces.\r\n"
           b"Alice\r\n"
           b"\r\n\r\n")

try:
    import dkim
except ImportError:
    print("FAIL: python3-dkim is not installed (scripts/install-deps --test)")
    sys.exit(1)
if subprocess.run(["perl", "-MMail::DKIM::Verifier", "-e", "1"],
                  capture_output=True).returncode != 0:
    print("FAIL: libmail-dkim-perl is not installed (scripts/install-deps --test)")
    sys.exit(1)

failures = []
checks = 0


def check(cond, what):
    global checks
    checks += 1
    if not cond:
        failures.append(what)
        print("FAIL:", what)


def run(args, data=None):
    p = subprocess.run(args, input=data, capture_output=True)
    if p.returncode not in (0, 1):
        raise RuntimeError("%s: %s" % (args, p.stderr.decode(errors="replace")))
    return p.stdout


def tamper(msg):
    """Change one byte of the first body line (always inside l= here)."""
    head, body = msg.split(b"\r\n\r\n", 1)
    return head + b"\r\n\r\n" + body.replace(b"Hello", b"Hallo", 1)


class Zone:
    def __init__(self, path):
        self.path = path
        self.records = {}
        for line in open(path):
            parts = line.split(None, 2)
            if len(parts) == 3 and parts[1] == "TXT":
                txt = "".join(re.findall(r'"((?:[^"\\]|\\.)*)"', parts[2]))
                self.records[parts[0].rstrip(".").lower()] = txt.encode()

    def dnsfunc(self, name, timeout=5):
        n = name.decode() if isinstance(name, bytes) else name
        return self.records.get(n.rstrip(".").lower())


def mailvet_results(zone, msg):
    """{selector: result} from mailvet verify --json (peers sign with the clock's t=)."""
    out = run([MAILVET, "verify", "--zone", zone.path, "--now", str(int(time.time())), "--json",
               "--authserv-id", "test.example", "-"], msg)
    obj = json.loads(out.decode())
    res = {}
    for r in obj["results"]:
        props = {(p["ptype"], p["property"]): p["value"] for p in r["props"]}
        res[props.get(("header", "s"))] = r["result"]
    return res


def mail_dkim_results(zone, msg):
    out = run(["perl", PERL_PEER, "verify", zone.path], msg).decode()
    return dict(line.split(None, 1) for line in out.splitlines() if line.strip())


def dkimpy_results(zone, msg):
    """{selector: True/False} for every signature."""
    res = {}
    head = msg.split(b"\r\n\r\n", 1)[0].replace(b"\r\n ", b" ").replace(b"\r\n\t", b"\t")
    fields = [f for f in head.split(b"\r\n") if f.lower().startswith(b"dkim-signature:")]
    for i, field in enumerate(fields):
        sig = re.search(rb"(?:^|;)\s*s\s*=\s*([A-Za-z0-9]+)", field.split(b":", 1)[1]).group(1)
        d = dkim.DKIM(msg)
        try:
            res[sig.decode()] = d.verify(idx=i, dnsfunc=zone.dnsfunc)
        except dkim.DKIMException:  # dkimpy raises on a body hash mismatch
            res[sig.decode()] = False
    return res


def peers_sign(zone, keys):
    """dkimpy (rsa, ed25519) and Mail::DKIM (rsa) sign; mailvet verifies."""
    for canon in CANONS:
        hc, bc = canon.split("/")
        for length in (False, True):
            for alg, sel, key in (("rsa-sha256", "rsa", keys["rsa_pkcs1"]),
                                  ("ed25519-sha256", "ed", keys["ed_seed_b64"])):
                sig = dkim.sign(MESSAGE, sel.encode(), DOMAIN.encode(), key,
                                canonicalize=(hc.encode(), bc.encode()),
                                signature_algorithm=alg.encode(), length=length)
                signed = sig + MESSAGE
                tag = "dkimpy %s c=%s l=%s" % (alg, canon, length)
                r = mailvet_results(zone, signed)
                check(r.get(sel) == "pass", "%s: mailvet says %s" % (tag, r))
                r = mailvet_results(zone, tamper(signed))
                check(r.get(sel) == "fail", "%s tampered: mailvet says %s" % (tag, r))
                if length:  # text appended after l= is not covered
                    r = mailvet_results(zone, signed + b"appended\r\n")
                    check(r.get(sel) == "pass", "%s appended: mailvet says %s" % (tag, r))
        sig = run(["perl", PERL_PEER, "sign", canon, DOMAIN, "rsa", keys["rsa_pem"]], MESSAGE)
        signed = sig + MESSAGE
        tag = "Mail::DKIM rsa-sha256 c=%s" % canon
        r = mailvet_results(zone, signed)
        check(r.get("rsa") == "pass", "%s: mailvet says %s" % (tag, r))
        r = mailvet_results(zone, tamper(signed))
        check(r.get("rsa") == "fail", "%s tampered: mailvet says %s" % (tag, r))


def mailvet_signs(zone, keys, tmp):
    """mailvet signs with rsa and ed25519 at once; dkimpy and Mail::DKIM verify."""
    path = os.path.join(tmp, "msg.eml")
    with open(path, "wb") as f:
        f.write(MESSAGE)
    for canon in CANONS:
        for length in (None, 20):
            args = [MAILVET, "sign", "--domain", DOMAIN, "--selector", "rsa", "--key",
                    keys["rsa_pem"], "--selector", "ed", "--key", keys["ed_pem"],
                    "--canon", canon, "--now", str(NOW)]
            if length is not None:
                args += ["--body-length", str(length)]
            signed = run(args + [path])
            tag = "mailvet c=%s l=%s" % (canon, length)
            r = dkimpy_results(zone, signed)
            check(r == {"rsa": True, "ed": True}, "%s: dkimpy says %s" % (tag, r))
            r = mail_dkim_results(zone, signed)
            check(r.get("rsa") == "pass", "%s: Mail::DKIM says %s" % (tag, r))
            bad = tamper(signed)
            r = dkimpy_results(zone, bad)
            check(r == {"rsa": False, "ed": False}, "%s tampered: dkimpy says %s" % (tag, r))
            r = mail_dkim_results(zone, bad)
            check(r.get("rsa") == "fail", "%s tampered: Mail::DKIM says %s" % (tag, r))


def make_keys(tmp):
    zone_path = os.path.join(tmp, "zone.txt")
    keys = {"rsa_pem": os.path.join(tmp, "rsa.pem"), "ed_pem": os.path.join(tmp, "ed.pem")}
    with open(zone_path, "wb") as z:
        z.write(run([MAILVET, "keygen", "--algorithm", "rsa", "--bits", "2048", "--domain",
                     DOMAIN, "--selector", "rsa", "--out", keys["rsa_pem"]]))
        z.write(run([MAILVET, "keygen", "--algorithm", "ed25519", "--domain", DOMAIN,
                     "--selector", "ed", "--out", keys["ed_pem"]]))
    keys["rsa_pkcs1"] = run(["openssl", "pkey", "-in", keys["rsa_pem"], "-traditional"])
    der = run(["openssl", "pkey", "-in", keys["ed_pem"], "-outform", "DER"])
    keys["ed_seed_b64"] = base64.b64encode(der[-32:])  # PKCS#8 ends with the 32-byte seed
    return Zone(zone_path), keys


def main():
    with tempfile.TemporaryDirectory() as tmp:
        zone, keys = make_keys(tmp)
        peers_sign(zone, keys)
        mailvet_signs(zone, keys, tmp)
    print("%d checks, %d failures" % (checks, len(failures)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
