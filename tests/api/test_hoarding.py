"""No hoarding: one client (an IPv4 address, an IPv6 /64) and one email hold at most
`pending_per_client` unpaid orders; a product without a maximum takes `default_max_qty` per
order at most. The client is the one resolved behind the trusted proxy (X-Forwarded-For)."""

import pytest

from fakes.fixtures import epay  # noqa: F401 (pytest fixture)
from fakes.shop_setup import error_of, start_shop


def shop_with_caps(make_server, epay, **shop):  # noqa: F811
    caps = {"pending_per_client": 2}
    caps.update(shop)
    return start_shop(make_server, epay=epay, shop=caps)


def order_from(shop, pid, client, email, quantity=1):
    return shop.order(pid, quantity, email=email, headers={"X-Forwarded-For": client})


def assert_too_many(r):
    assert r.status == 429, r
    assert error_of(r)["code"] == "too_many_pending", r
    assert int(r.headers["retry-after"]) >= 1, r.headers


def test_one_address_holds_at_most_two_unpaid_orders(make_server, epay):  # noqa: F811
    shop = shop_with_caps(make_server, epay)
    pid = shop.admin.product(price=100, keys=10)
    for i in range(2):
        assert order_from(shop, pid, "198.51.100.7", f"b{i}@example.com").status == 201
    r = order_from(shop, pid, "198.51.100.7", "fresh@example.com")
    assert_too_many(r)
    assert shop.stock(pid) == 8, "a refused order reserves nothing"
    # Another address is not held back by the first one's orders.
    assert order_from(shop, pid, "198.51.100.8", "other@example.com").status == 201


def test_one_email_holds_at_most_two_unpaid_orders(make_server, epay):  # noqa: F811
    shop = shop_with_caps(make_server, epay)
    pid = shop.admin.product(price=100, keys=10)
    for i in range(2):
        assert order_from(shop, pid, f"203.0.113.{i + 1}", "Same@Example.com").status == 201
    assert_too_many(order_from(shop, pid, "203.0.113.9", "same@example.com"))


def test_an_ipv6_client_is_its_slash_64(make_server, epay):  # noqa: F811
    shop = shop_with_caps(make_server, epay)
    pid = shop.admin.product(price=100, keys=10)
    assert order_from(shop, pid, "2001:db8:1:2::1", "a@example.com").status == 201
    assert order_from(shop, pid, "2001:db8:1:2:ffff::9", "b@example.com").status == 201
    assert_too_many(order_from(shop, pid, "2001:db8:1:2:abcd:1:2:3", "c@example.com"))
    # The next /64 is another subscriber.
    assert order_from(shop, pid, "2001:db8:1:3::1", "d@example.com").status == 201


def test_paying_frees_the_place(make_server, epay):  # noqa: F811
    shop = shop_with_caps(make_server, epay)
    pid = shop.admin.product(price=100, keys=10)
    first = order_from(shop, pid, "198.51.100.20", "p1@example.com").json()
    assert order_from(shop, pid, "198.51.100.20", "p2@example.com").status == 201
    assert_too_many(order_from(shop, pid, "198.51.100.20", "p3@example.com"))
    assert shop.pay(first) == "success"
    assert order_from(shop, pid, "198.51.100.20", "p3@example.com").status == 201


def test_a_spoofed_header_from_an_untrusted_peer_does_not_escape_the_cap(make_server, epay):  # noqa: F811
    """Without a trusted proxy in front, the header is the client's own words: ignored."""
    shop = start_shop(make_server, epay=epay, shop={"pending_per_client": 2},
                      server={"trusted_proxies": "192.0.2.250"})
    pid = shop.admin.product(price=100, keys=10)
    for i in range(2):
        assert order_from(shop, pid, f"198.51.100.{30 + i}", f"s{i}@example.com").status == 201
    assert_too_many(order_from(shop, pid, "198.51.100.99", "s9@example.com"))


@pytest.mark.parametrize("quantity, status", [(10, 201), (11, 400)])
def test_default_max_qty_applies_when_the_product_sets_none(make_server, epay, quantity, status):  # noqa: F811
    shop = shop_with_caps(make_server, epay)
    pid = shop.admin.product(price=100, keys=30)
    r = shop.order(pid, quantity)
    assert r.status == status, r
    if status == 400:
        err = error_of(r)
        assert err["code"] == "invalid_request" and "quantity" in err["message"], err
        assert "10" in err["message"], err
        assert shop.stock(pid) == 30


def test_a_product_maximum_overrides_the_default(make_server, epay):  # noqa: F811
    shop = shop_with_caps(make_server, epay, default_max_qty=3)
    pid = shop.admin.product(price=100, keys=30, max_qty=20)
    assert shop.order(pid, 20).status == 201
    other = shop.admin.product(name="Small", price=100, keys=30)
    assert shop.order(other, 4, email="x@example.com").status == 400


# The two counts of src/shop/order.c (sql_pending_net, sql_pending_email), run inside every
# order's creating transaction.
PENDING_COUNTS = {
    "orders_pending_net": "SELECT count(*), min(expires_at) FROM orders WHERE client_net = ?"
                          " AND status = 'pending' AND expires_at > ?",
    "orders_pending_email": "SELECT count(*), min(expires_at) FROM orders WHERE email = ?"
                            " COLLATE NOCASE AND status = 'pending' AND expires_at > ?",
}


def test_the_caps_count_only_the_clients_own_orders(make_server, epay):  # noqa: F811
    """Each creation counts the client's unpaid orders in the writer: it must read that client's
    rows from its index, not every pending order of the shop (the status index scanned them
    all, and creation fell to ~1,000 orders/s with 5,000 unpaid orders)."""
    shop = shop_with_caps(make_server, epay)
    pid = shop.admin.product(price=100, keys=40)
    for i in range(30):
        assert order_from(shop, pid, f"203.0.113.{i}", f"many{i}@example.com").status == 201
    db = shop.srv.db()
    try:
        for index, sql in PENDING_COUNTS.items():
            plan = " ".join(r[-1] for r in db.execute("EXPLAIN QUERY PLAN " + sql, ("x", 0)))
            assert f"COVERING INDEX {index}" in plan, plan
        n, _ = db.execute(PENDING_COUNTS["orders_pending_net"], ("203.0.113.4", 0)).fetchone()
        assert n == 1
    finally:
        db.close()
    assert order_from(shop, pid, "203.0.113.4", "again@example.com").status == 201
    assert_too_many(order_from(shop, pid, "203.0.113.4", "third@example.com"))
