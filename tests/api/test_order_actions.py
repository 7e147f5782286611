"""The merchant's order actions and order list in the admin: cancel, confirm-paid, refund and
resend in every status they allow and refuse, repeats, confirm-paid followed by the gateway's
real signed notify (no second key), the stock and the coupon use given back by a cancel, the
filtered list with totals, the CSV export (quoting, formula cells), the detail with its events
and masked keys, the keys in clear, audit rows, CSRF and sessions.

Each test runs its own shop (fake EPay gateway and SMTP sink); orders are made overdue by
moving their expiry into the past, and the server's own sweep expires them."""

import csv
import io
import time

import pytest

from fakes.fixtures import epay, sink  # noqa: F401 (pytest fixtures)
from fakes.shop_setup import error_of, make_keys, start_shop, wait_until

ALERT_TO = "alerts@example.com"
STATUSES = ("pending", "delivered", "paid", "paid_undelivered", "expired", "cancelled", "refunded")


@pytest.fixture
def shop(make_server, epay, sink):  # noqa: F811
    return start_shop(make_server, epay=epay, sink=sink,
                      shop={"pending_per_client": 1000, "alert_email": ALERT_TO})


# ---- helpers --------------------------------------------------------------------------------

def act(shop, order_no, action, note=None, **kw):
    body = {"note": note} if note is not None else None
    return shop.admin.call("POST", f"/api/admin/orders/{order_no}/{action}", json=body, **kw)


def act_ok(shop, order_no, action, note=None):
    r = act(shop, order_no, action, note)
    assert r.status == 200, r
    return r.json()


def audit(shop, order_no, action=None):
    rows = shop.rows("SELECT * FROM audit_log WHERE target = ? ORDER BY id", (order_no,))
    return [r for r in rows if action is None or r["action"] == action]


def snapshot(shop, order_no):
    """Everything an action may change for one order, to compare before and after."""
    return {
        "order": shop.order_row(order_no),
        "keys": shop.key_rows(order_no),
        "payments": shop.rows("SELECT p.* FROM payments p JOIN orders o ON o.id = p.order_id"
                              " WHERE o.order_no = ?", (order_no,)),
        "events": len(shop.events(order_no)),
        "jobs": len(shop.jobs()),
        "audit": len(audit(shop, order_no)),
        "stock": shop.rows("SELECT * FROM product_stock ORDER BY product_id"),
        "coupons": shop.rows("SELECT id, used, uses_left FROM coupons ORDER BY id"),
    }


def stock_counters_match(shop):
    """The trigger-kept counters equal the key rows (migration 0004's invariant)."""
    return shop.rows(
        "SELECT s.product_id FROM product_stock s WHERE"
        " s.available <> (SELECT count(*) FROM card_keys k WHERE k.product_id = s.product_id"
        "  AND k.status = 'available') OR"
        " s.reserved <> (SELECT count(*) FROM card_keys k WHERE k.product_id = s.product_id"
        "  AND k.status = 'reserved') OR"
        " s.sold <> (SELECT count(*) FROM card_keys k WHERE k.product_id = s.product_id"
        "  AND k.status = 'sold')") == []


def make_overdue(shop, *order_nos):
    """Moves the orders' expiry past the unreachable-gateway grace; the sweep expires them."""
    db = shop.srv.db()
    try:
        with db:
            for no in order_nos:
                db.execute("UPDATE orders SET expires_at = created_at - 600 WHERE order_no = ?", (no,))
    finally:
        db.close()
    for no in order_nos:
        shop.wait_status(no, "expired")


def paid_order(shop, pid, quantity=1, **kw):
    o = shop.order_ok(pid, quantity, **kw)
    assert shop.pay(o) == "success"
    return o


def order_in(shop, status, auto_pid, manual_pid, scarce_pid):
    """A new order in the given status, reached the way a shop reaches it."""
    if status == "pending":
        return shop.order_ok(auto_pid)
    if status == "delivered":
        return paid_order(shop, auto_pid)
    if status == "paid":
        return paid_order(shop, manual_pid)
    if status == "expired":
        o = shop.order_ok(auto_pid)
        make_overdue(shop, o["order_no"])
        return o
    if status == "cancelled":
        o = shop.order_ok(auto_pid)
        act_ok(shop, o["order_no"], "cancel")
        return o
    if status == "refunded":
        o = paid_order(shop, auto_pid)
        act_ok(shop, o["order_no"], "refund")
        return o
    if status == "paid_undelivered":
        shop.admin.add_keys(scarce_pid, make_keys(1, "SCARCE"))
        o = shop.order_ok(scarce_pid)
        shop.open_pay_url(o)
        make_overdue(shop, o["order_no"])
        shop.order_ok(scarce_pid)  # another buyer takes the key
        assert shop.epay.pay(o["order_no"]) == "success"
        return o
    raise AssertionError(status)


# What each action does from each status: "ok" moves the order, "repeat" answers 200 and
# changes nothing, 409 refuses.
EXPECTED = {
    "cancel": {"pending": "ok"},
    "confirm-paid": {"pending": "ok", "expired": "ok", "paid": "repeat", "delivered": "repeat",
                     "paid_undelivered": "repeat"},
    "refund": {"paid": "ok", "delivered": "ok", "paid_undelivered": "ok"},
    "resend": {"delivered": "ok"},
}
AFTER = {"cancel": "cancelled", "refund": "refunded", "resend": "delivered"}


def test_every_transition_allowed_and_refused(shop):
    auto = shop.admin.product("Auto", price=500, keys=60)
    manual = shop.admin.product("Manual", price=700, delivery="manual")
    scarce = shop.admin.product("Scarce", price=300)
    for action, allowed in EXPECTED.items():
        for status in STATUSES:
            o = order_in(shop, status, auto, manual, scarce)
            no = o["order_no"]
            assert shop.status(no) == status
            before = snapshot(shop, no)
            r = act(shop, no, action, note=f"{action} from {status}")
            want = allowed.get(status, 409)
            if want == 409:
                assert r.status == 409, (action, status, r)
                assert error_of(r)["code"] == "conflict"
                assert status in error_of(r)["message"]
                assert snapshot(shop, no) == before, (action, status)
                continue
            assert r.status == 200, (action, status, r)
            body = r.json()
            assert body["order_no"] == no
            if want == "repeat":
                assert body["outcome"] == "repeat" and body["status"] == status
                assert snapshot(shop, no) == before, (action, status)
                continue
            if action == "confirm-paid":
                assert body["outcome"] in ("delivered", "paid", "paid_undelivered")
                assert body["status"] == body["outcome"]
            else:
                assert body["status"] == AFTER[action], (action, status, body)
            assert shop.status(no) == body["status"]
            rows = audit(shop, no, "order." + action.replace("-", "_"))
            assert len(rows) == 1, (action, status, rows)
            assert f'"note":"{action} from {status}"' in rows[0]["detail"]
            assert f'"from":"{status}"' in rows[0]["detail"]
            assert rows[0]["username"] == "shopadmin" and rows[0]["ip"] == "127.0.0.1"
    assert stock_counters_match(shop)


def test_unknown_order_is_404_for_every_action(shop):
    for action in ("cancel", "confirm-paid", "refund", "resend"):
        r = act(shop, "20990101deadbeefdeadbeef", action, note="x")
        assert r.status == 404 and error_of(r)["code"] == "not_found", (action, r)
    for path in ("", "/keys"):
        r = shop.admin.call("GET", f"/api/admin/orders/20990101deadbeefdeadbeef{path}")
        assert r.status == 404, r
    assert shop.rows("SELECT * FROM audit_log WHERE action LIKE 'order.%'") == []


def test_cancel_gives_keys_back_to_stock_and_the_coupon_use(shop):
    pid = shop.admin.product("Cancel me", price=1000, keys=3)
    shop.admin.coupon("ONCE", "fixed", 200, uses=1)
    o = shop.order_ok(pid, 2, coupon="ONCE")
    assert o["amount"] == 1800
    assert shop.stock(pid) == 1
    assert shop.rows("SELECT used, uses_left FROM coupons") == [{"used": 1, "uses_left": 0}]
    # The one use is taken: nobody else gets it meanwhile.
    r = shop.order(pid, 1, email="other@example.com", coupon="ONCE")
    assert r.status == 422, r

    view = act_ok(shop, o["order_no"], "cancel", note="buyer asked by mail")
    assert view["status"] == "cancelled" and view["cancelled_at"]
    assert shop.stock(pid) == 3  # the catalog snapshot follows at once
    assert shop.key_rows(o["order_no"]) == []
    assert shop.value("SELECT count(*) FROM card_keys WHERE status = 'available'") == 3
    assert shop.rows("SELECT available, reserved, sold FROM product_stock WHERE product_id = ?",
                     (pid,)) == [{"available": 3, "reserved": 0, "sold": 0}]
    assert stock_counters_match(shop)
    assert shop.rows("SELECT used, uses_left FROM coupons") == [{"used": 0, "uses_left": 1}]
    (row,) = audit(shop, o["order_no"], "order.cancel")
    assert '"note":"buyer asked by mail"' in row["detail"] and '"keys_released":2' in row["detail"]
    # The buyer's view says so; the coupon and the keys serve the next buyer.
    assert shop.view_ok(o)["status"] == "cancelled"
    other = shop.order_ok(pid, 3, email="other@example.com", coupon="ONCE")
    assert shop.pay(other) == "success"
    assert len(shop.view_ok(other)["keys"]) == 3
    # A repeat is refused and changes nothing.
    before = snapshot(shop, o["order_no"])
    r = act(shop, o["order_no"], "cancel")
    assert r.status == 409 and error_of(r)["code"] == "conflict"
    assert snapshot(shop, o["order_no"]) == before


def test_confirm_paid_then_the_gateway_notify_delivers_once(shop):
    keys = make_keys(3)
    pid = shop.admin.product("Confirm", price=1250, keys=keys)
    o = shop.order_ok(pid, 2)
    shop.open_pay_url(o)  # the buyer paid at the gateway; its notify is late
    no = o["order_no"]

    view = act_ok(shop, no, "confirm-paid", note="saw 25.00 in the Alipay app")
    assert view["outcome"] == "delivered" and view["status"] == "delivered"
    assert view["paid_at"] and view["delivered_at"]
    assert view["payment"]["gateway"] == "manual" and view["payment"]["amount"] == 2500
    assert len(view["keys"]) == 2 and all("****" in k["masked"] for k in view["keys"])
    assert [e["gateway"] for e in view["events"]] == ["manual"]
    assert view["events"][0]["outcome"] == "delivered" and view["events"][0]["verified"] is True
    assert "saw 25.00 in the Alipay app" in view["events"][0]["raw"]
    sold = shop.view_ok(o)["keys"]
    assert len(sold) == 2 and set(sold) <= set(keys)
    assert shop.stock(pid) == 1
    mail = shop.sink.wait_for(lambda m: no in m.subject, timeout=10)[0]
    assert all(k in mail.body for k in sold)
    (row,) = audit(shop, no, "order.confirm_paid")
    assert '"outcome":"delivered"' in row["detail"] and '"from":"pending"' in row["detail"]

    # A second click: 200, nothing changes.
    before = snapshot(shop, no)
    again = act_ok(shop, no, "confirm-paid", note="clicked twice")
    assert again["outcome"] == "repeat" and again["status"] == "delivered"
    assert snapshot(shop, no) == before

    # The gateway's real, signed notify arrives: a repeat (success), no second key or payment,
    # no duplicate-payment alert.
    assert shop.epay.pay(no) == "success"
    ev = shop.events(no)[-1]
    assert ev["gateway"] == "epay" and ev["verified"] == 1 and ev["outcome"].startswith("repeat"), ev
    after = snapshot(shop, no)
    assert after["order"] == before["order"] and after["keys"] == before["keys"]
    assert after["payments"] == before["payments"] and after["stock"] == before["stock"]
    assert after["jobs"] == before["jobs"], shop.jobs()
    assert shop.view_ok(o)["keys"] == sold
    assert shop.value("SELECT count(*) FROM card_keys WHERE status = 'sold'") == 2
    time.sleep(1.0)
    assert shop.sink.matching(lambda m: ALERT_TO in m.rcpt_tos) == []
    assert len(shop.sink.matching(lambda m: no in m.subject)) == 1
    # The gateway's trade number finds the order although the payment row is the manual one.
    trade = shop.epay.order(no).trade_no
    r = shop.admin.call("GET", f"/api/admin/orders?q={trade}")
    assert [x["order_no"] for x in r.json()["orders"]] == [no]


def test_confirm_paid_of_an_expired_order_takes_free_keys_or_waits(make_server, epay, sink):  # noqa: F811
    shop = start_shop(make_server, epay=epay, sink=sink, shop={"alert_email": ALERT_TO})
    pid = shop.admin.product("Late", price=990, keys=3)
    shop.admin.coupon("HALF", "percent", 50, uses=1)
    late = shop.order_ok(pid, 2, coupon="HALF")
    starved = shop.order_ok(pid, 1, email="starved@example.com")
    make_overdue(shop, late["order_no"], starved["order_no"])
    assert shop.stock(pid) == 3
    assert shop.rows("SELECT used FROM coupons") == [{"used": 0}]  # expiry gave it back

    view = act_ok(shop, late["order_no"], "confirm-paid", note="bank transfer")
    assert view["outcome"] == "delivered" and len(view["keys"]) == 2
    assert shop.stock(pid) == 1  # free keys taken: the public stock follows
    assert shop.rows("SELECT used FROM coupons") == [{"used": 1}]  # the buyer paid the discount
    shop.order_ok(pid, 1, email="third@example.com")  # takes the last key
    view = act_ok(shop, starved["order_no"], "confirm-paid", note="cash")
    assert view["outcome"] == "paid_undelivered" and view["keys"] == []
    shop.sink.wait_for(lambda m: ALERT_TO in m.rcpt_tos and starved["order_no"] in m.subject)
    assert stock_counters_match(shop)


def test_refund_keeps_keys_sold_and_resend_mails_again(shop):
    pid = shop.admin.product("Refund", price=800, keys=2)
    o = paid_order(shop, pid)
    no = o["order_no"]
    shop.sink.wait_for(lambda m: no in m.subject)
    key = shop.view_ok(o)["keys"][0]

    view = act_ok(shop, no, "resend", note="buyer lost the mail")
    assert view["status"] == "delivered"
    mails = shop.sink.wait_for(lambda m: no in m.subject, count=2)
    assert all(key in m.body for m in mails) and len(shop.jobs("order_mail")) == 2
    (row,) = audit(shop, no, "order.resend")
    assert '"note":"buyer lost the mail"' in row["detail"]

    view = act_ok(shop, no, "refund", note="refunded on the gateway")
    assert view["status"] == "refunded" and view["refunded_at"] and view["paid_at"]
    assert [k["status"] for k in shop.key_rows(no)] == ["sold"]
    assert shop.stock(pid) == 1
    assert shop.view_ok(o)["status"] == "refunded"
    r = act(shop, no, "resend")
    assert r.status == 409, r
    assert len(shop.jobs("order_mail")) == 2
    # A notify arriving for a refunded order changes nothing either.
    assert shop.epay.pay(no) == "success"
    assert shop.status(no) == "refunded"


def test_note_is_checked(shop):
    pid = shop.admin.product(price=100, keys=1)
    o = shop.order_ok(pid)
    for body, field in (({"note": 5}, "note"), ({"note": "x" * 501}, "note"), ({"other": "x"}, "other")):
        r = shop.admin.call("POST", f"/api/admin/orders/{o['order_no']}/cancel", json=body)
        assert r.status == 400 and field in error_of(r)["message"], (body, r)
    r = shop.admin.call("POST", f"/api/admin/orders/{o['order_no']}/cancel", body="note",
                        headers={"Content-Type": "text/plain"})
    assert r.status == 415, r
    assert shop.status(o["order_no"]) == "pending"
    # 500 characters (not bytes) is the limit.
    assert act(shop, o["order_no"], "cancel", note="退" * 500).status == 200


def test_sessions_and_csrf(shop):
    pid = shop.admin.product(price=100, keys=1)
    o = shop.order_ok(pid)
    no = o["order_no"]
    for action in ("cancel", "confirm-paid", "refund", "resend"):
        path = f"/api/admin/orders/{no}/{action}"
        r = shop.srv.request("POST", path, json={"note": "x"}, use_cookies=False)
        assert r.status == 401 and error_of(r)["code"] == "unauthorized", r
        r = shop.srv.request("POST", path, json={"note": "x"}, headers={"Cookie": shop.admin.cookie},
                             use_cookies=False)
        assert r.status == 403 and error_of(r)["code"] == "forbidden", r
        r = shop.srv.request("POST", path, json={"note": "x"}, use_cookies=False,
                             headers={"Cookie": shop.admin.cookie, "X-CSRF-Token": "0" * 64})
        assert r.status == 403, r
    for path in ("/api/admin/orders", "/api/admin/orders.csv", f"/api/admin/orders/{no}",
                 f"/api/admin/orders/{no}/keys"):
        r = shop.srv.request("GET", path, use_cookies=False)
        assert r.status == 401, (path, r)
    assert shop.status(no) == "pending"
    assert shop.rows("SELECT * FROM audit_log WHERE action LIKE 'order%'") == []


def test_detail_masks_keys_and_keys_are_shown_on_demand(shop):
    keys = ["ALPHA-1111-2222-3333", "BRAVO-4444-5555-6666"]
    pid = shop.admin.product("Detail", price=600, keys=keys)
    o = paid_order(shop, pid, 2)
    no = o["order_no"]
    r = shop.admin.call("GET", f"/api/admin/orders/{no}")
    assert r.status == 200, r
    d = r.json()
    assert d["status"] == "delivered" and d["email"] == "buyer@example.com"
    assert d["unit_price"] == 600 and d["amount"] == 1200 and d["quantity"] == 2
    assert d["payment"]["gateway"] == "epay" and d["payment"]["trade_no"] == d["trade_no"]
    assert [e["outcome"] for e in d["events"]] == ["delivered"]
    assert sorted(k["masked"] for k in d["keys"]) == ["ALPH****3333", "BRAV****6666"]
    assert not any(k in r.text for k in keys)
    assert d["history"] == []

    r = shop.admin.call("GET", f"/api/admin/orders/{no}/keys")
    assert r.status == 200 and r.headers["cache-control"] == "no-store", r
    assert sorted(r.json()["keys"]) == keys and r.json()["order_no"] == no
    (row,) = audit(shop, no, "order.keys_view")
    assert row["detail"] == '{"keys":2}' and row["username"] == "shopadmin"
    assert not any(k in row["detail"] for k in keys)
    # The detail's history lists it.
    d = shop.admin.call("GET", f"/api/admin/orders/{no}").json()
    assert [(h["action"], h["admin"]) for h in d["history"]] == [("order.keys_view", "shopadmin")]
    # An order with nothing delivered shows no key (its reserved one stays hidden).
    pending = shop.order_ok(shop.admin.product(price=100, keys=1))
    assert shop.admin.call("GET", f"/api/admin/orders/{pending['order_no']}/keys").json()["keys"] == []


# ---- the list: filters, search, totals --------------------------------------------------------

def listed(shop, **params):
    q = "&".join(f"{k}={v}" for k, v in params.items())
    r = shop.admin.call("GET", "/api/admin/orders" + (f"?{q}" if q else ""))
    assert r.status == 200, r
    return r.json()


def nos(answer):
    return [o["order_no"] for o in answer["orders"]]


def set_created(shop, order_no, when):
    db = shop.srv.db()
    try:
        with db:
            db.execute("UPDATE orders SET created_at = ? WHERE order_no = ?", (when, order_no))
    finally:
        db.close()


def test_filters_search_and_totals(shop):
    a = shop.admin.product("Alpha", price=1000, keys=10)
    b = shop.admin.product("Bravo", price=300, keys=10)
    o1 = paid_order(shop, a, 2, email="Carol.Buyer@Example.com")   # delivered, 2000
    o2 = shop.order_ok(a, 1, email="dave@example.org")              # pending, 1000
    o3 = paid_order(shop, b, 3, email="erin@example.net")           # delivered, 900
    o4 = shop.order_ok(b, 1, email="frank@example.net")             # cancelled, 300
    act_ok(shop, o4["order_no"], "cancel")
    o5 = shop.order_ok(b, 1, email="gina@example.net")              # confirmed by hand, 300
    act_ok(shop, o5["order_no"], "confirm-paid", note="seen")
    base = int(time.time()) - 10 * 86400
    for i, o in enumerate((o1, o2, o3, o4, o5)):
        set_created(shop, o["order_no"], base + i * 86400)

    everything = listed(shop)
    assert nos(everything) == [o["order_no"] for o in (o5, o4, o3, o2, o1)]
    assert everything["totals"] == {"count": 5, "amount": 4500, "paid_count": 3, "paid_amount": 3200}
    assert everything["page"] == 1
    first = everything["orders"][-1]
    assert first["email"] == "Carol.Buyer@Example.com" and first["product_name"] == "Alpha"
    assert first["trade_no"] == shop.epay.order(o1["order_no"]).trade_no

    assert nos(listed(shop, status="delivered")) == [o5["order_no"], o3["order_no"], o1["order_no"]]
    assert listed(shop, status="delivered")["totals"]["amount"] == 3200
    assert nos(listed(shop, product_id=a)) == [o2["order_no"], o1["order_no"]]
    assert nos(listed(shop, product_id=b, status="cancelled")) == [o4["order_no"]]
    assert nos(listed(shop, gateway="manual")) == [o5["order_no"]]
    assert len(nos(listed(shop, gateway="epay"))) == 5
    assert nos(listed(shop, gateway="stripe")) == []
    # Date range: both ends included.
    assert nos(listed(shop, **{"from": base + 86400, "to": base + 3 * 86400})) == \
        [o4["order_no"], o3["order_no"], o2["order_no"]]
    assert nos(listed(shop, **{"from": base + 4 * 86400})) == [o5["order_no"]]
    assert nos(listed(shop, to=base)) == [o1["order_no"]]
    r = listed(shop, **{"from": base + 86400, "to": base + 3 * 86400, "product_id": b})
    assert r["totals"] == {"count": 2, "amount": 1200, "paid_count": 1, "paid_amount": 900}
    # Free text: part of an order number, of an email (any case), a trade number.
    assert nos(listed(shop, q=o2["order_no"][-10:])) == [o2["order_no"]]
    assert nos(listed(shop, q="carol.buyer@example")) == [o1["order_no"]]
    assert nos(listed(shop, q="CAROL")) == [o1["order_no"]]
    assert nos(listed(shop, q="example.net")) == [o["order_no"] for o in (o5, o4, o3)]
    assert nos(listed(shop, q=shop.epay.order(o3["order_no"]).trade_no)) == [o3["order_no"]]
    assert nos(listed(shop, q="nothing-like-this")) == []
    assert listed(shop, q="nothing-like-this")["totals"] == {"count": 0, "amount": 0, "paid_count": 0,
                                                              "paid_amount": 0}
    # Characters with a meaning in SQL LIKE are plain text.
    assert nos(listed(shop, q="%25")) == [] and nos(listed(shop, q="_")) == []

    for params, field in (({"status": "shipped"}, "status"), ({"product_id": "x"}, "product_id"),
                          ({"from": "-1"}, "from"), ({"to": "soon"}, "to"),
                          ({"from": base + 10, "to": base}, "from"), ({"q": "x" * 255}, "q")):
        q = "&".join(f"{k}={v}" for k, v in params.items())
        r = shop.admin.call("GET", f"/api/admin/orders?{q}")
        assert r.status == 400 and field in error_of(r)["message"], (params, r)


def test_list_pages_with_totals_of_the_whole_filter(shop):
    pid = shop.admin.product("Many", price=100)
    db = shop.srv.db()
    try:
        with db:
            for i in range(60):
                db.execute("INSERT INTO orders (order_no, product_id, quantity, unit_price, amount, currency,"
                           " email, gateway, status, created_at, expires_at)"
                           " VALUES (?, ?, 1, 100, 100, 'CNY', 'bulk@example.com', 'epay', 'expired', ?, ?)",
                           (f"bulk{i:04d}", pid, 1000 + i, 2000 + i))
    finally:
        db.close()
    p1 = listed(shop, q="bulk")
    p2 = listed(shop, q="bulk", page=2)
    assert len(p1["orders"]) == 50 and len(p2["orders"]) == 10 and p2["page"] == 2
    assert p1["totals"] == p2["totals"] == {"count": 60, "amount": 6000, "paid_count": 0, "paid_amount": 0}
    assert set(nos(p1)).isdisjoint(nos(p2))


# ---- CSV ------------------------------------------------------------------------------------

def test_csv_export_quotes_and_defuses_formulas(shop):
    name = '=HYPERLINK("http://evil.example/?x=1","click"), 50%'
    pid = shop.admin.product(name, price=1234, keys=5)
    other = shop.admin.product("-2+3", price=100, keys=5)
    o1 = paid_order(shop, pid, 1, email="=cmd|calc@example.com")
    o2 = shop.order_ok(pid, 2, email="+plus@example.com")
    o3 = shop.order_ok(other, 1, email="plain@example.com")

    r = shop.admin.call("GET", "/api/admin/orders.csv")
    assert r.status == 200, r
    assert r.headers["content-type"].startswith("text/csv")
    assert r.headers["content-disposition"] == 'attachment; filename="orders.csv"'
    raw = r.body
    assert raw.startswith(b"\xef\xbb\xbf")
    assert b"\r\n" in raw and raw.endswith(b"\r\n")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline="")))
    header, data = rows[0], rows[1:]
    assert header[:3] == ["order_no", "status", "created_at"]
    by_no = {row[0]: dict(zip(header, row)) for row in data}
    assert list(by_no) == [o3["order_no"], o2["order_no"], o1["order_no"]]
    a = by_no[o1["order_no"]]
    assert a["product"] == "'" + name  # quoted (comma, quotes) and defused
    assert a["email"] == "'=cmd|calc@example.com"
    assert a["status"] == "delivered" and a["amount"] == "12.34" and a["unit_price"] == "12.34"
    assert a["quantity"] == "1" and a["currency"] == "CNY"
    assert a["trade_no"] == shop.epay.order(o1["order_no"]).trade_no
    assert a["created_at"].endswith("Z") and a["paid_at"] and a["delivered_at"]
    assert by_no[o2["order_no"]]["email"] == "'+plus@example.com"
    assert by_no[o2["order_no"]]["amount"] == "24.68" and by_no[o2["order_no"]]["paid_at"] == ""
    assert by_no[o3["order_no"]]["product"] == "'-2+3"
    assert by_no[o3["order_no"]]["email"] == "plain@example.com"
    # The raw bytes: a quoted cell doubles its quotes.
    assert b'"\'=HYPERLINK(""http://evil.example/?x=1"",""click""), 50%"' in raw

    # The same filters as the list; each export is in the audit log.
    r = shop.admin.call("GET", f"/api/admin/orders.csv?status=pending&product_id={pid}")
    rows = list(csv.reader(io.StringIO(r.body.decode("utf-8-sig"), newline="")))
    assert [row[0] for row in rows[1:]] == [o2["order_no"]]
    r = shop.admin.call("GET", "/api/admin/orders.csv?status=bogus")
    assert r.status == 400, r
    exports = shop.rows("SELECT * FROM audit_log WHERE action = 'orders.export' ORDER BY id")
    assert len(exports) == 2
    assert '"rows":3' in exports[0]["detail"]
    assert '"rows":1' in exports[1]["detail"] and '"status":"pending"' in exports[1]["detail"]
    assert f'"product_id":{pid}' in exports[1]["detail"]


def test_cancel_gives_back_every_coupon_use_the_order_took(shop):
    # A use is one discounted unit: an order of three took three, and cancelling gives three back.
    pid = shop.admin.product("Multi", price=1000, keys=4)
    shop.admin.coupon("MULTI", "fixed", 100, uses=5)
    o = shop.order_ok(pid, 3, coupon="MULTI")
    assert o["amount"] == 2700
    assert shop.rows("SELECT used, uses_left FROM coupons") == [{"used": 3, "uses_left": 2}]
    act_ok(shop, o["order_no"], "cancel")
    assert shop.rows("SELECT used, uses_left FROM coupons") == [{"used": 0, "uses_left": 5}]
