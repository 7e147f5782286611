"""Mail: the buyer's delivery mail at a real SMTP server (the sink), its contents and link, and
delivery through the durable job queue when the SMTP server is down at first."""

import re
import time
import urllib.parse

from fakes.fixtures import epay, idle_sink, sink  # noqa: F401 (pytest fixtures)
from fakes.shop_setup import SHOP_FROM, make_keys, start_shop, wait_until

ENCODED_WORD = re.compile(r"=\?[^?]+\?[BbQq]\?[^?]*\?=")


def mails_for(sink, order_no):  # noqa: F811
    return sink.matching(lambda m: order_no in m.subject)


def test_delivery_mail_has_the_order_the_keys_and_a_working_link(make_server, epay, sink):  # noqa: F811
    shop = start_shop(make_server, epay=epay, sink=sink, shop={"name": "卡密小店"})
    keys = make_keys(3)
    pid = shop.admin.product(name="Steam 充值卡", price=4999, keys=keys)
    o = shop.order_ok(pid, 2, email="erin@example.com")
    assert shop.pay(o) == "success"
    delivered = shop.view_ok(o)["keys"]
    assert len(delivered) == 2

    m = sink.wait_for(lambda m: o["order_no"] in m.subject, timeout=10)[0]
    assert m.mail_from == SHOP_FROM
    assert m.rcpt_tos == ["erin@example.com"]
    assert SHOP_FROM in m.from_header and "erin@example.com" in m.to
    assert m.message["Date"] and m.message["Message-ID"]
    assert "卡密小店" in m.subject  # UTF-8 subject, RFC 2047 decoded by the parser
    assert "=?" not in m.subject
    body = m.body
    assert o["order_no"] in body
    for k in delivered:
        assert k in body, body
    assert not any(k in body for k in set(keys) - set(delivered))  # only this order's keys
    assert "99.98" in body  # the amount (2 x 49.99), in major units
    links = re.findall(r"https?://\S+/shop/order\?\S+", body)
    assert len(links) == 1, body
    link = urllib.parse.urlsplit(links[0])
    assert f"{link.scheme}://{link.netloc}" == shop.srv.base_url
    q = dict(urllib.parse.parse_qsl(link.query))
    assert q["order_no"] == o["order_no"] and q["token"] == o["token"]
    assert shop.view(q["order_no"], q["token"]).status == 200  # the link's token opens the order

    wait_until(lambda: [j["status"] for j in shop.jobs("order_mail")] == ["done"], 5,
               message="the mail job to be done")
    time.sleep(1.0)
    assert len(mails_for(sink, o["order_no"])) == 1


def test_subject_encoded_words_respect_rfc2047_length(make_server, epay, sink):  # noqa: F811
    """RFC 2047: an encoded-word is at most 75 characters; a longer subject is several words on
    folded lines (regression: it used to be one long word)."""
    shop = start_shop(make_server, epay=epay, sink=sink, shop={"name": "cardshop"})
    pid = shop.admin.product(price=990, keys=1)
    o = shop.order_ok(pid)
    assert shop.pay(o) == "success"
    m = sink.wait_for(lambda m: o["order_no"] in m.subject, timeout=10)[0]
    raw_headers = m.raw.split(b"\r\n\r\n", 1)[0].decode("ascii")
    subject = re.search(r"^Subject:(.*(?:\r\n[ \t].*)*)", raw_headers, re.M | re.I).group(1)
    words = ENCODED_WORD.findall(subject)
    assert words, subject
    assert all(len(w) <= 75 for w in words), [len(w) for w in words]
    assert all(len(line) <= 78 for line in ("Subject:" + subject).split("\r\n")), subject


def test_mail_waits_for_smtp_and_arrives_exactly_once(make_server, epay, idle_sink):  # noqa: F811
    """SMTP is down when the order is paid; it comes up ~3 s later on the same address. The job
    queue retries (2 s, 4 s, ...) and the mail arrives once."""
    sink = idle_sink
    shop = start_shop(make_server, epay=epay, sink=sink)
    pid = shop.admin.product(price=990, keys=2)
    o = shop.order_ok(pid)
    t0 = time.monotonic()
    assert shop.pay(o) == "success"  # the buyer's payment never waits for mail
    assert time.monotonic() - t0 < 2
    assert shop.status(o["order_no"]) == "delivered"

    failed = wait_until(lambda: [j for j in shop.jobs("order_mail") if j["attempts"] >= 1 and j["last_error"]],
                        5, message="a failed first attempt")
    assert failed[0]["status"] == "queued"  # to be retried, not given up
    time.sleep(max(0.0, 3.0 - (time.monotonic() - t0)))
    sink.start()

    m = sink.wait_for(lambda m: o["order_no"] in m.subject, timeout=15)[0]
    assert o["order_no"] in m.body
    job = wait_until(lambda: [j for j in shop.jobs("order_mail") if j["status"] == "done"], 5,
                     message="the mail job to be done")
    assert len(shop.jobs("order_mail")) == 1
    assert job[0]["attempts"] >= 2
    time.sleep(1.5)
    assert len(mails_for(sink, o["order_no"])) == 1, sink.snapshot()


def test_mail_jobs_survive_a_restart(make_server, epay, idle_sink):  # noqa: F811
    """A mail still queued when the server stops is sent after it starts again (durable jobs)."""
    sink = idle_sink
    shop = start_shop(make_server, epay=epay, sink=sink)
    pid = shop.admin.product(price=990, keys=1)
    o = shop.order_ok(pid)
    assert shop.pay(o) == "success"
    wait_until(lambda: [j for j in shop.jobs("order_mail") if j["attempts"] >= 1], 5, message="a first attempt")
    assert shop.srv.stop() == 0
    sink.start()
    shop.srv.start()
    m = sink.wait_for(lambda m: o["order_no"] in m.subject, timeout=12)[0]
    assert m.rcpt_tos == ["buyer@example.com"]
    wait_until(lambda: [j["status"] for j in shop.jobs("order_mail")] == ["done"], 5, message="the job done")
    assert len(mails_for(sink, o["order_no"])) == 1
