"""Breakers: a gateway whose create (or query) calls keep failing is taken out of the checkout
for a cool-down — GET /api/config leaves it out, an order for it answers 503
gateway_unavailable without the gateway being called, /metrics shows cardshop_gateway_up 0, the
admin sees it down with the last error — and one trial call after the cool-down brings it back
(or keeps it down)."""

import re
import shutil
import subprocess
import threading
import time

import pytest

import harness
from fakes.fake_stripe import FakeStripe, SECRET_KEY, WEBHOOK_SECRET
from fakes.shop_setup import start_shop, wait_until


def _shop(make_server, st, cooldown, ttl=3600, failures=3):
    shop = start_shop(make_server, sandbox=True, shop={"order_ttl": ttl},
                      extra={"payment.stripe": {"enabled": True, "api_url": st.url, "secret_key": SECRET_KEY,
                                                "webhook_secret": WEBHOOK_SECRET},
                             "payment": {"breaker_failures": failures, "breaker_cooldown": cooldown}})
    st.set(webhook_url=shop.srv.url("/pay/stripe/notify"))
    return shop


@pytest.fixture
def stripe_fake():
    st = FakeStripe().start()
    yield st
    st.stop()


def _up(shop, gateway):
    text = shop.srv.get("/metrics", use_cookies=False).text
    m = re.search(rf'^cardshop_gateway_up{{gateway="{gateway}"}} (\d)$', text, re.M)
    assert m, text
    return int(m.group(1))


def _offered(shop):
    return shop.srv.get("/api/config", use_cookies=False).json()["gateways"]


def _admin_state(shop, gateway):
    r = shop.admin.call("GET", "/api/admin/gateways")
    assert r.status == 200, r
    return {g["gateway"]: g for g in r.json()["gateways"]}[gateway]


def test_breaker_opens_and_recovers(make_server, stripe_fake):
    st = stripe_fake
    shop = _shop(make_server, st, cooldown=2)
    pid = shop.admin.product(price=990, keys=5)
    assert _offered(shop) == ["stripe", "sandbox"] and _up(shop, "stripe") == 1
    st.set(fail=-1)
    for _ in range(3):
        r = shop.order(pid, gateway="stripe")
        assert r.status == 503 and r.error_code() == "gateway_unavailable", r
    # Down: out of the checkout, not called any more, 0 in the metrics, down in the admin.
    calls = st.set()["calls"]
    assert calls == 3
    assert _offered(shop) == ["sandbox"]
    r = shop.order(pid, gateway="stripe")
    assert r.status == 503 and r.error_code() == "gateway_unavailable"
    assert "another" in r.json()["error"]["message"] and r.headers.get("Retry-After")
    assert st.set()["calls"] == calls
    assert _up(shop, "stripe") == 0 and _up(shop, "sandbox") == 1
    state = _admin_state(shop, "stripe")
    assert state["state"] == "down" and state["failures"] == 3 and state["down_until"] > time.time()
    assert "500" in state["last_error"] and SECRET_KEY not in str(state)
    assert shop.stock(pid) == 5  # every refused order gave its key back
    assert shop.order(pid, gateway="sandbox").status == 201  # the others still sell
    # After the cool-down it is offered again (half-open); a trial that fails keeps it down.
    wait_until(lambda: "stripe" in _offered(shop), 10, message="stripe offered after its cool-down")
    assert _admin_state(shop, "stripe")["state"] == "half_open" and _up(shop, "stripe") == 0
    assert shop.order(pid, gateway="stripe").status == 503
    assert st.set()["calls"] == calls + 1
    assert _offered(shop) == ["sandbox"] and _admin_state(shop, "stripe")["state"] == "down"
    # The gateway is back: the next trial succeeds and it is up.
    st.set(fail=0)
    wait_until(lambda: "stripe" in _offered(shop), 10, message="stripe offered again")
    o = shop.order_ok(pid, gateway="stripe")
    assert o["pay_url"].startswith(st.url)
    assert _up(shop, "stripe") == 1 and _admin_state(shop, "stripe")["state"] == "up"
    assert _admin_state(shop, "stripe")["failures"] == 0
    assert shop.srv.wait_for_log(lambda l: l.get("msg", "").startswith("gateway up again"))


def test_only_one_trial_goes_out_when_half_open(make_server, stripe_fake):
    st = stripe_fake
    shop = _shop(make_server, st, cooldown=1, failures=1)
    pid = shop.admin.product(price=990, keys=10)
    st.set(fail=1)
    assert shop.order(pid, gateway="stripe").status == 503
    wait_until(lambda: "stripe" in _offered(shop), 10, message="half-open")
    before = st.set(slow_ms=800)["calls"]
    results = []

    def buy():
        results.append(shop.order(pid, gateway="stripe").status)

    threads = [threading.Thread(target=buy) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [201, 503, 503, 503], results
    assert st.set(slow_ms=0)["calls"] == before + 1


def test_a_down_gateway_is_not_asked_and_its_orders_keep_keys_for_the_grace(make_server, stripe_fake):
    st = stripe_fake
    shop = _shop(make_server, st, cooldown=600, ttl=2)
    pid = shop.admin.product(price=990, keys=2)
    o = shop.order_ok(pid, gateway="stripe")
    st.set(fail=-1)
    for _ in range(3):  # the reconciler's own retrieve may count too: the breaker opens either way
        if "stripe" not in _offered(shop):
            break
        shop.order(pid, gateway="stripe")
    wait_until(lambda: "stripe" not in _offered(shop), 10, message="stripe down")
    calls = st.set()["calls"]
    shop.srv.wait_for_log(lambda l: l.get("msg") == "gateway query failed" and l.get("down") is True
                          and l.get("order_no") == o["order_no"], timeout=10)
    assert st.set()["calls"] == calls  # down: not asked
    assert shop.status(o["order_no"]) == "pending" and shop.stock(pid) == 1


def test_metrics_with_a_breaker_pass_promtool(make_server, stripe_fake):
    promtool = shutil.which("promtool")
    if not promtool:
        pytest.skip("promtool not installed (Debian package prometheus)")
    shop = _shop(make_server, stripe_fake, cooldown=60, failures=1)
    stripe_fake.set(fail=1)
    shop.order(shop.admin.product(price=990, keys=1), gateway="stripe")
    text = shop.srv.get("/metrics", use_cookies=False).text
    assert "# TYPE cardshop_gateway_up gauge" in text and "# HELP cardshop_gateway_up " in text
    p = subprocess.run([promtool, "check", "metrics"], input=text.encode(), capture_output=True, timeout=30)
    assert p.returncode == 0, p.stdout.decode() + p.stderr.decode()
