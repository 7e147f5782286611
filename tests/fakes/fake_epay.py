"""A fake EPay (易支付, the "彩虹易支付" protocol) gateway on loopback.

It speaks the merchant-facing protocol the way the real gateway does, so the server's EPay
module is tested against the protocol and not against its own assumptions:

* `GET|POST /submit.php?pid=&type=&out_trade_no=&notify_url=&return_url=&name=&money=&sign=&sign_type=MD5`
  The buyer's browser lands here from the shop's pay_url. The merchant's signature is checked
  exactly like the real gateway does (every parameter except `sign`, `sign_type` and empty ones,
  sorted by name, joined as `k=v&k=v` with the raw, URL-decoded values, the merchant key
  appended, MD5, lower-case hex). An accepted request is recorded as a payable order.
* `GET /api.php?act=order&pid=&key=&out_trade_no=` the merchant's order query (for a
  reconciler): JSON with `code` 1 and `status` 1 once paid.
* `pay(out_trade_no, ...)` plays the buyer paying: sends the asynchronous notify to the
  recorded notify_url (GET with a query string by default, as the real gateway does; POST
  form optionally) with pid, trade_no, out_trade_no, type, name, money, trade_status, sign,
  sign_type, and returns the body the merchant answered (`success` acknowledges it).

    gw = FakeEPay(pid="1001", key="s3cret").start()
    gw.url                               # http://127.0.0.1:PORT/  ([payment.epay] api_url)
    status, body = gw.open(pay_url)      # the buyer follows the shop's pay_url
    gw.pay(order_no)                     # -> "success"
    gw.stop()
"""

from __future__ import annotations

import hashlib
import http.client
import itertools
import json
import re
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union

Params = Union[Mapping[str, Any], Sequence[Tuple[str, Any]]]

# What the real gateway requires on submit.php (`type` may be left out: the cashier asks).
SUBMIT_REQUIRED = ("pid", "out_trade_no", "notify_url", "return_url", "name", "money", "sign")
MONEY_RE = re.compile(r"^[0-9]+(\.[0-9]{1,2})?$")


def _pairs(params: Params) -> List[Tuple[str, str]]:
    items = params.items() if isinstance(params, Mapping) else params
    return [(str(k), "" if v is None else str(v)) for k, v in items]


def sign_content(params: Params) -> str:
    """The string EPay signs: non-empty parameters except sign and sign_type, sorted by name,
    joined as k=v&k=v (raw values, no URL encoding)."""
    kept = [(k, v) for k, v in _pairs(params) if k not in ("sign", "sign_type") and v != ""]
    kept.sort(key=lambda kv: kv[0].encode("utf-8"))
    return "&".join(f"{k}={v}" for k, v in kept)


def sign(params: Params, key: str) -> str:
    """EPay's MD5 signature: md5(sign_content(params) + key), lower-case hex."""
    return hashlib.md5((sign_content(params) + key).encode("utf-8")).hexdigest()


def format_money(minor: int) -> str:
    """Minor units to EPay's money string with two decimals: 990 -> "9.90"."""
    return f"{minor // 100}.{minor % 100:02d}"


def parse_url_params(url: str) -> Dict[str, str]:
    """The query parameters of a URL (each name once; blank values kept)."""
    return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query, keep_blank_values=True))


@dataclass
class Submission:
    """One request to submit.php, accepted or not."""
    method: str
    params: List[Tuple[str, str]]
    ok: bool
    error: str = ""

    def get(self, name: str) -> Optional[str]:
        for k, v in self.params:
            if k == name:
                return v
        return None


@dataclass
class GatewayOrder:
    """An order the gateway accepted from submit.php, payable by pay()."""
    pid: str
    out_trade_no: str
    notify_url: str
    return_url: str
    name: str
    money: str
    type: str
    params: Dict[str, str]
    created_at: float = field(default_factory=time.time)
    trade_no: Optional[str] = None  # set by the first pay()
    paid: bool = False  # the merchant acknowledged a TRADE_SUCCESS notify with "success"


@dataclass
class Notification:
    """One notify the gateway sent, and the merchant's reply."""
    method: str
    url: str
    params: List[Tuple[str, str]]
    status: int
    reply: str


class FakeEPay:
    def __init__(self, pid: str = "1001", key: str = "", *, merchants: Optional[Mapping[str, str]] = None,
                 host: str = "127.0.0.1", port: int = 0):
        self.merchants: Dict[str, str] = dict(merchants or {})
        if pid and pid not in self.merchants:
            self.merchants[pid] = key
        self.pid = pid
        self.host = host
        self.port = port
        self.orders: Dict[str, GatewayOrder] = {}  # by out_trade_no (the merchant's order_no)
        self.submissions: List[Submission] = []
        self.notifications: List[Notification] = []
        self.lock = threading.Lock()
        self._seq = itertools.count(1)
        self._httpd: Optional[ThreadingHTTPServer] = None
        self._thread: Optional[threading.Thread] = None

    # ---- lifecycle ----------------------------------------------------------------------
    def start(self) -> "FakeEPay":
        gw = self

        class Handler(_Handler):
            gateway = gw

        self._httpd = ThreadingHTTPServer((self.host, self.port), Handler)
        self._httpd.daemon_threads = True
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="fake-epay", daemon=True)
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

    def __enter__(self) -> "FakeEPay":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    @property
    def key(self) -> str:
        return self.merchants[self.pid]

    @property
    def url(self) -> str:
        """The gateway's base URL, as the merchant configures it ([payment.epay] api_url)."""
        return f"http://{self.host}:{self.port}/"

    # ---- the buyer's side ---------------------------------------------------------------
    def open(self, url: str, timeout: float = 10.0) -> Tuple[int, str]:
        """GETs a URL (normally the shop's pay_url) like the buyer's browser; (status, body)."""
        return http_request("GET", url, timeout=timeout)

    def order(self, out_trade_no: str) -> GatewayOrder:
        with self.lock:
            try:
                return self.orders[out_trade_no]
            except KeyError:
                raise AssertionError(f"the gateway has no order {out_trade_no!r}: was its pay_url "
                                     f"opened? submissions: {self.submissions!r}") from None

    def new_trade_no(self) -> str:
        """A gateway trade number like the real one's: timestamp and digits."""
        return time.strftime("%Y%m%d%H%M%S") + f"{next(self._seq):05d}{int(time.time() * 1000) % 1000:03d}"

    def notify_params(self, out_trade_no: str, *, trade_no: Optional[str] = None, type: Optional[str] = None,
                      money: Optional[str] = None, trade_status: str = "TRADE_SUCCESS",
                      pid: Optional[str] = None, key: Optional[str] = None, name: Optional[str] = None,
                      overrides: Optional[Mapping[str, Optional[str]]] = None,
                      sign_value: Optional[str] = None) -> List[Tuple[str, str]]:
        """The notify parameters the gateway would send for an accepted order, in its order.

        overrides replace (or, with None, drop) parameters before signing; sign_value replaces
        the computed signature (None: computed with key, default the merchant's)."""
        o = self.order(out_trade_no)
        if trade_no is None:
            with self.lock:
                if o.trade_no is None:
                    o.trade_no = self.new_trade_no()
                trade_no = o.trade_no
        params: Dict[str, Optional[str]] = {
            "pid": pid if pid is not None else o.pid,
            "trade_no": trade_no,
            "out_trade_no": o.out_trade_no,
            "type": type if type is not None else (o.type or "alipay"),
            "name": name if name is not None else o.name,
            "money": money if money is not None else o.money,
            "trade_status": trade_status,
        }
        for k, v in (overrides or {}).items():
            params[k] = v
        kept = [(k, v) for k, v in params.items() if v is not None]
        the_key = key if key is not None else self.merchants.get(o.pid, "")
        kept.append(("sign", sign_value if sign_value is not None else sign(kept, the_key)))
        kept.append(("sign_type", "MD5"))
        return kept

    def pay(self, out_trade_no: str, *, method: str = "GET", timeout: float = 10.0, **kw: Any) -> str:
        """The buyer pays: the gateway notifies the merchant's notify_url and returns the body
        of the reply. Keyword arguments as for notify_params (trade_no, money, trade_status,
        key, pid, overrides, sign_value, type, name)."""
        o = self.order(out_trade_no)
        params = self.notify_params(out_trade_no, **kw)
        status, body = self.send_notify(o.notify_url, params, method=method, timeout=timeout)
        if status == 200 and body.strip() == "success" and dict(params).get("trade_status") == "TRADE_SUCCESS":
            with self.lock:
                o.paid = True
        return body

    def send_notify(self, notify_url: str, params: Params, *, method: str = "GET",
                    timeout: float = 10.0, raw: Optional[str] = None) -> Tuple[int, str]:
        """Sends one notify as the gateway does: GET with the parameters appended to the URL's
        query, or POST with a urlencoded form. raw sends that query/body verbatim instead.
        Returns (status, body)."""
        pairs = _pairs(params)
        encoded = raw if raw is not None else urllib.parse.urlencode(pairs)
        method = method.upper()
        if method == "GET":
            url = notify_url + ("&" if "?" in notify_url else "?") + encoded
            status, body = http_request("GET", url, timeout=timeout)
        else:
            status, body = http_request("POST", notify_url, body=encoded.encode("utf-8"), timeout=timeout,
                                        headers={"Content-Type": "application/x-www-form-urlencoded"})
        with self.lock:
            self.notifications.append(Notification(method, notify_url, pairs, status, body))
        return status, body

    # ---- the gateway's side -------------------------------------------------------------
    def _submit(self, method: str, pairs: List[Tuple[str, str]]) -> Tuple[int, str]:
        def refuse(msg: str) -> Tuple[int, str]:
            with self.lock:
                self.submissions.append(Submission(method, pairs, False, msg))
            return 400, _page("错误提示", msg)

        names = [k for k, _ in pairs]
        if len(names) != len(set(names)):
            return refuse("参数重复 (repeated parameter)")
        p = dict(pairs)
        for req in SUBMIT_REQUIRED:
            if not p.get(req):
                return refuse(f"参数不完整: {req} (missing {req})")
        if p.get("sign_type", "MD5") != "MD5":
            return refuse("签名类型错误 (sign_type must be MD5)")
        if p["pid"] not in self.merchants:
            return refuse("商户不存在 (unknown pid)")
        key = self.merchants[p["pid"]]
        if sign(pairs, key) != p["sign"]:
            return refuse("签名校验失败 (bad signature)")
        if not MONEY_RE.match(p["money"]) or float(p["money"]) <= 0:
            return refuse("金额不合法 (bad money)")
        for u in ("notify_url", "return_url"):
            if urllib.parse.urlsplit(p[u]).scheme not in ("http", "https"):
                return refuse(f"{u} 不合法")
        with self.lock:
            old = self.orders.get(p["out_trade_no"])
            if old is not None and old.paid:
                self.submissions.append(Submission(method, pairs, False, "订单已支付"))
                return 400, _page("错误提示", "该订单已支付 (already paid)")
            self.orders[p["out_trade_no"]] = GatewayOrder(
                pid=p["pid"], out_trade_no=p["out_trade_no"], notify_url=p["notify_url"],
                return_url=p["return_url"], name=p["name"], money=p["money"], type=p.get("type", ""),
                params=p)
            self.submissions.append(Submission(method, pairs, True))
        return 200, _page("收银台", f"订单号 {p['out_trade_no']} 商品 {p['name']} 金额 ¥{p['money']}")

    def _api(self, pairs: List[Tuple[str, str]]) -> Tuple[int, str]:
        p = dict(pairs)
        if p.get("act") != "order":
            return 200, json.dumps({"code": -5, "msg": "No Act!"})
        if p.get("pid") not in self.merchants or p.get("key") != self.merchants[p.get("pid")]:
            return 200, json.dumps({"code": -3, "msg": "KEY校验失败"})
        with self.lock:
            o = self.orders.get(p.get("out_trade_no", ""))
            if o is None:
                return 200, json.dumps({"code": -1, "msg": "订单号不存在"})
            return 200, json.dumps({
                "code": 1, "msg": "查询订单号成功！", "trade_no": o.trade_no or "",
                "out_trade_no": o.out_trade_no, "type": o.type or "alipay", "pid": o.pid,
                "addtime": time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(o.created_at)),
                "endtime": "", "name": o.name, "money": o.money, "status": 1 if o.paid else 0,
                "param": "", "buyer": ""}, ensure_ascii=False)


class _Handler(BaseHTTPRequestHandler):
    gateway: FakeEPay
    protocol_version = "HTTP/1.0"

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def _pairs(self, body: bytes = b"") -> List[Tuple[str, str]]:
        query = urllib.parse.urlsplit(self.path).query
        pairs = urllib.parse.parse_qsl(query, keep_blank_values=True)
        if body:
            pairs += urllib.parse.parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)
        return pairs

    def _route(self, method: str, body: bytes = b"") -> None:
        path = urllib.parse.urlsplit(self.path).path
        pairs = self._pairs(body)
        if path == "/submit.php":
            status, text = self.gateway._submit(method, pairs)
            ctype = "text/html; charset=utf-8"
        elif path == "/api.php":
            status, text = self.gateway._api(pairs)
            ctype = "application/json; charset=utf-8"
        else:
            status, text, ctype = 404, "Not Found", "text/plain; charset=utf-8"
        data = text.encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        self._route("GET")

    def do_POST(self) -> None:
        n = int(self.headers.get("Content-Length") or 0)
        self._route("POST", self.rfile.read(n) if n else b"")


def _page(title: str, text: str) -> str:
    import html
    return (f"<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>{html.escape(title)}</title>"
            f"</head><body><p>{html.escape(text)}</p></body></html>")


def http_request(method: str, url: str, *, body: Optional[bytes] = None,
                 headers: Optional[Mapping[str, str]] = None, timeout: float = 10.0) -> Tuple[int, str]:
    """One request on a fresh connection; (status, body as text). No redirects followed."""
    u = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(u.hostname, u.port or 80, timeout=timeout)
    try:
        target = u.path or "/"
        if u.query:
            target += "?" + u.query
        conn.request(method, target, body=body, headers=dict(headers or {}))
        r = conn.getresponse()
        return r.status, r.read().decode("utf-8", "replace")
    finally:
        conn.close()
