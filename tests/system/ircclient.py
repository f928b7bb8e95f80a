# SPDX-License-Identifier: MIT
"""A small raw IRC client for the system tests of the IRC service (standard library only).

IRC wraps one TCP (or TLS) socket: it sends lines, parses what comes back (IRCv3 tags, source,
command, parameters) and waits for messages matching a predicate, every wait bounded in time.
sync() sends `PING :token` and collects everything up to the matching PONG: since the server
handles one client's commands in order, whatever an earlier command caused has arrived by then,
which is how a test shows that something was NOT sent. Server PINGs are answered unless
autopong is False.
"""

import itertools
import os
import re
import socket
import ssl
import threading
import time

from harness import HarnessError, t, write_config

TIMEOUT = t(5.0)
TIME_TAG = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z")
_tokens = itertools.count(1)

# ---------------------------------------------------------------------------------------------
# Parsing

_UNESCAPE = {":": ";", "s": " ", "\\": "\\", "r": "\r", "n": "\n"}


def unescape_tag(v):
    out, i = [], 0
    while i < len(v):
        c = v[i]
        if c == "\\":
            if i + 1 < len(v):
                out.append(_UNESCAPE.get(v[i + 1], v[i + 1]))
            i += 2
            continue
        out.append(c)
        i += 1
    return "".join(out)


def escape_tag(v):
    return (v.replace("\\", "\\\\").replace(";", "\\:").replace(" ", "\\s")
            .replace("\r", "\\r").replace("\n", "\\n"))


class Msg:
    """One parsed line. tags: dict (values unescaped, None without '='); source: the prefix
    without ':' or None; command: upper case; params: list (the trailing one included)."""

    def __init__(self, raw):
        self.raw = raw
        rest = raw
        self.tags = {}
        self.tags_raw = None
        if rest.startswith("@"):
            self.tags_raw, _, rest = rest[1:].partition(" ")
            for item in self.tags_raw.split(";"):
                if not item:
                    continue
                k, eq, v = item.partition("=")
                self.tags[k] = unescape_tag(v) if eq else None
            rest = rest.lstrip(" ")
        self.source = None
        if rest.startswith(":"):
            self.source, _, rest = rest[1:].partition(" ")
            rest = rest.lstrip(" ")
        self.params = []
        self.trailing = False
        head, sep, trail = rest.partition(" :")
        if rest.startswith(":"):  # no command at all: malformed, keep it visible
            head, sep, trail = "", " :", rest[1:]
        words = [w for w in head.split(" ") if w]
        self.command = words[0].upper() if words else ""
        self.params = words[1:]
        if sep:
            self.params.append(trail)
            self.trailing = True

    @property
    def nick(self):
        """The nick of the source (or the server name)."""
        return self.source.split("!", 1)[0] if self.source else None

    @property
    def text(self):
        return self.params[-1] if self.params else ""

    def arg(self, i, default=None):
        return self.params[i] if i < len(self.params) else default

    def __repr__(self):
        return "Msg(%r)" % self.raw

    __str__ = __repr__


def is_cmd(*commands):
    cmds = {c.upper() for c in commands}
    return lambda m: m.command in cmds


# ---------------------------------------------------------------------------------------------
# The client


class Closed(HarnessError):
    pass


class IRC:
    """A raw IRC connection. addr: (host, port). ssl_context: wrap in TLS. source: local IP to
    bind. rcvbuf: SO_RCVBUF set before connecting."""

    def __init__(self, addr, nick=None, timeout=None, source=None, rcvbuf=None,
                 ssl_context=None, autopong=True):
        self.timeout = TIMEOUT if timeout is None else timeout
        self.nick = nick
        self.autopong = autopong
        self.buf = b""
        self.eof = False
        self.log = []          # every message received, in order
        self.pending = []      # received, not yet consumed by recv()/expect()
        self.raw_lines = []    # every raw line (bytes, terminator included when complete)
        s = socket.socket(socket.AF_INET6 if ":" in addr[0] else socket.AF_INET,
                          socket.SOCK_STREAM)
        try:
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if source is not None:
                s.bind((source, 0))
            if rcvbuf is not None:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
            s.settimeout(self.timeout)
            s.connect(addr)
            if ssl_context is not None:
                s = ssl_context.wrap_socket(s, server_hostname="localhost")
        except BaseException:
            s.close()
            raise
        self.sock = s

    # context manager ---------------------------------------------------------------------------

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    # sending -----------------------------------------------------------------------------------

    def send(self, line):
        """Send one line (str or bytes); CR LF is added."""
        if isinstance(line, str):
            line = line.encode("utf-8")
        self.sendraw(line + b"\r\n")

    def sendraw(self, data):
        if isinstance(data, str):
            data = data.encode("utf-8")
        self.sock.settimeout(self.timeout)
        self.sock.sendall(data)

    # receiving ---------------------------------------------------------------------------------

    def _fill(self, deadline):
        """Read more bytes into the buffer; False on EOF. Raises socket.timeout."""
        if self.eof:
            return False
        left = deadline - time.monotonic()
        if left <= 0:
            raise socket.timeout("timed out")
        self.sock.settimeout(left)
        try:
            data = self.sock.recv(65536)
        except ssl.SSLWantReadError:
            return True
        except (ConnectionResetError, BrokenPipeError):
            data = b""
        if not data:
            self.eof = True
            return False
        self.buf += data
        return True

    def _take_line(self):
        nl = self.buf.find(b"\n")
        if nl < 0:
            return None
        raw = self.buf[:nl + 1]
        self.buf = self.buf[nl + 1:]
        self.raw_lines.append(raw)
        line = raw.rstrip(b"\n")
        if line.endswith(b"\r"):
            line = line[:-1]
        m = Msg(line.decode("utf-8", "replace"))
        m.bytes = line
        self.log.append(m)
        if m.command == "PING" and self.autopong:
            try:
                self.send("PONG :%s" % m.text)
            except OSError:
                pass
            return "skip"
        return m

    def recv(self, timeout=None):
        """The next message (pending ones first). Raises Closed on EOF, HarnessError on
        timeout."""
        if self.pending:
            return self.pending.pop(0)
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while True:
            while True:
                m = self._take_line()
                if m is None:
                    break
                if m != "skip":
                    return m
            try:
                more = self._fill(deadline)
            except socket.timeout:
                raise HarnessError("%s: timed out waiting for a line; last received: %r"
                                   % (self.nick, self.log[-8:]))
            if not more:
                raise Closed("%s: connection closed; last received: %r; unterminated %r"
                             % (self.nick, self.log[-8:], self.buf[:200]))

    def expect(self, pred, timeout=None, what=None):
        """Skip messages until one matches pred (a callable, or a command/numeric string);
        returns it. Skipped messages are kept in .skipped."""
        if isinstance(pred, str):
            what = what or pred
            pred = is_cmd(pred)
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        self.skipped = []
        while True:
            left = deadline - time.monotonic()
            try:
                m = self.recv(max(left, 0.001))
            except Closed:
                raise Closed("%s: closed while waiting for %s; skipped %r"
                             % (self.nick, what or "a message", self.skipped))
            except HarnessError:
                raise HarnessError("%s: timed out waiting for %s; skipped %r"
                                   % (self.nick, what or "a message", self.skipped))
            if pred(m):
                return m
            self.skipped.append(m)

    def until(self, pred, timeout=None, what=None):
        """Every message up to and including the first matching pred."""
        last = self.expect(pred, timeout, what)
        return self.skipped + [last]

    def sync(self, timeout=None):
        """PING the server; returns every message received before its PONG (not the PONG)."""
        token = "sync%d" % next(_tokens)
        self.send("PING :%s" % token)
        out = self.until(lambda m: m.command == "PONG" and m.text == token, timeout,
                         "PONG %s" % token)
        return out[:-1]

    def _peek(self, wait):
        """"closed", "silent" (nothing within wait seconds) or "message" (kept for later)."""
        try:
            m = self.recv(wait)
        except Closed:
            return "closed"
        except HarnessError:
            return "silent"
        self.pending.insert(0, m)
        return "message"

    def quiet(self, wait=0.2):
        """Nothing arrives within wait seconds (and the connection is open)."""
        return not self.pending and self._peek(wait) == "silent"

    def wait_closed(self, timeout=None):
        """Read until the server closes; returns the messages received before. Fails if it
        stays open past the timeout."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        out = list(self.pending)
        self.pending = []
        while True:
            try:
                out.append(self.recv(max(deadline - time.monotonic(), 0.001)))
            except Closed:
                return out
            except HarnessError:
                raise HarnessError("%s: still open after the timeout; received %r"
                                   % (self.nick, out[-10:]))

    def is_open(self, wait=0.2):
        return self._peek(wait) != "closed"

    # conversations -----------------------------------------------------------------------------

    def register(self, nick, user=None, real=None, password=None, caps=(), sasl=None):
        """PASS/CAP/NICK/USER; waits for the end of the MOTD (376 or 422) and syncs. caps: to
        CAP REQ (all must be ACKed). sasl: (account, password) for SASL PLAIN. Returns every
        message of the welcome burst."""
        self.nick = nick
        user = user or nick[:9]
        real = real or "Real %s" % nick
        out = []
        if password is not None:
            self.send("PASS %s" % password)
        caps = list(caps)
        if sasl and "sasl" not in caps:
            caps.append("sasl")
        if caps:
            self.send("CAP LS 302")
        self.send("NICK %s" % nick)
        self.send("USER %s 0 * :%s" % (user, real))
        if caps:
            out += self.until(lambda m: m.command == "CAP" and m.arg(1) == "LS"
                              and m.arg(2) != "*", what="CAP LS")
            self.send("CAP REQ :%s" % " ".join(caps))
            ack = self.expect(lambda m: m.command == "CAP" and m.arg(1) in ("ACK", "NAK"),
                              what="CAP ACK")
            out += self.skipped + [ack]
            if ack.arg(1) != "ACK" or set(ack.text.split()) != set(caps):
                raise HarnessError("CAP REQ %s: %r" % (caps, ack))
            if sasl:
                out += sasl_plain(self, *sasl)
            self.send("CAP END")
        out += self.until(is_cmd("376", "422"), what="the end of the MOTD")
        out += self.sync()
        for m in out:
            if m.command == "001":
                self.nick = m.arg(0)
        return out

    def join(self, chan, key=None):
        """JOIN and wait for the end of NAMES; returns the messages."""
        self.send("JOIN %s%s" % (chan, " " + key if key else ""))
        return self.until(lambda m: m.command == "366" and m.arg(1, "").lower() == chan.lower(),
                          what="366 for %s" % chan)

    def names(self, chan):
        """NAMES chan -> the list of entries (with prefixes) of the 353 lines."""
        self.send("NAMES %s" % chan)
        out = self.until(lambda m: m.command == "366", what="366")
        names = []
        for m in out:
            if m.command == "353":
                names += m.text.split()
        return names

    def whois(self, nick):
        """WHOIS nick -> {numeric: [Msg, ...]} up to 318."""
        self.send("WHOIS %s" % nick)
        out = self.until(is_cmd("318"), what="318")
        res = {}
        for m in out:
            res.setdefault(m.command, []).append(m)
        return res


def sasl_plain(c, account, password, expect_ok=True):
    import base64
    out = []
    c.send("AUTHENTICATE PLAIN")
    out.append(c.expect(lambda m: m.command == "AUTHENTICATE", what="AUTHENTICATE +"))
    assert out[-1].params == ["+"], out[-1]
    blob = base64.b64encode(b"\0" + account.encode() + b"\0" + password.encode()).decode()
    c.send("AUTHENTICATE %s" % blob)
    end = c.until(is_cmd("903", "904", "902", "905", "906", "907"), what="903/904")
    out += end
    if expect_ok:
        assert end[-1].command == "903", end
    return out


def numerics(msgs):
    return [m.command for m in msgs if m.command.isdigit()]


def find(msgs, command):
    return [m for m in msgs if m.command == command]


def tls_context():
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


class Reader:
    """Reads a client in a thread (answering PINGs) so that it stays alive while the test
    waits on another connection. .wait(pred) returns the first message matching."""

    def __init__(self, c):
        self.c = c
        self.msgs = []
        self.closed = False
        self.cond = threading.Condition()
        self._stop = False
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        while not self._stop:
            try:
                m = self.c.recv(0.1)
            except Closed:
                with self.cond:
                    self.closed = True
                    self.cond.notify_all()
                return
            except (HarnessError, OSError):
                continue
            with self.cond:
                self.msgs.append(m)
                self.cond.notify_all()

    def wait(self, pred, timeout=None, what="a message"):
        if isinstance(pred, str):
            pred = is_cmd(pred)
        deadline = time.monotonic() + (TIMEOUT if timeout is None else timeout)
        with self.cond:
            while True:
                for m in self.msgs:
                    if pred(m):
                        return m
                left = deadline - time.monotonic()
                if left <= 0 or self.closed:
                    raise HarnessError("%s: no %s; got %r" % (self.c.nick, what, self.msgs[-10:]))
                self.cond.wait(min(left, 0.1))

    def stop(self):
        self._stop = True
        self._thread.join(t(5))


# ---------------------------------------------------------------------------------------------
# A daemon with the IRC service


def src(nick, user=None):
    """The source a client registered by IRC.register() has: nick!~user@127.0.0.1."""
    return "%s!~%s@127.0.0.1" % (nick, (user or nick)[:9])


class Net:
    """One daemon with the IRC service, and the clients a test opened on it."""

    def __init__(self, d):
        self.d = d
        self.clients = []

    @property
    def addr(self):
        return self.d.addr("irc")

    def conn(self, nick=None, addr=None, **kw):
        c = IRC(addr or self.addr, nick=nick, **kw)
        self.clients.append(c)
        return c

    def user(self, nick, caps=(), password=None, sasl=None, user=None, real=None, **kw):
        c = self.conn(nick, **kw)
        c.burst = c.register(nick, user=user, real=real, password=password, caps=caps, sasl=sasl)
        return c

    def close(self):
        for c in self.clients:
            c.close()

    def set_config(self, **keys):
        """Change [irc] keys in the configuration file (for REHASH)."""
        self.d.config["irc"].update({k: str(v) for k, v in keys.items()})
        write_config(self.d.config_path, self.d.config)


def hash_password(d, pw):
    out = d.cli("hash-password", input=pw + "\n")
    assert out.returncode == 0, (out.returncode, out.stderr)
    m = re.search(r"\$argon2id\$\S+", out.stdout)
    assert m, "no argon2id hash in the output of hash-password: %r" % (out.stdout,)
    return m.group(0)


def start_net(make_daemon, nets, defaults, directory=False, accounts=None, opers=None,
              motd=None, **keys):
    """Start a daemon with [irc] = defaults + keys (and a MOTD file, opers with hashed
    passwords, accounts created with `switchboard user add`); returns its Net, also
    appended to nets (close them at teardown)."""
    cfg = {"irc": dict(defaults)}
    cfg["irc"].update({k: str(v) for k, v in keys.items()})
    d = make_daemon(cfg, directory=directory, start=False)
    if motd is not None:
        path = os.path.join(d.tmp, "motd.txt")
        with open(path, "w") as f:
            f.write(motd)
        d.config["irc"]["motd"] = path
    if opers:
        d.config["irc"]["opers"] = " ".join("%s:%s" % (name, hash_password(d, pw))
                                            for name, pw in opers.items())
    write_config(d.config_path, d.config)
    for name, pw in (accounts or {}).items():
        out = d.cli("user", "add", name, input=pw + "\n")
        assert out.returncode == 0, out.stderr
    d.start()
    net = Net(d)
    nets.append(net)
    return net
