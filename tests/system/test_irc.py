# SPDX-License-Identifier: MIT
"""System tests of the IRC service ([irc]) over raw sockets.

Expectations come from RFC 1459/2812, the Modern IRC client protocol (modern.ircdocs.horse), the
IRCv3 specifications and the service's own description (numerics, ISUPPORT tokens, quit
reasons). Every test starts its own daemon with flood control loosened (flood_burst and
flood_rate high) unless the test is about flood control. A negative check ("X is not sent")
uses sync(): the sender PINGs and waits for its PONG, then the recipient does, so anything the
server had queued has arrived. Every read and wait is bounded and scaled with t().
"""

import base64
import calendar
import os
import random
import re
import resource
import selectors
import socket
import ssl
import subprocess
import time

import pytest

from harness import HarnessError, t, wait_until
from ircclient import (TIME_TAG, Closed, Reader, find, hash_password, is_cmd, numerics,
                       sasl_plain, src, start_net, tls_context)

SERVER = "switchboard.local"
NETWORK = "switchboard"
IRC_DEFAULTS = {"listen": "127.0.0.1:0", "flood_burst": "1000", "flood_rate": "1000"}

CAPS = ["cap-notify", "message-tags", "server-time", "echo-message", "multi-prefix",
        "userhost-in-names", "extended-join", "account-tag", "account-notify", "away-notify",
        "setname", "chghost", "invite-notify", "batch", "labeled-response", "standard-replies",
        "sasl"]


# ---------------------------------------------------------------------------------------------
# Fixtures and helpers


@pytest.fixture
def irc(make_daemon):
    """irc(directory=False, accounts={name: pw}, opers={name: pw}, motd=text, **irc_keys) ->
    Net with a started daemon (see ircclient.start_net)."""
    nets = []
    yield lambda **kw: start_net(make_daemon, nets, IRC_DEFAULTS, **kw)
    for n in nets:
        n.close()


def settle(*clients):
    """sync() each client in turn; returns their lists of messages."""
    return [c.sync() for c in clients]


def only(msgs, command):
    got = find(msgs, command)
    assert len(got) == 1, "expected one %s in %r" % (command, msgs)
    return got[0]


def reply(c, line, command, what=None):
    """Send line; return the first message with command (skipping others)."""
    c.send(line)
    return c.expect(command, what=what or "%s after %r" % (command, line))


def numeric_reply(c, line):
    """Send line; return the first numeric reply (or FAIL) it gets."""
    c.send(line)
    return c.expect(lambda m: m.command.isdigit() or m.command == "FAIL",
                    what="a numeric after %r" % line)


def isupport(msgs):
    """The RPL_ISUPPORT tokens of a welcome burst: {NAME: value or True}."""
    out = {}
    for m in find(msgs, "005"):
        for tok in m.params[1:-1]:
            k, eq, v = tok.partition("=")
            out[k] = v if eq else True
    return out


def cap_ls(c, version="302"):
    """CAP LS [version] -> (dict cap -> value or None, the CAP lines)."""
    c.send("CAP LS %s" % version if version else "CAP LS")
    lines = c.until(lambda m: m.command == "CAP" and m.arg(1) == "LS" and m.arg(2) != "*",
                    what="the last CAP LS line")
    lines = find(lines, "CAP")
    caps = {}
    for m in lines:
        for tok in m.text.split():
            k, eq, v = tok.partition("=")
            caps[k] = v if eq else None
    return caps, lines


def modes_of(m):
    """324 -> (set of mode letters, list of arguments)."""
    return set(m.params[2].lstrip("+")), m.params[3:]


def channel_modes(c, chan):
    c.send("MODE %s" % chan)
    out = c.sync()  # 324, and 329 (creation time) if the server sends it
    return modes_of(only(out, "324"))


def assert_privmsg(m, source, target, text, command="PRIVMSG"):
    assert (m.command, m.source, m.params) == (command, source, [target, text]), m


# ---------------------------------------------------------------------------------------------
# Registration


def test_welcome_burst_numerics_and_isupport(irc):
    net = irc()
    c = net.conn()
    c.send("NICK alice")
    c.send("USER alice 0 * :Alice Liddell")
    out = c.until(is_cmd("376", "422"))
    nums = numerics(out)
    assert nums[:4] == ["001", "002", "003", "004"], nums
    i = 4
    while i < len(nums) and nums[i] == "005":
        i += 1
    assert i > 4, "no RPL_ISUPPORT after 004: %r" % nums
    for m in out:
        if m.command.isdigit():
            assert m.source == SERVER, m
            assert m.params[0] == "alice", m
    welcome = out[0]
    assert welcome.command == "001" and NETWORK in welcome.text and "alice" in welcome.text
    m004 = find(out, "004")[0]
    assert m004.params[1] == SERVER, m004
    assert set("iow") <= set(m004.params[3]), m004
    # RFC 2812 5.1: <available channel modes>, then (common extension) those taking a
    # parameter. Every channel mode, the prefix modes o and v included, is available.
    assert set("beIiklmnstov") <= set(m004.params[4]), m004
    if len(m004.params) > 5:
        assert set("beIklov") <= set(m004.params[5]) <= set("beIklov"), m004
    for m in find(out, "005"):
        assert m.text == "are supported by this server", m
        assert 1 <= len(m.params) - 2 <= 13, "0 or more than 13 tokens: %r" % m
    tokens = isupport(out)
    want = {"AWAYLEN": "390", "CASEMAPPING": "rfc1459", "CHANLIMIT": "#&:50",
            "CHANNELLEN": "50", "CHANTYPES": "#&", "ELIST": "CMNTU", "EXCEPTS": "e", "INVEX": "I",
            "KICKLEN": "390", "MAXLIST": "b:100,e:100,I:100", "MODES": "4", "NETWORK": NETWORK,
            "NICKLEN": "30", "PREFIX": "(ov)@+", "STATUSMSG": "@+", "TOPICLEN": "390"}
    assert {k: tokens.get(k) for k in want} == want, tokens
    groups = tokens["CHANMODES"].split(",")
    assert [set(g) for g in groups] == [set("beI"), set("k"), set("l"), set("imnst")], tokens
    for k in ("TARGMAX", "USERLEN", "WHOX"):
        assert k in tokens, (k, tokens)
    assert tokens.get("BOT") == "B" and tokens.get("MONITOR") == "100", tokens
    assert int(tokens["USERLEN"]) >= 9, tokens
    # LUSERS then the MOTD (none configured: 422).
    rest = nums[i:]
    assert rest[-1] == "422", rest
    for n in ("251", "255", "265", "266"):
        assert n in rest, (n, rest)
    assert rest.index("251") < rest.index("255") < rest.index("422")
    assert "375" not in rest and "372" not in rest


def test_lines_end_with_crlf_and_fit_in_512_bytes(irc):
    net = irc()
    a = net.user("alice")
    b = net.user("bob")
    a.join("#c")
    b.join("#c")
    a.send("WHOIS bob")
    a.expect("318")
    a.send("LIST")
    a.expect("323")
    for c in (a, b):
        c.sync()
        for raw in c.raw_lines:
            assert raw.endswith(b"\r\n"), raw
            body = raw
            if body.startswith(b"@"):
                body = body.split(b" ", 1)[1]
            assert len(body) <= 512, raw


def test_isupport_follows_the_configuration(irc):
    net = irc(server_name="irc.example.test", network="TestNet", nicklen=9, channellen=20,
              topiclen=50, max_channels=2, max_list=2, awaylen=40, kicklen=45)
    a = net.user("alice")
    tokens = isupport(a.burst)
    assert (tokens.get("NICKLEN"), tokens.get("CHANNELLEN"), tokens.get("TOPICLEN"),
            tokens.get("CHANLIMIT"), tokens.get("MAXLIST"), tokens.get("NETWORK"),
            tokens.get("AWAYLEN"), tokens.get("KICKLEN")) == \
        ("9", "20", "50", "#&:2", "b:2,e:2,I:2", "TestNet", "40", "45"), tokens
    assert find(a.burst, "004")[0].params[1] == "irc.example.test"
    assert all(m.source == "irc.example.test" for m in a.burst if m.command.isdigit())
    assert "TestNet" in find(a.burst, "001")[0].text

    # NICKLEN: a 10-byte nick is refused or cut to 9; 9 bytes are fine.
    x = net.user("xx")
    x.send("NICK abcdefghij")
    out = x.sync()
    if find(out, "NICK"):
        assert find(out, "NICK")[0].params == ["abcdefghi"], out
    else:
        assert only(out, "432").params[1] == "abcdefghij", out
        x.send("NICK abcdefghi")
        assert x.expect("NICK").params == ["abcdefghi"]

    # CHANNELLEN: a 21-byte name is refused (or cut), 20 is fine.
    long21 = "#" + "x" * 20
    a.send("JOIN %s" % long21)
    out = a.sync()
    joins = find(out, "JOIN")
    if joins:
        assert len(joins[0].params[0]) <= 20, out
        a.send("PART %s" % joins[0].params[0])
        a.sync()
    else:
        assert numerics(out) and numerics(out)[0] in ("479", "403"), out
    a.join("#" + "y" * 19)

    # CHANLIMIT: the third channel gets 405.
    a.join("#two")
    m = numeric_reply(a, "JOIN #three")
    assert m.command == "405" and m.params[1] == "#three", m

    # TOPICLEN: a 60-byte topic is cut to 50 (or refused).
    a.send("TOPIC #two :%s" % ("t" * 60))
    out = a.sync()
    if find(out, "TOPIC"):
        assert find(out, "TOPIC")[0].text == "t" * 50, out
    else:
        assert numerics(out), out

    # MAXLIST: the third ban gets 478.
    a.send("MODE #two +b x1!*@*")
    a.send("MODE #two +b x2!*@*")
    a.sync()
    m = numeric_reply(a, "MODE #two +b x3!*@*")
    assert m.command == "478" and m.params[1] == "#two", m
    a.send("MODE #two +b")
    out = a.until(is_cmd("368"))
    assert sorted(m.params[2] for m in find(out, "367")) == ["x1!*@*", "x2!*@*"], out

    # AWAYLEN: cut to the limit (or refused).
    a.send("AWAY :%s" % ("a" * 60))
    out = a.sync()
    if find(out, "306"):
        b = net.user("bob")
        b.send("WHOIS alice")
        out = b.until(is_cmd("318"))
        assert only(out, "301").text == "a" * 40, out
    else:
        assert numerics(out), out


def test_lusers_counts(irc):
    net = irc()
    a = net.user("alice")
    b = net.user("bob")
    b.send("MODE bob +i")
    b.sync()
    net.user("carol")
    a.join("#one")
    pending = net.conn()  # an unregistered connection
    pending.send("NICK waiting")
    time.sleep(t(0.2))
    a.send("LUSERS")
    out = a.until(is_cmd("266"))
    m251 = only(out, "251")
    g = re.search(r"There are ([0-9]+) users and ([0-9]+) invisible on ([0-9]+) servers?",
                  m251.text)
    assert g, m251
    assert (int(g.group(1)), int(g.group(2)), int(g.group(3))) == (2, 1, 1), m251
    assert only(out, "253").params[1] == "1", out
    assert only(out, "254").params[1] == "1", out
    m255 = only(out, "255")
    assert re.search(r"I have 3 clients and 0 servers", m255.text), m255
    for n in ("265", "266"):
        m = only(out, n)
        if len(m.params) == 4:
            assert m.params[1] == "3" and int(m.params[2]) >= 3, m
        assert re.search(r"\b3\b", m.text), m
    for m in find(out, "252"):
        assert m.params[1] == "0", m


def test_motd_file(irc):
    lines = ["Welcome to the test network", "", "  indented line", "last"]
    net = irc(motd="\n".join(lines) + "\n")
    a = net.user("alice")
    nums = numerics(a.burst)
    assert "422" not in nums
    i = nums.index("375")
    assert nums[i:i + len(lines) + 2] == ["375"] + ["372"] * len(lines) + ["376"], nums
    got = [m.text for m in find(a.burst, "372")]
    for text, want in zip(got, lines):
        assert text in ("- " + want, want, "-" + want), (text, want)
    assert SERVER in find(a.burst, "375")[0].text
    # The MOTD command gives the same.
    a.send("MOTD")
    out = a.until(is_cmd("376", "422"))
    assert [m.text for m in find(out, "372")] == got


def test_no_motd_gives_422(irc):
    net = irc()
    a = net.user("alice")
    m = find(a.burst, "422")[0]
    assert m.params[0] == "alice", m
    m = numeric_reply(a, "MOTD")
    assert m.command == "422", m


def test_commands_before_registration(irc):
    net = irc()
    c = net.conn()
    for line in ("JOIN #c", "PRIVMSG bob :hi", "WHOIS bob", "MODE #c"):
        m = numeric_reply(c, line)
        assert m.command == "451" and m.params[0] == "*", (line, m)
    c.send("NICK early")
    m = numeric_reply(c, "LIST")
    assert m.command == "451" and m.params[0] in ("*", "early"), m
    c.send("USER early 0 * :Early Bird")
    c.expect("001")


def test_basic_errors_after_registration(irc):
    net = irc()
    a = net.user("alice")
    m = numeric_reply(a, "FROBNICATE now")
    assert m.command == "421" and m.params[:2] == ["alice", "FROBNICATE"], m
    m = numeric_reply(a, "JOIN")
    assert m.command == "461" and m.params[:2] == ["alice", "JOIN"], m
    m = numeric_reply(a, "USER again 0 * :Again")
    assert m.command == "462" and m.params[0] == "alice", m
    m = numeric_reply(a, "NICK")
    assert m.command == "431", m
    # Still usable after all that.
    a.sync()


def test_quit_closes_with_error(irc):
    net = irc()
    a = net.user("alice")
    b = net.user("bob")
    a.join("#c")
    b.join("#c")
    a.sync()
    b.send("QUIT :see you later")
    out = b.wait_closed()
    assert find(out, "ERROR"), out
    m = a.expect("QUIT")
    assert m.source == src("bob") and m.params in (["see you later"], ["Quit: see you later"]), m


# ---------------------------------------------------------------------------------------------
# Server password, timeouts, PING


def test_password_required(irc):
    net = irc(password="letmein")
    # No PASS at all.
    c = net.conn()
    c.send("NICK alice")
    c.send("USER alice 0 * :Alice")
    out = c.wait_closed()
    assert "001" not in numerics(out), out
    m = only(out, "464")
    assert m.params[0] in ("*", "alice"), m
    assert find(out, "ERROR"), out
    # A wrong PASS.
    c = net.conn()
    c.send("PASS wrong")
    c.send("NICK alice")
    c.send("USER alice 0 * :Alice")
    out = c.wait_closed()
    assert "001" not in numerics(out) and "464" in numerics(out) and find(out, "ERROR"), out
    # The right one.
    a = net.user("alice", password="letmein")
    assert find(a.burst, "001")
    m = numeric_reply(a, "PASS letmein")
    assert m.command == "462", m


def test_registration_timeout(irc):
    net = irc(registration_timeout="1s")
    ok = net.user("ok")
    started = time.monotonic()
    c = net.conn()
    c.send("NICK slowpoke")
    idle = net.conn()  # sends nothing at all
    out = c.wait_closed(timeout=t(5))
    took = time.monotonic() - started
    assert took >= 0.8, took
    m = only(out, "ERROR")
    assert "Registration timed out" in m.text, m
    assert "001" not in numerics(out)
    out = idle.wait_closed(timeout=t(5))
    assert "Registration timed out" in only(out, "ERROR").text, out
    # A registered client is not affected.
    time.sleep(t(0.5))
    ok.sync()


def test_client_ping_gets_pong(irc):
    net = irc()
    a = net.user("alice")
    a.send("PING :hello there")
    m = a.expect("PONG")
    assert m.source == SERVER and m.params[-1] == "hello there", m
    assert len(m.params) in (1, 2) and (len(m.params) == 1 or m.params[0] == SERVER), m
    a.send("PING token42")
    m = a.expect("PONG")
    assert m.params[-1] == "token42", m
    m = numeric_reply(a, "PING")
    assert m.command in ("409", "461"), m


def test_server_ping_and_ping_timeout(irc):
    net = irc(ping_interval="1s", ping_timeout="1s")
    watcher = net.user("watcher")
    c = net.conn(autopong=False)
    c.register("sleepy")
    c.join("#c")
    watcher.join("#c")
    bg = Reader(watcher)  # keeps answering the watcher's PINGs
    started = time.monotonic()
    p = c.expect("PING", timeout=t(4))
    assert p.params and p.source in (None, SERVER), p
    assert time.monotonic() - started < t(3.5)
    c.send("PONG :%s" % p.text)
    # Answered: still connected past another interval, and PINGed again.
    p2 = c.expect("PING", timeout=t(4))
    assert c.is_open(0.01)
    # Not answered this time: dropped.
    out = c.wait_closed(timeout=t(5))
    err = only(out, "ERROR")
    assert "Ping timeout" in err.text, err
    m = bg.wait("QUIT", timeout=t(5))
    bg.stop()
    assert m.source == src("sleepy"), m
    assert re.fullmatch(r"Ping timeout: 1(\.0+)? seconds?", m.text), m
    assert not bg.closed, "the watcher, who answered its PINGs, was dropped"
    assert p2.text  # the second PING had a token too


# ---------------------------------------------------------------------------------------------
# CAP


def test_cap_ls_302(irc):
    net = irc(directory=False)
    c = net.conn()
    caps, lines = cap_ls(c, "302")
    for m in lines:
        assert m.source == SERVER and m.params[:2] == ["*", "LS"], m
        assert len(m.bytes) <= 510, m
    for cap in CAPS:
        assert cap in caps, (cap, sorted(caps))
    assert "PLAIN" in (caps["sasl"] or "").split(","), caps["sasl"]
    # Registration waits for CAP END.
    c.send("NICK alice")
    c.send("USER alice 0 * :Alice")
    assert c.quiet(t(0.5)), c.pending
    c.send("CAP END")
    c.expect("001")
    # cap-notify is implied by 302: CAP LIST may show it; after registration the target is
    # the nick.
    c.send("CAP LS 302")
    m = c.expect("CAP")
    assert m.params[:2] == ["alice", "LS"], m


def test_cap_ls_without_302_has_no_values(irc):
    net = irc()
    c = net.conn()
    caps, lines = cap_ls(c, None)
    for cap in CAPS:
        assert cap in caps, (cap, sorted(caps))
    assert all(v is None for v in caps.values()), caps
    # No multi-line continuation marker either ("*" third parameter) for a pre-302 client.
    assert all(len(m.params) == 3 for m in lines), lines


def test_cap_req_ack_nak_list(irc):
    net = irc()
    c = net.conn()
    cap_ls(c)
    c.send("CAP REQ :multi-prefix server-time")
    m = c.expect("CAP")
    assert m.params[:2] == ["*", "ACK"] and set(m.text.split()) == {"multi-prefix",
                                                                     "server-time"}, m
    c.send("CAP REQ :no-such-cap")
    m = c.expect("CAP")
    assert m.params[:2] == ["*", "NAK"] and m.text.split() == ["no-such-cap"], m
    # All or nothing: one unknown cap NAKs the whole request.
    c.send("CAP REQ :echo-message no-such-cap")
    m = c.expect("CAP")
    assert m.params[:2] == ["*", "NAK"] and set(m.text.split()) == {"echo-message",
                                                                     "no-such-cap"}, m
    c.send("CAP LIST")
    m = c.expect("CAP")
    assert m.params[:2] == ["*", "LIST"], m
    assert set(m.text.split()) - {"cap-notify"} == {"multi-prefix", "server-time"}, m
    c.send("CAP REQ :-server-time")
    m = c.expect("CAP")
    assert m.params[:2] == ["*", "ACK"] and m.text.split() == ["-server-time"], m
    c.send("CAP REQ :cap-notify")
    m = c.expect("CAP")
    assert m.params[:2] == ["*", "ACK"] and m.text.split() == ["cap-notify"], m
    m = numeric_reply(c, "CAP FROB")
    assert m.command == "410" and m.params[1] == "FROB", m
    c.send("NICK alice")
    c.send("USER alice 0 * :Alice")
    assert c.quiet(t(0.5))
    c.send("CAP END")
    c.until(is_cmd("376", "422"))
    c.send("CAP LIST")
    m = c.expect("CAP")
    assert m.params[:2] == ["alice", "LIST"], m
    assert set(m.text.split()) - {"cap-notify"} == {"multi-prefix"}, m
    # A REQ after registration works too.
    c.send("CAP REQ :server-time")
    m = c.expect("CAP")
    assert m.params[:2] == ["alice", "ACK"], m
    c.send("PING :x")
    m = c.expect("PONG")
    assert TIME_TAG.fullmatch(m.tags.get("time") or ""), m


# ---------------------------------------------------------------------------------------------
# SASL


def test_sasl_plain_success(irc):
    net = irc(accounts={"dora": "s3cret-pw"})
    b = net.user("bob", caps=["account-tag", "extended-join"])
    b.join("#c")
    a = net.conn("alice")
    a.send("CAP LS 302")
    a.send("NICK alice")
    a.send("USER alice 0 * :Alice Liddell")
    a.until(lambda m: m.command == "CAP" and m.arg(2) != "*")
    a.send("CAP REQ :sasl")
    m = a.expect("CAP")
    assert m.params[1] == "ACK", m
    out = sasl_plain(a, "dora", "s3cret-pw")
    m900 = only(out, "900")
    assert m900.params[:3] == ["alice", "alice!~alice@127.0.0.1", "dora"], m900
    assert only(out, "903").params[0] == "alice"
    m = numeric_reply(a, "AUTHENTICATE PLAIN")
    assert m.command == "907", m
    a.send("CAP END")
    a.until(is_cmd("376", "422"))
    # extended-join carries the account and the realname.
    a.join("#c")
    m = b.expect("JOIN")
    assert m.source == "alice!~alice@127.0.0.1" and m.params == ["#c", "dora",
                                                                "Alice Liddell"], m
    # account-tag on her messages.
    a.send("PRIVMSG #c :tagged")
    m = b.expect("PRIVMSG")
    assert m.tags.get("account") == "dora", m
    # WHOIS shows the account; WHOX too.
    out = b.whois("alice")
    assert "330" in out and out["330"][0].params[:3] == ["bob", "alice", "dora"], out
    b.send("WHO #c %tna,7")
    out = b.until(is_cmd("315"))
    rows = {m.params[2]: m.params[3] for m in find(out, "354")}
    assert rows == {"alice": "dora", "bob": "0"}, out
    # Someone not logged in: "*" in extended-join, no account tag.
    c = net.user("carol")
    c.join("#c")
    m = b.expect("JOIN")
    assert m.params == ["#c", "*", "Real carol"], m
    c.send("PRIVMSG #c :untagged")
    m = b.expect("PRIVMSG")
    assert "account" not in m.tags, m


def test_sasl_plain_failure_then_retry(irc):
    net = irc(accounts={"dora": "s3cret-pw"})
    a = net.conn("alice")
    a.send("CAP LS 302")
    a.send("NICK alice")
    a.send("USER alice 0 * :Alice")
    a.until(lambda m: m.command == "CAP" and m.arg(2) != "*")
    a.send("CAP REQ :sasl")
    a.expect("CAP")
    out = sasl_plain(a, "dora", "wrong-pw", expect_ok=False)
    assert out[-1].command == "904" and out[-1].params[0] == "alice", out
    assert not find(out, "900")
    # Aborting.
    a.send("AUTHENTICATE PLAIN")
    a.expect("AUTHENTICATE")
    m = numeric_reply(a, "AUTHENTICATE *")
    assert m.command == "906", m
    # An unknown mechanism: 908 (optional) lists PLAIN, then 904.
    a.send("AUTHENTICATE NOSUCHMECH")
    out = a.until(is_cmd("904"))
    for m in find(out, "908"):
        assert "PLAIN" in m.params[1].split(","), m
    # Then the right password still works.
    sasl_plain(a, "dora", "s3cret-pw")
    a.send("CAP END")
    a.expect("001")
    a.until(is_cmd("376", "422"))
    b = net.user("bob")
    out = b.whois("alice")
    assert out["330"][0].params[2] == "dora", out


def test_sasl_other_failures(irc):
    net = irc(accounts={"dora": "s3cret-pw"})
    a = net.conn("alice")
    a.send("CAP LS 302")
    a.until(lambda m: m.command == "CAP" and m.arg(2) != "*")
    a.send("CAP REQ :sasl")
    a.expect("CAP")
    a.send("AUTHENTICATE PLAIN")
    a.expect("AUTHENTICATE")
    m = numeric_reply(a, "AUTHENTICATE !!!not-base64!!!")
    assert m.command == "904", m
    out = sasl_plain(a, "nobody", "whatever", expect_ok=False)
    assert out[-1].command == "904", out
    a.send("NICK alice")
    a.send("USER alice 0 * :Alice")
    a.send("CAP END")
    a.expect("001")


# ---------------------------------------------------------------------------------------------
# Nicknames


def test_nick_collision(irc):
    net = irc()
    net.user("alice")
    net.user("ali[x]")
    c = net.conn()
    m = numeric_reply(c, "NICK alice")
    assert m.command == "433" and m.params[:2] == ["*", "alice"], m
    m = numeric_reply(c, "NICK ALICE")  # case-insensitive
    assert m.command == "433", m
    m = numeric_reply(c, "NICK ALI{X}")  # rfc1459: { is the lower case of [
    assert m.command == "433", m
    c.send("NICK alice2")
    c.send("USER alice2 0 * :Second Alice")
    m = c.expect("001")
    assert m.params[0] == "alice2"
    c.until(is_cmd("376", "422"))
    m = numeric_reply(c, "NICK alice")
    assert m.command == "433" and m.params[:2] == ["alice2", "alice"], m


@pytest.mark.parametrize("bad", ["#alice", "1alice", "-alice", "al!ce", "al@ce", "al,ce",
                                 "al*ce", "al?ce", "al.ce", "&amp", "$dollar"])
def test_invalid_nick(irc, bad):
    net = irc()
    c = net.conn()
    m = numeric_reply(c, "NICK %s" % bad)
    assert m.command == "432" and m.params[:2] == ["*", bad], m
    a = net.user("alice")
    m = numeric_reply(a, "NICK %s" % bad)
    assert m.command == "432" and m.params[:2] == ["alice", bad], m


def test_nick_change_propagation(irc):
    net = irc()
    a = net.user("alice")
    b = net.user("bob")
    c = net.user("carol")
    a.join("#c")
    b.join("#c")
    a.sync()
    a.send("NICK alicia")
    m = a.expect("NICK")
    assert m.source == src("alice") and m.params == ["alicia"], m
    m = b.expect("NICK")
    assert m.source == src("alice") and m.params == ["alicia"], m
    out = settle(a, c)[1]
    assert not find(out, "NICK"), out  # no common channel
    b.send("PRIVMSG alicia :hi")
    assert_privmsg(a.expect("PRIVMSG"), src("bob"), "alicia", "hi")
    m = numeric_reply(b, "PRIVMSG alice :anyone?")
    assert m.command == "401" and m.params[1] == "alice", m
    # Only the case changes.
    a.send("NICK ALICIA")
    m = a.expect("NICK")
    assert m.params == ["ALICIA"], m
    # The old nick is free again.
    net.user("alice")
    assert "ALICIA" in [n.lstrip("@+") for n in b.names("#c")]


# ---------------------------------------------------------------------------------------------
# Channels: JOIN, PART, NAMES, destruction


def test_join_part_and_names(irc):
    net = irc()
    a = net.user("alice")
    b = net.user("bob")
    out = a.join("#c")
    j = out[0]
    assert j.command == "JOIN" and j.source == src("alice") and j.params == ["#c"], out
    assert not find(out, "331") and not find(out, "332"), out
    m353 = only(out, "353")
    assert m353.params[:3] == ["alice", "=", "#c"] and m353.text.split() == ["@alice"], m353
    assert out[-1].params[:2] == ["alice", "#c"], out
    assert set(channel_modes(a, "#c")[0]) == {"n", "t"}
    out = b.join("#C")  # case-insensitive: the same channel
    assert set(" ".join(m.text for m in find(out, "353")).split()) == {"@alice", "bob"}, out
    m = a.expect("JOIN")
    assert m.source == src("bob") and m.params[0].lower() == "#c", m
    b.send("PART #c :see you")
    for c in (a, b):
        m = c.expect("PART")
        assert m.source == src("bob") and m.params == ["#c", "see you"], m
    assert b.names("#c") == ["@alice"]  # not secret: visible from outside
    m = numeric_reply(b, "PART #c")
    assert m.command == "442" and m.params[1] == "#c", m
    m = numeric_reply(b, "PART #nowhere")
    assert m.command == "403" and m.params[1] == "#nowhere", m


def test_join_several_with_keys_and_join_0(irc):
    net = irc()
    a = net.user("alice")
    b = net.user("bob")
    a.join("#k1")
    a.join("#k2")
    a.send("MODE #k1 +k one")
    a.send("MODE #k2 +k two")
    a.sync()
    b.send("JOIN #k1,#k2,#free one,two")
    b.expect(lambda m: m.command == "366" and m.params[1] == "#free")
    joined = [m.params[0] for m in b.log if m.command == "JOIN"]
    assert joined == ["#k1", "#k2", "#free"], joined
    a.sync()
    b.send("JOIN 0")
    parts = [a.expect("PART").params[0] for _ in range(2)]
    assert sorted(parts) == ["#k1", "#k2"], parts
    out = b.sync()
    assert sorted(m.params[0] for m in find(out, "PART")) == ["#free", "#k1", "#k2"], out


def test_bad_channel_name(irc):
    net = irc()
    a = net.user("alice")
    for bad in ("nochan", "#", "#a\x07b"):
        a.send("JOIN %s" % bad)
        out = a.sync()
        assert not find(out, "JOIN"), (bad, out)
        assert numerics(out) and numerics(out)[0] in ("403", "476", "479"), (bad, out)


def test_channel_destroyed_when_last_leaves(irc):
    net = irc()
    a = net.user("alice")
    b = net.user("bob")
    a.join("#gone")
    a.send("TOPIC #gone :old topic")
    a.send("MODE #gone +k key")
    a.sync()
    a.send("PART #gone")
    a.expect("PART")
    # NAMES: only the end; LIST: not listed; MODE/TOPIC: 403.
    b.send("NAMES #gone")
    out = b.until(is_cmd("366"))
    assert numerics(out) == ["366"] and out[-1].params[1] == "#gone", out
    b.send("LIST")
    out = b.until(is_cmd("323"))
    assert not [m for m in find(out, "322") if m.params[1] == "#gone"], out
    m = numeric_reply(b, "MODE #gone")
    assert m.command == "403" and m.params[1] == "#gone", m
    m = numeric_reply(b, "TOPIC #gone")
    assert m.command in ("403", "442"), m
    # Joining again creates a new channel: op, no topic, no key, +nt.
    out = b.join("#gone")
    assert not find(out, "332") and only(out, "353").text.split() == ["@bob"], out
    assert channel_modes(b, "#gone")[0] == {"n", "t"}


def test_list_and_elist(irc):
    net = irc()
    a = net.user("alice")
    b = net.user("bob")
    a.join("#one")
    a.join("#two")
    b.join("#two")
    a.send("TOPIC #two :two people")
    a.sync()
    b.send("LIST")
    out = b.until(is_cmd("323"))
    rows = {m.params[1]: m for m in find(out, "322")}
    assert set(rows) == {"#one", "#two"}, out
    assert rows["#one"].params[2] == "1" and rows["#two"].params[2] == "2", out
    assert rows["#two"].text.endswith("two people"), rows["#two"]
    b.send("LIST >1")
    out = b.until(is_cmd("323"))
    assert [m.params[1] for m in find(out, "322")] == ["#two"], out
    b.send("LIST <2")
    out = b.until(is_cmd("323"))
    assert [m.params[1] for m in find(out, "322")] == ["#one"], out
    b.send("LIST #one")
    out = b.until(is_cmd("323"))
    assert [m.params[1] for m in find(out, "322")] == ["#one"], out
    # ELIST=CMNTU: masks, negated masks, creation and topic times (minutes ago), several names.
    b.send("LIST #t*")
    out = b.until(is_cmd("323"))
    assert [m.params[1] for m in find(out, "322")] == ["#two"], out
    b.send("LIST !#t*")
    out = b.until(is_cmd("323"))
    assert [m.params[1] for m in find(out, "322")] == ["#one"], out
    b.send("LIST C<60")  # created less than 60 minutes ago: both
    out = b.until(is_cmd("323"))
    assert sorted(m.params[1] for m in find(out, "322")) == ["#one", "#two"], out
    b.send("LIST C>60")  # created more than 60 minutes ago: none
    out = b.until(is_cmd("323"))
    assert find(out, "322") == [], out
    b.send("LIST T<60")  # topic set less than 60 minutes ago: only #two has one
    out = b.until(is_cmd("323"))
    assert [m.params[1] for m in find(out, "322")] == ["#two"], out
    b.send("LIST #one,#two")
    out = b.until(is_cmd("323"))
    assert sorted(m.params[1] for m in find(out, "322")) == ["#one", "#two"], out


# ---------------------------------------------------------------------------------------------
# PRIVMSG and NOTICE


def test_privmsg_and_notice(irc):
    net = irc()
    a = net.user("alice")
    b = net.user("bob")
    c = net.user("carol")
    d = net.user("dave")
    for x in (a, c, d):
        x.join("#c")
    a.sync()
    a.send("PRIVMSG bob :hello bob")
    assert_privmsg(b.expect("PRIVMSG"), src("alice"), "bob", "hello bob")
    a.send("NOTICE bob :a notice")
    assert_privmsg(b.expect("NOTICE"), src("alice"), "bob", "a notice", "NOTICE")
    a.send("PRIVMSG #c :hello channel")
    for x in (c, d):
        assert_privmsg(x.expect("PRIVMSG"), src("alice"), "#c", "hello channel")
    a.send("NOTICE #c :channel notice")
    for x in (c, d):
        assert_privmsg(x.expect("NOTICE"), src("alice"), "#c", "channel notice", "NOTICE")
    out = a.sync()
    assert not find(out, "PRIVMSG") and not find(out, "NOTICE"), out  # no echo without cap
    # Several targets.
    a.send("PRIVMSG bob,#c :to many")
    assert_privmsg(b.expect("PRIVMSG"), src("alice"), "bob", "to many")
    for x in (c, d):
        assert_privmsg(x.expect("PRIVMSG"), src("alice"), "#c", "to many")
    # Text with a leading colon and spaces survives.
    a.send("PRIVMSG bob ::-) two  spaces ")
    assert b.expect("PRIVMSG").text == ":-) two  spaces "
    # A single-word text without ':'.
    a.send("PRIVMSG bob word")
    assert b.expect("PRIVMSG").text == "word"
    # CTCP ACTION is relayed as is.
    a.send("PRIVMSG #c :\x01ACTION waves\x01")
    assert c.expect("PRIVMSG").text == "\x01ACTION waves\x01"
    settle(a, b, c, d)


def test_privmsg_errors(irc):
    net = irc()
    a = net.user("alice")
    b = net.user("bob")
    m = numeric_reply(a, "PRIVMSG nobody :hi")
    assert m.command == "401" and m.params[:2] == ["alice", "nobody"], m
    m = numeric_reply(a, "PRIVMSG #nochan :hi")
    assert m.command in ("401", "403") and m.params[:2] == ["alice", "#nochan"], m
    m = numeric_reply(a, "PRIVMSG bob")
    assert m.command == "412" and m.params[0] == "alice", m
    m = numeric_reply(a, "PRIVMSG bob :")
    assert m.command == "412", m
    m = numeric_reply(a, "PRIVMSG")
    assert m.command == "411" and m.params[0] == "alice", m
    # An error for one target does not stop the others.
    a.send("PRIVMSG nobody,bob :partly")
    assert b.expect("PRIVMSG").params == ["bob", "partly"]
    out = a.sync()
    assert numerics(out) == ["401"], out


def test_targmax(irc):
    net = irc()
    a = net.user("alice")
    tm = isupport(a.burst)["TARGMAX"]
    limits = dict(kv.split(":") for kv in tm.split(",") if ":" in kv)
    assert "PRIVMSG" in limits, tm
    if not limits["PRIVMSG"]:
        return  # no limit
    n = int(limits["PRIVMSG"])
    users = [net.user("u%d" % i) for i in range(n + 1)]
    a.send("PRIVMSG %s :many" % ",".join(u.nick for u in users))
    out = a.sync()
    got = [u for u in users if find(u.sync(), "PRIVMSG")]
    assert "407" in numerics(out) and len(got) <= n, (out, len(got))


def test_statusmsg(irc):
    net = irc()
    a = net.user("alice")
    b = net.user("bob")
    c = net.user("carol")
    d = net.user("dave")
    for x in (a, b, c, d):
        x.join("#c")
    a.send("MODE #c +o dave")
    a.send("MODE #c +v bob")
    a.sync()
    settle(b, c, d)
    a.send("PRIVMSG @#c :ops only")
    assert_privmsg(d.expect("PRIVMSG"), src("alice"), "@#c", "ops only")
    a.send("NOTICE +#c :voiced and up")
    assert_privmsg(d.expect("NOTICE"), src("alice"), "+#c", "voiced and up", "NOTICE")
    assert_privmsg(b.expect("NOTICE"), src("alice"), "+#c", "voiced and up", "NOTICE")
    a.sync()
    out = b.sync()
    assert not find(out, "PRIVMSG"), out
    out = c.sync()
    assert not find(out, "PRIVMSG") and not find(out, "NOTICE"), out


# ---------------------------------------------------------------------------------------------
# Channel modes and their enforcement


def two_in_channel(net, chan="#c"):
    a = net.user("alice")
    b = net.user("bob")
    a.join(chan)
    b.join(chan)
    a.sync()
    return a, b


def test_mode_changes_are_broadcast_and_queried(irc):
    net = irc()
    a, b = two_in_channel(net)
    a.send("MODE #c +mk secret")
    for x in (a, b):
        m = x.expect("MODE")
        assert m.source == src("alice") and m.params[0] == "#c", m
        assert m.params[1:] in (["+mk", "secret"], ["+km", "secret"]), m
    modes, args = channel_modes(a, "#c")
    assert modes == {"n", "t", "m", "k"} and args == ["secret"], (modes, args)
    a.send("MODE #c +l 5")
    m = b.expect("MODE")
    assert m.params[1:] == ["+l", "5"], m
    a.send("MODE #c -lk secret")
    m = b.expect("MODE")
    assert m.params[1] in ("-lk", "-kl"), m
    assert channel_modes(a, "#c")[0] == {"n", "t", "m"}
    # Errors.
    m = numeric_reply(b, "MODE #c +s")
    assert m.command == "482" and m.params[:2] == ["bob", "#c"], m
    m = numeric_reply(a, "MODE #c +Z")
    assert m.command == "472" and m.params[:2] == ["alice", "Z"], m
    m = numeric_reply(a, "MODE #c +o nobody")
    assert m.command in ("401", "441"), m
    m = numeric_reply(a, "MODE #nochan +m")
    assert m.command == "403", m


def test_moderated(irc):
    net = irc()
    a, b = two_in_channel(net)
    a.send("MODE #c +m")
    b.expect("MODE")
    m = numeric_reply(b, "PRIVMSG #c :may I?")
    assert m.command == "404" and m.params[:2] == ["bob", "#c"], m
    out = a.sync()
    assert not find(out, "PRIVMSG"), out
    a.send("PRIVMSG #c :ops may")
    assert b.expect("PRIVMSG").text == "ops may"
    a.send("MODE #c +v bob")
    m = b.expect("MODE")
    assert m.params[1:] == ["+v", "bob"], m
    b.send("PRIVMSG #c :now I may")
    assert a.expect("PRIVMSG").text == "now I may"


def test_no_external_messages(irc):
    net = irc()
    a = net.user("alice")
    out_ = net.user("outsider")
    a.join("#c")
    m = numeric_reply(out_, "PRIVMSG #c :from outside")
    assert m.command == "404" and m.params[1] == "#c", m
    a.send("MODE #c -n")
    a.expect("MODE")
    out_.send("PRIVMSG #c :from outside")
    assert_privmsg(a.expect("PRIVMSG"), src("outsider"), "#c", "from outside")


def test_topic_lock_and_topic(irc):
    net = irc()
    a, b = two_in_channel(net)
    m = numeric_reply(b, "TOPIC #c")
    assert m.command == "331" and m.params[:2] == ["bob", "#c"], m
    m = numeric_reply(b, "TOPIC #c :bob's topic")
    assert m.command == "482" and m.params[:2] == ["bob", "#c"], m
    before = int(time.time())
    a.send("TOPIC #c :the topic")
    for x in (a, b):
        m = x.expect("TOPIC")
        assert m.source == src("alice") and m.params == ["#c", "the topic"], m
    b.send("TOPIC #c")
    m332 = b.expect("332")
    assert m332.params == ["bob", "#c", "the topic"], m332
    m333 = b.expect("333")
    assert m333.params[:2] == ["bob", "#c"] and m333.params[2].split("!")[0] == "alice", m333
    assert before - 2 <= int(m333.params[3]) <= time.time() + 2, m333
    # A new member gets 332/333 after the JOIN and before NAMES.
    c = net.user("carol")
    out = c.join("#c")
    cmds = [m.command for m in out]
    assert cmds.index("JOIN") < cmds.index("332") < cmds.index("333") < cmds.index("353"), cmds
    # -t: anyone may set it.
    a.send("MODE #c -t")
    b.expect("MODE")
    b.send("TOPIC #c :bob's topic")
    assert a.expect("TOPIC").params == ["#c", "bob's topic"]
    # Clearing it.
    b.send("TOPIC #c :")
    assert a.expect("TOPIC").params == ["#c", ""]
    m = numeric_reply(c, "TOPIC #c")
    assert m.command == "331", m
    out_ = net.user("dave")
    m = numeric_reply(out_, "TOPIC #c :outsider")
    assert m.command == "442", m


def test_key(irc):
    net = irc()
    a = net.user("alice")
    b = net.user("bob")
    a.join("#c")
    a.send("MODE #c +k sesame")
    a.expect("MODE")
    m = numeric_reply(b, "JOIN #c")
    assert m.command == "475" and m.params[:2] == ["bob", "#c"], m
    m = numeric_reply(b, "JOIN #c wrong")
    assert m.command == "475", m
    out = b.join("#c", "sesame")
    assert find(out, "JOIN")
    assert a.expect("JOIN").source == src("bob")


def test_limit(irc):
    net = irc()
    a, b = two_in_channel(net)
    a.send("MODE #c +l 2")
    a.expect("MODE")
    c = net.user("carol")
    m = numeric_reply(c, "JOIN #c")
    assert m.command == "471" and m.params[:2] == ["carol", "#c"], m
    b.send("PART #c")
    a.expect("PART")
    c.join("#c")


def test_invite_only_invite_and_invite_notify(irc):
    net = irc()
    a = net.user("alice")
    b = net.user("bob", caps=["invite-notify"])
    c = net.user("carol")
    plain = net.user("dave")
    for x in (a, b, plain):
        x.join("#c")
    a.send("MODE #c +i")
    a.send("MODE #c +o bob")
    a.sync()
    m = numeric_reply(c, "JOIN #c")
    assert m.command == "473" and m.params[:2] == ["carol", "#c"], m
    m = numeric_reply(plain, "INVITE carol #c")
    assert m.command == "482", m
    m = numeric_reply(a, "INVITE bob #c")
    assert m.command == "443" and m.params[1:3] == ["bob", "#c"], m
    m = numeric_reply(a, "INVITE nobody #c")
    assert m.command == "401", m
    settle(a, b, plain)
    a.send("INVITE carol #c")
    m = a.expect("341")
    assert m.params == ["alice", "carol", "#c"], m
    m = c.expect("INVITE")
    assert m.source == src("alice") and m.params == ["carol", "#c"], m
    m = b.expect("INVITE")  # invite-notify
    assert m.source == src("alice") and m.params == ["carol", "#c"], m
    a.sync()
    out = plain.sync()
    assert not find(out, "INVITE"), out  # no cap, no notification
    c.join("#c")


def test_bans_exceptions_and_invex(irc):
    net = irc()
    a = net.user("alice")
    c = net.user("carol")
    e = net.user("eve")
    a.join("#c")
    a.send("MODE #c +b c?rol*!*@*")
    m = a.expect("MODE")
    assert m.params == ["#c", "+b", "c?rol*!*@*"], m
    m = numeric_reply(c, "JOIN #c")
    assert m.command == "474" and m.params[:2] == ["carol", "#c"], m
    e.join("#c")  # not matched
    # The list.
    a.send("MODE #c +b")
    out = a.until(is_cmd("368"))
    bans = find(out, "367")
    assert [m.params[:3] for m in bans] == [["alice", "#c", "c?rol*!*@*"]], out
    assert len(bans[0].params) in (3, 5), bans[0]
    if len(bans[0].params) == 5:
        assert bans[0].params[3].split("!")[0] == "alice", bans[0]
        assert abs(int(bans[0].params[4]) - time.time()) < 10, bans[0]
    assert out[-1].params[:2] == ["alice", "#c"], out
    # An exception lets carol in despite the ban.
    a.send("MODE #c +e carol!*@*")
    m = a.expect("MODE")
    assert m.params == ["#c", "+e", "carol!*@*"], m
    c.join("#c")
    a.send("MODE #c +e")
    out = a.until(is_cmd("349"))
    assert [m.params[2] for m in find(out, "348")] == ["carol!*@*"], out
    # A banned member cannot speak.
    a.send("MODE #c +b eve!*@*")
    e.expect("MODE")
    a.sync()
    m = numeric_reply(e, "PRIVMSG #c :can I?")
    assert m.command == "404", m
    # Removing the ban.
    a.send("MODE #c -b c?rol*!*@*")
    m = a.expect("MODE")
    assert m.params == ["#c", "-b", "c?rol*!*@*"], m
    # +I lets a matching user into a +i channel without an invitation.
    a.send("MODE #c +i")
    a.send("MODE #c +I frank!*@*")
    a.sync()
    f = net.user("frank")
    f.join("#c")
    a.send("MODE #c +I")
    out = a.until(is_cmd("347"))
    assert [m.params[2] for m in find(out, "346")] == ["frank!*@*"], out
    g = net.user("gina")
    m = numeric_reply(g, "JOIN #c")
    assert m.command == "473", m


def test_secret_channel(irc):
    net = irc()
    a = net.user("alice")
    b = net.user("bob")
    a.join("#hidden")
    a.join("#open")
    a.send("MODE #hidden +s")
    a.sync()
    b.send("LIST")
    out = b.until(is_cmd("323"))
    assert [m.params[1] for m in find(out, "322")] == ["#open"], out
    a.send("LIST")
    out = a.until(is_cmd("323"))
    assert sorted(m.params[1] for m in find(out, "322")) == ["#hidden", "#open"], out
    out = b.whois("alice")
    chans = " ".join(m.text for m in out.get("319", [])).split()
    assert chans == ["@#open"], out
    out = a.whois("alice")
    chans = " ".join(m.text for m in out.get("319", [])).split()
    assert sorted(chans) == ["@#hidden", "@#open"], out
    b.send("NAMES #hidden")
    out = b.until(is_cmd("366"))
    assert numerics(out) == ["366"], out
    a.send("NAMES #hidden")
    out = a.until(is_cmd("366"))
    assert only(out, "353").params[1] == "@", out  # "@": secret channel


def test_prefixes_multi_prefix_and_userhost_in_names(irc):
    net = irc()
    a = net.user("alice")
    b = net.user("bob")
    mp = net.user("mp", caps=["multi-prefix"])
    uh = net.user("uh", caps=["userhost-in-names"])
    for x in (a, b, mp, uh):
        x.join("#c")
    a.send("MODE #c +ov bob bob")
    m = a.expect("MODE")
    assert m.params[1:] == ["+ov", "bob", "bob"], m
    names = a.names("#c")
    assert sorted(names) == ["@alice", "@bob", "mp", "uh"], names
    names = mp.names("#c")
    assert sorted(names) == ["@+bob", "@alice", "mp", "uh"], names
    names = uh.names("#c")
    assert sorted(names) == sorted(["@" + src("alice"), "@" + src("bob"), src("mp"),
                                    src("uh")]), names
    # WHO flags.
    a.send("WHO #c")
    out = a.until(is_cmd("315"))
    flags = {m.params[5]: m.params[6] for m in find(out, "352")}
    assert flags == {"alice": "H@", "bob": "H@", "mp": "H", "uh": "H"}, out
    mp.send("WHO #c")
    out = mp.until(is_cmd("315"))
    flags = {m.params[5]: m.params[6] for m in find(out, "352")}
    assert flags["bob"] == "H@+", out
    # Voice only.
    a.send("MODE #c -o bob")
    a.expect("MODE")
    assert "+bob" in a.names("#c")
    a.send("MODE #c -v bob")
    a.expect("MODE")
    # MODES=4: four prefix changes at once.
    a.send("MODE #c +vvvv alice bob mp uh")
    m = a.expect("MODE")
    assert m.params[1] == "+vvvv" and sorted(m.params[2:]) == ["alice", "bob", "mp", "uh"], m


def test_kick(irc):
    net = irc()
    a, b = two_in_channel(net)
    c = net.user("carol")
    c.join("#c")
    settle(a, b)
    m = numeric_reply(b, "KICK #c carol :go away")
    assert m.command == "482" and m.params[:2] == ["bob", "#c"], m
    m = numeric_reply(a, "KICK #c nobody")
    assert m.command in ("401", "441"), m
    out_ = net.user("dave")
    m = numeric_reply(a, "KICK #c dave")
    assert m.command == "441" and m.params[1:3] == ["dave", "#c"], m
    m = numeric_reply(out_, "KICK #c bob")
    assert m.command in ("442", "482"), m
    a.send("KICK #c carol :behave")
    for x in (a, b, c):
        m = x.expect("KICK")
        assert m.source == src("alice") and m.params == ["#c", "carol", "behave"], m
    assert sorted(a.names("#c")) == ["@alice", "bob"]
    m = numeric_reply(c, "PRIVMSG #c :still here?")
    assert m.command == "404", m
    # Without a reason there is still a comment parameter.
    a.send("KICK #c bob")
    m = b.expect("KICK")
    assert m.params[:2] == ["#c", "bob"] and len(m.params) == 3, m


# ---------------------------------------------------------------------------------------------
# WHO, WHOIS, WHOWAS, ISON, USERHOST, AWAY


def test_who_and_whox(irc):
    net = irc()
    a = net.user("alice", real="Alice Liddell")
    b = net.user("bob", real="Bob Builder")
    a.join("#c")
    b.join("#c")
    b.send("AWAY :out")
    b.expect("306")
    a.send("WHO #c")
    out = a.until(is_cmd("315"))
    rows = {m.params[5]: m for m in find(out, "352")}
    assert set(rows) == {"alice", "bob"}, out
    assert rows["alice"].params == ["alice", "#c", "~alice", "127.0.0.1", SERVER, "alice",
                                    "H@", "0 Alice Liddell"], rows["alice"]
    assert rows["bob"].params == ["alice", "#c", "~bob", "127.0.0.1", SERVER, "bob",
                                  "G", "0 Bob Builder"], rows["bob"]
    assert out[-1].params[:2] == ["alice", "#c"], out
    # A nick.
    a.send("WHO bob")
    out = a.until(is_cmd("315"))
    m = only(out, "352")
    assert m.params[2:6] == ["~bob", "127.0.0.1", SERVER, "bob"] and m.params[6][0] == "G", m
    assert out[-1].params[1] == "bob"
    # WHOX: fields in the order t c u i h s n f d l a o r.
    a.send("WHO #c %tnuhraf,42")
    out = a.until(is_cmd("315"))
    rows = {m.params[4]: m.params for m in find(out, "354")}
    assert not find(out, "352"), out
    assert rows == {
        "alice": ["alice", "42", "~alice", "127.0.0.1", "alice", "H@", "0", "Alice Liddell"],
        "bob": ["alice", "42", "~bob", "127.0.0.1", "bob", "G", "0", "Bob Builder"],
    }, out
    a.send("WHO #c %cn")
    out = a.until(is_cmd("315"))
    assert sorted(m.params for m in find(out, "354")) == [["alice", "#c", "alice"],
                                                          ["alice", "#c", "bob"]], out


def test_whois(irc):
    net = irc()
    a = net.user("alice", real="Alice Liddell")
    b = net.user("bob")
    a.join("#c")
    a.join("#d")
    b.join("#d")
    before = int(time.time())
    a.send("PRIVMSG bob :hi")
    b.expect("PRIVMSG")
    out = b.whois("alice")
    assert out["311"][0].params == ["bob", "alice", "~alice", "127.0.0.1", "*",
                                    "Alice Liddell"], out
    assert out["312"][0].params[:3] == ["bob", "alice", SERVER], out
    chans = " ".join(m.text for m in out["319"]).split()
    assert sorted(chans) == ["@#c", "@#d"], out
    m317 = out["317"][0]
    assert m317.params[:2] == ["bob", "alice"], m317
    assert 0 <= int(m317.params[2]) <= 3 and abs(int(m317.params[3]) - before) <= 10, m317
    assert out["318"][0].params[:2] == ["bob", "alice"], out
    for k in ("301", "313", "330", "671"):
        assert k not in out, (k, out)
    for msgs in out.values():
        for m in msgs:
            assert m.params[:2] == ["bob", "alice"], m
    # Away.
    a.send("AWAY :lunch")
    a.expect("306")
    out = b.whois("alice")
    assert out["301"][0].params == ["bob", "alice", "lunch"], out
    # Unknown nick: 401 then 318.
    b.send("WHOIS nobody")
    out = b.until(is_cmd("318"))
    assert numerics(out) == ["401", "318"] and out[0].params[1] == "nobody", out
    m = numeric_reply(b, "WHOIS")
    assert m.command in ("431", "461"), m


def test_whowas(irc):
    net = irc()
    a = net.user("alice")
    b = net.user("bob", real="Bob Builder")
    b.send("QUIT :bye")
    b.wait_closed()
    time.sleep(t(0.1))
    a.send("WHOWAS bob")
    out = a.until(is_cmd("369"))
    m = find(out, "314")
    assert m and m[0].params == ["alice", "bob", "~bob", "127.0.0.1", "*", "Bob Builder"], out
    assert out[-1].params[:2] == ["alice", "bob"], out
    a.send("WHOWAS nobody")
    out = a.until(is_cmd("369"))
    assert numerics(out) == ["406", "369"] and out[0].params[1] == "nobody", out
    # A nick change is remembered too.
    c = net.user("carol")
    c.send("NICK caroline")
    c.expect("NICK")
    a.send("WHOWAS carol")
    out = a.until(is_cmd("369"))
    assert find(out, "314") and find(out, "314")[0].params[1] == "carol", out
    m = numeric_reply(a, "WHOWAS")
    assert m.command in ("431", "461"), m


def test_ison_and_userhost(irc):
    net = irc()
    a = net.user("alice")
    b = net.user("bob")
    b.send("AWAY :away")
    b.expect("306")
    a.send("ISON alice nobody BOB")
    m = a.expect("303")
    assert m.params[0] == "alice" and sorted(x.lower() for x in m.text.split()) == \
        ["alice", "bob"], m
    a.send("ISON nobody")
    m = a.expect("303")
    assert m.text.strip() == "", m
    a.send("USERHOST alice bob nobody")
    m = a.expect("302")
    assert sorted(m.text.split()) == ["alice=+~alice@127.0.0.1", "bob=-~bob@127.0.0.1"], m


def test_away(irc):
    net = irc()
    a = net.user("alice")
    b = net.user("bob")
    c = net.user("carol", caps=["away-notify"])
    d = net.user("dave")
    for x in (b, c, d):
        x.join("#c")
    b.send("AWAY :gone fishing")
    m = b.expect("306")
    assert m.params[0] == "bob", m
    m = c.expect("AWAY")
    assert m.source == src("bob") and m.params == ["gone fishing"], m
    b.sync()
    out = d.sync()
    assert not find(out, "AWAY"), out
    a.send("PRIVMSG bob :are you there?")
    m = a.expect("301")
    assert m.params == ["alice", "bob", "gone fishing"], m
    assert b.expect("PRIVMSG").text == "are you there?"
    # NOTICE never gets an automatic reply.
    a.send("NOTICE bob :psst")
    assert b.expect("NOTICE").text == "psst"
    out = a.sync()
    assert not find(out, "301"), out
    # Nor does a channel message.
    d.send("PRIVMSG #c :channel talk")
    out = d.sync()
    assert not find(out, "301"), out
    # Back.
    b.send("AWAY")
    m = b.expect("305")
    assert m.params[0] == "bob", m
    m = c.expect("AWAY")
    assert m.source == src("bob") and m.params == [], m
    a.send("PRIVMSG bob :back?")
    b.expect("PRIVMSG")
    out = a.sync()
    assert not find(out, "301"), out


# ---------------------------------------------------------------------------------------------
# Operators


def test_oper_kill_wallops(irc):
    net = irc(opers={"root": "rootpw"})
    a = net.user("alice")
    b = net.user("bob")
    w = net.user("wally")
    a.join("#c")
    b.join("#c")
    w.join("#c")
    # Not an operator yet.
    m = numeric_reply(a, "KILL bob :nope")
    assert m.command == "481" and m.params[0] == "alice", m
    m = numeric_reply(a, "WALLOPS :nope")
    assert m.command == "481", m
    m = numeric_reply(a, "OPER root wrongpw")
    assert m.command in ("464", "491"), m
    m = numeric_reply(a, "OPER nobody rootpw")
    assert m.command in ("464", "491"), m
    a.send("OPER root rootpw")
    out = a.until(is_cmd("381"))
    assert out[-1].params[0] == "alice", out
    out += a.sync()
    modes = find(out, "MODE")
    assert modes and modes[0].params[0] == "alice" and "o" in modes[0].params[-1], out
    out = b.whois("alice")
    assert out["313"][0].params[:2] == ["bob", "alice"], out
    b.send("USERHOST alice")
    assert b.expect("302").text.strip() == "alice*=+~alice@127.0.0.1"
    a.send("WHO #c")
    out = a.until(is_cmd("315"))
    flags = {m.params[5]: m.params[6] for m in find(out, "352")}
    assert flags["alice"] in ("H*@", "H@*"), flags
    # WALLOPS reaches +w users only.
    w.send("MODE wally +w")
    m = w.expect("MODE")
    assert m.params[0] == "wally" and "w" in m.params[1], m
    a.send("WALLOPS :system going down")
    m = w.expect("WALLOPS")
    assert m.source.split("!")[0] in ("alice", SERVER) and m.params == ["system going down"], m
    a.sync()
    out = b.sync()
    assert not find(out, "WALLOPS"), out
    # KILL.
    a.send("KILL bob :spamming")
    out = b.wait_closed()
    err = only(out, "ERROR")
    assert "Killed" in err.text, err
    for x in (w,):
        m = x.expect("QUIT")
        assert m.source == src("bob") and m.text.startswith("Killed"), m
        assert "spamming" in m.text, m
    m = numeric_reply(a, "KILL nobody :x")
    assert m.command == "401", m


def test_oper_overrides_channel_rules(irc):
    net = irc(opers={"root": "rootpw"})
    a = net.user("alice")
    o = net.user("oscar")
    a.join("#c")
    a.send("MODE #c +ikl key 1")
    a.send("MODE #c +mb *!*@*")
    a.sync()
    assert channel_modes(a, "#c")[0] == set("iklmnt")
    o.send("OPER root rootpw")
    o.expect("381")
    o.join("#c", "key")  # +i +k +l 1 +b: all overridden
    o.send("PRIVMSG #c :opers may speak")
    assert a.expect("PRIVMSG").text == "opers may speak"
    o.send("MODE #c +v alice")
    m = a.expect("MODE")
    assert m.source == src("oscar") and m.params[1:] == ["+v", "alice"], m


def test_rehash_reloads_the_motd(irc):
    net = irc(opers={"root": "rootpw"}, motd="first motd\n")
    a = net.user("alice")
    assert [m.text.lstrip("- ") for m in find(a.burst, "372")] == ["first motd"]
    path2 = os.path.join(net.d.tmp, "motd2.txt")
    with open(path2, "w") as f:
        f.write("second motd\n")
    net.set_config(motd=path2)
    m = numeric_reply(a, "REHASH")
    assert m.command == "481", m
    # Nothing changes before the REHASH.
    a.send("MOTD")
    out = a.until(is_cmd("376"))
    assert [m.text.lstrip("- ") for m in find(out, "372")] == ["first motd"], out
    a.send("OPER root rootpw")
    a.expect("381")
    a.send("REHASH")
    m = a.expect("382")
    assert m.params[0] == "alice" and m.params[1] == net.d.config_path, m
    a.send("MOTD")
    out = a.until(is_cmd("376"))
    assert [m.text.lstrip("- ") for m in find(out, "372")] == ["second motd"], out
    # A new password applies to new connections after a REHASH.
    net.set_config(password="newpass")
    a.send("REHASH")
    a.expect("382")
    c = net.conn()
    c.send("NICK late")
    c.send("USER late 0 * :Late")
    out = c.wait_closed()
    assert "464" in numerics(out), out
    net.user("later", password="newpass")


def test_chghost(irc):
    net = irc(opers={"root": "rootpw"})
    a = net.user("alice")
    b = net.user("bob", caps=["chghost"])
    a.join("#c")
    b.join("#c")
    m = numeric_reply(b, "CHGHOST alice x y.example")
    assert m.command == "481", m
    a.send("OPER root rootpw")
    a.expect("381")
    a.sync()
    a.send("CHGHOST alice newuser cloak.example")
    m = b.expect("CHGHOST")
    assert m.source == src("alice") and m.params == ["newuser", "cloak.example"], m
    out = b.whois("alice")
    assert out["311"][0].params[2:4] == ["newuser", "cloak.example"], out
    a.send("PRIVMSG #c :from the new host")
    assert b.expect("PRIVMSG").source == "alice!newuser@cloak.example"


# ---------------------------------------------------------------------------------------------
# IRCv3 message features


def test_echo_message(irc):
    net = irc()
    a = net.user("alice", caps=["echo-message"])
    b = net.user("bob")
    a.join("#c")
    b.join("#c")
    a.send("PRIVMSG #c :echoed")
    assert_privmsg(a.expect("PRIVMSG"), src("alice"), "#c", "echoed")
    assert_privmsg(b.expect("PRIVMSG"), src("alice"), "#c", "echoed")
    a.send("PRIVMSG bob :private")
    assert_privmsg(a.expect("PRIVMSG"), src("alice"), "bob", "private")
    assert_privmsg(b.expect("PRIVMSG"), src("alice"), "bob", "private")
    a.send("NOTICE bob :notice")
    assert_privmsg(a.expect("NOTICE"), src("alice"), "bob", "notice", "NOTICE")
    assert_privmsg(b.expect("NOTICE"), src("alice"), "bob", "notice", "NOTICE")
    b.send("PRIVMSG #c :no echo for bob")
    a.expect("PRIVMSG")
    out = b.sync()
    assert not find(out, "PRIVMSG"), out


def test_server_time(irc):
    net = irc()
    a = net.user("alice", caps=["server-time"])
    b = net.user("bob")
    b.send("PRIVMSG alice :what time is it?")
    m = a.expect("PRIVMSG")
    ts = m.tags.get("time")
    assert ts and TIME_TAG.fullmatch(ts), m
    when = calendar.timegm(time.strptime(ts[:19], "%Y-%m-%dT%H:%M:%S"))
    assert abs(when - time.time()) < 10, (ts, time.time())
    a.send("PRIVMSG bob :no tags for you")
    m = b.expect("PRIVMSG")
    assert m.tags == {} and not m.raw.startswith("@"), m


def test_message_tags_and_tagmsg(irc):
    net = irc()
    a = net.user("alice", caps=["message-tags"])
    b = net.user("bob", caps=["message-tags"])
    c = net.user("carol")
    for x in (a, b, c):
        x.join("#c")
    a.sync()
    a.send("@+example.com/mood=happy\\sdays;+draft/reply=abc PRIVMSG #c :tagged")
    m = b.expect("PRIVMSG")
    assert m.tags.get("+example.com/mood") == "happy days", m
    assert m.tags.get("+draft/reply") == "abc", m
    assert m.text == "tagged", m
    m = c.expect("PRIVMSG")
    assert not any(k.startswith("+") for k in m.tags) and m.text == "tagged", m
    # Tags a client may not set are not relayed.
    a.send("@account=forged;time=1999-01-01T00:00:00.000Z;+ok=1 PRIVMSG #c :forgery")
    m = b.expect("PRIVMSG")
    assert m.tags.get("account") is None and m.tags.get("+ok") == "1", m
    assert m.tags.get("time", "").startswith("1999") is False, m
    # TAGMSG reaches only clients with message-tags.
    a.send("@+typing=active TAGMSG #c")
    m = b.expect("TAGMSG")
    assert m.source == src("alice") and m.params == ["#c"] and m.tags.get("+typing") == \
        "active", m
    a.send("@+typing=done TAGMSG bob")
    m = b.expect("TAGMSG")
    assert m.params == ["bob"] and m.tags.get("+typing") == "done", m
    a.sync()
    out = c.sync()
    assert not find(out, "TAGMSG"), out
    # msgid: if the server sends one, every recipient gets the same id.
    a.send("PRIVMSG #c :with an id?")
    mb = b.expect("PRIVMSG")
    if "msgid" in mb.tags:
        assert mb.tags["msgid"], mb


def test_labeled_response(irc):
    net = irc()
    caps = ["labeled-response", "batch", "message-tags"]
    a = net.user("alice", caps=caps)
    b = net.user("bob")
    # One reply: labeled.
    a.send("@label=p1 PING :x")
    m = a.expect("PONG")
    assert m.tags.get("label") == "p1" and m.text == "x", m
    # No reply: ACK.
    a.send("@label=a1 PRIVMSG bob :hi")
    m = a.expect("ACK")
    assert m.tags.get("label") == "a1" and m.source == SERVER and m.params == [], m
    b.expect("PRIVMSG")
    # An error reply is labeled too.
    a.send("@label=e1 FROBNICATE")
    m = a.expect("421")
    assert m.tags.get("label") == "e1", m
    # Several replies: one batch.
    a.send("@label=w1 WHOIS bob")
    start = a.expect("BATCH")
    assert start.tags.get("label") == "w1" and start.params[0].startswith("+"), start
    assert start.params[1] == "labeled-response", start
    ref = start.params[0][1:]
    inside = []
    while True:
        m = a.recv()
        if m.command == "BATCH":
            assert m.params == ["-" + ref], m
            break
        assert m.tags.get("batch") == ref and "label" not in m.tags, m
        inside.append(m)
    assert [m.command for m in inside][0] == "311" and inside[-1].command == "318", inside
    # Without the cap a label is ignored.
    b.send("@label=zz PING :y")
    m = b.expect("PONG")
    assert "label" not in m.tags, m


def test_setname(irc):
    net = irc()
    a = net.user("alice", caps=["setname"])
    b = net.user("bob", caps=["setname"])
    c = net.user("carol")
    for x in (a, b, c):
        x.join("#c")
    a.sync()
    a.send("SETNAME :Alice in Wonderland")
    for x in (a, b):
        m = x.expect("SETNAME")
        assert m.source == src("alice") and m.params == ["Alice in Wonderland"], m
    a.sync()
    out = c.sync()
    assert not find(out, "SETNAME"), out
    out = c.whois("alice")
    assert out["311"][0].text == "Alice in Wonderland", out


def test_account_notify_cap_is_acked(irc):
    net = irc()
    a = net.user("alice", caps=["account-notify", "extended-join", "cap-notify"])
    assert a.nick == "alice"


# ---------------------------------------------------------------------------------------------
# Input limits and bad input


def test_line_too_long(irc):
    net = irc()
    a = net.user("alice")
    b = net.user("bob")
    line = "PRIVMSG bob :" + "x" * (600 - len("PRIVMSG bob :"))
    a.send(line)
    m = a.expect(lambda m: m.command.isdigit() or m.command == "FAIL")
    assert m.command == "417" and m.params[0] == "alice", m
    a.sync()
    out = b.sync()
    assert not find(out, "PRIVMSG"), out
    # Exactly 512 bytes with CR LF is fine.
    text = "y" * (510 - len("PRIVMSG bob :"))
    a.send("PRIVMSG bob :" + text)
    m = b.expect("PRIVMSG")
    assert text.startswith(m.text) and len(m.text) > 400, m
    assert len(m.bytes) <= 510, len(m.bytes)
    out = a.sync()
    assert "417" not in numerics(out), out


def test_tags_length(irc):
    net = irc()
    a = net.user("alice", caps=["message-tags"])
    b = net.user("bob", caps=["message-tags"])
    big = "@+big=" + "v" * 4000
    a.send(big + " PRIVMSG bob :big tags")
    m = b.expect("PRIVMSG")
    assert m.tags.get("+big") == "v" * 4000, len(m.tags.get("+big") or "")
    a.send("@+huge=" + "v" * 5000 + " PRIVMSG bob :huge tags")
    m = a.expect(lambda m: m.command.isdigit() or m.command == "FAIL")
    assert m.command == "417", m
    a.sync()
    out = b.sync()
    assert not find(out, "PRIVMSG"), out


def test_invalid_utf8_rejected(irc):
    net = irc()
    a = net.user("alice", caps=["standard-replies"])
    b = net.user("bob")
    a.sendraw(b"PRIVMSG bob :caf\xe9 \xff\xfe\r\n")
    out = a.sync()
    errs = [m for m in out if m.command in ("FAIL", "NOTICE") or
            (m.command.isdigit() and int(m.command) >= 400)]
    assert errs, out
    out = b.sync()
    assert not find(out, "PRIVMSG"), out
    # Valid UTF-8 goes through untouched.
    a.send("PRIVMSG bob :caf\u00e9 \u263a \U0001f600")
    m = b.expect("PRIVMSG")
    assert m.bytes.endswith("caf\u00e9 \u263a \U0001f600".encode()), m


def test_garbage_does_not_hurt(irc):
    net = irc(max_per_ip=100)
    keeper = net.user("keeper")
    keeper.join("#c")
    rnd = random.Random(7)
    payloads = [
        rnd.randbytes(64 * 1024),
        b"\x00" * 1000 + b"\r\n" + b"NICK \x00bad\r\nUSER \x00 0 * :\x00\r\n",
        b"x" * (1 << 20),  # one huge line, no LF
        b"\r\n" * 1000 + b"   \r\n" + b"\n\n\r\r\n",
        b":onlyaprefix\r\n@tags=only\r\n@\r\n:\r\n@a;b;c;;= :x\r\n" + b" " * 600 + b"\r\n",
        b"PRIVMSG " + b",".join(b"#c" for _ in range(200)) + b" :dup targets\r\n",
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + rnd.randbytes(500),  # a ClientHello
        b"NICK a\r\nUSER a 0 * :a\r\n" + b"MODE #c " + b"+b" * 200 + b"\r\n",
        b"CAP LS 302\r\nCAP REQ :" + b"x" * 500 + b"\r\nAUTHENTICATE " + b"A" * 400 + b"\r\n",
    ]
    for data in payloads:
        g = net.conn(timeout=t(2))
        try:
            g.sendraw(data)
        except OSError:
            pass
        g.close()
    # A registered client that sends nonsense too.
    junk = net.user("junk")
    junk.sendraw(b"\x00\x01\x02\r\n\xff\xfe\r\nPRIVMSG\r\nMODE\r\nKICK\r\nJOIN ,,,,\r\n"
                 b"WHO %%%%,\r\nWHO #c %tnuhraf,\r\nWHOWAS ,\r\nLIST >x\r\nTOPIC\r\n"
                 b"MODE #c +l -5\r\nMODE #c +l 99999999999999999999\r\nMODE #c +k\r\n"
                 b"PING\r\nISON\r\nUSERHOST\r\n")
    try:
        junk.sync(timeout=t(5))
    except Closed:
        pass
    junk.close()
    # Every garbage connection is gone from the server's books (LUSERS: no unknown
    # connections left, only keeper as a client).

    def settled():
        keeper.send("LUSERS")
        out = keeper.until(is_cmd("266"))
        unknown = [m.params[1] for m in find(out, "253")]
        m255 = only(out, "255")
        return unknown in ([], ["0"]) and re.search(r"I have 1 clients", m255.text)

    wait_until(settled, timeout=t(10), interval=0.3, what="the garbage connections to go")
    keeper.sync()
    keeper.send("PRIVMSG #c :still fine")
    late = net.user("late")
    late.join("#c")
    keeper.send("PRIVMSG #c :hello late")
    assert late.expect("PRIVMSG").text == "hello late"


# ---------------------------------------------------------------------------------------------
# Flood control, connection limits, SendQ


def test_flood_burst_then_delay(irc):
    net = irc(flood_burst=10, flood_rate=2)
    a = net.user("alice")
    time.sleep(t(3))  # whatever registration used is paid back
    start = time.monotonic()
    a.sendraw("".join("PING :b%d\r\n" % i for i in range(14)))
    times = []
    for i in range(14):
        a.expect(lambda m, i=i: m.command == "PONG" and m.text == "b%d" % i,
                 timeout=t(10))
        times.append(time.monotonic() - start)
    assert times[9] < t(1.0), times  # the burst at once
    assert times[13] >= 1.0, times   # 4 more at 2 a second are delayed, not refused
    assert times[13] < t(6), times


def test_excess_flood_disconnects(irc):
    net = irc(flood_burst=10, flood_rate=2)
    a = net.user("alice")
    b = net.user("bob")
    a.join("#f")
    b.join("#f")
    a.sync()
    lines = b"".join(b"PRIVMSG #f :flood line %04d %s\r\n" % (i, b"z" * 60)
                     for i in range(600))
    try:
        a.sock.settimeout(t(10))
        a.sock.sendall(lines)
    except OSError:  # (the server may close before taking it all)
        pass
    # bob is still served during and after.
    b.send("PING :during")
    got = b.until(lambda m: m.command == "PONG" and m.text == "during", timeout=t(2))
    out = a.wait_closed(timeout=t(10))
    err = find(out, "ERROR")  # (may be lost if the close resets the connection)
    assert all("Excess Flood" in m.text for m in err), err
    if not find(got, "QUIT"):
        got += b.until(is_cmd("QUIT"), timeout=t(5))
    m = only(got, "QUIT")
    assert m.source == src("alice") and m.text == "Excess Flood", m
    received = find(got, "PRIVMSG")
    assert len(received) < 600, len(received)
    b.sync()


def test_max_per_ip(irc):
    net = irc(max_per_ip=3)
    cs = [net.user("u%d" % i) for i in range(3)]
    extra = net.conn()
    out = extra.wait_closed()
    m = only(out, "ERROR")
    # (the service's description words it "Closing link: too many connections from your
    # address"; the wording around it is free)
    assert m.text.startswith("Closing link") and \
        "too many connections from your address" in m.text.lower(), m
    # Another address is not counted with these.
    other = net.conn(source="127.0.0.2")
    other.register("elsewhere")
    # After one leaves, a new one is let in.
    cs[0].send("QUIT")
    cs[0].wait_closed()
    cs[0].close()

    def fits():
        c = net.conn()
        try:
            c.send("NICK again")
            c.send("USER again 0 * :Again")
            c.expect("001", timeout=t(2))
            return True
        except HarnessError:
            c.close()
            return False

    wait_until(fits, timeout=t(5), interval=0.2, what="a fourth connection after a QUIT")
    for c in cs[1:]:
        c.sync()


def test_sendq_exceeded_drops_the_slow_reader(irc):
    net = irc(opers={"root": "rootpw"}, max_output=65536)
    flooder = net.user("flooder")
    flooder.send("OPER root rootpw")
    flooder.expect("381")
    watcher = net.user("watcher")
    slow = net.conn("slow", rcvbuf=4096)
    slow.register("slow")
    for c in (flooder, watcher, slow):
        c.join("#q")
    flooder.sync()
    watcher.sync()
    # slow never reads again.
    text = b"x" * 380
    deadline = time.monotonic() + t(30)
    quit_msg = None
    i = 0
    while quit_msg is None:
        assert time.monotonic() < deadline and i < 40000, \
            "slow reader not dropped after %d messages" % i
        batch = b"".join(b"PRIVMSG #q :%06d %s\r\n" % (i + k, text) for k in range(100))
        flooder.sock.sendall(batch)
        i += 100
        last = "%06d" % (i - 1)
        while True:
            m = watcher.recv(timeout=t(10))
            if m.command == "QUIT" and m.nick == "slow":
                quit_msg = m
                break
            if m.command == "PRIVMSG" and m.text.startswith(last):
                break
    assert quit_msg.source == src("slow") and quit_msg.text == "Max SendQ exceeded", quit_msg
    # The daemon goes on serving everybody else.
    flooder.send("PRIVMSG #q :after")
    watcher.expect(lambda m: m.command == "PRIVMSG" and m.text == "after", timeout=t(10))
    assert "slow" not in [n.lstrip("@+") for n in watcher.names("#q")]
    net.user("newcomer")


def test_thousand_clients_in_one_channel(irc):
    n = 1000
    need = n + 256
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < need:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (max(need, min(hard, 65536)),
                                                        max(hard, need)))
        except (ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if resource.getrlimit(resource.RLIMIT_NOFILE)[0] < need:
        pytest.skip("cannot raise the open file limit to %d" % need)
    net = irc()  # started after raising the limit: the daemon inherits it
    host, port = net.addr
    started = time.monotonic()
    sel = selectors.DefaultSelector()
    socks = []
    state = {}
    try:
        for i in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.%d.%d" % (1 + i // 2000, 1 + (i // 8) % 250), 0))
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            s.settimeout(t(10))
            s.connect((host, port))
            nick = "u%04d" % i
            s.sendall(b"NICK %s\r\nUSER %s 0 * :x\r\nJOIN #big\r\n" % (nick.encode(),
                                                                       nick.encode()))
            s.setblocking(False)
            socks.append(s)
            state[s] = {"i": i, "buf": b"", "joined": False, "got": False, "names": []}
            sel.register(s, selectors.EVENT_READ)

        def pump(done, limit, what):
            deadline = time.monotonic() + limit
            while not done():
                if time.monotonic() > deadline:
                    raise HarnessError("timed out waiting for %s" % what)
                for key, _ in sel.select(0.2):
                    s = key.fileobj
                    st = state[s]
                    try:
                        data = s.recv(1 << 16)
                    except BlockingIOError:
                        continue
                    if not data:
                        raise HarnessError("client %d closed: %r" % (st["i"], st["buf"][-200:]))
                    st["buf"] += data
                    *lines, st["buf"] = st["buf"].split(b"\r\n")
                    for ln in lines:
                        if ln.startswith(b"PING "):
                            s.setblocking(True)
                            s.sendall(b"PONG " + ln[5:] + b"\r\n")
                            s.setblocking(False)
                        elif b" 366 " in ln:
                            st["joined"] = True
                        elif b" 353 " in ln:
                            st["names"].append(ln)
                        elif b"PRIVMSG #big :hello all" in ln:
                            st["got"] = True
                        elif b" ERROR " in ln or ln.startswith(b"ERROR"):
                            raise HarnessError("client %d: %r" % (st["i"], ln))

        pump(lambda: all(st["joined"] for st in state.values()), t(60), "1000 JOINs")
        joined_in = time.monotonic() - started
        first = socks[0]
        st0 = state[first]
        st0["names"] = []
        st0["joined"] = False
        first.setblocking(True)
        first.sendall(b"NAMES #big\r\nPRIVMSG #big :hello all\r\n")
        first.setblocking(False)
        pump(lambda: st0["joined"] and all(st["got"] for s, st in state.items()
                                            if s is not first), t(30), "the PRIVMSG to all")
        names = set()
        for ln in st0["names"]:
            assert len(ln) + 2 <= 512, ln
            names |= {x.lstrip(b"@+").decode() for x in ln.split(b" :", 1)[1].split()}
        assert names == {"u%04d" % i for i in range(n)}, len(names)
        assert not st0["got"], "the sender got its own message back"
        assert joined_in < t(60)
    finally:
        for s in socks:
            sel.unregister(s)
            s.close()
        sel.close()
    net.user("after")


# ---------------------------------------------------------------------------------------------
# TLS


def make_cert(d):
    cert = os.path.join(d, "cert.pem")
    key = os.path.join(d, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=localhost", "-keyout", key, "-out", cert],
                   check=True, capture_output=True, timeout=t(60))
    return cert, key


def test_tls_listener(irc, tmp_path):
    cert, key = make_cert(str(tmp_path))
    net = irc(tls_listen="127.0.0.1:0", tls_cert=cert, tls_key=key)
    taddr = net.d.addr("irc", "tls")
    s = net.conn("secure", addr=taddr, ssl_context=tls_context())
    s.register("secure")
    p = net.user("plain")
    s.join("#c")
    p.join("#c")
    s.sync()
    out = p.whois("secure")
    assert "671" in out and out["671"][0].params[:2] == ["plain", "secure"], out
    out = s.whois("plain")
    assert "671" not in out, out
    out = s.whois("secure")
    assert "671" in out, out
    s.send("PRIVMSG #c :over tls")
    assert_privmsg(p.expect("PRIVMSG"), src("secure"), "#c", "over tls")
    p.send("PRIVMSG #c :over tcp")
    assert_privmsg(s.expect("PRIVMSG"), src("plain"), "#c", "over tcp")
    # Plain text on the TLS port, and a handshake on the plain port, are survived.
    raw = socket.create_connection(taddr, timeout=t(5))
    raw.sendall(b"NICK x\r\nUSER x 0 * :x\r\n")
    raw.close()
    bad = net.conn()
    bad.sock.settimeout(t(1))  # the server does not answer a ClientHello here
    try:
        tls_context().wrap_socket(bad.sock, server_hostname="localhost")
    except (ssl.SSLError, OSError):
        pass
    bad.close()
    s.sync()
    p.sync()


# ---------------------------------------------------------------------------------------------
# More protocol details


def test_quit_and_nick_reach_each_peer_once(irc):
    net = irc()
    a = net.user("alice")
    b = net.user("bob")
    for chan in ("#a", "#b", "#c"):
        a.join(chan)
        b.join(chan)
    settle(a, b)
    a.send("NICK alicia")
    a.sync()
    out = b.sync()
    assert len(find(out, "NICK")) == 1, out
    a.send("QUIT :gone")
    a.wait_closed()
    out = b.sync()
    assert len(find(out, "QUIT")) == 1, out
    # And she is gone from every channel.
    for chan in ("#a", "#b", "#c"):
        assert b.names(chan) == ["@bob"] or sorted(b.names(chan)) == ["bob"], chan


def test_line_endings_case_and_spaces(irc):
    net = irc()
    a = net.user("alice")
    b = net.user("bob")
    a.sendraw(b"ping :lf-only\n")
    m = a.expect("PONG")
    assert m.text == "lf-only", m
    a.sendraw(b"privmsg   bob    :spaced out\r\n")
    assert_privmsg(b.expect("PRIVMSG"), src("alice"), "bob", "spaced out")
    # Two commands in one packet, one split over two packets.
    a.sendraw(b"PRIVMSG bob :one\r\nPRIVMSG bob :tw")
    time.sleep(0.05)
    a.sendraw(b"o\r\n")
    assert b.expect("PRIVMSG").text == "one"
    assert b.expect("PRIVMSG").text == "two"
    # Tags from a client without message-tags are ignored, the command still runs.
    a.send("@+x=y PRIVMSG bob :tagged anyway")
    m = b.expect("PRIVMSG")
    assert m.text == "tagged anyway" and m.tags == {}, m


def test_info_commands(irc):
    net = irc()
    a = net.user("alice")
    a.send("VERSION")
    out = a.sync()
    m = only(out, "351")
    assert m.params[0] == "alice" and m.params[2] == SERVER, m
    a.send("TIME")
    m = only(a.sync(), "391")
    assert m.params[:2] == ["alice", SERVER], m
    a.send("INFO")
    out = a.sync()
    assert numerics(out)[-1] == "374" and set(numerics(out)) <= {"371", "374"}, out
    a.send("ADMIN")
    out = a.sync()
    nums = numerics(out)
    assert nums == ["423"] or (nums[0] == "256" and set(nums) <= {"256", "257", "258", "259"}), out
    a.send("LUSERS")
    out = a.sync()
    assert "251" in numerics(out) and "266" in numerics(out), out


def test_labeled_response_batches_and_echo(irc):
    net = irc()
    a = net.user("alice", caps=["labeled-response", "batch", "message-tags", "echo-message"])
    b = net.user("bob")
    b.join("#c")
    # The echo of a labeled PRIVMSG carries the label (and there is no ACK).
    a.send("@label=m1 PRIVMSG bob :echo me")
    m = a.expect("PRIVMSG")
    assert m.tags.get("label") == "m1" and m.text == "echo me", m
    b.expect("PRIVMSG")
    out = a.sync()
    assert not find(out, "ACK"), out
    # A JOIN answers with several lines: one batch, JOIN first, 366 last.
    a.send("@label=j1 JOIN #c")
    start = a.expect("BATCH")
    assert start.tags.get("label") == "j1" and start.params[1] == "labeled-response", start
    ref = start.params[0][1:]
    inside = a.until(lambda m: m.command == "BATCH")
    assert inside[-1].params == ["-" + ref], inside
    cmds = [m.command for m in inside[:-1]]
    assert cmds[0] == "JOIN" and cmds[-1] == "366" and "353" in cmds, cmds
    assert all(m.tags.get("batch") == ref for m in inside[:-1]), inside
    # What the JOIN caused for others is not in the batch and not labeled.
    m = b.expect("JOIN")
    assert "label" not in m.tags, m
    # A command from a client without the labeled-response cap... and an unlabeled command
    # from this one gets plain replies.
    a.send("PING :plain")
    m = a.expect("PONG")
    assert "label" not in m.tags and "batch" not in m.tags, m


def test_who_hides_invisible_users(irc):
    net = irc()
    a = net.user("alice")
    vis = net.user("visible")
    inv = net.user("hidden")
    inv.send("MODE hidden +i")
    m = inv.expect("MODE")
    assert m.params[0] == "hidden" and "i" in m.params[-1], m
    inv.send("MODE hidden")
    m = inv.expect("221")
    assert "i" in m.params[1], m
    a.send("WHO *")
    out = a.until(is_cmd("315"))
    nicks = {m.params[5] for m in find(out, "352")}
    assert "visible" in nicks and "alice" in nicks and "hidden" not in nicks, out
    # Sharing a channel makes it visible.
    a.join("#c")
    inv.join("#c")
    a.send("WHO *")
    out = a.until(is_cmd("315"))
    assert "hidden" in {m.params[5] for m in find(out, "352")}, out
    assert vis.nick == "visible"


def test_user_modes(irc):
    net = irc()
    a = net.user("alice")
    net.user("bob")
    a.send("MODE alice +w")
    m = a.expect("MODE")
    assert m.params[0] == "alice" and m.params[-1].lstrip(":") in ("+w",), m
    a.send("MODE alice -w+i")
    out = a.sync()
    assert find(out, "MODE"), out
    a.send("MODE alice")
    m = a.expect("221")
    assert m.params[0] == "alice" and set(m.params[1].lstrip("+")) >= {"i"} and \
        "w" not in m.params[1], m
    # +o cannot be set by hand.
    a.send("MODE alice +o")
    out = a.sync()
    assert not [m for m in find(out, "MODE") if "o" in m.params[-1]], out
    a.send("MODE alice")
    assert "o" not in a.expect("221").params[1]
    m = numeric_reply(a, "MODE bob +i")
    assert m.command == "502", m
    m = numeric_reply(a, "MODE bob")
    assert m.command == "502", m


def test_part_kick_several_and_invite_errors(irc):
    net = irc()
    a = net.user("alice")
    b = net.user("bob")
    c = net.user("carol")
    for chan in ("#a", "#b"):
        a.join(chan)
        b.join(chan)
        c.join(chan)
    settle(a, b, c)
    b.send("PART #a,#b :leaving both")
    parts = [a.expect("PART").params for _ in range(2)]
    assert sorted(parts) == [["#a", "leaving both"], ["#b", "leaving both"]], parts
    b.join("#a")
    a.sync()
    a.send("KICK #a bob,carol :both out")
    kicks = [b.expect("KICK").params, c.expect("KICK").params]
    assert kicks[0] == ["#a", "bob", "both out"], kicks
    c.sync()
    a.send("NAMES #a")
    out = a.until(is_cmd("366"))
    assert only(out, "353").text.split() == ["@alice"], out
    d = net.user("dave")
    m = numeric_reply(d, "INVITE bob #a")
    assert m.command == "442" and m.params[1] == "#a", m


def test_away_notify_on_join_and_not_to_self(irc):
    net = irc()
    a = net.user("alice", caps=["away-notify"])
    b = net.user("bob", caps=["away-notify"])
    a.join("#c")
    b.send("AWAY :not here")
    out = b.until(is_cmd("306"))
    out += b.sync()
    assert not find(out, "AWAY"), out  # no AWAY about oneself
    b.join("#c")
    m = a.expect("JOIN")
    assert m.source == src("bob"), m
    m = a.expect("AWAY")
    assert m.source == src("bob") and m.params == ["not here"], m


def sasl_start(net, nick="alice"):
    a = net.conn(nick)
    a.send("CAP LS 302")
    a.send("NICK %s" % nick)
    a.send("USER %s 0 * :%s" % (nick, nick))
    a.until(lambda m: m.command == "CAP" and m.arg(2) != "*")
    a.send("CAP REQ :sasl")
    assert a.expect("CAP").params[1] == "ACK"
    return a


def test_sasl_chunking(irc):
    net = irc(accounts={"dora": "p" * 256})
    a = sasl_start(net)
    a.send("AUTHENTICATE PLAIN")
    a.expect("AUTHENTICATE")
    # A 400-byte chunk means more follows: no answer yet.
    a.send("AUTHENTICATE " + "A" * 400)
    assert a.quiet(t(0.3)), a.pending
    a.send("AUTHENTICATE QUFB")
    m = a.expect(lambda m: m.command.isdigit())
    assert m.command == "904", m
    # Exactly 400 bytes then "+" ends the payload.
    a.send("AUTHENTICATE PLAIN")
    a.expect("AUTHENTICATE")
    a.send("AUTHENTICATE " + "A" * 400)
    assert a.quiet(t(0.3)), a.pending
    m = numeric_reply(a, "AUTHENTICATE +")
    assert m.command == "904", m
    # A chunk over 400 bytes: 905.
    a.send("AUTHENTICATE PLAIN")
    a.expect("AUTHENTICATE")
    m = numeric_reply(a, "AUTHENTICATE " + "A" * 401)
    assert m.command in ("905", "904"), m
    # The longest password there is (256 bytes) in one chunk of 352.
    sasl_plain(a, "dora", "p" * 256)
    a.send("CAP END")
    a.expect("001")


def test_ban_list_details(irc):
    net = irc()
    a = net.user("alice")
    a.join("#c")
    a.send("MODE #c +b Troll!*@*")
    a.expect("MODE")
    a.send("MODE #c +b troll!*@*")  # the same mask in another case: no new entry
    a.sync()
    a.send("MODE #c +b")
    out = a.until(is_cmd("368"))
    assert [m.params[2].lower() for m in find(out, "367")] == ["troll!*@*"], out
    a.send("MODE #c -b TROLL!*@*")
    m = a.expect("MODE")
    assert m.params[1] == "-b" and m.params[2].lower() == "troll!*@*", m
    a.send("MODE #c +b")
    out = a.until(is_cmd("368"))
    assert not find(out, "367"), out
    # A ban given as a bare nick is completed to nick!*@*.
    a.send("MODE #c +b troll")
    m = a.expect("MODE")
    assert m.params[1:] == ["+b", "troll!*@*"], m
    t_ = net.user("troll")
    m = numeric_reply(t_, "JOIN #c")
    assert m.command == "474", m


def test_nick_change_keeps_channel_status(irc):
    net = irc()
    a, b = two_in_channel(net)
    a.send("MODE #c +v bob")
    a.sync()
    a.send("NICK alicia")
    b.send("NICK bobby")
    a.sync()
    b.sync()
    assert sorted(a.names("#c")) == ["+bobby", "@alicia"]
    b.send("PRIVMSG ALICIA :upper case target")
    assert a.expect("PRIVMSG").text == "upper case target"
    a.send("PRIVMSG #C :upper case channel")
    m = b.expect("PRIVMSG")
    assert m.text == "upper case channel" and m.params[0].lower() == "#c", m


def test_user_needs_more_params(irc):
    net = irc()
    c = net.conn()
    c.send("NICK alice")
    m = numeric_reply(c, "USER alice")
    assert m.command == "461" and m.params[1] == "USER", m
    c.send("USER alice 0 * :Alice")
    c.expect("001")


def test_rehash_limits_and_opers(irc):
    net = irc(opers={"root": "rootpw"})
    a = net.user("alice")
    a.send("OPER root rootpw")
    a.expect("381")
    h = hash_password(net.d, "secondpw")
    net.set_config(nicklen=12, opers="root:%s second:%s"
                   % (hash_password(net.d, "rootpw"), h))
    a.send("REHASH")
    a.expect("382")
    b = net.user("bob")
    assert isupport(b.burst)["NICKLEN"] == "12", isupport(b.burst)
    b.send("OPER second secondpw")
    b.expect("381")
    # (the clients already connected keep their nicks)
    assert a.nick == "alice"


def test_opers_are_exempt_from_flood_control(irc):
    net = irc(opers={"root": "rootpw"}, flood_burst=10, flood_rate=2)
    a = net.user("alice")
    a.send("OPER root rootpw")
    a.expect("381")
    time.sleep(t(0.2))
    start = time.monotonic()
    a.sendraw("".join("PING :o%d\r\n" % i for i in range(200)))
    a.expect(lambda m: m.command == "PONG" and m.text == "o199", timeout=t(5))
    assert time.monotonic() - start < t(1.5)
    assert a.is_open(0.05)


def test_registration_timeout_during_cap(irc):
    net = irc(registration_timeout="1s")
    c = net.conn()
    c.send("CAP LS 302")
    c.send("NICK capper")
    c.send("USER capper 0 * :Capper")
    out = c.wait_closed(timeout=t(5))
    assert "001" not in numerics(out), out
    assert "Registration timed out" in only(out, "ERROR").text, out


def test_msgid_is_shared(irc):
    net = irc()
    caps = ["message-tags", "echo-message"]
    a = net.user("alice", caps=caps)
    b = net.user("bob", caps=caps)
    c = net.user("carol", caps=caps)
    for x in (a, b, c):
        x.join("#c")
    settle(a, b, c)
    a.send("PRIVMSG #c :one id")
    ids = [x.expect("PRIVMSG").tags.get("msgid") for x in (a, b, c)]
    if ids[0] is None:
        assert ids == [None, None, None], ids
        return
    assert len(set(ids)) == 1 and ids[0], ids
    a.send("PRIVMSG #c :another id")
    assert b.expect("PRIVMSG").tags.get("msgid") not in (None, ids[0])


def test_whowas_limit_and_count(irc):
    net = irc(whowas=2)
    a = net.user("alice")
    for i in range(3):
        x = net.user("gone%d" % i)
        x.send("QUIT")
        x.wait_closed()
    # The oldest has been forgotten.
    a.send("WHOWAS gone0")
    out = a.until(is_cmd("369"))
    assert numerics(out) == ["406", "369"], out
    a.send("WHOWAS gone2")
    out = a.until(is_cmd("369"))
    assert find(out, "314"), out
    # A nick used several times: the count parameter limits the answer.
    for i in range(2):
        x = net.user("twice")
        x.send("QUIT")
        x.wait_closed()
    a.send("WHOWAS twice 1")
    out = a.until(is_cmd("369"))
    assert len(find(out, "314")) == 1, out


def test_invisible_members_hidden_from_outsiders(irc):
    """RFC 1459 4.2.5: NAMES lists the nicknames *visible* to the asker: an invisible (+i)
    member is listed to the channel's members only. WHO likewise (RFC 2812 3.6.1)."""
    net = irc()
    a = net.user("alice")
    inv = net.user("hidden")
    out_ = net.user("outsider")
    inv.send("MODE hidden +i")
    inv.expect("MODE")
    a.join("#c")
    inv.join("#c")
    assert sorted(a.names("#c")) == ["@alice", "hidden"]
    assert out_.names("#c") == ["@alice"]
    out_.send("WHO #c")
    out = out_.until(is_cmd("315"))
    assert [m.params[5] for m in find(out, "352")] == ["alice"], out


def test_random_operations_match_a_model(irc):
    """Random JOIN/PART/PRIVMSG/NICK/KICK/MODE by 12 clients on 4 channels, checked against a
    model: every channel message reaches exactly the members of the moment (not the sender),
    and NAMES (with the op prefixes) is what the model says at the end."""
    net = irc(max_per_ip=100)
    rnd = random.Random(1234)
    nclients, chans = 12, ["#r0", "#r1", "#r2", "#r3"]
    cl = [net.user("p%d" % i) for i in range(nclients)]
    nick = ["p%d" % i for i in range(nclients)]
    members = {ch: {} for ch in chans}  # chan -> {client index: is_op}
    expected = [set() for _ in range(nclients)]
    received = [set() for _ in range(nclients)]
    serial = 0

    def drain(i):
        for m in cl[i].sync():
            if m.command == "PRIVMSG" and m.params[0] in chans:
                received[i].add(m.text)

    for step in range(1500):
        i = rnd.randrange(nclients)
        c = cl[i]
        ch = rnd.choice(chans)
        op = rnd.random()
        if op < 0.25:
            if i not in members[ch]:
                c.send("JOIN %s" % ch)
                members[ch][i] = not members[ch]
        elif op < 0.40:
            if i in members[ch]:
                c.send("PART %s" % ch)
                del members[ch][i]
        elif op < 0.80:
            serial += 1
            text = "m%d" % serial
            c.send("PRIVMSG %s :%s" % (ch, text))
            if i in members[ch]:  # +n: outsiders get 404
                for j in members[ch]:
                    if j != i:
                        expected[j].add(text)
        elif op < 0.88:
            new = "q%d_%d" % (i, step)
            c.send("NICK %s" % new)
            nick[i] = new
        elif op < 0.94:
            if members[ch].get(i) and len(members[ch]) > 1:
                j = rnd.choice([j for j in members[ch] if j != i])
                c.send("KICK %s %s :random" % (ch, nick[j]))
                del members[ch][j]
        else:
            if members[ch].get(i) and len(members[ch]) > 1:
                j = rnd.choice([j for j in members[ch] if j != i])
                give = not members[ch][j]
                c.send("MODE %s %so %s" % (ch, "+" if give else "-", nick[j]))
                members[ch][j] = give
        drain(i)  # the command has taken effect before the next one
        if step % 100 == 99:
            for j in range(nclients):
                drain(j)
    for j in range(nclients):
        drain(j)
    assert sum(map(len, expected)) > 1000 and serial > 400, (serial, sum(map(len, expected)))
    for j in range(nclients):
        assert received[j] == expected[j], (j, sorted(expected[j] - received[j])[:10],
                                            sorted(received[j] - expected[j])[:10])
    for ch in chans:
        want = sorted(("@" if is_op else "") + nick[j] for j, is_op in members[ch].items())
        assert sorted(cl[0].names(ch)) == want, ch


def test_clients_resetting_while_the_channel_is_busy(irc):
    net = irc(max_per_ip=100)
    talker = net.user("talker")
    survivor = net.user("survivor")
    talker.join("#busy")
    survivor.join("#busy")
    victims = [net.user("v%d" % i) for i in range(30)]
    for v in victims:
        v.join("#busy")
    settle(talker, survivor)
    bg = Reader(survivor)
    talker.sendraw("".join("PRIVMSG #busy :%d %s\r\n" % (i, "y" * 300) for i in range(300)))
    for v in victims:  # reset: SO_LINGER 0, never read what is queued for them
        v.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        v.close()
    quits = wait_until(lambda: [m for m in list(bg.msgs) if m.command == "QUIT"]
                       if len([m for m in list(bg.msgs) if m.command == "QUIT"]) == 30 else None,
                       timeout=t(10), what="30 QUITs")
    bg.stop()
    assert {m.nick for m in quits} == {"v%d" % i for i in range(30)}, quits
    talker.send("PRIVMSG #busy :after the storm")
    survivor.expect(lambda m: m.command == "PRIVMSG" and m.text == "after the storm")
    assert sorted(survivor.names("#busy")) == ["@talker", "survivor"]


def test_ipv6_client_host_is_a_valid_parameter(irc):
    """A host shown in a middle parameter must not start with ':' (it would turn into the
    trailing parameter): an IPv6 address like ::1 needs a leading 0 (0::1), as servers do."""
    from harness import ipv6_loopback_available
    if not ipv6_loopback_available():
        pytest.skip("no IPv6 loopback")
    net = irc(listen="127.0.0.1:0, [::1]:0")
    a = net.user("alice")
    v6 = net.conn("six", addr=net.d.addr("irc", family="6"))
    v6.register("six")
    a.join("#c")
    v6.join("#c")
    m = a.expect("JOIN")
    host = m.source.split("@", 1)[1]
    assert host in ("0::1", "::1"), m
    out = a.whois("six")
    m311 = out["311"][0]
    assert len(m311.params) == 6 and m311.params[1:5] == ["six", "~six", host, "*"], m311
    assert not m311.params[3].startswith(":"), m311
    a.send("WHO #c")
    out = a.until(is_cmd("315"))
    rows = {m.params[5]: m for m in find(out, "352")}
    assert "six" in rows and rows["six"].params[3] == host and len(rows["six"].params) == 8, out
    a.send("USERHOST six")
    assert a.expect("302").text.strip() == "six=+~six@%s" % host


def test_deny_and_allow(irc):
    net = irc(deny="127.0.0.2/32")
    net.user("alice")
    c = net.conn(source="127.0.0.2")
    out = c.wait_closed(timeout=t(5))
    assert "001" not in numerics(out), out


def test_invalid_utf8_in_topic_and_channel_name(irc):
    net = irc()
    a = net.user("alice")
    a.join("#c")
    a.send("TOPIC #c :good topic")
    a.expect("TOPIC")
    a.sendraw(b"TOPIC #c :bad \xff topic\r\n")
    out = a.sync()
    assert not find(out, "TOPIC"), out
    assert [m for m in out if m.command == "FAIL" or m.command.isdigit()], out
    a.send("TOPIC #c")
    assert a.expect("332").text == "good topic"
    a.sendraw(b"JOIN #caf\xe9\r\n")
    out = a.sync()
    assert not find(out, "JOIN"), out
    a.send("JOIN #caf\u00e9")
    out = a.until(is_cmd("366"))
    assert find(out, "JOIN")[0].params[0] == "#caf\u00e9", out


def test_tag_values_are_relayed_with_their_escapes(irc):
    net = irc()
    a = net.user("alice", caps=["message-tags", "echo-message"])
    b = net.user("bob", caps=["message-tags"])
    a.send("@+example.com/x=a\\:b\\sc\\\\d;+flag PRIVMSG bob :escapes")
    m = b.expect("PRIVMSG")
    assert m.tags.get("+example.com/x") == "a;b c\\d", m
    assert "+flag" in m.tags and m.tags["+flag"] in (None, ""), m
    m = a.expect("PRIVMSG")  # the echo carries the client tags too
    assert m.tags.get("+example.com/x") == "a;b c\\d", m
    a.send("@+typing=active TAGMSG bob")
    m = a.expect("TAGMSG")
    assert m.tags.get("+typing") == "active", m


def test_long_names_keep_lines_within_512(irc):
    net = irc()
    n1, n2 = "A" * 30, "B" * 30
    chan = "#" + "c" * 49
    a = net.user(n1, user="u" * 10, real="R" * 100,
                 caps=["server-time", "message-tags", "echo-message"])
    b = net.user(n2, user="v" * 10, caps=["server-time", "message-tags", "userhost-in-names",
                                          "multi-prefix", "extended-join"])
    a.join(chan)
    b.join(chan)
    a.send("MODE %s +v %s" % (chan, n2))
    a.send("TOPIC %s :%s" % (chan, "t" * 390))
    a.send("AWAY :%s" % ("w" * 390))
    text = "x" * (510 - len("PRIVMSG %s :" % chan))
    a.send("PRIVMSG %s :%s" % (chan, text))
    a.send("@+big=%s PRIVMSG %s :%s" % ("v" * 3000, n2, "y" * 400))
    a.send("KICK %s %s :%s" % (chan, n2, "k" * 390))
    b.send("WHOIS %s" % n1)
    b.send("WHO %s" % chan)
    b.send("NAMES %s" % chan)
    b.send("TOPIC %s" % chan)
    settle(a, b)
    got = [m for m in b.log if m.command == "PRIVMSG" and m.params[0] == chan]
    assert got and text.startswith(got[0].text) and len(got[0].text) > 300, got
    for c in (a, b):
        for raw in c.raw_lines:
            assert raw.endswith(b"\r\n"), raw
            body = raw.split(b" ", 1)[1] if raw.startswith(b"@") else raw
            tags = raw.split(b" ", 1)[0] if raw.startswith(b"@") else b""
            assert len(body) <= 512, (len(body), raw[:120])
            assert len(tags) <= 8191, len(tags)


def test_disconnect_while_a_password_is_being_checked(irc):
    """SASL and OPER check passwords off the event loop; a client gone before the answer
    comes back must not be touched (run it under ASan to see)."""
    import struct
    net = irc(accounts={"dora": "s3cret-pw"}, opers={"root": "rootpw"}, max_per_ip=100)
    blob = base64.b64encode(b"\0dora\0s3cret-pw").decode()
    for i in range(20):
        a = sasl_start(net, "r%d" % i)
        a.send("AUTHENTICATE PLAIN")
        a.expect("AUTHENTICATE")
        a.send("AUTHENTICATE %s" % blob)
        if i % 2:
            a.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        else:
            a.send("QUIT :in a hurry")
        a.close()
    for i in range(10):
        o = net.user("o%d" % i)
        o.send("OPER root rootpw")
        o.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        o.close()
    # Commands sent while SASL is being verified: handled in order (900 names the nick of
    # that moment), none lost.
    a = sasl_start(net, "before")
    a.send("AUTHENTICATE PLAIN")
    a.expect("AUTHENTICATE")
    a.send("AUTHENTICATE %s" % blob)
    a.send("NICK after")
    a.send("CAP END")
    out = a.until(is_cmd("001"))
    assert find(out, "903"), out
    m900 = only(out, "900")
    assert m900.params[:3] in (["before", "before!~before@127.0.0.1", "dora"],
                               ["after", "after!~before@127.0.0.1", "dora"]), m900
    assert out[-1].params[0] == "after", out
    net.user("still-serving".replace("-", ""))


def test_rehash_with_a_broken_configuration_keeps_the_old_one(irc):
    net = irc(opers={"root": "rootpw"}, motd="kept\n")
    a = net.user("alice")
    a.send("OPER root rootpw")
    a.expect("381")
    net.set_config(nicklen="many", motd="/nonexistent/motd")
    a.send("REHASH")
    out = a.sync()
    assert not find(out, "382") or [m for m in out if m.command in ("NOTICE", "FAIL") or
                                     (m.command.isdigit() and m.command != "382")], out
    b = net.user("bob")
    assert isupport(b.burst)["NICKLEN"] == "30", isupport(b.burst)
    assert [m.text.lstrip("- ") for m in find(b.burst, "372")] == ["kept"], b.burst
    assert net.d.alive()


def test_labeled_quit_and_self_kill(irc):
    net = irc(opers={"root": "rootpw"})
    a = net.user("alice", caps=["labeled-response", "batch", "message-tags"])
    b = net.user("bob")
    a.join("#c")
    b.join("#c")
    a.send("@label=q1 QUIT :labeled goodbye")
    a.wait_closed()
    m = b.expect("QUIT")
    assert m.params == ["labeled goodbye"] or m.params == ["Quit: labeled goodbye"], m
    o = net.user("oscar")
    o.send("OPER root rootpw")
    o.expect("381")
    o.join("#c")
    b.sync()
    o.send("KILL oscar :myself")
    out = o.wait_closed()
    assert "Killed" in only(out, "ERROR").text, out
    m = b.expect("QUIT")
    assert m.nick == "oscar" and m.text.startswith("Killed"), m
    # The last member kicking himself destroys the channel.
    b.join("#solo")
    b.send("KICK #solo bob :bye me")
    assert b.expect("KICK").params == ["#solo", "bob", "bye me"]
    m = numeric_reply(b, "MODE #solo")
    assert m.command == "403", m


def test_bot_mode(irc):
    """IRCv3 bot-mode: +B shows in WHOIS (335) and WHO flags, and tags the bot's messages."""
    net = irc()
    bot = net.user("robot", caps=["message-tags", "echo-message"])
    u = net.user("human", caps=["message-tags"])
    plain = net.user("plain")
    bot.send("MODE robot +B")
    m = bot.expect("MODE")
    assert m.params == ["robot", "+B"], m
    for c in (bot, u, plain):
        c.join("#c")
    settle(bot, u, plain)
    w = u.whois("robot")
    assert [m.params for m in w["335"]] == [["human", "robot", "is a bot on %s" % NETWORK]], w
    assert "335" not in plain.whois("human"), "a human is not a bot"
    u.send("WHO #c")
    out = u.until(is_cmd("315"))
    flags = {m.params[5]: m.params[6] for m in find(out, "352")}
    assert "B" in flags["robot"] and "B" not in flags["human"], flags
    bot.send("PRIVMSG #c :beep boop")
    m = u.expect("PRIVMSG")
    assert "bot" in m.tags and m.tags["bot"] is None and m.text == "beep boop", m
    m = plain.expect("PRIVMSG")
    assert m.tags == {}, m  # no message-tags: no tags at all
    m = bot.expect("PRIVMSG")  # the echo carries it too
    assert "bot" in m.tags, m
    # Humans' messages are not tagged; -B takes it back.
    u.send("PRIVMSG robot :hello")
    m = bot.expect("PRIVMSG")
    assert "bot" not in m.tags, m
    bot.send("MODE robot -B")
    assert bot.expect("MODE").params == ["robot", "-B"]
    bot.send("PRIVMSG human :now human")
    m = u.expect("PRIVMSG")
    assert "bot" not in m.tags, m


def test_monitor(irc):
    """MONITOR: 730/731 as nicks come and go, change nick (not on a case change), list, clear."""
    net = irc()
    w = net.user("watcher")
    w.send("MONITOR + alice,Bob")
    m = w.expect("731")
    assert m.params[0] == "watcher" and sorted(m.text.split(",")) == ["Bob", "alice"], m
    a = net.user("alice")
    m = w.expect("730")
    assert m.text == src("alice"), m
    w.send("MONITOR L")
    out = w.until(is_cmd("733"))
    assert sorted(",".join(x.text for x in find(out, "732")).split(",")) == ["alice", "bob"], out
    a.send("NICK ALICE")  # a case change: nothing
    a.expect("NICK")
    assert not find(w.sync(), "731"), "no numerics for a case change"
    a.send("NICK bob")
    m = w.expect("731")
    assert m.text == "ALICE", m
    m = w.expect("730")
    assert m.text.startswith("bob!"), m
    w.send("MONITOR S")
    m = w.expect("730")
    assert m.text.startswith("bob!"), m
    m = w.expect("731")
    assert m.text == "alice", m
    a.send("QUIT :bye")
    m = w.expect("731")
    assert m.text == "bob", m
    w.send("MONITOR - bob")
    w.send("MONITOR C")
    w.send("MONITOR L")
    out = w.until(is_cmd("733"))
    assert not find(out, "732"), out
    # At most 100 nicks: the rest is refused with 734.
    w.send("MONITOR + " + ",".join("n%d" % i for i in range(101)))
    out = w.until(is_cmd("734"))
    m = find(out, "734")[0]
    assert m.params[1] == "100" and m.params[2] == "n100", m


def test_extended_monitor_away(irc):
    net = irc()
    w = net.user("watcher", caps=["extended-monitor", "away-notify"])
    other = net.user("other", caps=["away-notify"])  # no extended-monitor
    w.send("MONITOR + target")
    other.send("MONITOR + target")
    w.expect("731")
    other.expect("731")
    t = net.user("target")
    w.expect("730")
    other.expect("730")
    t.send("AWAY :lunch")
    t.expect("306")
    m = w.expect("AWAY")
    assert m.source == src("target") and m.text == "lunch", m
    assert not find(other.sync(), "AWAY"), "AWAY reaches only watchers with extended-monitor"


def test_help_and_links(irc):
    net = irc()
    a = net.user("alice")
    a.send("HELP PRIVMSG")
    out = a.until(is_cmd("706", "524"))
    assert [m.command for m in out][0] == "704" and out[-1].command == "706", out
    assert all(m.params[1] == "PRIVMSG" for m in out), out
    a.send("HELPOP nosuchthing")
    m = a.expect("524")
    assert m.params[1] == "nosuchthing", m
    a.send("HELP")
    out = a.until(is_cmd("706"))
    assert "JOIN" in " ".join(m.text for m in find(out, "705")), out
    a.send("LINKS")
    out = a.until(is_cmd("365"))
    links = find(out, "364")
    assert len(links) == 1 and links[0].params[1] == links[0].params[2], out
    assert links[0].text.startswith("0 "), links


def test_names_without_a_channel(irc):
    """RFC 1459 4.2.5: every visible channel, then the visible users on none as channel "*"."""
    net = irc()
    a = net.user("alice")
    b = net.user("bob")
    c = net.user("carol")  # on no channel
    d = net.user("dave")   # on no channel, but invisible
    e = net.user("erin")
    d.send("MODE dave +i")
    d.expect("MODE")
    a.join("#pub")
    b.join("#pub")
    e.join("#hidden")
    e.send("MODE #hidden +s")
    e.expect("MODE")
    c.send("NAMES")
    out = c.until(is_cmd("366"))
    rows = find(out, "353")
    chans = {m.params[2]: set(m.text.split()) for m in rows}
    assert chans.get("#pub") == {"@alice", "bob"}, out
    assert "#hidden" not in chans, "a secret channel is not listed to outsiders"
    # dave is invisible; erin is visible but on no channel carol may see
    assert chans.get("*") == {"carol", "erin"}, out
    assert [m.params[1] for m in find(out, "366")] == ["*"], out
    # A member of the secret channel sees it (and herself in it).
    e.send("NAMES")
    out = e.until(is_cmd("366"))
    chans = {m.params[2]: set(m.text.split()) for m in find(out, "353")}
    assert chans.get("#hidden") == {"@erin"} and chans.get("#pub") == {"@alice", "bob"}, out
    assert chans.get("*") == {"carol"}, out
