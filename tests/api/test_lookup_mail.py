"""Lookup by email alone (POST /api/orders/lookup {"email"}): 202 {"status": "sent"} whether or
not the address has orders; the links to its recent orders go by mail (the sink), in the
language of its newest order, without keys; one mail per address per 10 minutes; the
password lookup unchanged."""

import re
import urllib.parse

import harness
from fakes.fixtures import epay, sink  # noqa: F401 (pytest fixtures)
from fakes.shop_setup import make_keys, start_shop, wait_until

NASTY = 'Card <b>"&\'</b>'
NASTY_HTML = "Card &lt;b&gt;&quot;&amp;&#39;&lt;/b&gt;"


def lookup(shop, body):
    return shop.srv.request("POST", "/api/orders/lookup", json=body, use_cookies=False)


def links_in(text):
    return re.findall(r"https?://[^\s\"<>]+/shop/order\?[^\s\"<>]+", text)


def parts_of(m):
    return {p.get_content_type(): p.get_content().replace("\r\n", "\n") for p in m.message.walk()
            if not p.is_multipart()}


def test_email_alone_mails_the_links_once_and_tells_nothing(make_server, epay, sink):  # noqa: F811
    shop = start_shop(make_server, epay=epay, sink=sink)
    keys = make_keys(4, "LKP")
    pid = shop.admin.product(name=NASTY, price=1234, keys=keys)
    first = shop.order_ok(pid, email="Erin@Example.com")
    assert shop.pay(first) == "success"
    second = shop.order_ok(pid, email="erin@example.com")
    assert shop.pay(second) == "success"
    pending = shop.order_ok(pid, email="ERIN@example.com")  # not paid: listed with its status
    other = shop.order_ok(pid, email="someone@example.com")

    r = lookup(shop, {"email": "erin@EXAMPLE.com"})
    assert r.status == 202 and r.json() == {"status": "sent"}, r
    m = sink.wait_for(lambda m: "Your orders" in m.subject, timeout=10)[0]
    assert m.rcpt_tos[0].lower() == "erin@example.com"
    assert m.message["Content-Language"] == "en"
    parts = parts_of(m)
    text, page = parts["text/plain"], parts["text/html"]
    nos = [first["order_no"], second["order_no"], pending["order_no"]]
    for no in nos:
        assert no in text and no in page
    assert other["order_no"] not in text + page  # only this address's orders
    # newest first
    assert text.index(pending["order_no"]) < text.index(second["order_no"]) < text.index(first["order_no"])
    assert "awaiting payment" in text and "delivered" in text and "12.34 CNY" in text
    # no card key in either part
    delivered = shop.view_ok(first)["keys"] + shop.view_ok(second)["keys"]
    assert len(delivered) == 2
    assert not any(k in text or k in page for k in keys)
    # every value escaped in the HTML part
    assert NASTY in text and NASTY not in page and NASTY_HTML in page
    # the links work: each one's token opens its order
    urls = links_in(text)
    assert len(urls) == 3, text
    for u in urls:
        link = urllib.parse.urlsplit(u)
        assert f"{link.scheme}://{link.netloc}" == shop.srv.base_url and link.path == "/shop/order"
        q = dict(urllib.parse.parse_qsl(link.query))
        v = shop.view(q["order_no"], q["token"])
        assert v.status == 200 and v.json()["order_no"] == q["order_no"], v
    assert [urllib.parse.unquote(u.replace("&amp;", "&")) for u in links_in(page)] == urls
    wait_until(lambda: [j["status"] for j in shop.jobs("lookup_mail")] == ["done"], 5,
               message="the lookup mail job to be done")

    # Within the window: the same answer, nothing queued (the job is put in the request's commit).
    again = lookup(shop, {"email": "ERIN@example.COM"})
    assert again.status == 202 and again.body == r.body
    assert len(shop.jobs("lookup_mail")) == 1

    # An address without orders: the same answer, no job, no mail.
    unknown = lookup(shop, {"email": "nobody@example.com"})
    assert unknown.status == 202 and unknown.body == r.body
    assert len(shop.jobs("lookup_mail")) == 1
    # the window's state holds hashes only, never an address
    rows = shop.rows("SELECT * FROM lookup_mail_sent")
    assert len(rows) == 2 and not any("@" in row["email_hash"] for row in rows)

    assert lookup(shop, {"email": "not an address"}).status == 400
    assert lookup(shop, {"email": 5}).status == 400
    assert len(sink.matching(lambda m: "Your orders" in m.subject)) == 1


def test_mail_in_the_newest_orders_language_and_password_lookup_unchanged(make_server, epay, sink):  # noqa: F811
    shop = start_shop(make_server, epay=epay, sink=sink, shop={"name": "卡密小店"})
    pid = shop.admin.product(name="月卡", price=1234, keys=make_keys(2, "ZH"))
    old = shop.order_ok(pid, email="li@example.com", lang="en", query_password="secret-pw")
    assert shop.pay(old) == "success"
    new = shop.order_ok(pid, email="li@example.com", lang="zh-CN")

    r = lookup(shop, {"email": "li@example.com"})
    assert r.status == 202 and r.json() == {"status": "sent"}
    m = sink.wait_for(lambda m: "您的订单" in m.subject, timeout=10)[0]
    assert "卡密小店" in m.subject and m.message["Content-Language"] == "zh-CN"
    parts = parts_of(m)
    assert "待付款" in parts["text/plain"] and "已发货" in parts["text/plain"]
    assert "¥12.34" in parts["text/plain"]
    assert 'lang="zh-CN"' in parts["text/html"] and "订单页面" in parts["text/html"]
    assert old["order_no"] in parts["text/plain"] and new["order_no"] in parts["text/plain"]

    # The query password stays the instant way, exactly as before.
    found = lookup(shop, {"email": "LI@example.com", "query_password": "secret-pw"})
    assert found.status == 200, found
    assert [o["order_no"] for o in found.json()["orders"]] == [old["order_no"]]
    assert found.json()["orders"][0]["token"] == old["token"]
    wrong = lookup(shop, {"email": "li@example.com", "query_password": "wrong-pw"})
    assert wrong.status == 200 and wrong.json()["orders"] == []
    assert lookup(shop, {"email": "li@example.com", "query_password": 1}).status == 400
    assert lookup(shop, {"query_password": "secret-pw"}).status == 400


def test_email_alone_is_behind_the_routes_challenge_and_rate_limit(make_server, epay, sink):  # noqa: F811
    shop = start_shop(make_server, epay=epay, sink=sink,
                      extra={"security": {"challenge_lookups_per_minute": 0, "challenge_difficulty": 8}})
    pid = shop.admin.product(price=500, keys=1)
    shop.order_ok(pid, email="sam@example.com")

    def ask(headers=None):
        return shop.srv.request("POST", "/api/orders/lookup", json={"email": "sam@example.com"},
                                headers=headers, use_cookies=False)

    r = ask()
    assert r.status == 428 and r.json()["error"]["code"] == "challenge_required", r
    assert shop.jobs("lookup_mail") == [] and shop.value("SELECT count(*) FROM lookup_mail_sent") == 0
    ch = r.json()["challenge"]
    r = ask({"X-Challenge": harness.solve_challenge(ch["token"], ch["difficulty"])})
    assert r.status == 202 and r.json() == {"status": "sent"}, r
    assert len(shop.jobs("lookup_mail")) == 1
    sink.wait_for(lambda m: "Your orders" in m.subject, timeout=10)
    # 10 lookups a minute from one client, whichever form: the next one is refused.
    answers = [ask().status for _ in range(9)]
    assert answers == [428] * 8 + [429], answers
    assert len(shop.jobs("lookup_mail")) == 1
