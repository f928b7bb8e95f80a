# SPDX-License-Identifier: MIT
"""System tests of `sb chat`, the interactive (readline) client, driven through tmux.

Each test runs its own tmux server (-S on a private socket, -f a private configuration), with
fixed 120x40 windows and remain-on-exit, so that the screen can be read with capture-pane. Each
`sb chat` runs under `/bin/sh -c`, which prints "[exit status N]" when it ends (tmux itself was
seen to leave an exited pane process unreaped for seconds under load, so #{pane_dead} is not
used). The server is killed at the end (only the server this test started, by its socket). Every wait is bounded and scaled with t().
"""

import os
import re
import shlex
import shutil
import socket
import subprocess
import tempfile
import threading
import time

import pytest

from harness import CLIENT, Client, HarnessError, t, wait_until

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")

SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:")
TS = r"[0-2][0-9]:[0-5][0-9]:[0-6][0-9]"


def password(user):
    return "pw-" + user


class Tmux:
    """A private tmux server; one session (one pane) per chat user."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="sbtmux-")
        self.sock = os.path.join(self.dir, "tmux.sock")
        self.conf = os.path.join(self.dir, "tmux.conf")
        self.home = os.path.join(self.dir, "home")
        os.mkdir(self.home)
        with open(self.conf, "w") as f:
            f.write("set -g remain-on-exit on\n"
                    "set -g status off\n"
                    "set -g history-limit 10000\n"
                    "set -g escape-time 0\n"
                    "set -g default-shell /bin/sh\n")
        # The server's environment: ours without any password.
        self.env = {k: v for k, v in os.environ.items()
                    if k not in ("SB_PASSWORD", "TMUX", "TMUX_PANE")}
        self.started = False

    def run(self, *args, check=True):
        out = subprocess.run(["tmux", "-S", self.sock, "-f", self.conf] + list(args),
                             capture_output=True, text=True, env=self.env, timeout=t(10),
                             stdin=subprocess.DEVNULL)
        if check and out.returncode != 0:
            raise HarnessError("tmux %s failed (%d): %s" % (" ".join(args), out.returncode,
                                                            out.stderr))
        return out

    def start(self, name, argv, env):
        """A new detached session NAME (120x40) running argv with env (a dict) added; when it
        ends, the shell prints "[exit status N]"."""
        cmd = shlex.join(["env"] + ["%s=%s" % kv for kv in env.items()] + argv)
        cmd += '; echo "[exit status $?]"'
        self.run("new-session", "-d", "-s", name, "-x", "120", "-y", "40", cmd)
        self.started = True

    def screen(self, name):
        """The pane's text, history included; trailing blank lines removed."""
        out = self.run("capture-pane", "-p", "-J", "-S", "-", "-t", name + ":0.0")
        return out.stdout.rstrip("\n")

    def lines(self, name):
        return [ln.rstrip() for ln in self.screen(name).split("\n")]

    def send(self, name, text, enter=True):
        if text:
            self.run("send-keys", "-t", name + ":0.0", "-l", text)
        if enter:
            self.run("send-keys", "-t", name + ":0.0", "Enter")

    def keys(self, name, *keys):
        self.run("send-keys", "-t", name + ":0.0", *keys)

    def pane(self, name, fmt):
        return self.run("display-message", "-p", "-t", name + ":0.0", fmt).stdout.strip()

    def exited(self, name):
        """None while the command runs, else its exit status (as a string)."""
        m = re.search(r"^\[exit status ([0-9]+)\]$", self.screen(name), re.M)
        return m.group(1) if m else None

    def wait_screen(self, name, pattern, timeout=None, flags=re.M):
        """Wait until the screen matches the regular expression; returns the match."""
        rx = re.compile(pattern, flags)
        last = [""]

        def check():
            last[0] = self.screen(name)
            return rx.search(last[0])

        try:
            return wait_until(check, timeout=t(10) if timeout is None else timeout,
                              interval=0.1, what="/%s/ on %s's screen" % (pattern, name))
        except HarnessError:
            raise HarnessError("timed out waiting for /%s/ on %s's screen:\n%s"
                               % (pattern, name, last[0]))

    def prompt_line(self, name):
        """The last non-blank line of the screen (where the prompt is)."""
        lines = [ln for ln in self.lines(name) if ln.strip()]
        return lines[-1] if lines else ""

    def wait_prompt(self, name, pattern, timeout=None):
        """Wait until the prompt line, without trailing blanks, matches the whole pattern."""
        rx = re.compile(pattern)
        last = [""]

        def check():
            last[0] = self.prompt_line(name)
            return rx.fullmatch(last[0])

        try:
            return wait_until(check, timeout=t(10) if timeout is None else timeout,
                              interval=0.1, what="prompt /%s/ on %s" % (pattern, name))
        except HarnessError:
            raise HarnessError("timed out waiting for the prompt line /%s/ on %s; screen:\n%s"
                               % (pattern, name, self.screen(name)))

    def kill(self):
        if self.started:
            self.run("kill-server", check=False)
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def tmux():
    if not os.path.exists(CLIENT):
        raise HarnessError("client binary not found: %s (build it, or set SB_CLIENT)" % CLIENT)
    tm = Tmux()
    yield tm
    problems = []
    try:
        for name in ("alice", "bob", "carol"):
            if tm.started and tm.run("has-session", "-t", name, check=False).returncode == 0:
                text = tm.screen(name)
                if any(mark in text for mark in SANITIZER_MARKS):
                    problems.append("sanitizer report on %s's screen:\n%s" % (name, text))
    finally:
        tm.kill()
    if problems:
        pytest.fail("\n\n".join(problems), pytrace=False)


def start_chat(tm, d, user, *extra):
    """Start `sb chat` for user in its own session; returns the port it listens on."""
    host, port = d.addr()
    env = {"SB_PASSWORD": password(user), "HOME": tm.home, "INPUTRC": "/dev/null",
           "LC_ALL": "C.UTF-8"}
    tm.start(user, [CLIENT, "chat", "-u", user, "-d", "%s:%d" % (host, port)] + list(extra), env)
    m = tm.wait_screen(user, r"^\* %s is online at (127\.0\.0\.1):([0-9]+) \(/help for commands\)$"
                       % re.escape(user))
    tm.wait_prompt(user, r">")
    return int(m.group(2))


def wait_exit(tm, name, timeout=None):
    """Wait until the chat in session name has exited; returns its exit status. If it hangs,
    the failure shows where (the kernel wait channel and, with gdb, the stacks)."""
    try:
        return wait_until(lambda: tm.exited(name),
                          timeout=t(10) if timeout is None else timeout, interval=0.05,
                          what="%s's chat to exit" % name)
    except HarnessError:
        pid = tm.pane(name, "#{pane_pid}")  # the shell; sb is its child
        try:
            with open("/proc/%s/task/%s/children" % (pid, pid)) as f:
                pid = f.read().split()[0]
        except (OSError, IndexError) as e:
            raise HarnessError("%s: no [exit status] line, and the shell %s has no child (%r):"
                               "\n%s" % (name, pid, e, tm.screen(name)))
        info = ["%s's chat (pid %s) did not exit; screen:\n%s" % (name, pid, tm.screen(name))]
        try:
            for tid in sorted(os.listdir("/proc/%s/task" % pid)):
                with open("/proc/%s/task/%s/wchan" % (pid, tid)) as f:
                    wchan = f.read().strip()
                with open("/proc/%s/task/%s/stat" % (pid, tid)) as f:
                    stat = f.read().rsplit(")", 1)[1].split()
                info.append("thread %s: state %s, wchan %s, utime %s, stime %s"
                            % (tid, stat[0], wchan, stat[11], stat[12]))
        except OSError as e:
            info.append(str(e))
        if shutil.which("gdb"):
            try:
                out = subprocess.run(["gdb", "-batch", "-p", pid, "-ex", "thread apply all bt"],
                                     capture_output=True, text=True, timeout=t(30))
                info.append(out.stdout[-6000:] + out.stderr[-1000:])
            except (OSError, subprocess.TimeoutExpired) as e:
                info.append("gdb: %r" % (e,))
        raise HarnessError("\n".join(info))


def query(d, who="observer"):
    with d.client() as c:
        c.login(who, password(who))
        return c.query()


class RawPeer:
    """A raw socket connected to a chat's listener, read by a thread that answers every PING
    with PONG and records every frame."""

    def __init__(self, addr):
        self.c = Client(addr)
        self.cond = threading.Condition()
        self.frames = []
        self.error = None
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        try:
            while True:
                try:
                    f = self.c.read_frame(timeout=3600)
                except HarnessError as e:
                    with self.cond:
                        self.error = str(e)
                        self.cond.notify_all()
                    return
                if f.type == "PING":
                    self.c.send(b"PONG 0\n")
                with self.cond:
                    self.frames.append(f)
                    self.cond.notify_all()
        except OSError as e:
            with self.cond:
                self.error = repr(e)
                self.cond.notify_all()

    def send(self, data):
        self.c.send(data)

    def wait_frame(self, type_, count=1, timeout=None):
        """Wait for the count-th frame of this type; returns it."""
        deadline = time.monotonic() + (t(10) if timeout is None else timeout)
        with self.cond:
            while True:
                got = [f for f in self.frames if f.type == type_]
                if len(got) >= count:
                    return got[count - 1]
                left = deadline - time.monotonic()
                if left <= 0 or self.error:
                    raise HarnessError("no %s #%d on the raw connection (frames %r, %s)"
                                       % (type_, count, self.frames, self.error))
                self.cond.wait(min(left, 0.1))

    def close(self):
        try:
            self.c.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._thread.join(t(5))
        self.c.close()


class Deviations:
    """Checks of exact texts that do not stop the test: when the exact form does not show up,
    the lenient one must, and the difference is reported when the test ends."""

    def __init__(self, tm):
        self.tm = tm
        self.found = []

    def screen(self, name, exact, lenient):
        try:
            self.tm.wait_screen(name, exact, timeout=t(3))
        except HarnessError:
            self.tm.wait_screen(name, lenient)
            self.found.append("%s's screen: expected /%s/, got only /%s/:\n%s"
                              % (name, exact, lenient, self.tm.screen(name)))

    def check(self):
        assert not self.found, "\n\n".join(self.found)


def test_two_chats(make_daemon, tmux):
    d = make_daemon({"directory": {"check_interval": "0"}})
    tm = tmux
    dev = Deviations(tm)
    pa = start_chat(tm, d, "alice")
    pb = start_chat(tm, d, "bob")
    assert query(d) == [("alice", "127.0.0.1", pa), ("bob", "127.0.0.1", pb)]

    # /who
    tm.send("alice", "/who")
    # "  user address:port" (the columns may be aligned with more blanks).
    tm.wait_screen("alice", r"^  alice +127\.0\.0\.1:%d\n  bob +127\.0\.0\.1:%d$" % (pa, pb))
    tm.wait_prompt("alice", r">")

    # /to: plain lines then go to that user.
    tm.send("bob", "/to alice")
    tm.wait_prompt("bob", r"\[alice\]>")
    tm.send("bob", "via to")
    tm.wait_screen("bob", r"^%s -> alice: via to$" % TS)
    tm.wait_screen("alice", r"^%s <bob> via to$" % TS)

    # /msg sends and sets the conversation target.
    tm.send("alice", "/msg bob hi bob")
    tm.wait_screen("alice", r"^%s -> bob: hi bob$" % TS)
    tm.wait_prompt("alice", r"\[bob\]>")
    tm.wait_screen("bob", r"^%s <alice> hi bob$" % TS)

    # A message arrives while bob is typing: it is printed above, his line is redrawn.
    tm.send("bob", "half typed", enter=False)
    tm.wait_prompt("bob", r"\[alice\]> half typed")
    tm.send("alice", "second message")  # a plain line goes to the target, bob
    tm.wait_screen("alice", r"^%s -> bob: second message$" % TS)
    tm.wait_screen("bob", r"^%s <alice> second message$" % TS)
    tm.wait_prompt("bob", r"\[alice\]> half typed")
    lines = tm.lines("bob")
    msg = max(i for i, ln in enumerate(lines)
              if re.fullmatch(r"%s <alice> second message" % TS, ln))
    prompt = max(i for i, ln in enumerate(lines) if ln.strip())
    assert msg < prompt, "\n".join(lines)
    assert all(not ln.strip() for ln in lines[msg + 1:prompt]), "\n".join(lines)
    assert sum("half typed" in ln for ln in lines) == 1, \
        "the partial line was left behind on the screen:\n" + "\n".join(lines)

    # The partial input is still in readline's buffer: prefix it with /reply and send it.
    tm.keys("bob", "C-a")
    tm.send("bob", "/reply ")
    tm.wait_screen("bob", r"^%s -> alice: half typed$" % TS)
    tm.wait_screen("alice", r"^%s <bob> half typed$" % TS)

    # /ping
    tm.send("alice", "/ping bob")
    tm.wait_screen("alice", r"^(%s )?\* PONG from bob in [0-9]+(\.[0-9]+)? ms$" % TS)

    # Errors are shown and the chat goes on.
    tm.send("alice", "/msg nobody hello")
    dev.screen("alice", r"^%s ! nobody is not in the directory$" % TS,
               r"^%s ! .*nobody is not in the directory$" % TS)
    assert tm.exited("alice") is None

    # Tab completes names from the last /who.
    tm.send("alice", "/to bob")  # (whether a failed /msg changed the target is not specified)
    tm.wait_prompt("alice", r"\[bob\]>")
    tm.send("alice", "/who")
    who_bob = re.compile(r"^  bob +127\.0\.0\.1:%d$" % pb, re.M)
    wait_until(lambda: len(who_bob.findall(tm.screen("alice"))) >= 2, timeout=t(10),
               what="the second /who")
    tm.wait_prompt("alice", r"\[bob\]>")
    tm.send("alice", "/msg b", enter=False)
    tm.keys("alice", "Tab")
    tm.wait_prompt("alice", r"\[bob\]> /msg bob")
    tm.send("alice", " tabbed")
    tm.wait_screen("bob", r"^%s <alice> +tabbed$" % TS)

    # /help
    tm.send("alice", "/help")
    tm.wait_screen("alice", r"/quit")

    # /quit: LEAVE, "* bye", exit 0; the binding is gone.
    tm.send("bob", "/quit")
    tm.wait_screen("bob", r"^(%s )?\* bye$" % TS)
    assert wait_exit(tm, "bob") == "0", tm.screen("bob")
    assert query(d) == [("alice", "127.0.0.1", pa)]
    tm.send("alice", "/msg bob are you there?")
    dev.screen("alice", r"^%s ! bob is not in the directory$" % TS,
               r"^%s ! .*bob is not in the directory$" % TS)

    tm.send("alice", "/quit")
    tm.wait_screen("alice", r"^(%s )?\* bye$" % TS)
    assert wait_exit(tm, "alice") == "0", tm.screen("alice")
    assert query(d) == []
    dev.check()


def test_unreachable_peer_and_raw_peer_reply(make_daemon, make_peer, tmux):
    d = make_daemon({"directory": {"check_interval": "0"}})
    tm = tmux
    pa = start_chat(tm, d, "alice")

    # A peer that is bound but gone: an error line, the chat goes on.
    gone = make_peer()
    with d.client() as c:
        c.login("bob", password("bob"))
        c.bind("127.0.0.1", gone.port)
    gone.stop()
    tm.send("alice", "/msg bob hello?")
    tm.wait_screen("alice", r"^%s ! .*\bbob\b.*(refused|cannot|not deliver)" % TS)
    assert tm.exited("alice") is None

    # A raw socket sends a MESSAGE; alice's replies come back on that same connection (mallory
    # is not in the directory).
    raw = RawPeer(("127.0.0.1", pa))
    try:
        raw.send(b"MESSAGE 4 mallory\npsst")
        tm.wait_screen("alice", r"^%s <mallory> psst$" % TS)
        # /reply without text sets the target; a plain line then goes there.
        tm.send("alice", "/reply")
        tm.wait_prompt("alice", r"\[mallory\]>")
        tm.send("alice", "hello mallory")
        f = raw.wait_frame("MESSAGE", 1)
        assert f.args == ["alice"] and f.payload == b"hello mallory", f
        tm.wait_screen("alice", r"^%s -> mallory: hello mallory$" % TS)
        # /reply with text.
        raw.send(b"MESSAGE 5 mallory\nagain")
        tm.wait_screen("alice", r"^%s <mallory> again$" % TS)
        tm.send("alice", "/reply once more")
        f = raw.wait_frame("MESSAGE", 2)
        assert f.args == ["alice"] and f.payload == b"once more", f
        # And it answers PING on that connection too.
        raw.send(b"PING 0\n")
        raw.wait_frame("PONG", 1)
        time.sleep(t(0.3))
        assert not re.search(r"! .*mallory", tm.screen("alice")), tm.screen("alice")
    finally:
        raw.close()

    tm.send("alice", "/quit")
    tm.wait_screen("alice", r"^(%s )?\* bye$" % TS)
    assert wait_exit(tm, "alice") == "0", tm.screen("alice")
    assert query(d) == [("bob", "127.0.0.1", gone.port)]
