# SPDX-License-Identifier: MIT
"""System tests of the echo service (RFC 862 over TCP, UDP and UNIX sockets) and `sb echo`.

Real clients where possible: socat and nc (netcat-openbsd) run as subprocesses with bounded
run times, next to Python sockets and the project's own `sb echo`. The echo must always equal
what was sent, byte for byte. Every wait is bounded and scaled with t() (SB_SANITIZED=1: x4).
"""

import itertools
import os
import random
import shutil
import socket
import struct
import subprocess
import threading
import time

import pytest

from harness import (CLIENT, SANITIZED, Client, HarnessError, free_port, one_error_line,
                     ipv6_loopback_available, t)

SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:")

needs_ipv6 = pytest.mark.skipif(not ipv6_loopback_available(), reason="no IPv6 loopback")
needs_socat = pytest.mark.skipif(shutil.which("socat") is None, reason="socat not installed")
needs_nc = pytest.mark.skipif(shutil.which("nc") is None, reason="nc not installed")

UDP_MAX = 65507  # the largest UDP payload over IPv4


def payload(n, seed=0):
    """n reproducible pseudo-random bytes (every byte value, NULs and newlines included)."""
    return random.Random(seed).randbytes(n)


def text_lines(n, seed=0):
    rnd = random.Random(seed)
    return b"".join(b"line %d %s\n" % (i, b"x" * rnd.randrange(0, 200)) for i in range(n))


def echo_daemon(make_daemon, listen="127.0.0.1:0", **keys):
    """A daemon with only the echo service (no directory)."""
    cfg = {"listen": listen}
    cfg.update({k: str(v) for k, v in keys.items()})
    return make_daemon({"echo": cfg}, directory=False)


def hostport(addr):
    host, port = addr
    return ("[%s]:%d" if ":" in host else "%s:%d") % (host, port)


def run_tool(args, input=b"", timeout=None):
    """Run a real client (socat, nc) to completion, bounded in time; bytes in and out."""
    return subprocess.run([str(a) for a in args], input=input, capture_output=True,
                          timeout=t(30) if timeout is None else timeout)


def tcp_echo(addr, data, timeout=None):
    """Send data (reading concurrently), half-close, and return everything echoed until the
    daemon's orderly close."""
    timeout = t(30) if timeout is None else timeout
    with Client(addr, timeout=timeout) as c:
        sent, error = c.send_while_reading(data, timeout=timeout)
        assert error is None, (sent, error)
        c.sock.shutdown(socket.SHUT_WR)
        return c.expect_closed(timeout=timeout, allow_data=True)



def udp_socket(family=socket.AF_INET, bind=None):
    s = socket.socket(family, socket.SOCK_DGRAM)
    if bind is not None:
        s.bind(bind)
    s.settimeout(t(2))
    return s


def udp_echo(addr, data, family=None, bind=None):
    """One datagram to addr; returns (reply, source address of the reply)."""
    if family is None:
        family = socket.AF_INET6 if ":" in addr[0] else socket.AF_INET
    with udp_socket(family, bind) as s:
        s.sendto(data, addr)
        reply, src = s.recvfrom(70000)
        return reply, src


def udp_no_answer(addr, data, bind=None, wait=1.0):
    """True if a datagram to addr gets no answer within wait seconds."""
    family = socket.AF_INET6 if ":" in addr[0] else socket.AF_INET
    with udp_socket(family, bind) as s:
        s.sendto(data, addr)
        s.settimeout(wait)
        try:
            reply = s.recv(70000)
        except socket.timeout:
            return True
        except ConnectionRefusedError:  # an ICMP port unreachable: no answer either
            return True
        raise AssertionError("unexpected answer %r" % (reply[:100],))


def assert_serving(d):
    """The echo service still answers on TCP."""
    assert tcp_echo(d.addr("echo"), b"still here\n", timeout=t(5)) == b"still here\n"


# ---------------------------------------------------------------------------------------------
# `sb echo`


def check_sanitizer(stderr, what):
    text = stderr.decode("utf-8", "replace")
    for mark in SANITIZER_MARKS:
        assert mark not in text, "sanitizer report from %s:\n%s" % (what, text[-4000:])


def run_sb(*args, input=b"", timeout=None):
    """Run `sb ARGS...` to completion (bounded); bytes in and out."""
    if not os.path.exists(CLIENT):
        raise HarnessError("client binary not found: %s (build it, or set SB_CLIENT)" % CLIENT)
    out = subprocess.run([CLIENT] + [str(a) for a in args], input=input, capture_output=True,
                         start_new_session=True, timeout=t(60) if timeout is None else timeout)
    check_sanitizer(out.stderr, "sb %s" % " ".join(str(a) for a in args))
    return out


def sb_echo(*args, **kw):
    return run_sb("echo", *args, **kw)


def assert_echoed(out, data):
    assert out.returncode == 0, (out.returncode, out.stderr)
    assert len(out.stdout) == len(data), (len(out.stdout), len(data), out.stderr)
    assert out.stdout == data



# ---------------------------------------------------------------------------------------------
# Listeners and the ports file


@pytest.fixture
def echo(make_daemon):
    """Echo on 127.0.0.1 (TCP and UDP) and a UNIX socket."""
    return echo_daemon(make_daemon, "127.0.0.1:0, unix:{tmp}/echo.sock")


def test_ports_file_lists_tcp_udp_and_unix(make_daemon):
    listen = ["127.0.0.1:0", "unix:{tmp}/echo.sock"]
    if ipv6_loopback_available():
        listen.insert(1, "[::1]:0")
    d = echo_daemon(make_daemon, ", ".join(listen))
    kinds = sorted((svc, kind) for svc, kind, _ in d.addresses)
    want = [("echo", "tcp"), ("echo", "udp"), ("echo", "unix")]
    if ipv6_loopback_available():
        want = [("echo", "tcp")] * 2 + [("echo", "udp")] * 2 + [("echo", "unix")]
    assert kinds == want, d.addresses
    # Each TCP listener serves UDP on the same address and port, although port 0 was asked.
    tcp = sorted(a for s, k, a in d.addresses if k == "tcp")
    udp = sorted(a for s, k, a in d.addresses if k == "udp")
    assert tcp == udp, d.addresses
    assert ("echo", "unix", "unix:%s/echo.sock" % d.tmp) in d.addresses
    assert d.addr("echo", "udp", family="4") == d.addr("echo", "tcp", family="4")
    if ipv6_loopback_available():
        assert d.addr("echo", "udp", family="6") == d.addr("echo", "tcp", family="6")


def test_udp_no(make_daemon):
    d = echo_daemon(make_daemon, "127.0.0.1:0", udp="no")
    assert [(s, k) for s, k, _ in d.addresses] == [("echo", "tcp")], d.addresses
    # Nothing answers UDP on the TCP port.
    assert udp_no_answer(d.addr("echo"), b"anyone?\n")
    assert_serving(d)


# ---------------------------------------------------------------------------------------------
# TCP


@needs_socat
def test_tcp_with_socat(echo):
    data = text_lines(200)
    out = run_tool(["socat", "-t", t(10), "-", "TCP4:%s" % hostport(echo.addr("echo"))],
                   input=data)
    assert out.returncode == 0, out.stderr
    assert out.stdout == data


@needs_socat
def test_tcp_8mb_with_socat(echo):
    data = payload(8 << 20, seed=1)
    out = run_tool(["socat", "-t", t(10), "-", "TCP4:%s" % hostport(echo.addr("echo"))],
                   input=data, timeout=t(60))
    assert out.returncode == 0, out.stderr
    assert len(out.stdout) == len(data)
    assert out.stdout == data


@needs_nc
def test_tcp_with_nc(echo):
    data = text_lines(100, seed=2)
    out = run_tool(["nc", "-N", *echo.addr("echo")], input=data)
    assert out.returncode == 0, out.stderr
    assert out.stdout == data


def test_tcp_python_interactive(echo):
    """Each write is echoed before the next one is sent; the connection stays open."""
    with Client(echo.addr("echo")) as c:
        for i in range(50):
            msg = b"message %d\n" % i
            c.send(msg)
            assert c.read_exactly(len(msg)) == msg
        assert c.quiet()


def test_large_payload_odd_writes_concurrent_read(echo):
    """8 MiB in odd-size writes while another thread reads: the echo is byte-exact."""
    data = payload(8 << 20, seed=3)
    sizes = itertools.cycle([1, 3, 7, 4093, 65537, 100003, 13, 8191, 1 << 20, 2])
    received = bytearray()
    problems = []
    s = socket.create_connection(echo.addr("echo"), timeout=t(30))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def reader():
        try:
            while True:
                chunk = s.recv(1 << 16)
                if not chunk:
                    return
                received.extend(chunk)
        except OSError as e:
            problems.append(repr(e))

    th = threading.Thread(target=reader, daemon=True)
    th.start()
    try:
        pos = 0
        while pos < len(data):
            n = next(sizes)
            s.sendall(data[pos:pos + n])
            pos += n
        s.shutdown(socket.SHUT_WR)
        th.join(t(60))
        assert not th.is_alive(), "no close from the daemon; got %d of %d bytes" \
            % (len(received), len(data))
    finally:
        s.close()
    assert not problems, problems
    assert len(received) == len(data)
    assert bytes(received) == data


def test_many_tiny_writes_are_joined(echo):
    """2000 one-byte writes (TCP_NODELAY): the echo is the same bytes, whatever the segments."""
    data = bytes(random.Random(4).randrange(256) for _ in range(2000))
    with Client(echo.addr("echo")) as c:
        for i in range(len(data)):
            c.send(data[i:i + 1])
        c.sock.shutdown(socket.SHUT_WR)
        assert c.expect_closed(timeout=t(10), allow_data=True) == data


def test_half_close_finishes_the_echo_then_closes(echo):
    data = payload(1 << 20, seed=5)
    with Client(echo.addr("echo")) as c:
        # Send everything first (the echo waits in the buffers), then the end of input.
        sent, error = c.send_while_reading(data, timeout=t(20))
        assert error is None, error
        c.sock.shutdown(socket.SHUT_WR)
        # An orderly close (not a reset) after the whole echo.
        assert c.expect_closed(timeout=t(20), allow_data=True) == data


def test_half_close_without_data(echo):
    with Client(echo.addr("echo")) as c:
        c.sock.shutdown(socket.SHUT_WR)
        c.expect_closed(timeout=t(5))


def test_concurrent_clients(echo):
    addr = echo.addr("echo")
    results = {}

    def one(i):
        try:
            data = payload(100000 + i, seed=100 + i)
            results[i] = tcp_echo(addr, data) == data
        except Exception as e:  # reported below
            results[i] = repr(e)

    threads = [threading.Thread(target=one, args=(i,), daemon=True) for i in range(20)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(t(60))
    assert results == {i: True for i in range(20)}


def test_client_reset_mid_stream(echo):
    """A client that sends a lot, never reads and resets the connection does not hurt."""
    for _ in range(5):
        c = Client(echo.addr("echo"))
        c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        c.send_while_reading(payload(1 << 20, seed=21), timeout=t(0.5))
        c.close()  # with SO_LINGER 0: a reset
    assert_serving(echo)


# ---------------------------------------------------------------------------------------------
# UDP


@needs_socat
def test_udp_with_socat(echo):
    data = b"hello over udp\n"
    out = run_tool(["socat", "-t", "1", "-", "UDP4:%s" % hostport(echo.addr("echo", "udp"))],
                   input=data)
    assert out.returncode == 0, out.stderr
    assert out.stdout == data


@needs_nc
def test_udp_with_nc(echo):
    data = b"hello from nc -u\n"
    out = run_tool(["nc", "-u", "-w", "1", *echo.addr("echo", "udp")], input=data)
    assert out.stdout == data, (out.returncode, out.stderr)


def test_udp_python(echo):
    addr = echo.addr("echo", "udp")
    with udp_socket() as s:
        msgs = [b"one", b"two\n", b"\0\1\2\xff", payload(1400, seed=6), payload(9000, seed=7)]
        for m in msgs:
            s.sendto(m, addr)
            reply, src = s.recvfrom(70000)
            assert reply == m
            assert src == addr  # from the address and port it was sent to


def test_udp_largest_datagram(echo):
    data = payload(UDP_MAX, seed=8)
    reply, _ = udp_echo(echo.addr("echo", "udp"), data)
    assert reply == data


def test_udp_empty_datagram(echo):
    reply, _ = udp_echo(echo.addr("echo", "udp"), b"")
    assert reply == b""


def test_udp_clients_are_answered_separately(echo):
    addr = echo.addr("echo", "udp")
    socks = [udp_socket() for _ in range(10)]
    try:
        for i, s in enumerate(socks):
            s.sendto(b"from %d" % i, addr)
        for i, s in enumerate(socks):
            assert s.recv(100) == b"from %d" % i
    finally:
        for s in socks:
            s.close()


def _bind_udp_low_port():
    """A UDP socket on 127.0.0.1 with a source port below 1024, or skip."""
    for port in range(1023, 900, -1):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            s.bind(("127.0.0.1", port))
            s.settimeout(t(2))
            return s
        except PermissionError:
            s.close()
            pytest.skip("cannot bind a port below 1024 (not root)")
        except OSError:
            s.close()
    pytest.skip("no free port below 1024")


def test_udp_from_low_source_port_is_dropped(echo):
    addr = echo.addr("echo", "udp")
    low = _bind_udp_low_port()
    try:
        low.sendto(b"loop?", addr)
        low.settimeout(1.0)
        with pytest.raises(socket.timeout):
            low.recv(100)
    finally:
        low.close()
    # Port 1024 is not below 1024 (if it is free).
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        try:
            s.bind(("127.0.0.1", 1024))
        except OSError:
            s.close()
            s = udp_socket()
        s.settimeout(t(2))
        s.sendto(b"fine", addr)
        assert s.recv(100) == b"fine"
    finally:
        s.close()
    assert_serving(echo)


def test_udp_from_the_echo_port_itself_is_dropped(make_daemon):
    # A datagram whose source port is the service's own port could be an echo server's answer
    # (another switchboard, or our own address forged): answering it would start a loop.
    d = echo_daemon(make_daemon, "127.0.0.1:0")
    addr = d.addr("echo", "udp")
    assert udp_no_answer(addr, b"loop?", bind=("127.0.0.2", addr[1]))
    assert d.wait_log(r"datagram from 127\.0\.0\.2:%d ignored" % addr[1])
    assert udp_echo(addr, b"still here")[0] == b"still here"


def test_udp_rate_limit_per_source(make_daemon):
    d = echo_daemon(make_daemon, "127.0.0.1:0", udp_rate=5)
    addr = d.addr("echo", "udp")
    with udp_socket() as s:
        for i in range(20):
            s.sendto(b"%d" % i, addr)
        got = []
        s.settimeout(1.0)
        try:
            while True:
                got.append(s.recv(100))
        except socket.timeout:
            pass
    assert 1 <= len(got) <= 10, got  # a fixed window: a burst across its edge gets two
    # Another source has its own allowance.
    assert udp_echo(addr, b"other", bind=("127.0.0.3", 0))[0] == b"other"


# ---------------------------------------------------------------------------------------------
# UNIX sockets


@needs_socat
def test_unix_with_socat(echo):
    data = text_lines(300, seed=9)
    out = run_tool(["socat", "-t", t(10), "-", "UNIX-CONNECT:%s" % echo.addr("echo", "unix")],
                   input=data)
    assert out.returncode == 0, out.stderr
    assert out.stdout == data


@needs_nc
def test_unix_with_nc(echo):
    data = text_lines(30, seed=10)
    out = run_tool(["nc", "-N", "-U", echo.addr("echo", "unix")], input=data)
    assert out.returncode == 0, out.stderr
    assert out.stdout == data


def test_unix_python_large(echo):
    data = payload(4 << 20, seed=11)
    assert tcp_echo(echo.addr("echo", "unix"), data) == data


def test_unix_with_sb_echo(echo):
    data = text_lines(100, seed=12)
    assert_echoed(sb_echo("unix:" + echo.addr("echo", "unix"), input=data), data)


# ---------------------------------------------------------------------------------------------
# IPv6


@needs_ipv6
def test_ipv6_tcp_and_udp(make_daemon):
    d = echo_daemon(make_daemon, "[::1]:0")
    addr = d.addr("echo", "tcp", family="6")
    assert addr[0] == "::1"
    data = payload(300000, seed=13)
    assert tcp_echo(addr, data) == data
    uaddr = d.addr("echo", "udp", family="6")
    assert uaddr == addr
    reply, src = udp_echo(uaddr, b"v6 datagram")
    assert reply == b"v6 datagram"
    assert src[:2] == uaddr


@needs_ipv6
@needs_socat
def test_ipv6_with_socat(make_daemon):
    d = echo_daemon(make_daemon, "[::1]:0")
    hp = hostport(d.addr("echo", "tcp", family="6"))
    data = text_lines(50, seed=14)
    out = run_tool(["socat", "-t", t(10), "-", "TCP6:%s" % hp], input=data)
    assert out.returncode == 0, out.stderr
    assert out.stdout == data
    out = run_tool(["socat", "-t", "1", "-", "UDP6:%s" % hp], input=b"udp6\n")
    assert out.returncode == 0, out.stderr
    assert out.stdout == b"udp6\n"


@needs_ipv6
def test_ipv6_with_sb_echo(make_daemon):
    d = echo_daemon(make_daemon, "[::1]:0")
    host, port = d.addr("echo", "tcp", family="6")
    data = b"over ipv6\nsecond line\n"
    assert_echoed(sb_echo(host, port, input=data), data)
    assert_echoed(sb_echo("[%s]" % host, port, input=data), data)
    assert_echoed(sb_echo("-u", host, port, input=data), data)


# ---------------------------------------------------------------------------------------------
# A client that never reads


def _vm_hwm(d):
    with open("/proc/%d/status" % d.proc.pid) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def test_client_that_never_reads_is_dropped(make_daemon):
    d = echo_daemon(make_daemon, "127.0.0.1:0", write_timeout=1, max_output=65536)
    addr = d.addr("echo")
    assert tcp_echo(addr, payload(200000, seed=15)) == payload(200000, seed=15)  # warm up
    before, hwm_before = d.rss_kib(), _vm_hwm(d)
    hog = Client(addr, rcvbuf=4096)
    hog.sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    chunk = memoryview(payload(1 << 20, seed=16))
    limit = 256 << 20
    try:
        sent_total, error = 0, None
        deadline = time.monotonic() + t(20)
        worst = 0.0
        served = 0
        hog.sock.setblocking(False)
        while error is None and time.monotonic() < deadline and sent_total < limit:
            try:
                sent_total += hog.sock.send(chunk)
            except (BlockingIOError, InterruptedError):
                time.sleep(0.05)
            except OSError as e:
                error = e
            # Meanwhile everybody else is served promptly.
            start = time.monotonic()
            assert tcp_echo(addr, b"ping %d\n" % served, timeout=t(5)) == b"ping %d\n" % served
            served += 1
            worst = max(worst, time.monotonic() - start)
        # The daemon stopped reading (else all 256 MiB would have gone in) and dropped us.
        assert sent_total < 64 << 20, "the daemon kept reading: %d bytes" % sent_total
        assert isinstance(error, (ConnectionResetError, BrokenPipeError)), \
            "the daemon did not drop the client (sent %d bytes, error %r)" % (sent_total, error)
        assert worst < t(1), worst
    finally:
        hog.close()
    d.wait_log("not reading")
    if not SANITIZED:
        assert d.rss_kib() - before < 8192, (before, d.rss_kib())
        assert _vm_hwm(d) - hwm_before < 16384, (hwm_before, _vm_hwm(d))
    assert_serving(d)


def test_slow_reader_gets_everything(make_daemon):
    """Back-pressure is not a drop: a client that reads slowly but steadily for longer than
    write_timeout gets everything."""
    d = echo_daemon(make_daemon, "127.0.0.1:0", write_timeout=1, max_output=65536)
    data = payload(4 << 20, seed=17)
    received = bytearray()
    s = socket.create_connection(d.addr("echo"), timeout=t(30))

    def reader():
        try:
            while True:
                time.sleep(0.01)
                chunk = s.recv(16384)
                if not chunk:
                    return
                received.extend(chunk)
        except OSError:
            return

    th = threading.Thread(target=reader, daemon=True)
    th.start()
    start = time.monotonic()
    try:
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)
        th.join(t(60))
        assert not th.is_alive()
    finally:
        s.close()
    elapsed = time.monotonic() - start
    assert bytes(received) == data
    assert "not reading" not in d.log()
    assert elapsed > 1.5, "not slow enough to test anything: %.2f s" % elapsed


# ---------------------------------------------------------------------------------------------
# Access lists


def test_deny_refuses_tcp_and_drops_udp(make_daemon):
    d = echo_daemon(make_daemon, "127.0.0.1:0, unix:{tmp}/echo.sock", deny="127.0.0.0/8")
    for source in (None, "127.0.0.2"):
        with Client(d.addr("echo"), source=source) as c:
            try:
                c.send(b"echo me\n")
            except (ConnectionResetError, BrokenPipeError):
                pass
            c.expect_closed(timeout=t(3), allow_reset=True)
        bind = ("127.0.0.1" if source is None else source, 0)
        assert udp_no_answer(d.addr("echo", "udp"), b"echo me", bind=bind)
    # The access lists are about IP addresses: the UNIX socket still serves.
    assert tcp_echo(d.addr("echo", "unix"), b"local\n") == b"local\n"


def test_allow_list_tcp_and_udp(make_daemon):
    d = echo_daemon(make_daemon, "127.0.0.1:0", allow="127.0.0.2/32")
    with Client(d.addr("echo")) as c:  # from 127.0.0.1
        c.expect_closed(timeout=t(3), allow_reset=True)
    assert udp_no_answer(d.addr("echo", "udp"), b"no", bind=("127.0.0.1", 0))
    with Client(d.addr("echo"), source="127.0.0.2") as c:
        c.send(b"allowed\n")
        c.sock.shutdown(socket.SHUT_WR)
        assert c.expect_closed(allow_data=True) == b"allowed\n"
    reply, _ = udp_echo(d.addr("echo", "udp"), b"allowed", bind=("127.0.0.2", 0))
    assert reply == b"allowed"


# ---------------------------------------------------------------------------------------------
# sb echo


def test_sb_echo_multiline(echo):
    host, port = echo.addr("echo")
    data = b"first\nsecond line\n\n\ttabs and spaces  \nlast line without newline"
    assert_echoed(sb_echo(host, port, input=data), data)


def test_sb_echo_one_megabyte_line(echo):
    host, port = echo.addr("echo")
    data = b"short\n" + b"M" * (1 << 20) + b"\n" + b"after\n" + b"z" * 70000
    assert_echoed(sb_echo(host, port, input=data), data)


def test_sb_echo_binary(echo):
    host, port = echo.addr("echo")
    data = payload(300000, seed=18)
    assert_echoed(sb_echo(host, port, input=data), data)


def test_sb_echo_many_lines(echo):
    host, port = echo.addr("echo")
    data = text_lines(20000, seed=19)
    assert_echoed(sb_echo(host, port, input=data), data)


def test_sb_echo_empty_input(echo):
    host, port = echo.addr("echo")
    assert_echoed(sb_echo(host, port, input=b""), b"")


def test_sb_echo_host_name(echo):
    """A name (localhost) works; every address it resolves to is tried."""
    _, port = echo.addr("echo")
    assert_echoed(sb_echo("localhost", port, input=b"by name\n"), b"by name\n")


def test_sb_echo_with_timeout_option(echo):
    host, port = echo.addr("echo")
    assert_echoed(sb_echo("-t", "3", host, port, input=b"a\nb\n"), b"a\nb\n")
    assert_echoed(sb_echo("-t", "3", "unix:" + echo.addr("echo", "unix"), input=b"c\n"),
                  b"c\n")


def test_sb_echo_udp(echo):
    host, port = echo.addr("echo", "udp")
    data = b"one\ntwo\n\nthree\n" + b"L" * 60000 + b"\nno newline at the end"
    assert_echoed(sb_echo("-u", host, port, input=data), data)


def test_sb_echo_udp_largest_line(echo):
    host, port = echo.addr("echo", "udp")
    data = b"x" * (UDP_MAX - 1) + b"\n"  # one datagram of exactly 65507 bytes
    assert_echoed(sb_echo("-u", host, port, input=data), data)


def test_sb_echo_udp_line_too_long(echo):
    host, port = echo.addr("echo", "udp")
    out = sb_echo("-u", host, port, input=b"ok\n" + b"y" * 70000 + b"\n")
    assert out.returncode not in (0, 28), out
    one_error_line(out)


def test_sb_echo_udp_many_lines(echo):
    host, port = echo.addr("echo", "udp")
    data = text_lines(2000, seed=20)
    assert_echoed(sb_echo("-u", host, port, input=data), data)


def test_sb_echo_refused():
    out = sb_echo("127.0.0.1", free_port(), input=b"hello\n")
    assert out.returncode == 7, out
    one_error_line(out)


def test_sb_echo_unix_socket_missing(tmp_path):
    out = sb_echo("unix:%s/nothing.sock" % tmp_path, input=b"hello\n")
    assert out.returncode == 7, out
    one_error_line(out)


def test_sb_echo_unknown_host():
    out = sb_echo("no-such-host.invalid", "7", input=b"hello\n")
    assert out.returncode == 6, out
    one_error_line(out)


@pytest.mark.parametrize("args", [
    (),                                   # nothing
    ("127.0.0.1",),                       # no port
    ("127.0.0.1", "7", "extra"),          # too many
    ("127.0.0.1", "notaport"),
    ("127.0.0.1", "70000"),
    ("127.0.0.1", "-1"),
    ("-t", "soon", "127.0.0.1", "7"),
    ("-t",),                              # -t without its value
    ("--no-such-option", "127.0.0.1", "7"),
    ("-u", "unix:/tmp/x.sock"),           # UDP has no UNIX form
    ("unix:/tmp/x.sock", "7"),            # a UNIX path takes no port
    ("unix:",),                           # empty path
])
def test_sb_echo_usage_errors(args):
    out = sb_echo(*args, input=b"hello\n", timeout=t(20))
    assert out.returncode == 2, (args, out)
    one_error_line(out)
    assert out.stdout == b""


def test_sb_echo_silent_server_times_out():
    """A listener that accepts (in the kernel) but never echoes: -t bounds the wait -> 28."""
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.bind(("127.0.0.1", 0))
    ls.listen(8)
    try:
        start = time.monotonic()
        out = sb_echo("-t", "1", "127.0.0.1", ls.getsockname()[1], input=b"hello\n",
                      timeout=t(30))
        elapsed = time.monotonic() - start
    finally:
        ls.close()
    assert out.returncode == 28, out
    one_error_line(out)
    assert elapsed < t(8), elapsed


def test_sb_echo_udp_silent_times_out():
    us = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    us.bind(("127.0.0.1", 0))
    try:
        start = time.monotonic()
        out = sb_echo("-u", "-t", "1", "127.0.0.1", us.getsockname()[1], input=b"hello\n",
                      timeout=t(30))
        elapsed = time.monotonic() - start
    finally:
        us.close()
    assert out.returncode == 28, out
    one_error_line(out)
    assert elapsed < t(10), elapsed


class FakeEcho:
    """A one-connection TCP server run by handler(conn) in a thread."""

    def __init__(self, handler):
        self.handler = handler
        self.ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.ls.bind(("127.0.0.1", 0))
        self.ls.listen(1)
        self.ls.settimeout(t(20))
        self.port = self.ls.getsockname()[1]
        self.th = threading.Thread(target=self._run, daemon=True)
        self.th.start()

    def _run(self):
        try:
            conn, _ = self.ls.accept()
        except OSError:
            return
        with conn:
            conn.settimeout(t(20))
            try:
                self.handler(conn)
            except OSError:
                pass

    def close(self):
        self.ls.close()
        self.th.join(t(20))


def _swapcase_echo(conn):
    """Echoes every chunk with the case of its letters swapped, until the end of input."""
    while True:
        chunk = conn.recv(65536)
        if not chunk:
            return
        conn.sendall(chunk.swapcase())


def _first_line_then_close(conn):
    """Echoes the first line only, then closes."""
    got = b""
    while b"\n" not in got:
        chunk = conn.recv(65536)
        if not chunk:
            break
        got += chunk
    conn.sendall(got[:got.index(b"\n") + 1] if b"\n" in got else got)


def test_sb_echo_differs_exits_8():
    srv = FakeEcho(_swapcase_echo)
    try:
        out = sb_echo("127.0.0.1", srv.port, input=b"hello\nworld\n")
    finally:
        srv.close()
    assert out.returncode == 8, out
    one_error_line(out)


def test_sb_echo_closed_early_exits_56():
    data = b"hello\nworld\n"
    srv = FakeEcho(_first_line_then_close)
    try:
        out = sb_echo("127.0.0.1", srv.port, input=data)
    finally:
        srv.close()
    assert out.returncode == 56, out
    one_error_line(out)
    assert data.startswith(out.stdout), out.stdout


class FakeUdpEcho:
    """A UDP server in a thread: answer(data, count) -> the reply (None: no reply), where count
    is how many times this same datagram has been received so far (1 the first time)."""

    def __init__(self, answer):
        self.answer = answer
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self.seen = {}
        self._stop = False
        self.th = threading.Thread(target=self._run, daemon=True)
        self.th.start()

    def _run(self):
        while not self._stop:
            try:
                data, src = self.sock.recvfrom(70000)
            except socket.timeout:
                continue
            except OSError:
                return
            self.seen[data] = self.seen.get(data, 0) + 1
            reply = self.answer(data, self.seen[data])
            if reply is not None:
                try:
                    self.sock.sendto(reply, src)
                except OSError:
                    pass

    def close(self):
        self._stop = True
        self.th.join(t(5))
        self.sock.close()


def test_sb_echo_udp_retries_a_lost_datagram():
    """The first copy of every datagram is lost: the retries within -t get it through."""
    srv = FakeUdpEcho(lambda data, count: data if count >= 2 else None)
    data = b"first\nsecond\nthird\n"
    try:
        out = sb_echo("-u", "-t", "10", "127.0.0.1", srv.port, input=data)
    finally:
        srv.close()
    assert_echoed(out, data)


def test_sb_echo_udp_differs_exits_8():
    srv = FakeUdpEcho(lambda data, count: data.swapcase())
    try:
        out = sb_echo("-u", "127.0.0.1", srv.port, input=b"hello\n")
    finally:
        srv.close()
    assert out.returncode == 8, out
    one_error_line(out)


def test_sb_echo_help():
    out = run_sb("echo", "--help")
    assert out.returncode == 0, out
    text = out.stdout.decode()
    assert "sb echo" in text and "-u" in text and "unix:" in text, text
