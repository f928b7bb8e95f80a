# SPDX-License-Identifier: MIT
"""Real HTTP(S) servers for the `sb get` system tests (tests/system/test_get.py).

- HTTPServer: Python's ThreadingHTTPServer in a thread, on a loopback address and an ephemeral
  port, serving a temporary directory under /files/ (SimpleHTTPRequestHandler) plus special
  responses written byte by byte (chunked, redirects, truncated, malformed, ...). Every request
  line and header list it receives is recorded.
- SilentListener: a listening socket that never accepts (the kernel completes the connection,
  nobody ever answers).
- make_certs(): a test CA and server certificates made with the `openssl` command line tool.
- Nginx: Debian's nginx in the foreground (no master, no daemon) with every path inside a
  temporary directory, on ports picked by the test.

Every wait is bounded; stop() always releases the ports and the threads/processes started here
(and only those).
"""

import functools
import http.server
import os
import pwd
import random
import shutil
import socket
import socketserver
import struct
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

from harness import HarnessError, free_port, t

# ---------------------------------------------------------------------------------------------
# Helpers


def host_port(host, port):
    """The authority of a URL / Host header: "127.0.0.1:8080" or "[::1]:8080"."""
    return "[%s]:%d" % (host, port) if ":" in host else "%s:%d" % (host, port)


def wait_connectable(host, port, timeout=None, alive=None, what="server"):
    """Poll a TCP connect to (host, port) until it succeeds; fail after the timeout (or as soon
    as alive() returns False)."""
    deadline = time.monotonic() + (t(10) if timeout is None else timeout)
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    last = None
    while True:
        if alive is not None and not alive():
            raise HarnessError("%s died before it listened on %s" % (what, host_port(host, port)))
        s = socket.socket(fam, socket.SOCK_STREAM)
        s.settimeout(0.5)
        try:
            s.connect((host, port))
            return
        except OSError as e:
            last = e
        finally:
            s.close()
        if time.monotonic() >= deadline:
            raise HarnessError("%s not listening on %s after the timeout (%r)"
                               % (what, host_port(host, port), last))
        time.sleep(0.05)


def raw_request(host, port, request, timeout=None):
    """Send request bytes on a new connection and read the whole answer until the server
    closes (bounded). Returns the bytes received."""
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    deadline = time.monotonic() + (t(10) if timeout is None else timeout)
    with socket.socket(fam, socket.SOCK_STREAM) as s:
        s.settimeout(t(10) if timeout is None else timeout)
        s.connect((host, port))
        s.sendall(request)
        out = b""
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise HarnessError("server did not close; received %r" % (out[:300],))
            s.settimeout(left)
            data = s.recv(65536)
            if not data:
                return out
            out += data


def chunk_encode(data, seed=1):
    """data in chunked transfer coding: many odd-size chunks (1, 3, 5, ... and random odd sizes
    up to 8191), hex digits in either case, some with leading zeros, many with chunk extensions
    (tokens, values, quoted strings), and a last chunk with an extension and two trailer
    fields."""
    rng = random.Random(seed)
    out = []
    i = 0
    n = 0
    while i < len(data):
        size = 2 * n + 1 if n < 40 else rng.randrange(1, 8192, 2)
        size = min(size, len(data) - i)
        digits = "%x" % size
        if n % 3 == 1:
            digits = digits.upper()
        if n % 7 == 3:
            digits = "00" + digits
        ext = ["", ";foo", ";name=value", ';q="a;b c"', " ; bar=1;baz"][n % 5]
        out.append(digits.encode() + ext.encode() + b"\r\n" + data[i:i + size] + b"\r\n")
        i += size
        n += 1
    out.append(b"0;last=yes\r\nX-Trailer-One: one\r\nX-Trailer-Two: two\r\n\r\n")
    return b"".join(out)


# ---------------------------------------------------------------------------------------------
# Python's http.server

# The head of GET /head, exactly (for -i).
HEAD_RESPONSE = (b"HTTP/1.1 200 OK\r\n"
                 b"Content-Type: text/plain\r\n"
                 b"X-Test:  spaced   value \r\n"
                 b"Content-Length: 12\r\n"
                 b"Connection: close\r\n"
                 b"\r\n")
HEAD_BODY = b"body of head"

# The body of /slow/...: 2 MiB sent in SLOW_PIECES pieces SLOW_DELAY seconds apart (about 1.8 s
# in all), long enough for the progress line (shown after the first second, refreshed four
# times a second). Not scaled with t(): the duration is what the tests are about.
SLOW_BODY = random.Random(11).randbytes(2 * 1024 * 1024)
SLOW_PIECES = 24
SLOW_DELAY = 0.075
# /slow/.../stall: the first SLOW_STALL_PIECES pieces (past the first second), then silence.
SLOW_STALL_PIECES = 18
SLOW_STALLED = SLOW_BODY[:SLOW_STALL_PIECES * (len(SLOW_BODY) // SLOW_PIECES)]


class Handler(http.server.SimpleHTTPRequestHandler):
    """/files/... : the server's directory (Content-Length, HTTP/1.0, then close). Everything
    else: the special responses of do_GET below, written as raw bytes."""

    protocol_version = "HTTP/1.0"

    def log_message(self, *args):
        pass

    # raw output --------------------------------------------------------------------------

    def raw(self, data):
        self.wfile.write(data)
        self.close_connection = True

    def simple(self, code, reason, body, extra=b"", version=b"HTTP/1.1"):
        self.raw(b"%s %d %s\r\nContent-Length: %d\r\nConnection: close\r\n%s\r\n"
                 % (version, code, reason, len(body), extra) + body)

    def redirect(self, code, location, body=None):
        if body is None:
            body = b"redirect body %d\n" % code
        reason = {301: b"Moved Permanently", 302: b"Found", 303: b"See Other",
                  307: b"Temporary Redirect", 308: b"Permanent Redirect"}[code]
        self.simple(code, reason, body, b"Location: %s\r\nContent-Type: text/plain\r\n"
                    % location.encode())

    def slow(self, framing, stall):
        """SLOW_BODY in SLOW_PIECES pieces, SLOW_DELAY s apart; framing "length"
        (Content-Length), "close" (until the server closes) or "chunked" (one chunk a piece).
        With stall: only the first SLOW_STALL_PIECES pieces (SLOW_STALLED), then silence (the
        connection stays open until the server stops)."""
        srv = self.server
        head = {"length": b"Content-Length: %d\r\n" % len(SLOW_BODY),
                "close": b"",
                "chunked": b"Transfer-Encoding: chunked\r\n"}[framing]
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.raw(b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n" + head
                 + b"\r\n")
        size = len(SLOW_BODY) // SLOW_PIECES
        for n in range(SLOW_STALL_PIECES if stall else SLOW_PIECES):
            if srv.stop_event.wait(SLOW_DELAY):
                return
            piece = SLOW_BODY[n * size:] if n == SLOW_PIECES - 1 else \
                SLOW_BODY[n * size:(n + 1) * size]
            if framing == "chunked":
                piece = b"%x\r\n" % len(piece) + piece + b"\r\n"
            self.wfile.write(piece)
            self.wfile.flush()
        if stall:
            srv.stop_event.wait(t(30))
        elif framing == "chunked":
            self.wfile.write(b"0\r\n\r\n")

    # routes --------------------------------------------------------------------------------

    def do_GET(self):
        srv = self.server
        srv.record(self.requestline, list(self.headers.items()))
        path, _, query = self.path.partition("?")
        parts = path.split("/")[1:]
        top = parts[0] if parts else ""
        if top == "files":
            return super().do_GET()
        if top == "rec":  # any path: records the request, answers "ok"
            return self.simple(200, b"OK", b"ok\n")
        if top == "close":  # /close/1.0 or /close/1.1: body until the server closes
            version = b"HTTP/" + parts[1].encode()
            self.raw(version + b" 200 OK\r\nContent-Type: application/octet-stream\r\n\r\n")
            for i in range(0, len(srv.data), 65536):
                self.wfile.write(srv.data[i:i + 65536])
            return
        if top == "chunked":
            return self.raw(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
                            b"Content-Type: application/octet-stream\r\n"
                            b"Trailer: X-Trailer-One, X-Trailer-Two\r\n\r\n"
                            + chunk_encode(srv.data))
        if top == "dribble":  # a chunked response sent in pieces of 1 to 9 bytes
            data = (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                    + chunk_encode(srv.data[:3000], seed=2))
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            rng = random.Random(3)
            i = 0
            while i < len(data):
                n = rng.randint(1, 9)
                self.wfile.write(data[i:i + n])
                i += n
                time.sleep(0.0005)
            self.close_connection = True
            return
        if top == "case":  # field names and values in unusual case and spacing
            if parts[1] == "chunked":
                return self.raw(b"HTTP/1.1 200 OK\r\ntransfer-ENCODING:\tChunked \r\n\r\n"
                                + chunk_encode(b"mixed case chunked\n", seed=4))
            return self.raw(b"HTTP/1.1 200 OK\r\ncontent-length:7\r\n\r\nlength\nIGNORED")
        if top == "interim":  # a 1xx interim response before the final one
            return self.raw(b"HTTP/1.1 100 Continue\r\n\r\n"
                            b"HTTP/1.1 102 Processing\r\nX-Interim: yes\r\n\r\n"
                            b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nfinal\n")
        if top == "te-and-cl":  # Transfer-Encoding overrides Content-Length
            return self.raw(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n"
                            b"Transfer-Encoding: chunked\r\n\r\n"
                            b"7\r\nchunks\n\r\n0\r\n\r\n")
        if top == "head":
            return self.raw(HEAD_RESPONSE + HEAD_BODY)
        if top == "empty-body":  # Content-Length: 0
            return self.simple(200, b"OK", b"")
        if top == "r" and len(parts) == 3:
            # /r/CODE/KIND: a redirect; /r/CODE/target: its relative target
            code = int(parts[1])
            kind = parts[2]
            if kind == "abs":
                return self.redirect(code, "http://%s/final/%d/abs" % (srv.authority, code))
            if kind == "path":
                return self.redirect(code, "/final/%d/path" % code)
            if kind == "rel":
                return self.redirect(code, "target")
            if kind == "net":  # a network-path reference
                return self.redirect(code, "//%s/final/%d/net" % (srv.authority, code))
            if kind == "query":  # a query-only reference: same path, new query
                if query == "y=2":
                    return self.simple(200, b"OK", b"query target of %d\n" % code)
                return self.redirect(code, "?y=2")
            if kind == "dots":
                return self.redirect(code, "../../final/%d/dots?x=1" % code)
            if kind == "target":
                return self.simple(200, b"OK", b"target of %d\n" % code)
        if top == "final":
            return self.simple(200, b"OK", b"final " + self.path.encode() + b"\n")
        if top == "nolocation":  # a 301 without Location: not a redirect
            return self.simple(301, b"Moved Permanently", b"moved, but where?\n")
        if top == "chain":  # /chain/N -> /chain/N-1 -> ... -> /chain/0
            n = int(parts[1])
            if n > 0:
                return self.redirect(302, "/chain/%d" % (n - 1))
            return self.simple(200, b"OK", b"end of chain\n")
        if top == "loop":  # /loop/a -> /loop/b -> /loop/a
            return self.redirect(302, "/loop/b" if parts[1] == "a" else "/loop/a")
        if top == "goto":  # /goto?URL (percent-encoded): a 302 to that URL
            return self.redirect(302, urllib.parse.unquote(query))
        if top == "status":  # /status/404, /status/500
            code = int(parts[1])
            reason = {404: b"Not Found", 500: b"Internal Server Error", 403: b"Forbidden"}[code]
            return self.simple(code, reason, b"error page %d\n" % code)
        if top == "truncated":  # Content-Length 1000, 10 bytes, close
            return self.raw(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n0123456789")
        if top == "truncated-chunked":  # a chunk announces 100 bytes, 10 come, close
            return self.raw(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                            b"5\r\nhello\r\n64\r\n0123456789")
        if top == "empty":  # reads the request, closes without a byte
            self.close_connection = True
            return
        if top == "reset":  # reads the request, resets the connection (SO_LINGER 0)
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                       struct.pack("ii", 1, 0))
            self.connection.close()
            self.close_connection = True
            return
        if top == "malformed":
            what = {
                "garbage": b"this is not http\r\n\r\n",
                "version": b"HTTQ/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
                "status": b"HTTP/1.1 2x0 OK\r\nContent-Length: 2\r\n\r\nok",
                "length": b"HTTP/1.1 200 OK\r\nContent-Length: abc\r\n\r\nok",
                "chunk": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                         b"zz\r\nok\r\n0\r\n\r\n",
                "hugechunk": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                             b"ffffffffffffffffffff\r\nok\r\n0\r\n\r\n",
                "negative": b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\nok",
                "conflict": b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n"
                            b"Content-Length: 4\r\n\r\nokok",
            }[parts[1]]
            return self.raw(what)
        if top == "stall":  # head + part of the body, then silence (until the server stops)
            self.raw(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n" + b"x" * 1000)
            srv.stop_event.wait(t(30))
            return
        if top == "slow":  # /slow/{length,close,chunked}[/stall]: SLOW_BODY, slowly
            return self.slow(parts[1], parts[2:3] == ["stall"])
        if top == "stall-head":  # part of the head, then silence
            self.raw(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Len")
            srv.stop_event.wait(t(30))
            return
        if top == "stall-after-head":  # the whole head, not a byte of the body, then silence
            self.raw(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n")
            srv.stop_event.wait(t(30))
            return
        if top == "stall-chunked":  # chunked: inside a chunk, then silence
            self.raw(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                     b"5\r\nhello\r\n64\r\n0123456789")
            srv.stop_event.wait(t(30))
            return
        if top == "stall-close":  # body until close: some data, then silence without closing
            self.raw(b"HTTP/1.1 200 OK\r\n\r\n" + b"y" * 1000)
            srv.stop_event.wait(t(30))
            return
        if top == "hold":  # a complete response, but the connection stays open
            self.raw(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nheld\n")
            srv.stop_event.wait(t(30))
            return
        if top == "hold-empty":  # Content-Length: 0, the connection stays open
            self.raw(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
            srv.stop_event.wait(t(30))
            return
        if top == "not-modified":  # 304: no body whatever Content-Length says; stays open
            self.raw(b"HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n")
            srv.stop_event.wait(t(30))
            return
        if top == "no-content":  # 204: no body even without Content-Length; stays open
            self.raw(b"HTTP/1.1 204 No Content\r\n\r\n")
            srv.stop_event.wait(t(30))
            return
        return self.simple(404, b"Not Found", b"no route for " + self.path.encode() + b"\n")


class HTTPServer(http.server.ThreadingHTTPServer):
    """ThreadingHTTPServer on (host, ephemeral port) serving docroot under /files/."""

    daemon_threads = True
    allow_reuse_address = False

    def __init__(self, host="127.0.0.1", docroot=None, data=b""):
        self.address_family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.docroot = docroot
        self.data = data  # the body of /close and /chunked
        self.requests = []  # (request line, [(name, value), ...])
        self.errors = []  # exceptions in handlers (clients that went away)
        self.lock = threading.Lock()
        self.stop_event = threading.Event()
        super().__init__((host, 0), functools.partial(Handler, directory=docroot))
        self.host = host
        self.port = self.server_address[1]
        self.authority = host_port(host, self.port)
        self._thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="httpd-%d" % self.port, daemon=True)
        self._thread.start()
        wait_connectable(host, self.port, what="http.server")

    def server_bind(self):
        # No getfqdn() (a reverse DNS lookup) as HTTPServer.server_bind does.
        socketserver.TCPServer.server_bind(self)
        self.server_name = self.server_address[0]
        self.server_port = self.server_address[1]

    def url(self, path="/"):
        return "http://%s%s" % (self.authority, path)

    def handle_error(self, request, client_address):
        # A client that goes away early (-f, a write error, a timeout) is expected: no
        # traceback on stderr, but keep it for a test that wants to know.
        with self.lock:
            self.errors.append(repr(sys.exc_info()[1]))

    def record(self, line, headers):
        with self.lock:
            self.requests.append((line, headers))

    def requests_for(self, prefix):
        with self.lock:
            return [r for r in self.requests if r[0].split(" ")[1:2] and
                    r[0].split(" ")[1].startswith(prefix)]

    def stop(self):
        self.stop_event.set()
        self.shutdown()
        self.server_close()
        self._thread.join(t(5))
        if self._thread.is_alive():
            raise HarnessError("http.server thread did not stop")


class SilentListener:
    """A listening socket that never accepts: connects succeed, nothing is ever answered."""

    def __init__(self, host="127.0.0.1"):
        self.sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET,
                                  socket.SOCK_STREAM)
        self.sock.bind((host, 0))
        self.sock.listen(16)
        self.host = host
        self.port = self.sock.getsockname()[1]

    def url(self, path="/"):
        return "http://%s%s" % (host_port(self.host, self.port), path)

    def stop(self):
        self.sock.close()


# ---------------------------------------------------------------------------------------------
# Certificates (openssl command line tool)

OPENSSL = shutil.which("openssl") or "/usr/bin/openssl"

_REQ_CNF = """\
[req]
distinguished_name = dn
prompt = no
[dn]
CN = placeholder
[ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
"""

_EXT_CNF = """\
[srv]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid,issuer
subjectAltName = %s
"""


def _openssl(args, cwd):
    out = subprocess.run([OPENSSL] + args, cwd=cwd, capture_output=True, text=True,
                         timeout=t(60))
    if out.returncode != 0:
        raise HarnessError("openssl %s failed (%d): %s" % (" ".join(args), out.returncode,
                                                           out.stderr[-2000:]))


def _ec_key(name, d):
    _openssl(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
              "-out", name], d)


def make_certs(d):
    """In directory d: ca.pem/ca.key (a test CA), and signed by it server.pem/server.key
    (DNS:localhost, IP:127.0.0.1) and other.pem/other.key (DNS:other.example only); and
    selfsigned.pem/selfsigned.key (DNS:localhost, IP:127.0.0.1, signed by itself, not the CA).
    Returns {name: path}."""
    with open(os.path.join(d, "req.cnf"), "w") as f:
        f.write(_REQ_CNF)
    _ec_key("ca.key", d)
    _openssl(["req", "-config", "req.cnf", "-x509", "-new", "-key", "ca.key", "-out", "ca.pem",
              "-days", "3", "-subj", "/CN=switchboard test CA", "-extensions", "ca",
              "-set_serial", "1"], d)
    serial = 100
    for name, cn, san in (("server", "localhost", "DNS:localhost,IP:127.0.0.1"),
                          ("other", "other.example", "DNS:other.example")):
        with open(os.path.join(d, name + ".ext"), "w") as f:
            f.write(_EXT_CNF % san)
        _ec_key(name + ".key", d)
        _openssl(["req", "-config", "req.cnf", "-new", "-key", name + ".key", "-out",
                  name + ".csr", "-subj", "/CN=" + cn], d)
        serial += 1
        _openssl(["x509", "-req", "-in", name + ".csr", "-CA", "ca.pem", "-CAkey", "ca.key",
                  "-set_serial", str(serial), "-days", "3", "-out", name + ".pem",
                  "-extfile", name + ".ext", "-extensions", "srv"], d)
    with open(os.path.join(d, "self.cnf"), "w") as f:
        f.write(_REQ_CNF + "[self]\nbasicConstraints = critical,CA:FALSE\n"
                "subjectAltName = DNS:localhost,IP:127.0.0.1\n")
    _ec_key("selfsigned.key", d)
    _openssl(["req", "-config", "self.cnf", "-x509", "-new", "-key", "selfsigned.key", "-out",
              "selfsigned.pem", "-days", "3", "-subj", "/CN=localhost", "-extensions", "self",
              "-set_serial", "7"], d)
    return {n: os.path.join(d, n) for n in
            ("ca.pem", "server.pem", "server.key", "other.pem", "other.key",
             "selfsigned.pem", "selfsigned.key")}


# ---------------------------------------------------------------------------------------------
# nginx

NGINX = "/usr/sbin/nginx"

# The text file behind /sub/ (nginx sub_filter: chunked) and what nginx makes of it.
SUB_TOKEN = b"@@swap@@"
SUB_VALUE = b"<swapped>"


def sub_text():
    lines = [b"line %06d %s tail\n" % (i, SUB_TOKEN if i % 3 else b"plain") for i in range(20000)]
    return b"".join(lines)


class Nginx:
    """nginx in the foreground in its own temporary directory.

    Ports: http (static files in www/, /sub/ chunked via sub_filter, /moved: return 301
    /target, /moved-path: the same with absolute_redirect off, /to-https: 301 to the https
    server), https (server.pem: localhost + 127.0.0.1), https_other (other.pem: other.example
    only), https_self (self-signed), https_sni (default server: other.pem; server_name
    localhost: server.pem). /sni on every https server answers $ssl_server_name.
    """

    def __init__(self, files):
        if not os.access(NGINX, os.X_OK):
            raise HarnessError("nginx not found at %s" % NGINX)
        self.tmp = tempfile.mkdtemp(prefix="sbnginx-")
        self.www = os.path.join(self.tmp, "www")
        os.makedirs(os.path.join(self.www, "sub"))
        for name, data in files.items():
            path = os.path.join(self.www, name)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "wb") as f:
                f.write(data)
        certdir = os.path.join(self.tmp, "certs")
        os.mkdir(certdir)
        self.certs = make_certs(certdir)
        self.proc = None
        self.ports = {}
        self.host = "127.0.0.1"

    def _conf(self):
        p = self.ports
        c = self.certs
        tmp = self.tmp
        user = ""
        if os.geteuid() == 0:
            user = "user %s;\n" % pwd.getpwuid(0).pw_name

        def tls(cert, key):
            return "ssl_certificate %s; ssl_certificate_key %s;" % (c[cert], c[key])

        sni_loc = 'location = /sni { default_type text/plain; return 200 "[$ssl_server_name]\\n"; }'
        return """\
%(user)sdaemon off;
master_process off;
worker_processes 1;
pid %(tmp)s/nginx.pid;
error_log %(tmp)s/error.log info;
events { worker_connections 256; }
http {
    access_log %(tmp)s/access.log;
    client_body_temp_path %(tmp)s/client_body;
    proxy_temp_path %(tmp)s/proxy;
    fastcgi_temp_path %(tmp)s/fastcgi;
    uwsgi_temp_path %(tmp)s/uwsgi;
    scgi_temp_path %(tmp)s/scgi;
    default_type application/octet-stream;
    types { text/plain txt; text/html html; }
    root %(www)s;
    server {
        listen 127.0.0.1:%(http)d;
        location /sub/ {
            sub_filter '%(token)s' '%(value)s';
            sub_filter_once off;
            sub_filter_types *;
        }
        location = /moved { return 301 /target; }
        location = /moved-path { absolute_redirect off; return 301 /target; }
        location = /to-https { return 301 https://127.0.0.1:%(https)d/target; }
    }
    server {
        listen 127.0.0.1:%(https)d ssl;
        %(tls_server)s
        location = /moved { return 301 /target; }
        %(sni)s
    }
    server {
        listen 127.0.0.1:%(https_other)d ssl;
        %(tls_other)s
    }
    server {
        listen 127.0.0.1:%(https_self)d ssl;
        %(tls_self)s
    }
    server {
        listen 127.0.0.1:%(https_sni)d ssl default_server;
        server_name other.example;
        %(tls_other)s
        %(sni)s
    }
    server {
        listen 127.0.0.1:%(https_sni)d ssl;
        server_name localhost;
        %(tls_server)s
        %(sni)s
    }
}
""" % dict(user=user, tmp=tmp, www=self.www, token=SUB_TOKEN.decode(),
           value=SUB_VALUE.decode(), sni=sni_loc,
           tls_server=tls("server.pem", "server.key"),
           tls_other=tls("other.pem", "other.key"),
           tls_self=tls("selfsigned.pem", "selfsigned.key"), **p)

    def start(self, attempts=3):
        """Start on free ports (picked again if nginx cannot bind one)."""
        for attempt in range(attempts):
            self.ports = {k: free_port() for k in
                          ("http", "https", "https_other", "https_self", "https_sni")}
            if len(set(self.ports.values())) < len(self.ports):
                continue
            conf = os.path.join(self.tmp, "nginx.conf")
            with open(conf, "w") as f:
                f.write(self._conf())
            self.log = open(os.path.join(self.tmp, "stderr.log"), "wb")
            self.proc = subprocess.Popen([NGINX, "-p", self.tmp + "/", "-c", conf,
                                          "-e", os.path.join(self.tmp, "error.log")],
                                         stdin=subprocess.DEVNULL, stdout=self.log,
                                         stderr=subprocess.STDOUT, start_new_session=True)
            try:
                for port in self.ports.values():
                    wait_connectable(self.host, port, timeout=t(10),
                                     alive=lambda: self.proc.poll() is None, what="nginx")
                return self
            except HarnessError:
                err = self.error_log()
                self.stop()
                if "Address already in use" in err and attempt + 1 < attempts:
                    continue
                raise HarnessError("nginx did not start:\n" + err[-3000:])
        raise HarnessError("nginx: could not find free ports")

    def error_log(self):
        text = ""
        for name in ("stderr.log", "error.log"):
            try:
                with open(os.path.join(self.tmp, name), "rb") as f:
                    text += f.read().decode("utf-8", "replace")
            except OSError:
                pass
        return text

    def url(self, path="/", port="http", host="127.0.0.1"):
        scheme = "http" if port == "http" else "https"
        return "%s://%s:%d%s" % (scheme, host, self.ports[port], path)

    def stop(self):
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.terminate()
                try:
                    self.proc.wait(t(10))
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait(t(10))
            self.proc = None
        if getattr(self, "log", None) is not None:
            self.log.close()
            self.log = None

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)
