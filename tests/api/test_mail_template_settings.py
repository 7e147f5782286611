"""The buyer's mail templates as settings (mail.template.<name>.<lang> in GET/PATCH
/api/admin/settings): listed with the text in use, checked with the rest of an all-or-nothing
PATCH, null gives the built-in text back, and the buyer's next mail uses what was saved."""

import json

import pytest

from fakes.fixtures import epay, sink  # noqa: F401 (pytest fixtures)
from fakes.shop_setup import make_keys, start_shop
from team_helpers import error_code

NAMES = ("delivery_subject", "delivery_body", "paid_subject", "paid_body")
LANGS = ("en", "zh-CN")
KEYS = [f"mail.template.{n}.{lang}" for n in NAMES for lang in LANGS]


def settings(shop):
    r = shop.admin.call("GET", "/api/admin/settings")
    assert r.status == 200, r
    return r.json()["settings"]


def patch(shop, body):
    return shop.admin.call("PATCH", "/api/admin/settings", json=body)


def stored(shop):
    return dict(shop.srv.db().execute(
        "SELECT key, value FROM settings WHERE key LIKE 'mail.template.%'").fetchall())


@pytest.fixture
def shop(make_server):
    return start_shop(make_server, sandbox=True, shop={"name": None})


def test_every_template_listed_with_its_built_in_text(shop):
    s = settings(shop)
    for key in KEYS:
        body = ".delivery_body." in key or ".paid_body." in key
        assert s[key] == {**s[key], "fixed": False, "secret": False, "source": "default",
                          "restart": False, "multiline": body}, key
        assert isinstance(s[key]["value"], str) and s[key]["value"], key
    assert s["mail.template.delivery_subject.en"]["value"] == "[{shop_name}] Order {order_no} delivered"
    assert "{keys}" in s["mail.template.delivery_body.zh-CN"]["value"]
    assert "您的卡密" in s["mail.template.delivery_body.zh-CN"]["value"]
    assert not any(k.startswith("mail.") and k not in KEYS for k in s)


def test_bad_templates_refused_naming_the_key_and_nothing_changes(shop):
    before = settings(shop)
    cases = [
        {"mail.template.paid_body.en": "Paid {nope}: {order_url}"},           # unknown placeholder
        {"mail.template.delivery_subject.en": "Keys: {keys}"},                 # keys in a subject
        {"mail.template.paid_subject.zh-CN": "两行\n主题"},                      # a subject on two lines
        {"mail.template.delivery_body.en": "No keys here {order_url}"},        # {keys} dropped
        {"mail.template.paid_body.zh-CN": "没有链接"},                           # {order_url} dropped
        {"mail.template.paid_body.en": "bell \a {order_url}"},                 # control character
        {"mail.template.paid_body.en": 5},
        {"mail.template.paid_body.en": "x" * 8001 + "{order_url}"},
    ]
    for body in cases:
        # with a good change beside it: all or nothing
        r = patch(shop, {"shop.name": "Half", "mail.template.paid_subject.en": "Paid!", **body})
        assert r.status == 400 and error_code(r) == "invalid_request", (body, r)
        key = next(iter(body))
        assert key in r.json()["error"]["message"], (body, r.json())
    for key in ("mail.template.nope.en", "mail.template.paid_body.fr", "mail.template.paid_body"):
        r = patch(shop, {key: "Hi {order_url}"})
        assert r.status == 400 and key in r.json()["error"]["message"], (key, r)
    assert settings(shop) == before
    assert stored(shop) == {}


def test_saved_reset_and_audited(shop):
    text = "Hello from {shop_name}\n\nPaid: {order_no}\n\t{order_url}\n"
    r = patch(shop, {"mail.template.paid_body.en": text, "shop.name": "Tpl Shop"})
    assert r.status == 200, r
    s = r.json()["settings"]
    assert s["mail.template.paid_body.en"]["value"] == text
    assert s["mail.template.paid_body.en"]["source"] == "settings"
    assert s["mail.template.paid_body.zh-CN"]["source"] == "default"
    assert s["shop.name"]["value"] == "Tpl Shop"
    assert stored(shop) == {"mail.template.paid_body.en": text}  # in clear: not a secret
    detail = shop.srv.db().execute("SELECT detail FROM audit_log WHERE action = 'settings.update'"
                                   " ORDER BY id DESC LIMIT 1").fetchone()[0]
    assert sorted(json.loads(detail)["keys"]) == ["mail.template.paid_body.en", "shop.name"]

    r = patch(shop, {"mail.template.paid_body.en": None})
    assert r.status == 200, r
    assert r.json()["settings"]["mail.template.paid_body.en"]["source"] == "default"
    assert "{keys}" not in r.json()["settings"]["mail.template.paid_body.en"]["value"]
    assert "The merchant will deliver" in r.json()["settings"]["mail.template.paid_body.en"]["value"]
    assert stored(shop) == {}


def parts_of(m):
    leaves = {p.get_content_type(): p for p in m.message.walk() if not p.is_multipart()}
    return (leaves["text/plain"].get_content().replace("\r\n", "\n"),
            leaves["text/html"].get_content().replace("\r\n", "\n"))


def buy(shop, sink, pid, **order):  # noqa: F811
    o = shop.order_ok(pid, 1, **order)
    assert shop.pay(o) == "success"
    return o, sink.wait_for(lambda m: o["order_no"] in m.subject, timeout=10)[0]


def test_next_mail_uses_the_saved_template_then_the_built_in(make_server, epay, sink):  # noqa: F811
    shop = start_shop(make_server, epay=epay, sink=sink)
    r = patch(shop, {
        "mail.template.delivery_subject.en": "Here it is: {product} <{order_no}>",
        "mail.template.delivery_body.en": "Dear buyer,\n\n{product} & co:\n{keys}\n\nMore: {order_url}\n",
        "mail.template.delivery_subject.zh-CN": "您的{product}：{order_no}",
    })
    assert r.status == 200, r
    pid = shop.admin.product(name="Gift <card>", price=500, keys=make_keys(3, "TS"))
    o, m = buy(shop, sink, pid)
    assert m.subject == f"Here it is: Gift <card> <{o['order_no']}>"
    text, page = parts_of(m)
    assert text.startswith("Dear buyer,\n\nGift <card> & co:\n  ") and "Your keys" not in text
    assert "Gift &lt;card&gt; &amp; co:" in page and "<pre" in page
    assert f"{shop.srv.base_url}/shop/order?order_no={o['order_no']}" in text

    zh, mzh = buy(shop, sink, pid, lang="zh-CN")
    assert mzh.subject == f"您的Gift <card>：{zh['order_no']}"
    assert "您的卡密" in parts_of(mzh)[0]  # the zh-CN body was left built-in

    assert patch(shop, {"mail.template.delivery_subject.en": None,
                        "mail.template.delivery_body.en": None}).status == 200
    o3, m3 = buy(shop, sink, pid)
    assert m3.subject == f"[Test Shop] Order {o3['order_no']} delivered"
    assert "Your keys" in parts_of(m3)[0]
