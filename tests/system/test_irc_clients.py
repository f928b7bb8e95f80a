# SPDX-License-Identifier: MIT
"""System tests of the IRC service with real IRC clients: irssi, driven through tmux (typed
commands, the screen read back with capture-pane), and WeeChat (weechat-headless, driven
through its FIFO, read back through its logger files). A raw-socket client in the same channel
checks what the server relays both ways. Every wait is bounded and scaled with t().
"""

import glob
import os
import re
import shutil
import subprocess
import tempfile

import pytest

from harness import t, wait_until
from ircclient import start_net
from test_chat_tmux import Tmux

IRC_DEFAULTS = {"listen": "127.0.0.1:0", "flood_burst": "1000", "flood_rate": "1000"}
TS = r"[0-2][0-9]:[0-5][0-9]"


@pytest.fixture
def irc(make_daemon):
    nets = []
    yield lambda **kw: start_net(make_daemon, nets, IRC_DEFAULTS, **kw)
    for n in nets:
        n.close()


@pytest.fixture
def tmux():
    if shutil.which("tmux") is None:
        pytest.skip("tmux is not installed")
    tm = Tmux()
    yield tm
    tm.kill()


@pytest.mark.skipif(shutil.which("irssi") is None, reason="irssi is not installed")
def test_irssi(irc, tmux):
    # The server's default flood control (flood_burst 10, flood_rate 2), as users get it.
    net = irc(motd="irssi test motd\n", flood_burst=10, flood_rate=2)
    host, port = net.addr
    raw = net.user("rawbob")
    raw.join("#test")
    home = os.path.join(tmux.dir, "irssi")
    os.mkdir(home)
    # irssi's own command queue (one command per 2.2 s after a burst of 5) off, for speed.
    with open(os.path.join(home, "config"), "w") as f:
        f.write('settings = { "irc/core" = { cmd_queue_speed = "0msec"; '
                'cmds_max_at_once = "100"; }; };\n')
    tm = tmux
    tm.start("irssi", ["irssi", "--home=%s" % home, "-n", "alice", "-c", host, "-p", str(port)],
             {"HOME": tm.home, "TERM": "screen", "LC_ALL": "C.UTF-8"})
    tm.wait_screen("irssi", r"Welcome to the switchboard", timeout=t(15))
    tm.wait_screen("irssi", r"irssi test motd")
    # The server sees a registered alice.
    raw.send("WHOIS alice")
    out = raw.until(lambda m: m.command == "318")
    assert any(m.command == "311" for m in out), out

    tm.send("irssi", "/join #test")
    m = raw.expect("JOIN", timeout=t(10))
    assert m.nick == "alice" and m.params[0] == "#test", m
    assert re.fullmatch(r"alice!~[^@ ]+@127\.0\.0\.1", m.source), m
    tm.wait_screen("irssi", r"alice \[~\S+@127\.0\.0\.1\] has joined #test")
    # NAMES as irssi shows it: rawbob is op (he created the channel).
    tm.wait_screen("irssi", r"\[@rawbob\]")

    tm.send("irssi", "hello from irssi")
    m = raw.expect("PRIVMSG", timeout=t(10))
    assert m.nick == "alice" and m.params == ["#test", "hello from irssi"], m
    tm.wait_screen("irssi", r"^%s < ?alice> hello from irssi$" % TS)

    raw.send("PRIVMSG #test :hello from the raw socket")
    tm.wait_screen("irssi", r"^%s <@rawbob> hello from the raw socket$" % TS)

    tm.send("irssi", "/me waves")
    m = raw.expect("PRIVMSG", timeout=t(10))
    assert m.params == ["#test", "\x01ACTION waves\x01"], m
    tm.wait_screen("irssi", r"^%s +\* alice waves$" % TS)

    raw.send("TOPIC #test :a topic from rawbob")
    tm.wait_screen("irssi", r"rawbob changed the topic of #test to: a topic from rawbob")
    raw.send("MODE #test +v alice")
    tm.wait_screen("irssi", r"mode/#test \[\+v alice\] by rawbob")

    tm.send("irssi", "/nick alicia")
    m = raw.expect("NICK", timeout=t(10))
    assert m.nick == "alice" and m.params == ["alicia"], m
    tm.wait_screen("irssi", r"You're now known as alicia")

    tm.send("irssi", "/quit leaving now")
    m = raw.expect("QUIT", timeout=t(10))
    assert m.nick == "alicia" and m.text in ("leaving now", "Quit: leaving now"), m
    raw.sync()


def logs(home):
    """{path: text} of WeeChat's logger files."""
    out = {}
    for path in glob.glob(os.path.join(home, "**", "*.weechatlog"), recursive=True):
        with open(path, errors="replace") as f:
            out[path] = f.read()
    return out


def grep_logs(home, pattern):
    return any(re.search(pattern, text, re.M) for text in logs(home).values())


def weechat_fifo(home):
    paths = glob.glob(os.path.join(home, "weechat_fifo*")) + \
        glob.glob(os.path.join(home, "*", "weechat_fifo*"))
    return paths[0] if paths else None


@pytest.mark.skipif(shutil.which("weechat-headless") is None,
                    reason="weechat-headless is not installed")
def test_weechat_headless(irc):
    net = irc()
    host, port = net.addr
    raw = net.user("rawbob")
    raw.join("#test")
    home = tempfile.mkdtemp(prefix="sbweechat-")
    cmds = ";".join([
        "/set logger.file.flush_delay 0",
        "/set fifo.file.enabled on",
        "/server add sb %s/%d -notls -nicks=carol -username=carol -realname=Carol"
        % (host, port),
        "/set irc.server.sb.autojoin #test",
        "/connect sb",
    ])
    proc = subprocess.Popen(["weechat-headless", "-d", home, "-r", cmds],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        m = raw.expect("JOIN", timeout=t(20))
        assert m.nick == "carol" and m.params[0] == "#test", m
        assert m.source == "carol!~carol@127.0.0.1", m
        fifo = wait_until(lambda: weechat_fifo(home), timeout=t(10), what="weechat's FIFO")
        # WeeChat has the channel's buffer once its log says it joined.
        wait_until(lambda: grep_logs(home, r"carol \(Carol\) \(~carol@127\.0\.0\.1\) has "
                                           r"joined #test"),
                   timeout=t(10), what=lambda: "the join in weechat's logs: %r" % logs(home))
        with open(fifo, "w") as f:
            f.write("irc.sb.#test *hello from weechat\n")
        m = raw.expect("PRIVMSG", timeout=t(10))
        assert m.nick == "carol" and m.params == ["#test", "hello from weechat"], m
        raw.send("PRIVMSG #test :hello weechat")

        wait_until(lambda: grep_logs(home, r"\t@?rawbob\thello weechat$"), timeout=t(10),
                   what=lambda: "the message in weechat's logs: %r" % logs(home))
        with open(fifo, "w") as f:
            f.write("irc.server.sb */quit weechat bye\n")
        m = raw.expect("QUIT", timeout=t(10))
        assert m.nick == "carol" and m.text in ("weechat bye", "Quit: weechat bye"), m
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(t(10))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(t(10))
        shutil.rmtree(home, ignore_errors=True)
    raw.sync()
