"""The merchant's language ([shop] merchant_lang, a live setting): the sale mail, the alert of
an order paid with no key left, and the Telegram lines, in English by default and in Chinese
once the owner switches it through PATCH /api/admin/settings, and back, without a restart.
Every mail has a text and an HTML part, and the HTML part escapes the merchant's own texts.
A value set in the environment is fixed; a language we have no texts in is refused."""

import pytest

from fakes.fixtures import epay, sink  # noqa: F401 (pytest fixtures)
from fakes.shop_setup import start_shop
from fakes.webhook_sink import WebhookSink
from team_helpers import error_code

ALERT_TO = "merchant@example.com"
BOT_TOKEN = "123456:TEST-merchant-lang"
CHAT_ID = "-100777"
PRODUCT = "Card <b>&</b> \"10\""
PRODUCT_HTML = "Card &lt;b&gt;&amp;&lt;/b&gt; &quot;10&quot;"


@pytest.fixture
def hook():
    h = WebhookSink(bot_token=BOT_TOKEN).start()
    yield h
    h.stop()


def set_lang(shop, lang):
    r = shop.admin.call("PATCH", "/api/admin/settings", json={"shop.merchant_lang": lang})
    assert r.status == 200, r
    return r


def merchant_mail(shop, order_no, seen):
    """The next mail to the merchant about order_no not seen before (the sink keeps them all)."""
    def match(m):
        return ALERT_TO in m.rcpt_tos and order_no in m.subject and id(m) not in seen
    m = shop.sink.wait_for(match, timeout=10)[0]
    seen.add(id(m))
    assert m.html and m.body, m  # a text part and its HTML twin
    assert PRODUCT not in m.html and PRODUCT_HTML in m.html
    assert PRODUCT in m.body
    return m


def test_sale_and_alert_mails_follow_the_setting(make_server, epay, sink, hook):  # noqa: F811
    shop = start_shop(make_server, epay=epay, sink=sink,
                      shop={"alert_email": ALERT_TO, "order_ttl": 2},
                      extra={"notify": {"mail_on_sale": True, "telegram_bot_token": BOT_TOKEN,
                                        "telegram_chat_id": CHAT_ID,
                                        "telegram_api_url": hook.api_url}})
    r = shop.admin.call("GET", "/api/admin/settings")
    assert r.status == 200, r
    s = r.json()["settings"]["shop.merchant_lang"]
    assert s["value"] == "en" and s["fixed"] is False and s["source"] == "default", s

    pid = shop.admin.product(name=PRODUCT, price=1250, keys=2)
    # two orders left to expire, then both keys taken: paying either finds no key
    late_zh, late_en = shop.order_ok(pid, 1), shop.order_ok(pid, 1)
    for o in (late_zh, late_en):
        shop.open_pay_url(o)
    for o in (late_zh, late_en):
        shop.wait_status(o["order_no"], "expired", timeout=8)
    first = shop.order_ok(pid, 1)
    second = shop.order_ok(pid, 1)
    seen = set()

    # English, the default
    assert shop.pay(first) == "success"
    m = merchant_mail(shop, first["order_no"], seen)
    assert m.subject.startswith("[") and f"Sale: order {first['order_no']}, 12.50 CNY" in m.subject
    assert "Status: delivered." in m.body and "/admin/orders?q=" + first["order_no"] in m.body
    assert m.message["Content-Language"] == "en"
    hook.wait_message(lambda t: first["order_no"] in t["text"] and " paid: " in t["text"])

    # Chinese, switched while serving
    set_lang(shop, "zh-CN")
    assert shop.pay(second) == "success"
    m = merchant_mail(shop, second["order_no"], seen)
    assert f"成交：订单 {second['order_no']}，¥12.50" in m.subject, m.subject
    assert "状态：已发货" in m.body and "Status" not in m.body
    assert m.message["Content-Language"] == "zh-CN" and '<html lang="zh-CN">' in m.html
    hook.wait_message(lambda t: second["order_no"] in t["text"] and "已付款" in t["text"])

    assert shop.epay.pay(late_zh["order_no"]) == "success"
    shop.wait_status(late_zh["order_no"], "paid_undelivered")
    m = merchant_mail(shop, late_zh["order_no"], seen)
    assert f"提醒：订单 {late_zh['order_no']} 需要处理（paid_undelivered）" in m.subject, m.subject
    assert "订单过期后才付款" in m.body and "当前状态：已付款，未发货" in m.body
    assert "订单过期后才付款" in m.html and PRODUCT_HTML in m.html
    hook.wait_message(lambda t: late_zh["order_no"] in t["text"] and "提醒" in t["text"])

    # and back to English
    set_lang(shop, "en")
    assert shop.epay.pay(late_en["order_no"]) == "success"
    shop.wait_status(late_en["order_no"], "paid_undelivered")
    m = merchant_mail(shop, late_en["order_no"], seen)
    assert f"ALERT: order {late_en['order_no']} needs attention (paid_undelivered)" in m.subject
    assert "no key left to deliver" in m.body and "12.50 CNY" in m.body
    assert m.message["Content-Language"] == "en"
    hook.wait_message(lambda t: late_en["order_no"] in t["text"] and "ALERT" in t["text"])


def test_merchant_lang_refuses_other_languages_and_env_fixes_it(make_server):
    shop = start_shop(make_server, shop={"alert_email": ALERT_TO},
                      env={"CARDSHOP_SHOP_MERCHANT_LANG": "zh-CN"})
    s = shop.admin.call("GET", "/api/admin/settings").json()["settings"]["shop.merchant_lang"]
    assert s["value"] == "zh-CN" and s["fixed"] is True and s["source"] == "environment", s
    r = shop.admin.call("PATCH", "/api/admin/settings", json={"shop.merchant_lang": "en"})
    assert r.status == 409 and error_code(r) == "conflict", r
    # a language we have no texts in is refused by the check every configuration passes
    bad = start_shop(make_server, shop={"alert_email": ALERT_TO}, name="bad")
    r = bad.admin.call("PATCH", "/api/admin/settings",
                       json={"shop.merchant_lang": "fr", "shop.notice": "changed"})
    assert r.status == 400 and error_code(r) == "invalid_request", r
    assert "merchant_lang" in r.json()["error"]["message"]
    s = bad.admin.call("GET", "/api/admin/settings").json()["settings"]
    assert s["shop.merchant_lang"]["value"] == "en" and s["shop.notice"]["value"] == ""  # all or nothing
