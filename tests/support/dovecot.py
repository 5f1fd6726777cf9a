"""A throw-away real Dovecot IMAP server on a free loopback port, for tests and benchmarks.

Plain IMAP on 127.0.0.1 only, plaintext auth allowed, one passwd-file user, maildir storage in
a private directory. With ``tls=True`` it also speaks TLS with a throw-away self-signed
certificate (:mod:`tests.support.tls`) kept in that directory: STARTTLS offered on ``port``,
implicit TLS (IMAPS) on ``tls_port``; a client trusts it with ``certificate.cert`` as its CA
file. Works as an ordinary user and as root (CI): Dovecot refuses to serve mail as UID 0, so
under root the mail user and the internal services run as Debian's ``dovecot`` and ``dovenull``
users and the working directory is made traversable for them.
"""

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

from tests.support.tls import Certificate, self_signed

DOVECOT = Path("/usr/sbin/dovecot")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _existing(*names: str) -> pwd.struct_passwd:
    for name in names:
        with contextlib.suppress(KeyError):
            return pwd.getpwnam(name)
    raise RuntimeError(f"none of the users {names} exists")


def _accounts() -> tuple[str, str, pwd.struct_passwd]:
    """(internal user, login user, mail user) Dovecot accepts when run by the current user."""
    me = pwd.getpwuid(os.getuid())
    if os.getuid() != 0:
        return me.pw_name, me.pw_name, me
    internal = _existing("dovecot", "nobody")
    login = _existing("dovenull", "nobody")
    return internal.pw_name, login.pw_name, internal


CONFIG = """\
# Generated for one test run; nothing here is read from /etc/dovecot.
instance_name = concierge-test-{port}
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
protocols = imap
listen = 127.0.0.1
{ssl}
disable_plaintext_auth = no
auth_mechanisms = plain login
default_internal_user = {internal}
default_internal_group = {internal_group}
default_login_user = {login}
first_valid_uid = {uid}
last_valid_uid = 0
mail_location = maildir:{root}/mail/%u
mailbox_idle_check_interval = 1 secs
namespace inbox {{
  inbox = yes
  separator = /
  mailbox Sent {{
    special_use = \\Sent
    auto = create
  }}
}}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {root}/passwd
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {tls_port}
    ssl = yes
  }}
}}
"""


@dataclass
class DovecotServer:
    """One Dovecot master process; ``restart()`` keeps the port, the user and the mail."""

    user: str = "concierge"
    password: str = "s3cret-imap"  # a throw-away test account
    host: str = "127.0.0.1"
    port: int = field(default_factory=free_port)
    tls: bool = False
    tls_port: int = field(default_factory=free_port)  # implicit TLS; used only when ``tls``
    root: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="concierge-dovecot-")))
    process: subprocess.Popen[bytes] | None = None

    @property
    def config_path(self) -> Path:
        return self.root / "dovecot.conf"

    @property
    def certificate(self) -> Certificate:
        """The server's self-signed certificate, made on first use and kept across restarts."""
        certificate = Certificate(self.root / "tls" / "cert.pem", self.root / "tls" / "key.pem")
        if not certificate.key.exists():
            certificate = self_signed(self.root / "tls")
        return certificate

    @property
    def log(self) -> str:
        path = self.root / "dovecot.log"
        return path.read_text(errors="replace") if path.exists() else ""

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def _write_config(self) -> None:
        internal, login, mail = _accounts()
        self.root.chmod(0o755)
        for sub in ("run", "state", "mail"):
            (self.root / sub).mkdir(exist_ok=True)
        mail_dir = self.root / "mail"
        os.chown(mail_dir, mail.pw_uid, mail.pw_gid)
        ssl = "ssl = no"
        if self.tls:
            # The master process (root in CI) reads the files and hands them to imap-login.
            certificate = self.certificate
            ssl = f"ssl = yes\nssl_cert = <{certificate.cert}\nssl_key = <{certificate.key}"
        self.config_path.write_text(
            CONFIG.format(
                root=self.root,
                port=self.port,
                ssl=ssl,
                tls_port=self.tls_port if self.tls else 0,
                internal=internal,
                internal_group=grp.getgrgid(mail.pw_gid).gr_name,
                login=login,
                uid=mail.pw_uid,
            )
        )
        home = mail_dir / self.user
        (self.root / "passwd").write_text(
            f"{self.user}:{{PLAIN}}{self.password}:{mail.pw_uid}:{mail.pw_gid}::{home}::\n"
        )

    def start(self, timeout: float = 15.0) -> None:
        if not DOVECOT.exists():
            raise RuntimeError("Dovecot is not installed (make test installs dovecot-imapd)")
        self._write_config()
        self.process = subprocess.Popen(
            [str(DOVECOT), "-F", "-c", str(self.config_path)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,  # its own process group: stop() ends imap/auth children too
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                stderr = self.process.stderr.read() if self.process.stderr else b""
                self.process = None
                raise RuntimeError(f"dovecot exited: {stderr.decode(errors='replace')}{self.log}")
            if _greets(self.host, self.port):
                return
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"dovecot did not start listening in time\n{self.log}")

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None:
            return
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
        # Dovecot lets idling imap processes linger for seconds after the master has gone: end
        # them now, so a restart looks like a real crash/restart to clients (connections drop).
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
        if process.stderr:
            process.stderr.close()
        # The imap and auth children go with the master; wait until the port is closed.
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and _greets(self.host, self.port):
            time.sleep(0.05)

    def restart(self) -> None:
        self.stop()
        self.start()

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


def _greets(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5) as sock:
            return sock.recv(64).startswith(b"* OK")
    except OSError:
        return False


@contextlib.contextmanager
def running_dovecot(*, tls: bool = False) -> Iterator[DovecotServer]:
    """A started Dovecot, stopped and deleted on exit."""
    server = DovecotServer(tls=tls)
    server.start()
    try:
        yield server
    finally:
        server.cleanup()
