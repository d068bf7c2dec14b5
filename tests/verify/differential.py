#!/usr/bin/python3
"""Differential test: mailvet verify against python3-authheaders (dkimpy + its DMARC).

Scenarios where RFC 7489 (authheaders: PSL, record at the Author Domain or its
Organizational Domain) and RFC 9989 (mailvet's default tree walk) agree: records only
at the Author Domain or its PSL Organizational Domain, no psd=, no np=. Both see the
same zone (authheaders through dnsfunc) and the same SPF result (mailvet's, given to
authheaders as a previous Authentication-Results field, since pyspf cannot use a
zone). Compared: the first DKIM result and the DMARC result. Fails when
python3-authheaders or $MAILVET is missing.
"""
import json, os, re, subprocess, sys, tempfile

try:
    import authheaders
except ImportError:
    print("FAIL: python3-authheaders is not installed (scripts/install-deps --test)")
    sys.exit(1)

MAILVET = os.environ.get("MAILVET")
if not MAILVET:
    print("FAIL: MAILVET is not set (the mailvet binary; ctest sets it)")
    sys.exit(1)

BASE = """example.com TXT "v=spf1 ip4:192.0.2.0/24 -all"
bounce.example.com TXT "v=spf1 ip4:192.0.2.0/24 -all"
esp.example TXT "v=spf1 ip4:192.0.2.0/24 -all"
news.example.com A 192.0.2.80
"""

# name, DMARC records, From, MAIL FROM, signing domain (or None), tamper, expected dmarc
SCENARIOS = [
    ("aligned_dkim_pass", '_dmarc.example.com TXT "v=DMARC1; p=reject"', "a@example.com", "x@esp.example", "example.com", False, "pass"),
    ("third_party_dkim_fails", '_dmarc.example.com TXT "v=DMARC1; p=reject"', "a@example.com", "x@esp.example", "esp.example", False, "fail"),
    ("aligned_spf_unsigned", '_dmarc.example.com TXT "v=DMARC1; p=reject"', "a@example.com", "b@example.com", None, False, "pass"),
    ("relaxed_spf_subdomain", '_dmarc.example.com TXT "v=DMARC1; p=reject"', "a@example.com", "b@bounce.example.com", None, False, "pass"),
    ("strict_spf_subdomain_fails", '_dmarc.example.com TXT "v=DMARC1; p=reject; aspf=s"', "a@example.com", "b@bounce.example.com", None, False, "fail"),
    ("relaxed_dkim_subdomain", '_dmarc.example.com TXT "v=DMARC1; p=quarantine"', "a@example.com", "x@esp.example", "news.example.com", False, "pass"),
    ("strict_dkim_subdomain_fails", '_dmarc.example.com TXT "v=DMARC1; p=quarantine; adkim=s"', "a@example.com", "x@esp.example", "news.example.com", False, "fail"),
    ("subdomain_from_org_record", '_dmarc.example.com TXT "v=DMARC1; p=reject; sp=none"', "a@news.example.com", "x@esp.example", "esp.example", False, "fail"),
    ("subdomain_from_aligned_org_signature", '_dmarc.example.com TXT "v=DMARC1; p=reject"', "a@news.example.com", "x@esp.example", "example.com", False, "pass"),
    ("tampered_signature_fails", '_dmarc.example.com TXT "v=DMARC1; p=reject"', "a@example.com", "x@esp.example", "example.com", True, "fail"),
    ("p_none_still_fails", '_dmarc.example.com TXT "v=DMARC1; p=none"', "a@example.com", "x@esp.example", None, False, "fail"),
    ("no_record_is_none", "", "a@example.com", "b@example.com", None, False, "none"),
]


def run(args, data=None):
    p = subprocess.run(args, input=data, capture_output=True)
    if p.returncode not in (0, 1):
        raise RuntimeError("%s: %s" % (args, p.stderr.decode(errors="replace")))
    return p.stdout


def zone_txt(zone):
    recs = {}
    for line in zone.splitlines():
        parts = line.split(None, 2)
        if len(parts) == 3 and parts[1] == "TXT":
            txt = "".join(re.findall(r'"((?:[^"\\]|\\.)*)"', parts[2]))
            recs.setdefault(parts[0].rstrip(".").lower(), []).append(txt)
    return recs


def main():
    tmp = tempfile.mkdtemp()
    keys = {}
    for d in ("example.com", "esp.example", "news.example.com"):
        pem = os.path.join(tmp, d + ".pem")
        line = run([MAILVET, "keygen", "--algorithm", "rsa", "--bits", "2048", "--domain", d,
                    "--selector", "sel", "--out", pem]).decode()
        keys[d] = (pem, line)
    failures = 0
    for name, dmarc, frm, mfrom, signer, tamper, want in SCENARIOS:
        zone = BASE + dmarc + "\n" + "".join(k[1] for k in keys.values())
        zpath = os.path.join(tmp, "zone")
        with open(zpath, "w") as f:
            f.write(zone)
        msg = ("From: %s\r\nTo: b@example.net\r\nSubject: %s\r\nMessage-ID: <%s@x>\r\n\r\n"
               "Hello.\r\n" % (frm, name, name)).encode()
        if signer:
            msg = run([MAILVET, "sign", "--domain", signer, "--selector", "sel", "--key",
                       keys[signer][0], "-"], msg)
        if tamper:
            msg = msg.replace(b"Hello.", b"Hallo.")
        out = json.loads(run([MAILVET, "verify", "--zone", zpath, "--json", "--no-virtual",
                              "--authserv-id", "mx.test", "--ip", "192.0.2.1",
                              "--mail-from", mfrom, "-"], msg))
        ours = {r["method"]: r for r in reversed(out["results"])}
        spf = ours["spf"]
        spf_dom = next((p["value"] for p in spf["props"] if p["property"] == "mailfrom"), "")
        recs = zone_txt(zone)

        def dnsfunc(qname, timeout=5):
            n = (qname.decode() if isinstance(qname, bytes) else qname).rstrip(".").lower()
            txt = recs.get(n)
            if not txt:
                return None
            return txt[0].encode() if "._domainkey." in n else txt[0]

        # authheaders wants local@domain here (it takes the domain part itself)
        prev = "Authentication-Results: mx.test; spf=%s smtp.mailfrom=%s" % (spf["result"], mfrom)
        assert spf_dom == mfrom.split("@")[1]
        theirs = authheaders.authenticate_message(msg, "mx.test", prev=prev, spf=False, dkim=True,
                                                  dmarc=True, dnsfunc=dnsfunc)
        t_dmarc = re.search(r"dmarc=(\w+)", theirs).group(1)
        t_dkim = re.search(r"dkim=(\w+)", theirs).group(1)
        first_dkim = next(r for r in out["results"] if r["method"] == "dkim")["result"]
        o_dmarc = ours["dmarc"]["result"]
        # authheaders says dkim=fail for an unsigned message where RFC 8601 §2.7.1 says none
        dkim_same = first_dkim == t_dkim or (signer is None and (first_dkim, t_dkim) == ("none", "fail"))
        ok = o_dmarc == t_dmarc == want and dkim_same
        print("%-40s mailvet dkim=%s dmarc=%s | authheaders dkim=%s dmarc=%s | want %s %s"
              % (name, first_dkim, o_dmarc, t_dkim, t_dmarc, want, "ok" if ok else "MISMATCH"))
        if not ok:
            print("  ours:   " + out["header"].replace("\r\n", " "))
            print("  theirs: " + theirs.replace("\r\n", " "))
            failures += 1
    print("differential: %d scenarios, %d mismatches" % (len(SCENARIOS), failures))
    return 1 if failures else 0


sys.exit(main())
