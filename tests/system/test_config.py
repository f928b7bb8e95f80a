# SPDX-License-Identifier: MIT
"""System tests of the command line, the configuration file and `switchboard user ...`.

A configuration error must exit with status 2 and one line on stderr naming FILE:LINE and the
key; a run-time failure exits 1; a clean shutdown 0.
"""

import os
import re
import signal
import socket

import pytest

from harness import Client, ack, run_cli, t, write_config


def bad_config(tmp_path, text):
    """Write text as a config file, run the daemon on it; returns (path, CompletedProcess)."""
    path = str(tmp_path / "bad.conf")
    with open(path, "w") as f:
        f.write(text.replace("{tmp}", str(tmp_path)))
    return path, run_cli(["-c", path], timeout=t(10), cwd=str(tmp_path))


def assert_config_error(out, where, *words):
    assert out.returncode == 2, (out.returncode, out.stderr)
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, out.stderr
    assert where in lines[0], (where, out.stderr)
    for w in words:
        assert w in lines[0], (w, out.stderr)


BASE = ("[server]\n"                    # line 1
        "data_dir = {tmp}/data\n"         # line 2
        "ports_file = {tmp}/ports\n"      # line 3
        "[directory]\n"                   # line 4
        "listen = 127.0.0.1:0\n")         # line 5


# ---------------------------------------------------------------------------------------------
# Command line


@pytest.mark.parametrize("opt", ["--help", "-h"])
def test_help(opt):
    out = run_cli([opt])
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("usage: switchboard"), out.stdout
    for word in ["-c", "-o", "user add", "--version"]:
        assert word in out.stdout


@pytest.mark.parametrize("opt", ["--version", "-V"])
def test_version(opt):
    out = run_cli([opt])
    assert out.returncode == 0, out.stderr
    assert re.fullmatch(r"switchboard \d+\.\d+\.\d+\S*\n", out.stdout), out.stdout


@pytest.mark.parametrize("args", [["--bogus"], ["-x"], ["frobnicate"], ["-c"], ["-o"]])
def test_bad_command_line(args, tmp_path):
    out = run_cli(args, cwd=str(tmp_path))
    assert out.returncode == 2, (out.returncode, out.stderr)
    assert out.stderr.strip() != ""


def test_missing_config_file(tmp_path):
    path = str(tmp_path / "nope.conf")
    out = run_cli(["-c", path], cwd=str(tmp_path))
    assert out.returncode == 2
    assert path in out.stderr


# ---------------------------------------------------------------------------------------------
# Configuration errors: exit 2, FILE:LINE and the key


@pytest.mark.parametrize("extra, key", [
    ("frobnicate = 1", "frobnicate"),
    ("check_failures = 0", "check_failures"),
    ("check_failures = many", "check_failures"),
    ("check_interval = -1", "check_interval"),
    ("check_timeout = 0", "check_timeout"),
    ("accounts = maybe", "accounts"),
    ("bind_policy = nobody", "bind_policy"),
    ("bind_check = telepathy", "bind_check"),
    ("max_payload = -5", "max_payload"),
    ("enabled = perhaps", "enabled"),
    ("unix_mode = 999", "unix_mode"),
    ("allow = 300.1.1.1/8", "allow"),
    ("deny = 10.0.0.0/99", "deny"),
    ("idle_timeout = soon", "idle_timeout"),
    ("max_output = 10", "max_output"),
    ("max_clients = 0", "max_clients"),
    ("login_failures = 0", "login_failures"),
])
def test_bad_directory_value(tmp_path, extra, key):
    path, out = bad_config(tmp_path, BASE + "\n" + extra + "\n")
    assert_config_error(out, "%s:7" % path, key)


@pytest.mark.parametrize("listen", ["nonsense", "127.0.0.1", "127.0.0.1:99999", "::1:0",
                                    "unix:", "127.0.0.1:0,,nonsense"])
def test_bad_listen(tmp_path, listen):
    path, out = bad_config(tmp_path, BASE + "\n[directory]\nlisten = %s\n" % listen)
    assert_config_error(out, "%s:8" % path, "listen")


@pytest.mark.parametrize("extra, key", [
    ("log_level = chatty", "log_level"),
    ("password_cost = free", "password_cost"),
    ("workers = 0", "workers"),
    ("colour = blue", "colour"),
])
def test_bad_server_value(tmp_path, extra, key):
    path, out = bad_config(tmp_path, BASE + "[server]\n" + extra + "\n")
    assert_config_error(out, "%s:7" % path, key)


def test_unknown_section(tmp_path):
    path, out = bad_config(tmp_path, BASE + "\n[bogus]\nx = 1\n")
    assert_config_error(out, "%s:7" % path, "bogus")


@pytest.mark.parametrize("text, line", [
    (BASE + "this line is not ini\n", 6),
    (BASE + "[directory\n", 6),
    ("[server]\n= value\n", 2),
])
def test_syntax_error(tmp_path, text, line):
    path, out = bad_config(tmp_path, text)
    assert_config_error(out, "%s:%d" % (path, line))


def test_bad_override(tmp_path):
    out = run_cli(["-o", "server.data_dir=%s" % tmp_path, "-o", "directory.check_failures=0"],
                  cwd=str(tmp_path))
    assert out.returncode == 2, out.stderr
    assert "-o" in out.stderr and "check_failures" in out.stderr
    out = run_cli(["-o", "nodot"], cwd=str(tmp_path))
    assert out.returncode == 2 and "nodot" in out.stderr
    out = run_cli(["-o", "server.data_dir=%s" % tmp_path, "-o", "bogus.key=1"],
                  cwd=str(tmp_path))
    assert out.returncode == 2 and "-o" in out.stderr and "bogus" in out.stderr


def test_port_in_use(tmp_path):
    busy = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        path, out = bad_config(tmp_path, BASE.replace("127.0.0.1:0", "127.0.0.1:%d" % port))
        assert_config_error(out, "%s:5" % path, "listen", str(port))
        assert not os.path.exists(str(tmp_path / "ports"))
    finally:
        busy.close()


def test_unix_socket_in_use(make_daemon, tmp_path):
    first = make_daemon({"directory": {"listen": "unix:{tmp}/dir.sock"}})
    path = first.addr(kind="unix")
    text = BASE.replace("127.0.0.1:0", "unix:" + path)
    conf, out = bad_config(tmp_path, text)
    assert_config_error(out, "%s:5" % conf, "listen", path)
    # The loser must not have removed the winner's socket.
    with first.client(kind="unix") as c:
        c.login("corrado", "mypass")


def test_unwritable_data_dir(tmp_path):
    (tmp_path / "file").write_text("not a directory\n")
    path, out = bad_config(tmp_path, BASE.replace("{tmp}/data", "{tmp}/file/data"))
    assert_config_error(out, "%s:2" % path, "data_dir")


# ---------------------------------------------------------------------------------------------
# What a configuration starts


def test_override_wins_over_the_file(make_daemon):
    d = make_daemon({"directory": {"accounts": "closed"}}, overrides=["directory.accounts=open"])
    with d.client() as c:
        c.login("anyone", "anything")
    d2 = make_daemon({"directory": {"accounts": "closed"}})
    with d2.client() as c:
        assert c.request("USER", "anyone").raw == ack("hi anyone, authentication required")
        assert c.request("PASS", "anything").type == "ERR"


def test_override_of_listen(make_daemon):
    d = make_daemon({"directory": {"listen": "127.0.0.1:0"}},
                    overrides=["directory.listen=unix:{tmp}/o.sock"])
    assert d.addresses == [("directory", "unix", "unix:%s/o.sock" % d.tmp)]
    with d.client(kind="unix") as c:
        c.login("corrado", "mypass")


def test_embedded_defaults_without_config_file(make_daemon):
    # Every service runs with the embedded defaults; only the ports are moved to free ones.
    d = make_daemon({"server": {}, "directory": {}, "echo": {"listen": "127.0.0.1:0"},
                     "irc": {"listen": "127.0.0.1:0"}, "policy": {"listen": "127.0.0.1:0"}},
                    config_file=False)
    assert sorted(a[:2] for a in d.addresses) == [
        ("directory", "tcp"), ("echo", "tcp"), ("echo", "udp"), ("irc", "tcp"), ("policy", "tcp")]
    with d.client() as c:
        c.login("corrado", "mypass")


def test_enabled_no_starts_no_directory(make_daemon):
    d = make_daemon({"directory": {"enabled": "no"}})
    assert d.addresses == []
    assert d.alive()


def test_only_server_section_starts_no_directory(make_daemon):
    d = make_daemon(directory=False)
    assert "directory" not in open(d.config_path).read()
    assert d.addresses == []
    assert d.alive()


def test_sighup_does_not_stop_the_daemon(directory):
    directory.proc.send_signal(signal.SIGHUP)
    with directory.client() as c:
        c.login("corrado", "mypass")
    assert directory.alive()


# ---------------------------------------------------------------------------------------------
# switchboard user ...


def users(d):
    out = d.cli("user", "list")
    assert out.returncode == 0, out.stderr
    return [line.split("\t")[0] for line in out.stdout.splitlines()]


def test_user_commands(make_daemon):
    d = make_daemon({"directory": {"accounts": "closed"}})
    assert users(d) == []

    out = d.cli("user", "add", "alice", input="first\n")
    assert out.returncode == 0, out.stderr
    assert users(d) == ["alice"]
    out = d.cli("user", "add", "alice", input="again\n")
    assert out.returncode == 1 and "exists" in out.stderr, out.stderr

    with d.client() as c:
        c.login("alice", "first")

    out = d.cli("user", "passwd", "alice", input="second\n")
    assert out.returncode == 0, out.stderr
    with d.client() as c:
        c.request("USER", "alice")
        assert c.request("PASS", "first").type == "ERR"
    with d.client() as c:
        c.login("alice", "second")

    out = d.cli("user", "passwd", "nobody", input="x\n")
    assert out.returncode == 1, out.stderr

    out = d.cli("user", "add", "bob", input="pw\n")
    assert out.returncode == 0, out.stderr
    assert users(d) == ["alice", "bob"]

    out = d.cli("user", "del", "alice")
    assert out.returncode == 0, out.stderr
    assert users(d) == ["bob"]
    out = d.cli("user", "del", "alice")
    assert out.returncode == 1, out.stderr
    with d.client() as c:
        c.request("USER", "alice")
        assert c.request("PASS", "second").type == "ERR"


@pytest.mark.parametrize("stdin", ["my pass\n", "tab\there\n", "\n", "", "x" * 300 + "\n"])
def test_user_add_rejects_bad_passwords(make_daemon, stdin):
    d = make_daemon(start=False)
    out = d.cli("user", "add", "alice", input=stdin)
    assert out.returncode != 0, out.stderr
    assert out.stderr.strip() != ""
    assert users(d) == []


def test_user_password_is_never_taken_from_argv(make_daemon):
    d = make_daemon(start=False)
    out = d.cli("user", "add", "alice", "secret", input="secret\n")
    assert out.returncode == 2, out.stderr
    assert users(d) == []


@pytest.mark.parametrize("args", [
    ["user"],
    ["user", "frob", "alice"],
    ["user", "add"],
    ["user", "del"],
    ["user", "list", "extra"],
    ["user", "add", "bad,name"],
    ["user", "add", "x" * 33],
])
def test_user_bad_usage(make_daemon, args):
    d = make_daemon(start=False)
    out = d.cli(*args, input="pw\n")
    assert out.returncode == 2, (out.returncode, out.stderr)
    assert users(d) == []


def test_user_command_with_bad_config(tmp_path):
    path = str(tmp_path / "bad.conf")
    write_config(path, {"server": {"data_dir": str(tmp_path), "log_level": "loud"}})
    out = run_cli(["-c", path, "user", "list"], cwd=str(tmp_path))
    assert out.returncode == 2
    assert "%s:3" % path in out.stderr and "log_level" in out.stderr


def test_user_add_while_the_daemon_runs(make_daemon):
    d = make_daemon({"directory": {"accounts": "closed"}})
    with d.client() as c:
        c.request("USER", "carol")
        assert c.request("PASS", "pw").type == "ERR"
    assert d.cli("user", "add", "carol", input="pw\n").returncode == 0
    with Client(d.addr()) as c:
        c.login("carol", "pw")
