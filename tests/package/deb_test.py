#!/usr/bin/python3
"""package.deb (issue 16): the Debian package as an administrator gets it.

Builds the package from a copy of the source tree (contrib/build-deb, into a
temporary directory: the tree stays as it is), installs it with
`apt-get install ./mailvet_*.deb`, checks its files, owners and modes and the
user it makes, checks the installed configuration with `mailvetd -n`, starts
the daemon as the unit says (with systemd when it runs the machine; else the
unit's ExecStartPre and ExecStart as the unit's user, with its runtime
directory, umask and no capability), sends it a message over the milter
socket, stops it, then removes and purges the package and checks that nothing
is left. Needs root. The machine is left as it was found: the package is
purged and the user (when the test made it) removed even when a check fails;
a machine that already has the package or a /run/mailvetd is refused, not
touched.
"""
import configparser
import grp
import os
import pwd
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "daemon"))
from milterproto import ALL_PROTOCOL, MilterClient  # noqa: E402

SRC = os.environ.get("MV_SOURCE_DIR") or os.path.abspath(os.path.join(HERE, "..", ".."))
UNIT = "/lib/systemd/system/mailvetd.service"
CONF = "/etc/mailvet/mailvet.conf"
APT = ["apt-get", "-y", "-q", "-o", "DPkg::Lock::Timeout=300"]
ENV = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
# Everything the package or its scripts may create: none may stay after the purge.
LEFT_AFTER_PURGE = [
    "/usr/bin/mailvet", "/usr/sbin/mailvetd", UNIT, "/etc/mailvet", "/var/lib/mailvet",
    "/etc/logrotate.d/mailvet", "/etc/rsyslog.d/49-mailvet.conf", "/usr/share/doc/mailvet",
    "/usr/share/man/man8/mailvetd.8.gz", "/var/log/mailvet.log",
    "/etc/systemd/system/multi-user.target.wants/mailvetd.service",
    "/var/lib/systemd/deb-systemd-helper-enabled/mailvetd.service.dsh-also",
    "/var/lib/systemd/deb-systemd-helper-enabled/multi-user.target.wants/mailvetd.service",
]

failures = []


def check(ok, name, detail=""):
    why = ": " + detail if detail and not ok else ""
    print("%s %s%s" % ("ok  " if ok else "FAIL", name, why))
    if not ok:
        failures.append(name)
    return ok


def run(cmd, **kw):
    kw.setdefault("env", ENV)
    return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **kw)


def package_state():
    """dpkg's status of mailvet ("install ok installed", ...) or "" when unknown."""
    r = run(["dpkg-query", "-W", "-f=${Status}", "mailvet"])
    return r.stdout.strip() if r.returncode == 0 else ""


def installed():
    """True when dpkg has mailvet in any state but purged (files or config may be there)."""
    return package_state() not in ("", "unknown ok not-installed")


def systemd_runs():
    return os.path.isdir("/run/systemd/system")


def mode_owner(path):
    st = os.lstat(path)
    return (stat.S_IMODE(st.st_mode), pwd.getpwuid(st.st_uid).pw_name,
            grp.getgrgid(st.st_gid).gr_name)


class UnixMilterClient(MilterClient):
    """The milter client of the daemon tests, over a unix socket."""

    def __init__(self, path, timeout=60):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(path)
        self.offer = ALL_PROTOCOL
        self.skip = 0
        self.leadspc = False


def read_unit(path):
    """The [Service] section of a unit as a dict (last value wins, as systemd reads it)."""
    cp = configparser.ConfigParser(strict=False, interpolation=None)
    cp.optionxform = str
    with open(path) as f:
        cp.read_string(f.read())
    return dict(cp["Service"])


def tree_status():
    """What git sees in the source tree (ignored files included), or None outside git."""
    r = run(["git", "-C", SRC, "status", "--porcelain", "--ignored", "--untracked-files=all",
             "--", ".", ":!build", ":!build-*"])
    return r.stdout if r.returncode == 0 else None


def build(out):
    before = tree_status()
    # no -dbgsym package: it is not what is tested
    r = run([os.path.join(SRC, "contrib", "build-deb"), out], timeout=900,
            env=dict(ENV, DEB_BUILD_OPTIONS="noddebs"))
    debs = [f for f in os.listdir(out) if f.startswith("mailvet_") and f.endswith(".deb")]
    if not check(r.returncode == 0 and len(debs) == 1, "package_builds", r.stdout[-3000:]):
        return None
    # dpkg-buildpackage wrote in the copy (debian/mailvet, obj-*, ../*.deb), not in the tree.
    after = tree_status()
    check(before == after, "source_tree_untouched_by_the_build", "%s\n->\n%s" % (before, after))
    return os.path.join(out, debs[0])


def check_files():
    expect = {
        "/usr/bin/mailvet": (0o755, "root", "root"),
        "/usr/sbin/mailvetd": (0o755, "root", "root"),
        CONF: (0o644, "root", "root"),
        UNIT: (0o644, "root", "root"),
        "/usr/share/man/man1/mailvet.1.gz": (0o644, "root", "root"),
        "/usr/share/man/man5/mailvet.conf.5.gz": (0o644, "root", "root"),
        "/usr/share/man/man8/mailvetd.8.gz": (0o644, "root", "root"),
        "/etc/logrotate.d/mailvet": (0o644, "root", "root"),
        "/etc/rsyslog.d/49-mailvet.conf": (0o644, "root", "root"),
        "/etc/mailvet/keys": (0o750, "root", "mailvet"),
        "/var/lib/mailvet": (0o750, "mailvet", "mailvet"),
    }
    for path, want in expect.items():
        got = mode_owner(path) if os.path.lexists(path) else None
        check(got == want, "installed %s %o %s:%s" % ((path,) + want), "got %r" % (got,))
    conffiles = run(["dpkg-query", "-W", "-f=${Conffiles}", "mailvet"]).stdout
    for c in (CONF, "/etc/logrotate.d/mailvet", "/etc/rsyslog.d/49-mailvet.conf"):
        check(c in conffiles, "conffile %s" % c, conffiles)
    listed = run(["dpkg", "-L", "mailvet"]).stdout.split()
    check(not any(p.startswith("/usr/include") or p.endswith(".a") for p in listed),
          "no_library_or_headers_in_the_package")
    with open(os.path.join(SRC, "contrib", "mailvet.conf")) as f, open(CONF) as g:
        check(f.read() == g.read(), "configuration_is_the_example")


def check_user():
    try:
        pw = pwd.getpwnam("mailvet")
    except KeyError:
        return check(False, "user_mailvet_exists")
    check(True, "user_mailvet_exists")
    check(pw.pw_uid < 1000 and pw.pw_shell.endswith("nologin"), "user_mailvet_is_a_system_user",
          "%r" % (pw,))
    check(grp.getgrgid(pw.pw_gid).gr_name == "mailvet", "user_mailvet_has_its_group")
    return True


def check_programs():
    r = run(["/usr/sbin/mailvetd", "--help"])
    check(r.returncode == 0 and r.stdout.startswith("usage: mailvetd"), "mailvetd_help_on_stdout",
          r.stdout)
    r = subprocess.run(["/usr/bin/mailvet", "--version"], capture_output=True, text=True)
    check(r.returncode == 0 and r.stdout.startswith("mailvet ") and not r.stderr,
          "mailvet_version_on_stdout", r.stdout + r.stderr)
    r = run(["/usr/sbin/mailvetd", "-n", "-c", CONF])
    check(r.returncode == 0 and "configuration OK" in r.stdout, "installed_configuration_passes_n",
          r.stdout)


def milter_socket():
    """The unix socket path [milter] socket names in the installed configuration."""
    cp = configparser.ConfigParser(strict=False, interpolation=None,
                                   comment_prefixes=(";", "#"), inline_comment_prefixes=None)
    with open(CONF) as f:
        cp.read_string(f.read())
    spec = cp.get("milter", "socket", fallback="unix:/run/mailvetd/milter.sock")
    return spec.split(":", 1)[1] if ":" in spec else spec


def send_one_message(path):
    c = UnixMilterClient(path)
    try:
        c.negotiate()
        a = c.connect("localhost", "127.0.0.1", macros={"j": "mx.test.example"})
        if a.final == "continue":
            a = c.helo("localhost")
        if a.final == "continue":
            a = c.message("alice@example.com",
                          [("From", " alice@example.com"), ("To", " bob@example.org"),
                           ("Subject", " package test"), ("Message-ID", " <pkg@example.com>")],
                          b"hello\r\n", queue_id="PKGTEST")
        return a.final
    finally:
        c.quit()


def wait_socket(path, proc, timeout=30):
    end = time.time() + timeout
    while time.time() < end:
        if proc is not None and proc.poll() is not None:
            return False
        if os.path.exists(path):
            try:
                s = socket.socket(socket.AF_UNIX)
                s.connect(path)
                s.close()
                return True
            except OSError:
                pass
        time.sleep(0.1)
    return False


def setpriv_argv(svc, cmd):
    """cmd as the unit runs it: its user and group, no other group, no capability."""
    return ["setpriv", "--reuid=" + svc["User"], "--regid=" + svc.get("Group", svc["User"]),
            "--clear-groups", "--no-new-privs", "--inh-caps=-all", "--bounding-set=-all",
            "--"] + cmd.split()


def run_as_unit(svc, made):
    """Without systemd: ExecStartPre, then ExecStart, as the unit's user; True if it served."""
    rundir = "/run/" + svc["RuntimeDirectory"]
    pw = pwd.getpwnam(svc["User"])
    os.mkdir(rundir, int(svc.get("RuntimeDirectoryMode", "0755"), 8))
    made["rundir"] = rundir
    os.chown(rundir, pw.pw_uid, grp.getgrnam(svc.get("Group", svc["User"])).gr_gid)
    umask = int(svc.get("UMask", "0022"), 8)
    pre = run(setpriv_argv(svc, svc["ExecStartPre"]), preexec_fn=lambda: os.umask(umask))
    check(pre.returncode == 0 and "configuration OK" in pre.stdout,
          "unit_ExecStartPre_passes_as_%s" % svc["User"], pre.stdout)
    log = open(os.path.join(made["tmp"], "mailvetd.log"), "w+")
    p = subprocess.Popen(setpriv_argv(svc, svc["ExecStart"]), stdout=log, stderr=log,
                         preexec_fn=lambda: os.umask(umask), cwd="/")
    made["daemon"] = p
    path = milter_socket()
    served = check(wait_socket(path, p), "unit_ExecStart_listens_on_%s" % path,
                   _read(log))
    if served:
        with open("/proc/%d/status" % p.pid) as f:
            uids = [ln.split()[1:] for ln in f if ln.startswith("Uid:")][0]
        check(set(uids) == {str(pw.pw_uid)}, "daemon_runs_as_%s" % svc["User"], "%r" % uids)
        mode, owner, _ = mode_owner(path)
        check(owner == svc["User"] and not mode & 0o007, "socket_is_the_users_and_not_others",
              "%o %s" % (mode, owner))
        final = send_one_message(path)
        check(final in ("accept", "continue"), "a_message_through_the_milter_is_accepted", final)
    p.send_signal(getattr(signal, svc.get("KillSignal", "SIGTERM")))
    try:
        rc = p.wait(timeout=int(svc.get("TimeoutStopSec", "45")))
    except subprocess.TimeoutExpired:
        p.kill()
        rc = p.wait()
    made.pop("daemon")
    check(rc == 0, "daemon_stops_cleanly_on_%s" % svc.get("KillSignal", "SIGTERM"),
          "exit %s: %s" % (rc, _read(log)))
    check(not os.path.exists(path), "socket_removed_at_stop")
    shutil.rmtree(rundir)  # systemd removes the RuntimeDirectory at stop
    made.pop("rundir")


def _read(f):
    f.flush()
    f.seek(0)
    return f.read()[-3000:]


def run_with_systemd(svc):
    r = run(["systemctl", "restart", "mailvetd"])
    check(r.returncode == 0, "systemctl_starts_mailvetd", r.stdout)
    path = milter_socket()
    if check(wait_socket(path, None), "unit_listens_on_%s" % path):
        final = send_one_message(path)
        check(final in ("accept", "continue"), "a_message_through_the_milter_is_accepted", final)
    main_pid = run(["systemctl", "show", "-p", "MainPID", "--value", "mailvetd"]).stdout.strip()
    if main_pid.isdigit() and main_pid != "0":
        check(pwd.getpwuid(os.stat("/proc/" + main_pid).st_uid).pw_name == svc["User"],
              "daemon_runs_as_%s" % svc["User"])
    r = run(["systemctl", "stop", "mailvetd"])
    check(r.returncode == 0, "systemctl_stops_mailvetd", r.stdout)


def check_unit():
    svc = read_unit(UNIT)
    check(svc.get("ExecStart", "").startswith("/usr/sbin/mailvetd -f -c " + CONF),
          "unit_runs_the_installed_mailvetd", svc.get("ExecStart", ""))
    want = {"User": "mailvet", "NoNewPrivileges": "yes", "ProtectSystem": "strict",
            "PrivateTmp": "yes", "CapabilityBoundingSet": "", "RuntimeDirectory": "mailvetd"}
    for k, v in want.items():
        check(svc.get(k) == v, "unit_%s=%s" % (k, v), "got %r" % svc.get(k))
    check("/run/mailvetd" in svc.get("ReadWritePaths", ""), "unit_ReadWritePaths")
    return svc


def remove_and_purge():
    r = run(APT + ["remove", "mailvet"], timeout=600)
    check(r.returncode == 0, "apt_get_remove", r.stdout[-2000:])
    check(not os.path.exists("/usr/sbin/mailvetd") and os.path.exists(CONF),
          "remove_keeps_only_the_configuration")
    r = run(APT + ["purge", "mailvet"], timeout=600)
    check(r.returncode == 0, "apt_get_purge", r.stdout[-2000:])
    check(not installed(), "purged_package_is_unknown_to_dpkg", package_state())
    left = [p for p in LEFT_AFTER_PURGE if os.path.lexists(p)]
    check(not left, "nothing_left_after_purge", " ".join(left))
    overrides = run(["dpkg-statoverride", "--list"]).stdout
    check("mailvet" not in overrides, "no_statoverride_left", overrides)
    if check_user_kept():
        owned = run(["find", "/etc", "/var", "/run", "/usr", "-xdev", "-user", "mailvet"]).stdout
        check(owned.strip() == "", "no_file_owned_by_mailvet_left", owned[:2000])


def check_user_kept():
    try:
        pwd.getpwnam("mailvet")
    except KeyError:
        return check(False, "purge_keeps_the_system_user")
    return check(True, "purge_keeps_the_system_user")


def cleanup(made):
    p = made.get("daemon")
    if p is not None and p.poll() is None:
        p.kill()
        p.wait()
    if installed():
        run(APT + ["purge", "mailvet"], timeout=600)
        if installed():
            run(["dpkg", "--purge", "mailvet"])
    if made.get("rundir"):
        shutil.rmtree(made["rundir"], ignore_errors=True)
    if not made.get("user_before"):
        if subprocess.run(["getent", "passwd", "mailvet"], capture_output=True).returncode == 0:
            run(["deluser", "--system", "mailvet"])
        if subprocess.run(["getent", "group", "mailvet"], capture_output=True).returncode == 0:
            run(["delgroup", "--system", "mailvet"])
    shutil.rmtree(made["tmp"], ignore_errors=True)


def main():
    if os.geteuid() != 0:
        print("FAIL package.deb needs root (it installs and removes a package)")
        return 1
    if installed():
        print("FAIL mailvet is already known to dpkg here (%s): not touching it" % package_state())
        return 1
    if os.path.exists("/run/mailvetd"):
        print("FAIL /run/mailvetd exists (a mailvetd runs here?): not touching it")
        return 1
    # ctest's timeout or a ^C still purges the package (the finally below).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))
    made = {"tmp": tempfile.mkdtemp(prefix="mv-deb-")}
    try:
        made["user_before"] = subprocess.run(["getent", "passwd", "mailvet"],
                                             capture_output=True).returncode == 0
        t0 = time.time()
        deb = build(made["tmp"])
        print("     built in %.0f s" % (time.time() - t0))
        if deb is None:
            return 1
        r = run(APT + ["install", deb], timeout=600)
        if not check(r.returncode == 0 and "install ok installed" in package_state(),
                     "apt_get_install_the_deb", r.stdout[-3000:]):
            return 1
        check_files()
        if check_user():
            check_programs()
            svc = check_unit()
            if systemd_runs():
                run_with_systemd(svc)
            else:
                print("     systemd does not run this machine: the unit's commands as its user")
                run_as_unit(svc, made)
        remove_and_purge()
    except Exception:
        traceback.print_exc()
        failures.append("exception")
    finally:
        cleanup(made)
    after = [p for p in ("/run/mailvetd",) if os.path.exists(p)]
    check(not installed() and not after, "machine_left_as_found", " ".join(after))
    if failures:
        print("package.deb: %d failed: %s" % (len(failures), ", ".join(failures)))
        return 1
    print("package.deb: all passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
