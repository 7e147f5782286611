"""What a merchant sees of the machinery: mail jobs (GET /api/admin/jobs) and stored gateway
notifies (GET /api/admin/payment-events)."""

import time

from fakes.fixtures import epay, idle_sink, sink  # noqa: F401 (pytest fixtures)
from fakes.shop_setup import db_rows, db_value, start_shop, wait_until


def test_mail_job_and_events_are_visible(make_server, epay, sink):  # noqa: F811
    shop = start_shop(make_server, epay=epay, sink=sink)
    pid = shop.admin.product(name="Visible", price=250, keys=2)
    order = shop.order_ok(pid, 1)
    assert shop.pay(order) == "success"
    assert shop.pay(order) == "success"  # a repeat: stored, changes nothing

    def mail_done():
        r = shop.admin.call("GET", "/api/admin/jobs?kind=order_mail")
        assert r.status == 200, r
        jobs = r.json()["jobs"]
        return jobs if jobs and jobs[0]["status"] == "done" else None

    jobs = wait_until(mail_done, 10, message="order mail job done")
    assert len(jobs) == 1 and jobs[0]["attempts"] == 1 and jobs[0]["last_error"] is None
    assert jobs[0]["payload"]["order_id"] == shop.order_row(order["order_no"])["id"]

    r = shop.admin.call("GET", f"/api/admin/payment-events?order_no={order['order_no']}")
    assert r.status == 200, r
    events = r.json()["events"]
    assert [e["outcome"] for e in events] == ["repeat", "delivered"]  # newest first
    assert all(e["verified"] and e["amount"] == 250 for e in events)
    assert "out_trade_no=" + order["order_no"] in events[0]["raw"]


def test_failed_mail_shows_its_error(make_server, idle_sink):  # noqa: F811
    shop = start_shop(make_server, sandbox=True, sink=idle_sink)  # nothing listens on the SMTP port
    pid = shop.admin.product(name="Free", price=100, keys=1)
    shop.admin.coupon("GRATIS", "percent", 100)
    shop.order_ok(pid, 1, gateway="sandbox", coupon="GRATIS")

    def failed_once():
        jobs = shop.admin.call("GET", "/api/admin/jobs?kind=order_mail").json()["jobs"]
        return jobs if jobs and jobs[0]["last_error"] else None

    jobs = wait_until(failed_once, 10, message="a failed mail attempt")
    assert jobs[0]["status"] == "queued" and "smtp" in jobs[0]["last_error"].lower()


def test_ops_endpoints_need_admin(make_server):
    srv = make_server()
    for path in ("/api/admin/jobs", "/api/admin/payment-events"):
        r = srv.request("GET", path, use_cookies=False)
        assert r.status == 401 and r.json()["error"]["code"] == "unauthorized"


def test_order_view_is_rate_limited_per_ip(make_server):
    srv = make_server({"server": {"rate_limit": 1}})  # 10 views a minute
    codes = [srv.request("GET", "/api/orders/20260101abcdef", use_cookies=False).status
             for _ in range(12)]
    assert codes[:10] == [404] * 10
    assert codes[10] == 429


def test_mail_switched_off_shows_as_failed(make_server):
    # No [smtp] from: mail is off. The job must not pass for "done".
    shop = start_shop(make_server, sandbox=True)
    pid = shop.admin.product(name="Free", price=100, keys=1)
    shop.admin.coupon("ZERO", "percent", 100)
    shop.order_ok(pid, 1, gateway="sandbox", coupon="ZERO")

    def failed():
        jobs = shop.admin.call("GET", "/api/admin/jobs?kind=order_mail").json()["jobs"]
        return jobs if jobs and jobs[0]["status"] == "failed" else None

    jobs = wait_until(failed, 10, message="the mail job to fail")
    assert "mail is off" in jobs[0]["last_error"] and jobs[0]["attempts"] == 1


def test_done_jobs_older_than_a_month_are_pruned(make_server):
    srv = make_server(start=False)
    srv.migrate()
    now = int(time.time())
    c = srv.db()
    try:
        for status, age in (("done", 40 * 86400), ("done", 3600), ("failed", 40 * 86400)):
            c.execute("INSERT INTO jobs (kind, payload, status, attempts, max_attempts, run_at,"
                      " created_at, updated_at) VALUES ('noop', '{}', ?, 1, 1, ?, ?, ?)",
                      (status, now - age, now - age, now - age))
        c.commit()
    finally:
        c.close()
    srv.start()
    wait_until(lambda: db_value(srv, "SELECT count(*) FROM jobs") == 2, 10, message="old job pruned")
    left = db_rows(srv, "SELECT status, updated_at FROM jobs ORDER BY id")
    assert [r["status"] for r in left] == ["done", "failed"]
    assert left[0]["updated_at"] == now - 3600
