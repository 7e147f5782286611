"""Overload shedding ([server] max_inflight): past it, the sheddable routes (lookup, admin
lists) answer 503 unavailable with Retry-After at once, while catalog reads, order creation and
the order view still answer.

Requests are held in flight by sending their head and only part of their body: each one counts
from its request line until it completes, and costs no worker thread meanwhile."""

import socket
import time

from fakes.fixtures import epay  # noqa: F401 (pytest fixture)
from fakes.shop_setup import error_of, start_shop

MAX_INFLIGHT = 3


def hold(srv, n):
    """n requests in flight: heads sent, bodies unfinished. The caller closes the sockets."""
    socks = []
    for _ in range(n):
        s = socket.create_connection((srv.host, srv.port), timeout=10)
        s.sendall(b"POST /api/orders HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  b"Content-Length: 500\r\n\r\n{\"product_id\": ")
        socks.append(s)
    return socks


def lookup(shop):
    return shop.srv.request("POST", "/api/orders/lookup", use_cookies=False,
                            json={"email": "x@example.com", "query_password": "guess"})


def wait_for(pred, what, timeout=10.0):
    deadline = time.monotonic() + timeout
    while True:
        r = pred()
        if r is not None:
            return r
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def test_past_max_inflight_only_sheddable_routes_answer_503(make_server, epay):  # noqa: F811
    shop = start_shop(make_server, epay=epay, server={"max_inflight": MAX_INFLIGHT},
                      extra={"security": {"challenge": "off"}})
    pid = shop.admin.product(name="Busy", price=100, keys=5)
    before = shop.order_ok(pid)
    socks = hold(shop.srv, MAX_INFLIGHT)
    try:
        # Once the held requests are counted, a lookup (4 in flight > 3) is shed.
        r = wait_for(lambda: (lambda x: x if x.status == 503 else None)(lookup(shop)),
                     "the lookup to be shed")
        assert error_of(r)["code"] == "unavailable"
        assert r.headers.get("Retry-After", "").isdigit(), r.headers
        r = shop.admin.call("GET", "/api/admin/orders")
        assert r.status == 503 and error_of(r)["code"] == "unavailable", r
        assert r.headers.get("Retry-After", "").isdigit(), r.headers
        # The core routes keep their place.
        assert shop.srv.request("GET", "/api/products", use_cookies=False).status == 200
        assert shop.srv.request("GET", f"/api/products/{pid}", use_cookies=False).status == 200
        assert shop.srv.request("GET", "/api/config", use_cookies=False).status == 200
        created = shop.order(pid)
        assert created.status == 201, created
        assert shop.view(before["order_no"], before["token"]).status == 200
        metrics = shop.srv.get("/metrics").text
        shed = [line for line in metrics.splitlines() if line.startswith("cardshop_requests_shed_total ")]
        assert shed and int(shed[0].split()[1]) >= 2, metrics
    finally:
        for s in socks:
            s.close()
    # Pressure gone: the lookup answers again.
    wait_for(lambda: (lambda x: x if x.status == 200 else None)(lookup(shop)),
             "the lookup to answer again")
    assert shop.admin.call("GET", "/api/admin/orders").status == 200


def test_below_max_inflight_nothing_is_shed(make_server, epay):  # noqa: F811
    shop = start_shop(make_server, epay=epay, server={"max_inflight": 8},
                      extra={"security": {"challenge": "off"}})
    socks = hold(shop.srv, 3)
    try:
        for _ in range(5):
            assert lookup(shop).status == 200
        assert shop.admin.call("GET", "/api/admin/orders").status == 200
    finally:
        for s in socks:
            s.close()
    assert "cardshop_requests_shed_total 0" in shop.srv.get("/metrics").text
