#!/usr/bin/python3
"""tests/arc/interop.py — ARC interop with dkimpy (python3-dkim), both directions.

Three hops, each as a mailing list works: validate what arrived, record the
result in its Authentication-Results, change the message (the second hop
tags the subject, the third adds a footer), seal. Chains dkimpy seals must
validate with `mailvet seal --validate` after every hop; chains mailvet
seals (`mailvet seal --received`) must validate with dkim.arc_verify; and a
message changed after the last seal must fail in both. dkimpy's ARC signs
rsa-sha256 only, so the keys are RSA (PKCS#1, which dkimpy reads); an Ed25519
key seals with mailvet the first hop of a chain dkimpy continues with RSA
(one RFC 8617 chain of two algorithms, as Stalwart makes), which mailvet
alone validates: dkimpy's arc_verify knows no ed25519-sha256.
Exit 0 all good, 1 a failure or dkimpy or openssl missing (never a skip).
"""
import base64
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

MAILVET = os.environ.get("MAILVET", "mailvet")
DOMAIN = b"lists.example.org"
SELECTOR = b"arc2023"
NOW = int(time.time())

ORIGINAL = (b"From: Alice <alice@example.com>\r\n"
            b"To: list@lists.example.org\r\n"
            b"Subject: Interop test\r\n"
            b"Date: Tue, 14 Nov 2023 22:13:20 +0000\r\n"
            b"Message-ID: <arc-interop@example.com>\r\n"
            b"\r\n"
            b"Hello list,\r\n"
            b"\r\n"
            b"this line has \t tabs and  spaces.\r\n")

try:
    import dkim
except ImportError:
    print("FAIL: python3-dkim is not installed (scripts/install-deps --test)")
    sys.exit(1)
if shutil.which("openssl") is None:
    print("FAIL: openssl is not installed (scripts/install-deps --test)")
    sys.exit(1)

failures = []
checks = 0


def check(cond, what):
    global checks
    checks += 1
    if not cond:
        failures.append(what)
        print("FAIL:", what)


tmp = tempfile.mkdtemp(prefix="arc-interop-")
KEY = os.path.join(tmp, "key.pem")
ZONE = os.path.join(tmp, "zone")
subprocess.run(["openssl", "genrsa", "-traditional", "-out", KEY, "2048"], check=True,
               capture_output=True)
der = subprocess.run(["openssl", "rsa", "-in", KEY, "-pubout", "-outform", "DER"], check=True,
                     capture_output=True).stdout
RECORD = b"v=DKIM1; k=rsa; p=" + base64.b64encode(der)
with open(ZONE, "wb") as f:
    f.write(SELECTOR + b"._domainkey." + DOMAIN + b". TXT \"" + RECORD + b"\"\n")
PRIVKEY = open(KEY, "rb").read()
# An Ed25519 key for mailvet's first hop of the mixed chain (selector "ed").
ED_KEY = os.path.join(tmp, "ed.pem")
subprocess.run(["openssl", "genpkey", "-algorithm", "ed25519", "-out", ED_KEY], check=True,
               capture_output=True)
ed_der = subprocess.run(["openssl", "pkey", "-in", ED_KEY, "-pubout", "-outform", "DER"],
                        check=True, capture_output=True).stdout
ED_RECORD = b"v=DKIM1; k=ed25519; p=" + base64.b64encode(ed_der[-32:])
with open(ZONE, "ab") as f:
    f.write(b"ed._domainkey." + DOMAIN + b". TXT \"" + ED_RECORD + b"\"\n")


def dnsfunc(name, timeout=5):
    name = name.rstrip(b".").lower()
    if name == SELECTOR + b"._domainkey." + DOMAIN:
        return RECORD
    if name == b"ed._domainkey." + DOMAIN:
        return ED_RECORD
    return None


def mailvet_validate(msg):
    """(cv, output) from `mailvet seal --validate`."""
    path = os.path.join(tmp, "validate.eml")
    with open(path, "wb") as f:
        f.write(msg)
    p = subprocess.run([MAILVET, "seal", "--validate", "--zone", ZONE, "--now", str(NOW), path],
                       capture_output=True)
    out = p.stdout.decode(errors="replace")
    if p.returncode not in (0, 1):
        raise RuntimeError("mailvet seal --validate: " + p.stderr.decode(errors="replace"))
    m = re.search(r"arc=(\w+)", out)
    return (m.group(1) if m else "?"), out


def dkimpy_validate(msg):
    cv, _, reason = dkim.arc_verify(msg, dnsfunc=dnsfunc)
    return (cv or b"none").decode(), reason


def change(msg, hop):
    """What each hop does to the message before sealing it."""
    if hop == 2:
        return msg.replace(b"Subject: Interop test", b"Subject: [list] Interop test", 1)
    if hop == 3:
        return msg + b"-- \r\nlist footer: https://lists.example.org/\r\n"
    return msg


def srv(hop):
    return b"hop%d.lists.example.org" % hop


def dkimpy_hops():
    """dkimpy seals three hops; mailvet (and dkimpy) validate after each."""
    msg = ORIGINAL
    for hop in (1, 2, 3):
        cv = "none" if hop == 1 else dkimpy_validate(msg)[0]
        msg = b"Authentication-Results: " + srv(hop) + b"; arc=" + cv.encode() + b"\r\n" + msg
        msg = change(msg, hop)
        sets = dkim.arc_sign(msg, SELECTOR, DOMAIN, PRIVKEY, srv(hop), timestamp=str(NOW),
                             include_headers=[b"from", b"to", b"subject", b"date", b"message-id"])
        check(len(sets) == 3, "dkimpy hop %d: produced %d fields" % (hop, len(sets)))
        msg = b"".join(sets) + msg
        got, out = mailvet_validate(msg)
        check(got == "pass", "dkimpy-sealed hop %d: mailvet says %s: %s" % (hop, got, out))
        got, why = dkimpy_validate(msg)
        check(got == "pass", "dkimpy-sealed hop %d: dkimpy says %s (%s)" % (hop, got, why))
    return msg


def mailvet_hops():
    """mailvet seals three hops; dkimpy (and mailvet) validate after each."""
    msg = ORIGINAL
    for hop in (1, 2, 3):
        received = os.path.join(tmp, "received-%d.eml" % hop)
        changed = os.path.join(tmp, "changed-%d.eml" % hop)
        cv = "none" if hop == 1 else mailvet_validate(msg)[0]
        with open(received, "wb") as f:
            f.write(msg)
        msg = b"Authentication-Results: " + srv(hop) + b"; arc=" + cv.encode() + b"\r\n" + msg
        msg = change(msg, hop)
        with open(changed, "wb") as f:
            f.write(msg)
        p = subprocess.run([MAILVET, "seal", "--domain", DOMAIN.decode(), "--selector",
                            SELECTOR.decode(), "--key", KEY, "--authserv-id", srv(hop).decode(),
                            "--headers", "from:to:subject:date:message-id", "--zone", ZONE,
                            "--now", str(NOW), "--received", received, changed],
                           capture_output=True)
        check(p.returncode == 0, "mailvet seal hop %d: %s" % (hop, p.stderr.decode()))
        msg = p.stdout
        check(msg.count(b"\r\nARC-Seal:") + msg.startswith(b"ARC-Seal:") == hop,
              "mailvet hop %d: %d seals" % (hop, msg.count(b"ARC-Seal:")))
        got, why = dkimpy_validate(msg)
        check(got == "pass", "mailvet-sealed hop %d: dkimpy says %s (%s)" % (hop, got, why))
        got, out = mailvet_validate(msg)
        check(got == "pass", "mailvet-sealed hop %d: mailvet says %s: %s" % (hop, got, out))
    return msg


def mailvet_seal(msg, hop, key, selector):
    """mailvet seals msg as hop `hop` with one key."""
    path = os.path.join(tmp, "mixed-%d.eml" % hop)
    with open(path, "wb") as f:
        f.write(msg)
    p = subprocess.run([MAILVET, "seal", "--domain", DOMAIN.decode(), "--selector", selector,
                        "--key", key, "--authserv-id", srv(hop).decode(), "--zone", ZONE,
                        "--now", str(NOW), path], capture_output=True)
    check(p.returncode == 0, "mailvet seal mixed hop %d: %s" % (hop, p.stderr.decode()))
    return p.stdout


def mixed_hops():
    """One chain of two algorithms (RFC 8617 lets a hop seal with any):
    mailvet seals i=1 with Ed25519, dkimpy i=2 with RSA, mailvet i=3 with
    RSA; mailvet passes it after each hop. dkimpy's arc_verify knows no
    ed25519-sha256 ("unknown signature algorithm"), so it is not asked."""
    msg = b"Authentication-Results: " + srv(1) + b"; arc=none\r\n" + ORIGINAL
    msg = mailvet_seal(msg, 1, ED_KEY, "ed")
    msg = b"Authentication-Results: " + srv(2) + b"; arc=pass\r\n" + change(msg, 2)
    msg = b"".join(dkim.arc_sign(msg, SELECTOR, DOMAIN, PRIVKEY, srv(2), timestamp=str(NOW),
                                 include_headers=[b"from", b"to", b"subject", b"date"])) + msg
    for hop in (2, 3):
        if hop == 3:
            msg = b"Authentication-Results: " + srv(3) + b"; arc=pass\r\n" + msg
            msg = mailvet_seal(msg, 3, KEY, SELECTOR.decode())
        check(msg.count(b"ARC-Seal:") == hop, "mixed hop %d: %d seals" % (hop, msg.count(b"ARC-Seal:")))
        got, out = mailvet_validate(msg)
        check(got == "pass", "mixed chain at hop %d: mailvet says %s: %s" % (hop, got, out))
    return msg


def broken(msg, who, dkimpy_too=True):
    """A change after the last seal: both validators must fail."""
    bad = msg.replace(b"Hello list,", b"Hello list!", 1)
    got, out = mailvet_validate(bad)
    check(got == "fail", "broken %s chain: mailvet says %s: %s" % (who, got, out))
    if not dkimpy_too:
        return
    got, why = dkimpy_validate(bad)
    check(got == "fail", "broken %s chain: dkimpy says %s (%s)" % (who, got, why))


try:
    broken(dkimpy_hops(), "dkimpy-sealed")
    broken(mailvet_hops(), "mailvet-sealed")
    broken(mixed_hops(), "mixed ed25519/rsa", dkimpy_too=False)
finally:
    shutil.rmtree(tmp, ignore_errors=True)
print("%d checks, %d failures" % (checks, len(failures)))
sys.exit(1 if failures else 0)
