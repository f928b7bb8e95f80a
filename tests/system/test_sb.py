# SPDX-License-Identifier: MIT
"""System tests of the `sb` client (who, send, listen) against the real daemon.

Every `sb` runs as a real process with pipes, in its own session (so it never finds a terminal
to ask a password on), with SB_PASSWORD set explicitly. Every `sb listen` a test starts is
stopped at teardown (SIGTERM, then SIGKILL if it hangs); a sanitizer report on the stderr of any
`sb` fails the test. Every wait is bounded and scaled with t() (SB_SANITIZED=1: times 4).
"""

import os
import re
import signal
import socket
import subprocess
import threading
import time

import pytest

from harness import (CLIENT, Client, HarnessError, free_port, one_error_line,
                     ipv6_loopback_available, t, wait_until)

SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:")
READY = re.compile(r"^sb: (\S+) is online at (\[[0-9a-fA-F:.]+\]|[0-9.]+):([0-9]+)$")
LOST = re.compile(r"^sb: lost the directory \(.+\); reconnecting in [0-9]+(\.[0-9]+)? ?s$")


def password(user):
    return "pw-" + user


def sb_env(pw=None):
    """Our environment with SB_PASSWORD = pw (None: without SB_PASSWORD)."""
    env = dict(os.environ)
    env.pop("SB_PASSWORD", None)
    if pw is not None:
        env["SB_PASSWORD"] = pw
    env.setdefault("LC_ALL", "C.UTF-8")
    return env


def dir_arg(d, family=None):
    host, port = d.addr(family=family)
    return "[%s]:%d" % (host, port) if ":" in host else "%s:%d" % (host, port)


def check_sanitizer(stderr, what):
    text = stderr.decode("utf-8", "replace") if isinstance(stderr, bytes) else stderr
    for mark in SANITIZER_MARKS:
        assert mark not in text, "sanitizer report from %s:\n%s" % (what, text[-4000:])


def run_sb(*args, pw=None, input=None, timeout=None, env=None):
    """Run `sb ARGS...` to completion (bounded). Returns CompletedProcess with bytes stdout and
    stderr. pw: the SB_PASSWORD (None: none at all)."""
    if not os.path.exists(CLIENT):
        raise HarnessError("client binary not found: %s (build it, or set SB_CLIENT)" % CLIENT)
    if env is None:
        env = sb_env(pw)
    out = subprocess.run([CLIENT] + [str(a) for a in args], input=input,
                         stdin=None if input is not None else subprocess.DEVNULL,
                         capture_output=True, env=env, start_new_session=True,
                         timeout=t(30) if timeout is None else timeout)
    check_sanitizer(out.stderr, "sb %s" % " ".join(str(a) for a in args))
    return out


def sb(d, command, user, *args, pw=None, opts=(), **kw):
    """`sb COMMAND -u USER -d <directory of d> OPTS... ARGS...` with SB_PASSWORD = pw or
    pw-USER (d: a Daemon or "HOST:PORT")."""
    return run_sb(command, "-u", user, "-d", d if isinstance(d, str) else dir_arg(d), *opts,
                  *args, pw=password(user) if pw is None else pw, **kw)



def assert_ok(out):
    assert out.returncode == 0, (out.returncode, out.stdout, out.stderr)
    return out


def send(d, sender, target, *words, **kw):
    return sb(d, "send", sender, target, *words, **kw)


def norm_hex(s):
    """Lower-case the hex digits of every \\xHH escape (either case is fine)."""
    return re.sub(r"\\(\\|x[0-9A-Fa-f]{2}|.)",
                  lambda m: m.group(0).lower() if m.group(1).startswith("x") else m.group(0), s)


# ---------------------------------------------------------------------------------------------
# `sb listen` as a background process


class Listen:
    """One `sb listen` (or any long-running sb) with both pipes read by threads."""

    def __init__(self, args, env):
        if not os.path.exists(CLIENT):
            raise HarnessError("client binary not found: %s (build it, or set SB_CLIENT)"
                               % CLIENT)
        self.args = [CLIENT] + [str(a) for a in args]
        self.proc = subprocess.Popen(self.args, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                                     start_new_session=True)
        self.cond = threading.Condition()
        self.out = b""
        self.err = b""
        self.returncode = None
        self._threads = [threading.Thread(target=self._pump, args=(self.proc.stdout, "out"),
                                          daemon=True),
                         threading.Thread(target=self._pump, args=(self.proc.stderr, "err"),
                                          daemon=True)]
        for th in self._threads:
            th.start()

    def _pump(self, pipe, name):
        fd = pipe.fileno()
        while True:
            try:
                data = os.read(fd, 65536)
            except OSError:
                data = b""
            with self.cond:
                if data:
                    setattr(self, name, getattr(self, name) + data)
                self.cond.notify_all()
            if not data:
                return

    # output ----------------------------------------------------------------------------------

    def stdout_lines(self):
        """The complete lines printed on stdout so far (decoded as UTF-8, strictly)."""
        with self.cond:
            data = self.out
        return [ln.decode("utf-8") for ln in data.split(b"\n")[:-1]]

    def stderr_lines(self):
        with self.cond:
            data = self.err
        return [ln.decode("utf-8", "replace") for ln in data.split(b"\n")[:-1]]

    def describe(self):
        with self.cond:
            return "sb %s (exit %r)\nstdout: %r\nstderr: %r" % (
                " ".join(self.args[1:]), self.proc.poll(), self.out[-2000:], self.err[-2000:])

    def wait(self, predicate, timeout=None, what="output"):
        deadline = time.monotonic() + (t(10) if timeout is None else timeout)
        with self.cond:
            while True:
                v = predicate()
                if v:
                    return v
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self.cond.wait(min(left, 0.1))
        raise HarnessError("timed out waiting for %s from %s" % (what, self.describe()))

    def wait_stdout(self, count, timeout=None):
        """Wait until stdout has at least count complete lines; returns them all."""
        return self.wait(lambda: len(self.out.split(b"\n")) > count and self.stdout_lines(),
                         timeout, "%d line(s) on stdout" % count)

    def ready_lines(self):
        return [m for m in (READY.match(ln) for ln in self.stderr_lines()) if m]

    def wait_ready(self, count=1, timeout=None):
        """Wait for the count-th readiness line; returns (user, host, port) of the last one."""
        def ready():
            if self.proc.poll() is not None:
                raise HarnessError("sb exited before it was ready: %s" % self.describe())
            ms = self.ready_lines()
            return len(ms) >= count and ms
        ms = self.wait(ready, timeout, "readiness line #%d" % count)
        m = ms[-1]
        return m.group(1), m.group(2).strip("[]"), int(m.group(3))

    # life cycle ------------------------------------------------------------------------------

    def alive(self):
        return self.proc.poll() is None

    def send_signal(self, sig):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)

    def wait_exit(self, timeout=None):
        try:
            rc = self.proc.wait(t(10) if timeout is None else timeout)
        except subprocess.TimeoutExpired:
            raise HarnessError("sb did not exit in time: %s" % self.describe())
        for th in self._threads:
            th.join(t(5))
        self.returncode = rc
        return rc

    def stop(self, sig=signal.SIGTERM, timeout=None):
        self.send_signal(sig)
        return self.wait_exit(timeout)

    def kill(self):
        """SIGKILL: no LEAVE is sent, so the binding stays in the directory."""
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(t(10))
        for th in self._threads:
            th.join(t(5))

    def cleanup(self):
        """Stop it if it runs; returns a problem description, or None."""
        problem = None
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                rc = self.proc.wait(t(10))
                if rc != 0:
                    problem = "exit status %d after SIGTERM at teardown" % rc
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(t(10))
                problem = "still running %gs after SIGTERM at teardown" % t(10)
        for th in self._threads:
            th.join(t(5))
        for p in (self.proc.stdout, self.proc.stderr):
            p.close()
        return problem


@pytest.fixture
def make_listen():
    """make_listen(daemon_or_addr, user, *extra, pw=None, ready=True) -> Listen.
    With ready=True, waits for the readiness line and sets .host/.port from it."""
    made = []

    def make(d, user, *extra, pw=None, ready=True, command="listen"):
        args = [command, "-u", user, "-d", d if isinstance(d, str) else dir_arg(d)]
        args += list(extra)
        lp = Listen(args, sb_env(password(user) if pw is None else pw))
        made.append(lp)
        if ready:
            name, lp.host, lp.port = lp.wait_ready()
            assert name == user, lp.describe()
        return lp

    yield make
    problems = []
    for lp in made:
        problem = lp.cleanup()
        if problem:
            problems.append("%s: %s" % (problem, lp.describe()))
        text = lp.err.decode("utf-8", "replace")
        if any(mark in text for mark in SANITIZER_MARKS):
            problems.append("sanitizer report from %s" % lp.describe())
    if problems:
        pytest.fail("\n\n".join(problems), pytrace=False)


def query(d, who="observer"):
    with d.client() as c:
        c.login(who, password(who))
        return c.query()


# ---------------------------------------------------------------------------------------------
# The client binary itself


def test_help_works():
    out = run_sb("--help")
    assert out.returncode == 0, out
    text = (out.stdout + out.stderr).decode()
    for cmd in ("chat", "who", "send", "listen"):
        assert cmd in text, text


# ---------------------------------------------------------------------------------------------
# sb who


def test_who_empty_then_one_then_two(directory, make_listen):
    out = assert_ok(sb(directory, "who", "carol"))
    assert out.stdout == b""

    bob = make_listen(directory, "bob")
    assert bob.host == "127.0.0.1"
    assert query(directory) == [("bob", "127.0.0.1", bob.port)]
    out = assert_ok(sb(directory, "who", "carol"))
    assert out.stdout == b"bob\t127.0.0.1\t%d\n" % bob.port

    alice = make_listen(directory, "alice")
    out = assert_ok(sb(directory, "who", "carol"))
    assert out.stdout == b"alice\t127.0.0.1\t%d\nbob\t127.0.0.1\t%d\n" % (alice.port, bob.port)

    out = assert_ok(sb(directory, "who", "carol", "bob"))
    assert out.stdout == b"bob\t127.0.0.1\t%d\n" % bob.port
    out = assert_ok(sb(directory, "who", "carol", "BOB"))  # the directory ignores case
    assert out.stdout == b"bob\t127.0.0.1\t%d\n" % bob.port

    out = sb(directory, "who", "carol", "nobody")
    assert out.returncode == 5, out
    assert out.stdout == b""
    line = one_error_line(out)
    assert "nobody" in line, line


def test_who_does_not_bind(directory):
    assert_ok(sb(directory, "who", "carol"))
    assert_ok(sb(directory, "who", "carol"))
    assert query(directory) == []


# ---------------------------------------------------------------------------------------------
# sb send / sb listen: messages


def test_messages_both_ways(directory, make_listen):
    alice = make_listen(directory, "alice")
    bob = make_listen(directory, "bob")

    assert_ok(send(directory, "alice", "bob", "hello", "world"))
    assert bob.wait_stdout(1) == ["alice\thello world"]

    assert_ok(send(directory, "bob", "alice", "hi", "alice,", "how", "are", "you?"))
    assert alice.wait_stdout(1) == ["bob\thi alice, how are you?"]

    assert_ok(send(directory, "alice", "bob", "second"))
    assert bob.wait_stdout(2) == ["alice\thello world", "alice\tsecond"]
    # Nothing crossed over, and nothing extra was printed.
    time.sleep(t(0.2))
    assert alice.stdout_lines() == ["bob\thi alice, how are you?"]
    assert bob.stdout_lines() == ["alice\thello world", "alice\tsecond"]

    # A sender that is not online itself (no BIND for send).
    assert_ok(send(directory, "carol", "bob", "from", "carol"))
    assert bob.wait_stdout(3)[-1] == "carol\tfrom carol"
    assert query(directory) == [("alice", "127.0.0.1", alice.port),
                                ("bob", "127.0.0.1", bob.port)]
    assert alice.alive() and bob.alive()
    # Exactly one readiness line each.
    assert len(alice.ready_lines()) == 1 and len(bob.ready_lines()) == 1, \
        (alice.describe(), bob.describe())


def test_send_target_name_ignores_case(directory, make_listen):
    bob = make_listen(directory, "bob")
    assert_ok(send(directory, "alice", "Bob", "case"))
    assert bob.wait_stdout(1) == ["alice\tcase"]


def test_escaping(directory, make_listen):
    bob = make_listen(directory, "bob")
    # Arguments with a newline, a tab, a backslash, a CR and control bytes.
    assert_ok(send(directory, "alice", "bob", "line1\nline2", "tab\there", "back\\slash",
                   "cr\rx", "bell\x07esc\x1b"))
    line = bob.wait_stdout(1)[0]
    expected = "alice\tline1\\nline2 tab\\there back\\\\slash cr\\rx bell\\x07esc\\x1b"
    assert norm_hex(line) == expected, line

    # From standard input (no TEXT): the bytes as given, including invalid UTF-8.
    assert_ok(send(directory, "alice", "bob", input=b"a\\b\tc\nd\x00e\x7f\xff!"))
    line = bob.wait_stdout(2)[1]
    assert re.fullmatch(r"alice\ta\\\\b\\tc\\nd\\x00e(\\x7[fF]|\x7f)\\x[fF][fF]!", line), line

    # UTF-8 passes through untouched.
    text = "héllo wörld ✓ 日本語 😀"
    assert_ok(send(directory, "alice", "bob", text))
    assert bob.wait_stdout(3)[2] == "alice\t" + text


def test_stdin_message(directory, make_listen):
    bob = make_listen(directory, "bob")
    assert_ok(send(directory, "alice", "bob", input=b"from stdin"))
    assert bob.wait_stdout(1) == ["alice\tfrom stdin"]


def test_message_of_60000_bytes(directory, make_listen):
    bob = make_listen(directory, "bob")
    text = ("0123456789abcdefghijklmnopqrstuvwxyz" * 2000)[:60000]
    assert_ok(send(directory, "alice", "bob", input=text.encode()))
    assert bob.wait_stdout(1, timeout=t(20)) == ["alice\t" + text]
    # And the same size on the command line.
    text2 = ("ZYXWVUTSRQPONMLKJIHGFEDCBA9876543210" * 2000)[:60000]
    assert_ok(send(directory, "alice", "bob", text2))
    assert bob.wait_stdout(2, timeout=t(20))[1] == "alice\t" + text2
    assert bob.alive()


def test_concurrent_senders(directory, make_listen):
    bob = make_listen(directory, "bob")
    n = 8
    results = [None] * n

    def one(i):
        results[i] = send(directory, "user%d" % i, "bob", "message", str(i))

    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(t(60))
    for out in results:
        assert out is not None and out.returncode == 0, out
    lines = bob.wait_stdout(n)
    assert sorted(lines) == sorted("user%d\tmessage %d" % (i, i) for i in range(n))


# ---------------------------------------------------------------------------------------------
# sb send: failures and exit codes


def test_send_to_unknown_user(directory):
    out = send(directory, "alice", "nobody", "hello")
    assert out.returncode == 5, out
    assert one_error_line(out) == "sb: nobody is not in the directory"
    assert out.stdout == b""


def test_send_to_dead_peer(make_daemon, make_listen):
    d = make_daemon({"directory": {"check_interval": "0"}})  # the binding must stay
    bob = make_listen(d, "bob")
    bob.kill()
    assert query(d) == [("bob", "127.0.0.1", bob.port)]
    out = send(d, "alice", "bob", "anyone there?")
    assert out.returncode == 6, out
    assert one_error_line(out) == \
        "sb: cannot deliver to bob at 127.0.0.1:%d: Connection refused" % bob.port


def test_send_to_peer_that_never_confirms(make_daemon, make_peer):
    """A peer that reads but never answers PONG: delivery is not confirmed -> 6."""
    d = make_daemon({"directory": {"check_interval": "0"}})
    silent = make_peer(mode="silent")
    with d.client() as c:
        c.login("bob", password("bob"))
        c.bind("127.0.0.1", silent.port)
    start = time.monotonic()
    out = send(d, "alice", "bob", "hello", opts=("-t", "1"), timeout=t(30))
    elapsed = time.monotonic() - start
    assert out.returncode == 6, out
    line = one_error_line(out)
    assert "bob" in line and "127.0.0.1:%d" % silent.port in line, line
    assert elapsed < t(8), elapsed
    # It did send the message before giving up waiting for the PONG.
    msgs = silent.wait_message(1)
    assert msgs[0].args == ["alice"] and msgs[0].payload == b"hello"


def test_send_to_peer_that_closes(make_daemon, make_peer):
    d = make_daemon({"directory": {"check_interval": "0"}})
    closer = make_peer(mode="close")
    with d.client() as c:
        c.login("bob", password("bob"))
        c.bind("127.0.0.1", closer.port)
    out = send(d, "alice", "bob", "hello")
    assert out.returncode == 6, out
    line = one_error_line(out)
    assert "bob" in line and "127.0.0.1:%d" % closer.port in line, line


def test_directory_not_running():
    port = free_port()
    addr = "127.0.0.1:%d" % port
    for cmd, extra in (("who", ()), ("send", ("bob", "hi"))):
        out = sb(addr, cmd, "alice", *extra)
        assert out.returncode == 3, (cmd, out)
        assert one_error_line(out) == \
            "sb: cannot reach the directory at %s: Connection refused" % addr, cmd
    out = sb(addr, "listen", "alice")
    assert out.returncode == 3, out
    assert one_error_line(out) == "sb: cannot reach the directory at %s: Connection refused" \
        % addr


def test_directory_silent_times_out(make_peer):
    """Something accepts the connection but never answers: -t bounds the wait -> 3."""
    silent = make_peer(mode="silent")
    start = time.monotonic()
    out = sb("127.0.0.1:%d" % silent.port, "who", "alice", opts=("-t", "1"), timeout=t(30))
    elapsed = time.monotonic() - start
    assert out.returncode == 3, out
    one_error_line(out)
    assert elapsed < t(8), elapsed


def test_directory_closes_connection(make_peer):
    closer = make_peer(mode="close")
    out = sb("127.0.0.1:%d" % closer.port, "who", "alice")
    assert out.returncode == 3, out
    one_error_line(out)


def test_wrong_password(make_daemon):
    d = make_daemon({"directory": {"accounts": "tofu"}})
    with d.client() as c:
        c.login("alice", "right")  # the first login creates the account
    for cmd, extra in (("who", ()), ("send", ("bob", "hi"))):
        out = sb(d, cmd, "alice", *extra, pw="wrong")
        assert out.returncode == 4, (cmd, out)
        assert one_error_line(out) == "sb: authentication failed as alice: authentication failed"
    out = sb(d, "listen", "alice", pw="wrong")
    assert out.returncode == 4, out
    assert one_error_line(out) == "sb: authentication failed as alice: authentication failed"
    assert_ok(sb(d, "who", "alice", pw="right"))


def test_usage_errors(directory):
    addr = dir_arg(directory)
    cases = [
        ("who", "-d", addr),                           # no -u
        ("send", "-d", addr, "bob", "hi"),             # no -u
        ("listen", "-d", addr),                        # no -u
        ("who", "-u", "alice", "-d", addr, "--no-such-option"),
        ("who", "-u", "alice", "-d", addr, "-t"),     # -t without its value
        ("frobnicate", "-u", "alice", "-d", addr),     # no such command
        ("send", "-u", "alice", "-d", addr),           # no USER
        (),                                            # no command at all
    ]
    problems = []
    for args in cases:
        out = run_sb(*args, pw="pw-alice")
        if out.returncode != 2:
            problems.append("sb %s: exit %d, expected 2" % (" ".join(args), out.returncode))
        if args:  # without any argument, the usage text may follow
            try:
                one_error_line(out)
            except AssertionError as e:
                problems.append("sb %s: %s" % (" ".join(args), str(e).splitlines()[0]))
    assert not problems, "\n".join(problems)
    assert query(directory) == []


def test_no_password_available(directory):
    """No --password-file, no SB_PASSWORD and no terminal (own session): usage error."""
    out = run_sb("who", "-u", "alice", "-d", dir_arg(directory), env=sb_env(None))
    assert out.returncode == 2, out
    one_error_line(out)


def test_password_file_and_environment(directory, tmp_path):
    with directory.client() as c:
        c.login("alice", "s3cret")
    good = tmp_path / "good"
    good.write_text("s3cret\nsecond line is ignored\n")
    bad = tmp_path / "bad"
    bad.write_text("nope\n")
    addr = dir_arg(directory)
    # The environment alone.
    assert_ok(run_sb("who", "-u", "alice", "-d", addr, pw="s3cret"))
    # The file alone.
    assert_ok(run_sb("who", "-u", "alice", "-d", addr, "--password-file", str(good),
                     env=sb_env(None)))
    # The file wins over the environment.
    assert_ok(run_sb("who", "-u", "alice", "-d", addr, "--password-file", str(good),
                     pw="wrong"))
    out = run_sb("who", "-u", "alice", "-d", addr, "--password-file", str(bad), pw="s3cret")
    assert out.returncode == 4, out
    # A file without a final newline.
    nonl = tmp_path / "nonl"
    nonl.write_bytes(b"s3cret")
    assert_ok(run_sb("who", "--user", "alice", "--directory", addr, "--password-file",
                     str(nonl), env=sb_env(None)))


# ---------------------------------------------------------------------------------------------
# sb listen: life cycle


def test_peer_restart(make_daemon, make_listen):
    d = make_daemon({"directory": {"check_interval": "0"}})
    bob = make_listen(d, "bob")
    assert_ok(send(d, "alice", "bob", "one"))
    assert bob.wait_stdout(1) == ["alice\tone"]
    bob.kill()
    out = send(d, "alice", "bob", "lost")
    assert out.returncode == 6, out

    bob2 = make_listen(d, "bob")
    assert query(d) == [("bob", "127.0.0.1", bob2.port)]
    assert_ok(send(d, "alice", "bob", "two"))
    assert bob2.wait_stdout(1) == ["alice\ttwo"]


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signal_leaves(directory, make_listen, sig):
    bob = make_listen(directory, "bob")
    alice = make_listen(directory, "alice")
    assert [r[0] for r in query(directory)] == ["alice", "bob"]
    assert bob.stop(sig) == 0, bob.describe()
    assert query(directory) == [("alice", "127.0.0.1", alice.port)]
    out = send(directory, "alice", "bob", "gone?")
    assert out.returncode == 5, out


def test_listen_on_given_address(directory, make_listen):
    port = free_port()
    bob = make_listen(directory, "bob", "--listen", "127.0.0.1:%d" % port)
    assert (bob.host, bob.port) == ("127.0.0.1", port)
    assert query(directory) == [("bob", "127.0.0.1", port)]
    assert_ok(send(directory, "alice", "bob", "fixed", "port"))
    assert bob.wait_stdout(1) == ["alice\tfixed port"]


def test_bind_refused(directory, make_listen):
    """bind_policy = source: advertising someone else's address is refused -> 7."""
    lp = make_listen(directory, "bob", "--advertise", "192.0.2.1", ready=False)
    rc = lp.wait_exit(t(20))
    assert rc == 7, lp.describe()
    lines = lp.stderr_lines()
    assert len(lines) == 1 and lines[0].startswith("sb: "), lp.describe()
    assert query(directory) == []


@pytest.mark.skipif(not ipv6_loopback_available(), reason="no IPv6 loopback")
def test_ipv6(make_daemon, make_listen):
    d = make_daemon({"directory": {"listen": "[::1]:0"}})
    addr = dir_arg(d, family="6")
    assert addr.startswith("[::1]:")
    bob = make_listen(addr, "bob")
    assert bob.host == "::1"
    assert any(READY.match(ln) and "at [::1]:%d" % bob.port in ln for ln in bob.stderr_lines())
    out = assert_ok(sb(addr, "who", "alice"))
    assert out.stdout == b"bob\t::1\t%d\n" % bob.port
    assert_ok(sb(addr, "send", "alice", "bob", "over", "v6"))
    assert bob.wait_stdout(1) == ["alice\tover v6"]


def test_directory_restart(make_daemon, make_listen):
    d1 = make_daemon({"directory": {"check_interval": "0"}})
    host, port = d1.addr()
    bob = make_listen(d1, "bob")
    first = (bob.host, bob.port)
    rc, _ = d1.stop()
    assert rc == 0

    bob.wait(lambda: any(LOST.match(ln) for ln in bob.stderr_lines()), t(10),
             "the 'lost the directory' line")
    lost = [ln for ln in bob.stderr_lines() if LOST.match(ln)]
    assert re.search(r"reconnecting in 1(\.0+)? ?s$", lost[0]), lost
    assert bob.alive(), bob.describe()

    # A new daemon on the same port with the same data.
    d2 = make_daemon({"directory": {"check_interval": "0", "listen": "%s:%d" % (host, port)}},
                     tmpdir=d1.tmp)
    assert d2.addr() == (host, port)
    name, h, p = bob.wait_ready(2, timeout=t(40))
    assert name == "bob" and h == "127.0.0.1"
    assert query(d2) == [("bob", h, p)]
    assert_ok(send(d2, "alice", "bob", "after", "restart"))
    assert bob.wait_stdout(1) == ["alice\tafter restart"]
    assert first[0] == h


def test_directory_down_for_a_while(make_daemon, make_listen):
    """Several failed reconnections (backoff 1, 2, ... s) and then the directory returns."""
    d1 = make_daemon({"directory": {"check_interval": "0"}})
    host, port = d1.addr()
    bob = make_listen(d1, "bob")
    d1.stop()
    bob.wait(lambda: any(LOST.match(ln) for ln in bob.stderr_lines()), t(10),
             "the 'lost the directory' line")
    time.sleep(t(3.5))  # at least two failed attempts (after 1 s, then 2 s more)
    assert bob.alive(), bob.describe()
    d2 = make_daemon({"directory": {"check_interval": "0", "listen": "%s:%d" % (host, port)}},
                     tmpdir=d1.tmp)
    bob.wait_ready(2, timeout=t(40))
    assert_ok(send(d2, "alice", "bob", "back"))
    assert bob.wait_stdout(1) == ["alice\tback"]


# ---------------------------------------------------------------------------------------------
# sb listen: the listening socket's protocol


def test_listener_answers_ping(directory, make_listen):
    bob = make_listen(directory, "bob")
    with Client((bob.host, bob.port)) as c:
        for _ in range(3):
            assert c.request("PING").raw == b"PONG 0\n"
        # Pipelined.
        c.send(b"PING 0\nPING 0\n")
        assert c.read_frame().raw == b"PONG 0\n"
        assert c.read_frame().raw == b"PONG 0\n"
        assert c.quiet(0.2)


def test_raw_message(directory, make_listen):
    bob = make_listen(directory, "bob")
    with Client((bob.host, bob.port)) as c:
        c.send_msg("MESSAGE", "mallory", payload="from a raw socket")
        assert bob.wait_stdout(1) == ["mallory\tfrom a raw socket"]
        c.send_msg("MESSAGE", "mallory", payload="second\non the same connection")
        assert c.request("PING").raw == b"PONG 0\n"
        assert bob.wait_stdout(2)[1] == "mallory\tsecond\\non the same connection"
        # Two frames split awkwardly across writes.
        data = (b"MESSAGE 3 mallory\nabcMESSAGE 3 mallory\ndef")
        c.send(data[:5])
        time.sleep(0.05)
        c.send(data[5:20])
        time.sleep(0.05)
        c.send(data[20:])
        assert bob.wait_stdout(4)[2:] == ["mallory\tabc", "mallory\tdef"]
        # Two frames in one write.
        c.send(b"MESSAGE 1 mallory\nxMESSAGE 1 mallory\ny")
        assert bob.wait_stdout(6)[4:] == ["mallory\tx", "mallory\ty"]
    assert bob.alive()


@pytest.mark.parametrize("garbage", [
    b"this is not a header\n",
    b"MESSAGE x alice\nhello",
    b"MESSAGE 1000000000 alice\n",
    b"A" * 5000,
])
def test_garbage_gets_err(directory, make_listen, garbage):
    bob = make_listen(directory, "bob")
    with Client((bob.host, bob.port)) as c:
        sent, exc = c.send_while_reading(garbage, timeout=t(5))
        f = c.read_frame(t(5))
        assert f.type == "ERR", f
        assert f.payload, f
        c.expect_closed(t(5), allow_reset=True, allow_data=True)
    assert bob.alive(), bob.describe()
    # Still serving.
    with Client((bob.host, bob.port)) as c:
        assert c.request("PING").raw == b"PONG 0\n"
    assert_ok(send(directory, "alice", "bob", "still", "here"))
    assert bob.wait_stdout(1) == ["alice\tstill here"]


def test_idle_raw_connections_do_not_block(directory, make_listen):
    """A peer that connects and sends nothing (or half a frame) does not stall others."""
    bob = make_listen(directory, "bob")
    idle = Client((bob.host, bob.port))
    half = Client((bob.host, bob.port))
    try:
        half.send(b"MESSAGE 100 mallory\nonly a few bytes")
        assert_ok(send(directory, "alice", "bob", "not", "blocked"))
        assert bob.wait_stdout(1) == ["alice\tnot blocked"]
    finally:
        idle.close()
        half.close()
    time.sleep(t(0.2))
    assert bob.alive()
    assert bob.stdout_lines() == ["alice\tnot blocked"]


def test_bind_check_ping_and_checker(make_daemon, make_listen):
    d = make_daemon({"directory": {"bind_check": "ping", "check_interval": "0.3",
                                   "check_timeout": str(t(1)), "check_failures": "1"}})
    bob = make_listen(d, "bob")
    assert query(d) == [("bob", "127.0.0.1", bob.port)]
    # Several checker rounds later it is still there.
    rx = re.compile(r"checker round: 1 binding\(s\) in [0-9.]+s, 0 failed check\(s\), 0 removed")
    wait_until(lambda: len(rx.findall(d.log())) >= 3, timeout=t(10), interval=0.1,
               what="three successful checker rounds; log:\n%s" % d.log()[-3000:])
    assert "check of bob" not in d.log(), d.log()[-3000:]
    assert query(d) == [("bob", "127.0.0.1", bob.port)]
    assert_ok(send(d, "alice", "bob", "checked"))
    assert bob.wait_stdout(1) == ["alice\tchecked"]


# ---------------------------------------------------------------------------------------------
# Found in review: interrupting a script, a sender that changes, hostile names


def test_interrupted_send_exits_130_and_leaves_nothing(make_daemon, make_peer, make_listen):
    """SIGINT while `sb send` waits for the PONG: exit 130, and no LEAVE (which would unbind
    the sender's own `sb listen`, running elsewhere)."""
    d = make_daemon({"directory": {"check_interval": "0"}})
    alice = make_listen(d, "alice")
    silent = make_peer(mode="silent")
    with d.client() as c:
        c.login("bob", password("bob"))
        c.bind("127.0.0.1", silent.port)
    p = subprocess.Popen([CLIENT, "send", "-u", "alice", "-d", dir_arg(d), "-t", "60", "bob",
                          "hi"], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, env=sb_env(password("alice")),
                         start_new_session=True)
    try:
        silent.wait_message(1)
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=t(10))
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    check_sanitizer(err, "sb send")
    assert p.returncode == 130, (p.returncode, err)
    assert err.decode() == "sb: interrupted\n"
    assert [r[0] for r in query(d)] == ["alice", "bob"]
    assert alice.alive()


def test_sender_cannot_change_on_a_connection(directory, make_listen):
    bob = make_listen(directory, "bob")
    assert_ok(send(directory, "carol", "bob", "hello"))  # a conversation with carol exists
    with Client((bob.host, bob.port)) as c:
        c.send_msg("MESSAGE", "mallory", payload="one")
        c.send_msg("MESSAGE", "carol", payload="I am carol now")
        f = c.read_frame(t(5))
        assert f.type == "ERR" and "cannot change" in f.text, f
        c.expect_closed(t(5), allow_reset=True, allow_data=True)
    assert bob.wait_stdout(2) == ["carol\thello", "mallory\tone"]
    time.sleep(0.2)
    assert len(bob.stdout_lines()) == 2


def fake_directory(replies):
    """A one-connection directory that answers USER, PASS and the next request with the
    frames in replies (bytes, sent at once). Returns (port, thread)."""
    ls = socket.socket()
    ls.bind(("127.0.0.1", 0))
    ls.listen(1)
    ls.settimeout(t(10))

    def serve():
        try:
            conn, _ = ls.accept()
            with conn:
                conn.settimeout(t(10))
                conn.recv(4096)
                conn.sendall(replies)
                time.sleep(t(1))
        except OSError:
            pass
        finally:
            ls.close()

    th = threading.Thread(target=serve, daemon=True)
    th.start()
    return ls.getsockname()[1], th


@pytest.mark.parametrize("name", [b"ev\xc2\x9b2Jil", b"ev\x1b[2Jil", b"caf\xc3\xa9"])
def test_hostile_names_from_the_directory(name):
    """A name with a terminal control sequence (or any non-ASCII byte) is refused as a
    malformed answer; nothing of it reaches the output."""
    payload = name + b",127.0.0.1,5555"
    port, th = fake_directory(b"ACK 0\nACK 0\nRESULT %d\n%s" % (len(payload), payload))
    out = sb("127.0.0.1:%d" % port, "who", "alice")
    th.join(t(15))
    assert out.returncode == 3, out
    assert one_error_line(out) == "sb: the directory gave a malformed answer"
    assert out.stdout == b""
