# SPDX-License-Identifier: MIT
"""System tests of the IRC service with a real client library: Debian's python3-irc
(`irc.client`, jaraco's library), which registers, parses ISUPPORT, answers PINGs and turns
lines into events the way bots built on it see them. Every wait is bounded and scaled with t().
"""

import time

import pytest

from harness import HarnessError, t
from ircclient import start_net

irc_client = pytest.importorskip("irc.client")

IRC_DEFAULTS = {"listen": "127.0.0.1:0", "flood_burst": "1000", "flood_rate": "1000"}


@pytest.fixture
def irc(make_daemon):
    nets = []
    yield lambda **kw: start_net(make_daemon, nets, IRC_DEFAULTS, **kw)
    for n in nets:
        n.close()


class Lib:
    """One irc.client reactor and every event its connections produced, in order."""

    def __init__(self, addr):
        self.addr = addr
        self.reactor = irc_client.IRC()
        self.events = []
        self.conns = []
        self.reactor.add_global_handler("all_events", self._record, -10)

    def _record(self, conn, ev):
        self.events.append((conn, ev))

    def connect(self, nick, **kw):
        c = self.reactor.server().connect(self.addr[0], self.addr[1], nick, **kw)
        self.conns.append(c)
        return c

    def mark(self):
        return len(self.events)

    def wait(self, conn, type_, pred=lambda ev: True, since=0, timeout=None):
        """The first event of type_ on conn (after index since) matching pred."""
        deadline = time.monotonic() + (t(5) if timeout is None else timeout)
        while True:
            for c, ev in self.events[since:]:
                if c is conn and ev.type == type_ and pred(ev):
                    return ev
            if time.monotonic() > deadline:
                seen = [(ev.type, ev.source, ev.target, ev.arguments)
                        for c, ev in self.events[since:] if c is conn]
                raise HarnessError("no %s event; got %r" % (type_, seen[-15:]))
            self.reactor.process_once(0.05)

    def pump(self, seconds):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self.reactor.process_once(0.05)

    def types(self, conn, since=0):
        return [ev.type for c, ev in self.events[since:] if c is conn]

    def close(self):
        for c in self.conns:
            try:
                c.close()
            except Exception:
                pass


@pytest.fixture
def lib():
    made = []

    def make(net):
        x = Lib(net.addr)
        made.append(x)
        return x

    yield make
    for x in made:
        x.close()


def test_library_registers_and_reads_isupport(irc, lib):
    net = irc()
    x = lib(net)
    a = x.connect("alice", username="alice", ircname="Alice Liddell")
    ev = x.wait(a, "welcome")
    assert ev.target == "alice"
    x.wait(a, "nomotd")  # 422, no MOTD configured
    f = a.features
    assert f.network == "switchboard"
    assert f.nicklen == 30 and f.channellen == 50 and f.topiclen == 390
    assert f.prefix == {"@": "o", "+": "v"}
    assert f.chantypes == "#&"
    assert [set(g) for g in f.chanmodes] == [set("beI"), set("k"), set("l"), set("imnst")]
    assert f.chanlimit == {"#": 50, "&": 50}
    assert f.casemapping == "rfc1459"
    assert "PRIVMSG" in f.targmax
    assert a.get_server_name() == "switchboard.local"
    assert a.get_nickname() == "alice"


def test_library_conversation(irc, lib):
    net = irc()
    x = lib(net)
    a = x.connect("alice", username="alice", ircname="Alice")
    b = x.connect("bob", username="bob", ircname="Bob")
    x.wait(a, "welcome")
    x.wait(b, "welcome")
    a.join("#lib")
    ev = x.wait(a, "join")
    assert ev.source.nick == "alice" and ev.target == "#lib"
    ev = x.wait(a, "namreply")
    assert ev.arguments == ["=", "#lib", "@alice"], ev.arguments
    since = x.mark()
    b.join("#lib")
    ev = x.wait(a, "join", since=since)
    assert ev.source == "bob!~bob@127.0.0.1" and ev.target == "#lib"
    ev = x.wait(b, "namreply", since=since)
    assert sorted(ev.arguments[2].split()) == ["@alice", "bob"], ev.arguments

    since = x.mark()
    a.privmsg("#lib", "hello everyone")
    ev = x.wait(b, "pubmsg", since=since)
    assert (ev.source.nick, ev.target, ev.arguments) == ("alice", "#lib", ["hello everyone"])
    b.privmsg("alice", "hi alice \u00e9\u263a")
    ev = x.wait(a, "privmsg", since=since)
    assert (ev.source.nick, ev.target, ev.arguments) == ("bob", "alice",
                                                         ["hi alice \u00e9\u263a"])
    a.notice("bob", "a notice")
    ev = x.wait(b, "privnotice", since=since)
    assert ev.arguments == ["a notice"]
    a.action("#lib", "waves")
    ev = x.wait(b, "action", since=since)
    assert ev.arguments == ["waves"] and ev.target == "#lib"
    b.ctcp("VERSION", "alice")
    ev = x.wait(a, "ctcp", since=since)
    assert ev.arguments[0] == "VERSION"

    a.mode("#lib", "+v bob")
    ev = x.wait(b, "mode", since=since)
    assert ev.target == "#lib" and ev.arguments == ["+v", "bob"]
    a.topic("#lib", "library topic")
    ev = x.wait(b, "topic", since=since)
    assert ev.target == "#lib" and ev.arguments == ["library topic"]
    b.nick("bobby")
    ev = x.wait(a, "nick", since=since)
    assert ev.source.nick == "bob" and ev.target == "bobby"
    x.wait(b, "nick", since=since)
    assert b.get_nickname() == "bobby"
    a.kick("#lib", "bobby", "library kick")
    ev = x.wait(b, "kick", since=since)
    assert ev.target == "#lib" and ev.arguments == ["bobby", "library kick"]

    since = x.mark()
    b.join("#lib")
    x.wait(a, "join", since=since)
    b.quit("library quit")
    ev = x.wait(a, "quit", since=since)
    assert ev.source.nick == "bobby" and ev.arguments[0] in ("library quit",
                                                             "Quit: library quit")
    a.part(["#lib"], "bye")
    ev = x.wait(a, "part", since=since)
    assert ev.target == "#lib"


def test_library_nick_in_use_and_whois(irc, lib):
    net = irc()
    x = lib(net)
    a = x.connect("alice", username="alice", ircname="Alice Liddell")
    x.wait(a, "welcome")
    b = x.connect("alice", username="second", ircname="Second")
    x.wait(b, "nicknameinuse")
    b.nick("alice_")
    ev = x.wait(b, "welcome")
    assert ev.target == "alice_" and b.get_nickname() == "alice_"
    since = x.mark()
    b.whois(["alice"])
    ev = x.wait(b, "whoisuser", since=since)
    assert ev.arguments == ["alice", "~alice", "127.0.0.1", "*", "Alice Liddell"], ev.arguments
    ev = x.wait(b, "whoisserver", since=since)
    assert ev.arguments[:2] == ["alice", "switchboard.local"]
    x.wait(b, "endofwhois", since=since)
    b.ison(["alice", "nobody"])
    ev = x.wait(b, "ison", since=since)
    assert ev.arguments == ["alice"], ev.arguments


def test_library_answers_server_pings(irc, lib):
    net = irc(ping_interval="1s", ping_timeout="1s")
    x = lib(net)
    a = x.connect("alice")
    b = x.connect("bob")
    x.wait(a, "welcome")
    x.wait(b, "welcome")
    x.pump(t(3.5))
    assert "ping" in x.types(a), x.types(a)
    assert "disconnect" not in x.types(a) and "disconnect" not in x.types(b)
    since = x.mark()
    a.privmsg("bob", "still here")
    ev = x.wait(b, "privmsg", since=since)
    assert ev.arguments == ["still here"]
