"""Stripe Checkout against a fake Stripe whose webhook signatures come from the official
`stripe` npm package: the session made from the order, the webhook verified as Stripe signs it
(t, every v1, 300 s tolerance), amount and currency checked, repeats and other events answered
2xx without a second delivery, and a lost webhook recovered by retrieving the session."""

import json
import time
import urllib.parse

import pytest

import harness
from fakes.fake_stripe import FakeStripe, SECRET_KEY, WEBHOOK_SECRET
from fakes.shop_setup import start_shop, wait_until


def _stripe_section(st):
    return {"payment.stripe": {"enabled": True, "api_url": st.url, "secret_key": SECRET_KEY,
                               "webhook_secret": WEBHOOK_SECRET}}


def _shop(tmp_path_factory, st, **kw):
    servers = []

    def factory(config=None, *, start=True, **skw):
        srv = harness.CardshopServer(tmp_path_factory.mktemp("srv"), config, **skw)
        servers.append(srv)
        if start:
            srv.start()
        return srv

    shop = start_shop(factory, extra=_stripe_section(st), **kw)
    st.set(webhook_url=shop.srv.url("/pay/stripe/notify"))
    return shop, servers


@pytest.fixture(scope="module")
def env(tmp_path_factory, cardshop_bin):
    """One shop (1 h orders) wired to one fake Stripe for the whole module."""
    st = FakeStripe().start()
    shop, servers = _shop(tmp_path_factory, st, shop={"order_ttl": 3600})
    yield shop, st
    for s in servers:
        s.kill()
    st.stop()


def _order(shop, st, price=990, keys=2, qty=1):
    pid = shop.admin.product(name="Gift card 礼品卡", price=price, keys=keys)
    o = shop.order_ok(pid, qty, gateway="stripe")
    return pid, o, st.session_for(o["order_no"])


def _event(session, type_="checkout.session.completed", **over):
    s = dict(session, status="complete", payment_status="paid", **over)
    return json.dumps({"id": "evt_" + str(time.monotonic_ns()), "object": "event", "type": type_,
                       "data": {"object": s}})


def test_session_is_made_from_the_order(env):
    shop, st = env
    pid, o, s = _order(shop, st, price=1250, qty=2)
    assert o["pay_url"] == s["url"]
    made = [m for m in st.sessions() if m["id"] == s["id"]][0]["form"]
    assert made["mode"] == "payment" and made["client_reference_id"] == o["order_no"]
    assert made["metadata"] == {"order_no": o["order_no"]}
    pd = made["line_items"][0]["price_data"]
    assert pd["currency"] == "cny" and pd["unit_amount"] == "2500" and made["line_items"][0]["quantity"] == "1"
    assert pd["product_data"]["name"] == "Gift card 礼品卡"
    back = urllib.parse.urlsplit(made["success_url"])
    assert made["success_url"].startswith(shop.srv.url("/pay/stripe/return"))
    assert urllib.parse.parse_qs(back.query) == {"order_no": [o["order_no"]]}
    # The order lives an hour (>= 30 min): the session expires with it.
    assert int(made["expires_at"]) == o["expires_at"]
    assert shop.value("SELECT gateway_ref FROM orders WHERE order_no = ?", (o["order_no"],)) == s["id"]
    cfg = shop.srv.get("/api/config").json()
    assert "stripe" in cfg["gateways"]
    # The return lands on the order page (the buyer's cookie opens it).
    r = shop.srv.get(harness.query("/pay/stripe/return", order_no=o["order_no"]), use_cookies=False)
    assert r.status == 303 and r.headers["location"].startswith(f"/shop/order?order_no={o['order_no']}")


def test_paid_webhook_delivers_exactly_once(env):
    shop, st = env
    pid, o, s = _order(shop, st, keys=3)
    r = st.pay(s["id"])
    sent = r["sent"][0]
    assert sent["status"] == 200, sent
    shop.wait_status(o["order_no"], "delivered")
    assert len(shop.view_ok(o)["keys"]) == 1
    assert shop.rows("SELECT p.trade_no, p.amount FROM payments p JOIN orders o ON o.id = p.order_id"
                     " WHERE o.order_no = ?", (o["order_no"],)) == [{"trade_no": s["id"], "amount": 990}]
    # Stripe retries the very same event (same id, same body): a repeat, answered 2xx.
    again = st.send(sent["payload"])
    assert again["status"] == 200, again
    # ... and a second event about the same session too.
    other = st.send(_event(s, amount_total=990, currency="cny"))
    assert other["status"] == 200
    ev = shop.events(o["order_no"])
    assert [e["outcome"] for e in ev] == ["delivered", "repeat", "repeat"]
    assert shop.value("SELECT count(*) FROM card_keys k JOIN orders o ON o.id = k.order_id"
                      " WHERE o.order_no = ? AND k.status = 'sold'", (o["order_no"],)) == 1
    assert shop.stock(pid) == 2


@pytest.mark.parametrize("case", ["wrong_secret", "tampered_body", "old_timestamp", "future_timestamp",
                                  "no_v1", "garbage_header", "v0_only"])
def test_bad_signatures_change_nothing(env, case):
    shop, st = env
    pid, o, s = _order(shop, st, keys=1)
    payload = _event(s)
    now = int(time.time())
    if case == "wrong_secret":
        r = st.send(payload, secret="whsec_someoneElse")
    elif case == "tampered_body":
        header = st.sign(payload)
        assert st.library_accepts(payload, header)
        tampered = payload.replace('"paid"', '"paid" ', 1)  # one byte more, same meaning
        assert not st.library_accepts(tampered, header)
        r = st.send(tampered, header=header)
    elif case == "old_timestamp":
        r = st.send(payload, timestamp=now - 400)
        assert not st.library_accepts(payload, r["header"])  # the official check agrees
    elif case == "future_timestamp":
        r = st.send(payload, timestamp=now + 400)
    elif case == "no_v1":
        r = st.send(payload, header=f"t={now}")
    elif case == "garbage_header":
        r = st.send(payload, header="v1=,t=,,,=")
    else:
        r = st.send(payload, header=st.sign(payload).replace("v1=", "v0="))
    assert r["status"] == 400, r
    assert shop.status(o["order_no"]) == "pending"
    ev = shop.events(o["order_no"]) or shop.events(None)[-1:]
    assert ev and not ev[-1]["verified"] and ev[-1]["outcome"].startswith("rejected")
    assert shop.stock(pid) == 0  # still reserved for the order, not sold


def test_one_right_v1_among_several_is_enough(env):
    shop, st = env
    pid, o, s = _order(shop, st)
    r = st.pay(s["id"], extra_v1=["0" * 64, "ab" * 32])
    assert r["sent"][0]["status"] == 200, r
    assert r["sent"][0]["header"].count("v1=") == 3
    shop.wait_status(o["order_no"], "delivered")


def test_only_wrong_v1s_are_refused(env):
    shop, st = env
    pid, o, s = _order(shop, st)
    r = st.pay(s["id"], only_v1=["0" * 64, "ab" * 32])
    assert r["sent"][0]["status"] == 400
    assert shop.status(o["order_no"]) == "pending"


@pytest.mark.parametrize("over, why", [({"amount_total": 1}, "amount"), ({"currency": "usd"}, "currency"),
                                       ({"client_reference_id": "20990101ffffffffffffffff"}, "unknown order")])
def test_wrong_amount_currency_or_order_is_refused(env, over, why):
    shop, st = env
    pid, o, s = _order(shop, st)
    r = st.pay(s["id"], session=over)
    assert r["sent"][0]["status"] == 400, r
    assert shop.status(o["order_no"]) == "pending"
    ev = [e for e in shop.events(None) if e["trade_no"] == s["id"]]
    assert ev and ev[-1]["outcome"].startswith("rejected") and why in ev[-1]["outcome"]


def test_async_payment_succeeds_later(env):
    """A bank debit: completed with payment_status=unpaid (acknowledged, nothing delivered),
    then async_payment_succeeded delivers."""
    shop, st = env
    pid, o, s = _order(shop, st)
    r = st.pay(s["id"], **{"async": True})
    first, second = r["sent"]
    assert first["event"]["type"] == "checkout.session.completed"
    assert first["event"]["data"]["object"]["payment_status"] == "unpaid"
    assert first["status"] == 200
    assert second["event"]["type"] == "checkout.session.async_payment_succeeded"
    assert second["status"] == 200, second
    shop.wait_status(o["order_no"], "delivered")
    outcomes = [e["outcome"] for e in shop.events(o["order_no"])]
    assert outcomes[0].startswith("rejected") and "not paid yet" in outcomes[0]
    assert outcomes[1] == "delivered"


def test_other_events_are_acknowledged_and_ignored(env):
    shop, st = env
    pid, o, s = _order(shop, st)
    for t in ("checkout.session.expired", "payment_intent.created", "checkout.session.async_payment_failed"):
        r = st.send(_event(s, t))
        assert r["status"] == 200, (t, r)
    assert shop.status(o["order_no"]) == "pending"
    assert shop.value("SELECT count(*) FROM payments p JOIN orders o ON o.id = p.order_id"
                      " WHERE o.order_no = ?", (o["order_no"],)) == 0


def test_stripe_failure_answers_503_and_frees_the_keys(env):
    shop, st = env
    pid = shop.admin.product(price=990, keys=1)
    st.set(refuse="parameter_invalid")
    try:
        r = shop.order(pid, gateway="stripe")
    finally:
        st.set(refuse="")
    assert r.status == 503 and r.error_code() == "gateway_unavailable", r
    assert "another" in r.json()["error"]["message"]
    assert shop.stock(pid) == 1
    assert "sk_test" not in shop.srv.log_text()


def test_lost_webhook_is_recovered_and_late_payment_follows_the_rules(tmp_path_factory, cardshop_bin):
    """Short orders in a zero-decimal currency: a withheld webhook is recovered by retrieving
    the session; an order nobody paid expires, and a payment after that still delivers."""
    st = FakeStripe().start()
    shop, servers = _shop(tmp_path_factory, st, shop={"order_ttl": 2, "currency": "JPY"})
    try:
        pid = shop.admin.product(price=150000, keys=3)  # 1,500 yen
        lost = shop.order_ok(pid, gateway="stripe")
        late = shop.order_ok(pid, gateway="stripe")
        s_lost = st.session_for(lost["order_no"])
        s_late = st.session_for(late["order_no"])
        made = [m for m in st.sessions() if m["id"] == s_lost["id"]][0]["form"]
        assert made["line_items"][0]["price_data"] == {
            "currency": "jpy", "unit_amount": "1500", "product_data": {"name": "Test card"}}
        # 2 s orders: the shortest session Stripe takes (30 min, and 2 min of clock slack)
        assert 1800 < int(made["expires_at"]) - lost["expires_at"] + 2 <= 1925
        st.pay(s_lost["id"], withhold=True)
        shop.wait_status(lost["order_no"], "delivered", timeout=15)
        ev = shop.events(lost["order_no"])
        assert ev[-1]["client_ip"] == "reconcile" and ev[-1]["outcome"] == "delivered"
        shop.wait_status(late["order_no"], "expired", timeout=15)
        r = st.pay(s_late["id"])
        assert r["sent"][0]["status"] == 200, r
        shop.wait_status(late["order_no"], "delivered")
        assert len(shop.view_ok(late)["keys"]) == 1
        # A fraction of a yen cannot be charged: refused before Stripe is asked.
        odd = shop.admin.product(price=150050, keys=1)
        r = shop.order(odd, gateway="stripe")
        assert r.status == 503 and r.error_code() == "gateway_unavailable"
    finally:
        for s in servers:
            s.kill()
        st.stop()


def test_misconfigured_stripe_takes_no_orders(make_server):
    """The secret key is only ever sent over https (or to this machine): a plain-http api_url
    elsewhere, or a missing webhook secret, warns at start and takes no orders."""
    for section in ({"api_url": "http://stripe.example.invalid", "secret_key": SECRET_KEY,
                     "webhook_secret": WEBHOOK_SECRET},
                    {"api_url": "https://api.stripe.com", "secret_key": SECRET_KEY, "webhook_secret": ""}):
        srv = make_server({"payment.stripe": {"enabled": True, **section}, "payment.sandbox": {"enabled": True}})
        srv.wait_for_log(lambda l: l.get("level") == "warn" and "Stripe" in l.get("msg", ""))
        assert srv.get("/api/config").json()["gateways"] == ["sandbox"]
        r = srv.post("/api/orders", json={"product_id": 1, "quantity": 1, "email": "a@b.example",
                                          "gateway": "stripe"})
        assert r.status == 400 and "gateway" in r.json()["error"]["message"]
        srv.kill()
