# SPDX-License-Identifier: MIT
"""Fixtures for the system tests: daemons and peers that are always cleaned up.

Every daemon a test starts is stopped at teardown with SIGTERM; if it is no longer running
(crashed), exits with a status other than 0, or (in a sanitized build) reported an error, the
test errors at teardown with the end of the daemon's log. So every test also checks that the
daemon survived it and shuts down cleanly. Only processes started here are ever signalled.
"""

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import Daemon, Peer  # noqa: E402

SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:")


def _problems(rc, log):
    out = []
    if rc != 0:
        out.append("daemon exit status %r at teardown (expected 0 after SIGTERM)" % (rc,))
    for mark in SANITIZER_MARKS:
        if mark in log:
            out.append("sanitizer report in the daemon log (%s)" % mark)
    return out


@pytest.fixture
def make_daemon():
    """make_daemon(config=None, overrides=(), start=True, **kw) -> started harness.Daemon."""
    made = []

    def make(config=None, overrides=(), start=True, **kw):
        d = Daemon(config, overrides, **kw)
        made.append(d)
        if start:
            d.start()
        return d

    yield make

    problems = []
    try:
        for d in made:
            problems += _check_and_stop(d)
    finally:
        # Only now remove the directories: several daemons may share one (restart tests).
        for d in made:
            d.cleanup()
    if problems:
        pytest.fail("\n\n".join(problems), pytrace=False)


def _check_and_stop(d):
    """Stop d if it runs; describe whatever went wrong with it."""
    if d.proc is None:  # the test stopped it (and checked the exit status itself)
        log = d.log()
        if any(mark in log for mark in SANITIZER_MARKS):
            return ["sanitizer report in %s:\n%s" % (d.tmp, log[-4000:])]
        return []
    crashed = d.proc.poll() is not None
    rc, log = d.stop()
    if crashed:
        return ["daemon in %s died during the test with status %r:\n%s"
                % (d.tmp, rc, log[-4000:])]
    return ["%s (%s):\n%s" % (p, d.tmp, log[-4000:]) for p in _problems(rc, log)]


@pytest.fixture
def directory(make_daemon):
    """A daemon with only the directory, on 127.0.0.1:0, default settings."""
    return make_daemon()


@pytest.fixture
def make_peer():
    """make_peer(host="127.0.0.1", mode="pong"|"silent"|"close") -> harness.Peer."""
    peers = []

    def make(**kw):
        p = Peer(**kw)
        peers.append(p)
        return p

    yield make
    for p in peers:
        p.stop()
