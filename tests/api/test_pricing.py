"""Pricing: wholesale tiers at each boundary, POST /api/orders/quote priced by the order's own
code (same amounts, same errors, no write), coupons' max_discount and rounding, the merchant's
coupon edits (list, PATCH, DELETE only when unused), quantities outside the limits refused, and
hidden categories hiding their products."""

import time

import pytest

from fakes.fixtures import epay  # noqa: F401 (pytest fixture)
from fakes.shop_setup import error_of, start_shop

TIERS = [{"min_qty": 5, "unit_price": 900}, {"min_qty": 10, "unit_price": 800}]


@pytest.fixture
def shop(make_server, epay):  # noqa: F811
    return start_shop(make_server, epay=epay)


def quote(shop, product_id, quantity=1, gateway="epay", **extra):
    body = {"product_id": product_id, "quantity": quantity, "gateway": gateway, **extra}
    return shop.srv.request("POST", "/api/orders/quote", json=body, use_cookies=False)


def quote_ok(shop, product_id, quantity=1, **extra):
    r = quote(shop, product_id, quantity, **extra)
    assert r.status == 200, r
    q = r.json()
    assert set(q) == {"unit_price", "quantity", "subtotal", "discount", "amount", "currency",
                      "coupon_units"}, q
    assert 0 <= q["coupon_units"] <= q["quantity"], q
    assert q["subtotal"] == q["unit_price"] * q["quantity"] and q["amount"] == q["subtotal"] - q["discount"], q
    return q


def coupon_of(shop, code):
    rows = shop.rows("SELECT * FROM coupons WHERE code = ?", (code,))
    assert len(rows) == 1, rows
    return rows[0]


def test_tiers_apply_from_each_min_qty(shop):
    pid = shop.admin.product(price=1000, max_qty=20, keys=60, tiers=TIERS)
    want = {1: 1000, 4: 1000, 5: 900, 6: 900, 9: 900, 10: 800, 11: 800, 20: 800}
    for qty, unit in want.items():
        q = quote_ok(shop, pid, qty)
        assert (q["unit_price"], q["subtotal"], q["discount"]) == (unit, unit * qty, 0), (qty, q)
        assert q["currency"] == "CNY"
    for qty in (4, 5, 10):
        o = shop.order_ok(pid, qty)
        row = shop.order_row(o["order_no"])
        assert row["unit_price"] == want[qty] and o["amount"] == want[qty] * qty, (qty, row)
    # Tiers are part of the product in the shop's views (from memory) and the admin's.
    assert shop.srv.request("GET", f"/api/products/{pid}").json()["tiers"] == TIERS
    listed = [p for p in shop.srv.request("GET", "/api/products").json()["products"] if p["id"] == pid]
    assert listed[0]["tiers"] == TIERS
    assert shop.admin.call("GET", f"/api/admin/products/{pid}").json()["tiers"] == TIERS


def test_tier_edits(shop):
    pid = shop.admin.product(price=1000, keys=10)
    assert shop.srv.request("GET", f"/api/products/{pid}").json()["tiers"] == []
    shop.admin.patch_product(pid, tiers=[{"min_qty": 2, "unit_price": 700}])
    assert quote_ok(shop, pid, 2)["unit_price"] == 700
    shop.admin.patch_product(pid, name="Renamed")  # a change without tiers keeps them
    assert shop.srv.request("GET", f"/api/products/{pid}").json()["tiers"] == [{"min_qty": 2, "unit_price": 700}]
    shop.admin.patch_product(pid, tiers=[])
    assert quote_ok(shop, pid, 2)["unit_price"] == 1000
    assert shop.value("SELECT count(*) FROM product_tiers") == 0
    audit = shop.value("SELECT count(*) FROM audit_log WHERE action = 'product.update'"
                       " AND detail LIKE '%tiers%'")
    assert audit == 2
    # A product never ordered is deleted with its tiers.
    gone = shop.admin.product(price=1000, tiers=TIERS)
    r = shop.admin.call("DELETE", f"/api/admin/products/{gone}")
    assert r.status == 200 and r.json()["deleted"] is True, r
    assert shop.value("SELECT count(*) FROM product_tiers WHERE product_id = ?", (gone,)) == 0


@pytest.mark.parametrize("tiers", [
    "cheap",
    [{"min_qty": 5, "unit_price": 900}, {"min_qty": 5, "unit_price": 800}],
    [{"min_qty": 10, "unit_price": 800}, {"min_qty": 5, "unit_price": 900}],
    [{"min_qty": 0, "unit_price": 900}],
    [{"min_qty": 2, "unit_price": -1}],
    [{"min_qty": 2, "unit_price": 1000000001}],
    [{"min_qty": 2, "unit_price": "9"}],
    [{"min_qty": 2}],
    [{"min_qty": 2, "unit_price": 1, "note": "x"}],
    [7],
    [{"min_qty": i + 1, "unit_price": 100} for i in range(21)],
])
def test_bad_tiers_are_refused_naming_tiers(shop, tiers):
    r = shop.admin.call("POST", "/api/admin/products", json={"name": "T", "price": 1000, "tiers": tiers})
    assert r.status == 400 and error_of(r)["message"].startswith("tiers"), r
    assert shop.value("SELECT count(*) FROM products") == 0
    pid = shop.admin.product(price=1000)
    r = shop.admin.call("PATCH", f"/api/admin/products/{pid}", json={"tiers": tiers})
    assert r.status == 400 and error_of(r)["message"].startswith("tiers"), r
    assert shop.value("SELECT count(*) FROM product_tiers") == 0


def test_twenty_tiers_are_taken(shop):
    tiers = [{"min_qty": i + 1, "unit_price": 1000 - i} for i in range(20)]
    pid = shop.admin.product(price=1000, tiers=tiers, max_qty=30, keys=25)
    assert quote_ok(shop, pid, 25)["unit_price"] == 981


def test_quote_equals_the_order_for_many_combinations(shop):
    pid = shop.admin.product(price=999, max_qty=12, keys=400, tiers=TIERS)
    shop.admin.coupon("P10", "percent", 10)
    shop.admin.coupon("P33", "percent", 33)
    shop.admin.coupon("P33CAP", "percent", 33, max_discount=250)
    shop.admin.coupon("F150", "fixed", 150)
    shop.admin.coupon("F5000", "fixed", 5000)  # more than a unit: at most the unit
    shop.admin.coupon("LIMIT3", "percent", 50, uses=3)  # covers 3 units in all
    seen = 0
    for coupon in [None, "P10", "P33", "P33CAP", "F150", "F5000", "LIMIT3", "limit3"]:
        for qty in (1, 2, 4, 5, 9, 10, 12):
            extra = {"coupon": coupon} if coupon else {}
            q = quote(shop, pid, qty, **extra)
            o = shop.order(pid, qty, **extra)
            if q.status != 200:  # LIMIT3 once it is used up: the same refusal from both
                assert (o.status, error_of(o)) == (q.status, error_of(q)), (coupon, qty, q, o)
                assert coupon.upper() == "LIMIT3" and error_of(q)["message"] == "coupon: used up"
                continue
            assert o.status == 201, (coupon, qty, o)
            q, o = q.json(), o.json()
            row = shop.order_row(o["order_no"])
            assert o["amount"] == q["amount"] == row["amount"], (coupon, qty, q, o)
            assert (row["unit_price"], row["discount"]) == (q["unit_price"], q["discount"]), (coupon, qty)
            seen += 1
    assert seen == 6 * 7 + 2
    # 50 % off 3 units in all: the first order of 1 took one, the order of 2 took two.
    c = coupon_of(shop, "LIMIT3")
    assert (c["used"], c["uses_left"]) == (3, 0), c


def test_coupon_rounding_and_max_discount(shop):
    pid = shop.admin.product(price=999, max_qty=5, keys=20)
    shop.admin.coupon("P33", "percent", 33)
    shop.admin.coupon("CAP", "percent", 33, max_discount=200)
    shop.admin.coupon("FIX", "fixed", 1500)
    shop.admin.coupon("FIXCAP", "fixed", 600, max_discount=100)
    # 33 % of 9.99 is 3.2967: rounded down per unit (the merchant never gives more).
    assert quote_ok(shop, pid, 1, coupon="P33")["discount"] == 329
    assert quote_ok(shop, pid, 3, coupon="P33")["discount"] == 987
    assert quote_ok(shop, pid, 3, coupon="CAP")["discount"] == 600  # 200 a unit at most
    assert quote_ok(shop, pid, 2, coupon="FIX")["discount"] == 1998  # never below zero
    assert quote_ok(shop, pid, 2, coupon="FIXCAP")["discount"] == 200
    o = shop.order_ok(pid, 3, coupon="CAP")
    assert o["amount"] == 2997 - 600


def test_quote_writes_nothing_and_needs_no_email(shop):
    pid = shop.admin.product(price=1000, keys=5)
    shop.admin.coupon("ONCE", "percent", 100, uses=1)
    before = shop.value("SELECT total_changes()")  # noqa: F841 (a fresh connection: 0)
    for _ in range(3):
        q = quote_ok(shop, pid, 2, coupon="ONCE")
        assert (q["discount"], q["amount"], q["coupon_units"]) == (1000, 1000, 1), q  # one unit covered
    assert quote_ok(shop, pid, 1, email="someone@example.com")["amount"] == 1000
    assert shop.value("SELECT count(*) FROM orders") == 0
    c = coupon_of(shop, "ONCE")
    assert (c["used"], c["uses_left"]) == (0, 1), c
    assert shop.stock(pid) == 5


def test_quote_errors_are_the_orders_errors(shop):
    pid = shop.admin.product(price=1000, max_qty=3, keys=5)
    gone = shop.admin.product(price=1000, keys=1, active=False)
    few = shop.admin.product(price=1000, keys=2)
    cat = shop.admin.call("POST", "/api/admin/categories", json={"name": "Hidden"}).json()["id"]
    hidden = shop.admin.product(price=1000, keys=1, category_id=cat)
    shop.admin.call("PATCH", f"/api/admin/categories/{cat}", json={"active": False})
    now = int(time.time())
    shop.admin.coupon("OLD", "percent", 10, expires_at=now - 10)
    shop.admin.coupon("OFF", "percent", 10)
    off = coupon_of(shop, "OFF")["id"]
    assert shop.admin.call("PATCH", f"/api/admin/coupons/{off}", json={"active": False}).status == 200
    shop.admin.coupon("OTHER", "percent", 10, product_id=gone)
    cases = [
        ((pid, 4), {}, 400, "quantity"),
        ((pid, 0), {}, 400, "quantity"),
        ((999999, 1), {}, 404, None),
        ((gone, 1), {}, 404, None),
        ((hidden, 1), {}, 404, None),
        ((pid, 1), {"coupon": "NOPE"}, 422, "coupon: unknown code"),
        ((pid, 1), {"coupon": "OFF"}, 422, "coupon: unknown code"),  # disabled = unknown
        ((pid, 1), {"coupon": "OLD"}, 422, "coupon: expired"),
        ((pid, 1), {"coupon": "OTHER"}, 422, "coupon: not valid for this product"),
        ((pid, 1), {"gateway": "nope"}, 400, "gateway"),
        ((pid, "2"), {}, 400, "quantity"),
        ((pid, 1), {"surprise": 1}, 400, "surprise"),
        ((few, 3), {}, 409, "not enough keys"),
        ((few, 3), {"coupon": "NOPE"}, 422, "coupon: unknown code"),  # the coupon is judged first
    ]
    for (product, qty), extra, status, message in cases:
        q = quote(shop, product, qty, **extra)
        o = shop.order(product, qty, **extra)
        assert q.status == o.status == status, (product, qty, extra, q, o)
        assert error_of(q) == error_of(o), (extra, q, o)
        if message:
            assert error_of(q)["message"].startswith(message), q
    assert shop.value("SELECT count(*) FROM orders") == 0


def test_quantity_outside_the_limits_is_refused_not_changed(make_server, epay):  # noqa: F811
    shop = start_shop(make_server, epay=epay, shop={"default_max_qty": 4})
    capped = shop.admin.product(price=100, min_qty=2, max_qty=3, keys=20)
    default = shop.admin.product(price=100, keys=20)
    for pid, qty, text in [(capped, 4, "from 2 to 3"), (capped, 1, "from 2 to 3"),
                           (default, 5, "from 1 to 4"), (default, 100000, "from 1 to 4")]:
        r = shop.order(pid, qty)
        err = error_of(r)
        assert r.status == 400 and err["code"] == "invalid_request", r
        assert err["message"] == f"quantity: must be {text}", err
    assert shop.value("SELECT count(*) FROM orders") == 0
    assert shop.order_ok(capped, 3)["amount"] == 300
    assert shop.order_ok(default, 4)["amount"] == 400


def test_one_use_full_coupon_gives_one_key_not_the_stock(shop):
    """The finding: a one-use 100 % code delivered a whole stock of 9 keys."""
    pid = shop.admin.product(price=1000, keys=9)
    shop.admin.coupon("FREE1", "percent", 100, uses=1)
    o = shop.order_ok(pid, 9, coupon="FREE1")
    assert (o["amount"], o["status"]) == (8000, "pending"), o  # one key free, eight to pay
    row = shop.order_row(o["order_no"])
    assert (row["discount"], row["coupon_uses"]) == (1000, 1), row
    c = coupon_of(shop, "FREE1")
    assert (c["used"], c["uses_left"]) == (1, 0), c
    assert shop.value("SELECT count(*) FROM card_keys WHERE status = 'sold'") == 0


def test_admin_coupon_list_patch_delete(shop):
    pid = shop.admin.product(price=1000, keys=10)
    cid = shop.admin.coupon("LEAKED", "percent", 100, uses=5, product_id=pid)
    spare = shop.admin.coupon("SPARE", "fixed", 100, max_discount=50)
    r = shop.admin.call("GET", "/api/admin/coupons")
    assert r.status == 200
    by_code = {c["code"]: c for c in r.json()["coupons"]}
    assert by_code["LEAKED"] == {"id": cid, "code": "LEAKED", "kind": "percent", "value": 100,
                                 "uses": 5, "used": 0, "uses_left": 5, "active": True,
                                 "expires_at": None, "product_id": pid, "max_discount": None}
    assert by_code["SPARE"]["uses"] is None and by_code["SPARE"]["max_discount"] == 50

    shop.order_ok(pid, 2, coupon="LEAKED")  # takes two uses
    # The leak is stopped: refused like an unknown code, by the order and the quote alike.
    r = shop.admin.call("PATCH", f"/api/admin/coupons/{cid}", json={"active": False})
    assert r.status == 200 and r.json()["active"] is False and r.json()["used"] == 2, r
    for resp in (shop.order(pid, 1, coupon="LEAKED"), quote(shop, pid, 1, coupon="LEAKED")):
        assert resp.status == 422 and error_of(resp)["message"] == "coupon: unknown code", resp
    r = shop.admin.call("PATCH", f"/api/admin/coupons/{cid}",
                        json={"active": True, "uses": 3, "max_discount": 300})
    assert r.status == 200 and (r.json()["uses"], r.json()["uses_left"]) == (3, 1), r
    assert quote_ok(shop, pid, 2, coupon="LEAKED")["discount"] == 300  # one unit, capped
    r = shop.admin.call("PATCH", f"/api/admin/coupons/{cid}", json={"uses": None, "max_discount": None})
    assert r.status == 200 and r.json()["uses"] is None and r.json()["uses_left"] is None, r
    assert quote_ok(shop, pid, 2, coupon="LEAKED")["amount"] == 0
    r = shop.admin.call("PATCH", f"/api/admin/coupons/{cid}", json={"expires_at": int(time.time()) - 1})
    assert r.status == 200
    assert error_of(quote(shop, pid, 1, coupon="LEAKED"))["message"] == "coupon: expired"

    for body, field in [({"uses": 1}, "uses"), ({"code": "NEW"}, "code"), ({"value": 5}, "value"),
                        ({"active": "no"}, "active"), ({"max_discount": 0}, "max_discount"),
                        ({"expires_at": "soon"}, "expires_at"), ({}, "body")]:
        r = shop.admin.call("PATCH", f"/api/admin/coupons/{cid}", json=body)
        assert r.status == 400 and error_of(r)["message"].startswith(field), (body, r)
    assert shop.admin.call("PATCH", "/api/admin/coupons/999999", json={"active": False}).status == 404
    r = shop.srv.request("PATCH", f"/api/admin/coupons/{cid}", json={"active": False},
                         headers={"Cookie": shop.admin.cookie}, use_cookies=False)
    assert r.status == 403  # no CSRF token

    r = shop.admin.call("DELETE", f"/api/admin/coupons/{cid}")
    assert r.status == 409 and error_of(r)["code"] == "conflict", r
    assert shop.admin.call("DELETE", f"/api/admin/coupons/{spare}").status == 200
    assert shop.admin.call("DELETE", f"/api/admin/coupons/{spare}").status == 404
    codes = [c["code"] for c in shop.admin.call("GET", "/api/admin/coupons").json()["coupons"]]
    assert codes == ["LEAKED"]
    actions = [r["action"] for r in shop.rows("SELECT action FROM audit_log WHERE target LIKE 'coupon:%'"
                                              " ORDER BY id")]
    assert actions == ["coupon.create", "coupon.create", "coupon.update", "coupon.update",
                       "coupon.update", "coupon.update", "coupon.delete"], actions


def test_a_used_then_expired_coupon_still_cannot_be_deleted(make_server, epay):  # noqa: F811
    shop = start_shop(make_server, epay=epay, shop={"order_ttl": 1})
    pid = shop.admin.product(price=1000, keys=5)
    cid = shop.admin.coupon("BRIEF", "percent", 10, uses=4)
    o = shop.order_ok(pid, 3, coupon="BRIEF")
    shop.wait_status(o["order_no"], "expired", timeout=8)
    c = coupon_of(shop, "BRIEF")
    assert (c["used"], c["uses_left"]) == (0, 4), c  # all three uses given back
    r = shop.admin.call("DELETE", f"/api/admin/coupons/{cid}")
    assert r.status == 409, r  # an order still names it: disable instead


def test_hidden_category_hides_its_products(shop):
    cat = shop.admin.call("POST", "/api/admin/categories", json={"name": "Seasonal"}).json()["id"]
    inside = shop.admin.product(name="Inside", price=500, keys=3, category_id=cat)
    outside = shop.admin.product(name="Outside", price=500, keys=3)

    def listed():
        return {p["id"] for p in shop.srv.request("GET", "/api/products").json()["products"]}

    assert listed() == {inside, outside}
    r = shop.admin.call("PATCH", f"/api/admin/categories/{cat}", json={"active": False})
    assert r.status == 200
    assert listed() == {outside}
    assert shop.srv.request("GET", f"/api/products?category_id={cat}").json()["products"] == []
    r = shop.srv.request("GET", f"/api/products/{inside}")
    assert r.status == 404 and error_of(r)["code"] == "not_found"
    r = shop.order(inside, 1)
    assert r.status == 404 and error_of(r)["code"] == "not_found", r
    assert quote(shop, inside, 1).status == 404
    assert shop.value("SELECT count(*) FROM orders") == 0
    # The merchant still sees and edits it.
    admin_ids = {p["id"] for p in shop.admin.call("GET", "/api/admin/products").json()["products"]}
    assert inside in admin_ids
    assert cat not in {c["id"] for c in shop.srv.request("GET", "/api/categories").json()["categories"]}
    shop.admin.call("PATCH", f"/api/admin/categories/{cat}", json={"active": True})
    assert listed() == {inside, outside}
    assert shop.order_ok(inside, 1)["amount"] == 500


def test_quote_has_its_own_rate_limit(make_server, epay):  # noqa: F811
    """Three times the orders' budget a minute (the page asks as the buyer types), never the
    orders' own: quoting does not use up the buyer's orders."""
    shop = start_shop(make_server, epay=epay, server={"rate_limit": 2})
    pid = shop.admin.product(price=1000, keys=5)
    for _ in range(6):
        assert quote(shop, pid, 1).status == 200
    r = quote(shop, pid, 1)
    assert r.status == 429 and error_of(r)["code"] == "rate_limited" and r.headers.get("retry-after"), r
    assert shop.order(pid, 1).status == 201
