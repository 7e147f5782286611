"""Outgoing notifications ([notify]): the signed webhook (signature checked here with hmac, the
exact body bytes, retries after a 500 with the same id, the first within 10 s), Telegram
messages through a fake Bot API, the merchant's sale mail, product.low_stock once per crossing,
and nothing at all when nothing is set up. No secret in any log line or job error."""

import hashlib
import hmac
import time

import pytest

import harness
from fakes.fixtures import epay, sink  # noqa: F401 (pytest fixtures)
from fakes.shop_setup import make_keys, start_shop, wait_until
from fakes.webhook_sink import WebhookSink

SECRET = "whsec-test-0123456789abcdef"
BOT_TOKEN = "123456:TEST-bot-token-never-logged"
CHAT_ID = "-1001234567"
ALERT_TO = "merchant@example.com"


@pytest.fixture
def hook():
    h = WebhookSink(bot_token=BOT_TOKEN).start()
    yield h
    h.stop()


def notify_shop(make_server, epay, sink, hook, *, low_stock=0, shop=None, **notify):  # noqa: F811
    cfg = {"webhook_url": hook.url, "webhook_secret": SECRET, "telegram_bot_token": BOT_TOKEN,
           "telegram_chat_id": CHAT_ID, "telegram_api_url": hook.api_url, "mail_on_sale": True,
           "low_stock": low_stock}
    cfg.update(notify)
    return start_shop(make_server, epay=epay, sink=sink, shop={"alert_email": ALERT_TO, **(shop or {})},
                      extra={"notify": cfg})


def check_signature(req, secret=SECRET):
    """X-Cardshop-Signature: t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">."""
    parts = dict(p.split("=", 1) for p in req.headers["x-cardshop-signature"].split(","))
    assert set(parts) == {"t", "v1"}, parts
    t = parts["t"]
    assert t.isdigit() and abs(int(t) - time.time()) < 300, t
    want = hmac.new(secret.encode(), t.encode() + b"." + req.body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(parts["v1"], want), (parts, req.body)
    assert req.headers["content-type"].startswith("application/json")


def events(hook, name, order_no=None):
    def match(r):
        ev = r.json()
        return ev["event"] == name and (order_no is None or ev["data"].get("order_no") == order_no)
    return [r for r in list(hook.requests) if match(r)]


def wait_event(hook, name, order_no=None, count=1, timeout=15.0):
    """The first count distinct events (by id) of that name, each once answered 200."""
    def done():
        ok = {}
        for r in events(hook, name, order_no):
            if r.status == 200:
                ok.setdefault(r.json()["id"], r)
        return list(ok.values()) if len(ok) >= count else None
    return wait_until(done, timeout, message=f"{count} {name} event(s)")


def buy(shop, pid, quantity=1):
    o = shop.order_ok(pid, quantity)
    assert shop.pay(o) == "success"
    return o


def no_secret_anywhere(shop):
    log = shop.srv.log_text()
    errors = " ".join(str(j["last_error"]) for j in shop.jobs())
    for secret in (SECRET, BOT_TOKEN):
        assert secret not in log and secret not in errors


def test_paid_and_delivered_events_signed_retried_with_same_id(make_server, epay, sink, hook):  # noqa: F811
    shop = notify_shop(make_server, epay, sink, hook)
    pid = shop.admin.product(name="Steam 100", price=1250, keys=3)
    hook.fail_next(1, status=500)
    hook.fail_telegram(1)
    o = buy(shop, pid, 2)

    paid = wait_event(hook, "order.paid", o["order_no"])[0]
    tries = events(hook, "order.paid", o["order_no"])
    assert [r.status for r in tries] == [500, 200], tries
    # The same bytes (so the same id) on the retry, each try signed over exactly those bytes.
    assert tries[0].body == tries[1].body
    for r in tries:
        check_signature(r)
    assert tries[1].received_at - tries[0].received_at < 10
    ev = paid.json()
    assert set(ev) == {"id", "event", "created_at", "data"}
    assert ev["id"].startswith("evt_") and len(ev["id"]) > 12
    assert abs(ev["created_at"] - time.time()) < 60
    data = ev["data"]
    assert data["order_no"] == o["order_no"] and data["amount"] == 2500 and data["currency"] == "CNY"
    assert data["product_id"] == pid and data["quantity"] == 2 and data["status"] == "delivered"
    assert paid.headers.get("x-cardshop-event") == "order.paid"

    delivered = wait_event(hook, "order.delivered", o["order_no"])[0]
    check_signature(delivered)
    assert delivered.json()["id"] != ev["id"]
    assert delivered.json()["data"]["status"] == "delivered"

    # Telegram: one message for the sale (the delivery came with it), after one refused try.
    msg = hook.wait_message(lambda m: o["order_no"] in m["text"])
    assert msg["chat_id"] == CHAT_ID and "paid" in msg["text"] and "Steam 100" in msg["text"]
    assert "parse_mode" not in msg
    assert [r.status for r in hook.telegram] == [500, 200]
    assert len([m for m in hook.messages if o["order_no"] in m["text"]]) == 1

    # The merchant's sale mail ([notify] mail_on_sale) beside the buyer's.
    mail = sink.wait_for(lambda m: ALERT_TO in m.rcpt_tos, timeout=10)[0]
    assert o["order_no"] in mail.subject and "Sale" in mail.subject
    assert "25.00 CNY" in mail.subject + mail.body
    no_secret_anywhere(shop)


def test_manual_order_paid_then_delivered_by_the_merchant(make_server, epay, sink, hook):  # noqa: F811
    shop = notify_shop(make_server, epay, sink, hook)
    pid = shop.admin.product(name="Hand made", price=1000, delivery="manual")
    o = buy(shop, pid, 1)
    paid = wait_event(hook, "order.paid", o["order_no"])[0].json()
    assert paid["data"]["status"] == "paid"
    assert not events(hook, "order.delivered", o["order_no"])

    r = shop.admin.call("POST", f"/api/admin/orders/{o['order_no']}/deliver", body="HAND-KEY-1\n",
                        headers={"Content-Type": "text/plain"})
    assert r.status == 200, r
    delivered = wait_event(hook, "order.delivered", o["order_no"])[0]
    check_signature(delivered)
    assert delivered.json()["data"]["status"] == "delivered"
    # A later delivery is news in the chat; no key ever goes out in an event.
    hook.wait_message(lambda m: o["order_no"] in m["text"] and "delivered" in m["text"])
    assert all(b"HAND-KEY-1" not in r.body for r in hook.requests)
    assert all("HAND-KEY-1" not in m["text"] for m in hook.messages)

    # A free order (100% coupon) is settled at once: paid, then delivered.
    auto = shop.admin.product(name="Free card", price=500, keys=2)
    shop.admin.coupon("ALLFREE", "percent", 100)
    free = shop.order_ok(auto, 1, coupon="ALLFREE")
    assert free["status"] == "delivered"
    assert wait_event(hook, "order.paid", free["order_no"])[0].json()["data"]["amount"] == 0
    wait_event(hook, "order.delivered", free["order_no"])


def test_low_stock_fires_once_per_crossing(make_server, epay, sink, hook):  # noqa: F811
    shop = notify_shop(make_server, epay, sink, hook, low_stock=2, mail_on_sale=False,
                       telegram_bot_token="")
    pid = shop.admin.product(name="Low card", price=500, keys=4)
    buy(shop, pid)  # 3 left: above the threshold
    o2 = buy(shop, pid)  # 2 left: at it
    low = wait_event(hook, "product.low_stock")
    assert len(low) == 1
    check_signature(low[0])
    data = low[0].json()["data"]
    assert data["id"] == pid and data["name"] == "Low card" and data["stock"] == 2
    assert data["low_stock"] == 2
    # product.low_stock is put with order.paid and before order.delivered: once that arrived,
    # a second low-stock event of the same sale would have arrived too.
    wait_event(hook, "order.delivered", o2["order_no"])
    o3 = buy(shop, pid)  # 1 left: still below, no second event
    wait_event(hook, "order.delivered", o3["order_no"])
    assert len(events(hook, "product.low_stock")) == 1

    shop.admin.add_keys(pid, make_keys(3))  # 4 left: re-armed
    o4 = buy(shop, pid)  # 3 left: above
    wait_event(hook, "order.delivered", o4["order_no"])
    assert len(events(hook, "product.low_stock")) == 1
    buy(shop, pid)  # 2 left: crossed again
    low = wait_event(hook, "product.low_stock", count=2)
    assert sorted(r.json()["data"]["stock"] for r in low) == [2, 2]
    assert len({r.json()["id"] for r in low}) == 2
    assert shop.jobs("telegram") == []  # no token: no Telegram job at all


def test_paid_undelivered_event_alert_and_telegram(make_server, epay, sink, hook):  # noqa: F811
    shop = notify_shop(make_server, epay, sink, hook, shop={"order_ttl": 2}, mail_on_sale=False)
    pid = shop.admin.product(name="Scarce", price=990, keys=1)
    late = shop.order_ok(pid, 1)
    shop.open_pay_url(late)
    shop.wait_status(late["order_no"], "expired", timeout=8)
    shop.order_ok(pid, 1)  # takes the only key
    assert shop.epay.pay(late["order_no"]) == "success"

    ev = wait_event(hook, "order.paid_undelivered", late["order_no"])[0]
    check_signature(ev)
    assert ev.json()["data"]["status"] == "paid_undelivered"
    assert not events(hook, "order.paid", late["order_no"])
    hook.wait_message(lambda m: late["order_no"] in m["text"] and "ALERT" in m["text"])
    alert = sink.wait_for(lambda m: ALERT_TO in m.rcpt_tos, timeout=10)[0]
    assert late["order_no"] in alert.subject and "paid_undelivered" in alert.subject + alert.body


def test_unreachable_receiver_is_paused_not_waited_for_per_event(make_server, epay, sink):  # noqa: F811
    down = f"http://127.0.0.1:{harness.free_port()}/hook"  # nothing listens there
    shop = start_shop(make_server, epay=epay, sink=sink,
                      extra={"notify": {"webhook_url": down, "webhook_secret": SECRET}})
    pid = shop.admin.product(price=700, keys=2)
    o = buy(shop, pid)
    # The buyer's mail is not held back by the receiver being down.
    sink.wait_for(lambda m: o["order_no"] in m.subject, timeout=10)

    def errors():
        errs = [j["last_error"] for j in shop.jobs("webhook")]
        return errs if len(errs) == 2 and all(errs) else None
    errs = wait_until(errors, 10, message="both webhook jobs tried")
    assert errs[0].startswith("webhook: ") and "unreachable" not in errs[0], errs
    assert "unreachable a moment ago" in errs[1], errs
    assert all(j["status"] == "queued" for j in shop.jobs("webhook"))  # retried later
    assert down not in shop.srv.log_text() and SECRET not in shop.srv.log_text()


def test_nothing_is_sent_when_nothing_is_set_up(make_server, epay, sink):  # noqa: F811
    shop = start_shop(make_server, epay=epay, sink=sink, shop={"alert_email": ALERT_TO})
    pid = shop.admin.product(price=700, keys=2)
    o = buy(shop, pid)
    sink.wait_for(lambda m: o["order_no"] in m.subject and m.rcpt_tos == ["buyer@example.com"], timeout=10)
    kinds = [j["kind"] for j in shop.jobs()]
    assert kinds == ["order_mail"], kinds  # no webhook, no Telegram, no sale mail (off by default)
    assert not [m for m in sink.messages if ALERT_TO in m.rcpt_tos]


def test_webhook_url_needs_its_secret(tmp_path):
    for notify, needle in (({"webhook_url": "http://127.0.0.1:9/hook"}, "webhook_secret"),
                           ({"webhook_url": "ftp://x/", "webhook_secret": "s"}, "webhook_url"),
                           ({"telegram_api_url": "file:///etc"}, "telegram_api_url")):
        ini = harness.write_ini(tmp_path / "bad.ini", {"database": {"path": str(tmp_path / "db.sqlite")},
                                                       "security": {"secret_file": str(tmp_path / "s.key")},
                                                       "notify": notify})
        p = harness.run_cli(["--config", str(ini), "migrate"], cwd=tmp_path, timeout=10)
        assert p.returncode != 0 and needle in p.stderr, (notify, p.stderr)


def test_refund_sends_order_refunded(make_server, epay, sink, hook):  # noqa: F811
    shop = notify_shop(make_server, epay, sink, hook)
    pid = shop.admin.product(name="Refund me", price=700, keys=2)
    o = buy(shop, pid)
    wait_event(hook, "order.delivered", o["order_no"])
    r = shop.admin.call("POST", f"/api/admin/orders/{o['order_no']}/refund", json={"note": "asked"})
    assert r.status == 200, r.body
    ev = wait_event(hook, "order.refunded", o["order_no"])[0]
    check_signature(ev)
    data = ev.json()["data"]
    assert data["status"] == "refunded" and data["amount"] == 700 and data["product_id"] == pid
    # A refused repeat sends nothing more.
    assert shop.admin.call("POST", f"/api/admin/orders/{o['order_no']}/refund", json={}).status == 409
    time.sleep(1.5)
    assert len({r.json()["id"] for r in events(hook, "order.refunded", o["order_no"])}) == 1


def test_low_stock_event_follows_the_products_own_threshold_and_skips_loop(make_server, epay, sink, hook):  # noqa: F811
    """The product's low_stock (the admin's column) is its threshold; [notify] low_stock is the
    default of products without one; a loop product (one key for everyone) never runs low."""
    shop = notify_shop(make_server, epay, sink, hook, low_stock=1, mail_on_sale=False,
                       telegram_bot_token="")
    own = shop.admin.product(name="Own threshold", price=500, keys=5, low_stock=3)
    loop = shop.admin.product(name="Loop card", price=500, keys=1, loop=True)
    o_loop = buy(shop, loop)  # its one key stays available: 1, at the default threshold
    wait_event(hook, "order.delivered", o_loop["order_no"])
    o1 = buy(shop, own)  # 4 left: above its own 3 (the default 1 would stay quiet too)
    wait_event(hook, "order.delivered", o1["order_no"])
    assert events(hook, "product.low_stock") == []
    buy(shop, own)  # 3 left: at its own threshold, far above the default
    low = wait_event(hook, "product.low_stock")
    data = low[0].json()["data"]
    assert data["id"] == own and data["stock"] == 3 and data["low_stock"] == 3
    assert all(r.json()["data"]["id"] != loop for r in events(hook, "product.low_stock"))
