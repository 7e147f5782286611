"""Mail that arrives: the From display name (RFC 2047) with the bare address in the envelope,
long key lines wrapped (quoted-printable, 7-bit on the wire), the buyer's language, the server's
refusal in the job's error, and the [smtp] settings checked at load.

Against the aiosmtpd sink (tests/fakes/smtp_sink.py); the real MTA with STARTTLS is in
test_mail_mta.py."""

import re

import pytest

from fakes.fixtures import epay, sink  # noqa: F401 (pytest fixtures)
from fakes.shop_setup import make_keys, start_shop, wait_until

FROM = "卡密小店 <shop@example.com>"


def paid_mail(shop, sink, keys, **order):  # noqa: F811
    pid = shop.admin.product(name="Steam 充值卡", price=990, keys=keys)
    o = shop.order_ok(pid, len(keys), **order)
    assert shop.pay(o) == "success"
    return o, sink.wait_for(lambda m: o["order_no"] in m.subject, timeout=10)[0]


def assert_wire_safe(raw):
    assert all(b < 0x80 for b in raw), "8-bit bytes on the wire without 8BITMIME"
    lines = raw.split(b"\r\n")
    assert max(len(line) for line in lines) <= 998
    assert max(len(line) for line in raw.split(b"\r\n\r\n", 1)[1].split(b"\r\n")) <= 76


def test_display_name_from_and_bare_envelope(make_server, epay, sink):  # noqa: F811
    shop = start_shop(make_server, epay=epay, sink=sink, extra={"smtp": {"from": FROM}})
    o, m = paid_mail(shop, sink, make_keys(1))
    assert m.mail_from == "shop@example.com"  # MAIL FROM: the address alone
    raw_headers = m.raw.split(b"\r\n\r\n", 1)[0].decode("ascii")
    assert re.search(r"^From: =\?UTF-8\?B\?[A-Za-z0-9+/=]+\?=", raw_headers, re.M), raw_headers
    assert m.message["From"].addresses[0].display_name == "卡密小店"
    assert m.message["From"].addresses[0].addr_spec == "shop@example.com"
    assert "@example.com>" in m.message["Message-ID"]


def test_long_key_lines_are_wrapped_and_the_body_is_7bit(make_server, epay, sink):  # noqa: F811
    shop = start_shop(make_server, epay=epay, sink=sink)
    keys = ["K" * 3000 + "=end", "卡密" * 600]
    o, m = paid_mail(shop, sink, keys)
    parts = [p for p in m.message.walk() if not p.is_multipart()]
    assert [p.get_content_type() for p in parts] == ["text/plain", "text/html"]
    assert all(p["Content-Transfer-Encoding"] == "quoted-printable" for p in parts)
    assert_wire_safe(m.raw)
    body = m.body
    for k in keys:
        assert k in body.splitlines() or ("  " + k) in body.splitlines(), k[:20]
        assert k in m.html, k[:20]


def test_zh_order_gets_a_chinese_mail_and_en_stays_english(make_server, epay, sink):  # noqa: F811
    shop = start_shop(make_server, epay=epay, sink=sink)
    zh, mzh = paid_mail(shop, sink, make_keys(1, "ZH"), lang="zh-CN")
    assert "订单" in mzh.subject and "已发货" in mzh.subject, mzh.subject
    assert "您的卡密" in mzh.body and "Your keys" not in mzh.body
    assert shop.order_row(zh["order_no"])["lang"] == "zh-CN"
    en, men = paid_mail(shop, sink, make_keys(1, "EN"))
    assert "Your keys" in men.body and "您的卡密" not in men.body
    assert shop.order_row(en["order_no"])["lang"] == "en"
    hdr, mhdr = paid_mail(shop, sink, make_keys(1, "HD"),
                          headers={"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.8"})
    assert "您的卡密" in mhdr.body
    assert shop.order_row(hdr["order_no"])["lang"] == "zh-CN"
    pid = shop.admin.product(price=990, keys=1)
    assert shop.order(pid, lang="fr").status == 400


def test_the_servers_refusal_is_in_the_job_error(make_server, epay, sink):  # noqa: F811
    sink.refuse_rcpt = "550 5.1.1 <buyer@example.com>: mailbox unavailable here"
    shop = start_shop(make_server, epay=epay, sink=sink)
    pid = shop.admin.product(price=990, keys=1)
    o = shop.order_ok(pid)
    assert shop.pay(o) == "success"
    jobs = wait_until(lambda: [j for j in shop.jobs("order_mail") if j["last_error"]], 10,
                      message="the mail job to fail")
    err = jobs[0]["last_error"]
    assert "550 5.1.1" in err and "mailbox unavailable here" in err, err


@pytest.mark.parametrize("smtp, message", [
    ({"from": "卡密小店 shop@example.com"}, "[smtp] from"),
    ({"from": "Shop <not an address>"}, "[smtp] from"),
    ({"tls": "maybe"}, "[smtp] tls"),
    ({"tls": "none", "url": "smtp://mail.example.com:25"}, "[smtp] tls"),
])
def test_bad_smtp_settings_are_refused_at_load(make_server, smtp, message):
    srv = make_server({"smtp": smtp}, start=False)
    p = srv.cli("migrate")
    assert p.returncode != 0 and message in p.stderr, p.stderr
