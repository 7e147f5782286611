"""The buyer's mail as multipart/alternative: a plain-text and an HTML part, both UTF-8, in the
order's language, from the built-in templates or the merchant's (settings keys
mail.template.<name>.<lang>); every value escaped in the HTML part, the keys in a <pre> block."""

import html.parser

from fakes.fixtures import epay, sink  # noqa: F401 (pytest fixtures)
from fakes.shop_setup import make_keys, start_shop

NASTY = "<b>&\"'"
NASTY_HTML = "&lt;b&gt;&amp;&quot;&#39;"


class Pre(html.parser.HTMLParser):
    """The text of every <pre> block, and whether any <b> element was made."""

    def __init__(self):
        super().__init__()
        self.pres, self.tags, self._in = [], [], False

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        if tag == "pre":
            self._in = True
            self.pres.append("")

    def handle_endtag(self, tag):
        if tag == "pre":
            self._in = False

    def handle_data(self, data):
        if self._in:
            self.pres[-1] += data


def parts_of(m):
    leaves = [p for p in m.message.walk() if not p.is_multipart()]
    return {p.get_content_type(): p for p in leaves}, leaves


def buy(shop, sink, *, name, keys, **order):  # noqa: F811
    pid = shop.admin.product(name=name, price=1234, keys=keys)
    o = shop.order_ok(pid, len(keys), **order)
    assert shop.pay(o) == "success"
    return o, sink.wait_for(lambda m: o["order_no"] in m.subject, timeout=10)[0]


def test_delivery_mail_has_a_text_and_an_escaped_html_part(make_server, epay, sink):  # noqa: F811
    shop = start_shop(make_server, epay=epay, sink=sink, shop={"name": "Shop & <Co>"})
    keys = make_keys(2, "K<&>")
    o, m = buy(shop, sink, name=NASTY, keys=keys)
    assert m.message.get_content_type() == "multipart/alternative"
    assert m.message["Content-Language"] == "en"
    parts, leaves = parts_of(m)
    assert [p.get_content_type() for p in leaves] == ["text/plain", "text/html"]
    assert all(p.get_content_charset() == "utf-8" for p in leaves)

    text = parts["text/plain"].get_content().replace("\r\n", "\n")
    assert NASTY in text and "Shop & <Co>" in text and o["order_no"] in text
    assert "24.68 CNY" in text and "Your keys" in text
    assert all(("  " + k) in text.splitlines() for k in keys)

    page = parts["text/html"].get_content().replace("\r\n", "\n")
    assert NASTY not in page and NASTY_HTML in page
    assert "Shop &amp; &lt;Co&gt;" in page
    p = Pre()
    p.feed(page)
    assert "b" not in p.tags  # the product name made no element
    assert p.pres == ["\n".join(keys)]  # the keys, unescaped by the parser, in one <pre>
    assert all(k not in page for k in keys)  # only in their escaped form
    url = f"{shop.srv.base_url}/shop/order?order_no={o['order_no']}&amp;token={o['token']}"
    assert f'<a href="{url}">' in page
    assert "Your keys" in page and 'lang="en"' in page


def test_zh_order_gets_chinese_in_both_parts(make_server, epay, sink):  # noqa: F811
    shop = start_shop(make_server, epay=epay, sink=sink, shop={"name": "卡密小店"})
    o, m = buy(shop, sink, name="月卡", keys=make_keys(1, "ZH"), lang="zh-CN")
    assert m.message["Content-Language"] == "zh-CN"
    assert "已发货" in m.subject and "卡密小店" in m.subject
    parts, _ = parts_of(m)
    assert "您的卡密" in parts["text/plain"].get_content()
    assert "¥12.34" in parts["text/plain"].get_content()  # the amount as the shop writes it
    page = parts["text/html"].get_content().replace("\r\n", "\n")
    assert "您的卡密" in page and 'lang="zh-CN"' in page and "Your keys" not in page


def test_merchant_templates_override_the_defaults_per_language(make_server, epay, sink):  # noqa: F811
    shop = start_shop(make_server, epay=epay, sink=sink)
    with shop.srv.db() as c:
        c.executemany("INSERT INTO settings (key, value) VALUES (?, ?)", [
            ("mail.template.delivery_subject.en", "Your {product} from {shop_name} ({order_no}, {status})"),
            ("mail.template.delivery_body.en",
             "Hello!\n\n{product} x {quantity} for {amount}:\n{keys}\nSee {order_url}\n"),
            # a stored text with an unknown placeholder (edited by hand) is not used
            ("mail.template.delivery_body.zh-CN", "{bogus} {keys} {order_url}"),
            ("mail.template.delivery_subject.zh-CN", "{status}：{order_no}"),
        ])
    keys = make_keys(1, "TPL")
    o, m = buy(shop, sink, name=NASTY, keys=keys)
    assert m.subject == f"Your {NASTY} from Test Shop ({o['order_no']}, delivered)"
    parts, _ = parts_of(m)
    text = parts["text/plain"].get_content().replace("\r\n", "\n")
    assert text.startswith("Hello!\n\n") and f"{NASTY} x 1 for 12.34 CNY:" in text
    assert "  " + keys[0] in text.splitlines() and "Your keys" not in text
    page = parts["text/html"].get_content().replace("\r\n", "\n")
    assert f"{NASTY_HTML} x 1 for 12.34 CNY:" in page and NASTY not in page
    p = Pre()
    p.feed(page)
    assert p.pres == [keys[0]]

    zh, mzh = buy(shop, sink, name="Z", keys=make_keys(1, "TZH"), lang="zh-CN")
    assert "{bogus}" not in mzh.body and "您的卡密" in mzh.body  # the built-in text instead
    assert mzh.subject == f"已发货：{zh['order_no']}"  # {status} in the buyer's language


def test_manual_product_gets_the_paid_mail_without_keys(make_server, epay, sink):  # noqa: F811
    shop = start_shop(make_server, epay=epay, sink=sink)
    pid = shop.admin.product(name="By hand", price=500, delivery="manual")
    o = shop.order_ok(pid, 1)
    assert shop.pay(o) == "success"
    m = sink.wait_for(lambda m: o["order_no"] in m.subject, timeout=10)[0]
    assert "paid" in m.subject
    parts, _ = parts_of(m)
    assert "will deliver your order shortly" in parts["text/plain"].get_content()
    page = parts["text/html"].get_content().replace("\r\n", "\n")
    assert "will deliver your order shortly" in page and "<pre" not in page
