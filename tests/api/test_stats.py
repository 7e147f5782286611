"""The dashboard's numbers (GET /api/admin/stats?days=N): orders counted on the local day they
were created, payments on the day they were paid (refunded ones too), revenue = their amounts,
days of the shop's [shop] timezone, right across a daylight-saving change."""

import datetime as dt
import uuid
from zoneinfo import ZoneInfo

import harness
from fakes.shop_setup import start_shop

DAY = dt.timedelta(days=1)


def local_midnight(zone, date):
    """The UTC second at which local `date` begins in zone (every zone here starts its days at
    a midnight that exists)."""
    return int(dt.datetime(date.year, date.month, date.day, tzinfo=zone).timestamp())


def at(zone, date, hour, minute=0):
    return int(dt.datetime(date.year, date.month, date.day, hour, minute, tzinfo=zone).timestamp())


def put_order(shop, pid, created_at, *, paid_at=None, amount=1000, status=None):
    """An order row written straight into the database: the only way to place one at a known
    time in the past."""
    status = status or ("delivered" if paid_at else "pending")
    no = "T" + uuid.uuid4().hex[:20].upper()
    with shop.srv.db() as c:
        c.execute("INSERT INTO orders (order_no, product_id, quantity, unit_price, amount, currency,"
                  " email, gateway, status, created_at, expires_at, paid_at)"
                  " VALUES (?, ?, 1, ?, ?, 'CNY', 'b@example.com', 'epay', ?, ?, ?, ?)",
                  (no, pid, amount, amount, status, created_at, created_at + 900, paid_at))
    return no


def stats(shop, days):
    """The answer for `days`, asked while the local date stays the same (so a test running at
    midnight does not compare two different 'todays')."""
    zone = ZoneInfo(shop.config["shop"].get("timezone", "UTC"))
    for _ in range(3):
        before = dt.datetime.now(zone).date()
        r = shop.admin.call("GET", f"/api/admin/stats?days={days}")
        after = dt.datetime.now(zone).date()
        assert r.status == 200, r
        if before == after:
            return r.json(), before
    raise AssertionError("the local date kept changing")


def by_date(answer):
    return {d["date"]: d for d in answer["days"]}


def test_days_follow_the_shop_timezone_shanghai(make_server):
    zone = ZoneInfo("Asia/Shanghai")
    shop = start_shop(make_server, shop={"timezone": "Asia/Shanghai"})
    pid = shop.admin.product(name="Card", price=1000)
    today = dt.datetime.now(zone).date()
    yesterday = today - DAY
    midnight = local_midnight(zone, today)
    # 00:30 in Shanghai is 16:30 UTC of the day before: a UTC count would put it on yesterday.
    put_order(shop, pid, midnight + 1800, paid_at=midnight + 1900, amount=500)
    # created yesterday at 23:59, paid today at 00:01: one order yesterday, one payment today
    put_order(shop, pid, midnight - 60, paid_at=midnight + 60, amount=700)
    # paid today and refunded since: still a payment of today
    put_order(shop, pid, midnight + 3600, paid_at=midnight + 3700, amount=300, status="refunded")
    # created today, never paid
    put_order(shop, pid, midnight + 7200, status="expired")
    # two days ago: outside days=2
    put_order(shop, pid, midnight - 2 * 86400 + 10, paid_at=midnight - 2 * 86400 + 20, amount=9999)

    answer, today = stats(shop, 2)
    days = by_date(answer)
    assert [d["date"] for d in answer["days"]] == [yesterday.isoformat(), today.isoformat()]
    assert days[today.isoformat()] == {"date": today.isoformat(), "orders": 3, "paid": 3,
                                       "revenue": 500 + 700 + 300}
    assert days[yesterday.isoformat()] == {"date": yesterday.isoformat(), "orders": 1, "paid": 0,
                                           "revenue": 0}
    assert answer["today"] == {"orders": 3, "paid": 3, "revenue": 1500}
    assert answer["timezone"] == "Asia/Shanghai"
    # the best seller over the two days excludes the older order
    assert answer["top_products"] == [{"id": pid, "name": "Card", "paid": 3, "revenue": 1500}]

    answer3, _ = stats(shop, 3)
    assert len(answer3["days"]) == 3 and answer3["days"][0]["revenue"] == 9999
    assert answer3["top_products"][0]["revenue"] == 1500 + 9999


def last_dst_change(zone, today):
    """The most recent local date (before today) whose length is not 24 hours."""
    d = today - DAY
    for _ in range(400):
        if local_midnight(zone, d + DAY) - local_midnight(zone, d) != 86400:
            return d
        d -= DAY
    raise AssertionError("no DST change in the last 400 days")


def test_days_across_a_dst_change_berlin(make_server):
    zone = ZoneInfo("Europe/Berlin")
    shop = start_shop(make_server, shop={"timezone": "Europe/Berlin"})
    pid = shop.admin.product(name="Card", price=1000)
    today = dt.datetime.now(zone).date()
    change = last_dst_change(zone, today)
    length = local_midnight(zone, change + DAY) - local_midnight(zone, change)
    assert length in (23 * 3600, 25 * 3600)
    before, after = change - DAY, change + DAY
    # The first and last minutes of each day: a day taken as 24 hours from midnight gets one
    # of them wrong on the 23- or 25-hour day.
    for i, d in enumerate((before, change, after)):
        amount = 100 * (i + 1)
        put_order(shop, pid, at(zone, d, 0, 5), paid_at=at(zone, d, 0, 10), amount=amount)
        put_order(shop, pid, at(zone, d, 23, 50), paid_at=at(zone, d, 23, 55), amount=amount)
        put_order(shop, pid, at(zone, d, 12), amount=amount, status="expired")

    n = (today - before).days + 1
    answer, today = stats(shop, n)
    dates = [d["date"] for d in answer["days"]]
    assert dates[0] == before.isoformat() and dates[-1] == today.isoformat() and len(dates) == n
    assert dates == [(before + i * DAY).isoformat() for i in range(n)]  # every day once
    days = by_date(answer)
    for i, d in enumerate((before, change, after)):
        assert days[d.isoformat()] == {"date": d.isoformat(), "orders": 3, "paid": 2,
                                       "revenue": 2 * 100 * (i + 1)}, (d, length)
    if (today - after).days > 0:
        assert answer["today"]["orders"] == 0


def test_low_stock_and_top_products(make_server):
    shop = start_shop(make_server)
    low = shop.admin.product(name="Few left", price=100, keys=3)
    shop.admin.product(name="Plenty", price=100, keys=10)
    empty = shop.admin.product(name="Empty", price=100)
    shop.admin.product(name="Manual", price=100, delivery="manual")
    answer, _ = stats(shop, 7)
    assert answer["low_stock"] == [{"id": empty, "name": "Empty", "stock": 0},
                                   {"id": low, "name": "Few left", "stock": 3}]
    assert answer["top_products"] == []
    assert answer["today"] == {"orders": 0, "paid": 0, "revenue": 0}
    assert len(answer["days"]) == 7 and answer["timezone"] == "UTC"


def test_stats_needs_an_admin_and_a_valid_range(make_server):
    shop = start_shop(make_server)
    assert shop.srv.get("/api/admin/stats", use_cookies=False).status == 401
    for bad in ("0", "367", "x", "-1"):
        r = shop.admin.call("GET", f"/api/admin/stats?days={bad}")
        assert r.status == 400 and r.error_code() == "invalid_request", (bad, r)
    r = shop.admin.call("GET", "/api/admin/stats")
    assert r.status == 200 and len(r.json()["days"]) == 30


def test_unknown_timezone_is_refused(tmp_path, cardshop_bin):
    for tz in ("Mars/Olympus", "../../etc/passwd", "Europe"):
        srv = harness.CardshopServer(tmp_path / tz.replace("/", "_").replace(".", "d"),
                                     {"shop": {"timezone": tz}})
        p = srv.cli("migrate", timeout=10)
        assert p.returncode != 0 and "timezone" in p.stderr, (tz, p)
