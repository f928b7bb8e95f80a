# SPDX-License-Identifier: MIT
"""System tests of the policy service (the Adobe/Flash socket policy server) and of the
in-line policy answered on the TCP ports of the other services.

The request is exactly b"<policy-file-request/>\\0"; the answer is the policy document plus one
NUL byte, then the close. Anything else is closed without a single answer byte. Answers are
compared byte for byte.
"""

import os
import shutil
import socket
import subprocess
import threading
import time

import pytest

from harness import (Client, HarnessError, ack, ipv6_loopback_available, run_cli, t,
                     write_config)

REQUEST = b"<policy-file-request/>\0"

needs_ipv6 = pytest.mark.skipif(not ipv6_loopback_available(), reason="no IPv6 loopback")
needs_nc = pytest.mark.skipif(shutil.which("nc") is None, reason="nc not installed")
needs_socat = pytest.mark.skipif(shutil.which("socat") is None, reason="socat not installed")


def policy_doc(domains=("*",), ports="*", site="master-only"):
    """The document the daemon generates (exact bytes, LF line ends)."""
    lines = ['<?xml version="1.0"?>',
             '<!DOCTYPE cross-domain-policy SYSTEM "/xml/dtds/cross-domain-policy.dtd">',
             '<cross-domain-policy>']
    if site is not None:
        lines.append('<site-control permitted-cross-domain-policies="%s"/>' % site)
    for dom in domains:
        lines.append('<allow-access-from domain="%s" to-ports="%s"/>' % (dom, ports))
    lines.append('</cross-domain-policy>')
    return ("\n".join(lines) + "\n").encode()


DEFAULT_POLICY = policy_doc()

# Spelled out once, so that a mistake in policy_doc() cannot hide one in the daemon.
assert DEFAULT_POLICY == (
    b'<?xml version="1.0"?>\n'
    b'<!DOCTYPE cross-domain-policy SYSTEM "/xml/dtds/cross-domain-policy.dtd">\n'
    b'<cross-domain-policy>\n'
    b'<site-control permitted-cross-domain-policies="master-only"/>\n'
    b'<allow-access-from domain="*" to-ports="*"/>\n'
    b'</cross-domain-policy>\n')


def policy_daemon(make_daemon, directory=False, file=None, **keys):
    """A daemon with the policy service only; file: the bytes of a policy file to serve."""
    cfg = {"listen": "127.0.0.1:0"}
    cfg.update({k: str(v) for k, v in keys.items()})
    if file is not None:
        cfg["file"] = "{tmp}/policy.xml"
    d = make_daemon({"policy": cfg}, directory=directory, start=False)
    if file is not None:
        write_file(d.tmp, "policy.xml", file)
    return d.start()


def ask(addr, request=REQUEST, timeout=None):
    """Send the request, read until the daemon closes (an orderly close: a reset fails).
    Returns every byte received."""
    with Client(addr, timeout=t(5) if timeout is None else timeout) as c:
        c.send(request)
        return c.expect_closed(allow_data=True)



def assert_closed_silently(c, timeout=None):
    """The daemon closes (or resets) the connection without sending a single byte."""
    got = c.expect_closed(timeout=t(5) if timeout is None else timeout, allow_reset=True)
    assert got == b""


def write_file(tmp, name, data):
    path = os.path.join(tmp, name)
    with open(path, "wb") as f:
        f.write(data)
    return path


# ---------------------------------------------------------------------------------------------
# The policy service


def test_default_document(make_daemon):
    d = policy_daemon(make_daemon)
    assert [(s, k) for s, k, _ in d.addresses] == [("policy", "tcp")], d.addresses
    assert ask(d.addr("policy")) == DEFAULT_POLICY + b"\0"


def test_served_again_and_again(make_daemon):
    d = policy_daemon(make_daemon)
    for _ in range(20):
        assert ask(d.addr("policy")) == DEFAULT_POLICY + b"\0"


def test_many_clients_at_once(make_daemon):
    d = policy_daemon(make_daemon)
    clients = [Client(d.addr("policy")) for _ in range(50)]
    try:
        for c in clients:
            c.send(REQUEST)
        for c in clients:
            assert c.expect_closed(allow_data=True) == DEFAULT_POLICY + b"\0"
    finally:
        for c in clients:
            c.close()


@needs_nc
def test_with_nc(make_daemon):
    d = policy_daemon(make_daemon)
    out = subprocess.run(["nc", "-N", *map(str, d.addr("policy"))], input=REQUEST,
                         capture_output=True, timeout=t(20))
    assert out.returncode == 0, out.stderr
    assert out.stdout == DEFAULT_POLICY + b"\0"


@needs_socat
def test_with_socat(make_daemon):
    d = policy_daemon(make_daemon)
    host, port = d.addr("policy")
    out = subprocess.run(["socat", "-t", str(t(5)), "-", "TCP4:%s:%d" % (host, port)],
                         input=REQUEST, capture_output=True, timeout=t(20))
    assert out.returncode == 0, out.stderr
    assert out.stdout == DEFAULT_POLICY + b"\0"


@needs_ipv6
def test_ipv6(make_daemon):
    d = policy_daemon(make_daemon, listen="[::1]:0")
    assert ask(d.addr("policy", family="6")) == DEFAULT_POLICY + b"\0"


@pytest.mark.parametrize("parts", [
    [b"<policy-file-request/>", b"\0"],
    [b"<pol", b"icy-file-req", b"uest/>\0"],
    [bytes([b]) for b in REQUEST],
])
def test_request_in_pieces(make_daemon, parts):
    d = policy_daemon(make_daemon)
    with Client(d.addr("policy")) as c:
        for p in parts:
            c.send(p)
            time.sleep(0.02)
        assert c.expect_closed(allow_data=True) == DEFAULT_POLICY + b"\0"


def test_client_that_half_closes_after_the_request_is_answered(make_daemon):
    d = policy_daemon(make_daemon)
    with Client(d.addr("policy")) as c:
        c.send(REQUEST)
        c.sock.shutdown(socket.SHUT_WR)
        assert c.expect_closed(allow_data=True) == DEFAULT_POLICY + b"\0"


@pytest.mark.parametrize("request_", [
    b"<policy-file-request/>\n",                    # a newline instead of the NUL
    b"<policy-file-request />\0",                   # a different request
    b"<POLICY-FILE-REQUEST/>\0",
    b"GET /crossdomain.xml HTTP/1.0\r\n\r\n",
    b"<policy-file-request/>xx\0",                  # extra bytes before the NUL
    b" <policy-file-request/>\0",                   # extra bytes before the request
    b"\0",
    b"junk" * 250,                                  # 1000 bytes of junk
], ids=["newline", "space", "upper-case", "http", "extra-before-nul", "extra-before-request",
        "nul-only", "junk-1000"])
def test_malformed_request_is_closed_without_answer(make_daemon, request_):
    d = policy_daemon(make_daemon)
    with Client(d.addr("policy")) as c:
        try:
            c.send(request_)
        except (ConnectionResetError, BrokenPipeError):
            pass
        assert_closed_silently(c)
    assert ask(d.addr("policy")) == DEFAULT_POLICY + b"\0"


@pytest.mark.parametrize("request_", [b"<policy-file-request/>", b"<policy", b""])
def test_request_without_nul_then_end_of_input(make_daemon, request_):
    d = policy_daemon(make_daemon)
    with Client(d.addr("policy")) as c:
        c.send(request_)
        c.sock.shutdown(socket.SHUT_WR)
        assert_closed_silently(c)


def test_idle_client_is_closed_after_idle_timeout(make_daemon):
    d = policy_daemon(make_daemon, idle_timeout=1)
    start = time.monotonic()
    with Client(d.addr("policy")) as silent, Client(d.addr("policy")) as partial:
        partial.send(b"<policy-file-")
        assert_closed_silently(silent, timeout=t(4))
        elapsed = time.monotonic() - start
        assert_closed_silently(partial, timeout=t(4))
    assert 0.8 <= elapsed < t(4), elapsed
    # The service still answers.
    assert ask(d.addr("policy")) == DEFAULT_POLICY + b"\0"


def test_default_idle_timeout_is_not_instant(make_daemon):
    """The default idle_timeout is 5 s: a client taking 1 s to send its request is answered."""
    d = policy_daemon(make_daemon)
    with Client(d.addr("policy")) as c:
        time.sleep(1.0)
        c.send(REQUEST)
        assert c.expect_closed(allow_data=True) == DEFAULT_POLICY + b"\0"


# ---------------------------------------------------------------------------------------------
# The generated document


def test_custom_domains_ports_and_site_control(make_daemon):
    domains = ["*.example.com", "example.org", "192.0.2.1", "*"]
    d = policy_daemon(make_daemon, domains=", ".join(domains), to_ports="123,456-458",
                      site_control="all")
    assert ask(d.addr("policy")) == \
        policy_doc(domains, ports="123,456-458", site="all") + b"\0"


@pytest.mark.parametrize("ports", ["*", "843", "1-65535", "80,443,1024-2048,65535"])
def test_to_ports_values(make_daemon, ports):
    d = policy_daemon(make_daemon, to_ports=ports)
    assert ask(d.addr("policy")) == policy_doc(ports=ports) + b"\0"


def test_single_domain(make_daemon):
    d = policy_daemon(make_daemon, domains="chat.example.net")
    assert ask(d.addr("policy")) == policy_doc(["chat.example.net"]) + b"\0"


@pytest.mark.parametrize("site", ["master-only", "all"])
def test_site_control(make_daemon, site):
    d = policy_daemon(make_daemon, site_control=site)
    assert ask(d.addr("policy")) == policy_doc(site=site) + b"\0"


def test_site_control_none(make_daemon):
    d = policy_daemon(make_daemon, site_control="none")
    got = ask(d.addr("policy"))
    # "none" is either written as the attribute value or leaves the element out.
    assert got in (policy_doc(site="none") + b"\0", policy_doc(site=None) + b"\0"), got


# ---------------------------------------------------------------------------------------------
# A policy file


FILE_LF = (b'<?xml version="1.0" encoding="UTF-8"?>\n'
           b'<!DOCTYPE cross-domain-policy SYSTEM '
           b'"http://www.adobe.com/xml/dtds/cross-domain-policy.dtd">\n'
           b'<!-- served verbatim, comments and all -->\n'
           b'<cross-domain-policy>\n'
           b'    <site-control permitted-cross-domain-policies="all"/>\n'
           b'    <allow-access-from domain="*.example.com" to-ports="80,443,1024-2048"'
           b' secure="false"/>\n'
           b'    <allow-access-from domain="192.0.2.1" to-ports="*"/>\n'
           b'</cross-domain-policy>\n')

FILE_CRLF = (b'<?xml version="1.0"?>\r\n'
             b'<cross-domain-policy>\r\n'
             b'\t<allow-access-from domain="*" to-ports="8843" />\r\n'
             b'</cross-domain-policy>')  # no newline at the end

FILE_MINIMAL = b'<cross-domain-policy/>'


@pytest.mark.parametrize("doc", [FILE_LF, FILE_CRLF, FILE_MINIMAL],
                         ids=["lf", "crlf-no-final-newline", "minimal"])
def test_file_served_verbatim(make_daemon, doc):
    d = policy_daemon(make_daemon, file=doc)
    assert ask(d.addr("policy")) == doc + b"\0"


def padded(size):
    """A valid policy document of exactly size bytes (padded with a comment)."""
    head = b'<?xml version="1.0"?>\n<cross-domain-policy>\n<!-- '
    tail = b' -->\n<allow-access-from domain="*" to-ports="*"/>\n</cross-domain-policy>\n'
    return head + b"p" * (size - len(head) - len(tail)) + tail


def test_file_of_64_kib_is_served(make_daemon):
    doc = padded(65536)
    assert len(doc) == 65536
    d = policy_daemon(make_daemon, file=doc)
    with Client(d.addr("policy"), rcvbuf=4096) as c:  # a slow reader gets it whole, too
        c.send(REQUEST)
        assert c.expect_closed(allow_data=True) == doc + b"\0"


def test_inline_policy_ignores_a_small_max_output(make_daemon):
    # The in-line answer is a fixed, trusted reply: it goes out whole even where the other
    # service allows less output per client.
    doc = padded(20000)
    d = make_daemon({"policy": {"listen": "127.0.0.1:0", "file": "{tmp}/policy.xml"},
                     "echo": {"listen": "127.0.0.1:0", "max_output": "4096"}},
                    directory=False, start=False)
    write_file(d.tmp, "policy.xml", doc)
    d.start()
    assert ask(d.addr("echo")) == doc + b"\0"


# ---------------------------------------------------------------------------------------------
# Start-up errors: exit 2 and one line on stderr


def start_fails(tmp_path, policy_keys, what):
    """Run the daemon with [policy] policy_keys; it must exit 2 at once with one stderr line
    containing one of the strings in what. Returns that line."""
    conf = str(tmp_path / "sb.conf")
    keys = {"listen": "127.0.0.1:0"}
    keys.update(policy_keys)
    write_config(conf, {"server": {"data_dir": str(tmp_path / "data"),
                                   "ports_file": str(tmp_path / "ports")},
                        "policy": keys})
    try:
        out = run_cli(["-c", conf], timeout=t(10), cwd=str(tmp_path))
    except subprocess.TimeoutExpired:
        raise HarnessError("the daemon started with [policy] %r" % (policy_keys,))
    assert out.returncode == 2, (out.returncode, out.stderr)
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, out.stderr
    assert any(w in lines[0] for w in what), (what, out.stderr)
    assert not os.path.exists(str(tmp_path / "ports"))
    return lines[0]


def _pol(attrs):
    return (b'<?xml version="1.0"?>\n<cross-domain-policy>\n<allow-access-from %s/>\n'
            b'</cross-domain-policy>\n' % attrs)


BAD_FILES = {
    "unclosed-root": b'<?xml version="1.0"?>\n<cross-domain-policy>\n',
    "mismatched-tags": b'<cross-domain-policy></cross-domain>',
    "not-xml": b'this is not xml\n',
    "empty": b'',
    "two-roots": b'<cross-domain-policy/>\n<cross-domain-policy/>\n',
    "wrong-root": b'<?xml version="1.0"?>\n<policy>\n'
                  b'<allow-access-from domain="*" to-ports="*"/>\n</policy>\n',
    "ports-0": _pol(b'domain="*" to-ports="0"'),
    "ports-70000": _pol(b'domain="*" to-ports="70000"'),
    "ports-5-3": _pol(b'domain="*" to-ports="5-3"'),
    "ports-abc": _pol(b'domain="*" to-ports="abc"'),
    "missing-domain": _pol(b'to-ports="*"'),
    "unknown-element": b'<cross-domain-policy>\n<deny-access-from domain="*"/>\n'
                       b'</cross-domain-policy>\n',
    "nul-inside": b'<cross-domain-policy>\n<!-- \0 -->\n'
                  b'<allow-access-from domain="*" to-ports="*"/>\n</cross-domain-policy>\n',
    "nul-at-end": _pol(b'domain="*" to-ports="*"') + b"\0",
    "too-large": padded(65537),
}


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_invalid_policy_file(tmp_path, name):
    path = str(tmp_path / ("%s.xml" % name))
    with open(path, "wb") as f:
        f.write(BAD_FILES[name])
    start_fails(tmp_path, {"file": path}, [path, "file"])


def test_missing_policy_file(tmp_path):
    path = str(tmp_path / "nope.xml")
    start_fails(tmp_path, {"file": path}, [path, "file"])


def test_unreadable_policy_file(tmp_path):
    path = str(tmp_path / "a-directory.xml")
    os.mkdir(path)
    start_fails(tmp_path, {"file": path}, [path, "file"])


@pytest.mark.parametrize("key, value", [
    ("to_ports", "0"),
    ("to_ports", "70000"),
    ("to_ports", "5-3"),
    ("to_ports", "abc"),
    ("to_ports", "80,,443"),
    ("domains", 'exa"mple.com'),
    ("domains", "<evil>"),
    ("domains", "*."),
    ("domains", "ok.example.com, bad/name"),
    ("site_control", "sometimes"),
    ("site_control", "by-content-type"),
    ("inline", "perhaps"),
])
def test_invalid_key(tmp_path, key, value):
    line = start_fails(tmp_path, {key: value}, [key])
    # Like every configuration error: FILE:LINE first ([policy] is on line 5, the key on 7).
    assert "%s:7" % (tmp_path / "sb.conf") in line, line


# ---------------------------------------------------------------------------------------------
# In-line policy on the other services' TCP ports


def inline_daemon(make_daemon, policy=None, echo_listen="127.0.0.1:0, unix:{tmp}/echo.sock",
                  directory_listen="127.0.0.1:0, unix:{tmp}/dir.sock"):
    pol = {"listen": "127.0.0.1:0"}
    pol.update(policy or {})
    return make_daemon({"policy": pol,
                        "echo": {"listen": echo_listen},
                        "directory": {"listen": directory_listen}})


def echoed(addr, data):
    """What the echo service sends back for data (then the end of input)."""
    with Client(addr) as c:
        c.send(data)
        c.sock.shutdown(socket.SHUT_WR)
        return c.expect_closed(allow_data=True)


def no_policy_from(c, wait=1.0):
    """Whatever comes back within wait seconds (or until the close) holds no policy."""
    got = b""
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        try:
            data = c._recv(deadline)
        except (socket.timeout, ConnectionResetError):
            break
        if not data:
            break
        got += data
    got = c.buf + got
    assert b"cross-domain-policy" not in got, got
    return got


def test_inline_on_directory_port(make_daemon):
    d = inline_daemon(make_daemon)
    assert ask(d.addr("directory")) == DEFAULT_POLICY + b"\0"
    # Normal traffic on the same listener.
    with d.client() as c:
        c.login("corrado", "mypass")
        assert c.request("QUERY", "nobody").raw == b"RESULT 0\n"


def test_inline_directory_login_one_byte_at_a_time(make_daemon):
    """A first frame that starts like nothing in particular, byte by byte, is the directory's."""
    d = inline_daemon(make_daemon)
    with d.client() as c:
        req = b"USER 0 corrado\n"
        for i in range(len(req)):
            c.send(req[i:i + 1])
            time.sleep(0.005)
        assert c.read_frame().raw == ack("hi corrado, authentication required")


def test_inline_on_echo_port(make_daemon):
    d = inline_daemon(make_daemon)
    assert ask(d.addr("echo")) == DEFAULT_POLICY + b"\0"
    assert echoed(d.addr("echo"), b"plain echo\n") == b"plain echo\n"


def test_inline_request_in_pieces_on_echo_port(make_daemon):
    d = inline_daemon(make_daemon)
    with Client(d.addr("echo")) as c:
        for part in (b"<policy-", b"file-request/>", b"\0"):
            c.send(part)
            time.sleep(0.05)
        assert c.expect_closed(allow_data=True) == DEFAULT_POLICY + b"\0"


@pytest.mark.parametrize("data", [
    b"x<policy-file-request/>\0",            # not the very first bytes
    b"<policy-file-request/>x\0",            # diverges after the whole tag
    b"<policy-file-request/>",               # no NUL, then the end of input
    b"<policy-fi",                           # a prefix only, then the end of input
    b"<policy-file-request/>\n",
])
def test_echo_serves_other_first_bytes_normally(make_daemon, data):
    d = inline_daemon(make_daemon)
    assert echoed(d.addr("echo"), data) == data


def test_echo_prefix_then_divergence_in_pieces(make_daemon):
    d = inline_daemon(make_daemon)
    with Client(d.addr("echo")) as c:
        c.send(b"<policy-")
        time.sleep(0.2)
        c.send(b"no thanks\n")
        c.sock.shutdown(socket.SHUT_WR)
        assert c.expect_closed(allow_data=True) == b"<policy-no thanks\n"


def test_echo_request_after_other_bytes_is_echoed(make_daemon):
    d = inline_daemon(make_daemon)
    with Client(d.addr("echo")) as c:
        c.send(b"hello\n")
        assert c.read_exactly(6) == b"hello\n"
        c.send(REQUEST)
        c.sock.shutdown(socket.SHUT_WR)
        assert c.expect_closed(allow_data=True) == REQUEST


def test_inline_uses_the_configured_document(make_daemon):
    d = inline_daemon(make_daemon, {"domains": "a.example.com, b.example.com",
                                    "to_ports": "7007", "site_control": "all"})
    want = policy_doc(["a.example.com", "b.example.com"], "7007", "all") + b"\0"
    assert ask(d.addr("policy")) == want
    assert ask(d.addr("directory")) == want
    assert ask(d.addr("echo")) == want


def test_inline_uses_the_policy_file(make_daemon):
    d = make_daemon({"policy": {"listen": "127.0.0.1:0", "file": "{tmp}/p.xml"},
                     "echo": {"listen": "127.0.0.1:0"}}, start=False)
    write_file(d.tmp, "p.xml", FILE_LF)
    d.start()
    assert ask(d.addr("policy")) == FILE_LF + b"\0"
    assert ask(d.addr("directory")) == FILE_LF + b"\0"
    assert ask(d.addr("echo")) == FILE_LF + b"\0"


def test_inline_no(make_daemon):
    d = inline_daemon(make_daemon, {"inline": "no"})
    # The policy service itself still answers.
    assert ask(d.addr("policy")) == DEFAULT_POLICY + b"\0"
    # The echo service echoes the request like any bytes.
    assert echoed(d.addr("echo"), REQUEST) == REQUEST
    # The directory treats it as a bad frame: whatever it does, no policy comes back.
    with d.client() as c:
        c.send(REQUEST)
        no_policy_from(c)
    with d.client() as c:
        c.login("corrado", "mypass")


def test_no_inline_without_policy_service(make_daemon):
    d = make_daemon({"echo": {"listen": "127.0.0.1:0"}})
    assert echoed(d.addr("echo"), REQUEST) == REQUEST
    with d.client() as c:
        c.send(REQUEST)
        no_policy_from(c)


def test_no_inline_when_policy_disabled(make_daemon):
    d = make_daemon({"policy": {"listen": "127.0.0.1:0", "enabled": "no"},
                     "echo": {"listen": "127.0.0.1:0"}})
    assert [s for s, _, _ in d.addresses if s == "policy"] == []
    assert echoed(d.addr("echo"), REQUEST) == REQUEST


def test_never_inline_on_unix_sockets(make_daemon):
    d = inline_daemon(make_daemon)
    # The echo service's UNIX socket echoes the request as it is.
    assert echoed(d.addr("echo", "unix"), REQUEST) == REQUEST
    # The directory's UNIX socket does not answer it either.
    with Client(d.addr("directory", "unix")) as c:
        c.send(REQUEST)
        no_policy_from(c)
    # While the TCP ports of the same services do.
    assert ask(d.addr("echo")) == DEFAULT_POLICY + b"\0"
    assert ask(d.addr("directory")) == DEFAULT_POLICY + b"\0"


def test_inline_many_clients_while_serving(make_daemon):
    d = inline_daemon(make_daemon)
    results = []

    def one(i):
        try:
            if i % 2:
                results.append(ask(d.addr("echo")) == DEFAULT_POLICY + b"\0")
            else:
                data = b"client %d\n" % i * 100
                results.append(echoed(d.addr("echo"), data) == data)
        except Exception as e:  # reported below
            results.append(repr(e))

    threads = [threading.Thread(target=one, args=(i,), daemon=True) for i in range(30)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(t(30))
    assert results == [True] * 30, results


@needs_ipv6
def test_inline_on_ipv6_echo_port(make_daemon):
    d = make_daemon({"policy": {"listen": "127.0.0.1:0"}, "echo": {"listen": "[::1]:0"}},
                    directory=False)
    addr = d.addr("echo", family="6")
    assert ask(addr) == DEFAULT_POLICY + b"\0"
    assert echoed(addr, b"v6\n") == b"v6\n"


def test_policy_larger_than_max_output_is_refused(tmp_path):
    write_file(str(tmp_path), "big.xml", padded(8000))
    line = start_fails(tmp_path, {"file": str(tmp_path / "big.xml"), "max_output": "4096"},
                       ["max_output"])
    assert "8001 bytes" in line, line
