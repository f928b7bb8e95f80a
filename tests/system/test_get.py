# SPDX-License-Identifier: MIT
"""System tests of `sb get URL` (HTTP/1.1 and HTTPS client) against real servers.

Servers (tests/system/httpd.py), all on loopback and ephemeral ports, all stopped at teardown:
Python's ThreadingHTTPServer in a thread (files, plus special responses written byte by byte),
a listening socket that never answers, and Debian's nginx (/usr/sbin/nginx, skipped when
absent) in the foreground with HTTP and HTTPS (certificates made by the `openssl` tool).

Every `sb` runs as a real process with a bounded timeout; a sanitizer report on its stderr
fails the test. Exit codes are curl's (see the spec).

SB_GET_CURL=/usr/bin/curl runs the same tests with curl instead of `sb get` (options
translated; the sb-only checks are skipped) to show that the servers and expectations are
right. A few expectations differ on purpose from curl (marked "sb only").
"""

import errno
import os
import pty
import random
import re
import select
import subprocess
import tempfile
import time
import tty

import pytest

from harness import CLIENT, HarnessError, free_port, ipv6_loopback_available, t
from httpd import (HEAD_BODY, HEAD_RESPONSE, NGINX, SLOW_BODY, SLOW_STALLED, SUB_TOKEN,
                   SUB_VALUE, HTTPServer, Nginx, SilentListener, raw_request, sub_text)

SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:")
CURL = os.environ.get("SB_GET_CURL")  # validation mode: run curl instead of `sb get`

BIG = random.Random(42).randbytes(3 * 1024 * 1024)  # a 3 MiB binary file
DATA = random.Random(7).randbytes(300 * 1024 + 17)  # body of /close and /chunked

sb_only = pytest.mark.skipif(bool(CURL), reason="checks what only sb does (validation mode)")


# ---------------------------------------------------------------------------------------------
# Running `sb get`


def _curl_args(args):
    """`sb get` options in curl's words (validation mode only)."""
    out = ["-s", "-S"]
    if ("-L" in args or "--location" in args) and "--max-redirs" not in args:
        out += ["--max-redirs", "10"]  # curl's default is 50, sb's 10
    for a in args:
        out.append({"-t": "-m", "--timeout": "-m", "-q": "-s", "--quiet": "-s"}.get(a, a))
    return out


def get(*args, timeout=None, stdout=None, cwd=None):
    """Run `sb get ARGS...` to completion (bounded). Returns CompletedProcess (bytes); with
    stdout= a file object, stdout goes there (out.stdout is then None)."""
    args = [str(a) for a in args]
    if CURL:
        argv = [CURL] + _curl_args(args)
    else:
        if not os.path.exists(CLIENT):
            raise HarnessError("client binary not found: %s (build it, or set SB_CLIENT)"
                               % CLIENT)
        argv = [CLIENT, "get"] + args
    env = dict(os.environ)
    env.setdefault("LC_ALL", "C.UTF-8")
    out = subprocess_run(argv, stdout, env, cwd, t(30) if timeout is None else timeout)
    check_sanitizer(out.stderr.decode("utf-8", "replace"), argv)
    return out


def subprocess_run(argv, stdout, env, cwd, timeout):
    return subprocess.run(argv, stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE if stdout is None else stdout,
                          stderr=subprocess.PIPE, env=env, cwd=cwd, start_new_session=True,
                          timeout=timeout)


def check_sanitizer(text, argv):
    for mark in SANITIZER_MARKS:
        assert mark not in text, "sanitizer report from %s:\n%s" % (" ".join(argv),
                                                                   text[-4000:])


def get_tty(*args, timeout=None):
    """Run `sb get ARGS...` with stderr on a pseudo-terminal (raw mode: the bytes arrive as
    written) and stdout to a temporary file. Everything is bounded: the terminal is read while
    sb runs, and sb is killed (it is in its own session) if it outlives the timeout.
    Returns (exit status, stdout bytes, terminal bytes)."""
    argv = [CLIENT, "get"] + [str(a) for a in args]
    if not os.path.exists(CLIENT):
        raise HarnessError("client binary not found: %s (build it, or set SB_CLIENT)" % CLIENT)
    env = dict(os.environ)
    env.setdefault("LC_ALL", "C.UTF-8")
    deadline = time.monotonic() + (t(30) if timeout is None else timeout)
    master, slave = pty.openpty()
    try:
        tty.setraw(slave)
        with tempfile.TemporaryFile() as outf:
            proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=outf, stderr=slave,
                                    env=env, start_new_session=True)
            os.close(slave)
            slave = -1
            term = b""
            try:
                while True:  # until EOF on the terminal: sb (its only other holder) is gone
                    left = deadline - time.monotonic()
                    if left <= 0:
                        raise HarnessError("sb get did not finish in time; terminal so far: %r"
                                           % term[-2000:])
                    ready, _, _ = select.select([master], [], [], min(left, 0.5))
                    if not ready:
                        continue
                    try:
                        data = os.read(master, 65536)
                    except OSError as e:
                        if e.errno != errno.EIO:  # Linux: EIO once the slave side is closed
                            raise
                        data = b""
                    if not data:
                        break
                    term += data
                rc = proc.wait(max(deadline - time.monotonic(), 0.1))
            finally:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait(t(10))
            outf.seek(0)
            stdout = outf.read()
    finally:
        os.close(master)
        if slave >= 0:
            os.close(slave)
    check_sanitizer(term.decode("utf-8", "replace"), argv)
    return rc, stdout, term


def desc(out):
    so = out.stdout
    if so is not None and len(so) > 300:
        so = so[:300] + b"...(%d bytes)" % len(so)
    return "exit %d, stdout %r, stderr %r" % (out.returncode, so, out.stderr[-2000:])


def ok(out):
    assert out.returncode == 0, desc(out)
    return out


def fails(out, code, empty_stdout=True):
    """Assert exit status `code`, one "sb: ..." line on stderr (sb only) and, by default,
    nothing on stdout."""
    assert out.returncode == code, "expected exit %d; %s" % (code, desc(out))
    if empty_stdout and out.stdout is not None:
        assert out.stdout == b"", desc(out)
    if not CURL:
        text = out.stderr.decode("utf-8", "replace")
        lines = text.splitlines()
        assert lines and all(line.startswith("sb: ") for line in lines), \
            "expected 'sb: ' error line(s) on stderr; %s" % desc(out)
    return out


# ---------------------------------------------------------------------------------------------
# Fixtures


@pytest.fixture(scope="module")
def docroot(tmp_path_factory):
    d = tmp_path_factory.mktemp("www")
    (d / "files").mkdir()
    (d / "files" / "big.bin").write_bytes(BIG)
    (d / "files" / "small.txt").write_bytes(b"hello, world\n")
    (d / "files" / "empty").write_bytes(b"")
    return str(d)


@pytest.fixture
def make_httpd(docroot):
    """make_httpd(host="127.0.0.1") -> a started httpd.HTTPServer, stopped at teardown."""
    servers = []

    def make(host="127.0.0.1"):
        s = HTTPServer(host, docroot, DATA)
        servers.append(s)
        return s

    yield make
    for s in servers:
        s.stop()


@pytest.fixture
def httpd(make_httpd):
    return make_httpd()


@pytest.fixture
def silent():
    s = SilentListener()
    yield s
    s.stop()


@pytest.fixture(scope="module")
def nginx():
    if not os.access(NGINX, os.X_OK):
        pytest.skip("nginx is not installed (%s): the nginx and HTTPS tests need it" % NGINX)
    n = Nginx({"file.bin": BIG, "target": b"this is the target\n",
               "sub/text.txt": sub_text(), "index.html": b"<p>index</p>\n"})
    try:
        n.start()
        yield n
        assert n.proc is not None and n.proc.poll() is None, \
            "nginx died during the tests:\n" + n.error_log()[-3000:]
    finally:
        n.cleanup()


# ---------------------------------------------------------------------------------------------
# Bodies: Content-Length, until close, chunked


def test_file_with_content_length_is_byte_exact(httpd):
    out = ok(get(httpd.url("/files/big.bin")))
    assert len(out.stdout) == len(BIG) and out.stdout == BIG
    if not CURL:
        assert out.stderr == b"", "no progress when stderr is not a terminal: %r" % out.stderr


def test_small_and_empty_files(httpd):
    assert ok(get(httpd.url("/files/small.txt"))).stdout == b"hello, world\n"
    assert ok(get(httpd.url("/files/empty"))).stdout == b""
    assert ok(get(httpd.url("/empty-body"))).stdout == b""


@pytest.mark.parametrize("version", ["1.0", "1.1"])
def test_body_until_close(httpd, version):
    out = ok(get(httpd.url("/close/" + version)))
    assert out.stdout == DATA


def test_chunked_odd_sizes_extensions_trailers(httpd):
    out = ok(get(httpd.url("/chunked")))
    assert len(out.stdout) == len(DATA) and out.stdout == DATA


def test_chunked_response_in_tiny_pieces(httpd):
    out = ok(get(httpd.url("/dribble")))
    assert out.stdout == DATA[:3000]


@pytest.mark.parametrize("path,body", [("/hold", b"held\n"), ("/hold-empty", b""),
                                       ("/no-content", b""), ("/not-modified", b"")])
def test_complete_response_does_not_wait_for_close(httpd, path, body):
    """The server keeps the connection open after a complete response (Content-Length, or a
    204): sb must finish at once, not wait for the close or the read timeout."""
    start = time.monotonic()
    out = ok(get("-t", 20, httpd.url(path), timeout=t(25)))
    assert out.stdout == body
    assert time.monotonic() - start < t(5), "sb waited for the server to close"


def test_interim_responses_skipped(httpd):
    assert ok(get(httpd.url("/interim"))).stdout == b"final\n"


def test_transfer_encoding_overrides_content_length(httpd):
    assert ok(get(httpd.url("/te-and-cl"))).stdout == b"chunks\n"


def test_field_names_case_insensitive(httpd):
    assert ok(get(httpd.url("/case/chunked"))).stdout == b"mixed case chunked\n"
    assert ok(get(httpd.url("/case/length"))).stdout == b"length\n"


# ---------------------------------------------------------------------------------------------
# The request


def request_headers(httpd, prefix):
    reqs = httpd.requests_for(prefix)
    assert len(reqs) == 1, reqs
    line, headers = reqs[0]
    return line, headers


def header_values(headers, name):
    return [v for k, v in headers if k.lower() == name.lower()]


def test_request_line_and_headers(httpd):
    ok(get(httpd.url("/rec/some/path?q=1&r=a%20b")))
    line, headers = request_headers(httpd, "/rec/")
    assert line == "GET /rec/some/path?q=1&r=a%20b HTTP/1.1"
    assert header_values(headers, "Host") == ["127.0.0.1:%d" % httpd.port]
    if not CURL:
        assert header_values(headers, "Connection") == ["close"], headers
        assert header_values(headers, "Accept") == ["*/*"], headers
        ua = header_values(headers, "User-Agent")
        assert len(ua) == 1 and re.fullmatch(r"sb/\S+", ua[0]), headers


def test_request_without_path_and_with_fragment(httpd):
    ok(get("http://127.0.0.1:%d" % httpd.port))
    ok(get("http://127.0.0.1:%d/rec/frag?x#fragment" % httpd.port))
    lines = [r[0] for r in httpd.requests]
    assert lines == ["GET / HTTP/1.1", "GET /rec/frag?x HTTP/1.1"]


def test_ipv6_host_header(make_httpd):
    if not ipv6_loopback_available():
        pytest.skip("no IPv6 loopback (::1)")
    s = make_httpd("::1")
    out = ok(get("http://[::1]:%d/rec/v6?x" % s.port))
    assert out.stdout == b"ok\n"
    line, headers = request_headers(s, "/rec/")
    assert line == "GET /rec/v6?x HTTP/1.1"
    assert header_values(headers, "Host") == ["[::1]:%d" % s.port]
    assert ok(get("http://[::1]:%d/files/big.bin" % s.port)).stdout == BIG


# ---------------------------------------------------------------------------------------------
# Options: -i, -o, -f, -v


def test_include_prints_head_as_received(httpd):
    out = ok(get("-i", httpd.url("/head")))
    assert out.stdout == HEAD_RESPONSE + HEAD_BODY


def test_include_with_location_prints_every_head(httpd):
    out = ok(get("-i", "-L", httpd.url("/chain/1")))
    heads = out.stdout.split(b"\r\n\r\n")
    assert out.stdout.startswith(b"HTTP/1.1 302 Found\r\n"), out.stdout
    assert b"\r\nLocation: /chain/0\r\n" in heads[0]
    assert heads[1].startswith(b"HTTP/1.1 200 OK\r\n"), out.stdout
    assert heads[2] == b"end of chain\n", "the redirect's own body must not be output: %r" \
        % out.stdout
    assert b"redirect body" not in out.stdout


def test_output_file(httpd, tmp_path):
    dest = tmp_path / "out.bin"
    dest.write_bytes(b"old content that is longer than nothing" * 1000)
    out = ok(get("-o", dest, httpd.url("/files/big.bin")))
    assert out.stdout == b""
    assert dest.read_bytes() == BIG
    out = ok(get("--output", dest, httpd.url("/files/small.txt")))
    assert out.stdout == b"" and dest.read_bytes() == b"hello, world\n", "not truncated"


def test_output_file_cannot_be_written(httpd, tmp_path):
    fails(get("-o", tmp_path / "no" / "such" / "dir" / "file", httpd.url("/files/small.txt")),
          23)
    fails(get("-o", tmp_path, httpd.url("/files/small.txt")), 23)


def test_stdout_cannot_be_written(httpd):
    with open("/dev/full", "wb") as full:
        out = get(httpd.url("/files/big.bin"), stdout=full)
    fails(out, 23)


def test_404_without_fail_prints_body(httpd):
    out = ok(get(httpd.url("/status/404")))
    assert out.stdout == b"error page 404\n"


@pytest.mark.parametrize("code,reason", [(404, "Not Found"), (500, "Internal Server Error")])
def test_fail_on_http_error(httpd, code, reason):
    out = fails(get("-f", httpd.url("/status/%d" % code)), 22)
    if not CURL:
        assert out.stderr.decode() == "sb: HTTP %d %s\n" % (code, reason), desc(out)
    fails(get("--fail", httpd.url("/status/%d" % code)), 22)


def test_fail_with_success_and_redirect(httpd):
    assert ok(get("-f", httpd.url("/files/small.txt"))).stdout == b"hello, world\n"
    assert ok(get("-f", httpd.url("/r/302/path"))).stdout == b"redirect body 302\n"


def test_fail_with_output_file_writes_nothing(httpd, tmp_path):
    dest = tmp_path / "x"
    fails(get("-f", "-o", dest, httpd.url("/status/404")), 22)
    assert not dest.exists(), "left a file behind: %r" % dest.read_bytes()[:300]


def test_output_file_not_created_when_the_request_fails(httpd, silent, tmp_path):
    """-o FILE is created on the first byte of the body: a request that fails before it leaves
    no file behind, whatever the failure."""
    refused = "http://127.0.0.1:%d/x" % free_port()
    cases = [
        (7, [refused]),                                            # connection refused
        (28, ["-t", 1, silent.url("/x")]),                         # no answer at all
        (28, ["-t", 1, httpd.url("/stall-head")]),                 # stalls inside the head
        (52, [httpd.url("/empty")]),                               # closes without a byte
        (56, [httpd.url("/reset")]),                               # resets the connection
        (8, [httpd.url("/malformed/garbage")]),                    # not HTTP
        (22, ["-f", httpd.url("/status/404")]),                    # -f and 404
        (22, ["--fail", httpd.url("/status/500")]),                # -f and 500
        (47, ["-L", httpd.url("/chain/11")]),                      # too many redirects
        (47, ["-L", "--max-redirs", 50, httpd.url("/loop/a")]),    # a redirect loop
    ]
    for i, (code, args) in enumerate(cases):
        if CURL and code == 8:
            continue  # curl takes the garbage for HTTP/0.9
        dest = tmp_path / ("out%d" % i)
        fails(get("-o", dest, *args, timeout=t(15)), code)
        assert not dest.exists(), "sb get -o %s %s (exit %d) left a file behind: %r" % (
            dest, " ".join(str(a) for a in args), code, dest.read_bytes()[:200])


@sb_only
def test_fail_with_include_writes_nothing(httpd, tmp_path):
    """README: with -f, an HTTP error of 400 or more writes nothing, and -o FILE is created on
    the first byte, so a failed request leaves no file: not even the head with -i (sb only:
    curl 7.88 writes the head with -f -i)."""
    out = fails(get("-f", "-i", httpd.url("/status/404")), 22)
    assert out.stderr == b"sb: HTTP 404 Not Found\n", desc(out)
    dest = tmp_path / "x"
    fails(get("-f", "-i", "-o", dest, httpd.url("/status/404")), 22)
    assert not dest.exists(), "left a file behind: %r" % dest.read_bytes()[:300]


@pytest.mark.parametrize("path", ["/empty-body", "/files/empty", "/hold-empty", "/no-content"])
def test_output_file_for_an_empty_body_is_created_empty(httpd, tmp_path, path):
    """A successful request with an empty body (Content-Length: 0, an empty file, a 204)
    creates FILE empty, and truncates a FILE that was there."""
    dest = tmp_path / "new"
    out = ok(get("-o", dest, httpd.url(path)))
    assert out.stdout == b""
    assert dest.exists(), "no file created for an empty body"
    assert dest.read_bytes() == b""
    old = tmp_path / "old"
    old.write_bytes(b"previous content\n" * 100)
    ok(get("-o", old, httpd.url(path)))
    assert old.read_bytes() == b"", "the existing file was not truncated"


@sb_only
def test_verbose_shows_request(httpd):
    out = ok(get("-v", httpd.url("/rec/verbose")))
    assert out.stdout == b"ok\n"
    assert b"GET /rec/verbose HTTP/1.1" in out.stderr, out.stderr


def test_quiet(httpd):
    out = ok(get("-q", httpd.url("/files/small.txt")))
    assert out.stdout == b"hello, world\n"
    if not CURL:
        assert out.stderr == b""


# ---------------------------------------------------------------------------------------------
# The progress line: stderr on a pseudo-terminal, a download of about 1.8 s (/slow/...)

CLEAR = b"\r\033[K"
SIZE = rb"(?:\d+ B|\d+\.\d KiB|\d+\.\d MiB|\d+\.\d\d GiB)"
LINE_WITH_TOTAL = re.compile(rb"(%s) of 2\.0 MiB +(\d+)%%  %s/s" % (SIZE, SIZE))
LINE_WITHOUT_TOTAL = re.compile(rb"(%s)  %s/s" % (SIZE, SIZE))


def mib(size):
    num, unit = size.split(b" ")
    return float(num) * {b"B": 1, b"KiB": 1024, b"MiB": 1024 ** 2, b"GiB": 1024 ** 3}[unit]


def progress_lines(term, known_length):
    """Check what sb drew on the terminal around a successful slow download: only progress
    lines, each drawn over the previous one (\r ESC[K, no newline), and the last one erased at
    the end. Returns the lines."""
    assert term.startswith(CLEAR), "no progress line on the terminal: %r" % term[:300]
    assert term.endswith(CLEAR), "progress line not erased at the end: %r" % term[-300:]
    assert b"\n" not in term, term
    lines = term.split(CLEAR)[1:-1]
    assert len(lines) >= 2, "the progress line was not refreshed: %r" % term
    pattern = LINE_WITH_TOTAL if known_length else LINE_WITHOUT_TOTAL
    done = []
    for line in lines:
        m = pattern.fullmatch(line)
        assert m, "unexpected progress line %r (all: %r)" % (line, lines)
        done.append(mib(m.group(1)))
        if known_length:
            pct = int(m.group(2))
            assert 0 <= pct <= 100, line
            # done is shown to 0.1 MiB (0.1 KiB below 1 MiB), the percentage to 1%
            assert abs(pct - 100 * done[-1] / len(SLOW_BODY)) <= 1 + 100 * 0.05 * 2 ** 20 \
                / len(SLOW_BODY), line
    assert done == sorted(done), "progress went backwards: %r" % lines
    assert 0 < done[-1] <= len(SLOW_BODY), lines
    return lines


@sb_only
@pytest.mark.parametrize("framing", ["length", "close", "chunked"])
def test_progress_line_on_a_terminal(httpd, framing):
    rc, stdout, term = get_tty(httpd.url("/slow/" + framing))
    assert rc == 0, "exit %d, terminal %r" % (rc, term[-2000:])
    assert stdout == SLOW_BODY, "body not byte-exact (%d bytes)" % len(stdout)
    lines = progress_lines(term, framing == "length")
    if framing == "length":
        assert all(b" of " in line and b"%" in line and b"/s" in line for line in lines)
    else:
        assert all(b" of " not in line and b"%" not in line and b"/s" in line
                   for line in lines)


@sb_only
def test_progress_line_with_output_file(httpd, tmp_path):
    dest = tmp_path / "slow.bin"
    rc, stdout, term = get_tty("-o", dest, httpd.url("/slow/length"))
    assert rc == 0, "exit %d, terminal %r" % (rc, term[-2000:])
    assert stdout == b""
    assert dest.read_bytes() == SLOW_BODY
    progress_lines(term, True)


@sb_only
def test_quiet_on_a_terminal_shows_no_progress(httpd):
    rc, stdout, term = get_tty("-q", httpd.url("/slow/length"))
    assert rc == 0, "exit %d, terminal %r" % (rc, term[-2000:])
    assert stdout == SLOW_BODY
    assert term == b"", "output on the terminal with -q: %r" % term[:500]


@sb_only
def test_short_download_on_a_terminal_shows_no_progress(httpd):
    rc, stdout, term = get_tty(httpd.url("/files/small.txt"))
    assert rc == 0 and stdout == b"hello, world\n", (rc, stdout, term)
    assert term == b"", "progress line within the first second: %r" % term


def test_no_progress_when_stderr_is_not_a_terminal(httpd):
    out = ok(get(httpd.url("/slow/length")))
    assert out.stdout == SLOW_BODY
    if not CURL:
        assert out.stderr == b"", "output on stderr (a pipe): %r" % out.stderr[:500]


@sb_only
def test_slow_but_steady_download_is_not_a_timeout(httpd):
    """-t bounds each wait for data, not the whole transfer (sb only: curl's -m is a limit on
    the whole transfer)."""
    out = ok(get("-t", 1, httpd.url("/slow/chunked"), timeout=t(20)))
    assert out.stdout == SLOW_BODY


@sb_only
def test_progress_line_erased_before_an_error(httpd):
    """The server stalls after more than a second of a long download (-t 1): the progress line
    is erased before the error, which must not be glued to it on the terminal."""
    rc, stdout, term = get_tty("-t", 1, httpd.url("/slow/length/stall"), timeout=t(20))
    assert rc == 28, "exit %d, terminal %r" % (rc, term[-2000:])
    assert stdout == SLOW_STALLED, "%d bytes on stdout" % len(stdout)
    assert term.count(b"sb: ") == 1, term
    before, _, after = term.partition(b"sb: ")
    assert after.startswith(b"no data for 1.0s\n"), term
    assert b"/s" not in after, "a progress line after the error: %r" % term[-300:]
    assert LINE_WITH_TOTAL.search(before), "no progress line before the stall: %r" % term
    assert before.endswith(CLEAR) or before.endswith(b"\n"), \
        "the error is written on the same line as the progress: %r" % term[-300:]


@sb_only
def test_quiet_error_on_a_terminal(httpd):
    rc, stdout, term = get_tty("-q", "-t", 1, httpd.url("/slow/length/stall"), timeout=t(20))
    assert rc == 28, "exit %d, terminal %r" % (rc, term[-2000:])
    assert term == b"sb: no data for 1.0s\n", term
    assert stdout == SLOW_STALLED, "%d bytes on stdout" % len(stdout)


# ---------------------------------------------------------------------------------------------
# Redirects


CODES = [301, 302, 303, 307, 308]


@pytest.mark.parametrize("code", CODES)
@pytest.mark.parametrize("kind,final", [("abs", b"final /final/%d/abs\n"),
                                        ("path", b"final /final/%d/path\n"),
                                        ("rel", b"target of %d\n"),
                                        ("dots", b"final /final/%d/dots?x=1\n"),
                                        ("net", b"final /final/%d/net\n"),
                                        ("query", b"query target of %d\n")])
def test_redirect_followed(httpd, code, kind, final):
    out = ok(get("-L", httpd.url("/r/%d/%s" % (code, kind))))
    assert out.stdout == final % code
    lines = [r[0] for r in httpd.requests]
    assert len(lines) == 2 and lines[0] == "GET /r/%d/%s HTTP/1.1" % (code, kind), lines
    assert lines[1].startswith("GET /"), lines


@pytest.mark.parametrize("code", CODES)
def test_redirect_not_followed_without_location_option(httpd, code):
    out = ok(get(httpd.url("/r/%d/abs" % code)))
    assert out.stdout == b"redirect body %d\n" % code
    assert len(httpd.requests) == 1


def test_redirect_to_other_server_sets_its_host(make_httpd):
    a = make_httpd()
    b = make_httpd()
    out = ok(get("--location", a.url("/goto?" + b.url("/rec/arrived"))))
    assert out.stdout == b"ok\n"
    line, headers = request_headers(b, "/rec/")
    assert line == "GET /rec/arrived HTTP/1.1"
    assert header_values(headers, "Host") == [b.authority]


def test_3xx_without_location_is_output(httpd):
    out = ok(get("-L", httpd.url("/nolocation")))
    assert out.stdout == b"moved, but where?\n"


def test_ten_redirects_is_the_default_limit(httpd):
    assert ok(get("-L", httpd.url("/chain/10"))).stdout == b"end of chain\n"


def test_eleven_redirects_too_many(httpd):
    fails(get("-L", httpd.url("/chain/11")), 47)
    out = ok(get("-L", "--max-redirs", 20, httpd.url("/chain/11")))
    assert out.stdout == b"end of chain\n"


def test_max_redirs_zero(httpd):
    fails(get("-L", "--max-redirs", 0, httpd.url("/chain/1")), 47)
    assert ok(get("-L", "--max-redirs", 0, httpd.url("/chain/0"))).stdout == b"end of chain\n"


def test_redirect_loop(httpd):
    fails(get("-L", "--max-redirs", 50, httpd.url("/loop/a")), 47)
    if not CURL:  # revisiting a URL is a loop: no need to go around 50 times
        assert len(httpd.requests) <= 3, [r[0] for r in httpd.requests]


# ---------------------------------------------------------------------------------------------
# Broken servers


def test_truncated_body(httpd):
    out = get(httpd.url("/truncated"))
    assert out.returncode == 18, desc(out)
    assert out.stdout in (b"", b"0123456789"), desc(out)


def test_truncated_chunked_body(httpd):
    out = get(httpd.url("/truncated-chunked"))
    assert out.returncode == 18, desc(out)


@pytest.mark.parametrize("what", ["garbage", "version", "status", "length", "chunk",
                                  "hugechunk", "negative", "conflict"])
def test_malformed_response(httpd, what):
    if CURL and what in ("garbage", "version", "status", "chunk", "hugechunk", "conflict"):
        pytest.skip("curl answers %s differently (HTTP/0.9: 1, bad code: 1, chunk errors: 56, "
                    "conflicting lengths: takes the last); sb only" % what)
    out = get(httpd.url("/malformed/" + what))
    assert out.returncode == 8, desc(out)


def test_empty_reply(httpd):
    fails(get(httpd.url("/empty")), 52)


def test_connection_reset(httpd):
    fails(get(httpd.url("/reset")), 56)


def test_server_never_answers(silent):
    start = time.monotonic()
    fails(get("-t", 1, silent.url("/x"), timeout=t(15)), 28)
    assert time.monotonic() - start < t(5)


def test_tls_handshake_never_answered(silent):
    start = time.monotonic()
    url = silent.url("/x").replace("http:", "https:")
    fails(get("--connect-timeout", 1, "-t", 1, url, timeout=t(15)), 28)
    assert time.monotonic() - start < t(5)


def test_server_stalls_in_the_body(httpd):
    start = time.monotonic()
    out = get("-t", 1, httpd.url("/stall"), timeout=t(15))
    assert out.returncode == 28, desc(out)
    assert time.monotonic() - start < t(5)


STALLS = {
    "/stall-head": b"",  # inside the head
    "/stall-after-head": b"",  # after the head, before the first byte of the body
    "/stall-chunked": b"hello0123456789",  # inside a chunk
    "/stall-close": b"y" * 1000,  # a body until close, the server neither sends nor closes
}  # and /stall (Content-Length) above; /slow/length/stall: with the progress line, above


@pytest.mark.parametrize("path", list(STALLS))
def test_server_stalls_timeout(httpd, path):
    partial = STALLS[path]
    start = time.monotonic()
    out = fails(get("-t", 1, httpd.url(path), timeout=t(15)), 28, empty_stdout=False)
    assert time.monotonic() - start < t(5)
    assert partial.startswith(out.stdout), desc(out)
    if not CURL:
        assert out.stdout == partial, desc(out)
        assert out.stderr == b"sb: no data for 1.0s\n", desc(out)


# ---------------------------------------------------------------------------------------------
# Exit codes without a server


def test_unknown_host():
    fails(get("--connect-timeout", 5, "http://nonexistent.invalid/"), 6)


def test_connection_refused():
    port = free_port()
    fails(get("http://127.0.0.1:%d/" % port), 7)


@pytest.mark.parametrize("url", ["ftp://x/", "http://", "http://host:99999/",
                                 "https://", "http://[::1/"])
def test_bad_url(url):
    if CURL and url.startswith("ftp"):
        pytest.skip("curl supports ftp")
    fails(get(url), 3)


@sb_only
def test_usage():
    fails(get(), 2)
    fails(get("--no-such-option", "http://127.0.0.1:1/"), 2)
    fails(get("-t", "abc", "http://127.0.0.1:1/"), 2)
    fails(get("-o"), 2)


@sb_only
def test_help():
    out = ok(get("--help"))
    assert b"get" in out.stdout + out.stderr


# ---------------------------------------------------------------------------------------------
# nginx: HTTP


def test_nginx_static_file(nginx):
    out = ok(get(nginx.url("/file.bin")))
    assert out.stdout == BIG


def test_nginx_chunked(nginx):
    # First make sure nginx really answers this location chunked (no Content-Length).
    raw = raw_request(nginx.host, nginx.ports["http"],
                      b"GET /sub/text.txt HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                      b"Connection: close\r\n\r\n")
    head = raw.split(b"\r\n\r\n", 1)[0].lower()
    assert b"\r\ntransfer-encoding: chunked" in head and b"content-length" not in head, head
    expected = sub_text().replace(SUB_TOKEN, SUB_VALUE)
    out = ok(get(nginx.url("/sub/text.txt")))
    assert len(out.stdout) == len(expected) and out.stdout == expected


def test_nginx_redirect(nginx):
    out = ok(get(nginx.url("/moved")))
    assert b"301" in out.stdout
    out = ok(get("-i", nginx.url("/moved")))
    assert out.stdout.startswith(b"HTTP/1.1 301 Moved Permanently\r\n"), out.stdout
    assert re.search(rb"\r\nLocation: http://127\.0\.0\.1:%d/target\r\n" % nginx.ports["http"],
                     out.stdout), out.stdout
    assert ok(get("-L", nginx.url("/moved"))).stdout == b"this is the target\n"
    assert ok(get("-L", nginx.url("/moved-path"))).stdout == b"this is the target\n"


def test_nginx_404(nginx):
    out = ok(get(nginx.url("/missing")))
    assert b"404 Not Found" in out.stdout
    out = fails(get("-f", nginx.url("/missing")), 22)
    if not CURL:
        assert out.stderr == b"sb: HTTP 404 Not Found\n", desc(out)


# ---------------------------------------------------------------------------------------------
# nginx: HTTPS


def test_https_by_ip(nginx):
    out = ok(get("--cacert", nginx.certs["ca.pem"], nginx.url("/file.bin", "https")))
    assert out.stdout == BIG


def test_https_by_name(nginx):
    out = ok(get("--cacert", nginx.certs["ca.pem"], nginx.url("/", "https", "localhost")))
    assert out.stdout == b"<p>index</p>\n"


def test_https_sends_sni_for_names_only(nginx):
    ca = nginx.certs["ca.pem"]
    # The default server on this port has the other.example certificate: only a client that
    # sends SNI "localhost" gets the right one.
    out = ok(get("--cacert", ca, nginx.url("/sni", "https_sni", "localhost")))
    assert out.stdout == b"[localhost]\n"
    out = ok(get("--cacert", ca, nginx.url("/sni", "https", "127.0.0.1")))
    assert out.stdout == b"[]\n", "no SNI for an IP address"
    fails(get("--cacert", ca, nginx.url("/sni", "https_sni", "127.0.0.1")), 60)


def test_https_redirects(nginx):
    ca = nginx.certs["ca.pem"]
    out = ok(get("-L", "--cacert", ca, nginx.url("/moved", "https")))
    assert out.stdout == b"this is the target\n"
    out = ok(get("-L", "--cacert", ca, nginx.url("/to-https")))
    assert out.stdout == b"this is the target\n"


def test_https_without_cacert_is_untrusted(nginx):
    fails(get(nginx.url("/file.bin", "https")), 60)
    fails(get(nginx.url("/", "https", "localhost")), 60)


def test_https_wrong_name(nginx):
    ca = nginx.certs["ca.pem"]
    fails(get("--cacert", ca, nginx.url("/", "https_other")), 60)
    fails(get("--cacert", ca, nginx.url("/", "https_other", "localhost")), 60)


def test_https_self_signed_not_trusted(nginx):
    fails(get("--cacert", nginx.certs["ca.pem"], nginx.url("/", "https_self")), 60)


def test_https_cacert_unreadable(nginx, tmp_path):
    out = get("--cacert", tmp_path / "missing.pem", nginx.url("/", "https"))
    assert out.returncode != 0 and out.stdout == b"", desc(out)


def test_plain_http_to_https_port(nginx):
    # nginx answers a plain request on its TLS port with a real HTTP 400 response.
    url = "http://127.0.0.1:%d/" % nginx.ports["https"]
    out = ok(get(url))
    assert b"The plain HTTP request was sent to HTTPS port" in out.stdout, desc(out)
    fails(get("-f", url), 22)


def test_https_to_plain_http_port(nginx):
    fails(get("--cacert", nginx.certs["ca.pem"],
              "https://127.0.0.1:%d/" % nginx.ports["http"]), 35)


def test_https_to_python_http_server(httpd):
    # Python's http.server gets a TLS ClientHello: it answers 400 (not TLS) and closes.
    out = get("https://127.0.0.1:%d/" % httpd.port)
    fails(out, 35)
