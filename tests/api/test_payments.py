"""Payment callbacks: the EPay notify against the fake gateway (verification, exactly-once
delivery under concurrent repeats, rejections that change nothing, late payments after expiry,
trade numbers reused or doubled) and the sandbox gateway's round trip through the jobs thread.

Every notify is checked in the reply text, the order, its keys, the payments table and the
payment_events audit rows."""

import threading
import time
import urllib.parse

import pytest

from fakes.fake_epay import FakeEPay, sign
from fakes.fixtures import epay, sink  # noqa: F401 (pytest fixtures)
from fakes.shop_setup import EPAY_KEY, EPAY_PID, error_of, make_keys, start_shop, wait_until

ALERT_TO = "merchant-alerts@example.com"


@pytest.fixture
def shop(make_server, epay, sink):  # noqa: F811
    return start_shop(make_server, epay=epay, sink=sink, server={"per_ip_connections": 1000}, threads=4)


def sold_keys(shop, order_no):
    return [k for k in shop.key_rows(order_no) if k["status"] == "sold"]


def assert_untouched(shop, o, quantity):
    """A rejected notify left the order pending with its keys still reserved, unpaid."""
    row = shop.order_row(o["order_no"])
    assert row["status"] == "pending" and row["paid_at"] is None, row
    keys = shop.key_rows(o["order_no"])
    assert len(keys) == quantity and all(k["status"] == "reserved" for k in keys), keys
    assert shop.value("SELECT count(*) FROM payments WHERE order_id = ?", (row["id"],)) == 0
    v = shop.view_ok(o)
    assert v["status"] == "pending" and not v.get("keys")


# ---- the happy path -------------------------------------------------------------------------

@pytest.mark.parametrize("method", ["GET", "POST"])
def test_verified_notify_delivers(shop, method):
    keys = make_keys(3)
    pid = shop.admin.product(price=1250, keys=keys)
    o = shop.order_ok(pid, 2)
    shop.open_pay_url(o)
    assert shop.epay.pay(o["order_no"], method=method) == "success"
    trade_no = shop.epay.order(o["order_no"]).trade_no

    row = shop.order_row(o["order_no"])
    assert row["status"] == "delivered" and row["paid_at"] and row["delivered_at"]
    pays = shop.rows("SELECT * FROM payments")
    assert len(pays) == 1
    assert pays[0]["order_id"] == row["id"] and pays[0]["gateway"] == "epay"
    assert pays[0]["trade_no"] == trade_no and pays[0]["amount"] == 2500
    assert len(sold_keys(shop, o["order_no"])) == 2
    v = shop.view_ok(o)
    assert v["status"] == "delivered" and len(v["keys"]) == 2 and set(v["keys"]) <= set(keys)
    assert shop.stock(pid) == 1
    ev = shop.events(o["order_no"])
    assert len(ev) == 1
    assert ev[0]["verified"] == 1 and ev[0]["outcome"] == "delivered"
    assert ev[0]["trade_no"] == trade_no and ev[0]["amount"] == 2500 and ev[0]["gateway"] == "epay"
    assert o["order_no"] in ev[0]["raw"] and "sign=" in ev[0]["raw"]  # stored verbatim
    # The gateway retries until it reads "success": a later repeat is answered the same way.
    assert shop.epay.pay(o["order_no"], method=method) == "success"
    assert shop.events(o["order_no"])[-1]["outcome"].startswith("repeat")
    assert shop.value("SELECT count(*) FROM payments") == 1
    assert shop.view_ok(o)["keys"] == v["keys"]


def test_forty_concurrent_repeats_deliver_exactly_once(shop):
    pid = shop.admin.product(price=990, keys=5)
    o = shop.order_ok(pid, 2)
    shop.open_pay_url(o)
    params = shop.epay.notify_params(o["order_no"])
    url = shop.epay.order(o["order_no"]).notify_url
    n = 40
    barrier = threading.Barrier(n)
    replies = [None] * n

    def send(i):
        barrier.wait()
        try:
            replies[i] = shop.epay.send_notify(url, params, method="GET" if i % 2 else "POST")
        except Exception as e:  # reported below
            replies[i] = e

    threads = [threading.Thread(target=send, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert replies == [(200, "success")] * n, replies

    row = shop.order_row(o["order_no"])
    assert row["status"] == "delivered"
    assert shop.value("SELECT count(*) FROM payments") == 1
    assert len(sold_keys(shop, o["order_no"])) == 2
    assert shop.value("SELECT count(*) FROM card_keys WHERE status = 'sold'") == 2
    assert shop.stock(pid) == 3
    ev = shop.events(o["order_no"])
    assert len(ev) == n
    outcomes = sorted(e["outcome"].split(":")[0] for e in ev)
    assert outcomes == ["delivered"] + ["repeat"] * (n - 1), outcomes
    # One delivery mail, however many notifies.
    shop.sink.wait_for(lambda m: o["order_no"] in m.subject, timeout=10)
    time.sleep(2.5)
    mails = shop.sink.matching(lambda m: o["order_no"] in m.subject)
    assert len(mails) == 1, mails
    assert len(shop.jobs("order_mail")) == 1


# ---- rejected notifies ----------------------------------------------------------------------

def _forged(params):
    s = dict(params)["sign"]
    return [(k, v if k != "sign" else ("0" if s[0] != "0" else "1") + s[1:]) for k, v in params]


def _bump_money(shop, o):
    """Correctly signed, for one fen more than the order."""
    return shop.epay.notify_params(o["order_no"], money="%.2f" % ((o["amount"] + 1) / 100))


def _bump_money_down(shop, o):
    return shop.epay.notify_params(o["order_no"], money="%.2f" % ((o["amount"] - 1) / 100))


def _repeated(params, name, value):
    """The signed parameters with `name` sent a second time (with value)."""
    out = list(params)
    out.append((name, value))
    return out


REJECTED = {
    "forged_sign": lambda shop, o: _forged(shop.epay.notify_params(o["order_no"])),
    "signed_with_wrong_key": lambda shop, o: shop.epay.notify_params(o["order_no"], key="not-the-key"),
    "money_one_fen_more": _bump_money,
    "money_one_fen_less": _bump_money_down,
    "wrong_pid": lambda shop, o: shop.epay.notify_params(o["order_no"], pid="1002"),
    "wait_buyer_pay": lambda shop, o: shop.epay.notify_params(o["order_no"], trade_status="WAIT_BUYER_PAY"),
    "trade_closed": lambda shop, o: shop.epay.notify_params(o["order_no"], trade_status="TRADE_CLOSED"),
    "missing_trade_status": lambda shop, o: shop.epay.notify_params(o["order_no"],
                                                                    overrides={"trade_status": None}),
    "missing_sign": lambda shop, o: [kv for kv in shop.epay.notify_params(o["order_no"]) if kv[0] != "sign"],
    "empty_sign": lambda shop, o: shop.epay.notify_params(o["order_no"], sign_value=""),
    "repeated_money": lambda shop, o: _repeated(shop.epay.notify_params(o["order_no"]), "money", "0.01"),
    "repeated_status": lambda shop, o: _repeated(shop.epay.notify_params(o["order_no"]), "trade_status",
                                                 "TRADE_SUCCESS"),
    "repeated_sign": lambda shop, o: _repeated(shop.epay.notify_params(o["order_no"]), "sign", "0" * 32),
    "missing_trade_no": lambda shop, o: shop.epay.notify_params(o["order_no"], overrides={"trade_no": None}),
    "money_not_a_number": lambda shop, o: shop.epay.notify_params(o["order_no"], money="9.9O"),
}


@pytest.mark.parametrize("method", ["GET", "POST"])
@pytest.mark.parametrize("case", sorted(REJECTED))
def test_rejected_notify_changes_nothing(shop, case, method):
    pid = shop.admin.product(price=990, keys=3)
    o = shop.order_ok(pid, 2)
    shop.open_pay_url(o)
    params = REJECTED[case](shop, o)
    status, body = shop.epay.send_notify(shop.epay.order(o["order_no"]).notify_url, params, method=method)
    assert (status, body) == (200, "fail"), (case, params)
    assert_untouched(shop, o, 2)
    assert shop.stock(pid) == 1
    ev = shop.events()
    assert len(ev) == 1, ev
    assert ev[0]["outcome"].startswith("rejected"), ev[0]
    assert ev[0]["gateway"] == "epay" and o["order_no"] in ev[0]["raw"]
    if case.startswith("money_one_fen"):
        assert ev[0]["verified"] == 1  # a genuine notify, but not for the order's amount
    else:
        assert ev[0]["verified"] == 0
    # The genuine notify still goes through afterwards.
    assert shop.epay.pay(o["order_no"], method=method) == "success"
    assert shop.status(o["order_no"]) == "delivered"


@pytest.mark.parametrize("extra", [{"param": ""}, {"param": "coupon=1&x=y"}, {"buyer": "b***@qq.com", "param": ""}],
                         ids=["empty_param", "param_with_text", "buyer_and_empty_param"])
def test_extra_and_empty_parameters_are_signed_as_the_protocol_says(shop, extra):
    """Real EPay gateways add fields (param, buyer): non-empty ones are in the signature, empty
    ones are left out of it."""
    pid = shop.admin.product(price=990, keys=1)
    o = shop.order_ok(pid)
    shop.open_pay_url(o)
    assert shop.epay.pay(o["order_no"], overrides=extra) == "success"
    assert shop.status(o["order_no"]) == "delivered"


def test_tampered_extra_parameter_fails(shop):
    pid = shop.admin.product(price=990, keys=1)
    o = shop.order_ok(pid)
    shop.open_pay_url(o)
    params = shop.epay.notify_params(o["order_no"], overrides={"param": "a"})
    params = [(k, "b" if k == "param" else v) for k, v in params]
    assert shop.epay.send_notify(shop.epay.order(o["order_no"]).notify_url, params) == (200, "fail")
    assert_untouched(shop, o, 1)


def test_notify_for_an_unknown_order_fails(shop):
    pid = shop.admin.product(price=990, keys=1)
    o = shop.order_ok(pid)
    shop.open_pay_url(o)
    params = [("pid", EPAY_PID), ("trade_no", "2026010112000012345"), ("out_trade_no", "20260101ffffffffffffffff"),
              ("type", "alipay"), ("name", "Test card"), ("money", "9.90"), ("trade_status", "TRADE_SUCCESS")]
    params += [("sign", sign(params, EPAY_KEY)), ("sign_type", "MD5")]
    url = shop.epay.order(o["order_no"]).notify_url
    for method in ("GET", "POST"):
        assert shop.epay.send_notify(url, params, method=method) == (200, "fail")
    ev = shop.events("20260101ffffffffffffffff")
    assert len(ev) == 2 and all(e["outcome"].startswith("rejected") for e in ev), ev
    assert shop.value("SELECT count(*) FROM payments") == 0
    assert_untouched(shop, o, 1)


def test_garbage_notifies_fail(shop):
    pid = shop.admin.product(price=990, keys=1)
    o = shop.order_ok(pid)
    shop.open_pay_url(o)
    url = shop.epay.order(o["order_no"]).notify_url
    for method, raw in [("GET", ""), ("POST", ""), ("GET", "%zz=1"), ("POST", "sign=&&&="),
                        ("POST", "out_trade_no=" + o["order_no"])]:
        assert shop.epay.send_notify(url, [], method=method, raw=raw) == (200, "fail"), (method, raw)
    assert_untouched(shop, o, 1)
    assert all(e["verified"] == 0 for e in shop.events())


def test_empty_configured_key_rejects_everything(make_server):
    """With no merchant key, anyone could sign: nothing may verify, not even a notify signed
    with the empty key. The shop also stops offering the gateway, so no new order is stranded."""
    gw = FakeEPay(pid=EPAY_PID, key=EPAY_KEY).start()
    try:
        shop = start_shop(make_server, epay=gw)
        pid = shop.admin.product(price=990, keys=2)
        o = shop.order_ok(pid)
        shop.open_pay_url(o)
        # The merchant key is removed from the configuration while the order is pending.
        port = shop.srv.port
        shop.srv.stop()
        shop.srv.extra_config["payment.epay"]["key"] = ""
        shop.srv.start(port=port)  # the gateway calls the notify URL it was given
        refused = shop.order(pid)
        assert refused.status == 400 and "gateway" in error_of(refused)["message"]
        assert shop.epay.pay(o["order_no"]) == "fail"
        assert shop.epay.pay(o["order_no"], method="POST") == "fail"
        assert shop.epay.pay(o["order_no"], key="") == "fail"
        assert shop.epay.pay(o["order_no"], trade_no="T-OTHER-1", key="") == "fail"
        assert_untouched(shop, o, 1)
        ev = shop.events()
        assert len(ev) == 4, ev
        assert all(e["verified"] == 0 and e["outcome"].startswith("rejected") for e in ev), ev
    finally:
        gw.stop()


def test_trade_no_of_another_order_fails(shop):
    pid = shop.admin.product(price=990, keys=3)
    a, b = shop.order_ok(pid), shop.order_ok(pid)
    assert shop.pay(a) == "success"
    trade = shop.epay.order(a["order_no"]).trade_no
    shop.open_pay_url(b)
    for method in ("GET", "POST"):
        assert shop.epay.pay(b["order_no"], trade_no=trade, method=method) == "fail"
    assert_untouched(shop, b, 1)
    assert shop.status(a["order_no"]) == "delivered"
    assert [p["trade_no"] for p in shop.rows("SELECT trade_no FROM payments")] == [trade]
    assert all(e["outcome"].startswith("rejected") for e in shop.events(b["order_no"]))
    # b's own trade is still welcome.
    assert shop.epay.pay(b["order_no"], trade_no="T-B-OWN-1") == "success"
    assert shop.status(b["order_no"]) == "delivered"


def test_second_trade_for_a_delivered_order_is_acknowledged_but_delivers_nothing(make_server, epay, sink):  # noqa: F811
    shop = start_shop(make_server, epay=epay, sink=sink, shop={"alert_email": ALERT_TO})
    pid = shop.admin.product(price=990, keys=4)
    o = shop.order_ok(pid, 2)
    assert shop.pay(o, trade_no="T-FIRST-0001") == "success"
    first = shop.view_ok(o)
    assert first["status"] == "delivered" and len(first["keys"]) == 2

    # The buyer paid twice: the gateway took the money, so it must hear "success".
    assert shop.epay.pay(o["order_no"], trade_no="T-SECOND-0002") == "success"
    again = shop.view_ok(o)
    assert again["status"] == "delivered" and again["keys"] == first["keys"]
    assert shop.value("SELECT count(*) FROM card_keys WHERE status = 'sold'") == 2
    assert shop.stock(pid) == 2
    pays = shop.rows("SELECT trade_no FROM payments")
    assert [p["trade_no"] for p in pays] == ["T-FIRST-0001"]
    ev = shop.events(o["order_no"])
    assert ev[-1]["trade_no"] == "T-SECOND-0002" and ev[-1]["verified"] == 1
    assert ev[-1]["outcome"].startswith("duplicate_payment"), ev[-1]
    # The merchant hears about the money to give back.
    alert = shop.sink.wait_for(lambda m: ALERT_TO in m.rcpt_tos, timeout=10)[0]
    assert o["order_no"] in alert.subject and "duplicate_payment" in alert.subject + alert.body


def test_repeats_of_a_duplicate_payment_notify_change_nothing(make_server, epay, sink):  # noqa: F811
    """The merchant is alerted once per extra trade, however often the gateway repeats it
    (regression: every repeat queued another buyer mail and alert)."""
    shop = start_shop(make_server, epay=epay, sink=sink, shop={"alert_email": ALERT_TO})
    pid = shop.admin.product(price=990, keys=2)
    o = shop.order_ok(pid)
    assert shop.pay(o, trade_no="T-FIRST-0001") == "success"
    assert shop.epay.pay(o["order_no"], trade_no="T-SECOND-0002") == "success"
    shop.sink.wait_for(lambda m: ALERT_TO in m.rcpt_tos, timeout=10)
    time.sleep(1.5)
    mails, jobs = len(shop.sink.snapshot()), len(shop.jobs())
    # The gateway repeats its notify for the second trade, as gateways do.
    for method in ("GET", "POST", "GET"):
        assert shop.epay.pay(o["order_no"], trade_no="T-SECOND-0002", method=method) == "success"
    time.sleep(2.5)
    assert len(shop.jobs()) == jobs, [(j["kind"], j["status"]) for j in shop.jobs()]
    assert len(shop.sink.snapshot()) == mails, shop.sink.snapshot()
    assert len(shop.sink.matching(lambda m: ALERT_TO in m.rcpt_tos)) == 1


# ---- late payments --------------------------------------------------------------------------

def test_payment_after_expiry_reclaims_free_keys(make_server, epay, sink):  # noqa: F811
    shop = start_shop(make_server, epay=epay, sink=sink, shop={"order_ttl": 2})
    keys = make_keys(4)
    pid = shop.admin.product(price=990, keys=keys)
    late = shop.order_ok(pid, 2)
    shop.open_pay_url(late)
    shop.wait_status(late["order_no"], "expired", timeout=8)
    assert shop.stock(pid) == 4
    # Another buyer takes the keys the late order had held.
    other = shop.order_ok(pid, 2)

    assert shop.epay.pay(late["order_no"]) == "success"
    v = shop.view_ok(late)
    assert v["status"] == "delivered" and len(v["keys"]) == 2, v
    assert shop.events(late["order_no"])[-1]["outcome"] == "delivered"
    assert shop.stock(pid) == 0
    other_keys = shop.key_rows(other["order_no"])
    assert len(other_keys) == 2 and all(k["status"] == "reserved" for k in other_keys)
    shop.open_pay_url(other)
    assert shop.epay.pay(other["order_no"]) == "success"
    v2 = shop.view_ok(other)
    assert v2["status"] == "delivered"
    assert sorted(v["keys"] + v2["keys"]) == sorted(keys)  # nobody got a key twice
    mail = shop.sink.wait_for(lambda m: late["order_no"] in m.subject, timeout=10)[0]
    assert all(k in mail.body for k in v["keys"])


def test_payment_after_expiry_with_no_key_left_is_kept_and_alerted(make_server, epay, sink):  # noqa: F811
    shop = start_shop(make_server, epay=epay, sink=sink, shop={"order_ttl": 2, "alert_email": ALERT_TO})
    pid = shop.admin.product(price=990, keys=2)
    late = shop.order_ok(pid, 2)
    shop.open_pay_url(late)
    shop.wait_status(late["order_no"], "expired", timeout=8)
    other = shop.order_ok(pid, 2)  # takes every key

    assert shop.epay.pay(late["order_no"]) == "success"  # the money is taken: acknowledge it
    row = shop.order_row(late["order_no"])
    assert row["status"] == "paid_undelivered" and row["paid_at"], row
    v = shop.view_ok(late)
    assert v["status"] == "paid_undelivered" and not v.get("keys")
    assert shop.key_rows(late["order_no"]) == []
    pays = shop.rows("SELECT p.amount FROM payments p JOIN orders o ON o.id = p.order_id"
                     " WHERE o.order_no = ?", (late["order_no"],))
    assert pays == [{"amount": 990 * 2}]
    assert shop.events(late["order_no"])[-1]["outcome"].startswith("paid_undelivered")
    other_keys = shop.key_rows(other["order_no"])
    assert len(other_keys) == 2 and all(k["status"] == "reserved" for k in other_keys)

    alert = shop.sink.wait_for(lambda m: ALERT_TO in m.rcpt_tos, timeout=10)[0]
    assert late["order_no"] in alert.subject + alert.body
    assert "paid_undelivered" in alert.subject + alert.body
    # The gateway retrying changes nothing.
    assert shop.epay.pay(late["order_no"]) == "success"
    assert shop.status(late["order_no"]) == "paid_undelivered"
    assert shop.value("SELECT count(*) FROM payments") == 1


# ---- sandbox --------------------------------------------------------------------------------

def test_sandbox_pay_delivers_through_the_jobs_thread(make_server, sink):  # noqa: F811
    shop = start_shop(make_server, sink=sink, sandbox=True)
    keys = make_keys(2)
    pid = shop.admin.product(price=1500, keys=keys)
    o = shop.order_ok(pid, 1, gateway="sandbox")
    assert "/pay/sandbox/" in o["pay_url"] and o["order_no"] in o["pay_url"]

    r = shop.srv.post("/pay/sandbox/pay", json={"order_no": o["order_no"], "token": "0" * 32}, use_cookies=False)
    assert r.status == 404, r
    r = shop.srv.post("/pay/sandbox/pay", json={"order_no": o["order_no"], "token": o["token"]}, use_cookies=False)
    assert r.status == 202, r
    shop.wait_status(o["order_no"], "delivered", timeout=8)
    v = shop.view_ok(o)
    assert len(v["keys"]) == 1 and v["keys"][0] in keys
    pay = shop.rows("SELECT gateway, amount FROM payments")
    assert pay == [{"gateway": "sandbox", "amount": 1500}]
    ev = shop.events(o["order_no"])
    assert len(ev) == 1 and ev[0]["verified"] == 1 and ev[0]["outcome"] == "delivered"
    assert ev[0]["gateway"] == "sandbox"
    wait_until(lambda: [j["status"] for j in shop.jobs("sandbox_notify")] == ["done"], 5,
               message="the sandbox notify job to be done")
    # Paying a delivered order again is refused.
    r = shop.srv.post("/pay/sandbox/pay", json={"order_no": o["order_no"], "token": o["token"]}, use_cookies=False)
    assert r.status == 409 and error_of(r)["code"] == "conflict", r


def test_forged_sandbox_notify_fails(make_server):
    shop = start_shop(make_server, sandbox=True)
    pid = shop.admin.product(price=1500, keys=2)
    o = shop.order_ok(pid, 1, gateway="sandbox")
    for body in [f"order_no={o['order_no']}&trade_no=SBXFORGED01&amount=1500&sign={'0' * 32}",
                 f"order_no={o['order_no']}&trade_no=SBXFORGED02&amount=1500",
                 f"order_no={o['order_no']}&trade_no=SBXFORGED03&amount=1500&sign={o['token']}"]:
        r = shop.srv.post("/pay/sandbox/notify", body=body,
                          headers={"Content-Type": "application/x-www-form-urlencoded"}, use_cookies=False)
        assert (r.status, r.text) == (200, "fail"), (body, r)
        r = shop.srv.get("/pay/sandbox/notify?" + body, use_cookies=False)
        assert (r.status, r.text) == (200, "fail"), (body, r)
    assert_untouched(shop, o, 1)
    ev = shop.events(o["order_no"])
    assert len(ev) == 6 and all(e["verified"] == 0 and e["outcome"].startswith("rejected") for e in ev)


def test_notify_for_a_disabled_gateway_is_404(make_server, epay):  # noqa: F811
    shop = start_shop(make_server, epay=epay)  # sandbox off
    r = shop.srv.post("/pay/sandbox/notify", body="order_no=1&trade_no=2&amount=3&sign=4",
                      headers={"Content-Type": "application/x-www-form-urlencoded"}, use_cookies=False)
    assert r.status == 404, r
    assert shop.srv.post("/pay/sandbox/pay", json={"order_no": "x", "token": "y"}, use_cookies=False).status == 404
    assert shop.value("SELECT count(*) FROM payment_events") == 0


def test_return_url_redirects_the_buyer_to_the_order_page(shop):
    pid = shop.admin.product(price=990, keys=1)
    o = shop.order_ok(pid)
    shop.open_pay_url(o)
    ret = shop.epay.order(o["order_no"]).return_url
    # The gateway sends the buyer back with the notify's parameters on the return URL.
    params = shop.epay.notify_params(o["order_no"])
    r = shop.srv.get(urllib.parse.urlsplit(ret).path + "?" + urllib.parse.urlencode(params), use_cookies=False)
    assert r.status in (302, 303), r
    assert f"order_no={o['order_no']}" in r.headers["Location"]
    assert shop.status(o["order_no"]) == "pending"  # the return is no proof of payment


def test_a_flood_of_forged_notifies_is_stored_only_up_to_a_bound(shop):
    pid = shop.admin.product(price=990, keys=1)
    o = shop.order_ok(pid)
    shop.open_pay_url(o)
    replies = [shop.epay.pay(o["order_no"], sign_value="0" * 32) for _ in range(130)]
    assert replies == ["fail"] * 130
    assert len(shop.events(o["order_no"])) == 120
    # The real payment still goes through at once.
    assert shop.pay(o) == "success"
    assert shop.status(o["order_no"]) == "delivered"
