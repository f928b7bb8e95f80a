# SPDX-License-Identifier: MIT
"""System tests of the directory service (the eurechat protocol), against the real daemon.

Expected texts are the seed's (../shared/seeds/001_e88c5ce042041dc3.txt) and docs/directory.md,
compared byte for byte: a reply is checked as the whole frame, header included.
"""

import os
import selectors
import signal
import socket
import stat
import time

import pytest

from harness import (SANITIZED, Client, HarnessError, ack, err, free_port, frame_bytes,
                     ipv6_loopback_available, t, wait_until)

HELLO = "hi %s, authentication required"
AUTH_OK = "successfully authenticated"
AUTH_FAILED = "authentication failed"
EXPECT_USER = "a 'USER <username>' command was expected!"
EXPECT_PASS = "a 'PASS <password>' command was expected!"
BOUND = "bound successfully to %s:%d"
BAD_BIND = "invalid bind notification"
LEFT = "deregistered from directory"
UNKNOWN = "I did not understand the message %s"
BAD_NAME = "invalid username: use 1 to 32 letters, digits or _.-[]\\`^{}|"
RATE = "too many failed logins from your address, try again later"


def result(*rows):
    return frame_bytes("RESULT", "\n".join("%s,%s,%d" % r for r in rows))


def assert_serving(d, user="probe", password="probe-pw"):
    """The daemon still answers a whole conversation on a new connection."""
    with d.client() as c:
        c.login(user, password)
        assert c.request("QUERY", "nobody").raw == b"RESULT 0\n"


# ---------------------------------------------------------------------------------------------
# The seed's conversation


def test_seed_transcript_byte_for_byte(directory, make_peer):
    peer = make_peer()
    with directory.client() as c:
        c.send(b"USER 0 corrado\n")
        assert c.read_frame().raw == b"ACK 35\nhi corrado, authentication required"
        c.send(b"PASS 0 mypass\n")
        assert c.read_frame().raw == b"ACK 26\nsuccessfully authenticated"
        c.send(b"BIND 0 127.0.0.1 %d\n" % peer.port)
        text = b"bound successfully to 127.0.0.1:%d" % peer.port
        reply = c.read_frame().raw
        assert reply == b"ACK %d\n" % len(text) + text
        # The seed's 127.0.0.1:5555 gives ACK 36: one more for every digit beyond four.
        assert reply.startswith(b"ACK %d\n" % (36 + len(str(peer.port)) - 4))
        c.send(b"QUERY 0\n")
        row = b"corrado,127.0.0.1,%d" % peer.port
        assert c.read_frame().raw == b"RESULT %d\n" % len(row) + row
        # Nothing else was sent, and the connection stays open for more requests.
        assert c.quiet()
    # The BIND check really connected to the listener.
    assert peer.accepted >= 1


def test_login_is_an_alias_of_user(directory):
    with directory.client() as c:
        c.send(b"LOGIN 0 corrado\n")
        assert c.read_frame().raw == b"ACK 35\nhi corrado, authentication required"
        c.send(b"PASS 0 mypass\n")
        assert c.read_frame().raw == b"ACK 26\nsuccessfully authenticated"
        assert c.request("QUERY").raw == b"RESULT 0\n"


def conversation(port):
    """A whole session as (request bytes, expected reply bytes) pairs."""
    return [
        (b"USER 0 corrado\n", ack(HELLO % "corrado")),
        (b"PASS 0 mypass\n", ack(AUTH_OK)),
        (b"BIND 0 127.0.0.1 %d\n" % port, ack(BOUND % ("127.0.0.1", port))),
        (b"QUERY 0\n", result(("corrado", "127.0.0.1", port))),
        (b"QUERY 0 corrado\n", result(("corrado", "127.0.0.1", port))),
        (b"QUERY 0 nobody\n", b"RESULT 0\n"),
        (b"LEAVE 0\n", ack(LEFT)),
        (b"QUERY 0\n", b"RESULT 0\n"),
    ]


def test_pipelined_requests_are_answered_in_order(directory, make_peer):
    peer = make_peer()
    conv = conversation(peer.port)
    with directory.client() as c:
        c.send(b"".join(req for req, _ in conv))
        for req, want in conv:
            assert c.read_frame().raw == want, req
        assert c.quiet()


def test_pipelined_then_half_close(directory, make_peer):
    """What `printf ... | nc` does: everything at once, then the end of input. Every request is
    still answered (the password check and the BIND check are asynchronous), then the daemon
    closes."""
    peer = make_peer()
    conv = conversation(peer.port)
    with directory.client() as c:
        c.send(b"".join(req for req, _ in conv))
        c.sock.shutdown(socket.SHUT_WR)
        for req, want in conv:
            assert c.read_frame().raw == want, req
        c.expect_closed()


def test_pipelining_under_backpressure_loses_nothing(make_daemon):
    d = make_daemon({"directory": {"max_output": "4096"}})
    n = 5000
    with d.client() as c:
        c.login("corrado", "mypass")
        sent, error = c.send_while_reading(b"QUERY 0 nobody\n" * n + b"LEAVE 0\n",
                                           timeout=t(20))
        assert error is None, error
        c.sock.shutdown(socket.SHUT_WR)
        for i in range(n):
            assert c.read_frame().raw == b"RESULT 0\n", i
        assert c.read_frame().raw == ack(LEFT)
        c.expect_closed()


def test_one_byte_writes(directory, make_peer):
    peer = make_peer()
    conv = conversation(peer.port)
    with directory.client() as c:
        for req, want in conv:
            for i in range(len(req)):
                c.send(req[i:i + 1])
                time.sleep(0.001)
            assert c.read_frame().raw == want, req


def test_crlf_and_blank_lines_before_a_header(directory):
    with directory.client() as c:
        c.send(b"\r\n\nUSER 0 corrado\r\n")
        assert c.read_frame().raw == ack(HELLO % "corrado")
        c.send(b"PASS  0   mypass \r\n")
        assert c.read_frame().raw == ack(AUTH_OK)


# ---------------------------------------------------------------------------------------------
# Malformed input: an ERR frame, then the close, and the daemon keeps serving


@pytest.mark.parametrize("junk", [
    b"A" * 1100,                              # no newline at all
    b"USER 0 " + b"x" * 1100,                 # a header that never ends
    b"USER 0 " + b"x" * 1100 + b"\n",         # ends, but too late
    b"\n" * 1030,                             # blank lines count towards the header
])
def test_oversized_header(directory, junk):
    with directory.client() as c:
        c.send(junk)
        assert c.read_frame().raw == err("header too long")
        c.expect_closed()
    assert_serving(directory)


def test_header_of_exactly_1024_bytes_is_accepted(directory):
    with directory.client() as c:
        c.login("corrado", "mypass")
        name = b"x" * (1024 - len(b"QUERY 0 \n"))
        line = b"QUERY 0 " + name + b"\n"
        assert len(line) == 1024
        c.send(line)
        assert c.read_frame().raw == b"RESULT 0\n"
        c.send(b"QUERY 0 " + name + b"y\n")
        assert c.read_frame().raw == err("header too long")
        c.expect_closed()


@pytest.mark.parametrize("authenticated", [False, True])
def test_oversized_payload(directory, authenticated):
    with directory.client() as c:
        if authenticated:
            c.login("corrado", "mypass")
        # LEN is judged from the header alone: not one payload byte is sent.
        c.send(b"QUERY 65537\n")
        assert c.read_frame().raw == err("payload too large")
        c.expect_closed()
    with directory.client() as c:
        c.send(b"USER 99999999999999999999999999999999 corrado\n")
        assert c.read_frame().raw == err("payload too large")
        c.expect_closed()
    assert_serving(directory)


def test_max_payload_setting(make_daemon):
    d = make_daemon({"directory": {"max_payload": "10"}})
    with d.client() as c:
        c.login("corrado", "mypass")
        c.send(b"QUERY 10\n0123456789")
        assert c.read_frame().raw == b"RESULT 0\n"
        c.send(b"QUERY 11\n")
        assert c.read_frame().raw == err("payload too large")
        c.expect_closed()
    assert_serving(d)


@pytest.mark.parametrize("junk, why", [
    (b"\x00\x01\x02\x03\n", "malformed header"),
    (b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", "malformed header"),
    (b"USER abc corrado\n", "malformed header"),
    (b"USER -1 corrado\n", "malformed header"),
    (b"USER\n", "malformed header"),
    (b" USER 0 corrado\n", "malformed header"),
    (b"US!ER 0 corrado\n", "malformed header"),
    (b"USER 0 cor\x01rado\n", "malformed header"),
    (b"USER 0 cor\x7frado\n", "malformed header"),
    (b"T" * 33 + b" 0\n", "malformed header"),
    (b"QUERY 0" + b" a" * 17 + b"\n", "too many arguments"),
    (b"\xff\xfe\xfd 0\n", "malformed header"),
])
def test_garbage_gets_err_then_close(directory, junk, why):
    with directory.client() as c:
        c.send(junk)
        f = c.read_frame()
        assert f.type == "ERR" and f.args == [], f
        assert f.text.startswith(why), f
        c.expect_closed()
    assert_serving(directory)


def test_garbage_after_login(directory):
    with directory.client() as c:
        c.login("corrado", "mypass")
        c.send(b"\x00garbage\n")
        f = c.read_frame()
        assert f.type == "ERR" and f.text.startswith("malformed header"), f
        c.expect_closed()
    assert_serving(directory)


def test_a_megabyte_without_newline_is_cut_off(directory):
    before = directory.rss_kib()
    for _ in range(3):
        with directory.client() as c:
            sent, error = c.send_while_reading(b"A" * (1 << 20), timeout=t(10))
            # Either the daemon swallowed the rest while lingering, or it reset us: both are
            # fine; what matters is that it answered and hung up.
            if error is not None:
                assert isinstance(error, (ConnectionResetError, BrokenPipeError)), error
            assert c.read_frame().raw == err("header too long")
            c.expect_closed(timeout=t(10), allow_reset=True)
    assert_serving(directory)
    # Memory stays bounded: 3 MiB went in, far less may stay. (A sanitized build keeps freed
    # memory in quarantine, so its RSS says nothing.)
    if not SANITIZED:
        assert directory.rss_kib() - before < 2048


# ---------------------------------------------------------------------------------------------
# The state machine


@pytest.mark.parametrize("msg", [
    b"PASS 0 mypass\n",
    b"QUERY 0\n",
    b"BIND 0 127.0.0.1 5555\n",
    b"LEAVE 0\n",
    b"HELLO 0\n",
    b"USER 0\n",
    b"USER 0 corrado extra\n",
    b"LOGIN 0\n",
    b"user 0 corrado\n",
])
def test_wrong_first_message(directory, msg):
    with directory.client() as c:
        c.send(msg)
        assert c.read_frame().raw == err(EXPECT_USER)
        c.expect_closed()


@pytest.mark.parametrize("msg", [
    b"USER 0 corrado\n",
    b"LOGIN 0 corrado\n",
    b"QUERY 0\n",
    b"BIND 0 127.0.0.1 5555\n",
    b"PASS 0\n",
    b"PASS 0 my pass\n",
    b"pass 0 mypass\n",
])
def test_wrong_second_message(directory, msg):
    with directory.client() as c:
        assert c.request("USER", "corrado").raw == ack(HELLO % "corrado")
        c.send(msg)
        assert c.read_frame().raw == err(EXPECT_PASS)
        c.expect_closed()


@pytest.mark.parametrize("msg, type_", [
    (b"FOO 0\n", "FOO"),
    (b"MESSAGE 5 corrado\nhello", "MESSAGE"),
    (b"BIND 0 127.0.0.1\n", "BIND"),
    (b"BIND 0 127.0.0.1 5555 x\n", "BIND"),
    (b"QUERY 0 a b\n", "QUERY"),
    (b"LEAVE 0 x\n", "LEAVE"),
    (b"USER 0 corrado\n", "USER"),
    (b"LOGIN 0 corrado\n", "LOGIN"),
    (b"PASS 0 mypass\n", "PASS"),
    (b"query 0\n", "query"),
])
def test_not_understood_after_login(directory, msg, type_):
    with directory.client() as c:
        c.login("corrado", "mypass")
        c.send(msg)
        assert c.read_frame().raw == err(UNKNOWN % type_)
        c.expect_closed()


@pytest.mark.parametrize("name", ["a,b", "x" * 33, "caf\xc3\xa9", "semi;colon", "a/b"])
def test_invalid_user_names_are_refused(directory, name):
    with directory.client() as c:
        c.send(b"USER 0 " + name.encode("latin-1") + b"\n")
        assert c.read_frame().raw == err(BAD_NAME)
        c.expect_closed()


def test_wrong_password(directory):
    with directory.client() as c:
        c.login("corrado", "mypass")  # tofu: this creates the account
    with directory.client() as c:
        assert c.request("USER", "corrado").raw == ack(HELLO % "corrado")
        c.send(b"PASS 0 notmypass\n")
        assert c.read_frame().raw == b"ERR 21\nauthentication failed"
        c.expect_closed()
    with directory.client() as c:
        c.login("corrado", "mypass")


# ---------------------------------------------------------------------------------------------
# Accounts


def fails_login(d, user, password, text=AUTH_FAILED, **kw):
    with d.client(**kw) as c:
        assert c.request("USER", user).raw == ack(HELLO % user)
        c.send_msg("PASS", password)
        assert c.read_frame().raw == err(text)
        c.expect_closed()


def test_accounts_tofu_first_password_sticks(make_daemon):
    d = make_daemon({"directory": {"accounts": "tofu"}})
    with d.client() as c:
        c.login("Alice", "first")
    fails_login(d, "Alice", "second")
    # Names are one account regardless of case; the account keeps its own spelling.
    fails_login(d, "alice", "second")
    with d.client() as c:
        c.login("ALICE", "first")
        assert c.request("QUERY").raw == b"RESULT 0\n"
    with d.client() as c:
        c.login("bob", "second")  # another name is another account
    out = d.cli("user", "list")
    assert out.returncode == 0, out.stderr
    names = [line.split("\t")[0] for line in out.stdout.splitlines()]
    assert sorted(names) == ["Alice", "bob"]


def test_accounts_closed(make_daemon):
    d = make_daemon({"directory": {"accounts": "closed"}})
    fails_login(d, "bob", "secret")
    out = d.cli("user", "add", "bob", input="secret\n")
    assert out.returncode == 0, out.stderr
    with d.client() as c:
        c.login("bob", "secret")
    fails_login(d, "bob", "wrong")
    fails_login(d, "carol", "secret")
    out = d.cli("user", "del", "bob")
    assert out.returncode == 0, out.stderr
    fails_login(d, "bob", "secret")


def test_accounts_open(make_daemon):
    d = make_daemon({"directory": {"accounts": "open"}})
    with d.client() as c:
        c.login("bob", "one")
    with d.client() as c:
        c.login("bob", "two")
    # Demo mode is announced, and stores no account.
    assert "accounts = open" in d.log()
    out = d.cli("user", "list")
    assert out.returncode == 0 and out.stdout.strip() == "", (out.stdout, out.stderr)


def test_failed_logins_are_rate_limited_per_source_address(make_daemon):
    d = make_daemon({"directory": {"login_failures": "3", "login_window": "60"}})
    with d.client() as c:
        c.login("alice", "right")
    for _ in range(3):
        fails_login(d, "alice", "wrong")
    # Now even the right password is refused, without being checked.
    fails_login(d, "alice", "right", text=RATE)
    fails_login(d, "bob", "anything", text=RATE)
    # Another source address is not affected (all of 127.0.0.0/8 is loopback on Linux).
    with d.client(source="127.0.0.2") as c:
        c.login("alice", "right")
    fails_login(d, "alice", "right", text=RATE)


def test_rate_limit_window_expires(make_daemon):
    d = make_daemon({"directory": {"login_failures": "2", "login_window": "1"}})
    with d.client() as c:
        c.login("alice", "right")
    fails_login(d, "alice", "wrong")
    fails_login(d, "alice", "wrong")
    fails_login(d, "alice", "right", text=RATE)
    start = time.monotonic()

    def can_login():
        with d.client() as c:
            c.request("USER", "alice")
            f = c.request("PASS", "right")
            return f.raw == ack(AUTH_OK)

    wait_until(lambda: time.monotonic() - start > 1.0 and can_login(), timeout=t(5),
               interval=0.2, what="the login window to pass")


def test_parallel_guesses_are_limited_like_sequential_ones(make_daemon):
    # Regression: failures used to be counted only once a hash finished, so guesses sent
    # together, before any answer, all passed the limit. Attempts on one account now count as
    # they are made.
    d = make_daemon({"server": {"password_cost": "interactive"},
                     "directory": {"login_failures": "3", "login_window": "60"}})
    with d.client() as c:
        c.login("alice", "right")
    clients = [d.client() for _ in range(30)]
    try:
        for c in clients:
            c.send(b"USER 0 alice\nPASS 0 wrong\n")
        replies = []
        for c in clients:
            assert c.read_frame(timeout=t(30)).raw == ack(HELLO % "alice")
            replies.append(c.read_frame(timeout=t(30)).raw)
        assert replies.count(err(RATE)) >= 27, replies
        assert set(replies) <= {err(RATE), err(AUTH_FAILED)}
    finally:
        for c in clients:
            c.close()


def test_many_parallel_logins_to_different_accounts_from_one_address(make_daemon):
    # The limit on attempts in flight is per account: a busy NAT or a test on loopback logging
    # in many users at once is not mistaken for guessing.
    d = make_daemon({"directory": {"login_failures": "3"}})
    clients = [d.client() for _ in range(40)]
    try:
        for i, c in enumerate(clients):
            c.send(b"USER 0 user%02d\nPASS 0 pw\n" % i)
        for i, c in enumerate(clients):
            assert c.read_frame(timeout=t(30)).raw == ack(HELLO % ("user%02d" % i))
            assert c.read_frame(timeout=t(30)).raw == ack(AUTH_OK)
    finally:
        for c in clients:
            c.close()


# ---------------------------------------------------------------------------------------------
# BIND


def test_bind_to_a_closed_port(directory):
    port = free_port()
    with directory.client() as c:
        c.login("corrado", "mypass")
        assert c.request("BIND", "127.0.0.1", port).raw == b"ERR 25\ninvalid bind notification"
        c.expect_closed()
    with directory.client() as c:
        c.login("other", "pw")
        assert c.query() == []


@pytest.mark.parametrize("args", [
    ["localhost", "5555"],
    ["127.0.0.1", "0"],
    ["127.0.0.1", "65536"],
    ["127.0.0.1", "-1"],
    ["127.0.0.1", "55a"],
    ["127.0.0.1.1", "5555"],
    ["[::1]", "5555"],
    ["127.0.0.1:5555", "5555"],
])
def test_bind_with_a_malformed_address(directory, args):
    with directory.client() as c:
        c.login("corrado", "mypass")
        assert c.request("BIND", *args).raw == err(BAD_BIND)
        c.expect_closed()


def test_bind_of_someone_elses_address_is_refused(make_daemon):
    # A long check_timeout: had the daemon tried to connect to the TEST-NET address, the answer
    # would take that long. It must refuse at once, before any connection attempt.
    d = make_daemon({"directory": {"bind_policy": "source", "check_timeout": "30"}})
    with d.client() as c:
        c.login("corrado", "mypass")
        start = time.monotonic()
        assert c.request("BIND", "192.0.2.1", 5555).raw == err(BAD_BIND)
        assert time.monotonic() - start < t(2)
        c.expect_closed()
    assert "not the client's own address" in d.log()
    with d.client() as c:
        c.login("other", "pw")
        assert c.query() == []


def test_bind_policy_source_counts_all_loopback_as_one(make_daemon, make_peer):
    d = make_daemon({"directory": {"bind_policy": "source"}})
    peer = make_peer(host="127.0.0.2")
    with d.client() as c:  # connected from 127.0.0.1
        c.login("corrado", "mypass")
        c.bind("127.0.0.2", peer.port)
        assert c.query() == [("corrado", "127.0.0.2", peer.port)]


def test_bind_policy_any_on_loopback(make_daemon, make_peer):
    d = make_daemon({"directory": {"bind_policy": "any", "listen": "unix:{tmp}/dir.sock"}})
    p1, p2 = make_peer(host="127.0.0.3"), make_peer()
    with d.client(kind="unix") as c:
        c.login("corrado", "mypass")
        c.bind("127.0.0.3", p1.port)
        c.bind("127.0.0.1", p2.port)
        assert c.query() == [("corrado", "127.0.0.1", p2.port)]


def test_bind_check_connect_accepts_a_silent_listener(directory, make_peer):
    peer = make_peer(mode="silent")  # like `nc -l`
    with directory.client() as c:
        c.login("corrado", "mypass")
        c.bind("127.0.0.1", peer.port)
    peer.wait(lambda p: p.accepted >= 1, what="the check's connection")


def test_bind_check_ping(make_daemon, make_peer):
    d = make_daemon({"directory": {"bind_check": "ping", "check_timeout": t(0.5)}})
    good, silent, closing = make_peer(), make_peer(mode="silent"), make_peer(mode="close")
    wrong = make_peer(mode="wrong")
    with d.client() as c:
        c.login("corrado", "mypass")
        c.bind("127.0.0.1", good.port)
    # The daemon sent exactly the seed's PING.
    good.wait(lambda p: p.pings >= 1, what="a PING")
    assert good.raw[0] == b"PING 0\n"
    with d.client() as c:
        c.login("silent", "pw")
        start = time.monotonic()
        assert c.request("BIND", "127.0.0.1", silent.port).raw == err(BAD_BIND)
        assert time.monotonic() - start >= 0.4  # it waited check_timeout for the PONG
        c.expect_closed()
    assert silent.raw and silent.raw[0] == b"PING 0\n"
    with d.client() as c:
        c.login("closing", "pw")
        assert c.request("BIND", "127.0.0.1", closing.port).raw == err(BAD_BIND)
        c.expect_closed()
    with d.client() as c:
        c.login("wrong", "pw")
        assert c.request("BIND", "127.0.0.1", wrong.port).raw == err(BAD_BIND)
        c.expect_closed()
    with d.client() as c:
        c.login("other", "pw")
        assert c.query() == [("corrado", "127.0.0.1", good.port)]


def test_bind_check_does_not_block_other_clients(make_daemon, make_peer):
    d = make_daemon({"directory": {"bind_check": "ping", "check_timeout": t(1.5)}})
    silent = make_peer(mode="silent")
    with d.client() as slow:
        slow.login("slow", "pw")
        slow.send_msg("BIND", "127.0.0.1", silent.port)
        silent.wait(lambda p: p.pings >= 1, what="the BIND check's PING")
        start = time.monotonic()
        assert_serving(d)
        assert time.monotonic() - start < t(1)
        assert slow.read_frame(timeout=t(10)).raw == err(BAD_BIND)


def test_client_gone_during_the_bind_check(make_daemon, make_peer):
    d = make_daemon({"directory": {"bind_check": "ping", "check_timeout": t(0.5)}})
    silent = make_peer(mode="silent")
    for i in range(5):
        with d.client() as c:
            c.login("quitter", "pw")
            c.send_msg("BIND", "127.0.0.1", silent.port)
            silent.wait(lambda p, i=i: p.pings >= i + 1, what="the BIND check")
    time.sleep(t(0.8))  # the checks time out with nobody left to answer
    with d.client() as c:
        c.login("quitter", "pw")
        assert c.query() == []


def test_rebinding_replaces_the_binding(directory, make_peer):
    p1, p2, p3 = make_peer(), make_peer(), make_peer()
    with directory.client() as c:
        c.login("corrado", "mypass")
        c.bind("127.0.0.1", p1.port)
        c.bind("127.0.0.1", p2.port)
        assert c.query() == [("corrado", "127.0.0.1", p2.port)]
    with directory.client() as c:  # from another connection of the same user
        c.login("corrado", "mypass")
        c.bind("127.0.0.1", p3.port)
        assert c.query() == [("corrado", "127.0.0.1", p3.port)]


# ---------------------------------------------------------------------------------------------
# QUERY and LEAVE


def test_query_all_one_and_unknown(directory, make_peer):
    peers = {}
    for name in ["carol", "alice", "bob"]:  # bound out of order
        peers[name] = make_peer()
        with directory.client() as c:
            c.login(name, "pw-" + name)
            c.bind("127.0.0.1", peers[name].port)
    rows = [(n, "127.0.0.1", peers[n].port) for n in ["alice", "bob", "carol"]]
    with directory.client() as c:
        c.login("dave", "pw")  # logged in, not bound
        assert c.request("QUERY").raw == result(*rows)
        assert c.request("QUERY", "bob").raw == result(rows[1])
        assert c.request("QUERY", "BoB").raw == result(rows[1])  # names ignore case
        assert c.request("QUERY", "nobody").raw == b"RESULT 0\n"
        assert c.request("QUERY", "dave").raw == b"RESULT 0\n"
        assert c.request("QUERY", "x" * 40).raw == b"RESULT 0\n"


def test_query_with_nobody_bound(directory):
    with directory.client() as c:
        c.login("corrado", "mypass")
        assert c.request("QUERY").raw == b"RESULT 0\n"


def test_leave(directory, make_peer):
    peer = make_peer()
    with directory.client() as c:
        c.login("corrado", "mypass")
        c.bind("127.0.0.1", peer.port)
        assert c.request("LEAVE").raw == b"ACK 27\nderegistered from directory"
        assert c.request("QUERY").raw == b"RESULT 0\n"
        # Leaving twice gets the same answer; the session stays usable.
        assert c.request("LEAVE").raw == ack(LEFT)
        c.bind("127.0.0.1", peer.port)
        assert c.query() == [("corrado", "127.0.0.1", peer.port)]


def test_closing_the_connection_keeps_the_binding(directory, make_peer):
    peer = make_peer()
    with directory.client() as c:
        c.login("corrado", "mypass")
        c.bind("127.0.0.1", peer.port)
    with directory.client() as c:
        c.login("other", "pw")
        assert c.query("corrado") == [("corrado", "127.0.0.1", peer.port)]


# ---------------------------------------------------------------------------------------------
# Peers finding each other, and the checker


def test_two_peers_find_each_other_and_chat(directory, make_peer):
    alice_listener, bob_listener = make_peer(), make_peer()
    alice, bob = directory.client(), directory.client()
    try:
        alice.login("alice", "pw-a")
        alice.bind("127.0.0.1", alice_listener.port)
        bob.login("bob", "pw-b")
        bob.bind("127.0.0.1", bob_listener.port)

        [(name, host, port)] = alice.query("bob")
        assert (name, host, port) == ("bob", "127.0.0.1", bob_listener.port)
        with Client((host, port)) as chat:
            assert chat.request("PING").raw == b"PONG 0\n"
            chat.send(b"MESSAGE 11 alice\nhello there")
            [m] = bob_listener.wait_message(1)
            assert m.raw == b"MESSAGE 11 alice\nhello there"
            assert m.args == ["alice"] and m.payload == b"hello there"

        [(name, host, port)] = bob.query("alice")
        with Client((host, port)) as chat:
            chat.send_msg("MESSAGE", "bob", payload="hi alice,\nhow are you?")
            [m] = alice_listener.wait_message(1)
            assert m.args == ["bob"] and m.payload == b"hi alice,\nhow are you?"
    finally:
        alice.close()
        bob.close()


def test_checker_removes_dead_peers_and_keeps_live_ones(make_daemon, make_peer):
    d = make_daemon({"directory": {"check_interval": "0.3", "check_timeout": t(0.5),
                                   "check_failures": "1"}})
    live, dying, silent = make_peer(), make_peer(), make_peer(mode="silent")
    wrong = make_peer(mode="wrong")
    for name, p in [("alive", live), ("dead", dying), ("mute", silent), ("rude", wrong)]:
        with d.client() as c:
            c.login(name, "pw")
            c.bind("127.0.0.1", p.port)
    dying.stop()  # the port is closed now
    with d.client() as c:
        c.login("watcher", "pw")
        wait_until(lambda: c.query() == [("alive", "127.0.0.1", live.port)], timeout=t(10),
                   interval=0.1, what="the checker to remove dead, mute and rude")
        # The live peer was PINGed and is kept round after round.
        live.wait(lambda p: p.pings >= 2, timeout=t(5), what="two checker PINGs")
        time.sleep(1.0)
        assert c.query() == [("alive", "127.0.0.1", live.port)]
    assert silent.pings >= 1  # it was asked, and said nothing


def test_checker_needs_check_failures_in_a_row(make_daemon, make_peer):
    d = make_daemon({"directory": {"check_interval": "0.3", "check_timeout": t(0.3),
                                   "check_failures": "3"}})
    dying = make_peer()
    with d.client() as c:
        c.login("dead", "pw")
        c.bind("127.0.0.1", dying.port)
    # Every failed check comes after this moment, one per round.
    start = time.monotonic()
    dying.stop()
    with d.client() as c:
        c.login("watcher", "pw")
        wait_until(lambda: c.query() == [], timeout=t(10), interval=0.05,
                   what="the checker to remove the binding")
    # Three failed rounds, 0.3 s apart: not before the third tick.
    assert time.monotonic() - start >= 0.55


def test_checker_with_many_bindings_and_little_concurrency(make_daemon, make_peer):
    d = make_daemon({"directory": {"accounts": "open", "check_interval": "0.3",
                                   "check_timeout": t(0.5), "check_failures": "1",
                                   "check_concurrency": "4"}})
    peer = make_peer()
    names = ["user%03d" % i for i in range(100)]
    for name in names:
        with d.client() as c:
            c.login(name, "pw")
            c.bind("127.0.0.1", peer.port)
    with d.client() as c:
        c.login("watcher", "pw")
        base = peer.pings
        # Two whole rounds, four probes at a time: every binding is kept.
        peer.wait(lambda p: p.pings >= base + 2 * len(names), timeout=t(10),
                  what="two checker rounds")
        assert [r[0] for r in c.query()] == names
        peer.stop()
        wait_until(lambda: c.query() == [], timeout=t(10), interval=0.1,
                   what="the checker to remove every binding")


def test_bindings_survive_a_restart(make_daemon, make_peer):
    live, dying = make_peer(), make_peer()
    d1 = make_daemon({"directory": {"check_interval": "0"}})
    for name, p in [("alice", live), ("bob", dying)]:
        with d1.client() as c:
            c.login(name, "pw-" + name)
            c.bind("127.0.0.1", p.port)
    rc, _ = d1.stop()
    assert rc == 0

    d2 = make_daemon({"directory": {"check_interval": "0"}}, tmpdir=d1.tmp)
    with d2.client() as c:
        c.login("alice", "pw-alice")  # the account survived too
        assert c.query() == [("alice", "127.0.0.1", live.port), ("bob", "127.0.0.1", dying.port)]
    fails_login(d2, "alice", "wrong")
    rc, _ = d2.stop()
    assert rc == 0

    # Restored bindings are re-verified by the checker.
    dying.stop()
    d3 = make_daemon({"directory": {"check_interval": "0.3", "check_timeout": t(0.5),
                                    "check_failures": "1"}}, tmpdir=d1.tmp)
    with d3.client() as c:
        c.login("bob", "pw-bob")
        wait_until(lambda: c.query() == [("alice", "127.0.0.1", live.port)], timeout=t(10),
                   interval=0.1, what="the checker to remove bob's restored binding")


# ---------------------------------------------------------------------------------------------
# Load


def test_500_concurrent_clients(make_daemon, make_peer):
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < 2048 and hard > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 4096), hard))
    n = 500
    d = make_daemon({"server": {"password_cost": "minimum"},
                     "directory": {"accounts": "tofu", "bind_check": "ping"}})
    peer = make_peer()
    addr = d.addr()
    names = ["user%03d" % i for i in range(n)]
    steps = lambda name: [  # noqa: E731
        (encode_req("USER", name), ack(HELLO % name)),
        (encode_req("PASS", "pw-" + name), ack(AUTH_OK)),
        (encode_req("BIND", "127.0.0.1", peer.port), ack(BOUND % ("127.0.0.1", peer.port))),
        (encode_req("QUERY", name), result((name, "127.0.0.1", peer.port))),
    ]
    sel = selectors.DefaultSelector()
    state = {}
    try:
        for name in names:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setblocking(False)
            s.connect_ex(addr)
            st = {"name": name, "steps": steps(name), "i": 0, "buf": b"", "sent": False}
            state[s] = st
            sel.register(s, selectors.EVENT_WRITE, st)
        done, failures = 0, []
        deadline = time.monotonic() + t(60)
        while done + len(failures) < n and time.monotonic() < deadline:
            for key, ev in sel.select(0.2):
                s, st = key.fileobj, key.data
                try:
                    if ev & selectors.EVENT_WRITE:
                        s.sendall(st["steps"][st["i"]][0])
                        sel.modify(s, selectors.EVENT_READ, st)
                        continue
                    data = s.recv(65536)
                except OSError as e:
                    failures.append((st["name"], st["i"], repr(e)))
                    sel.unregister(s)
                    continue
                if not data:
                    failures.append((st["name"], st["i"], "closed", st["buf"]))
                    sel.unregister(s)
                    continue
                st["buf"] += data
                want = st["steps"][st["i"]][1]
                if len(st["buf"]) < len(want):
                    continue
                if st["buf"] != want:
                    failures.append((st["name"], st["i"], st["buf"]))
                    sel.unregister(s)
                    continue
                st["buf"] = b""
                st["i"] += 1
                if st["i"] == len(st["steps"]):
                    done += 1
                    sel.unregister(s)
                else:
                    sel.modify(s, selectors.EVENT_WRITE, st)
        assert not failures, failures[:10]
        assert done == n
    finally:
        sel.close()
        for s in state:
            s.close()
    with d.client() as c:
        c.login("counter", "pw")
        rows = c.query()
    assert rows == [(name, "127.0.0.1", peer.port) for name in names]


def encode_req(type_, *args):
    return (" ".join([type_, "0"] + [str(a) for a in args]) + "\n").encode()


# ---------------------------------------------------------------------------------------------
# Shutdown


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signal_exits_0_with_clients_connected(make_daemon, make_peer, sig):
    d = make_daemon({"directory": {"bind_check": "ping", "check_timeout": "30"}})
    silent = make_peer(mode="silent")
    clients = [d.client() for _ in range(5)]
    try:
        clients[1].request("USER", "half")
        clients[2].login("full", "pw")
        clients[3].login("binding", "pw")
        clients[3].send_msg("BIND", "127.0.0.1", silent.port)  # a BIND check in flight
        silent.wait(lambda p: p.pings >= 1, what="the BIND check")
        clients[4].send(b"USER 0 parti")  # half a header
        rc, log = d.stop(sig, timeout=t(10))
        assert rc == 0, log[-3000:]
        for c in clients:
            c.expect_closed(timeout=t(5), allow_reset=True, allow_data=True)
    finally:
        for c in clients:
            c.close()


def test_signal_while_passwords_are_being_hashed(make_daemon):
    # Regression: the directory was freed before the worker threads were joined, so a password
    # check finishing during shutdown wrote through a freed pointer (seen under ASan).
    d = make_daemon({"server": {"password_cost": "moderate", "workers": "1"}})
    clients = [d.client() for _ in range(4)]
    try:
        for i, c in enumerate(clients):
            c.send(b"USER 0 new%d\nPASS 0 pw\n" % i)
        for c in clients:
            c.read_frame()  # the hello; the hashes are now queued or running
        rc, log = d.stop(signal.SIGTERM, timeout=t(30))
        assert rc == 0, log[-3000:]
    finally:
        for c in clients:
            c.close()


# ---------------------------------------------------------------------------------------------
# Listeners


needs_ipv6 = pytest.mark.skipif(not ipv6_loopback_available(), reason="no IPv6 loopback")


@needs_ipv6
def test_ipv6_listener(make_daemon, make_peer):
    d = make_daemon({"directory": {"listen": "[::1]:0"}})
    peer = make_peer(host="::1")
    host, port = d.addr(family="6")
    assert host == "::1"
    with Client((host, port)) as c:
        c.login("corrado", "mypass")
        c.bind("::1", peer.port)
        assert c.request("QUERY").raw == result(("corrado", "::1", peer.port))
        # The address is shown in canonical form.
        f = c.request("BIND", "0:0:0:0:0:0:0:1", peer.port)
        assert f.raw == ack(BOUND % ("::1", peer.port))
        # All loopback addresses are one host for bind_policy = source.
        peer4 = make_peer()
        c.bind("127.0.0.1", peer4.port)
    peer.wait(lambda p: p.accepted >= 2, what="the BIND checks over IPv6")


def test_unix_socket_listener(make_daemon, make_peer):
    d = make_daemon({"directory": {"listen": "unix:{tmp}/dir.sock", "unix_mode": "0600"}})
    path = os.path.join(d.tmp, "dir.sock")
    assert d.addr(kind="unix") == path
    assert stat.S_ISSOCK(os.stat(path).st_mode)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    peer = make_peer()
    with d.client(kind="unix") as c:
        c.login("corrado", "mypass")
        c.bind("127.0.0.1", peer.port)  # a UNIX client counts as loopback
        assert c.query() == [("corrado", "127.0.0.1", peer.port)]
    rc, _ = d.stop()
    assert rc == 0
    assert not os.path.exists(path)  # the socket file is removed at exit


def test_all_listener_kinds_at_once(make_daemon):
    listen = ["127.0.0.1:0", "unix:{tmp}/dir.sock"]
    if ipv6_loopback_available():
        listen.insert(1, "[::1]:0")
    d = make_daemon({"directory": {"listen": ",".join(listen)}})
    assert len(d.addresses) == len(listen), d.addresses
    targets = [d.addr(family="4"), d.addr(kind="unix")]
    if ipv6_loopback_available():
        targets.append(d.addr(family="6"))
    for i, target in enumerate(targets):
        with Client(target) as c:
            c.login("user%d" % i, "pw")
            assert c.request("QUERY").raw == b"RESULT 0\n"
    assert d.alive()


def test_stale_unix_socket_file_is_replaced(make_daemon):
    d = make_daemon({"directory": {"listen": "unix:{tmp}/dir.sock"}}, start=False)
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(os.path.join(d.tmp, "dir.sock"))
    stale.close()  # the file stays, nobody listens
    d.start()
    with d.client(kind="unix") as c:
        c.login("corrado", "mypass")


# ---------------------------------------------------------------------------------------------
# Access lists and connection limits


def refused_without_reply(d, **kw):
    with d.client(**kw) as c:
        c.expect_closed(timeout=t(3), allow_reset=True)


def test_deny_list(make_daemon):
    d = make_daemon({"directory": {"deny": "127.0.0.0/8"}})
    refused_without_reply(d)
    refused_without_reply(d, source="127.0.0.2")


def test_allow_list(make_daemon):
    d = make_daemon({"directory": {"allow": "127.0.0.2/32, 10.0.0.0/8"}})
    refused_without_reply(d)  # from 127.0.0.1
    with d.client(source="127.0.0.2") as c:
        c.login("corrado", "mypass")


def test_deny_wins_over_allow(make_daemon):
    d = make_daemon({"directory": {"allow": "127.0.0.0/8", "deny": "127.0.0.1/32"}})
    refused_without_reply(d)
    with d.client(source="127.0.0.3") as c:
        c.login("corrado", "mypass")


def test_idle_timeout(make_daemon):
    d = make_daemon({"directory": {"idle_timeout": "1"}})
    start = time.monotonic()
    with d.client() as idle, d.client() as busy:
        busy.login("busy", "pw")
        closed_at = None
        # The busy client keeps talking past the timeout and stays connected; the idle one is
        # closed after about a second, not before.
        for _ in range(int(t(3) / 0.3)):
            time.sleep(0.3)
            assert busy.request("QUERY").raw == b"RESULT 0\n"
            if closed_at is None and not idle.is_open(0.001):
                closed_at = time.monotonic()
                idle.expect_closed()
            if closed_at is not None and time.monotonic() - start > 2.5:
                break
        assert closed_at is not None, "the idle connection was not closed"
        assert closed_at - start >= 0.9


def test_max_clients(make_daemon):
    d = make_daemon({"directory": {"max_clients": "2"}})
    a, b = d.client(), d.client()
    try:
        a.login("a", "pw")
        b.login("b", "pw")
        refused_without_reply(d)
        b.close()
        wait_until(lambda: _login_ok(d), timeout=t(5), what="a free client slot")
    finally:
        a.close()
        b.close()


def _login_ok(d):
    try:
        with d.client() as c:
            c.login("c", "pw")
            return True
    except (HarnessError, OSError):
        return False


def test_client_that_never_reads_is_dropped(make_daemon, make_peer):
    d = make_daemon({"directory": {"max_output": "4096", "write_timeout": "1"}})
    peer = make_peer()
    # Make every QUERY answer a little longer than the request.
    with d.client() as c:
        c.login("a" * 32, "pw")
        c.bind("127.0.0.1", peer.port)
    before = d.rss_kib()
    hog = d.client(rcvbuf=4096)
    try:
        hog.login("hog", "pw")
        # An endless stream of QUERYs: sending from sent_total % 8 keeps the frames whole.
        view = memoryview(b"QUERY 0\n" * 4096)
        sent_total, error = 0, None
        deadline = time.monotonic() + t(20)
        worst = 0.0
        hog.sock.setblocking(False)
        while error is None and time.monotonic() < deadline:
            try:
                sent_total += hog.sock.send(view[sent_total % 8:])
            except (BlockingIOError, InterruptedError):
                time.sleep(0.05)
            except OSError as e:
                error = e
            # Meanwhile everybody else is served promptly.
            start = time.monotonic()
            with d.client() as other:
                other.login("other", "pw")
                assert other.request("QUERY", "hog").raw == b"RESULT 0\n"
            worst = max(worst, time.monotonic() - start)
        assert isinstance(error, (ConnectionResetError, BrokenPipeError)), \
            "the daemon did not drop the client (sent %d bytes, error %r)" % (sent_total, error)
        assert worst < t(1)
    finally:
        hog.close()
    if not SANITIZED:
        assert d.rss_kib() - before < 8192
    assert_serving(d)
