#!/usr/bin/python3
"""One `mailvet trust` case: tests/authres/trust/NAME.eml read with the arguments of
NAME.args (default: --authserv-id example.com); the output must equal NAME.out, and
--json must say the same (every trusted and untrusted entry, in the same order)."""
import json
import os
import subprocess
import sys

MAILVET = os.environ["MAILVET"]
HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "trust")


def main(name):
    args = ["--authserv-id", "example.com"]
    if os.path.exists(os.path.join(HERE, name + ".args")):
        with open(os.path.join(HERE, name + ".args")) as f:
            args = f.read().split()
    run = lambda extra: subprocess.run(  # noqa: E731
        [MAILVET, "trust"] + args + extra + [name + ".eml"], cwd=HERE, capture_output=True)
    text = run([])
    with open(os.path.join(HERE, name + ".out"), "rb") as f:
        want = f.read()
    if text.returncode != 0 or text.stdout != want:
        print("FAIL: %s: exit %d\n--- want\n%s--- got\n%s%s" % (
            name, text.returncode, want.decode(), text.stdout.decode(), text.stderr.decode()))
        return 1
    print(text.stdout.decode(), end="")
    got = json.loads(run(["--json"]).stdout)[0]
    trusted = [x for x in want.decode().splitlines() if x.startswith("trusted:")]
    untrusted = [x for x in want.decode().splitlines() if x.startswith("untrusted:")]
    if (len(got["trusted"]) != len(trusted) or len(got["untrusted"]) != len(untrusted)
            or any(("field %d " % e["field"]) not in t
                   for e, t in zip(got["trusted"] + got["untrusted"], trusted + untrusted))):
        print("FAIL: %s: --json disagrees with the text output:\n%s" % (name, got))
        return 1
    print("ok: %s (text and --json)" % name)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
