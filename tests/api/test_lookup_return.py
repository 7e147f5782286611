"""A buyer finding an order again: lookup ignores the case of the address; the gateway's
signed return leads to the keys even in another browser, an unsigned one does not."""

import urllib.parse

from fakes.fixtures import epay  # noqa: F401 (pytest fixtures)
from fakes.shop_setup import start_shop


def test_lookup_ignores_the_case_of_the_address(make_server, epay):  # noqa: F811
    shop = start_shop(make_server, epay=epay)
    pid = shop.admin.product(price=300, keys=2)
    order = shop.order_ok(pid, 1, email="Alice.Buyer@Example.COM", query_password="pw-1234")
    assert shop.order_row(order["order_no"])["email"] == "Alice.Buyer@Example.COM"  # kept as typed
    for typed in ("alice.buyer@example.com", "ALICE.BUYER@EXAMPLE.COM"):
        r = shop.srv.request("POST", "/api/orders/lookup", use_cookies=False,
                             json={"email": typed, "query_password": "pw-1234"})
        assert r.status == 200, r
        assert [o["order_no"] for o in r.json()["orders"]] == [order["order_no"]]
    wrong = shop.srv.request("POST", "/api/orders/lookup", use_cookies=False,
                             json={"email": "alice.buyer@example.com", "query_password": "PW-1234"})
    assert wrong.json()["orders"] == []


def _return(shop, params):
    path = "/pay/epay/return?" + urllib.parse.urlencode(params)
    r = shop.srv.request("GET", path, use_cookies=False)
    assert r.status == 303, r
    return r.headers["location"]


def test_signed_return_carries_the_token(make_server, epay):  # noqa: F811
    shop = start_shop(make_server, epay=epay)
    pid = shop.admin.product(price=300, keys=2)
    order = shop.order_ok(pid)
    assert shop.pay(order) == "success"
    location = _return(shop, epay.notify_params(order["order_no"]))
    assert location == f"/shop/order?order_no={order['order_no']}&token={order['token']}"
    # The token it hands out opens the order, keys and all.
    q = urllib.parse.parse_qs(urllib.parse.urlparse(location).query)
    assert len(shop.view_ok({"order_no": order["order_no"], "token": q["token"][0]})["keys"]) == 1


def test_unsigned_or_forged_return_reveals_no_token(make_server, epay):  # noqa: F811
    shop = start_shop(make_server, epay=epay)
    pid = shop.admin.product(price=300, keys=2)
    order = shop.order_ok(pid)
    shop.open_pay_url(order)
    bare = _return(shop, {"out_trade_no": order["order_no"]})
    forged = _return(shop, epay.notify_params(order["order_no"], sign_value="0" * 32))
    for location in (bare, forged):
        assert location == f"/shop/order?order_no={order['order_no']}"
        assert order["token"] not in location
    junk = _return(shop, {"out_trade_no": "../../etc/passwd"})
    assert junk == "/shop/order?order_no="


def test_malformed_query_on_order_view_is_400_even_with_the_cookie(make_server, epay):  # noqa: F811
    shop = start_shop(make_server, epay=epay)
    pid = shop.admin.product(price=300, keys=2)
    r = shop.srv.request("POST", "/api/orders", json={"product_id": pid, "quantity": 1,
                                                      "email": "c@example.com", "gateway": "epay"})
    assert r.status == 201
    no = r.json()["order_no"]
    bad = shop.srv.request("GET", f"/api/orders/{no}?%zz")  # the cookie jar sends cs_orders
    assert bad.status == 400 and bad.json()["error"]["code"] == "invalid_request"
    good = shop.srv.request("GET", f"/api/orders/{no}")
    assert good.status == 200 and good.json()["order_no"] == no
