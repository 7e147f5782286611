"""The notify storm and the kill -9 of the EPay suites, repeated for an RSA gateway: Alipay's
signed notifies (two copies of each, all at once) deliver every order exactly once; a server
killed in the middle of the burst loses no promised delivery and doubles none, and Alipay's
retries after the restart finish the rest."""

import threading
import time

import pytest

from fakes.fake_qr import FakeAlipay, node_available
from fakes.shop_setup import start_shop

pytestmark = pytest.mark.skipif(node_available() is not None, reason=str(node_available()))

N = 40  # orders paid in one burst, each notify sent twice


def _burst(gw, orders, answers, lock, go):
    def pay(no):
        go.wait()
        try:
            body = gw.pay(no).get("body")
        except Exception:  # the server died under us: no answer is no promise
            body = None
        with lock:
            answers.setdefault(no, []).append(body)

    threads = [threading.Thread(target=pay, args=(o["order_no"],)) for o in orders for _ in range(2)]
    for t in threads:
        t.start()
    return threads


def _check_exactly_once(shop, delivered):
    rows = shop.rows("SELECT k.order_id, o.status FROM card_keys k JOIN orders o ON o.id = k.order_id"
                     " WHERE k.status = 'sold'")
    assert all(r["status"] == "delivered" for r in rows)
    per_order = {}
    for r in rows:
        per_order[r["order_id"]] = per_order.get(r["order_id"], 0) + 1
    assert all(n == 2 for n in per_order.values()), per_order
    assert len(per_order) == delivered
    assert shop.value("SELECT count(*) FROM payments") == delivered


def test_storm_of_repeated_notifies_delivers_each_order_once(make_server, tmp_path):
    gw = FakeAlipay(tmp_path).start()
    try:
        shop = start_shop(make_server, threads=8, extra={"payment.alipay": gw.shop_config()})
        pid = shop.admin.product(price=500, keys=2 * N)
        orders = [shop.order_ok(pid, 2, gateway="alipay") for _ in range(N)]
        answers, lock = {}, threading.Lock()
        go = threading.Barrier(2 * N + 1)
        threads = _burst(gw, orders, answers, lock, go)
        go.wait()
        for t in threads:
            t.join(timeout=60)
        assert all(a == ["success", "success"] for a in answers.values()), answers
        assert len(answers) == N
        assert shop.value("SELECT count(*) FROM orders WHERE status = 'delivered'") == N
        _check_exactly_once(shop, N)
        outcomes = shop.rows("SELECT outcome, count(*) AS n FROM payment_events GROUP BY outcome")
        assert {r["outcome"]: r["n"] for r in outcomes} == {"delivered": N, "repeat": N}
    finally:
        gw.stop()


def test_kill_during_alipay_notify_burst_loses_and_doubles_nothing(make_server, tmp_path):
    gw = FakeAlipay(tmp_path).start()
    try:
        shop = start_shop(make_server, threads=8, extra={"payment.alipay": gw.shop_config()})
        pid = shop.admin.product(price=500, keys=2 * N)
        orders = [shop.order_ok(pid, 2, gateway="alipay") for _ in range(N)]
        answers, lock = {}, threading.Lock()
        go = threading.Barrier(2 * N + 1)
        threads = _burst(gw, orders, answers, lock, go)
        go.wait()
        time.sleep(0.2)  # the burst is under way (Node signs one notify at a time)
        port = shop.srv.port
        shop.srv.proc.kill()  # SIGKILL
        shop.srv.proc.wait(timeout=10)
        shop.srv.proc = None
        for t in threads:
            t.join(timeout=60)
        promised = [no for no, got in answers.items() if "success" in got]
        print(f"promised before the kill: {len(promised)} of {N}")
        shop.srv.start(port=port)

        for no in promised:
            assert shop.status(no) == "delivered", no
        _check_exactly_once(shop, shop.value("SELECT count(*) FROM orders WHERE status = 'delivered'"))

        for o in orders:  # Alipay retries until it reads "success"
            assert gw.pay(o["order_no"])["body"] == "success"
        assert shop.value("SELECT count(*) FROM orders WHERE status = 'delivered'") == N
        _check_exactly_once(shop, N)
    finally:
        gw.stop()
