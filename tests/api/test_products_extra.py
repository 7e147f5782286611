"""Products beyond price and stock: loop keys (one key for every buyer), custom input fields
asked at checkout, product images and the shop's logo, notice and contact link, and the
low-stock threshold."""

import pytest

from fakes.fixtures import epay, sink  # noqa: F401 (pytest fixtures)
from fakes.shop_setup import error_of, make_keys, start_shop, wait_until

COUNTS = ("SELECT s.available, s.reserved, s.sold,"
          # A key given to loop buyers (order_keys) stays 'available' for them but is no stock.
          " (SELECT count(*) FROM card_keys k WHERE k.product_id = p.id AND k.status = 'available'"
          "  AND NOT EXISTS (SELECT 1 FROM order_keys o WHERE o.key_id = k.id)),"
          " (SELECT count(*) FROM card_keys k WHERE k.product_id = p.id AND k.status = 'reserved'),"
          " (SELECT count(*) FROM card_keys k WHERE k.product_id = p.id AND k.status = 'sold')"
          " FROM products p JOIN product_stock s ON s.product_id = p.id WHERE p.id = ?")


def counters(shop, pid):
    a, r, s, ra, rr, rs = shop.srv.db().execute(COUNTS, (pid,)).fetchone()
    assert (a, r, s) == (ra, rr, rs), "stock counters differ from the key rows"
    return a, r, s


def public_product(shop, pid):
    r = shop.srv.request("GET", f"/api/products/{pid}", use_cookies=False)
    assert r.status == 200, r
    return r.json()


def listed(shop, pid):
    r = shop.srv.request("GET", "/api/products", use_cookies=False)
    assert r.status == 200, r
    return next(p for p in r.json()["products"] if p["id"] == pid)


# ---- loop keys ------------------------------------------------------------------------------

def test_loop_key_goes_to_every_buyer_and_is_never_sold_out(make_server, epay, sink):  # noqa: F811
    shop = start_shop(make_server, epay=epay, sink=sink)
    pid = shop.admin.product(name="Shared account", price=300, loop=True, keys=["LOOP-KEY-1", "LOOP-KEY-2"])
    assert public_product(shop, pid)["loop"] is True
    assert public_product(shop, pid)["stock"] is None and listed(shop, pid)["stock"] is None
    admin_view = shop.admin.call("GET", f"/api/admin/products/{pid}").json()
    assert admin_view["loop"] is True and admin_view["stock"] is None

    buyers = [f"b{i}@example.com" for i in range(3)]
    orders = [shop.order_ok(pid, 1, email=b) for b in buyers]
    # Nothing is reserved: the key stays on the shelf for the next buyer.
    assert counters(shop, pid) == (2, 0, 0)
    for o in orders:
        assert shop.pay(o) == "success"
        assert shop.status(o["order_no"]) == "delivered"
    for o in orders:
        assert shop.view_ok(o)["keys"] == ["LOOP-KEY-1"], "the first available key, for everyone"
    assert counters(shop, pid) == (1, 0, 0)  # the shared key is the loop buyers', no stock
    assert shop.value("SELECT count(*) FROM order_keys") == 3
    assert shop.value("SELECT count(*) FROM card_keys WHERE order_id IS NOT NULL") == 0
    # A repeat of a notify delivers nothing twice.
    assert shop.pay(orders[0]) == "success"
    assert shop.value("SELECT count(*) FROM order_keys") == 3
    for b in buyers:
        wait_until(lambda b=b: any(m.to == [b] or b in str(m.to) for m in sink.messages
                                   if "LOOP-KEY-1" in m.body), 10, message=f"mail to {b}")
    # The key given to buyers cannot be deleted from under their delivery pages.
    kid = shop.value("SELECT id FROM card_keys WHERE product_id = ? ORDER BY id LIMIT 1", (pid,))
    d = shop.admin.call("DELETE", f"/api/admin/products/{pid}/keys/{kid}")
    assert d.status == 409, d
    assert public_product(shop, pid)["stock"] is None


@pytest.mark.parametrize("qty", [0, 2, 5])
def test_loop_product_refuses_any_quantity_but_one(make_server, epay, qty):  # noqa: F811
    shop = start_shop(make_server, epay=epay)
    pid = shop.admin.product(name="Loop", price=300, loop=True, max_qty=10, keys=["ONLY-KEY"])
    r = shop.order(pid, qty)
    assert r.status == 400 and error_of(r)["code"] == "invalid_request"
    assert "quantity" in error_of(r)["message"]
    manual = shop.admin.product(name="Loop by hand", price=300, loop=True, max_qty=10, delivery="manual")
    r = shop.order(manual, qty)
    assert r.status == 400 and "quantity" in error_of(r)["message"]
    assert shop.value("SELECT count(*) FROM orders") == 0


def test_loop_product_without_a_key_is_out_of_stock(make_server, epay):  # noqa: F811
    shop = start_shop(make_server, epay=epay)
    pid = shop.admin.product(name="Loop empty", price=300, loop=True)
    r = shop.order(pid, 1)
    assert r.status == 409 and error_of(r)["code"] == "out_of_stock"
    # Switching loop off makes an ordinary product again: stock is counted.
    shop.admin.add_keys(pid, ["K-A", "K-B"])
    shop.admin.patch_product(pid, loop=False)
    assert public_product(shop, pid)["stock"] == 2
    o = shop.order_ok(pid, 2)
    assert counters(shop, pid) == (0, 2, 0)
    assert shop.pay(o) == "success"
    assert sorted(shop.view_ok(o)["keys"]) == ["K-A", "K-B"]
    assert counters(shop, pid) == (0, 0, 2)


def test_loop_free_order_and_late_payment_deliver_the_key(make_server, epay):  # noqa: F811
    shop = start_shop(make_server, epay=epay, sandbox=True, shop={"order_ttl": 1})
    pid = shop.admin.product(name="Loop", price=300, loop=True, keys=["LOOP-Z"])
    shop.admin.coupon("FREE", "percent", 100)
    free = shop.order_ok(pid, 1, gateway="sandbox", coupon="FREE")
    assert free["status"] == "delivered"
    assert shop.view_ok(free)["keys"] == ["LOOP-Z"]
    late = shop.order_ok(pid, 1, email="late@example.com")
    shop.open_pay_url(late)
    wait_until(lambda: shop.status(late["order_no"]) == "expired", 10, message="expiry")
    assert shop.pay(late) == "success"
    assert shop.status(late["order_no"]) == "delivered"
    assert shop.view_ok(late)["keys"] == ["LOOP-Z"]
    assert counters(shop, pid) == (0, 0, 0)  # given to loop buyers: never reserved again


def test_loop_key_gone_before_payment_is_paid_undelivered_then_delivered_by_hand(make_server, epay):  # noqa: F811
    shop = start_shop(make_server, epay=epay)
    pid = shop.admin.product(name="Loop", price=300, loop=True, keys=["FIRST-LOOP"])
    o = shop.order_ok(pid, 1)
    kid = shop.value("SELECT id FROM card_keys WHERE product_id = ?", (pid,))
    assert shop.admin.call("DELETE", f"/api/admin/products/{pid}/keys/{kid}").status == 200
    assert shop.pay(o) == "success"
    assert shop.status(o["order_no"]) == "paid_undelivered"
    assert shop.view_ok(o)["keys"] == []
    shop.admin.add_keys(pid, ["SECOND-LOOP"])
    r = shop.admin.call("POST", f"/api/admin/orders/{o['order_no']}/deliver", body="")
    assert r.status == 200 and r.json()["status"] == "delivered", r
    assert shop.view_ok(o)["keys"] == ["SECOND-LOOP"]
    assert counters(shop, pid) == (0, 0, 0)  # given to loop buyers: never reserved again


# ---- custom input fields --------------------------------------------------------------------

FIELDS = [{"name": "game_id", "label": "Game ID <b>", "required": True, "max_len": 5},
          {"name": "note", "label": "备注", "max_len": 10}]


def test_fields_are_validated_when_the_product_is_saved(make_server):
    shop = start_shop(make_server)
    bad = [
        ([{"name": "Bad-Name", "label": "x"}], "fields[0].name"),
        ([{"name": "a" * 33, "label": "x"}], "fields[0].name"),
        ([{"name": "a", "label": "x"}, {"name": "a", "label": "y"}], "fields[1].name"),
        ([{"name": "a", "label": "x", "max_len": 0}], "fields[0].max_len"),
        ([{"name": "a", "label": "x", "max_len": 1001}], "fields[0].max_len"),
        ([{"name": "a", "label": ""}], "fields[0].label"),
        ([{"name": "a", "label": "x", "colour": "red"}], "fields[0].colour"),
        ([{"name": f"f{i}", "label": "x"} for i in range(11)], "fields"),
        ({"name": "a"}, "fields"),
    ]
    for fields, named in bad:
        r = shop.admin.call("POST", "/api/admin/products", json={"name": "P", "price": 1, "fields": fields})
        assert r.status == 400, (fields, r)
        assert error_of(r)["message"].startswith(named), (fields, error_of(r))
    pid = shop.admin.product(name="Top-up", price=100, fields=FIELDS, keys=1)
    view = public_product(shop, pid)
    assert view["fields"] == [dict(FIELDS[0]), {**FIELDS[1], "required": False}]
    r = shop.admin.call("PATCH", f"/api/admin/products/{pid}", json={"fields": [{"name": "x" * 40, "label": "y"}]})
    assert r.status == 400
    assert public_product(shop, pid)["fields"][0]["name"] == "game_id"
    shop.admin.patch_product(pid, fields=[])
    assert public_product(shop, pid)["fields"] == []


def test_order_fields_required_length_unknown_and_stored(make_server, epay):  # noqa: F811
    shop = start_shop(make_server, epay=epay)
    pid = shop.admin.product(name="Top-up", price=100, fields=FIELDS, keys=5)
    cases = [
        ({}, "fields.game_id: required"),
        ({"game_id": ""}, "fields.game_id: required"),
        ({"game_id": "123456"}, "fields.game_id"),                 # 6 characters > 5
        ({"game_id": "1", "note": "x" * 11}, "fields.note"),
        ({"game_id": "1", "other": "x"}, "fields.other"),           # unknown
        ({"game_id": 12}, "fields.game_id"),                        # not a string
    ]
    for fields, named in cases:
        r = shop.order(pid, 1, fields=fields)
        assert r.status == 400 and error_of(r)["code"] == "invalid_request", (fields, r)
        assert error_of(r)["message"].startswith(named), (fields, error_of(r))
    r = shop.order(pid, 1)  # no "fields" at all
    assert r.status == 400 and error_of(r)["message"].startswith("fields.game_id: required")
    assert shop.value("SELECT count(*) FROM orders") == 0
    # max_len counts characters: five 3-byte characters fit, and ten 4-byte ones.
    o = shop.order_ok(pid, 1, fields={"game_id": "玩家一二三", "note": "😀" * 10})
    row = shop.order_row(o["order_no"])
    import json
    assert json.loads(row["fields"]) == {"game_id": "玩家一二三", "note": "😀" * 10}
    listed_orders = shop.admin.call("GET", "/api/admin/orders").json()["orders"]
    mine = next(x for x in listed_orders if x["order_no"] == o["order_no"])
    assert mine["fields"] == {"game_id": "玩家一二三", "note": "😀" * 10}
    # A product without fields refuses any.
    plain = shop.admin.product(name="Plain", price=100, keys=1)
    r = shop.order(plain, 1, fields={"game_id": "1"})
    assert r.status == 400 and error_of(r)["message"].startswith("fields.game_id")


# ---- low-stock threshold --------------------------------------------------------------------

def test_low_stock_threshold_is_kept_per_product(make_server):
    shop = start_shop(make_server)
    pid = shop.admin.product(name="Few left", price=100, low_stock=3, keys=2)
    assert shop.admin.call("GET", f"/api/admin/products/{pid}").json()["low_stock"] == 3
    assert "low_stock" not in public_product(shop, pid)
    r = shop.admin.call("PATCH", f"/api/admin/products/{pid}", json={"low_stock": -1})
    assert r.status == 400 and error_of(r)["message"].startswith("low_stock")
    assert shop.admin.patch_product(pid, low_stock=0).json()["low_stock"] == 0


# ---- images ---------------------------------------------------------------------------------

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 40
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 40
WEBP = b"RIFF\x30\x00\x00\x00WEBPVP8 " + b"\x00" * 40
MAX = 2 * 1024 * 1024


def upload(shop, path, data, ctype="image/png"):
    return shop.admin.call("POST", path, body=data, headers={"Content-Type": ctype})


def test_product_image_by_magic_bytes_served_with_cache_headers_and_deleted(make_server):
    shop = start_shop(make_server)
    pid = shop.admin.product(name="Pictured", price=100, keys=1)
    # The Content-Type the client claims decides nothing: the bytes do.
    bad = upload(shop, f"/api/admin/products/{pid}/image", b"<svg onload=alert(1)>" + b" " * 40, "image/png")
    assert bad.status == 415, bad
    assert public_product(shop, pid)["image_url"] is None
    urls = []
    for data, want in ((JPEG, "image/jpeg"), (WEBP, "image/webp"), (PNG, "image/png")):
        r = upload(shop, f"/api/admin/products/{pid}/image", data, "application/octet-stream")
        assert r.status == 200, r
        url = r.json()["image_url"]
        assert url.startswith("/uploads/") and "Pictured" not in url
        assert public_product(shop, pid)["image_url"] == url and listed(shop, pid)["image_url"] == url
        got = shop.srv.request("GET", url, use_cookies=False)
        assert got.status == 200 and got.body == data
        assert got.headers["content-type"] == want
        assert "immutable" in got.headers["cache-control"] and "max-age=" in got.headers["cache-control"]
        assert got.headers["x-content-type-options"] == "nosniff"
        urls.append(url)
    # Each upload replaced (and removed) the one before.
    assert len(set(urls)) == 3
    for old in urls[:2]:
        assert shop.srv.request("GET", old, use_cookies=False).status == 404
    # Stored privately next to the database, under the random name.
    files = list(shop.srv.db_path.parent.rglob(urls[2].rsplit("/", 1)[1]))
    assert len(files) == 1
    assert files[0].parent.name == "uploads"
    assert files[0].stat().st_mode & 0o777 == 0o600
    assert files[0].parent.stat().st_mode & 0o777 == 0o700
    d = shop.admin.call("DELETE", f"/api/admin/products/{pid}/image")
    assert d.status == 200 and d.json()["image_url"] is None
    assert public_product(shop, pid)["image_url"] is None
    assert shop.srv.request("GET", urls[2], use_cookies=False).status == 404
    assert not files[0].exists()
    for path in ("/uploads/../cardshop.db", "/uploads/x.png", "/uploads/" + "A" * 32 + ".png"):
        assert shop.srv.request("GET", path, use_cookies=False).status == 404
    assert shop.value("SELECT count(*) FROM audit_log WHERE action = 'product.image'") == 4
    missing = upload(shop, "/api/admin/products/9999/image", PNG)
    assert missing.status == 404


def test_image_size_cap_and_session_are_checked_before_the_body(make_server):
    shop = start_shop(make_server)
    pid = shop.admin.product(name="P", price=100)
    path = f"/api/admin/products/{pid}/image"

    def head(extra):
        return (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: image/png\r\n"
                f"{extra}Content-Length: {MAX + 1}\r\n\r\n").encode()

    # Only the head is sent: an answer that came at all did not wait for the body.
    signed_in = f"Cookie: {shop.admin.cookie}\r\nX-CSRF-Token: {shop.admin.csrf}\r\n"
    r = shop.srv.raw_request(head(signed_in), timeout=5)
    assert r is not None and r.status == 413 and r.error_code() == "payload_too_large", r
    small = (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: image/png\r\n"
             f"Content-Length: 1000\r\n\r\n").encode()
    r = shop.srv.raw_request(small, timeout=5)
    assert r is not None and r.status == 401, r
    r = shop.srv.raw_request(small.replace(b"Content-Length", f"Cookie: {shop.admin.cookie}\r\nContent-Length".encode()), timeout=5)
    assert r is not None and r.status == 403, r  # no CSRF token
    # At the cap it is taken; the logo route has the same cap.
    big = PNG + b"\x00" * (MAX - len(PNG))
    assert upload(shop, path, big).status == 200
    over = shop.srv.raw_request(head(signed_in).replace(path.encode(), b"/api/admin/logo"), timeout=5)
    assert over is not None and over.status == 413, over
    assert shop.srv.is_healthy()


def test_logo_notice_and_contact_link_in_the_config(make_server):
    shop = start_shop(make_server)
    cfg = shop.srv.get("/api/config", use_cookies=False).json()
    assert cfg["logo_url"] is None and cfg["notice"] == "" and cfg["contact_url"] is None
    r = upload(shop, "/api/admin/logo", WEBP, "image/jpeg")
    assert r.status == 200, r
    logo = r.json()["logo_url"]
    got = shop.srv.request("GET", logo, use_cookies=False)
    assert got.status == 200 and got.headers["content-type"] == "image/webp" and got.body == WEBP
    assert upload(shop, "/api/admin/logo", b"GIF89a" + b"\x00" * 40, "image/png").status == 415
    for bad in ("javascript:alert(1)", "http://", "ftp://x.example", "https://x.example/\"><script>",
                "data:text/html,x", " https://x.example"):
        r = shop.admin.call("PATCH", "/api/admin/shop", json={"contact_url": bad})
        assert r.status == 400 and error_of(r)["message"].startswith("contact_url"), (bad, r)
    r = shop.admin.call("PATCH", "/api/admin/shop", json={"notice": "新品上架 <b>now</b>", "other": 1})
    assert r.status == 400 and error_of(r)["message"].startswith("other")
    for good in ("https://t.me/shop", "mailto:help@example.com", "tg://resolve?domain=shop",
                 "http://example.com/contact"):
        r = shop.admin.call("PATCH", "/api/admin/shop", json={"contact_url": good})
        assert r.status == 200 and r.json()["contact_url"] == good, r
    r = shop.admin.call("PATCH", "/api/admin/shop", json={"notice": "新品上架 <b>now</b>"})
    assert r.status == 200
    cfg = shop.srv.get("/api/config", use_cookies=False).json()
    assert cfg["logo_url"] == logo and cfg["notice"] == "新品上架 <b>now</b>"
    assert cfg["contact_url"] == "http://example.com/contact"
    assert shop.admin.call("DELETE", "/api/admin/logo").status == 200
    assert shop.srv.get("/api/config", use_cookies=False).json()["logo_url"] is None
    assert shop.srv.request("GET", logo, use_cookies=False).status == 404
    # Kept across a restart (settings in the database).
    shop.admin.call("PATCH", "/api/admin/shop", json={"contact_url": ""})
    shop.srv.stop()
    shop.srv.start()
    cfg = shop.srv.get("/api/config", use_cookies=False).json()
    assert cfg["notice"] == "新品上架 <b>now</b>" and cfg["contact_url"] is None
    anon = shop.srv.request("PATCH", "/api/admin/shop", json={"notice": "x"}, use_cookies=False)
    assert anon.status == 401


def test_a_loop_key_given_to_buyers_is_never_sold_to_one_alone(make_server, epay):  # noqa: F811
    """The merchant turns loop off: the key every loop buyer got stays theirs (it cannot be
    deleted), so it is never reserved for an ordinary order, and a loop order paid after the
    switch takes no key another buyer can be sold."""
    shop = start_shop(make_server, epay=epay)
    pid = shop.admin.product(name="Was shared", price=300, loop=True, keys=["SHARED-1", "OWN-2", "OWN-3"])
    a = shop.order_ok(pid, 1, email="a@example.com")
    assert shop.pay(a) == "success" and shop.view_ok(a)["keys"] == ["SHARED-1"]
    pending_loop = shop.order_ok(pid, 1, email="p@example.com")  # pinned as a loop order
    assert shop.admin.patch_product(pid, loop=False).status == 200
    b = shop.order_ok(pid, 1, email="b@example.com")
    assert shop.pay(b) == "success"
    assert shop.view_ok(b)["keys"] == ["OWN-2"], "the shared key went to one buyer alone"
    assert shop.pay(pending_loop) == "success"
    got = shop.view_ok(pending_loop)["keys"]
    assert len(got) == 1
    c = shop.order(pid, 1, email="c@example.com")
    if c.status == 201:  # a key was left: it must be none that someone already has
        assert shop.pay(c.json()) == "success"
        assert shop.view_ok(c.json())["keys"][0] not in ("SHARED-1", *got)
    else:
        assert c.status == 409 and error_of(c)["code"] == "out_of_stock"
    counters(shop, pid)


def test_stock_of_a_product_switched_from_loop_is_what_can_be_sold(make_server, epay):  # noqa: F811
    """The key given to loop buyers stays theirs (never reserved again): once loop is off, the
    stock shown, the quote, the admin's counters and the counter check at start leave it out."""
    shop = start_shop(make_server, epay=epay)
    pid = shop.admin.product(name="Was shared", price=300, loop=True, keys=["SHARED-A", "OWN-B", "OWN-C"])
    a = shop.order_ok(pid, 1, email="a@example.com")
    assert shop.pay(a) == "success" and shop.view_ok(a)["keys"] == ["SHARED-A"]
    assert shop.stock(pid) is None  # loop: never sold out, no count shown
    assert counters(shop, pid) == (2, 0, 0)
    shop.admin.patch_product(pid, loop=False)
    assert shop.stock(pid) == 2 and listed(shop, pid)["stock"] == 2
    admin_view = shop.admin.call("GET", f"/api/admin/products/{pid}").json()
    assert admin_view["stock"] == 2 and admin_view["available"] == 2
    quote = shop.srv.request("POST", "/api/orders/quote", use_cookies=False,
                             json={"product_id": pid, "quantity": 3, "gateway": "epay"})
    assert quote.status == 409 and error_of(quote)["code"] == "out_of_stock", quote
    b = shop.order_ok(pid, 2, email="b@example.com")
    assert shop.pay(b) == "success" and sorted(shop.view_ok(b)["keys"]) == ["OWN-B", "OWN-C"]
    assert shop.stock(pid) == 0 and counters(shop, pid) == (0, 0, 2)
    # Loop on again: the shared key still serves its buyers.
    shop.admin.patch_product(pid, loop=True)
    c = shop.order_ok(pid, 1, email="c@example.com")
    assert shop.pay(c) == "success" and shop.view_ok(c)["keys"] == ["SHARED-A"]
    assert counters(shop, pid) == (0, 0, 2)
    shop.srv.stop()
    shop.srv.start()
    assert not any(l["msg"] == "stock counters differ from the key rows" for l in shop.srv.log_lines())
