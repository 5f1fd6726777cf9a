"""A throw-away Dovecot IMAP server on a free loopback port, for tests and benchmarks."""

from __future__ import annotations

import contextlib
import grp
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Dovecot:
    root: Path
    user: str = "office"
    password: str = "imap-test-password"
    port: int = field(default_factory=free_port)
    _process: subprocess.Popen[bytes] | None = None
    _cleanup: bool = False

    @property
    def host(self) -> str:
        return "127.0.0.1"

    def _config(self) -> Path:
        me = pwd.getpwuid(os.getuid())
        if os.getuid() == 0:
            # Dovecot refuses to deliver mail as root: the mailbox belongs to "nobody", in a
            # directory every process of the test server can reach.
            self.root = Path(tempfile.mkdtemp(prefix="concierge-dovecot-"))
            self.root.chmod(0o755)
            self._cleanup = True
        mail_owner = pwd.getpwnam("nobody") if os.getuid() == 0 else me
        mail = self.root / "mail"
        run = self.root / "run"
        mail.mkdir(parents=True, exist_ok=True)
        run.mkdir(parents=True, exist_ok=True)
        if os.getuid() == 0:
            os.chown(mail, mail_owner.pw_uid, mail_owner.pw_gid)
        (self.root / "passwd").write_text(
            f"{self.user}:{{PLAIN}}{self.password}:{mail_owner.pw_uid}:{mail_owner.pw_gid}::{mail}::\n"
        )
        internal = "dovecot" if os.getuid() == 0 else me.pw_name
        login_user = "dovenull" if os.getuid() == 0 else me.pw_name
        config = self.root / "dovecot.conf"
        config.write_text(
            f"""
protocols = imap
listen = 127.0.0.1
base_dir = {run}
state_dir = {run}
instance_name = concierge-test-{self.port}
default_internal_user = {internal}
default_login_user = {login_user}
default_internal_group = {grp.getgrgid(pwd.getpwnam(internal).pw_gid).gr_name}
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
log_path = {self.root / "dovecot.log"}
mail_location = maildir:{mail}/Maildir
first_valid_uid = 0
passdb {{
  driver = passwd-file
  args = {self.root / "passwd"}
}}
userdb {{
  driver = passwd-file
  args = {self.root / "passwd"}
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {self.port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
# The passwd file lives in the test's private temporary directory: read it as its owner.
service auth {{
  user = {me.pw_name}
}}
service auth-worker {{
  user = {me.pw_name}
}}
service imap-login {{
  chroot =
}}
namespace inbox {{
  inbox = yes
  mailbox Sent {{
    special_use = \\Sent
    auto = create
  }}
}}
imap_idle_notify_interval = 1 secs
"""
        )
        return config

    def start(self, timeout: float = 15) -> None:
        config = self._config()
        self._process = subprocess.Popen(
            [DOVECOT, "-F", "-c", str(config)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                err = self._process.stderr.read().decode() if self._process.stderr else ""
                log = (
                    (self.root / "dovecot.log").read_text()
                    if (self.root / "dovecot.log").exists()
                    else ""
                )
                raise RuntimeError(f"dovecot exited: {err}\n{log[-2000:]}")
            with (
                contextlib.suppress(OSError),
                socket.create_connection((self.host, self.port), 0.5) as s,
            ):
                if s.recv(100).startswith(b"* OK"):
                    return
            time.sleep(0.1)
        raise RuntimeError("dovecot did not start")

    def stop(self) -> None:
        proc, self._process = self._process, None
        if proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        if proc.stderr:
            proc.stderr.close()

    def remove(self) -> None:
        if self._cleanup:
            shutil.rmtree(self.root, ignore_errors=True)

    def restart(self) -> None:
        self.stop()
        self.start()


@contextlib.contextmanager
def running(root: Path) -> Iterator[Dovecot]:
    server = Dovecot(root)
    server.start()
    try:
        yield server
    finally:
        server.stop()
        server.remove()
