"""Stock counters (product_stock) move in the same transaction as the key rows: after buyers,
expiry, late payments, imports and deletions running at once, they equal the rows exactly, and
the public stock served from memory is the counter's."""

import random
import threading
import time

from fakes.shop_setup import make_keys, start_shop, wait_until

COUNTS = ("SELECT p.id, s.available, s.reserved, s.sold,"
          # A key given to loop buyers (order_keys) stays 'available' for them but is no stock.
          " (SELECT count(*) FROM card_keys k WHERE k.product_id = p.id AND k.status = 'available'"
          "  AND NOT EXISTS (SELECT 1 FROM order_keys o WHERE o.key_id = k.id)),"
          " (SELECT count(*) FROM card_keys k WHERE k.product_id = p.id AND k.status = 'reserved'),"
          " (SELECT count(*) FROM card_keys k WHERE k.product_id = p.id AND k.status = 'sold')"
          " FROM products p LEFT JOIN product_stock s ON s.product_id = p.id ORDER BY p.id")


def assert_counters_match(shop):
    rows = shop.srv.db().execute(COUNTS).fetchall()
    assert rows, "no products"
    for pid, a, r, s, ra, rr, rs in rows:
        assert (a, r, s) == (ra, rr, rs), f"product {pid}: counters {(a, r, s)} rows {(ra, rr, rs)}"


def test_counters_equal_the_rows_under_concurrent_change(make_server):
    shop = start_shop(make_server, sandbox=True, shop={"order_ttl": 1})
    pids = [shop.admin.product(name=f"P{i}", price=100 + i, keys=make_keys(40, f"P{i}")) for i in range(3)]
    stop = time.monotonic() + 6
    errors = []

    def buyer(seed):
        rnd = random.Random(seed)
        while time.monotonic() < stop:
            pid = rnd.choice(pids)
            r = shop.order(pid, rnd.randint(1, 3), gateway="sandbox",
                           email=f"b{seed}-{rnd.randint(0, 1 << 30)}@example.com")
            if r.status == 201 and rnd.random() < 0.5:
                o = r.json()
                shop.srv.request("POST", "/pay/sandbox/pay", json={"order_no": o["order_no"],
                                 "token": o["token"]}, use_cookies=False)
            elif r.status not in (201, 409):
                errors.append(r)

    def importer():
        n = 0
        while time.monotonic() < stop:
            pid = random.choice(pids)
            shop.admin.add_keys(pid, make_keys(5, f"IMP{n}-{pid}"))
            n += 1
            time.sleep(0.05)

    def deleter():
        while time.monotonic() < stop:
            pid = random.choice(pids)
            r = shop.admin.call("GET", f"/api/admin/products/{pid}/keys?status=available")
            for k in r.json()["keys"][:2]:
                d = shop.admin.call("DELETE", f"/api/admin/products/{pid}/keys/{k['id']}")
                if d.status not in (200, 409, 404):  # a key just reserved may not be deleted
                    errors.append(d)
            time.sleep(0.05)

    threads = [threading.Thread(target=buyer, args=(i,)) for i in range(4)]
    threads += [threading.Thread(target=importer), threading.Thread(target=deleter)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors[:3]
    # Let queued sandbox notifies land and the unpaid orders expire.
    wait_until(lambda: shop.value("SELECT count(*) FROM orders WHERE status = 'pending'") == 0, 20,
               message="every unpaid order expired")
    assert shop.value("SELECT count(*) FROM orders WHERE status = 'delivered'") > 0
    assert shop.value("SELECT count(*) FROM orders WHERE status = 'expired'") > 0
    assert_counters_match(shop)
    for pid in pids:
        want = shop.value("SELECT available FROM product_stock WHERE product_id = ?", (pid,))
        assert shop.stock(pid) == want


def test_a_counter_out_of_step_is_repaired_at_start(make_server):
    shop = start_shop(make_server)
    pid = shop.admin.product(price=100, keys=make_keys(7, "FIX"))
    shop.srv.stop()
    db = shop.srv.db()
    with db:
        db.execute("UPDATE product_stock SET available = 99 WHERE product_id = ?", (pid,))
    db.close()
    shop.srv.start()
    assert shop.stock(pid) == 7
    assert_counters_match(shop)
    assert any(l["msg"] == "stock counters differ from the key rows" for l in shop.srv.log_lines())


def test_catalog_from_memory_keeps_names_that_look_like_its_placeholder(make_server):
    """The in-memory catalog splices the live stock into prebuilt JSON; a product name holding
    the placeholder's digits must come out as written, with the real stock beside it."""
    shop = start_shop(make_server)
    name = "Promo 987654321987654321 \"stock\":987654321987654321"
    pid = shop.admin.product(name=name, price=100, keys=make_keys(3, "PH"))
    listed = [p for p in shop.srv.get("/api/products", use_cookies=False).json()["products"]
              if p["id"] == pid][0]
    assert listed["name"] == name and listed["stock"] == 3
    one = shop.srv.get(f"/api/products/{pid}", use_cookies=False).json()
    assert one["name"] == name and one["stock"] == 3


def test_catalog_etag_revalidates(make_server):
    shop = start_shop(make_server)
    pid = shop.admin.product(price=100, keys=make_keys(2, "ET"))
    r = shop.srv.get("/api/products", use_cookies=False)
    etag = r.headers["etag"]
    # One caching rule, not two that contradict each other: revalidate with the ETag.
    assert r.headers.get_all("cache-control") == ["no-cache"]
    again = shop.srv.request("GET", "/api/products", headers={"If-None-Match": etag}, use_cookies=False)
    assert again.status == 304 and again.body == b""
    shop.admin.add_keys(pid, make_keys(1, "ET2"))
    changed = shop.srv.request("GET", "/api/products", headers={"If-None-Match": etag}, use_cookies=False)
    assert changed.status == 200 and changed.headers["etag"] != etag
