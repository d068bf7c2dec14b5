"""Run a test script's cases, each in a fresh temporary directory (kept when it fails)."""
import shutil
import sys
import tempfile
import traceback


def main(cases, prefix, usage):
    """The script's arguments (as many as usage names) to run(); 2 when they are missing."""
    want = len(usage.split()) - 1
    if len(sys.argv) < want + 1:
        print("usage: " + usage)
        return 2
    return run(cases, prefix, sys.argv[want])


def run(cases, prefix, *args):
    """Call case(work, *args) for each case; print ok/FAIL; return the exit status."""
    failures = 0
    for case in cases:
        work = tempfile.mkdtemp(prefix=prefix)
        try:
            case(work, *args)
            print("ok   %s" % case.__name__)
            shutil.rmtree(work, ignore_errors=True)
        except Exception:
            failures += 1
            print("FAIL %s (in %s)" % (case.__name__, work))
            traceback.print_exc(file=sys.stdout)
    return 1 if failures else 0
