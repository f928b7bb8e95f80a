# SPDX-License-Identifier: MIT
"""System tests of `sb words`, the client of the word-frequency service (docs/wordfreq.md).

Most tests run it against the real daemon with a small tab-separated data file, over TCP and a
UNIX socket. What the daemon never does (close in the middle of an answer, send a line without
its end, answer nothing, answer a request it was not sent) comes from FakeWords, a server in a
thread that speaks the protocol and misbehaves on request. Every wait is bounded and scaled
with t() (SB_SANITIZED=1: x4).
"""

import math
import os
import re
import socket
import subprocess
import threading
import time

import pytest

from harness import CLIENT, HarnessError, free_port, ipv6_loopback_available, one_error_line, t

SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:")
LINE_MAX = 65536  # the service's max_line: longest request line, CR LF excluded

needs_ipv6 = pytest.mark.skipif(not ipv6_loopback_available(), reason="no IPv6 loopback")

# The data file of the real daemon, and what the answers must be (docs/wordfreq.md: per_million
# is count / total * 1e6 printed with %.6g, zipf is log10(per_million) + 3 with three decimals).
DATA = {
    "the": 1501908,
    "of": 700000,
    "cat": 12000,
    "What": 900,  # "What" and "what" fold to one word: their counts are summed
    "what": 100,
    "zymurgy": 1,
    "Straße": 7,  # folds to "strasse"
    "ERR": 3,  # a word that looks like the start of an error answer
}
TOTAL = sum(DATA.values())


def folded_count(word):
    return sum(c for w, c in DATA.items() if w.casefold() == word.casefold())


def freq_fields(count):
    if count == 0:
        return "0 0 0.000"
    pm = count / TOTAL * 1e6
    return "%d %.6g %.3f" % (count, pm, math.log10(pm) + 3)


def freq_line(word):
    return "%s %s\n" % (word, freq_fields(folded_count(word)))


# ---------------------------------------------------------------------------------------------
# Running sb words


def check_sanitizer(stderr, what):
    text = stderr.decode("utf-8", "replace")
    for mark in SANITIZER_MARKS:
        assert mark not in text, "sanitizer report from %s:\n%s" % (what, text[-4000:])


def sb_words(*args, input=b"", timeout=None, env=None, stdout=subprocess.PIPE, cwd=None):
    """Run `sb words ARGS...` to completion (bounded); bytes in and out. SB_WORDS_SERVER is
    removed from the environment unless env sets it."""
    if not os.path.exists(CLIENT):
        raise HarnessError("client binary not found: %s (build it, or set SB_CLIENT)" % CLIENT)
    e = {k: v for k, v in os.environ.items() if k != "SB_WORDS_SERVER"}
    e.update(env or {})
    if isinstance(input, str):
        input = input.encode()
    out = subprocess.run([CLIENT, "words"] + [str(a) for a in args], input=input,
                         stdout=stdout, stderr=subprocess.PIPE, env=e, cwd=cwd,
                         start_new_session=True, timeout=t(60) if timeout is None else timeout)
    check_sanitizer(out.stderr, "sb words %s" % " ".join(str(a) for a in args))
    return out


def assert_ok(out, expected):
    assert out.returncode == 0, (out.returncode, out.stderr)
    assert out.stderr == b"", out.stderr
    assert out.stdout.decode() == expected


def error_lines(out):
    return out.stderr.decode("utf-8", "replace").splitlines()


# ---------------------------------------------------------------------------------------------
# A fake word-frequency server


def _rare_words(text):
    """The distinct maximal runs of letters of text, in order of first appearance."""
    seen, out = set(), []
    for w in re.findall(r"[^\W\d_]+", text):
        if w.casefold() not in seen:
            seen.add(w.casefold())
            out.append(w)
    return out


def fake_answer(line):
    """The answer of a well-behaved server to one request line (bytes, no line end), as bytes;
    None for QUIT (close)."""
    args = line.decode("utf-8", "replace").replace("\t", " ").split()
    if not args:
        return b""
    cmd, rest = args[0].upper(), args[1:]
    if cmd == "FREQ":
        if not rest:
            return b"ERR FREQ needs at least one word\n"
        return "".join(freq_line(w) for w in rest).encode()
    if cmd == "AVG":
        if not rest:
            return b"ERR AVG needs at least one word\n"
        mean = sum(folded_count(w) for w in rest) / len(rest)
        pm = mean / TOTAL * 1e6
        return ("%.2f %.6g %.3f\n" % (mean, pm, math.log10(pm) + 3 if pm else 0)).encode()
    if cmd == "RARE":
        try:
            threshold = float(rest[0])
        except (IndexError, ValueError):
            return b"ERR RARE needs a Zipf threshold and text\n"
        text = line.decode().split(None, 2)[2] if len(rest) > 1 else ""
        rare = [w for w in _rare_words(text)
                if float(freq_fields(folded_count(w)).split()[2]) < threshold]
        return "".join(freq_line(w) for w in rare).encode() + b"\n"
    if cmd == "STATS":
        return b"words=%d total=%d format=tsv\n" % (len(DATA), TOTAL)
    if cmd == "QUIT":
        return None
    return b'ERR unknown command "%s" (FREQ, AVG, RARE, STATS, QUIT)\n' % args[0].encode()


class FakeWords:
    """A word-frequency server in a thread, on TCP (127.0.0.1) or a UNIX socket (path).

    Each connection is served by handler(conn, server); the default handler, serve(), answers
    like the service. .received collects every byte received, over all connections.
    """

    def __init__(self, handler=None, path=None):
        self.handler = handler or serve
        self.received = b""
        self.lock = threading.Lock()
        if path:
            self.ls = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.ls.bind(path)
            self.address = "unix:" + path
        else:
            self.ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            self.ls.bind(("127.0.0.1", 0))
            self.address = "127.0.0.1:%d" % self.ls.getsockname()[1]
        self.ls.listen(8)
        self.ls.settimeout(0.1)
        self._stop = False
        self.threads = []
        self.th = threading.Thread(target=self._accept, daemon=True)
        self.th.start()

    def _accept(self):
        while not self._stop:
            try:
                conn, _ = self.ls.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            th = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            th.start()
            self.threads.append(th)

    def _serve(self, conn):
        with conn:
            conn.settimeout(t(30))
            try:
                self.handler(conn, self)
                # Close in order, and only once the client has (closing with unread requests
                # would send a reset instead, which can overtake the last answers).
                conn.shutdown(socket.SHUT_WR)
                while conn.recv(65536):
                    pass
            except OSError:
                pass

    def lines(self, conn):
        """The request lines of conn, as they arrive (without line ends), recorded."""
        buf = b""
        while True:
            nl = buf.find(b"\n")
            if nl >= 0:
                line, buf = buf[:nl], buf[nl + 1:]
                yield line[:-1] if line.endswith(b"\r") else line
                continue
            chunk = conn.recv(65536)
            if not chunk:
                return
            with self.lock:
                self.received += chunk
            buf += chunk

    def close(self):
        self._stop = True
        self.th.join(t(5))
        self.ls.close()
        for th in self.threads:
            th.join(t(30))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def serve(conn, srv):
    """The default handler: every request answered in order (QUIT closes)."""
    for line in srv.lines(conn):
        if not line.strip(b" \t"):
            continue
        answer = fake_answer(line)
        if answer is None:
            return
        conn.sendall(answer)


# ---------------------------------------------------------------------------------------------
# The real daemon


def write_data(path, data=None):
    with open(path, "w", encoding="utf-8") as f:
        for w, c in (data or DATA).items():
            f.write("%s\t%d\n" % (w, c))


@pytest.fixture
def wordfreq(make_daemon, tmp_path):
    """A daemon serving [wordfreq] on 127.0.0.1:0 and a UNIX socket, with DATA."""
    data = os.path.join(str(tmp_path), "words.tsv")
    write_data(data)
    return make_daemon({"wordfreq": {"listen": "127.0.0.1:0, unix:{tmp}/wf.sock",
                                     "file": data}}, directory=False)


def tcp(d):
    return "%s:%d" % d.addr("wordfreq")


def unix(d):
    return "unix:" + d.addr("wordfreq", "unix")


def test_freq(wordfreq):
    out = sb_words("-s", tcp(wordfreq), "FREQ", "the", "zymurgy", "Xyzzy")
    assert_ok(out, freq_line("the") + freq_line("zymurgy") + "Xyzzy 0 0 0.000\n")


def test_freq_folds_case_and_sums_variants(wordfreq):
    out = sb_words("-s", tcp(wordfreq), "freq", "WHAT", "what", "STRASSE", "straße")
    assert_ok(out, "WHAT %s\nwhat %s\nSTRASSE %s\nstraße %s\n"
              % ((freq_fields(1000),) * 2 + (freq_fields(7),) * 2))


def test_freq_of_the_word_err_is_not_an_error(wordfreq):
    """"FREQ ERR" is answered "ERR 3 ..." : a word line, not an error answer."""
    out = sb_words("-s", tcp(wordfreq), "FREQ", "ERR", "the")
    assert_ok(out, freq_line("ERR") + freq_line("the"))
    out = sb_words("-s", tcp(wordfreq), "RARE", "7", "ERR, the cat")
    assert_ok(out, freq_line("ERR") + freq_line("cat"))


def test_avg(wordfreq):
    out = sb_words("-s", tcp(wordfreq), "AVG", "the", "zymurgy")
    mean = (DATA["the"] + 1) / 2
    pm = mean / TOTAL * 1e6
    assert_ok(out, "%.2f %.6g %.3f\n" % (mean, pm, math.log10(pm) + 3))


def test_avg_of_unknown_words_is_zero(wordfreq):
    assert_ok(sb_words("-s", tcp(wordfreq), "avg", "xyzzy", "plugh"), "0.00 0 0.000\n")


def test_rare_prints_the_words_without_the_empty_line(wordfreq):
    out = sb_words("-s", tcp(wordfreq), "RARE", "5", "The zymurgy of Lagers, the ZYMURGY")
    assert_ok(out, freq_line("zymurgy") + "Lagers 0 0 0.000\n")


def test_rare_with_no_rare_word_prints_nothing(wordfreq):
    assert_ok(sb_words("-s", tcp(wordfreq), "RARE", "2", "the of the"), "")


def test_rare_text_with_newlines_in_the_argument(wordfreq):
    """A request is one line: line ends inside an argument are sent as spaces."""
    out = sb_words("-s", tcp(wordfreq), "RARE", "5", "zymurgy\nLagers\r\nthe")
    assert_ok(out, freq_line("zymurgy") + "Lagers 0 0 0.000\n")
    out = sb_words("-s", tcp(wordfreq), "FREQ", "the\ncat")
    assert_ok(out, freq_line("the") + freq_line("cat"))


def test_stats(wordfreq):
    out = sb_words("-s", tcp(wordfreq), "STATS")
    assert out.returncode == 0, out
    line = out.stdout.decode()
    assert line.endswith("\n") and line.count("\n") == 1, line
    fields = dict(f.split("=", 1) for f in line.split())
    assert fields["words"] == str(len({w.casefold() for w in DATA})), line
    assert fields["total"] == str(TOTAL), line
    assert fields["format"] == "tsv", line
    for key in ("load_seconds", "memory", "reloads", "loaded", "threads"):
        assert key in fields, (key, line)


def test_over_the_unix_socket(wordfreq):
    out = sb_words("-s", unix(wordfreq), "FREQ", "cat")
    assert_ok(out, freq_line("cat"))
    # A relative path, from the daemon's directory.
    out = sb_words("-s", "unix:wf.sock", "STATS", cwd=wordfreq.tmp)
    assert out.returncode == 0 and out.stdout.startswith(b"words="), out


def test_server_from_the_environment(wordfreq):
    out = sb_words("AVG", "cat", env={"SB_WORDS_SERVER": unix(wordfreq)})
    assert out.returncode == 0, out
    # -s wins over the environment.
    out = sb_words("-s", tcp(wordfreq), "FREQ", "cat",
                   env={"SB_WORDS_SERVER": "unix:/nonexistent/wf.sock"})
    assert_ok(out, freq_line("cat"))


def test_err_answer_exits_1_with_the_reason(wordfreq):
    out = sb_words("-s", tcp(wordfreq), "RARE", "abc", "text")
    assert out.returncode == 1, out
    assert out.stdout == b""
    assert one_error_line(out) == 'sb: words: RARE threshold "abc" is not a number'
    out = sb_words("-s", tcp(wordfreq), "FREQ")
    assert out.returncode == 1, out
    assert one_error_line(out) == "sb: words: FREQ needs at least one word"
    out = sb_words("-s", tcp(wordfreq), "STATS", "now")
    assert out.returncode == 1, out
    assert one_error_line(out) == "sb: words: STATS takes no arguments"


def test_too_many_words_is_one_err_line(wordfreq):
    out = sb_words("-s", tcp(wordfreq), "FREQ", *(["the"] * 4097))
    assert out.returncode == 1, out
    assert one_error_line(out) == "sb: words: too many words (at most 4096)"
    out = sb_words("-s", tcp(wordfreq), "FREQ", *(["cat"] * 4096))
    assert_ok(out, freq_line("cat") * 4096)


def test_stdin_requests_are_answered_in_order(wordfreq):
    requests = ("FREQ the cat\n"
                "\n"                       # empty lines are skipped
                "   \t \n"
                "avg the zymurgy\r\n"       # CRLF
                "RARE 5 zymurgy and Lagers\n"
                "bogus request\n"          # an error: reported, and the rest goes on
                "RARE 2 the\n"              # no rare word: nothing printed
                "Freq\tERR  what\n"         # tabs and runs of blanks separate arguments
                "STATS")                    # no line end at the end of the input
    out = sb_words("-s", unix(wordfreq), input=requests)
    assert out.returncode == 1, out
    lines = out.stdout.decode().splitlines(keepends=True)
    mean = (DATA["the"] + 1) / 2
    pm = mean / TOTAL * 1e6
    assert lines[:-1] == [freq_line("the"), freq_line("cat"),
                          "%.2f %.6g %.3f\n" % (mean, pm, math.log10(pm) + 3),
                          freq_line("zymurgy"), "and 0 0 0.000\n", "Lagers 0 0 0.000\n",
                          freq_line("ERR"), "what %s\n" % freq_fields(1000)], lines
    assert lines[-1].startswith("words="), lines
    assert error_lines(out) == ['sb: words: unknown command "bogus" (FREQ, AVG, RARE, STATS, '
                                'QUIT)'], out.stderr


def test_stdin_10000_pipelined_requests(wordfreq):
    words = list(DATA) + ["xyzzy", "Cat", "THE"]
    requests, expected = [], []
    for i in range(10000):
        if i % 3 == 0:
            ws = [words[(i + k) % len(words)] for k in range(1 + i % 5)]
            requests.append("FREQ " + " ".join(ws))
            expected += [freq_line(w) for w in ws]
        elif i % 3 == 1:
            requests.append("RARE 4 zymurgy the xyzzy")
            expected += [freq_line("zymurgy"), "xyzzy 0 0 0.000\n"]
        else:
            requests.append("FREQ %s" % words[i % len(words)])
            expected.append(freq_line(words[i % len(words)]))
    for addr in (tcp(wordfreq), unix(wordfreq)):
        start = time.monotonic()
        out = sb_words("-s", addr, input="\n".join(requests) + "\n", timeout=t(60))
        assert_ok(out, "".join(expected))
        assert time.monotonic() - start < t(30)


def test_stdin_large_answers_do_not_deadlock(wordfreq):
    """4 MiB of requests whose answers are about 20 times larger: sb must read while it sends,
    or both sides block with full buffers."""
    req = "FREQ " + " ".join(["the"] * 4096) + "\n"
    n = (4 << 20) // len(req)
    out = sb_words("-s", tcp(wordfreq), input=req * n, timeout=t(120))
    assert out.returncode == 0, (out.returncode, out.stderr)
    assert out.stdout == freq_line("the").encode() * (4096 * n)


def test_quit_ends_the_requests(wordfreq):
    out = sb_words("-s", tcp(wordfreq), input="FREQ cat\nquit\nFREQ the\n")
    assert_ok(out, freq_line("cat"))
    assert_ok(sb_words("-s", tcp(wordfreq), "QUIT"), "")


def test_empty_input(wordfreq):
    assert_ok(sb_words("-s", tcp(wordfreq), input=b""), "")
    assert_ok(sb_words("-s", tcp(wordfreq), input=b"\n\n  \n"), "")


def test_invalid_utf8_is_an_err_answer(wordfreq):
    out = sb_words("-s", tcp(wordfreq), input=b"FREQ caf\xe9\nFREQ cat\n")
    assert out.returncode == 1, out
    assert out.stdout.decode() == freq_line("cat")
    assert error_lines(out) == ["sb: words: request is not valid UTF-8"]


def test_line_too_long_is_refused_before_sending(wordfreq):
    """A line longer than the service's limit is not sent (the service would answer ERR and
    close the connection): what came before is answered, then exit 2 naming the line."""
    longest = "FREQ cat" + " " * (LINE_MAX - 8)  # exactly the limit: sent
    out = sb_words("-s", tcp(wordfreq), input="FREQ the\n%s\n" % longest)
    assert_ok(out, freq_line("the") + freq_line("cat"))
    out = sb_words("-s", tcp(wordfreq), input="FREQ the\n%s\r\n" % longest)  # CR not counted
    assert_ok(out, freq_line("the") + freq_line("cat"))
    out = sb_words("-s", tcp(wordfreq), input="FREQ the\n%s \nFREQ of\n" % longest)
    assert out.returncode == 2, out
    assert out.stdout.decode() == freq_line("the")
    line = one_error_line(out)
    assert "line 2 " in line and "65536" in line, line
    # The same without a line end anywhere in the first 64 KiB.
    out = sb_words("-s", tcp(wordfreq), input="FREQ the\n" + "x" * (LINE_MAX * 3))
    assert out.returncode == 2, out
    assert out.stdout.decode() == freq_line("the")
    assert "line 2 " in one_error_line(out)
    out = sb_words("-s", tcp(wordfreq), "FREQ", "cat", " " * LINE_MAX)
    assert out.returncode == 2, out
    one_error_line(out)


def test_longest_line_is_sent_whole():
    longest = b"FREQ cat" + b" " * (LINE_MAX - 8)
    with FakeWords() as srv:
        out = sb_words("-s", srv.address, input=longest + b"\n" + longest)
        assert_ok(out, freq_line("cat") * 2)
        out = sb_words("-s", srv.address, input=longest + b"x\nFREQ the\n")
    assert out.returncode == 2, out
    assert srv.received == (longest + b"\n") * 2


def test_a_long_word_is_answered(wordfreq):
    """Every word of FREQ gets its line, however long (the request may be 64 KiB); RARE lists
    a long unknown word too."""
    long = "x" * 20000
    out = sb_words("-s", tcp(wordfreq), "-t", "2", "FREQ", long, "the")
    assert_ok(out, "%s 0 0 0.000\n" % long + freq_line("the"))
    out = sb_words("-s", tcp(wordfreq), "-t", "2", "RARE", "3", long, "the")
    assert_ok(out, "%s 0 0 0.000\n" % long)


def test_a_word_with_a_nul_byte_is_echoed_or_refused(wordfreq):
    out = sb_words("-s", tcp(wordfreq), input=b"FREQ a\x00b\nFREQ the\n")
    assert out.returncode in (0, 1), out  # answered as sent, or an ERR: not out of step
    assert out.stdout.endswith(freq_line("the").encode()), out


def test_output_closed_exits_23(wordfreq):
    r, w = os.pipe()
    os.close(r)
    try:
        out = sb_words("-s", tcp(wordfreq), input="FREQ the\n" * 1000, stdout=w)
    finally:
        os.close(w)
    assert out.returncode == 23, out
    assert "cannot write the output" in one_error_line(out)


@needs_ipv6
def test_ipv6(make_daemon, tmp_path):
    data = os.path.join(str(tmp_path), "words.tsv")
    write_data(data)
    d = make_daemon({"wordfreq": {"listen": "[::1]:0", "file": data}}, directory=False)
    host, port = d.addr("wordfreq")
    assert_ok(sb_words("-s", "[%s]:%d" % (host, port), "FREQ", "cat"), freq_line("cat"))


def test_the_daemon_stopped_exits_7(wordfreq):
    addrs = (tcp(wordfreq), unix(wordfreq))
    wordfreq.stop()
    for addr in addrs:
        out = sb_words("-s", addr, "STATS")
        assert out.returncode == 7, out
        assert addr in one_error_line(out), out.stderr


# ---------------------------------------------------------------------------------------------
# Without a server, and usage


def test_nothing_listening_exits_7(tmp_path):
    out = sb_words("-s", "127.0.0.1:%d" % free_port(), "STATS")
    assert out.returncode == 7, out
    one_error_line(out)
    path = "%s/nothing.sock" % tmp_path
    out = sb_words("-s", "unix:" + path, "STATS")
    assert out.returncode == 7, out
    assert path in one_error_line(out)


def test_default_server_from_the_environment_only(tmp_path):
    path = "%s/env.sock" % tmp_path
    out = sb_words("STATS", env={"SB_WORDS_SERVER": "unix:" + path})
    assert out.returncode == 7, out
    assert path in one_error_line(out)
    out = sb_words("STATS", env={"SB_WORDS_SERVER": "nonsense:port"})
    assert out.returncode == 2, out
    assert "SB_WORDS_SERVER" in one_error_line(out)


def test_unknown_host_exits_6():
    out = sb_words("-s", "no-such-host.invalid:9998", "STATS")
    assert out.returncode == 6, out
    one_error_line(out)


@pytest.mark.parametrize("args", [
    ("-s",),                                  # -s without its value
    ("--no-such-option", "STATS"),
    ("-t", "soon", "STATS"),
    ("-t", "0", "STATS"),
    ("-s", "127.0.0.1:notaport", "STATS"),
    ("-s", "127.0.0.1:70000", "STATS"),
    ("-s", "[::1", "STATS"),
    ("-s", "unix:", "STATS"),
    ("-s", "unix:/" + "x" * 200, "STATS"),    # longer than sun_path
    ("BOGUS", "x"),                           # not a command of the service
    ("LIST",),
])
def test_usage_errors(args):
    out = sb_words(*args, timeout=t(20))
    assert out.returncode == 2, (args, out)
    one_error_line(out)
    assert out.stdout == b""


def test_unknown_command_is_refused_before_connecting():
    with FakeWords() as srv:
        out = sb_words("-s", srv.address, "frequency", "the")
    assert out.returncode == 2, out
    assert "frequency" in one_error_line(out)
    assert srv.received == b""


def test_help():
    out = sb_words("--help")
    assert out.returncode == 0, out
    text = out.stdout.decode()
    for part in ("sb words", "-s", "-t", "unix:", "SB_WORDS_SERVER", "FREQ", "RARE"):
        assert part in text, (part, text)
    assert out.stderr == b""


# ---------------------------------------------------------------------------------------------
# What only a misbehaving server does (FakeWords)


def test_fake_server_answers_like_the_service():
    """The fake itself, with the client: the cases below rely on it."""
    with FakeWords() as srv:
        out = sb_words("-s", srv.address, input="FREQ the cat\nRARE 4 zymurgy the\nSTATS\n")
    assert out.returncode == 0, out
    assert out.stdout.decode() == (freq_line("the") + freq_line("cat") + freq_line("zymurgy") +
                                   "words=%d total=%d format=tsv\n" % (len(DATA), TOTAL))


def test_requests_are_sent_as_lines_blank_ones_skipped():
    with FakeWords() as srv:
        out = sb_words("-s", srv.address, input=b"\nFREQ cat\r\n \t\nSTATS\n\nQUIT\nFREQ x\n")
    assert out.returncode == 0, out
    assert srv.received == b"FREQ cat\nSTATS\nQUIT\n"
    with FakeWords() as srv:
        out = sb_words("-s", srv.address, "freq", "a\nb", "c")
    assert out.returncode == 0, out
    assert srv.received == b"freq a b c\n"


def _answer_then_close_mid_answer(conn, srv):
    """Answers the first request, sends one line of the second one's answer, and closes."""
    lines = srv.lines(conn)
    conn.sendall(fake_answer(next(lines)))
    conn.sendall(fake_answer(next(lines)).split(b"\n")[0] + b"\n")


def test_connection_lost_mid_answer_exits_56():
    with FakeWords(_answer_then_close_mid_answer) as srv:
        out = sb_words("-s", srv.address, input="FREQ cat\nFREQ the of\nSTATS\nAVG the\n")
    assert out.returncode == 56, out
    assert out.stdout.decode() == freq_line("cat") + freq_line("the")
    line = one_error_line(out)
    assert "3 of 4 requests unanswered" in line, line


def _close_at_once(conn, srv):
    next(srv.lines(conn))


def test_connection_closed_before_any_answer_exits_56():
    with FakeWords(_close_at_once) as srv:
        out = sb_words("-s", srv.address, "STATS")
    assert out.returncode == 56, out
    assert "1 of 1 requests unanswered" in one_error_line(out)


def _reset(conn, srv):
    next(srv.lines(conn))
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    conn.close()  # with a zero linger time: a reset


def test_connection_reset_exits_56():
    with FakeWords(_reset) as srv:
        out = sb_words("-s", srv.address, "STATS")
    assert out.returncode == 56, out
    one_error_line(out)


def _err_line_too_long_then_close(conn, srv):
    """A service configured with a shorter max_line: ERR, then the connection closes."""
    lines = srv.lines(conn)
    conn.sendall(fake_answer(next(lines)))
    next(lines)
    conn.sendall(b"ERR line too long\n")


def test_err_then_close_reports_both():
    with FakeWords(_err_line_too_long_then_close) as srv:
        out = sb_words("-s", srv.address, input="FREQ cat\nFREQ %s\nSTATS\n" % ("y" * 5000))
    assert out.returncode == 56, out
    assert out.stdout.decode() == freq_line("cat")
    lines = error_lines(out)
    assert lines[0] == "sb: words: line too long", lines
    assert "1 of 3 requests unanswered" in lines[1] and len(lines) == 2, lines


def _no_line_end(conn, srv):
    next(srv.lines(conn))
    conn.sendall(b"words=8 total=12")


def test_line_without_its_end_exits_8():
    with FakeWords(_no_line_end) as srv:
        out = sb_words("-s", srv.address, "STATS")
    assert out.returncode == 8, out
    assert out.stdout == b""
    one_error_line(out)


def _wrong_word(conn, srv):
    for line in srv.lines(conn):
        conn.sendall(fake_answer(line).replace(b"cat ", b"dog "))


def test_freq_answer_for_another_word_exits_8():
    """FREQ echoes each word: an answer for another word means the answers are out of step."""
    with FakeWords(_wrong_word) as srv:
        out = sb_words("-s", srv.address, input="FREQ the\nFREQ cat\nFREQ of\n")
    assert out.returncode == 8, out
    assert out.stdout.decode() == freq_line("the")
    line = one_error_line(out)
    assert "request 2" in line and "dog" in line, line


def _extra_line(conn, srv):
    for line in srv.lines(conn):
        conn.sendall(fake_answer(line) + b"surprise 1 2 3.000\n")


def test_more_lines_than_requested_exits_8():
    with FakeWords(_extra_line) as srv:
        out = sb_words("-s", srv.address, input="FREQ cat\nFREQ the\n")
    assert out.returncode == 8, out
    assert out.stdout.decode() == freq_line("cat")
    line = one_error_line(out)
    assert "request 2 (FREQ)" in line and "surprise" in line, line


def _greeting(conn, srv):
    conn.sendall(b"hello there\n")
    serve(conn, srv)


def test_line_before_any_request_exits_8():
    """Standard input stays open and nothing is asked: a line from the server answers
    nothing."""
    with FakeWords(_greeting) as srv:
        proc = subprocess.Popen([CLIENT, "words", "-s", srv.address], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                start_new_session=True)
        try:
            rc = proc.wait(timeout=t(10))
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
        finally:
            proc.stdin.close()
            out, err = proc.stdout.read(), proc.stderr.read()
            proc.stdout.close()
            proc.stderr.close()
    assert rc == 8, (rc, err)
    assert out == b""
    assert b"answers no request" in err, err


def _silent(conn, srv):
    for _ in srv.lines(conn):
        pass


def test_no_answer_times_out_28():
    with FakeWords(_silent) as srv:
        start = time.monotonic()
        out = sb_words("-s", srv.address, "-t", "1", "STATS", timeout=t(30))
        elapsed = time.monotonic() - start
    assert out.returncode == 28, out
    assert "0 of 1 requests answered" in one_error_line(out)
    assert elapsed < t(8), elapsed


def _slow_but_steady(conn, srv):
    """Answers, one line every 0.3 s: slow, but never silent for a whole -t 1."""
    for line in srv.lines(conn):
        for part in fake_answer(line).splitlines(keepends=True):
            time.sleep(0.3)
            conn.sendall(part)


def test_timeout_counts_from_the_last_progress():
    with FakeWords(_slow_but_steady) as srv:
        out = sb_words("-s", srv.address, "-t", "1", "FREQ", *["cat"] * 8, timeout=t(30))
    assert_ok(out, freq_line("cat") * 8)


def _stall_after_first(conn, srv):
    lines = srv.lines(conn)
    conn.sendall(fake_answer(next(lines)))
    for _ in lines:
        pass


def test_timeout_after_some_answers_says_how_many():
    with FakeWords(_stall_after_first) as srv:
        out = sb_words("-s", srv.address, "-t", "1", input="STATS\nFREQ cat\nAVG cat\n",
                       timeout=t(30))
    assert out.returncode == 28, out
    assert out.stdout.startswith(b"words=")
    assert "1 of 3 requests answered" in one_error_line(out)


def _naive_blocking(conn, srv):
    """Answers each request in full with blocking writes before reading the next one, as a
    simple server would: a client that sent everything before reading would deadlock."""
    for line in srv.lines(conn):
        conn.sendall(fake_answer(line))


def test_pipelining_with_a_naive_server_does_not_deadlock():
    req = "FREQ " + " ".join(["the"] * 2000) + "\n"
    n = (4 << 20) // len(req)
    with FakeWords(_naive_blocking) as srv:
        out = sb_words("-s", srv.address, input=req * n, timeout=t(120))
    assert out.returncode == 0, (out.returncode, out.stderr)
    assert out.stdout == freq_line("the").encode() * (2000 * n)


def _err_for_quit(conn, srv):
    for line in srv.lines(conn):
        if line.upper().startswith(b"QUIT"):
            conn.sendall(b"ERR QUIT takes no arguments\n")
        else:
            conn.sendall(fake_answer(line))


def test_quit_answered_by_err():
    with FakeWords(_err_for_quit) as srv:
        out = sb_words("-s", srv.address, input="FREQ cat\nQUIT now\n")
    assert out.returncode == 1, out
    assert out.stdout.decode() == freq_line("cat")
    assert error_lines(out) == ["sb: words: QUIT takes no arguments"]


def _escape_attempt(conn, srv):
    for _ in srv.lines(conn):
        conn.sendall(b"ERR bad \x1b[31mred\x07\n")


def test_err_reason_is_escaped():
    with FakeWords(_escape_attempt) as srv:
        out = sb_words("-s", srv.address, "STATS")
    assert out.returncode == 1, out
    assert one_error_line(out) == "sb: words: bad \\x1B[31mred\\x07"


def _crlf(conn, srv):
    for line in srv.lines(conn):
        conn.sendall(fake_answer(line).replace(b"\n", b"\r\n"))


def test_crlf_answers_are_accepted():
    with FakeWords(_crlf) as srv:
        out = sb_words("-s", srv.address, input="RARE 4 zymurgy\nFREQ cat\n")
    assert_ok(out, freq_line("zymurgy") + freq_line("cat"))


def test_unix_socket_relative_path(tmp_path):
    with FakeWords(path=str(tmp_path / "fake.sock")) as srv:
        out = sb_words("-s", "unix:fake.sock", "FREQ", "cat", cwd=str(tmp_path))
    assert_ok(out, freq_line("cat"))
    assert srv.received == b"FREQ cat\n"
