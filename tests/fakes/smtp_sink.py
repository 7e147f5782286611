"""An SMTP sink: a real SMTP server (aiosmtpd) on loopback that keeps every message it accepts.

    sink = SmtpSink()            # picks a free port; nothing listens until start()
    sink.url                     # smtp://127.0.0.1:PORT  ([smtp] url)
    sink.start(); ...; sink.stop(); sink.start()   # same port each time: "SMTP down, then up"
    msgs = sink.wait_for(lambda m: order_no in m.subject, timeout=10)
    m.mail_from, m.rcpt_tos, m.subject (RFC 2047 decoded), m.body (decoded text), m.message

Needs Debian's python3-aiosmtpd (run the suites with /usr/bin/python3).
"""

from __future__ import annotations

import email
import email.policy
import socket
import threading
import time
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Callable, List, Optional

from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class ReceivedMail:
    mail_from: str
    rcpt_tos: List[str]
    raw: bytes
    message: EmailMessage
    received_at: float

    @property
    def subject(self) -> str:
        """The Subject header, RFC 2047 encoded-words decoded."""
        return str(self.message.get("subject", ""))

    @property
    def to(self) -> str:
        return str(self.message.get("to", ""))

    @property
    def from_header(self) -> str:
        return str(self.message.get("from", ""))

    @property
    def body(self) -> str:
        """The text body, transfer encoding and charset decoded."""
        part = self.message.get_body(preferencelist=("plain", "html"))
        if part is None:
            return ""
        return part.get_content()

    @property
    def html(self) -> str:
        """The HTML alternative, decoded; "" for a plain-text mail."""
        part = self.message.get_body(preferencelist=("html",))
        return "" if part is None else part.get_content()

    def __repr__(self) -> str:
        return f"<Mail from={self.mail_from!r} to={self.rcpt_tos!r} subject={self.subject!r}>"


class _Handler:
    def __init__(self, sink: "SmtpSink"):
        self.sink = sink

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        if self.sink.refuse_rcpt:
            return self.sink.refuse_rcpt
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
        raw = envelope.original_content or envelope.content
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "surrogateescape")
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        self.sink._add(ReceivedMail(envelope.mail_from, list(envelope.rcpt_tos), raw, msg, time.time()))
        return "250 Message accepted for delivery"


class SmtpSink:
    def __init__(self, port: Optional[int] = None, host: str = "127.0.0.1"):
        self.host = host
        self.port = port or free_port()
        self.messages: List[ReceivedMail] = []
        self.refuse_rcpt: Optional[str] = None  # e.g. "550 5.1.1 no such user": every RCPT refused
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self._controller: Optional[Controller] = None

    @property
    def url(self) -> str:
        return f"smtp://{self.host}:{self.port}"

    @property
    def running(self) -> bool:
        return self._controller is not None

    def start(self) -> "SmtpSink":
        """Starts listening on the sink's port (again, after a stop)."""
        if self._controller is not None:
            return self
        # A Controller cannot be restarted: a fresh one each time. server_hostname avoids a
        # getfqdn() lookup; SMTPUTF8 lets a UTF-8 address through.
        c = Controller(_Handler(self), hostname=self.host, port=self.port, ready_timeout=10,
                       server_hostname="sink.test")
        last: Optional[BaseException] = None
        for _ in range(50):  # the port may linger for a moment after a stop
            try:
                c.start()
                break
            except OSError as e:
                last = e
                c = Controller(_Handler(self), hostname=self.host, port=self.port, ready_timeout=10,
                               server_hostname="sink.test")
                time.sleep(0.1)
        else:
            raise RuntimeError(f"SMTP sink cannot listen on {self.port}: {last}")
        self._controller = c
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def __enter__(self) -> "SmtpSink":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def _add(self, m: ReceivedMail) -> None:
        with self._cond:
            self.messages.append(m)
            self._cond.notify_all()

    def snapshot(self) -> List[ReceivedMail]:
        with self._lock:
            return list(self.messages)

    def matching(self, pred: Optional[Callable[[ReceivedMail], bool]] = None) -> List[ReceivedMail]:
        return [m for m in self.snapshot() if pred is None or pred(m)]

    def wait_for(self, pred: Optional[Callable[[ReceivedMail], bool]] = None, count: int = 1,
                 timeout: float = 10.0) -> List[ReceivedMail]:
        """Waits until at least count messages match pred; returns the matching ones (raises
        AssertionError on timeout)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                found = [m for m in self.messages if pred is None or pred(m)]
                if len(found) >= count:
                    return found
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"expected {count} matching mail(s) within {timeout} s; "
                                         f"got {len(found)} of {self.messages!r}")
                self._cond.wait(min(left, 0.2))
