#!/usr/bin/python3
"""auth.passwd_tty: `mailvet passwd` on a terminal asks twice without echo.

Runs the command on a pseudo-terminal (pty), types the password at each prompt
and checks: the line printed, that the password never appears on the terminal
(no echo), that two different entries are refused (exit 1), and that the
terminal has echo back on afterwards."""
import os
import pty
import select
import sys
import termios

MAILVET = os.environ["MAILVET"]
fails = []


def read_until(fd, want, timeout=10.0):
    out = b""
    while want not in out:
        r, _, _ = select.select([fd], [], [], timeout)
        if not r:
            raise TimeoutError(f"no {want!r} in {out!r}")
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    return out


def read_rest(fd):
    out = b""
    while True:
        r, _, _ = select.select([fd], [], [], 10.0)
        if not r:
            break
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    return out


def session(first, second):
    pid, fd = pty.fork()
    if pid == 0:
        os.execv(MAILVET, [MAILVET, "passwd", "alice"])
    seen = read_until(fd, b"Password: ")
    os.write(fd, first + b"\n")
    seen += read_until(fd, b"Again: ")
    echo_off = not (termios.tcgetattr(fd)[3] & termios.ECHO)
    os.write(fd, second + b"\n")
    seen += read_rest(fd)
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    return os.waitstatus_to_exitcode(status), seen, echo_off


code, seen, echo_off = session(b"tty secret", b"tty secret")
if code != 0:
    fails.append(f"same_twice_prints_the_line: exit {code}: {seen!r}")
if b"alice:$y$" not in seen:
    fails.append(f"same_twice_prints_the_line: {seen!r}")
if b"tty secret" in seen:
    fails.append("password_is_not_echoed")
if not echo_off:
    fails.append("echo_is_off_while_reading")

code, seen, _ = session(b"one", b"two")
if code != 1 or b"differ" not in seen or b"alice:" in seen:
    fails.append(f"different_entries_refused: exit {code}: {seen!r}")

for f in fails:
    print("FAIL", f)
if not fails:
    print("passwd_tty: all passed")
sys.exit(1 if fails else 0)
