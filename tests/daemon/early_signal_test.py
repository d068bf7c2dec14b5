#!/usr/bin/python3
"""daemon.early_signals: SIGHUP or SIGTERM sent the moment mailvetd's port answers.

From its first listener on, mailvetd holds SIGHUP, SIGTERM and SIGINT blocked until
its supervisor's handlers run (daemon/main.c block_stop_and_reload): at every moment
after the port answers, each of them is blocked or caught, never left to its default
action (which ended the process and left its socket and pid file behind). A SIGHUP
sent then is a reload once the supervisor runs; a SIGTERM a clean stop (exit 0, pid
file removed). The port is polled every millisecond, so the signal lands in the gap
that a 50 ms poll would mostly miss. Usage: early_signal_test.py MAILVETD.
"""
import os
import shutil
import signal
import socket
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import harness  # noqa: E402

WATCHED = {"SIGHUP": signal.SIGHUP, "SIGINT": signal.SIGINT, "SIGTERM": signal.SIGTERM}


def start_tight(d):
    """Start d and return as soon as its milter port accepts (polled every ms)."""
    d.logf = open(d.log, "ab")
    d.proc = harness.track(subprocess.Popen([d.binary, "-f", "-c", d.conf],
                                            stdout=d.logf, stderr=d.logf))
    end = time.time() + 60
    while time.time() < end:
        if d.proc.poll() is not None:
            raise AssertionError("mailvetd exited with %s before listening" % d.proc.returncode)
        s = socket.socket()
        try:
            s.connect(("127.0.0.1", d.port))
            return
        except OSError:
            time.sleep(0.001)
        finally:
            s.close()
    raise AssertionError("mailvetd never listened on %d" % d.port)


def signal_masks(pid):
    """(blocked, caught) signal masks of pid, from /proc/PID/status."""
    masks = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("SigBlk", "SigCgt"):
                masks[key] = int(value.strip(), 16)
    return masks["SigBlk"], masks["SigCgt"]


def assert_held(d):
    """Each watched signal is blocked or caught right now."""
    blocked, caught = signal_masks(d.proc.pid)
    loose = [name for name, sig in WATCHED.items() if not (blocked | caught) & (1 << (sig - 1))]
    assert not loose, "with the port answering, %s would end mailvetd (SigBlk %x, SigCgt %x)" \
        % (", ".join(loose), blocked, caught)


def sighup_at_once(work):
    d = harness.Mailvetd(work)
    start_tight(d)
    assert_held(d)
    d.hup()
    assert d.wait_log("configuration reloaded", 60), "the early SIGHUP was not a reload"
    assert d.proc.poll() is None, "mailvetd exited with %s" % d.proc.returncode
    assert harness.stop_checked(d) == 0


def sigterm_at_once(work):
    d = harness.Mailvetd(work, extra="[milter]\npid_file = %s/mailvetd.pid" % work)
    start_tight(d)
    assert_held(d)
    d.proc.send_signal(signal.SIGTERM)
    rc = d.proc.wait(60)
    harness.untrack(d.proc)
    assert rc == 0, "the early SIGTERM ended mailvetd with %s" % rc
    assert "exiting" in d.log_text(), "no clean stop in the log"
    assert not os.path.exists(os.path.join(work, "mailvetd.pid")), "the pid file was left behind"


def main():
    harness.mailvetd_path()
    failures = 0
    for case in (sighup_at_once, sigterm_at_once):
        for i in range(3):  # the gap is narrow: three starts each
            work = harness.tempdir("mailvetd-early-")
            try:
                case(work)
                shutil.rmtree(work, ignore_errors=True)
            except Exception as e:  # noqa: BLE001
                failures += 1
                print("FAIL %s (start %d): %s" % (case.__name__, i + 1, e))
                print(open(os.path.join(work, "mailvetd.log")).read()[-3000:])
                break
        else:
            print("ok   %s (3 starts)" % case.__name__)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
