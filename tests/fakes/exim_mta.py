"""A real MTA for tests: Debian's exim4 (exim4-daemon-light) run as a foreground daemon on a
loopback port with its own configuration, spool and logs in a temp folder, offering STARTTLS
with a self-signed certificate (made with the openssl command). It accepts mail for
example.com and keeps it queued (queue_only): a message that "landed" is a file in the spool.

    with EximMTA() as mta:
        mta.url, mta.cert_path
        mta.wait_for_message(lambda text: order_no in text)  # the spooled message text

Run as root, exim gives up root for its own user when given -C, so the folder is made
world-traversable and the throwaway key readable."""

from __future__ import annotations

import email
import email.message
import email.policy
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Callable, List, Optional

EXIM = shutil.which("exim4") or "/usr/sbin/exim4"

CONFIG = """\
primary_hostname = mta.test
domainlist local_domains = example.com
spool_directory = {dir}/spool
log_file_path = {dir}/log/%slog
daemon_smtp_ports = {port}
local_interfaces = 127.0.0.1
tls_advertise_hosts = *
tls_certificate = {dir}/cert.pem
tls_privatekey = {dir}/key.pem
queue_only = true
host_lookup =
rfc1413_hosts =
keep_environment =
acl_smtp_rcpt = acl_rcpt
acl_smtp_data = acl_data
begin acl
acl_rcpt:
  accept domains = +local_domains
  deny message = relay not permitted
acl_data:
  accept
begin routers
begin transports
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class EximMTA:
    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="cardshop-exim-"))
        self.port = _free_port()
        self.proc: Optional[subprocess.Popen] = None

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    @property
    def cert_path(self) -> Path:
        return self.dir / "cert.pem"

    def start(self) -> "EximMTA":
        assert os.path.exists(EXIM), "exim4 is missing: scripts/deps.sh test installs exim4-daemon-light"
        d = self.dir
        os.chmod(d, 0o755)
        for sub in ("spool", "log"):
            (d / sub).mkdir()
            os.chmod(d / sub, 0o777)
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                        "-keyout", str(d / "key.pem"), "-out", str(d / "cert.pem"),
                        "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
                       check=True, capture_output=True)
        os.chmod(d / "key.pem", 0o644)
        conf = d / "exim.conf"
        conf.write_text(CONFIG.format(dir=d, port=self.port))
        os.chmod(conf, 0o644)
        self.proc = subprocess.Popen([EXIM, "-C", str(conf), "-bdf"], stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"exim exited: {self.proc.stdout.read().decode(errors='replace')}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                    if s.recv(100).startswith(b"220"):
                        return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"exim did not listen on {self.port}: {self.log()}")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.proc = None
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> "EximMTA":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def log(self) -> str:
        p = self.dir / "log" / "mainlog"
        return p.read_text(errors="replace") if p.exists() else ""

    def messages(self) -> List[str]:
        """The spooled messages: header file then data file of each, as text."""
        inp = self.dir / "spool" / "input"
        if not inp.exists():
            return []
        out = []
        for h in sorted(inp.glob("*-H")):
            data = h.with_name(h.name[:-2] + "-D")
            if data.exists():
                out.append(h.read_text(errors="replace") + data.read_text(errors="replace"))
        return out

    @staticmethod
    def parse_spooled(text: str) -> "email.message.EmailMessage":
        """One spooled message (messages() text) as the email package's message: the -H
        file's header lines ("NNNx Name: value", NNN the length, x '*' when exim dropped it)
        followed by the -D file's body."""
        head, _, data = text.partition("-D\n")
        head = head.split("\n\n", 1)[-1]  # the headers follow the recipients' blank line
        headers = []
        for m in re.finditer(r"^(\d{3,})([A-Z* ]) ", head, re.M):
            n, flag = int(m.group(1)), m.group(2)
            line = head[m.end():m.end() + n]
            if flag != "*":
                headers.append(line)
        raw = "".join(headers).replace("\n", "\r\n") + "\r\n" + data.replace("\n", "\r\n")
        return email.message_from_bytes(raw.encode("utf-8", "replace"), policy=email.policy.default)

    def wait_for_message(self, pred: Callable[[str], bool], timeout: float = 15.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = [m for m in self.messages() if pred(m)]
            if found:
                return found[0]
            time.sleep(0.1)
        raise AssertionError(f"no matching message in the exim spool; log:\n{self.log()}")
