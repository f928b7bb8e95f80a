# SPDX-License-Identifier: MIT
"""irctest controller for switchboard's IRC service.

irctest (https://github.com/progval/irctest) is a conformance suite for IRC servers. It loads the
server's controller with importlib from the module named by --controller; with this directory on
PYTHONPATH, `--controller switchboard` loads this file. See README.md next to it.

For each test, the controller writes a configuration with only [server] and [irc] into a fresh
temporary directory (the database lives there too), starts `switchboard -c FILE` in the
foreground with its stderr in `switchboard.log` there, and waits until the IRC port accepts
connections.

Environment:
  SB_BINARY          the daemon (default: `switchboard` on PATH)
  SB_IRCTEST_LOGS    if set, a directory: each test's daemon log is copied there (named after
                     the test) before the temporary directory is removed
  IRCTEST_DEBUG_LOGS irctest's own switch: also log at level debug
"""

import atexit
import os
from pathlib import Path
import re
import shutil
import subprocess
from typing import Optional, Set, Type

from irctest import patma
from irctest.basecontrollers import (
    BaseServerController,
    DirectoryBasedController,
    ProcessStopped,
)
from irctest.runner import NotImplementedByController
from irctest.specifications import Capabilities, OptionalBehaviors

# The operator irctest's tests use (OPER operuser operpassword).
OPER_NAME = "operuser"
OPER_PASSWORD = "operpassword"

CONFIG_TEMPLATE = """\
; written by the switchboard irctest controller
[server]
data_dir = {data_dir}
password_cost = minimum
log_level = {log_level}
workers = 2

[irc]
listen = {listen}
{tls}server_name = My.Little.Server
network = testnet
; what irctest's LINKS test expects as the server info, as for the other servers
description = test server
password = {password}
opers = {opers}
motd = {motd}
; irctest opens many connections from 127.0.0.1 and sends bursts of commands: nothing may be
; throttled, or tests fail on timing instead of on protocol
max_per_ip = 1000
flood_burst = 100000
flood_rate = 100000
recvq = 1048576
ping_interval = 90
ping_timeout = 120
registration_timeout = 60
"""

TLS_TEMPLATE = """\
tls_listen = {tls_listen}
tls_cert = {tls_cert}
tls_key = {tls_key}
"""

MOTD = "Welcome to switchboard, under test by irctest.\n"


# Controllers whose daemon may still run. irctest stops the daemon in tearDown, which unittest
# skips when setUp raises (BotModeTestCase skips in setUp, after the server started, when there
# is no BOT token): whatever is still running when the test process exits is stopped here.
_live: Set["SwitchboardController"] = set()


@atexit.register
def _stop_leftovers() -> None:
    for controller in list(_live):
        try:
            controller.kill()
        except Exception:
            pass


def _binary() -> str:
    path = os.environ.get("SB_BINARY") or shutil.which("switchboard")
    if not path:
        raise RuntimeError("switchboard not found: set SB_BINARY or put it on PATH")
    return os.path.abspath(path)


class SwitchboardController(BaseServerController, DirectoryBasedController):
    software_name = "switchboard"
    supported_sasl_mechanisms: Set[str] = {"PLAIN"}
    supports_sts = False
    _port_wait_interval = 0.02

    # What docs/irc.md promises. A capability listed here that the server NAKs makes a test
    # fail instead of being skipped; likewise for the optional behaviours.
    capabilities = frozenset(
        (
            Capabilities.ACCOUNT_NOTIFY,
            Capabilities.ACCOUNT_TAG,
            Capabilities.AWAY_NOTIFY,
            Capabilities.BATCH,
            Capabilities.ECHO_MESSAGE,
            Capabilities.EXTENDED_JOIN,
            Capabilities.EXTENDED_MONITOR,
            Capabilities.LABELED_RESPONSE,
            Capabilities.MESSAGE_TAGS,
            Capabilities.MULTI_PREFIX,
            Capabilities.SERVER_TIME,
            Capabilities.SETNAME,
        )
    )

    optional_behaviors = frozenset(
        (
            OptionalBehaviors.BAN_EXCEPTION_MODE,
            OptionalBehaviors.INVITE_EXCEPTION_MODE,
            OptionalBehaviors.MULTI_JOIN,
            OptionalBehaviors.MULTI_KICK,
            OptionalBehaviors.MULTI_NAMES_COMMAND,
            OptionalBehaviors.MULTI_PRIVMSG,
            OptionalBehaviors.ELIST_C,
            OptionalBehaviors.ELIST_M,
            OptionalBehaviors.ELIST_N,
            OptionalBehaviors.ELIST_T,
            OptionalBehaviors.ELIST_U,
        )
    )

    isupport = {
        "BOT": "B",
        "CASEMAPPING": "rfc1459",
        "CHANTYPES": "#&",
        "ELIST": "CMNTU",
        "EXCEPTS": "e",
        "INVEX": "I",
        "MONITOR": patma.ANYSTR,
        "PREFIX": "(ov)@+",
        "STATUSMSG": "@+",
        "TARGMAX": patma.ANYSTR,
        "UTF8ONLY": None,
        "WHOX": None,
    }

    # Hashing the operator password costs a process start; it is the same for every test.
    _oper_hash: Optional[str] = None

    def create_config(self) -> None:
        super().create_config()
        with self.open_file("switchboard.ini"):
            pass

    def _run_cli(self, args, stdin_text: str, config: Optional[Path] = None) -> str:
        cmd = [_binary()]
        if config is not None:
            cmd += ["-c", str(config)]
        cmd += list(args)
        res = subprocess.run(
            cmd,
            input=stdin_text,
            capture_output=True,
            text=True,
            timeout=60,
            cwd=self.directory,
        )
        if res.returncode != 0:
            raise RuntimeError(
                f"{' '.join(cmd)} exited with {res.returncode}: {res.stderr.strip()}"
            )
        return res.stdout

    def _hash_oper_password(self) -> str:
        cls = type(self)
        if cls._oper_hash is None:
            assert self.directory
            # a configuration with [server] only: hash-password needs no service
            base = self.directory / "hash.ini"
            base.write_text(
                "[server]\ndata_dir = {}\npassword_cost = minimum\n".format(
                    self.directory / "data"
                )
            )
            out = self._run_cli(["hash-password"], OPER_PASSWORD + "\n", config=base)
            h = out.strip().splitlines()[-1].strip() if out.strip() else ""
            if not h.startswith("$argon2"):
                raise RuntimeError(f"hash-password printed {out!r}")
            cls._oper_hash = h
        return cls._oper_hash

    def run(
        self,
        hostname: str,
        port: int,
        *,
        password: Optional[str],
        ssl: bool,
        run_services: bool,
        faketime: Optional[str] = None,
        websocket_hostname: Optional[str] = None,
        websocket_port: Optional[int] = None,
    ) -> None:
        if websocket_hostname is not None or websocket_port is not None:
            raise NotImplementedByController("Websocket")
        assert self.proc is None
        self.port = port
        self.hostname = hostname
        self.create_config()
        assert self.directory
        if password is not None and (
            not password or re.search(r"[\s;#]", password) is not None
        ):
            # an INI value cannot carry these; no irctest test uses such a password
            raise NotImplementedByController(f"server password {password!r}")

        data_dir = self.directory / "data"
        data_dir.mkdir(exist_ok=True)
        motd_path = self.directory / "motd.txt"
        motd_path.write_text(MOTD)

        if ssl:
            # TLS on the port the test connects to; plain text on another one
            self.gen_ssl()
            (plain_host, plain_port) = self.get_hostname_and_port()
            listen = f"{plain_host}:{plain_port}"
            tls = TLS_TEMPLATE.format(
                tls_listen=f"{hostname}:{port}",
                tls_cert=self.pem_path,
                tls_key=self.key_path,
            )
        else:
            listen = f"{hostname}:{port}"
            tls = ""

        self._config_path = self.directory / "switchboard.ini"
        self._config_path.write_text(
            CONFIG_TEMPLATE.format(
                data_dir=data_dir,
                log_level="debug" if self.debug_mode else "info",
                listen=listen,
                tls=tls,
                password=password or "",
                opers=f"{OPER_NAME}:{self._hash_oper_password()}",
                motd=motd_path,
            )
        )

        if faketime and shutil.which("faketime"):
            faketime_cmd = ["faketime", "-f", faketime]
            self.faketime_enabled = True
        else:
            faketime_cmd = []

        self._log_path = self.directory / "switchboard.log"
        _live.add(self)
        self._start(faketime_cmd)
        self.wait_for_port()

    def wait_for_port(self) -> None:
        try:
            super().wait_for_port()
        except ProcessStopped as e:
            raise ProcessStopped(f"{e}; its log:\n{self._log_tail()}") from None

    def _log_tail(self, limit: int = 4000) -> str:
        try:
            return self._log_path.read_text(errors="replace")[-limit:]
        except (AttributeError, OSError):
            return "(no log)"

    def _start(self, prefix=()) -> None:
        assert self.directory
        with open(self._log_path, "ab") as log:
            self.proc = self.execute(
                [*prefix, _binary(), "-c", str(self._config_path)],
                proc_name="switchboard",
                stdout=log,
                stderr=log,
                stdin=subprocess.DEVNULL,
                cwd=self.directory,
            )

    def restart(self) -> None:
        self.kill_proc()
        self.port_open = False
        self._start()
        self.wait_for_port()

    def wait_for_services(self) -> None:
        # accounts are built in, as with Ergo: nothing else to start
        pass

    def registerUser(
        self,
        case,
        username: str,
        password: Optional[str] = None,
    ) -> None:
        """Create an account with `switchboard user add`, which shares the running daemon's
        SQLite database (SASL PLAIN then logs in with it)."""
        assert password, "switchboard accounts need a password"
        assert self.directory
        self._run_cli(
            ["user", "add", username], password + "\n", config=self._config_path
        )

    def kill(self) -> None:
        keep = os.environ.get("SB_IRCTEST_LOGS")
        directory = self.directory
        if self.proc:
            self.kill_proc()
        if keep and directory and (directory / "switchboard.log").exists():
            test = os.environ.get("PYTEST_CURRENT_TEST", "unknown").split(" ")[0]
            name = re.sub(r"[^A-Za-z0-9_.-]+", "_", test.replace("::", "."))
            os.makedirs(keep, exist_ok=True)
            shutil.copyfile(
                directory / "switchboard.log", Path(keep) / f"{name}.{self.port}.log"
            )
        super().kill()
        _live.discard(self)


def get_irctest_controller_class() -> Type[SwitchboardController]:
    return SwitchboardController
