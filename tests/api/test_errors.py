"""One error convention, seen from outside: a failure inside the shop is answered as a failure
(500 internal, logged with the request id) and retried where it can be, never read as absence;
and one request id follows a purchase from the access line to the commit and the mail."""

from fakes.fixtures import epay, sink  # noqa: F401 (pytest fixtures)
from fakes.shop_setup import error_of, start_shop, wait_until


def _corrupt_reserved_keys(shop, order_no):
    """Damages the stored ciphertext of the order's keys (a bad page, a wrong secret file)."""
    db = __import__("sqlite3").connect(str(shop.srv.db_path), timeout=10, isolation_level=None)
    try:
        db.execute("UPDATE card_keys SET secret = zeroblob(48) WHERE order_id ="
                   " (SELECT id FROM orders WHERE order_no = ?)", (order_no,))
    finally:
        db.close()


def test_undecryptable_key_fails_the_view_and_retries_the_mail(make_server, epay, sink):  # noqa: F811
    shop = start_shop(make_server, epay=epay, sink=sink)
    pid = shop.admin.product(name="Fragile", price=300, keys=["FRAGILE-KEY-1"])
    order = shop.order_ok(pid, 1)
    _corrupt_reserved_keys(shop, order["order_no"])
    assert shop.pay(order) == "success"  # the payment itself is applied, exactly once
    assert shop.status(order["order_no"]) == "delivered"

    r = shop.view(order["order_no"], order["token"])
    assert r.status == 500, r
    assert error_of(r) == {"code": "internal", "message": "internal error"}
    req_id = r.headers["x-request-id"]
    wait_until(lambda: any(l.get("req_id") == req_id and l["msg"] == "card key does not decrypt"
                           for l in shop.srv.log_lines()), 5, message="decrypt error logged with the request id")

    # The delivery mail is not sent without its key: the job is failed and will be retried.
    def mail_job():
        jobs = shop.jobs("order_mail")
        return jobs[0] if jobs and jobs[0]["attempts"] >= 1 else None
    job = wait_until(mail_job, 10, message="the mail job to run")
    assert job["status"] == "queued", job
    assert job["run_at"] > job["updated_at"], job
    assert "could not be read" in (job["last_error"] or ""), job
    assert not any("FRAGILE" in m.body for m in sink.messages)
    assert sink.messages == [] or all(order["order_no"] not in m.body for m in sink.messages)

    # The merchant sees the failure in the admin's jobs list.
    jobs = shop.admin.call("GET", "/api/admin/jobs?kind=order_mail")
    assert jobs.status == 200, jobs
    assert jobs.json()["jobs"][0]["last_error"], jobs.json()


def test_one_request_id_follows_a_purchase_to_the_mail(make_server, epay, sink):  # noqa: F811
    shop = start_shop(make_server, epay=epay, sink=sink)
    pid = shop.admin.product(name="Traced", price=450, keys=["TRACE-KEY-1"])
    order = shop.order_ok(pid, 1)
    assert shop.pay(order) == "success"
    wait_until(lambda: any("TRACE-KEY-1" in m.body for m in sink.messages), 10, message="mail")

    def line(pred):
        return next((l for l in shop.srv.log_lines() if pred(l)), None)

    notify = wait_until(lambda: line(lambda l: l["msg"] == "payment notify"
                                     and l.get("order_no") == order["order_no"]), 5,
                        message="the notify's log line")
    req_id = notify.get("req_id")
    assert req_id, notify
    access = wait_until(lambda: line(lambda l: l["msg"] == "request" and l.get("req_id") == req_id), 5,
                        message="the notify's access line")
    assert access["path"] == "/pay/epay/notify", access
    mail = wait_until(lambda: line(lambda l: l["msg"] == "mail sent" and l.get("req_id") == req_id), 5,
                      message="the mail's log line with the notify's request id")
    assert order["order_no"] in mail["subject"], mail
