"""A loopback HTTP server that records every request it gets: the merchant's webhook receiver
and a fake Telegram Bot API in one.

    hook = WebhookSink(bot_token="123:abc").start()
    hook.url                       # http://127.0.0.1:PORT/hook        ([notify] webhook_url)
    hook.api_url                   # http://127.0.0.1:PORT             ([notify] telegram_api_url)
    hook.fail_next(2, status=500)  # the next 2 webhook requests get 500, then 200 again
    reqs = hook.wait_for(lambda r: r.json()["event"] == "order.paid")
    r.body (the exact bytes), r.headers (lower-case names), r.received_at (time.monotonic())
    hook.messages                  # Telegram sendMessage calls accepted: [{"chat_id", "text", ...}]

The Telegram half answers as the Bot API does: POST /bot<token>/sendMessage with a JSON (or
form) body; a wrong token gets 401 {"ok": false, "error_code": 401, "description":
"Unauthorized"}; a missing chat_id or text gets 400; success is {"ok": true, "result": {...}}.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Dict, List, Optional, Tuple


@dataclass
class Received:
    method: str
    path: str
    headers: Dict[str, str]
    body: bytes
    status: int  # what we answered
    received_at: float = field(default_factory=time.monotonic)

    def json(self) -> Any:
        return json.loads(self.body.decode("utf-8"))


class WebhookSink:
    def __init__(self, *, bot_token: str = "", host: str = "127.0.0.1", port: int = 0):
        self.bot_token = bot_token
        self.host = host
        self.port = port
        self.requests: List[Received] = []  # webhook requests (path /hook)
        self.telegram: List[Received] = []  # Bot API requests, whatever the answer
        self.messages: List[Dict[str, Any]] = []  # accepted sendMessage calls
        self._fail = 0
        self._fail_status = 500
        self._tg_fail = 0
        self._cond = threading.Condition()
        self._httpd: Optional[ThreadingHTTPServer] = None
        self._thread: Optional[threading.Thread] = None

    # ---- lifecycle ----------------------------------------------------------------------
    def start(self) -> "WebhookSink":
        sink = self

        class Handler(_Handler):
            owner = sink

        self._httpd = ThreadingHTTPServer((self.host, self.port), Handler)
        self._httpd.daemon_threads = True
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="webhook-sink", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None

    @property
    def api_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def url(self) -> str:
        return f"{self.api_url}/hook"

    # ---- behaviour ----------------------------------------------------------------------
    def fail_next(self, n: int, status: int = 500) -> None:
        """The next n webhook requests are answered with status (then 200 again)."""
        with self._cond:
            self._fail, self._fail_status = n, status

    def fail_telegram(self, n: int) -> None:
        """The next n sendMessage calls get 500 {"ok": false} (then they succeed again)."""
        with self._cond:
            self._tg_fail = n

    # ---- reading ------------------------------------------------------------------------
    def wait_for(self, pred: Callable[[Received], bool], count: int = 1, timeout: float = 10.0,
                 source: str = "webhook") -> List[Received]:
        """Waits until at least count recorded requests satisfy pred; returns them all."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                pool = self.requests if source == "webhook" else self.telegram
                hits = [r for r in pool if pred(r)]
                if len(hits) >= count:
                    return hits
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"timed out waiting for {count} {source} request(s); got {pool!r}")
                self._cond.wait(min(left, 0.1))

    def wait_message(self, pred: Callable[[Dict[str, Any]], bool], timeout: float = 10.0) -> Dict[str, Any]:
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for m in self.messages:
                    if pred(m):
                        return m
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"no matching Telegram message in {self.messages!r}")
                self._cond.wait(min(left, 0.1))

    # ---- called by the handler ----------------------------------------------------------
    def _webhook(self, rec_args: Dict[str, Any]) -> int:
        with self._cond:
            status = 200
            if self._fail > 0:
                self._fail -= 1
                status = self._fail_status
            self.requests.append(Received(status=status, **rec_args))
            self._cond.notify_all()
            return status

    def _telegram(self, path: str, rec_args: Dict[str, Any]) -> Tuple[int, Dict[str, Any]]:
        token, _, method = path[len("/bot"):].partition("/")
        ctype = rec_args["headers"].get("content-type", "")
        try:
            if ctype.startswith("application/json"):
                params = json.loads(rec_args["body"].decode("utf-8"))
            else:
                params = dict(urllib.parse.parse_qsl(rec_args["body"].decode("utf-8")))
        except ValueError:
            params = None
        with self._cond:
            if token != self.bot_token:
                status, reply = 401, {"ok": False, "error_code": 401, "description": "Unauthorized"}
            elif method != "sendMessage":
                status, reply = 404, {"ok": False, "error_code": 404, "description": "Not Found"}
            elif not isinstance(params, dict) or not params.get("chat_id") or not params.get("text"):
                status, reply = 400, {"ok": False, "error_code": 400,
                                      "description": "Bad Request: message text is empty"}
            elif self._tg_fail > 0:
                self._tg_fail -= 1
                status, reply = 500, {"ok": False, "error_code": 500, "description": "Internal Server Error"}
            else:
                self.messages.append(params)
                status = 200
                reply = {"ok": True, "result": {"message_id": len(self.messages),
                                                "chat": {"id": params["chat_id"]},
                                                "date": int(time.time()), "text": params["text"]}}
            self.telegram.append(Received(status=status, **rec_args))
            self._cond.notify_all()
            return status, reply


class _Handler(BaseHTTPRequestHandler):
    owner: WebhookSink
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def _answer(self, status: int, body: bytes, ctype: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:  # noqa: N802 (http.server's name)
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else b""
        rec = {"method": "POST", "path": self.path,
               "headers": {k.lower(): v for k, v in self.headers.items()}, "body": body}
        if self.path.startswith("/bot"):
            status, reply = self.owner._telegram(self.path, rec)
            self._answer(status, json.dumps(reply).encode(), "application/json")
            return
        status = self.owner._webhook(rec)
        self._answer(status, b"ok" if status < 300 else b"not now", "text/plain")

    def do_GET(self) -> None:  # noqa: N802
        self._answer(405, b"POST only", "text/plain")
