"""USDT through epusdt against a fake epusdt server that signs and checks the way the epusdt
server does (its algorithm re-implemented in Python, not our C): the create-transaction request
signed with numbers in Go's shortest form, the buyer sent to its checkout page, the JSON notify
verified and answered exactly `ok`, and everything else answered `fail` with nothing changed."""

import json

import pytest

import harness
from fakes.fake_epusdt import FakeEpusdt, go_number, sign, sign_content
from fakes.shop_setup import start_shop


def _factory(tmp_path_factory, servers):
    def factory(config=None, *, start=True, **kw):
        srv = harness.CardshopServer(tmp_path_factory.mktemp("srv"), config, **kw)
        servers.append(srv)
        if start:
            srv.start()
        return srv
    return factory


@pytest.fixture(scope="module")
def env(tmp_path_factory, cardshop_bin):
    gw = FakeEpusdt().start()
    servers = []
    shop = start_shop(_factory(tmp_path_factory, servers), shop={"order_ttl": 3600},
                      extra={"payment.epusdt": {"enabled": True, "api_url": gw.url + "/", "token": gw.token}})
    yield shop, gw
    for s in servers:
        s.kill()
    gw.stop()


def _order(shop, gw, price=1288, keys=2):
    pid = shop.admin.product(price=price, keys=keys)
    o = shop.order_ok(pid, gateway="epusdt")
    return pid, o, gw.trade(o["order_no"])


def test_go_number_matches_the_server():
    assert [go_number(v) for v in (12.88, 2.0, 2, 12.5, 0.0001, 1e21, 1788.8889)] == \
        ["12.88", "2", "2", "12.5", "0.0001", "1000000000000000000000", "1788.8889"]
    assert sign_content({"b": 2.0, "a": "x", "signature": "s", "n": None}) == "a=x&b=2"


@pytest.mark.parametrize("price, text", [(1288, "12.88"), (200, "2"), (1250, "12.5"), (1, "0.01")])
def test_create_transaction_is_signed_as_the_server_checks(env, price, text):
    shop, gw = env
    pid, o, t = _order(shop, gw, price=price)
    req = t.request
    assert set(req) == {"order_id", "amount", "notify_url", "redirect_url", "signature"}
    assert req["order_id"] == o["order_no"] and go_number(req["amount"]) == text
    assert f'"amount":{text},' in t.raw  # written in the form that was signed
    assert req["notify_url"] == shop.srv.url("/pay/epusdt/notify")
    assert req["redirect_url"] == shop.srv.url(f"/pay/epusdt/return?order_no={o['order_no']}")
    assert req["signature"] == sign(req, gw.token)
    assert o["pay_url"] == f"{gw.url}/pay/checkout-counter/{t.trade_id}"
    assert "epusdt" in shop.srv.get("/api/config").json()["gateways"]


def test_paid_notify_delivers_once_and_answers_ok(env):
    shop, gw = env
    pid, o, t = _order(shop, gw)
    body = gw.notify_body(o["order_no"])
    assert gw.pay(o["order_no"], raw=body) == "ok"
    shop.wait_status(o["order_no"], "delivered")
    assert len(shop.view_ok(o)["keys"]) == 1
    # epusdt retries until it reads exactly "ok": a repeat is answered ok and changes nothing.
    assert gw.pay(o["order_no"], raw=body) == "ok"
    assert [e["outcome"] for e in shop.events(o["order_no"])] == ["delivered", "repeat"]
    assert shop.rows("SELECT p.trade_no, p.amount FROM payments p JOIN orders o ON o.id = p.order_id"
                     " WHERE o.order_no = ?", (o["order_no"],)) == [{"trade_no": t.trade_id, "amount": 1288}]
    assert gw.notifies[-1].status == 200


@pytest.mark.parametrize("case", ["wrong_token", "tampered_amount", "no_signature", "waiting", "expired",
                                  "wrong_amount", "three_decimals", "bool_field", "duplicate_key", "not_json"])
def test_bad_notifies_change_nothing(env, case):
    shop, gw = env
    pid, o, t = _order(shop, gw)
    no = o["order_no"]
    if case == "wrong_token":
        raw = gw.notify_body(no, token="someone-else")
    elif case == "tampered_amount":
        good = json.loads(gw.notify_body(no))
        raw = gw.notify_body(no, amount=0.01, sign_value=good["signature"])
    elif case == "no_signature":
        raw = json.dumps({k: v for k, v in json.loads(gw.notify_body(no)).items() if k != "signature"})
    elif case == "waiting":
        raw = gw.notify_body(no, status=1)
    elif case == "expired":
        raw = gw.notify_body(no, status=3)
    elif case == "wrong_amount":
        raw = gw.notify_body(no, amount=12.87)
    elif case == "three_decimals":
        raw = gw.notify_body(no, amount=12.881)
    elif case == "bool_field":
        raw = json.dumps(dict(json.loads(gw.notify_body(no)), extra=True))
    elif case == "duplicate_key":
        good = gw.notify_body(no)
        raw = good[:-1] + ',"amount":0.01}'
    else:
        raw = "trade_id=1&order_id=" + no
    assert gw.pay(no, raw=raw) == "fail"
    assert shop.status(no) == "pending" and shop.stock(pid) == 1
    ev = [e for e in shop.events(None) if e["order_no"] in (no, None)][-1]
    assert not ev["verified"] or ev["outcome"].startswith("rejected")
    assert ev["outcome"].startswith("rejected")


def test_unreachable_or_failing_epusdt_answers_503(env):
    shop, gw = env
    pid = shop.admin.product(price=990, keys=1)
    gw.fail_next = 1
    r = shop.order(pid, gateway="epusdt")
    assert r.status == 503 and r.error_code() == "gateway_unavailable"
    assert shop.stock(pid) == 1
    gw.token, real = "changed-on-the-server", gw.token  # the server refuses our signature
    try:
        r = shop.order(pid, gateway="epusdt")
    finally:
        gw.token = real
    assert r.status == 503 and gw.refused[-1][1].startswith("签名错误")


def test_withheld_notify_expires_then_a_late_one_is_honoured(tmp_path_factory, cardshop_bin):
    """epusdt cannot be asked about an order: it expires at its time; a notify after that
    follows the late-payment rules (keys re-claimed while there are some)."""
    gw = FakeEpusdt().start()
    servers = []
    try:
        shop = start_shop(_factory(tmp_path_factory, servers), shop={"order_ttl": 1},
                          extra={"payment.epusdt": {"enabled": True, "api_url": gw.url, "token": gw.token}})
        pid = shop.admin.product(price=500, keys=1)
        o = shop.order_ok(pid, gateway="epusdt")
        gw.pay(o["order_no"], withhold=True)
        shop.wait_status(o["order_no"], "expired", timeout=10)
        assert shop.stock(pid) == 1
        assert gw.pay(o["order_no"]) == "ok"
        shop.wait_status(o["order_no"], "delivered")
        assert shop.stock(pid) == 0
    finally:
        for s in servers:
            s.kill()
        gw.stop()


def test_epusdt_takes_cny_only(make_server):
    """epusdt's amount is yuan (converted to USDT at its CNY rate): a dollar price is never sent
    as that many yuan. In a dollar shop epusdt is not offered and its order is refused up front
    (400 naming the gateway), nothing reserved."""
    gw = FakeEpusdt().start()
    try:
        shop = start_shop(make_server, shop={"currency": "USD"},
                          extra={"payment.epusdt": {"enabled": True, "api_url": gw.url, "token": gw.token}})
        pid = shop.admin.product(price=1288, keys=1)
        assert "epusdt" not in shop.srv.get("/api/config", use_cookies=False).json()["gateways"]
        r = shop.order(pid, gateway="epusdt")
        assert r.status == 400 and r.json()["error"]["code"] == "invalid_request"
        assert "gateway" in r.json()["error"]["message"]
        assert gw.trades == {} and shop.stock(pid) == 1
    finally:
        gw.stop()
