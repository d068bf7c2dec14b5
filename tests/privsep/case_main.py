"""What the main of each privsep test script does (privsep_test.py's main, shared): take the
case named on the command line, start mailvetd, run the case with harness.run_cases, stop
mailvetd, and with harness.finish keep the work dir on failure."""
import sys

import harness


def pick(cases, usage):
    """The case that argv[1] names (then argv is what harness reads: the binary in argv[1]);
    None after printing usage when there is none."""
    if len(sys.argv) < 3 or sys.argv[1] not in cases:
        print(usage)
        return None
    case = cases[sys.argv[1]]
    sys.argv = [sys.argv[0]] + sys.argv[2:]
    return case


def start(d, ready=None):
    """Start d, then wait with ready() if given; False (said, with the log) when it cannot
    start: a test that cannot start its server fails."""
    try:
        d.start()
        if ready:
            ready()
    except Exception as e:  # noqa: BLE001
        print("FAIL cannot start mailvetd: %s" % e)
        print(d.log_text()[-4000:])
        return False
    return True


def run(case, arg, d, work):
    """case(arg) against the running d, then d stopped: the exit status of the script (0, or
    1 with d's log printed and work kept)."""
    failures = harness.run_cases([case], arg)
    if failures:
        print("log: %s" % d.log)
        print(d.log_text()[-4000:])
    return harness.finish(work, failures, d.stop(), d)
