#!/usr/bin/python3
"""Issue 17, privilege separation: the DKIM/ARC private keys live in mailvetd's
key process, never in the worker that parses mail.

usage: privsep_test.py CASE MAILVETD   (CASE: no_key_in_worker, signing,
key_process_restart, reload); MAILVET in the environment is the CLI.
"""
import base64
import os
import re
import shutil
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "daemon"))
import harness  # noqa: E402
import case_main  # noqa: E402
from harness import AUTHSERV_ID, DATA  # noqa: E402
from milterproto import MilterClient, apply_mods  # noqa: E402

BODY = b"Hello Dave,\r\n\r\nthis leaves signed by the key process.\r\n"
ZONE = os.path.join(DATA, "zone.txt")


def session(d):
    c = MilterClient("127.0.0.1", d.port)
    c.negotiate()
    a = c.connect("laptop.example.net", "203.0.113.5",
                  macros={"daemon_name": "smtpd-test", "j": "mx.test.example"})
    assert a.final == "continue", a
    assert c.helo("laptop").final == "continue"
    return c


def headers(tag):
    return [("From", " Carol <carol@sign.example>"), ("To", " dave@far.example"),
            ("Subject", " privsep " + tag), ("Date", " Mon, 02 Jun 2025 10:00:00 +0000"),
            ("Message-ID", " <%s@sign.example>" % tag)]


def send_outbound(d, tag, timeout=30):
    """One authenticated outbound message; the answer to end of message."""
    c = session(d)
    c.sock.settimeout(timeout)
    a = c.message("carol@sign.example", headers(tag), BODY, queue_id=tag.upper(), auth="carol")
    c.quit()
    return a


def verify(d, hs, mods, body, zone=ZONE):
    """`mailvet verify` of the message as it leaves; its stdout (asserting exit 0)."""
    final = apply_mods(hs, mods)
    msg = b"".join((n + ":" + v.replace("\n", "\r\n") + "\r\n").encode() for n, v in final) + b"\r\n" + body
    path = os.path.join(d.dir, "out.eml")
    with open(path, "wb") as f:
        f.write(msg)
    out = subprocess.run([os.environ["MAILVET"], "verify", "--ip", "127.0.0.2", "--zone", zone, path],
                         capture_output=True, text=True)
    return out.stdout + out.stderr


def assert_signed_and_verifies(d, tag, zone=ZONE, count=2):
    a = send_outbound(d, tag)
    sigs = a.inserted("DKIM-Signature")
    assert a.final == "continue" and len(sigs) == count, a
    out = verify(d, headers(tag), a.mods, BODY, zone)
    assert out.count("dkim=pass") == count, out
    return a


# ------------------------------------------------------------ key material

def openssl_text(pem):
    return subprocess.run(["openssl", "pkey", "-in", pem, "-text", "-noout"],
                          capture_output=True, text=True, check=True).stdout


def hex_fields(text):
    """name -> bytes for the hex blocks of `openssl pkey -text` (modulus, priv, ...)."""
    out, name, buf = {}, None, []
    for line in text.splitlines():
        m = re.match(r"^(\w[\w ]*):\s*$", line)
        if m:
            if name and buf:
                out[name] = bytes.fromhex("".join(buf).replace(":", ""))
            name, buf = m.group(1), []
        elif name and re.match(r"^\s+[0-9a-f:]+$", line):
            buf.append(line.strip())
    if name and buf:
        out[name] = bytes.fromhex("".join(buf).replace(":", ""))
    return out


def secrets(pem_path):
    """Named byte strings that only the private key holds: the PEM text, a piece
    of its DER, the private scalar / exponent and primes in both byte orders
    (OpenSSL keeps big numbers as little-endian words)."""
    with open(pem_path) as f:
        pem = f.read()
    lines = [l for l in pem.splitlines() if l and not l.startswith("-----")]
    der = base64.b64decode("".join(lines))
    mid = lines[len(lines) // 2]
    out = {"pem text": mid[8:48].encode(), "der": der[len(der) // 2:len(der) // 2 + 32]}
    fields = hex_fields(openssl_text(pem_path))
    for name in ("privateExponent", "prime1", "prime2", "priv"):
        if name in fields:
            v = fields[name].lstrip(b"\0")
            out[name + " (big-endian)"] = v[:32]
            out[name + " (little-endian)"] = v[::-1][:32]
    return out


def readable_regions(pid):
    with open("/proc/%d/maps" % pid) as f:
        for line in f:
            parts = line.split()
            lo, hi = (int(x, 16) for x in parts[0].split("-"))
            path = parts[5] if len(parts) > 5 else ""
            # ASan's shadow memory is terabytes of reserved zeroes: never key bytes.
            if "r" not in parts[1] or hi - lo > (4 << 30) or path in ("[vvar]", "[vsyscall]"):
                continue
            yield lo, hi


def memory_holds(pid, needles):
    """The names of the needles found anywhere in the readable memory of pid."""
    found = set()
    with open("/proc/%d/mem" % pid, "rb", 0) as mem:
        for lo, hi in readable_regions(pid):
            tail = b""
            pos = lo
            while pos < hi:
                n = min(1 << 20, hi - pos)
                try:
                    mem.seek(pos)
                    chunk = mem.read(n)
                except OSError:
                    break
                data = tail + chunk
                for name, needle in needles.items():
                    if name not in found and needle in data:
                        found.add(name)
                tail = data[-64:]
                pos += n
    return found


def all_secrets():
    out = {}
    for key in ("rsa1.pem", "ed1.pem"):
        for name, v in secrets(os.path.join(DATA, key)).items():
            out[key + " " + name] = v
    return out


# ------------------------------------------------------------------- cases

def no_key_in_worker(d):
    """Signing ran in the worker's pipeline; its memory holds none of the keys."""
    assert_signed_and_verifies(d, "memscan")
    worker, keyd = d.worker_pid(), d.keyd_pid()
    assert keyd and keyd != worker, "no key process (children: %r)" % d.worker_pids(keyd=True)
    needles = all_secrets()
    in_keyd = memory_holds(keyd, needles)
    print("    key process %d holds: %s" % (keyd, ", ".join(sorted(in_keyd))))
    # The scan must be able to fail: the process that signs has the keys.
    assert any("ed1.pem priv" in n for n in in_keyd), in_keyd
    assert any("rsa1.pem privateExponent" in n for n in in_keyd), in_keyd
    in_worker = memory_holds(worker, needles)
    assert not in_worker, "the worker %d holds private key bytes: %s" % (worker, sorted(in_worker))
    in_supervisor = memory_holds(d.proc.pid, needles)
    assert not in_supervisor, "the supervisor holds private key bytes: %s" % sorted(in_supervisor)
    print("    worker %d and supervisor %d: no private key bytes (%d patterns)"
          % (worker, d.proc.pid, len(needles)))


def assert_threads_bound(pid):
    """The key process's signing threads are bound to their socket's CPU group
    (daemon/keyd/cpu.c: n = the configured CPUs, at most 8; socket i serves
    the allowed CPUs c with c % n == i % n). A socket whose group has none of
    the allowed CPUs keeps its thread free; with one group nothing is bound."""
    allowed = os.sched_getaffinity(0)
    groups = min(max(os.sysconf("SC_NPROCESSORS_CONF"), 1), 8)
    want = {}
    for i in range(8):
        cpus = {c for c in allowed if groups > 1 and c % groups == i % groups}
        want[i % groups] = cpus or allowed
    bound = {}
    for tid in os.listdir("/proc/%d/task" % pid):
        cpus = os.sched_getaffinity(int(tid))
        if cpus == allowed:
            continue  # the main thread, or a thread with nothing to bind to
        g = {c % groups for c in cpus}
        assert len(g) == 1, "key-process thread %s on several groups: %r" % (tid, sorted(cpus))
        group = g.pop()
        assert cpus == want[group], (tid, sorted(cpus), sorted(want[group]))
        bound[group] = bound.get(group, 0) + 1
    expect = {g: sum(1 for i in range(8) if i % groups == g)
              for g, cpus in want.items() if cpus != allowed}
    assert bound == expect, "bound threads by group: %r, expected %r" % (bound, expect)


def signing(d):
    """rsa-sha256 and ed25519-sha256 signatures and ARC sets made through the key process verify."""
    a = assert_signed_and_verifies(d, "signq")
    algs = "".join(m[3] for m in a.inserted("DKIM-Signature"))
    assert "a=rsa-sha256" in algs and "a=ed25519-sha256" in algs, algs
    assert d.wait_log("private key(s) loaded"), "the key process did not say it loaded the keys"
    assert harness.has_own_filter(d.keyd_pid(), d.proc.pid), \
        "the key process runs without its system-call filter"
    assert "no system-call filter" not in d.log_text()
    assert_threads_bound(d.keyd_pid())
    d.reload("[outbound]\narc_seal = yes\n")
    ours = " %s; spf=pass smtp.mailfrom=good.example;\n dkim=none; dmarc=pass header.from=good.example" % AUTHSERV_ID
    hs = [("Authentication-Results", ours), ("From", " Alice <alice@good.example>"),
          ("To", " list@sign.example"), ("Subject", " [list] hello"),
          ("Date", " Mon, 02 Jun 2025 10:00:00 +0000"), ("Message-ID", " <l1@good.example>")]
    c = MilterClient("127.0.0.1", d.port)
    c.negotiate()
    assert c.connect("lists.test.example", "127.0.0.2", macros={"j": "mx.test.example"}).final == "continue"
    assert c.helo("lists.test.example").final == "continue"
    a = c.message("list-bounces@sign.example", hs, BODY, queue_id="SEALQ")
    c.quit()
    assert a.final == "continue" and len(a.inserted("ARC-Seal")) == 2, a
    final = apply_mods(hs, a.mods)
    msg = b"".join((n + ":" + v.replace("\n", "\r\n") + "\r\n").encode() for n, v in final) + b"\r\n" + BODY
    path = os.path.join(d.dir, "sealed.eml")
    with open(path, "wb") as f:
        f.write(msg)
    out = subprocess.run([os.environ["MAILVET"], "seal", "--validate", "--zone", ZONE, "--ip", "203.0.113.9",
                          path], capture_output=True, text=True)
    assert out.returncode == 0 and "arc=pass" in out.stdout, out.stdout + out.stderr


def tempfailed(a):
    return a.final == "tempfail" or (a.final == "replycode" and a.reply.startswith("451 4.3.0"))


def wait_new_keyd(d, old, timeout=15):
    end = time.time() + timeout
    while time.time() < end:
        pid = d.keyd_pid()
        if pid and pid != old:
            return pid
        time.sleep(0.05)
    raise AssertionError("no new key process after %d died" % old)


def key_process_restart(d):
    """A stuck key process: a tempfail within seconds, never a hang; a killed one
    is restarted by the supervisor and signing works again."""
    assert_signed_and_verifies(d, "before")
    keyd = d.keyd_pid()
    harness.stop_process(keyd)
    try:
        t = time.time()
        a = send_outbound(d, "stuck")
        took = time.time() - t
    finally:
        os.kill(keyd, signal.SIGCONT)
    assert tempfailed(a) and not a.inserted("DKIM-Signature"), a
    assert took < 15, "the answer took %.1f s" % took
    print("    key process stopped: tempfail after %.1f s" % took)
    assert d.wait_log("the key process did not answer")
    # Killed outright: the supervisor starts another; the next message gets an answer.
    os.kill(keyd, signal.SIGKILL)
    t = time.time()
    a = send_outbound(d, "killed")
    took = time.time() - t
    assert (a.final == "continue" or tempfailed(a)) and took < 15, (a, took)
    if a.final == "continue":
        assert len(a.inserted("DKIM-Signature")) == 2, a
    print("    key process killed: next message %s after %.1f s" % (a.final, took))
    new = wait_new_keyd(d, keyd)
    assert d.worker_pid(), "the worker is gone"
    assert_signed_and_verifies(d, "after")
    print("    key process %d replaced by %d; signing works again" % (keyd, new))


def openssl(*args, **kw):
    return subprocess.run(["openssl"] + list(args), capture_output=True, check=True, **kw).stdout


def record_for(pem):
    """The DKIM key record of a private key file, as zone-file TXT strings."""
    der = openssl("pkey", "-in", pem, "-pubout", "-outform", "DER")
    if b"ed25519" in openssl("pkey", "-in", pem, "-text", "-noout").lower():
        rec = "v=DKIM1; k=ed25519; p=" + base64.b64encode(der[-32:]).decode()
    else:
        rec = "v=DKIM1; k=rsa; p=" + base64.b64encode(der).decode()
    return " ".join('"%s"' % rec[i:i + 200] for i in range(0, len(rec), 200))


def reload(d):
    """A key file replaced and SIGHUP: the key process loads it and the new key signs."""
    key = os.path.join(d.dir, "rot.pem")
    new = os.path.join(d.dir, "new.pem")
    shutil.copy(os.path.join(DATA, "rsa1.pem"), key)
    os.chmod(key, 0o600)
    openssl("genpkey", "-algorithm", "ed25519", "-out", new)
    zones = {}
    for name, pem in (("old", key), ("new", new)):
        zones[name] = os.path.join(d.dir, "zone-%s.txt" % name)
        with open(ZONE) as f, open(zones[name], "w") as g:
            g.write(f.read() + "\nrot._domainkey.sign.example TXT %s\n" % record_for(pem))
    extra = "[domain sign.example]\nkey = rot %s\n" % key
    # Only the rot key: drop the base rsa1/ed1 lines by writing the section whole.
    d.write_config(extra)
    text = open(d.conf).read()
    text = re.sub(r"key = (rsa1|ed1) .*\n", "", text)
    with open(d.conf, "w") as f:
        f.write(text)
    d.reload()
    a = assert_signed_and_verifies(d, "oldkey", zones["old"], count=1)
    assert "a=rsa-sha256" in a.inserted("DKIM-Signature")[0][3]
    shutil.copy(new, key)
    d.reload()
    a = send_outbound(d, "newkey")
    sigs = a.inserted("DKIM-Signature")
    assert a.final == "continue" and len(sigs) == 1 and "a=ed25519-sha256" in sigs[0][3], a
    out = verify(d, headers("newkey"), a.mods, BODY, zones["new"])
    assert "dkim=pass" in out, out
    out = verify(d, headers("newkey"), a.mods, BODY, zones["old"])
    assert "dkim=pass" not in out, "signed with the old key: " + out


CASES = {f.__name__: f for f in (no_key_in_worker, signing, key_process_restart, reload)}


def main():
    case = case_main.pick(CASES, __doc__)
    if case is None:
        return 2
    work = harness.tempdir("mailvetd-privsep-")
    d = harness.Mailvetd(work)
    if not case_main.start(d):
        return 1
    return case_main.run(case, d, d, work)


if __name__ == "__main__":
    sys.exit(main())
