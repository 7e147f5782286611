"""A fake epusdt / BEpusdt (USDT) server on loopback.

epusdt has no official SDK, so its signature is implemented here from the epusdt server's own
algorithm (util/sign: every field of the decoded JSON object except `signature` and nulls,
numbers as Go's strconv.FormatFloat(v, 'f', -1, 64) writes them, strings as they are; the
"k=v" strings sorted, joined with "&", the API token appended; MD5, lower-case hex), written
independently of the C code under test.

* `POST /api/v1/order/create-transaction` JSON {order_id, amount, notify_url, redirect_url,
  signature}: checked like the server's CheckApiSign middleware; answers
  {"status_code": 200, "message": "success", "data": {trade_id, order_id, amount,
  actual_amount, token, expiration_time, payment_url}}.
* `GET /pay/checkout-counter/{trade_id}`: the buyer's page.
* `pay(order_id)`: the chain saw the transfer; the notify is POSTed as JSON (trade_id,
  order_id, amount, actual_amount, token, block_transaction_id, signature, status 2) and the
  merchant's reply body returned (epusdt requires exactly "ok").

Failure modes: `fail_next` (create answers 500), `slow` (seconds before answering), and
`pay(..., withhold=True)` (the notify is never sent).
"""

from __future__ import annotations

import decimal
import hashlib
import http.client
import json
import secrets
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Dict, List, Optional, Tuple

RATE = 7.2  # CNY per USDT


def go_number(v: Any) -> str:
    """What Go's FormatFloat(float64(v), 'f', -1, 64) prints: shortest round-trip digits, no
    exponent (Python's repr is also the shortest round-trip form)."""
    text = format(decimal.Decimal(repr(float(v))), "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def sign_content(obj: Dict[str, Any]) -> str:
    parts = []
    for k, v in obj.items():
        if k == "signature" or v is None:
            continue
        if isinstance(v, bool) or isinstance(v, (dict, list)):
            raise ValueError("signature marshal error")
        parts.append(f"{k}={go_number(v) if isinstance(v, (int, float)) else v}")
    parts.sort(key=lambda s: s.encode("utf-8"))
    return "&".join(parts)


def sign(obj: Dict[str, Any], token: str) -> str:
    return hashlib.md5((sign_content(obj) + token).encode("utf-8")).hexdigest()


def dumps_go(obj: Dict[str, Any]) -> str:
    """JSON as Go's encoder writes it: numbers in their shortest form (2, 12.88)."""
    items = []
    for k, v in obj.items():
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            items.append(f"{json.dumps(k)}:{go_number(v)}")
        else:
            items.append(f"{json.dumps(k)}:{json.dumps(v, ensure_ascii=False)}")
    return "{" + ",".join(items) + "}"


@dataclass
class Trade:
    trade_id: str
    order_id: str
    amount: float
    actual_amount: float
    notify_url: str
    redirect_url: str
    request: Dict[str, Any]
    raw: str
    paid: bool = False


@dataclass
class Notify:
    body: str
    status: int
    reply: str


class FakeEpusdt:
    def __init__(self, token: str = "epusdt-api-token-for-tests", host: str = "127.0.0.1"):
        self.token = token
        self.host = host
        self.port = 0
        self.address = "TFakeTronWalletAddressForCardshop01"
        self.trades: Dict[str, Trade] = {}  # by order_id
        self.refused: List[Tuple[str, str]] = []  # (raw body, why)
        self.notifies: List[Notify] = []
        self.fail_next = 0
        self.slow = 0.0
        self.lock = threading.Lock()
        self._httpd: Optional[ThreadingHTTPServer] = None

    def start(self) -> "FakeEpusdt":
        gw = self

        class Handler(_Handler):
            gateway = gw

        self._httpd = ThreadingHTTPServer((self.host, 0), Handler)
        self._httpd.daemon_threads = True
        self.port = self._httpd.server_address[1]
        threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                         daemon=True).start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def trade(self, order_id: str) -> Trade:
        with self.lock:
            if order_id not in self.trades:
                raise AssertionError(f"no trade for {order_id}; refused: {self.refused!r}")
            return self.trades[order_id]

    def notify_body(self, order_id: str, *, token: Optional[str] = None, sign_value: Optional[str] = None,
                    **over: Any) -> str:
        t = self.trade(order_id)
        body: Dict[str, Any] = {"trade_id": t.trade_id, "order_id": t.order_id, "amount": t.amount,
                                "actual_amount": t.actual_amount, "token": self.address,
                                "block_transaction_id": secrets.token_hex(32), "status": 2}
        for k, v in over.items():
            if v is None:
                body.pop(k, None)
            else:
                body[k] = v
        body["signature"] = sign_value if sign_value is not None else sign(body, token or self.token)
        return dumps_go(body)

    def pay(self, order_id: str, *, withhold: bool = False, raw: Optional[str] = None, **kw: Any) -> str:
        """The transfer arrived: notifies the merchant; returns its reply body."""
        body = raw if raw is not None else self.notify_body(order_id, **kw)
        t = self.trade(order_id)
        if withhold:
            with self.lock:
                t.paid = True
            return ""
        u = urllib.parse.urlsplit(t.notify_url)
        conn = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
        try:
            conn.request("POST", u.path, body=body.encode(), headers={
                "Content-Type": "application/json", "powered-by": "Epusdt(fake)"})
            r = conn.getresponse()
            status, reply = r.status, r.read().decode("utf-8", "replace")
        finally:
            conn.close()
        with self.lock:
            self.notifies.append(Notify(body, status, reply))
            if reply == "ok":
                t.paid = True
        return reply

    def _create(self, raw: str) -> Tuple[int, Dict[str, Any]]:
        def refuse(why: str, code: int = 400) -> Tuple[int, Dict[str, Any]]:
            with self.lock:
                self.refused.append((raw, why))
            return 200, {"status_code": code, "message": why, "data": None, "request_id": secrets.token_hex(8)}

        try:
            m = json.loads(raw)
        except ValueError:
            return refuse("bad json")
        if not isinstance(m, dict) or "signature" not in m:
            return refuse("signature not found", 401)
        try:
            want = sign(m, self.token)
        except ValueError as e:
            return refuse(str(e), 401)
        if want != m["signature"]:
            return refuse("签名错误 (bad signature)", 401)
        for k in ("order_id", "amount", "notify_url", "redirect_url"):
            if k not in m:
                return refuse(f"参数 {k} 不存在")
        if not isinstance(m["amount"], (int, float)) or isinstance(m["amount"], bool) or m["amount"] <= 0:
            return refuse("amount must be a positive number")
        amount = float(m["amount"])
        actual = float(decimal.Decimal(amount / RATE).quantize(decimal.Decimal("0.0001"), decimal.ROUND_UP))
        trade = Trade(trade_id=time.strftime("%Y%m%d") + secrets.token_hex(6), order_id=m["order_id"],
                      amount=amount, actual_amount=actual, notify_url=m["notify_url"],
                      redirect_url=m["redirect_url"], request=m, raw=raw)
        with self.lock:
            self.trades[trade.order_id] = trade
        return 200, {"status_code": 200, "message": "success", "request_id": secrets.token_hex(8), "data": {
            "trade_id": trade.trade_id, "order_id": trade.order_id, "amount": amount, "actual_amount": actual,
            "token": self.address, "expiration_time": int(time.time()) + 600,
            "payment_url": f"{self.url}/pay/checkout-counter/{trade.trade_id}"}}


class _Handler(BaseHTTPRequestHandler):
    gateway: FakeEpusdt
    protocol_version = "HTTP/1.0"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _send(self, status: int, text: str, ctype: str) -> None:
        data = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        path = urllib.parse.urlsplit(self.path).path
        if path.startswith("/pay/checkout-counter/"):
            tid = path.rsplit("/", 1)[1]
            found = [t for t in self.gateway.trades.values() if t.trade_id == tid]
            if found:
                return self._send(200, f"<title>USDT</title><p>{found[0].actual_amount} USDT</p>", "text/html")
        self._send(404, "not found", "text/plain")

    def do_POST(self) -> None:
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n).decode("utf-8", "replace") if n else ""
        gw = self.gateway
        if gw.slow:
            time.sleep(gw.slow)
        if urllib.parse.urlsplit(self.path).path != "/api/v1/order/create-transaction":
            return self._send(404, "not found", "text/plain")
        with gw.lock:
            failing = gw.fail_next > 0
            if failing:
                gw.fail_next -= 1
        if failing:
            return self._send(500, "internal error", "text/plain")
        status, obj = gw._create(raw)
        self._send(status, json.dumps(obj, ensure_ascii=False), "application/json")
