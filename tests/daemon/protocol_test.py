#!/usr/bin/python3
"""Milter protocol tests: our own MTA-side client against a private mailvetd.

Usage: protocol_test.py MAILVETD. DNS comes from data/zone.txt. Each case is
named for what it checks; the script exits non-zero if any fails.
"""
import json
import os
import re
import shutil
import socket
import struct
import subprocess
import sys
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import AUTHSERV_ID, DATA  # noqa: E402
from milterproto import (MilterClient, apply_mods, SMFIP_HDR_LEADSPC, SMFIP_NODATA,  # noqa: E402
                         SMFIP_NR_HDR, SMFIP_NR_RCPT)

GOOD_IP, BAD_IP, INTERNAL_IP = "192.0.2.10", "198.51.100.7", "127.0.0.2"

BASIC_HEADERS = [
    ("From", " Alice <alice@good.example>"),
    ("To", " bob@dest.example"),
    ("Subject", " hello"),
    ("Date", " Mon, 02 Jun 2025 10:00:00 +0000"),
    ("Message-ID", " <m1@good.example>"),
]
BODY = b"Hello Bob,\r\n\r\nthis is a test.\r\n"


def session(d, ip=GOOD_IP, name="mx.good.example", helo="mx.good.example"):
    c = MilterClient("127.0.0.1", d.port)
    c.negotiate()
    a = c.connect(name, ip, macros={"daemon_name": "smtpd-test", "j": "mx.test.example"})
    assert a.final == "continue", a
    assert c.helo(helo).final == "continue"
    return c


def last_message_line(d, queue_id):
    assert d.wait_log("queue_id=%s " % queue_id), "no log line for %s" % queue_id
    lines = [l for l in d.message_lines() if "queue_id=%s " % queue_id in l]
    assert len(lines) == 1, lines
    return lines[0]


# ---------------------------------------------------------------- cases

def negotiation_asks_for_leading_spaces_and_header_changes(d):
    c = MilterClient("127.0.0.1", d.port)
    version, actions, proto = c.negotiate()
    assert version == 6
    assert actions & 0x01 and actions & 0x10 and actions & 0x20, hex(actions)  # add, change, quarantine
    assert proto & SMFIP_HDR_LEADSPC, hex(proto)
    # Over TCP (this daemon listens on inet:): no reply to each header and RCPT (each is
    # ACKed at once instead, see below), a reply to DATA, whose macros have no callback.
    assert proto & SMFIP_NR_HDR and proto & SMFIP_NR_RCPT, hex(proto)
    assert not proto & SMFIP_NODATA, hex(proto)
    c.quit()


def nagle_client(d, nodelay):
    """A milter session up to HELO; nodelay=0: Nagle on, as Postfix."""
    c = MilterClient("127.0.0.1", d.port)
    c.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, nodelay)
    c.negotiate()
    assert c.connect("mx.good.example", GOOD_IP).final == "continue"
    assert c.helo("mx.good.example").final == "continue"
    return c


def timed_message(c, qid):
    """How long from MAIL to the answer to EOH: writes without a reply, then one that waits."""
    t = time.monotonic()
    # MAIL with its macros in one write, as Postfix sends them; then RCPT: no reply.
    macros, mail = b"Mi\0" + qid + b"\0", b"<alice@good.example>\0"
    c.sock.sendall(struct.pack("!I", len(macros) + 1) + b"D" + macros +
                   struct.pack("!I", len(mail) + 1) + b"M" + mail)
    assert c.answer().final == "continue"
    assert c.rcpt("bob@dest.example") is None
    c.send(b"T")
    assert c.answer().final == "continue"
    for n, v in BASIC_HEADERS:   # each its own write, no reply
        assert c.header(n, v) is None
    assert c.eoh().final == "continue"
    took = time.monotonic() - t
    assert c.body(BODY).final == "continue"
    assert c.eom().final == "continue"
    return took


def no_reply_packets_over_tcp_do_not_wait_for_a_delayed_ack(d):
    """An MTA with Nagle on (Postfix) writes a RCPT or header that gets no reply and then its
    next packet at once: that one waits until we ACK the first, 40 ms if our kernel delays
    the ACK (bench/mta/README.md). mailvetd ACKs them at once (TCP_QUICKACK)."""
    nagle, nodelay = nagle_client(d, 0), nagle_client(d, 1)
    took = {nagle: [], nodelay: []}
    for k in range(20):  # the two in turn, so that a busy moment slows both alike
        for c in (nagle, nodelay):
            took[c].append(timed_message(c, b"QACK%d%s" % (k, b"N" if c is nagle else b"D")))
    nagle.quit()
    nodelay.quit()
    # Without the early ACK every message with Nagle on waits >= 40 ms more than without it
    # (where nothing can wait for an ACK); the best of twenty of each tolerates a busy machine
    # (ASan, ctest -j2), which slows both.
    extra = min(took[nagle]) - min(took[nodelay])
    assert extra < 0.020, "Nagle on: %.1f ms more than off (best of 20: %.1f vs %.1f ms)" % (
        extra * 1000, min(took[nagle]) * 1000, min(took[nodelay]) * 1000)


def each_callback_reaches_the_log_line(d):
    c = session(d)
    a = c.message("alice@good.example", BASIC_HEADERS, BODY, queue_id="CBQ1")
    assert a.final == "continue", a
    c.quit()
    line = last_message_line(d, "CBQ1")
    for want in ("client=192.0.2.10", "client_name=mx.good.example", "helo=mx.good.example",
                 "mail_from=alice@good.example", "direction=inbound", "action=accept",
                 "body_bytes=%d" % len(BODY), "from_domain=good.example",
                 "spf_domain=good.example", "dmarc_policy=reject"):
        assert want in line, (want, line)
    assert re.search(r" ms=\d+", line), line


def our_field_goes_on_top_with_the_results(d):
    c = session(d)
    a = c.message("alice@good.example", BASIC_HEADERS, BODY, queue_id="TOPQ")
    c.quit()
    ins = a.inserted("Authentication-Results")
    assert len(ins) == 1, a
    assert ins[0][1] == 0, "not inserted at the top: %r" % (ins[0],)
    value = ins[0][3]
    assert value.startswith(" %s;" % AUTHSERV_ID), value  # leading space: SMFIP_HDR_LEADSPC
    assert "\r" not in value, "line breaks go to the MTA as LF"
    assert re.search(r"\bspf=pass\b", value), value
    assert re.search(r"\bdmarc=pass\b", value), value
    final = apply_mods(BASIC_HEADERS, a.mods)
    assert final[0][0] == "Authentication-Results"


def forged_fields_are_deleted_by_index_and_others_kept(d):
    headers = [
        ("Authentication-Results", " %s; spf=pass smtp.mailfrom=good.example" % AUTHSERV_ID),
        ("Received", " from somewhere"),
        ("Authentication-Results", " other.example; dkim=pass header.d=good.example"),
        ("Authentication-Results", " %s; dkim=pass header.d=good.example" % AUTHSERV_ID.upper()),
        ("Authentication-Results", " other.example 2; spf=pass"),   # unsupported version
    ] + BASIC_HEADERS
    c = session(d)
    a = c.message("alice@good.example", headers, BODY, queue_id="FORGEQ")
    c.quit()
    dels = a.changed("Authentication-Results")
    # Indexes count only Authentication-Results fields, 1-based; last first.
    assert [(m[1], m[3]) for m in dels] == [(4, ""), (3, ""), (1, "")], dels
    final = apply_mods(headers, a.mods)
    ars = [v for n, v in final if n == "Authentication-Results"]
    assert len(ars) == 2, ars
    assert ars[0].startswith(" %s;" % AUTHSERV_ID) and "other.example; dkim=pass" in ars[1], ars
    assert "removed=3" in last_message_line(d, "FORGEQ")


def fields_from_internal_hosts_are_trusted(d):
    headers = [("Authentication-Results", " %s; spf=pass smtp.mailfrom=good.example" % AUTHSERV_ID)] + BASIC_HEADERS
    c = session(d, ip=INTERNAL_IP, name="relay.test.example", helo="relay.test.example")
    a = c.message("alice@good.example", headers, BODY, queue_id="TRUSTQ")
    c.quit()
    assert a.changed("Authentication-Results") == [], a
    assert "removed=0" in last_message_line(d, "TRUSTQ")


def dmarc_reject_is_refused_with_550(d):
    headers = [("From", " Mallory <ceo@reject.example>"), ("Subject", " pay now")]
    c = session(d, ip=BAD_IP, name="[198.51.100.7]", helo="bad.example")
    a = c.message("ceo@reject.example", headers, BODY, queue_id="REJQ")
    c.quit()
    assert a.final == "replycode", a
    assert re.match(r"550 5\.7\.1 ", a.reply), a.reply
    assert a.mods == [], "a rejected message is not changed: %r" % a.mods
    line = last_message_line(d, "REJQ")
    assert "action=reject" in line and "client_name=-" in line, line


def temperror_is_a_451(d):
    headers = [("From", " x@temp.example"), ("Subject", " slow dns")]
    c = session(d, ip=BAD_IP, name="[198.51.100.7]", helo="bad.example")
    a = c.message("x@temp.example", headers, BODY, queue_id="TEMPQ")
    c.quit()
    assert a.final == "replycode", a
    # 4.4.3 (directory server failure) or 4.7.x, as lib/verify words it
    assert re.match(r"451 4\.[47]\.\d+ ", a.reply), a.reply
    assert "action=tempfail" in last_message_line(d, "TEMPQ")


def quarantine_policy_uses_the_mta_quarantine(d):
    headers = [("From", " x@quarantine.example"), ("Subject", " hm")]
    c = session(d, ip=BAD_IP, name="[198.51.100.7]", helo="bad.example")
    a = c.message("x@quarantine.example", headers, BODY, queue_id="QUARQ")
    c.quit()
    assert a.final == "continue", a
    q = [m for m in a.mods if m[0] == "quarantine"]
    assert len(q) == 1 and "DMARC" in q[0][3], a
    assert a.inserted("Authentication-Results"), a
    assert "action=quarantine" in last_message_line(d, "QUARQ")


def large_body_is_streamed(d):
    size = 20 * 1024 * 1024
    line = b"x" * 998 + b"\r\n"
    body = line * (size // len(line)) + b"end\r\n"
    worker = d.worker_pid()
    before = harness.vm_hwm_kb(worker)
    c = session(d)
    t = time.time()
    a = c.message("alice@good.example", BASIC_HEADERS, body, queue_id="BIGQ")
    took = time.time() - t
    c.quit()
    assert a.final == "continue" and a.inserted("Authentication-Results"), a
    assert "body_bytes=%d" % len(body) in last_message_line(d, "BIGQ")
    grown_mb = (harness.vm_hwm_kb(worker) - before) / 1024.0
    print("    20 MB body: %.2f s, peak memory grew by %.1f MB" % (took, grown_mb))
    assert grown_mb < 15, "the body seems to be kept whole (%.1f MB)" % grown_mb


def outbound_200mb_message_is_signed_with_flat_memory(d):
    """Issue 11: signing hashes the body as it passes; nothing is kept."""
    size = 200 * 1024 * 1024
    line = b"y" * 998 + b"\r\n"
    chunk = line * 64
    headers = [("From", " Carol <carol@sign.example>"), ("To", " dave@far.example"),
               ("Subject", " big"), ("Message-ID", " <big@sign.example>")]
    worker = d.worker_pid()
    before = harness.vm_hwm_kb(worker)
    c = session(d, ip="203.0.113.5", name="laptop.example.net", helo="laptop")
    t = time.time()
    a = c.mail("carol@sign.example", macros={"i": "BIGOUT", "auth_authen": "carol"})
    assert a.final == "continue", a
    for n, v in headers:
        c.header(n, v)
    assert c.eoh().final == "continue"
    sent = 0
    while sent < size:
        c.send(b"B", chunk)
        assert c.answer().final == "continue"
        sent += len(chunk)
    a = c.eom()
    took = time.time() - t
    c.quit()
    sigs = a.inserted("DKIM-Signature")
    assert a.final == "continue" and len(sigs) == 2, a
    line_ = last_message_line(d, "BIGOUT")
    assert "signed=sign.example" in line_ and "body_bytes=%d" % sent in line_, line_
    grown_mb = (harness.vm_hwm_kb(worker) - before) / 1024.0
    print("    200 MB outbound body: %.2f s, worker peak memory grew by %.1f MB" % (took, grown_mb))
    assert grown_mb < 20, "the body seems to be kept (%.1f MB)" % grown_mb


def outbound_mail_is_signed_with_every_key_and_verifies(d):
    headers = [("From", " Carol <carol@sign.example>"), ("To", " dave@far.example"),
               ("Subject", " signed"), ("Date", " Mon, 02 Jun 2025 10:00:00 +0000"),
               ("Message-ID", " <s1@sign.example>")]
    c = session(d, ip="203.0.113.5", name="laptop.example.net", helo="laptop")
    a = c.message("carol@sign.example", headers, BODY, queue_id="SIGNQ", auth="carol")
    c.quit()
    sigs = a.inserted("DKIM-Signature")
    assert len(sigs) == 2, a
    assert all(m[1] == 0 for m in sigs)
    assert "s=rsa1" in "".join(m[3] for m in sigs) and "s=ed1" in "".join(m[3] for m in sigs)
    final = apply_mods(headers, a.mods)
    assert final[0][0] == "DKIM-Signature" and final[2][0] == "From", final
    assert not a.inserted("Authentication-Results"), "our field went out of the domain: %r" % a
    msg = b"".join((n + ":" + v.replace("\n", "\r\n") + "\r\n").encode() for n, v in final) + b"\r\n" + BODY
    path = os.path.join(d.dir, "signed.eml")
    with open(path, "wb") as f:
        f.write(msg)
    out = subprocess.run([os.environ["MAILVET"], "verify", "--ip", "127.0.0.2", "--zone", os.path.join(DATA, "zone.txt"), path],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
    assert out.stdout.count("dkim=pass") == 2, out.stdout
    line = last_message_line(d, "SIGNQ")
    assert "direction=outbound" in line and "signed=sign.example" in line and "auth=carol" in line, line


def log_line_names_each_dkim_domain_with_its_result_in_both_forms(d):
    """Issue 16: the From domain, each DKIM d= with its result, the SPF domain and the DMARC
    policy, as key=value and as JSON."""
    headers = [("From", " Carol <carol@sign.example>"), ("To", " dave@far.example"),
               ("Subject", " signed"), ("Message-ID", " <s2@sign.example>")]
    c = session(d, ip="203.0.113.5", name="laptop.example.net", helo="laptop")
    a = c.message("carol@sign.example", headers, BODY, queue_id="DOMQ0", auth="carol")
    c.quit()
    signed = apply_mods(headers, a.mods)
    tampered = [(n, " changed" if n == "Subject" else v) for n, v in signed]
    forged = [("DKIM-Signature", v) for n, v in signed if n == "DKIM-Signature"][:1]
    c = session(d)
    c.message("alice@good.example", signed, BODY, queue_id="DOMQ1")
    c.message("alice@good.example", forged + BASIC_HEADERS, BODY, queue_id="DOMQ2")
    c.quit()
    line = last_message_line(d, "DOMQ1")
    for want in ('dkim="sign.example:pass sign.example:pass"', "from_domain=sign.example",
                 "spf_domain=good.example"):
        assert want in line, (want, line)
    line = last_message_line(d, "DOMQ2")
    assert "dkim=sign.example:fail " in line, line
    assert "from_domain=good.example" in line and "dmarc_policy=reject" in line, line
    d.reload("[log]\nformat = json\n")
    try:
        c = session(d)
        c.message("alice@good.example", tampered, BODY, queue_id="DOMQ3")
        c.quit()
        assert d.wait_log('"queue_id":"DOMQ3"'), "no JSON line"
        line = [json.loads(l[l.index("{"):]) for l in d.message_lines() if "DOMQ3" in l][0]
    finally:
        d.reload("")
    assert line["from_domain"] == "sign.example", line
    assert line["dkim"] == [{"d": "sign.example", "result": "fail"}] * 2, line
    assert line["spf_domain"] == "good.example", line
    assert "dmarc_policy" in line, line


def outbound_mail_gets_our_results_field_only_when_asked(d):
    """Issue 16: by default no Authentication-Results of ours (dkim=none, the internal IP) leaves."""
    headers = [("From", " Carol <carol@sign.example>"), ("To", " dave@far.example"), ("Subject", " ar")]
    d.reload("[outbound]\nauthentication_results = yes\n")
    try:
        c = session(d, ip="203.0.113.5", name="laptop.example.net", helo="laptop")
        a = c.message("carol@sign.example", headers, BODY, queue_id="ARKEEPQ", auth="carol")
        c.quit()
        ins = a.inserted("Authentication-Results")
        assert len(ins) == 1 and "auth=pass" in ins[0][3], a
    finally:
        d.reload("")
    c = session(d, ip="203.0.113.5", name="laptop.example.net", helo="laptop")
    a = c.message("carol@sign.example", headers, BODY, queue_id="AROFFQ", auth="carol")
    c.quit()
    assert not a.inserted("Authentication-Results") and len(a.inserted("DKIM-Signature")) == 2, a


def outbound_mail_left_unsigned_says_why(d):
    """Issue 16 (OpenDKIM's LogWhy): no key for the author domain, no single author domain."""
    for qid, frm, why in (("WHYQ1", " Carol <carol@nokey.example>", "no DKIM key for nokey.example"),
                          ("WHYQ2", " a@sign.example, b@other.example", "no author domain")):
        headers = [("From", frm), ("To", " dave@far.example"), ("Subject", " unsigned")]
        c = session(d, ip="203.0.113.5", name="laptop.example.net", helo="laptop")
        a = c.message("carol@sign.example", headers, BODY, queue_id=qid, auth="carol")
        c.quit()
        assert not a.inserted("DKIM-Signature"), a
        line = last_message_line(d, qid)
        assert "direction=outbound" in line and " signed=" not in line, line
        assert ('not_signed="%s' % why) in line, line


def sealed_headers(headers, body, domain, extra_args=()):
    """The header list with an ARC set sealed now by `domain` (key ed1) on top."""
    raw = b"".join((n + ":" + v.replace("\n", "\r\n") + "\r\n").encode() for n, v in headers) + b"\r\n" + body
    out = subprocess.run([os.environ["MAILVET"], "seal", "--domain", domain, "--selector", "ed1",
                          "--key", os.path.join(DATA, "ed1.pem"), "--authserv-id", domain,
                          "--zone", os.path.join(DATA, "zone.txt")] + list(extra_args),
                         input=raw, capture_output=True, check=True)
    head = out.stdout.split(b"\r\n\r\n", 1)[0].decode()
    fields = re.split(r"\r\n(?![ \t])", head)
    # As an MTA hands them over: name, then the value with its leading space, folds as LF.
    return [(f.split(":", 1)[0], f.split(":", 1)[1].replace("\r\n", "\n")) for f in fields]


def trusted_arc_sealer_overrides_a_dmarc_reject(d):
    d.reload("[policy]\ntrusted_arc_sealers = other.example, sign.example\n")
    base = [("From", " ceo@reject.example"), ("To", " list@sign.example"), ("Subject", " via a list"),
            ("Message-ID", " <arc1@reject.example>")]
    try:
        # Sealed by a trusted sealer: DMARC fails (p=reject) but the policy is not applied.
        c = session(d, ip=BAD_IP, name="[198.51.100.7]", helo="bad.example")
        a = c.message("bounce@sign.example", sealed_headers(base, BODY, "sign.example"), BODY,
                      queue_id="ARCTRUSTQ")
        c.quit()
        assert a.final == "continue", a
        ours = a.inserted("Authentication-Results")[0][3]
        assert re.search(r"\barc=pass\b", ours) and "smtp.remote-ip=198.51.100.7" in ours, ours
        assert re.search(r"\bdmarc=fail\b", ours), ours
        assert "overridden by trusted ARC sealer sign.example" in ours, ours
        assert "policy.dmarc=none" in ours, ours
        line = last_message_line(d, "ARCTRUSTQ")
        assert "action=accept" in line and "arc=pass" in line, line
        assert "overridden by trusted ARC sealer sign.example" in line, line
        # Sealed by a sealer we do not trust: refused as before.
        c = session(d, ip=BAD_IP, name="[198.51.100.7]", helo="bad.example")
        a = c.message("bounce@sign.example", sealed_headers(base, BODY, "lists.untrusted.example"),
                      BODY, queue_id="ARCUNTRUSTQ")
        c.quit()
        assert a.final == "replycode" and a.reply.startswith("550 5.7.1"), a
        # Trusted sealer, but the body changed after sealing: the chain fails, refused.
        c = session(d, ip=BAD_IP, name="[198.51.100.7]", helo="bad.example")
        a = c.message("bounce@sign.example", sealed_headers(base, BODY, "sign.example"),
                      BODY + b"-- \r\nfooter added later\r\n", queue_id="ARCBROKENQ")
        c.quit()
        assert a.final == "replycode" and a.reply.startswith("550 5.7.1"), a
        assert "arc=fail" in last_message_line(d, "ARCBROKENQ")
    finally:
        d.reload("")


def forwarded_outbound_mail_with_our_results_is_arc_sealed(d):
    d.reload("[outbound]\narc_seal = yes\n")
    ours = " %s; spf=pass smtp.mailfrom=good.example;\n dkim=none; dmarc=pass header.from=good.example" % AUTHSERV_ID
    headers = [("Authentication-Results", ours),
               ("Authentication-Results", " other.example; spf=fail smtp.mailfrom=good.example"),
               ("From", " Alice <alice@good.example>"), ("To", " list@sign.example"),
               ("Subject", " [list] hello"), ("Date", " Mon, 02 Jun 2025 10:00:00 +0000"),
               ("Message-ID", " <l1@good.example>"), ("List-Id", " <list.sign.example>")]
    body = BODY + b"-- \r\nlist footer\r\n"
    try:
        # A list on an internal host re-sends a member's message under its own envelope.
        c = session(d, ip=INTERNAL_IP, name="lists.test.example", helo="lists.test.example")
        a = c.message("list-bounces@sign.example", headers, body, queue_id="SEALQ")
        c.quit()
        assert a.final == "continue", a
        # One chain per key algorithm (rsa and ed25519), one AAR for both (draft-ietf-dmarc-arc-multi).
        for name, count in (("ARC-Seal", 2), ("ARC-Message-Signature", 2), ("ARC-Authentication-Results", 1)):
            ins = a.inserted(name)
            assert len(ins) == count and all(m[1] == 0 for m in ins), (name, a)
        final = apply_mods(headers, a.mods)
        names = [n for n, v in final]
        assert all(n.startswith("ARC-") for n in names[:5]) and names[5] == "Authentication-Results", names
        aars = [v for n, v in final if n == "ARC-Authentication-Results"]
        for v in aars:
            assert re.match(r"\s*i=1; %s; spf=pass smtp.mailfrom=good.example;" % AUTHSERV_ID, v), v
            assert "dmarc=pass header.from=good.example" in v and "other.example" not in v, v
            assert "spf=fail" not in v, "another ADMD's results are not ours: %r" % v
        seals = [v for n, v in final if n == "ARC-Seal"]
        assert all("cv=none" in v and "d=sign.example" in v for v in seals), seals
        msg = b"".join((n + ":" + v.replace("\n", "\r\n") + "\r\n").encode() for n, v in final) + b"\r\n" + body
        path = os.path.join(d.dir, "sealed.eml")
        with open(path, "wb") as f:
            f.write(msg)
        out = subprocess.run([os.environ["MAILVET"], "seal", "--validate", "--zone",
                              os.path.join(DATA, "zone.txt"), "--ip", "203.0.113.9", path],
                             capture_output=True, text=True)
        assert out.returncode == 0 and "arc=pass" in out.stdout, out.stdout + out.stderr
        line = last_message_line(d, "SEALQ")
        assert "sealed=sign.example" in line and "direction=outbound" in line, line
        # The same message without our results (not forwarded by us): not sealed.
        c = session(d, ip=INTERNAL_IP, name="lists.test.example", helo="lists.test.example")
        a = c.message("list-bounces@sign.example", headers[1:], body, queue_id="NOSEALQ")
        c.quit()
        assert a.final == "continue" and not a.inserted("ARC-Seal"), a
        assert "sealed=" not in last_message_line(d, "NOSEALQ")
    finally:
        d.reload("")


def malformed_input_is_handled_and_the_daemon_keeps_running(d):
    headers = [("From", " <<<@@@"), ("Authentication-Results", " ;;;(((unterminated"),
               ("DKIM-Signature", " v=1; a=rsa-sha256; b=!!!"), ("X-Bytes", " \x01\x7f caf\udcc3")]
    c = session(d, ip=BAD_IP, name="[198.51.100.7]", helo="[bad")
    a = c.message("", headers, b"no final newline", queue_id="BADQ")
    c.quit()
    assert a.final in ("continue", "replycode"), a
    # the no-authserv-id field from an untrusted host is removed (RFC 8601 §5)
    assert [m[1] for m in a.changed("Authentication-Results")] == [1], a
    assert d.proc.poll() is None
    c = session(d)
    assert c.message("alice@good.example", BASIC_HEADERS, BODY, queue_id="AFTERBAD").final == "continue"
    c.quit()


def abort_then_next_message_on_the_same_connection(d):
    c = session(d)
    c.mail("alice@good.example", macros={"i": "ABQ1"})
    c.header("From", " alice@good.example")
    c.abort()
    a = c.message("alice@good.example", BASIC_HEADERS, BODY, queue_id="ABQ2")
    c.quit()
    assert a.final == "continue" and a.inserted("Authentication-Results"), a
    assert "queue_id=ABQ1 " not in d.log_text()
    last_message_line(d, "ABQ2")


def reload_applies_to_new_connections_only(d):
    old = session(d, ip=BAD_IP, name="[198.51.100.7]", helo="bad.example")
    d.reload("[policy]\nreject_text = 5.7.1 Go away, forger (configured)\n")
    new = session(d, ip=BAD_IP, name="[198.51.100.7]", helo="bad.example")
    headers = [("From", " ceo@reject.example")]
    a_new = new.message("ceo@reject.example", headers, BODY, queue_id="RLQNEW")
    a_old = old.message("ceo@reject.example", headers, BODY, queue_id="RLQOLD")
    new.quit()
    old.quit()
    assert a_new.reply == "550 5.7.1 Go away, forger (configured)", a_new
    assert a_old.reply != a_new.reply and a_old.reply.startswith("550 5.7.1"), a_old
    d.reload("")  # waited for: a reload still under way would read the next case's file


def bad_reload_keeps_the_running_configuration(d):
    kept = "keeping the running configuration"
    before = d.log_text().count(kept)
    with open(d.conf, "a") as f:
        f.write("[nonsense]\nkey = 1\n")
    d.hup()
    end = time.time() + 30
    while d.log_text().count(kept) <= before:  # this reload's line, not an earlier one
        assert time.time() < end, "bad reload not reported"
        time.sleep(0.05)
    c = session(d)
    assert c.message("alice@good.example", BASIC_HEADERS, BODY, queue_id="KEEPQ").final == "continue"
    c.quit()
    d.write_config()


def sigterm_lets_a_message_in_flight_finish(d):
    c = session(d)
    c.mail("alice@good.example", macros={"i": "DRAINQ"})
    for n, v in BASIC_HEADERS:
        c.header(n, v)
    c.eoh()
    d.proc.send_signal(15)
    time.sleep(0.5)
    assert d.proc.poll() is None, "exited with a message in flight"
    c.body(BODY)
    a = c.eom()
    c.quit()
    assert a.final == "continue", a
    rc = d.proc.wait(timeout=30)
    assert rc == 0, "exit status %d" % rc
    harness.untrack(d.proc)
    d.proc = None


CASES = [
    negotiation_asks_for_leading_spaces_and_header_changes,
    no_reply_packets_over_tcp_do_not_wait_for_a_delayed_ack,
    each_callback_reaches_the_log_line,
    our_field_goes_on_top_with_the_results,
    forged_fields_are_deleted_by_index_and_others_kept,
    fields_from_internal_hosts_are_trusted,
    dmarc_reject_is_refused_with_550,
    temperror_is_a_451,
    quarantine_policy_uses_the_mta_quarantine,
    large_body_is_streamed,
    outbound_mail_is_signed_with_every_key_and_verifies,
    outbound_mail_left_unsigned_says_why,
    outbound_mail_gets_our_results_field_only_when_asked,
    log_line_names_each_dkim_domain_with_its_result_in_both_forms,
    outbound_200mb_message_is_signed_with_flat_memory,
    trusted_arc_sealer_overrides_a_dmarc_reject,
    forwarded_outbound_mail_with_our_results_is_arc_sealed,
    malformed_input_is_handled_and_the_daemon_keeps_running,
    abort_then_next_message_on_the_same_connection,
    reload_applies_to_new_connections_only,
    bad_reload_keeps_the_running_configuration,
    sigterm_lets_a_message_in_flight_finish,   # last: it stops the daemon
]


def config_check_cases(binary, work):
    """mailvetd -n: good and bad configurations."""
    failures = 0
    cases = [
        ("unknown_key_is_refused", "[milter]\nsockt = x\n", 1, "unknown key"),
        ("bad_boolean_is_refused", "[outbound]\nsign = maybe\n", 1, "yes or no"),
        ("missing_key_file_is_refused", "[milter]\nuser =\n[domain x.example]\nkey = s1 /nonexistent.pem\n", 1, "nonexistent"),
        ("bad_network_is_refused", "[verify]\ninternal_hosts = 10.0.0.0/33\n", 1, "bad address"),
        ("minimal_configuration_passes", "[milter]\nuser =\n[verify]\nauthserv_id = mx.example\n[dns]\nzone_file = %s\n"
         % os.path.join(DATA, "zone.txt"), 0, "configuration OK"),
    ]
    for name, text, want_rc, want_out in cases:
        path = os.path.join(work, name + ".conf")
        with open(path, "w") as f:
            f.write(text)
        r = subprocess.run([binary, "-n", "-c", path], capture_output=True, text=True)
        ok = r.returncode == want_rc and want_out in (r.stdout + r.stderr)
        print("%s config.%s" % ("ok  " if ok else "FAIL", name))
        if not ok:
            print("    rc=%d out=%r" % (r.returncode, r.stdout + r.stderr))
            failures += 1
    return failures


def main():
    binary = harness.mailvetd_path()
    work = harness.tempdir("mailvetd-proto-")
    failures = config_check_cases(binary, work)
    d = harness.Mailvetd(work).start()
    for case in CASES:
        try:
            case(d)
            print("ok   %s" % case.__name__)
        except Exception:
            failures += 1
            print("FAIL %s" % case.__name__)
            traceback.print_exc(file=sys.stdout)
            if d.proc is None or d.proc.poll() is not None:
                print("    mailvetd is gone; log follows")
                print(d.log_text()[-4000:])
                break
    failures += harness.stop_checked(d)
    if failures:
        print("%d failure(s); log: %s" % (failures, d.log))
        return 1
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
