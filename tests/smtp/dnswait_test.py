#!/usr/bin/python3
"""smtp.loop_never_waits_for_dns: one message's DNS never stalls the other sessions.

Usage: dnswait_test.py MAILVETD. mailvetd's SMTP front end serves every session from one
event loop; the checks' DNS runs in the message's verdict thread. Here the authoritative
server (bench/mta/slowdns.py) answers every query DELAY late. Session A sends a message up
to the end of its header and part of its body (where the prefetch of its questions used to
wait for DNS inside the loop); once mailvetd has read all of it, session B connects and runs
EHLO and NOOP: its replies must not wait for an answer to A's questions (none may come
before an answer could: DELAY after the first of them reached the DNS server). Then A ends
its message: it is judged with the slow answers (spf=pass in the log) and relayed (250 from
the next hop).
"""
import fcntl
import os
import re
import struct
import sys
import termios
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "daemon"))
sys.path.insert(0, os.path.join(HERE, "..", "..", "bench", "mta"))
import harness  # noqa: E402
import slowdns  # noqa: E402
from smtp_test import Raw as Client  # noqa: E402

DELAY = 1.0  # seconds per DNS answer
APEX = "dnswait"  # not .test: libunbound answers that itself


def unread(client, server_port):
    """Bytes client sent that mailvetd has not read yet (not acknowledged, or
    waiting in the server socket's receive queue: /proc/net/tcp), or None."""
    unacked = struct.unpack("i", fcntl.ioctl(client, termios.TIOCOUTQ, b"\0" * 4))[0]
    local = "0100007F:%04X" % server_port
    remote = "0100007F:%04X" % client.getsockname()[1]
    with open("/proc/net/tcp") as f:
        for line in f.readlines()[1:]:
            fields = line.split()
            if fields[1] == local and fields[2] == remote:
                return unacked + int(fields[4].split(":")[1], 16)
    return None


def wait_read(client, server_port, timeout=15):
    """Wait until mailvetd's loop has read all client sent: the read callback
    that parses it (and ends the header) runs before the loop accepts anyone else."""
    end = time.time() + timeout
    while unread(client, server_port) != 0:
        assert time.time() < end, "mailvetd did not read session A's data in %d s" % timeout
        time.sleep(0.01)


def main():
    work = harness.tempdir("mv-dnswait-")
    zone = slowdns.Zone([APEX])
    dom = "m1." + APEX
    zone.add(dom, "TXT", '"v=spf1 ip4:127.0.0.1 -all"')
    zone.add("_dmarc." + dom, "TXT", '"v=DMARC1; p=none"')
    server = slowdns.SlowServer(zone, delay=DELAY)
    sink = harness.Sink()
    sink.start()
    port = harness.free_port()
    d = harness.Mailvetd(work, port=port, extra="[milter]\nsocket =\n[dns]\nzone_file =\n"
                         "resolver = 127.0.0.1@%d\ntimeout_ms = 5000\n[listener mx]\n"
                         "listen = 127.0.0.1:%d\nnext_hop = inet:127.0.0.1:%d\n"
                         % (server.port, port, sink.port))
    failures = 0
    try:
        d.start()
        a = Client(port)  # reads and checks the greeting
        assert a.cmd("EHLO a.example").startswith("250")
        assert a.cmd("MAIL FROM:<b@%s>" % dom).startswith("250")
        assert a.cmd("RCPT TO:<bob@dest.example>").startswith("250")
        assert a.cmd("DATA").startswith("354")
        a.s.sendall(("From: alice@%s\r\nTo: bob@dest.example\r\nSubject: dns wait\r\n"
                     "Message-ID: <w1@%s>\r\n\r\nthe first line of the body\r\n"
                     % (dom, dom)).encode())
        wait_read(a.s, port)  # the header has ended in mailvetd
        t0 = time.monotonic()
        b = Client(port, greet=False)
        greeting = b.reply()
        ehlo = b.cmd("EHLO b.example")
        noop = b.cmd("NOOP")
        b_done = time.monotonic()
        took = b_done - t0
        b.cmd("QUIT")
        t1 = time.monotonic()
        a.s.sendall(b"the last line\r\n.\r\n")
        final = a.reply()
        verdict = time.monotonic() - t1
        a.cmd("QUIT")
        print("B: greeting, EHLO and NOOP in %.0f ms while A's DNS was out; A's verdict %.0f ms: %s"
              % (took * 1000, verdict * 1000, final))
        log = d.log_text()
        # The loop waiting for A's DNS would answer B no earlier than DELAY after
        # the DNS server got A's first question (slowdns answers then): compare
        # with that, not with a wall-clock bound that a stalled machine can break.
        asked = [e[0] for e in server.queries() if dom in e[1]]
        answer = min(asked) + DELAY if asked else None
        print("A's first question reached the DNS server %s"
              % ("%.0f ms after B's NOOP reply" % ((min(asked) - b_done) * 1000) if asked else "never"))
        checks = [
            ("B served without waiting for A's DNS",
             greeting.startswith("220") and ehlo.startswith("250") and noop.startswith("250")
             and answer is not None and b_done < answer),
            ("A relayed", final.startswith("250")),
            ("A judged with the slow answers (spf=pass)",
             re.search(r"\bspf=pass\b", log) is not None),
            ("A's DNS was asked", any(dom in e[1] for e in server.log)),
        ]
        for name, ok in checks:
            print("%s %s" % ("ok  " if ok else "FAIL", name))
            failures += not ok
    except Exception:  # noqa: BLE001 — a test that cannot run fails
        import traceback
        traceback.print_exc(file=sys.stdout)
        failures += 1
    finally:
        rc = harness.stop_checked(d) if d.proc else 1
        server.close()
    return harness.finish(work, failures, rc, d)


if __name__ == "__main__":
    if len(sys.argv) > 1:
        os.environ["MAILVETD"] = sys.argv[1]
    sys.exit(main())
