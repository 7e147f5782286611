"""The merchant's settings (GET/PATCH /api/admin/settings): masked secrets, keys fixed by the
file or the environment, all-or-nothing changes, and changes applied to the running server
(the next order, /api/config, the gateways) and kept across a restart."""

import json

import pytest

from fakes.fixtures import epay, sink  # noqa: F401 (pytest fixtures)
from fakes.shop_setup import start_shop, wait_until
from team_helpers import error_code

MASK = "********"


@pytest.fixture
def shop(make_server):
    # shop.name from the file would be fixed: the tests' shop leaves it to the settings.
    return start_shop(make_server, sandbox=True, shop={"name": None},
                      env={"CARDSHOP_SHOP_ALERT_EMAIL": "ops@example.com"})


def settings(shop):
    r = shop.admin.call("GET", "/api/admin/settings")
    assert r.status == 200, r
    assert r.headers.get("cache-control") == "no-store"
    return r.json()["settings"]


def patch(shop, body):
    return shop.admin.call("PATCH", "/api/admin/settings", json=body)


def public_config(shop):
    r = shop.srv.get("/api/config", use_cookies=False)
    assert r.status == 200, r
    return r.json()


def test_listing_says_value_source_and_what_is_fixed(shop):
    s = settings(shop)
    assert s["shop.name"] == {"value": "cardshop", "fixed": False, "secret": False,
                              "source": "default", "restart": False, "multiline": False}
    assert s["shop.notice"]["multiline"] is True
    assert s["shop.order_ttl"]["value"] == 900
    assert s["payment.sandbox.enabled"]["value"] is True
    assert s["payment.sandbox.enabled"]["fixed"] is True  # set in the file
    assert s["smtp.url"]["fixed"] is True and s["smtp.url"]["source"] == "file"
    assert s["shop.alert_email"]["fixed"] is True
    assert s["shop.alert_email"]["source"] == "environment"
    assert s["server.port"]["fixed"] is True and s["server.port"]["restart"] is True
    assert s["smtp.password"] == {"value": "", "fixed": False, "secret": True,
                                  "source": "default", "restart": False, "multiline": False}
    assert s["payment.stripe.secret_key"]["secret"] is True


def test_secret_is_masked_sealed_and_never_logged(shop):
    assert patch(shop, {"smtp.password": "hunter2-mail", "payment.epay.key": "k3y-s3cret"}).status == 200
    s = settings(shop)
    assert s["smtp.password"]["value"] == MASK and s["payment.epay.key"]["value"] == MASK
    assert s["smtp.password"]["source"] == "settings"
    stored = dict(shop.srv.db().execute("SELECT key, value FROM settings").fetchall())
    for key, clear in (("smtp.password", "hunter2-mail"), ("payment.epay.key", "k3y-s3cret")):
        assert stored[key].startswith("aead:") and clear not in stored[key]
    detail = shop.srv.db().execute(
        "SELECT detail FROM audit_log WHERE action = 'settings.update'").fetchone()[0]
    assert json.loads(detail) == {"keys": ["smtp.password", "payment.epay.key"]}
    assert "hunter2-mail" not in shop.srv.log_text() and "k3y-s3cret" not in shop.srv.log_text()
    # Emptied again, it reads back empty (nothing to mask).
    assert patch(shop, {"smtp.password": ""}).status == 200
    assert settings(shop)["smtp.password"]["value"] == ""


def test_fixed_and_restart_keys_refused_and_nothing_changes(shop):
    before = settings(shop)
    for key, value in (("smtp.url", "smtp://127.0.0.1:2525"), ("shop.alert_email", "a@b.c"),
                       ("payment.sandbox.enabled", False), ("server.port", 9999),
                       ("database.path", "/tmp/x.db"), ("shop.currency", "USD")):
        r = patch(shop, {"shop.name": "Changed?", key: value})
        assert r.status == 409 and error_code(r) == "conflict", (key, r)
        assert key in r.json()["error"]["message"]
    assert settings(shop) == before
    assert shop.srv.db().execute("SELECT count(*) FROM settings WHERE key LIKE 'shop.%'").fetchone()[0] == 0


def test_patch_is_all_or_nothing(shop):
    before = settings(shop)
    cases = [
        ({"shop.name": "Half", "shop.order_ttl": 0}, "shop.order_ttl"),
        ({"shop.name": "Half", "shop.order_ttl": "soon"}, "shop.order_ttl"),
        ({"shop.name": "Half", "smtp.tls_verify": "maybe"}, "smtp.tls_verify"),
        ({"shop.name": "Half", "smtp.tls": "ssl"}, "tls"),          # checked across keys
        ({"shop.name": "Half", "smtp.from": "not an address"}, "from"),
        ({"shop.name": "Half", "shop.nonsense": 1}, "shop.nonsense"),
        ({"shop.name": "Half\r\nBcc: x@y.z"}, "shop.name"),
        ({"shop.name": "Half", "shop.default_max_qty": True}, "shop.default_max_qty"),
    ]
    for body, named in cases:
        r = patch(shop, body)
        assert r.status == 400 and error_code(r) == "invalid_request", (body, r)
        assert named in r.json()["error"]["message"], (body, r.json())
    assert settings(shop) == before
    assert public_config(shop)["name"] == "cardshop"


def test_applied_at_once_and_kept_across_restart(shop):
    pid = shop.admin.product(name="Card", price=500, keys=3)
    r = patch(shop, {"shop.name": "小店 Shop", "shop.notice": "Line one\nLine two",
                     "shop.order_ttl": 120, "shop.default_max_qty": 2})
    assert r.status == 200, r
    assert r.json()["settings"]["shop.name"]["value"] == "小店 Shop"
    cfg = public_config(shop)
    assert cfg["name"] == "小店 Shop" and cfg["notice"] == "Line one\nLine two"
    o = shop.order_ok(pid, 1, gateway="sandbox")
    created = shop.order_row(o["order_no"])["created_at"]
    assert o["expires_at"] - created == 120
    r = shop.order(pid, 3, gateway="sandbox")
    assert r.status == 400, r  # over the new default_max_qty
    shop.srv.stop()
    shop.srv.start()
    s = settings(shop)
    assert s["shop.name"]["value"] == "小店 Shop" and s["shop.name"]["source"] == "settings"
    assert public_config(shop)["name"] == "小店 Shop"
    # null gives the key back to the file (here: the built-in default).
    assert patch(shop, {"shop.name": None, "shop.order_ttl": None}).status == 200
    s = settings(shop)
    assert s["shop.name"]["value"] == "cardshop" and s["shop.name"]["source"] == "default"
    assert public_config(shop)["name"] == "cardshop"


def test_gateway_switched_on_from_the_settings(make_server, epay):  # noqa: F811
    shop = start_shop(make_server, sandbox=True, shop={"name": None})
    shop.epay = epay  # the shop's file knows nothing of it: the settings will
    pid = shop.admin.product(name="Card", price=990, keys=2)
    assert public_config(shop)["gateways"] == ["sandbox"]
    assert shop.order(pid, 1, gateway="epay").status == 400
    r = patch(shop, {"payment.epay.enabled": True, "payment.epay.api_url": epay.url,
                     "payment.epay.pid": epay.pid, "payment.epay.key": epay.key})
    assert r.status == 200, r
    assert "epay" in public_config(shop)["gateways"]
    order = shop.order_ok(pid, 1, gateway="epay")
    assert shop.pay(order) == "success"  # the notify is verified with the stored key
    shop.wait_status(order["order_no"], "delivered")
    assert patch(shop, {"payment.epay.enabled": False}).status == 200
    assert public_config(shop)["gateways"] == ["sandbox"]
    wait_until(lambda: shop.order(pid, 1, gateway="epay").status == 400, 2,
               message="epay refused once off")


def test_mail_server_set_from_the_settings(make_server, sink):  # noqa: F811
    # The file names no mail server and no sender: no mail goes out until the settings do.
    shop = start_shop(make_server, sandbox=True, sink=sink,
                      extra={"smtp": {"url": None, "from": None}, "shop": {"name": None}})
    r = patch(shop, {"smtp.url": sink.url, "smtp.from": "Live Shop <live@example.com>",
                     "shop.name": "Live Shop"})
    assert r.status == 200, r
    pid = shop.admin.product(name="Mailed", price=100, keys=1)
    o = shop.order_ok(pid, 1, gateway="sandbox")
    r = shop.srv.post("/pay/sandbox/pay", json={"order_no": o["order_no"], "token": o["token"]},
                      use_cookies=False)
    assert r.status in (200, 202, 303), r
    m = sink.wait_for(lambda m: o["order_no"] in m.subject, timeout=15)[0]
    assert "live@example.com" in m.from_header


def test_reads_during_changes_see_one_whole_configuration(shop):
    # Readers on every worker while the name changes: each answer is one of the names written,
    # whole (a torn or freed string would show up as something else, or crash the server).
    import threading
    names = {"cardshop"} | {f"Name {i} " + "x" * (i * 7) for i in range(12)}
    seen, stop = [], threading.Event()

    def reader():
        while not stop.is_set():
            seen.append(public_config(shop)["name"])

    threads = [threading.Thread(target=reader) for _ in range(3)]
    for t in threads:
        t.start()
    try:
        for n in sorted(names - {"cardshop"}):
            assert patch(shop, {"shop.name": n}).status == 200
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert seen and set(seen) <= names, set(seen) - names
    assert public_config(shop)["name"] == sorted(names - {"cardshop"})[-1]


def test_every_gateway_credential_is_the_merchants_to_set_and_secrets_stay_sealed(shop):
    # The settings page covers every gateway, not only EPay: switches and credentials.
    body = {"payment.stripe.secret_key": "sk_test_settings_1", "payment.epusdt.token": "tok-usdt-1",
            "payment.wechat.apiv3_key": "0123456789abcdef0123456789abcdef",
            "payment.alipay.app_id": "2021000000000001"}
    assert patch(shop, body).status == 200
    s = settings(shop)
    for key in ("payment.stripe.secret_key", "payment.epusdt.token", "payment.wechat.apiv3_key"):
        assert s[key]["secret"] is True and s[key]["value"] == MASK and s[key]["restart"] is False
    assert s["payment.alipay.app_id"]["value"] == "2021000000000001"
    stored = dict(shop.srv.db().execute("SELECT key, value FROM settings").fetchall())
    assert stored["payment.stripe.secret_key"].startswith("aead:")
    assert "sk_test_settings_1" not in stored["payment.stripe.secret_key"]
    assert "sk_test_settings_1" not in shop.srv.log_text()


def test_contact_link_is_checked_whichever_page_sets_it_and_the_shop_patch_is_one_change(shop):
    # The settings page cannot store a link the shop page would refuse.
    r = patch(shop, {"shop.contact_url": "javascript:alert(1)"})
    assert r.status == 400, r
    assert settings(shop)["shop.contact_url"]["value"] == ""
    # /api/admin/shop with the notice and the link: both or neither.
    r = shop.admin.call("PATCH", "/api/admin/shop",
                        json={"notice": "Open 9-18", "contact_url": "https://t.me/shop"})
    assert r.status == 200 and r.json()["contact_url"] == "https://t.me/shop", r
    cfg = public_config(shop)
    assert cfg["notice"] == "Open 9-18" and cfg["contact_url"] == "https://t.me/shop"
    assert settings(shop)["shop.contact_url"]["value"] == "https://t.me/shop"
