# SPDX-License-Identifier: MIT
"""Black-box harness for the switchboard system tests (standard library only).

It starts the built daemon in a temporary directory with a generated configuration and port 0
everywhere, learns the bound addresses from the ports file, and talks to it over real sockets on
loopback or UNIX sockets. Every read has a timeout; every wait is bounded in time.

Environment:
  SB_BINARY     path of the daemon (default: <repo>/build/switchboard)
  SB_SANITIZED  1 when SB_BINARY is an ASan/UBSan build: every timeout is multiplied by 4
"""

import os
import re
import selectors
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BINARY = os.environ.get("SB_BINARY") or os.path.join(REPO, "build", "switchboard")
SANITIZED = os.environ.get("SB_SANITIZED", "") not in ("", "0", "no")
SCALE = 4.0 if SANITIZED else 1.0

HEADER_MAX = 1024  # the protocol's limit; a reply header longer than this is a daemon bug
PAYLOAD_MAX = 16 * 1024 * 1024  # refuse to buffer absurd reply payloads in the tests


def t(seconds):
    """A timeout scaled for slow (sanitized) builds."""
    return seconds * SCALE


TIMEOUT = t(5.0)  # default for every read and wait


class HarnessError(AssertionError):
    pass


# ---------------------------------------------------------------------------------------------
# Frames


class Frame:
    """One eurechat message: header "TYPE LEN [ARG ...]\\n" then LEN payload bytes."""

    def __init__(self, type_, args, payload, raw):
        self.type = type_
        self.args = args
        self.payload = payload
        self.raw = raw

    @property
    def text(self):
        return self.payload.decode("utf-8", "replace")

    def __repr__(self):
        return "Frame(%r)" % (self.raw,)


def encode(type_, *args, payload=b""):
    if isinstance(payload, str):
        payload = payload.encode()
    head = " ".join([type_, str(len(payload))] + [str(a) for a in args])
    return head.encode() + b"\n" + payload


def parse_frame(buf):
    """Parse one frame at the start of buf. Returns (Frame, rest) or (None, buf) if incomplete.

    Raises HarnessError when the bytes cannot be a frame, so that a daemon sending garbage makes
    the test fail with the bytes in the message instead of hanging.
    """
    nl = buf.find(b"\n")
    if nl < 0:
        if len(buf) > HEADER_MAX:
            raise HarnessError("no newline in the first %d bytes: %r" % (HEADER_MAX, buf[:200]))
        return None, buf
    header = buf[:nl]
    parts = header.split(b" ")
    if len(parts) < 2 or not re.fullmatch(rb"[A-Za-z0-9_]+", parts[0]) or \
            not re.fullmatch(rb"[0-9]+", parts[1]):
        raise HarnessError("malformed header from the daemon: %r" % (buf[:200],))
    n = int(parts[1])
    if n > PAYLOAD_MAX:
        raise HarnessError("absurd payload length: %r" % (header,))
    if len(buf) < nl + 1 + n:
        return None, buf
    raw = buf[:nl + 1 + n]
    f = Frame(parts[0].decode(), [p.decode("utf-8", "replace") for p in parts[2:] if p],
              raw[nl + 1:], raw)
    return f, buf[nl + 1 + n:]


# ---------------------------------------------------------------------------------------------
# Clients


class Client:
    """A blocking client socket with a read buffer; every read is bounded by a timeout."""

    def __init__(self, addr, timeout=None, source=None, family=None, rcvbuf=None):
        """addr: (host, port) for TCP or a filesystem path (str) for a UNIX socket.
        source: optional local IP to bind before connecting (e.g. "127.0.0.2")."""
        self.timeout = TIMEOUT if timeout is None else timeout
        self.buf = b""
        self.eof = False
        if isinstance(addr, str):
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        else:
            if family is None:
                family = socket.AF_INET6 if ":" in addr[0] else socket.AF_INET
            self.sock = socket.socket(family, socket.SOCK_STREAM)
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if source is not None:
                self.sock.bind((source, 0))
        if rcvbuf is not None:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(self.timeout)
        try:
            self.sock.connect(addr)
        except BaseException:
            self.sock.close()
            raise

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.sock.settimeout(self.timeout)
        self.sock.sendall(data)

    def send_msg(self, type_, *args, payload=b""):
        self.send(encode(type_, *args, payload=payload))

    def _recv(self, deadline):
        if self.eof:
            return b""
        left = deadline - time.monotonic()
        if left <= 0:
            raise socket.timeout("timed out")
        self.sock.settimeout(left)
        data = self.sock.recv(65536)
        if not data:
            self.eof = True
        return data

    def read_exactly(self, n, timeout=None):
        """Read exactly n bytes (HarnessError on EOF or timeout)."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        got = self.buf
        self.buf = b""
        while len(got) < n:
            data = self._recv(deadline)
            if not data:
                raise HarnessError("closed after %d of %d bytes: %r" % (len(got), n, got[-200:]))
            got += data
        self.buf = got[n:]
        return got[:n]

    def read_line(self, timeout=None, limit=1 << 20):
        """One LF-terminated line (bytes, without the LF). Fails on EOF, a reset, the timeout,
        or more than @limit bytes without a LF."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while b"\n" not in self.buf:
            if len(self.buf) > limit:
                raise HarnessError("no LF in the first %d bytes: %r" % (limit, self.buf[:200]))
            try:
                data = self._recv(deadline)
            except socket.timeout:
                raise HarnessError("timed out waiting for a line; buffered: %r"
                                   % (self.buf[-300:],))
            except ConnectionResetError:
                raise HarnessError("connection reset waiting for a line; buffered: %r"
                                   % (self.buf[-300:],))
            if not data:
                raise HarnessError("connection closed waiting for a line; buffered: %r"
                                   % (self.buf[-300:],))
            self.buf += data
        line, _, self.buf = self.buf.partition(b"\n")
        return line

    def send_while_reading(self, data, timeout=None):
        """Send data while collecting whatever the daemon answers into the read buffer, so that
        a daemon that replies and closes early is seen. Returns (bytes sent, exception or None);
        the exception is a socket error such as a reset, or socket.timeout if the daemon
        neither took all the data nor failed the connection in time."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        sent = 0
        view = memoryview(data)
        self.sock.setblocking(False)
        try:
            with selectors.DefaultSelector() as sel:
                sel.register(self.sock, selectors.EVENT_READ | selectors.EVENT_WRITE)
                while sent < len(data):
                    left = deadline - time.monotonic()
                    if left <= 0:
                        return sent, socket.timeout("timed out after sending %d bytes" % sent)
                    for _, ev in sel.select(min(left, 0.1)):
                        if ev & selectors.EVENT_READ:
                            chunk = self.sock.recv(65536)
                            if chunk:
                                self.buf += chunk
                            else:
                                self.eof = True
                                sel.modify(self.sock, selectors.EVENT_WRITE)
                        if ev & selectors.EVENT_WRITE:
                            try:
                                sent += self.sock.send(view[sent:sent + 65536])
                            except (BlockingIOError, InterruptedError):
                                pass
        except OSError as e:
            return sent, e
        finally:
            self.sock.setblocking(True)
            self.sock.settimeout(self.timeout)
        return sent, None

    def read_frame(self, timeout=None):
        """Read exactly one frame (header, then LEN bytes). Fails on timeout or EOF."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while True:
            f, rest = parse_frame(self.buf)
            if f is not None:
                self.buf = rest
                return f
            try:
                data = self._recv(deadline)
            except socket.timeout:
                raise HarnessError("timed out waiting for a frame; buffered: %r" % (self.buf,))
            except ConnectionResetError:
                raise HarnessError("connection reset while waiting for a frame; buffered: %r"
                                   % (self.buf,))
            if not data:
                raise HarnessError("connection closed while waiting for a frame; buffered: %r"
                                   % (self.buf,))
            self.buf += data

    def request(self, type_, *args, payload=b"", timeout=None):
        self.send_msg(type_, *args, payload=payload)
        return self.read_frame(timeout)

    def expect_closed(self, timeout=None, allow_reset=False, allow_data=False):
        """Assert the daemon closes the connection (recv returns b'') within the timeout, with no
        further bytes before it (unless allow_data). With allow_reset, a reset also counts as
        closed. Returns the bytes that came before the close."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        extra = self.buf
        self.buf = b""
        while True:
            try:
                data = self._recv(deadline)
            except socket.timeout:
                raise HarnessError("connection still open after the timeout; received %r"
                                   % (extra,))
            except ConnectionResetError:
                if allow_reset and (allow_data or not extra):
                    return extra
                raise HarnessError("connection reset (expected an orderly close); "
                                   "received %r" % (extra,))
            if not data:
                if extra and not allow_data:
                    raise HarnessError("unexpected bytes before the close: %r" % (extra,))
                return extra
            extra += data

    def _peek(self, wait):
        """b"" on EOF or error, None if nothing arrives within wait, else the next byte."""
        self.sock.settimeout(max(wait, 0.001))
        try:
            return self.sock.recv(1, socket.MSG_PEEK)
        except (socket.timeout, BlockingIOError):
            return None
        except OSError:
            return b""
        finally:
            self.sock.settimeout(self.timeout)

    def is_open(self, wait=0.2):
        """False if the daemon closed (or reset) the connection within `wait` seconds."""
        return bool(self.buf) or self._peek(wait) != b""

    def quiet(self, wait=0.2):
        """True if the connection is open and nothing more arrives within `wait` seconds."""
        return not self.buf and self._peek(wait) is None

    # The directory conversation -------------------------------------------------------------

    def login(self, user, password, verb="USER"):
        f = self.request(verb, user)
        assert f.raw == ack("hi %s, authentication required" % user), f
        f = self.request("PASS", password)
        assert f.raw == ack("successfully authenticated"), f
        return self

    def bind(self, host, port):
        f = self.request("BIND", host, port)
        assert f.raw == ack("bound successfully to %s:%d" % (host, port)), f
        return f

    def query(self, user=None):
        """QUERY; returns the list of (user, addr, port) tuples."""
        f = self.request("QUERY", *([user] if user is not None else []))
        assert f.type == "RESULT", f
        return parse_result(f)


def ack(text):
    return frame_bytes("ACK", text)


def err(text):
    return frame_bytes("ERR", text)


def frame_bytes(type_, text):
    payload = text.encode() if isinstance(text, str) else text
    return b"%s %d\n" % (type_.encode(), len(payload)) + payload


def parse_result(f):
    if f.payload == b"":
        return []
    out = []
    for line in f.payload.decode().split("\n"):
        user, addr, port = line.split(",")
        out.append((user, addr, int(port)))
    return out


def free_port(host="127.0.0.1"):
    """A port on which nothing listens: bind port 0, read the port, close."""
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    try:
        s.bind((host, 0))
        return s.getsockname()[1]
    finally:
        s.close()


def wait_until(predicate, timeout=None, interval=0.05, what="condition"):
    """Poll predicate() until it is true; fail after the timeout. Returns its last value.
    @what may be a function, called at the timeout, so the message shows the state then."""
    deadline = time.monotonic() + (TIMEOUT if timeout is None else timeout)
    while True:
        v = predicate()
        if v:
            return v
        if time.monotonic() >= deadline:
            raise HarnessError("timed out waiting for %s" % (what() if callable(what) else what))
        time.sleep(interval)


# ---------------------------------------------------------------------------------------------
# The daemon


class Daemon:
    """One switchboard process in its own temporary directory.

    config: {section: {key: value}} written to TMP/switchboard.conf (the [server] section gets
    data_dir, ports_file, password_cost=minimum and log_level=debug unless given). With
    directory=True a [directory] section listening on 127.0.0.1:0 is added unless present.
    overrides: extra "section.key=value" strings passed with -o ("{tmp}" expanded too).
    With config_file=False no -c is given: the embedded defaults apply and the whole config is
    passed as -o options.
    """

    def __init__(self, config=None, overrides=(), directory=True, tmpdir=None, binary=None,
                 config_file=True):
        self.binary = binary or BINARY
        if not os.path.exists(self.binary):
            raise HarnessError("daemon binary not found: %s (build it, or set SB_BINARY)"
                               % self.binary)
        self.own_tmp = tmpdir is None
        # A short path: UNIX socket paths are limited to 107 bytes.
        self.tmp = tmpdir or tempfile.mkdtemp(prefix="sbtest-")
        self.data_dir = os.path.join(self.tmp, "data")
        self.ports_file = os.path.join(self.tmp, "ports")
        self.log_path = os.path.join(self.tmp, "daemon.log")
        self.config_path = os.path.join(self.tmp, "switchboard.conf")
        # "{tmp}" in a value stands for the daemon's temporary directory.
        cfg = {sec: {k: str(v).replace("{tmp}", self.tmp) for k, v in keys.items()}
               for sec, keys in (config or {}).items()}
        server = cfg.setdefault("server", {})
        server.setdefault("data_dir", self.data_dir)
        server.setdefault("ports_file", self.ports_file)
        server.setdefault("password_cost", "minimum")
        server.setdefault("log_level", "debug")
        self.data_dir = server["data_dir"]
        self.ports_file = server["ports_file"]
        if directory:
            cfg.setdefault("directory", {}).setdefault("listen", "127.0.0.1:0")
        self.config = cfg
        self.overrides = [o.replace("{tmp}", self.tmp) for o in overrides]
        self.config_file = config_file
        self.proc = None
        self.addresses = []
        self.returncode = None
        write_config(self.config_path, cfg)

    # life cycle ------------------------------------------------------------------------------

    def start(self, timeout=None):
        if os.path.exists(self.ports_file):
            os.unlink(self.ports_file)
        args = [self.binary]
        if self.config_file:
            args += ["-c", self.config_path]
        else:
            for sec, keys in self.config.items():
                for k, v in keys.items():
                    args += ["-o", "%s.%s=%s" % (sec, k, v)]
        for o in self.overrides:
            args += ["-o", o]
        self.log_file = open(self.log_path, "ab")
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=self.log_file,
                                     stderr=self.log_file, cwd=self.tmp)
        self.returncode = None
        deadline = time.monotonic() + (t(10) if timeout is None else timeout)
        while not os.path.exists(self.ports_file):
            if self.proc.poll() is not None:
                self.log_file.close()
                raise HarnessError("daemon exited with %d before writing its ports file:\n%s"
                                   % (self.proc.returncode, self.log()))
            if time.monotonic() >= deadline:
                self.kill()
                raise HarnessError("daemon wrote no ports file in time:\n%s" % self.log())
            time.sleep(0.01)
        self.addresses = []
        with open(self.ports_file) as f:
            for line in f:
                parts = line.split()
                if len(parts) == 3:
                    self.addresses.append(tuple(parts))
        return self

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, sig=signal.SIGTERM, timeout=None):
        """Send sig (SIGTERM) and wait; returns (exit code, log text). Kills it if it hangs."""
        if self.proc is None:
            return self.returncode, self.log()
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(t(10) if timeout is None else timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(t(10))
                self.returncode = "hung"
                self._closed()
                return self.returncode, self.log()
        self.returncode = self.proc.returncode
        self._closed()
        return self.returncode, self.log()

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(t(10))
        self._closed()

    def _closed(self):
        if self.proc is not None:
            self.returncode = self.proc.returncode if self.returncode is None else \
                self.returncode
            self.proc = None
        lf = getattr(self, "log_file", None)
        if lf is not None and not lf.closed:
            lf.close()

    def cleanup(self):
        self.kill()
        if self.own_tmp:
            shutil.rmtree(self.tmp, ignore_errors=True)

    # addresses -------------------------------------------------------------------------------

    def addr(self, service="directory", kind="tcp", family=None):
        """The first bound address of a service: (host, port) for tcp, a path for unix.
        family: "4" or "6" to choose among TCP addresses."""
        for svc, k, a in self.addresses:
            if svc != service or k != kind:
                continue
            if kind == "unix":
                assert a.startswith("unix:"), a
                return a[len("unix:"):]
            host, _, port = a.rpartition(":")
            v6 = host.startswith("[")
            if family == "4" and v6 or family == "6" and not v6:
                continue
            return host.strip("[]"), int(port)
        raise HarnessError("no %s %s address in the ports file: %r"
                           % (service, kind, self.addresses))

    def client(self, **kw):
        kind = kw.pop("kind", "tcp")
        family = kw.pop("family", None)
        return Client(self.addr(kind=kind, family=family), **kw)

    # logs ------------------------------------------------------------------------------------

    def log(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def wait_log(self, pattern, timeout=None):
        """Wait until the log matches the regular expression; returns the match."""
        rx = re.compile(pattern)
        return wait_until(lambda: rx.search(self.log()), timeout,
                          what=lambda: "log line /%s/; log:\n%s" % (pattern, self.log()[-3000:]))

    def rss_kib(self):
        with open("/proc/%d/status" % self.proc.pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0

    # the command line ------------------------------------------------------------------------

    def cli(self, *args, input=None, timeout=None):
        """Run `switchboard -c CONFIG ARGS...` (e.g. "user", "add", "bob"), stdin = input."""
        return run_cli(["-c", self.config_path] + list(args), input=input, timeout=timeout,
                       cwd=self.tmp)


def one_error_line(out):
    """The single `sb: ...` line an sb failure prints on stderr (out: CompletedProcess, bytes)."""
    text = out.stderr.decode("utf-8", "replace")
    lines = text.splitlines()
    assert len(lines) == 1 and lines[0].startswith("sb: ") and text.endswith("\n"), \
        "expected one 'sb: ' line on stderr, got %r (exit %d)" % (text, out.returncode)
    return lines[0]


def write_config(path, cfg):
    with open(path, "w") as f:
        for section, keys in cfg.items():
            f.write("[%s]\n" % section)
            for k, v in keys.items():
                f.write("%s = %s\n" % (k, v))
            f.write("\n")


def run_cli(args, input=None, timeout=None, cwd=None, binary=None):
    """Run the binary to completion (bounded); returns subprocess.CompletedProcess (text)."""
    return subprocess.run([binary or BINARY] + list(args), input=input, capture_output=True,
                          text=True, timeout=t(20) if timeout is None else timeout, cwd=cwd)


# ---------------------------------------------------------------------------------------------
# A chat client's listener


class Peer:
    """A stand-in for a eurechat client's listening socket, served by one thread.

    mode "pong": answers every PING with PONG 0; "silent": reads but never answers;
    "wrong": answers every PING with a well-formed frame that is not a PONG ("PING 0");
    "close": closes every accepted connection at once. Every frame received is recorded in
    .frames (MESSAGE frames also in .messages); .pings counts PINGs; .accepted counts
    connections.
    """

    def __init__(self, host="127.0.0.1", mode="pong", backlog=1024):
        self.host = host
        self.mode = mode
        fam = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.lsock = socket.socket(fam, socket.SOCK_STREAM)
        self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.lsock.bind((host, 0))
        self.lsock.listen(backlog)
        self.lsock.setblocking(False)
        self.port = self.lsock.getsockname()[1]
        self.lock = threading.Lock()
        self.cond = threading.Condition(self.lock)
        self.frames = []
        self.messages = []
        self.raw = []  # bytes received, per connection, in arrival order of connections
        self.pings = 0
        self.accepted = 0
        self.errors = []
        self._stop = False
        self._sel = selectors.DefaultSelector()
        self._sel.register(self.lsock, selectors.EVENT_READ, None)
        self._thread = threading.Thread(target=self._run, name="peer-%d" % self.port,
                                        daemon=True)
        self._thread.start()

    @property
    def addr(self):
        return (self.host, self.port)

    def _run(self):
        conns = {}
        try:
            while not self._stop:
                for key, _ in self._sel.select(0.05):
                    if key.data is None:
                        self._accept(conns)
                    else:
                        self._read(key.fileobj, conns)
        except Exception as e:  # recorded, and reported by stop()
            self.errors.append(repr(e))
        finally:
            for s in list(conns):
                try:
                    self._sel.unregister(s)
                except Exception:
                    pass
                s.close()
            try:
                self._sel.unregister(self.lsock)
            except Exception:
                pass
            self.lsock.close()
            self._sel.close()

    def _accept(self, conns):
        for _ in range(256):
            try:
                s, _ = self.lsock.accept()
            except (BlockingIOError, InterruptedError):
                return
            with self.cond:
                self.accepted += 1
                self.cond.notify_all()
            if self.mode == "close":
                s.close()
                continue
            s.setblocking(False)
            idx = len(self.raw)
            self.raw.append(b"")
            conns[s] = [b"", idx]
            self._sel.register(s, selectors.EVENT_READ, True)

    def _drop(self, s, conns):
        self._sel.unregister(s)
        del conns[s]
        s.close()

    def _read(self, s, conns):
        try:
            data = s.recv(65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            self._drop(s, conns)
            return
        if not data:
            self._drop(s, conns)
            return
        st = conns[s]
        st[0] += data
        with self.cond:
            self.raw[st[1]] += data
        while True:
            try:
                f, st[0] = parse_frame(st[0])
            except HarnessError as e:
                with self.cond:
                    self.errors.append(str(e))
                self._drop(s, conns)
                return
            if f is None:
                break
            with self.cond:
                self.frames.append(f)
                if f.type == "MESSAGE":
                    self.messages.append(f)
                if f.type == "PING":
                    self.pings += 1
                self.cond.notify_all()
            if f.type == "PING" and self.mode in ("pong", "wrong"):
                try:
                    s.setblocking(True)
                    s.settimeout(1)
                    s.sendall(b"PONG 0\n" if self.mode == "pong" else b"PING 0\n")
                    s.setblocking(False)
                except OSError:
                    self._drop(s, conns)
                    return

    def wait(self, predicate, timeout=None, what="peer condition"):
        """Wait until predicate(self) holds (evaluated under the lock)."""
        deadline = time.monotonic() + (TIMEOUT if timeout is None else timeout)
        with self.cond:
            while not predicate(self):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise HarnessError("timed out waiting for %s (frames: %r)"
                                       % (what, self.frames[-5:]))
                self.cond.wait(left)
            return True

    def wait_message(self, count=1, timeout=None):
        self.wait(lambda p: len(p.messages) >= count, timeout, "%d MESSAGE frame(s)" % count)
        with self.cond:
            return list(self.messages)

    def stop(self):
        """Stop listening and close every connection (the port is then closed)."""
        self._stop = True
        self._thread.join(t(5))
        if self._thread.is_alive():
            raise HarnessError("peer thread did not stop")


def ipv6_loopback_available():
    if not socket.has_ipv6:
        return False
    try:
        s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        try:
            s.bind(("::1", 0))
        finally:
            s.close()
        return True
    except OSError:
        return False


# ---------------------------------------------------------------------------------------------
# The chat client

# The `sb` client (tests/system/test_sb.py, test_chat_tmux.py): SB_CLIENT, or `sb` next to the
# daemon binary.
CLIENT = os.environ.get("SB_CLIENT") or os.path.join(os.path.dirname(BINARY), "sb")
