"""Setting a shop up for the order, payment, mail and coupon suites: a server wired to the fake
EPay gateway and the SMTP sink, an admin signed in through the admin API, products with keys,
and small helpers for buyers and for reading the database.

    shop = start_shop(make_server, epay=FakeEPay(key=EPAY_KEY).start(), sink=SmtpSink().start())
    pid = shop.admin.product(name="Steam 100", price=990, keys=10)
    r = shop.order(pid, quantity=2)            # POST /api/orders as a buyer (no cookie jar)
    shop.epay.open(r.json()["pay_url"]); shop.epay.pay(r.json()["order_no"])
"""

from __future__ import annotations

import json as jsonlib
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence

import harness

from .fake_epay import FakeEPay
from .smtp_sink import SmtpSink

ADMIN_USER = "shopadmin"
ADMIN_PASSWORD = "correct horse battery staple"  # >= 12 characters
EPAY_PID = "1001"
EPAY_KEY = "k3yForTheFakeEPayGateway0123456789"
BUYER = "buyer@example.com"
SHOP_FROM = "shop@example.com"


class ShopAdmin:
    """A signed-in admin. Keeps its own session cookie and CSRF token, independent of the
    server object's cookie jar (so buyers' requests never carry the admin cookie)."""

    def __init__(self, srv: harness.CardshopServer, username: str = ADMIN_USER,
                 password: str = ADMIN_PASSWORD, *, create: bool = True):
        self.srv = srv
        if create:
            srv.add_admin(username, password)
        r = srv.post("/api/admin/login", json={"username": username, "password": password}, use_cookies=False)
        assert r.status == 200, f"admin login failed: {r!r}"
        self.csrf = r.json()["csrf_token"]
        self.cookie = ""
        for sc in r.headers.get_all("set-cookie"):
            pair = sc.split(";", 1)[0]
            if pair.startswith("cs_admin="):
                self.cookie = pair
        assert self.cookie, r.headers

    def call(self, method: str, path: str, json: Any = None, body: Any = None,
             headers: Optional[Mapping[str, str]] = None) -> harness.Response:
        h = {"Cookie": self.cookie}
        if method not in ("GET", "HEAD"):
            h["X-CSRF-Token"] = self.csrf
        h.update(headers or {})
        return self.srv.request(method, path, json=json, body=body, headers=h, use_cookies=False)

    def product(self, name: str = "Test card", price: int = 990, *, keys: Any = None, **fields: Any) -> int:
        """Creates a product (POST /api/admin/products) and optionally uploads keys: an int
        (that many fresh keys) or a list of key strings. Returns its id."""
        r = self.call("POST", "/api/admin/products", json={"name": name, "price": price, **fields})
        assert r.status == 201, f"product create failed: {r!r}"
        pid = r.json()["id"]
        if keys:
            self.add_keys(pid, make_keys(keys) if isinstance(keys, int) else list(keys))
        return pid

    def patch_product(self, pid: int, **fields: Any) -> harness.Response:
        r = self.call("PATCH", f"/api/admin/products/{pid}", json=fields)
        assert r.status == 200, f"product update failed: {r!r}"
        return r

    def add_keys(self, pid: int, keys: Sequence[str]) -> Dict[str, int]:
        """Uploads keys (one per line, text/plain); asserts every one was added."""
        r = self.call("POST", f"/api/admin/products/{pid}/keys", body="\n".join(keys) + "\n",
                      headers={"Content-Type": "text/plain"})
        assert r.status == 200, f"key upload failed: {r!r}"
        out = r.json()
        assert out["added"] == len(keys), out
        return out

    def coupon_request(self, **fields: Any) -> harness.Response:
        return self.call("POST", "/api/admin/coupons", json=fields)

    def coupon(self, code: str, kind: str, value: int, **fields: Any) -> int:
        r = self.coupon_request(code=code, kind=kind, value=value, **fields)
        assert r.status == 201, f"coupon create failed: {r!r}"
        return r.json()["id"]


def make_keys(n: int, prefix: str = "KEY") -> List[str]:
    """n distinct, recognisable card keys."""
    return [f"{prefix}-{uuid.uuid4().hex[:12].upper()}-{i:04d}" for i in range(n)]


def wait_until(pred: Callable[[], Any], timeout: float = 10.0, interval: float = 0.05,
               message: str = "condition") -> Any:
    """Polls pred until it returns something truthy (returned); AssertionError on timeout."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while True:
        last = pred()
        if last:
            return last
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {message} (last: {last!r})")
        time.sleep(interval)


def db_rows(srv: harness.CardshopServer, sql: str, args: Sequence[Any] = ()) -> List[Dict[str, Any]]:
    """Rows of a query on the server's database file, as dicts."""
    c = srv.db()
    try:
        return [dict(r) for r in c.execute(sql, tuple(args)).fetchall()]
    finally:
        c.close()


def db_value(srv: harness.CardshopServer, sql: str, args: Sequence[Any] = ()) -> Any:
    c = srv.db()
    try:
        row = c.execute(sql, tuple(args)).fetchone()
        return None if row is None else row[0]
    finally:
        c.close()


def error_of(r: harness.Response) -> Dict[str, Any]:
    """The {"code", "message"} of a JSON error reply (asserting its shape)."""
    assert r.headers.get("content-type", "").startswith("application/json"), r
    body = r.json()
    assert set(body) == {"error"}, body
    assert isinstance(body["error"].get("message"), str) and body["error"]["message"], body
    return body["error"]


@dataclass
class Shop:
    srv: harness.CardshopServer
    admin: ShopAdmin
    epay: Optional[FakeEPay] = None
    sink: Optional[SmtpSink] = None
    config: Dict[str, Dict[str, Any]] = field(default_factory=dict)

    def __repr__(self) -> str:  # short in assertion output; no gateway key
        return f"<Shop {self.srv.base_url}>"

    # ---- buyers -------------------------------------------------------------------------
    def order(self, product_id: int, quantity: int = 1, email: str = BUYER, gateway: str = "epay",
              *, headers: Optional[Mapping[str, str]] = None, **extra: Any) -> harness.Response:
        """POST /api/orders without the server's cookie jar (every call a new browser)."""
        body = {"product_id": product_id, "quantity": quantity, "email": email, "gateway": gateway}
        body.update(extra)
        return self.srv.request("POST", "/api/orders", json=body, headers=headers, use_cookies=False)

    def order_ok(self, product_id: int, quantity: int = 1, **kw: Any) -> Dict[str, Any]:
        r = self.order(product_id, quantity, **kw)
        assert r.status == 201, f"order create failed: {r!r}"
        return r.json()

    def view(self, order_no: str, token: Optional[str] = None,
             headers: Optional[Mapping[str, str]] = None) -> harness.Response:
        path = f"/api/orders/{order_no}"
        if token is not None:
            path = harness.query(path, token=token)
        return self.srv.request("GET", path, headers=headers, use_cookies=False)

    def view_ok(self, order: Mapping[str, Any]) -> Dict[str, Any]:
        r = self.view(order["order_no"], order["token"])
        assert r.status == 200, r
        return r.json()

    def status(self, order_no: str) -> Optional[str]:
        return db_value(self.srv, "SELECT status FROM orders WHERE order_no = ?", (order_no,))

    def wait_status(self, order_no: str, want: str, timeout: float = 10.0) -> None:
        wait_until(lambda: self.status(order_no) == want, timeout, message=f"order {order_no} to be {want}")

    def stock(self, product_id: int) -> int:
        """Public stock (GET /api/products/{id}): keys free to sell now."""
        r = self.srv.request("GET", f"/api/products/{product_id}", use_cookies=False)
        assert r.status == 200, r
        return r.json()["stock"]

    # ---- paying through the fake gateway ------------------------------------------------
    def open_pay_url(self, order: Mapping[str, Any]) -> None:
        """The buyer follows pay_url to the gateway, which must accept it."""
        assert self.epay is not None
        status, body = self.epay.open(order["pay_url"])
        assert status == 200, (status, body, self.epay.submissions[-1:])

    def pay(self, order: Mapping[str, Any], **kw: Any) -> str:
        """Opens pay_url at the fake gateway (once) and pays; returns the notify reply."""
        assert self.epay is not None
        if order["order_no"] not in self.epay.orders:
            self.open_pay_url(order)
        return self.epay.pay(order["order_no"], **kw)

    # ---- database -----------------------------------------------------------------------
    def rows(self, sql: str, args: Sequence[Any] = ()) -> List[Dict[str, Any]]:
        return db_rows(self.srv, sql, args)

    def value(self, sql: str, args: Sequence[Any] = ()) -> Any:
        return db_value(self.srv, sql, args)

    def order_row(self, order_no: str) -> Dict[str, Any]:
        rows = self.rows("SELECT * FROM orders WHERE order_no = ?", (order_no,))
        assert len(rows) == 1, (order_no, rows)
        return rows[0]

    def key_rows(self, order_no: str) -> List[Dict[str, Any]]:
        return self.rows("SELECT k.id, k.status, k.order_id, k.product_id FROM card_keys k"
                         " JOIN orders o ON o.id = k.order_id WHERE o.order_no = ? ORDER BY k.id",
                         (order_no,))

    def events(self, order_no: Optional[str] = None) -> List[Dict[str, Any]]:
        if order_no is None:
            return self.rows("SELECT * FROM payment_events ORDER BY id")
        return self.rows("SELECT * FROM payment_events WHERE order_no = ? ORDER BY id", (order_no,))

    def jobs(self, kind: Optional[str] = None) -> List[Dict[str, Any]]:
        if kind is None:
            return self.rows("SELECT * FROM jobs ORDER BY id")
        return self.rows("SELECT * FROM jobs WHERE kind = ? ORDER BY id", (kind,))


def shop_config(*, epay: Optional[FakeEPay] = None, epay_key: Optional[str] = None,
                sink: Optional[SmtpSink] = None, sandbox: bool = False,
                shop: Optional[Mapping[str, Any]] = None, server: Optional[Mapping[str, Any]] = None,
                extra: Optional[Mapping[str, Mapping[str, Any]]] = None) -> Dict[str, Dict[str, Any]]:
    """The extra config sections for a shop wired to the fakes. The orders rate limit and the
    order-rate threshold of the proof-of-work challenge are lifted (tests create many orders
    from one address, faster than a shop under no pressure) unless server= / extra= set them."""
    cfg: Dict[str, Dict[str, Any]] = {"server": {"rate_limit": 100000}, "shop": {"name": "Test Shop"},
                                      "security": {"challenge_orders_per_minute": 100000000}}
    if epay is not None:
        cfg["payment.epay"] = {"enabled": True, "api_url": epay.url, "pid": epay.pid,
                               "key": epay.key if epay_key is None else epay_key}
    if sink is not None:
        cfg["smtp"] = {"url": sink.url, "from": SHOP_FROM, "timeout": 5}
    if sandbox:
        cfg["payment.sandbox"] = {"enabled": True}
    cfg["server"].update(server or {})
    cfg["shop"].update(shop or {})
    for section, keys in (extra or {}).items():
        cfg.setdefault(section, {}).update(keys)
    return cfg


def start_shop(make_server: Callable[..., harness.CardshopServer], *, epay: Optional[FakeEPay] = None,
               epay_key: Optional[str] = None, sink: Optional[SmtpSink] = None, sandbox: bool = False,
               shop: Optional[Mapping[str, Any]] = None, server: Optional[Mapping[str, Any]] = None,
               extra: Optional[Mapping[str, Mapping[str, Any]]] = None, **server_kw: Any) -> Shop:
    """A started server (via the conftest's make_server factory) wired to the given fakes, with
    an admin created by `cardshop admin add` and signed in."""
    cfg = shop_config(epay=epay, epay_key=epay_key, sink=sink, sandbox=sandbox, shop=shop, server=server,
                      extra=extra)
    srv = make_server(cfg, start=False, **server_kw)
    srv.add_admin(ADMIN_USER, ADMIN_PASSWORD)
    srv.start()
    return Shop(srv=srv, admin=ShopAdmin(srv, create=False), epay=epay, sink=sink, config=cfg)


def dumps(obj: Any) -> str:
    return jsonlib.dumps(obj, ensure_ascii=False, sort_keys=True)
