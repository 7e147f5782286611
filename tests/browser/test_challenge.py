"""The proof-of-work challenge in a real browser: forced thresholds (0 per minute: every order
and lookup is "under pressure", one failed sign-in challenges the address) make the pages get a
428; the Web Worker (/assets/pow-worker.js) solves it and the request goes through. Plain
http:// on loopback here; the worker's SHA-256 is JavaScript, so a LAN address over http://
(no crypto.subtle) takes the same path. The solver's speed at the default difficulty is
measured and printed (the budget is a target for `make bench`, not an assertion here)."""

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

from conftest import ADMIN_PASSWORD, ADMIN_USER

EMAIL = "buyer@example.com"


def wait(driver, timeout=20):
    return WebDriverWait(driver, timeout)


def visible(driver, css, timeout=20):
    return wait(driver, timeout).until(EC.visibility_of_element_located((By.CSS_SELECTOR, css)))


def challenges(srv):
    for line in srv.get("/metrics").text.splitlines():
        if line.startswith("cardshop_challenges_total "):
            return int(line.split()[1])
    raise AssertionError("cardshop_challenges_total missing from /metrics")


def csp_violations(driver):
    return [e["message"] for e in driver.get_log("browser")
            if "Content Security Policy" in e["message"] or "Refused to" in e["message"]]


@pytest.fixture
def shop(make_server):
    srv = make_server({"payment.sandbox": {"enabled": True},
                       "security": {"challenge_orders_per_minute": 0,
                                    "challenge_lookups_per_minute": 0}}, name="shop")
    r = srv.post("/api/admin/login", json={"username": ADMIN_USER, "password": ADMIN_PASSWORD})
    assert r.status == 200, r
    csrf = r.json()["csrf_token"]
    r = srv.post("/api/admin/products", json={"name": "Flash card", "price": 500},
                 headers={"X-CSRF-Token": csrf})
    assert r.status == 201, r
    srv.product_id = r.json()["id"]
    r = srv.post(f"/api/admin/products/{srv.product_id}/keys", body="K-1\nK-2\n",
                 headers={"X-CSRF-Token": csrf, "Content-Type": "text/plain"})
    assert r.status == 200, r
    return srv


def test_shop_page_solves_the_challenge_and_the_order_is_created(driver, shop):
    driver.get(shop.url("/shop/"))
    driver.execute_script("localStorage.setItem('cardshop.lang', 'en')")
    driver.get(shop.url(f"/shop/product?id={shop.product_id}"))
    visible(driver, "#order-form")
    wait(driver).until(lambda d: d.find_element(By.ID, "p-stock").text == "In stock: 2")
    # The solver's cost at the default difficulty (16 bits), five fresh tokens.
    timings = driver.execute_async_script("""
        var done = arguments[arguments.length - 1], out = [], i = 0;
        function next() {
          if (i === 5) { done(out); return; }
          var t0 = performance.now();
          Cardshop.solveChallenge({token: 'measure-' + (i++) + '-' + Math.random(), difficulty: 16})
            .then(function () { out.push(Math.round(performance.now() - t0)); next(); },
                  function (e) { done(String(e)); });
        }
        next();""")
    assert isinstance(timings, list) and len(timings) == 5, timings
    print(f"\nproof-of-work, 16 bits, headless Chromium on this machine: {timings} ms")

    before = challenges(shop)
    driver.find_element(By.ID, "email").send_keys(EMAIL)
    sandbox = driver.find_element(By.ID, "gateway-sandbox")
    if not sandbox.is_selected():
        driver.find_element(By.CSS_SELECTOR, "label[for='gateway-sandbox']").click()
    driver.find_element(By.ID, "order-submit").click()
    wait(driver).until(EC.url_contains("/pay/sandbox/checkout?order_no="))
    assert challenges(shop) == before + 1, "the order was asked exactly one challenge"
    c = shop.db()
    try:
        assert c.execute("SELECT count(*) FROM orders").fetchone()[0] == 1
    finally:
        c.close()
    assert csp_violations(driver) == []


def test_lookup_page_solves_it_with_the_chinese_notice(driver, shop):
    driver.get(shop.url("/shop/"))
    driver.execute_script("localStorage.setItem('cardshop.lang', 'zh-CN')")
    driver.get(shop.url("/shop/lookup"))
    visible(driver, "#lookup-form")
    before = challenges(shop)
    driver.find_element(By.ID, "lookup-email").send_keys(EMAIL)
    driver.find_element(By.ID, "lookup-password").send_keys("no such password")
    driver.find_element(By.ID, "lookup-submit").click()
    visible(driver, "#lookup-none")
    assert challenges(shop) == before + 1
    notice = driver.find_element(By.ID, "pow-notice")
    assert notice.get_attribute("textContent") == "正在检查您的浏览器…"
    assert not notice.is_displayed(), "the notice goes once the check is done"
    assert csp_violations(driver) == []


def test_admin_sign_in_solves_the_challenge(driver, make_server):
    srv = make_server({"security": {"login_max_failures": 1}})
    r = srv.post("/api/admin/login", json={"username": ADMIN_USER, "password": "wrong password!"})
    assert r.status == 401, r
    r = srv.post("/api/admin/login", json={"username": ADMIN_USER, "password": ADMIN_PASSWORD})
    assert r.status == 428, "the address and the user are now challenged"
    before = challenges(srv)
    driver.get(srv.url("/admin/"))
    visible(driver, "#login-form")
    driver.find_element(By.ID, "username").send_keys(ADMIN_USER)
    driver.find_element(By.ID, "password").send_keys(ADMIN_PASSWORD)
    driver.find_element(By.ID, "login-submit").click()
    wait(driver).until(EC.url_contains("/admin/dashboard"))
    assert challenges(srv) == before + 1, "the sign-in was asked one challenge, and solved it"
    assert csp_violations(driver) == []
