"""The checkout in a real browser: one button per EPay wallet (English and Chinese names), the
chosen wallet sent to EPay as `type`, and a gateway that fails answered with the friendly
"choose another method" text in both languages, never a technical error."""

import urllib.parse

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

from fakes.fake_epay import FakeEPay
from fakes.fake_stripe import FakeStripe, SECRET_KEY, WEBHOOK_SECRET, available
from fakes.shop_setup import ShopAdmin

from conftest import ADMIN_PASSWORD, ADMIN_USER


@pytest.fixture
def gateways():
    if available():
        pytest.fail(available())
    ep = FakeEPay(pid="1001", key="k3yForTheBrowserWallets").start()
    st = FakeStripe().start()
    yield ep, st
    st.stop()
    ep.stop()


def _labels(driver):
    WebDriverWait(driver, 10).until(
        lambda d: d.find_elements(By.CSS_SELECTOR, "#gateways .gateway-option"))
    return [e.text for e in driver.find_elements(By.CSS_SELECTOR, "#gateways .gateway-option")]


def _buy(driver, base, pid, label):
    driver.get(f"{base}/shop/product?id={pid}")
    opts = WebDriverWait(driver, 10).until(
        lambda d: [e for e in d.find_elements(By.CSS_SELECTOR, "#gateways .gateway-option") if e.text == label])
    opts[0].click()
    driver.find_element(By.ID, "email").send_keys("buyer@example.com")
    driver.find_element(By.ID, "order-submit").click()


def test_wallet_buttons_and_friendly_gateway_errors(make_server, driver, gateways):
    ep, st = gateways
    st.set(fail=-1)  # Stripe answers 500 to everything
    srv = make_server({
        "payment.epay": {"enabled": True, "api_url": ep.url, "pid": ep.pid, "key": ep.key,
                         "types": "alipay,wxpay,qqpay"},
        "payment.stripe": {"enabled": True, "api_url": st.url, "secret_key": SECRET_KEY,
                           "webhook_secret": WEBHOOK_SECRET},
        "payment": {"breaker_failures": 100},
        "server": {"rate_limit": 100000},
        "security": {"challenge_orders_per_minute": 100000000}})
    admin = ShopAdmin(srv, ADMIN_USER, ADMIN_PASSWORD, create=False)
    pid = admin.product(name="Wallet card", price=990, keys=5)
    base = srv.base_url

    driver.get(f"{base}/shop/product?id={pid}")
    assert _labels(driver) == ["Alipay", "WeChat Pay", "QQ Wallet", "Card (Stripe)"]

    _buy(driver, base, pid, "WeChat Pay")
    WebDriverWait(driver, 10).until(lambda d: d.current_url.startswith(ep.url + "submit.php"))
    q = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(driver.current_url).query))
    assert q["type"] == "wxpay"
    assert ep.submissions[-1].ok  # the signature (type included) checked by the fake

    _buy(driver, base, pid, "Card (Stripe)")
    box = WebDriverWait(driver, 10).until(EC.visibility_of_element_located((By.ID, "order-error")))
    assert box.text == "This payment method is not available right now. Please choose another one."

    driver.execute_script("window.localStorage.setItem('cardshop.lang', 'zh-CN')")
    driver.get(f"{base}/shop/product?id={pid}")
    assert _labels(driver) == ["支付宝", "微信支付", "QQ钱包", "银行卡（Stripe）"]
    _buy(driver, base, pid, "银行卡（Stripe）")
    box = WebDriverWait(driver, 10).until(EC.visibility_of_element_located((By.ID, "order-error")))
    assert box.text == "该支付方式暂时不可用，请选择其他支付方式。"


def test_admin_gateways_page_shows_a_breaker_down(make_server, driver, gateways):
    ep, st = gateways
    st.set(fail=-1)
    srv = make_server({
        "payment.stripe": {"enabled": True, "api_url": st.url, "secret_key": SECRET_KEY,
                           "webhook_secret": WEBHOOK_SECRET},
        "payment.sandbox": {"enabled": True},
        "payment": {"breaker_failures": 1, "breaker_cooldown": 600}})
    admin = ShopAdmin(srv, ADMIN_USER, ADMIN_PASSWORD, create=False)
    pid = admin.product(price=990, keys=1)
    r = srv.post("/api/orders", json={"product_id": pid, "quantity": 1, "email": "b@example.com",
                                      "gateway": "stripe"}, use_cookies=False)
    assert r.status == 503
    driver.get(srv.url("/admin/"))
    WebDriverWait(driver, 10).until(EC.visibility_of_element_located((By.ID, "login-form")))
    driver.find_element(By.ID, "username").send_keys(ADMIN_USER)
    driver.find_element(By.ID, "password").send_keys(ADMIN_PASSWORD)
    driver.find_element(By.ID, "login-submit").click()
    WebDriverWait(driver, 10).until(EC.url_contains("/admin/dashboard"))
    driver.get(srv.url("/admin/gateways"))
    row = WebDriverWait(driver, 10).until(
        EC.visibility_of_element_located((By.CSS_SELECTOR, "#gateways-body tr.gateway-down")))
    cells = [c.text for c in row.find_elements(By.TAG_NAME, "td")]
    assert cells[0] == "stripe" and cells[1] == "Down" and cells[2] == "1"
    assert "500" in cells[3] and SECRET_KEY not in driver.page_source
    up = driver.find_element(By.CSS_SELECTOR, "#gateways-body tr.gateway-up")
    assert up.find_elements(By.TAG_NAME, "td")[0].text == "sandbox"


def test_purchase_through_stripe_checkout(make_server, driver, gateways):
    """Product page -> Stripe's hosted page (the fake) -> paid -> back on the shop's order page
    through success_url, with the key shown (the webhook delivered it)."""
    ep, st = gateways
    srv = make_server({
        "payment.stripe": {"enabled": True, "api_url": st.url, "secret_key": SECRET_KEY,
                           "webhook_secret": WEBHOOK_SECRET},
        "server": {"rate_limit": 100000},
        "security": {"challenge_orders_per_minute": 100000000}})
    st.set(webhook_url=srv.url("/pay/stripe/notify"))
    admin = ShopAdmin(srv, ADMIN_USER, ADMIN_PASSWORD, create=False)
    pid = admin.product(name="Card key", price=1999, keys=["STRIPE-KEY-0001"])
    _buy(driver, srv.base_url, pid, "Card (Stripe)")
    WebDriverWait(driver, 10).until(lambda d: d.current_url.startswith(st.url + "/c/pay/cs_test_"))
    session = st.sessions()[-1]["session"]
    assert session["amount_total"] == 1999 and session["currency"] == "cny"
    assert st.pay(session["id"])["sent"][0]["status"] == 200
    driver.get(session["success_url"])  # Stripe sends the buyer back
    WebDriverWait(driver, 15).until(
        lambda d: [k.text for k in d.find_elements(By.CSS_SELECTOR, "#key-list li .key")] == ["STRIPE-KEY-0001"])
    assert driver.find_element(By.ID, "o-status").text == "Delivered"


def test_purchase_through_epusdt(make_server, driver):
    from fakes.fake_epusdt import FakeEpusdt
    gw = FakeEpusdt().start()
    try:
        srv = make_server({"payment.epusdt": {"enabled": True, "api_url": gw.url, "token": gw.token},
                           "server": {"rate_limit": 100000},
                           "security": {"challenge_orders_per_minute": 100000000}})
        admin = ShopAdmin(srv, ADMIN_USER, ADMIN_PASSWORD, create=False)
        pid = admin.product(name="USDT key", price=7200, keys=["USDT-KEY-0001"])
        _buy(driver, srv.base_url, pid, "USDT (crypto)")
        WebDriverWait(driver, 10).until(lambda d: d.current_url.startswith(gw.url + "/pay/checkout-counter/"))
        assert "10.0 USDT" in driver.page_source  # 72.00 CNY at 7.2
        order_no = list(gw.trades)[-1]
        assert gw.pay(order_no) == "ok"
        driver.get(gw.trade(order_no).redirect_url)
        WebDriverWait(driver, 15).until(
            lambda d: [k.text for k in d.find_elements(By.CSS_SELECTOR, "#key-list li .key")] == ["USDT-KEY-0001"])
    finally:
        gw.stop()


def test_a_gateway_that_goes_down_leaves_the_checkout(make_server, driver, gateways):
    ep, st = gateways
    st.set(fail=-1)
    srv = make_server({
        "payment.stripe": {"enabled": True, "api_url": st.url, "secret_key": SECRET_KEY,
                           "webhook_secret": WEBHOOK_SECRET},
        "payment.sandbox": {"enabled": True},
        "payment": {"breaker_failures": 1, "breaker_cooldown": 600}})
    admin = ShopAdmin(srv, ADMIN_USER, ADMIN_PASSWORD, create=False)
    pid = admin.product(price=990, keys=2)
    driver.get(f"{srv.base_url}/shop/product?id={pid}")
    assert _labels(driver) == ["Card (Stripe)", "Sandbox (simulated payment)"]
    _buy(driver, srv.base_url, pid, "Card (Stripe)")
    box = WebDriverWait(driver, 10).until(EC.visibility_of_element_located((By.ID, "order-error")))
    assert box.text == "This payment method is not available right now. Please choose another one."
    WebDriverWait(driver, 10).until(lambda d: _labels(d) == ["Sandbox (simulated payment)"])
    assert driver.find_element(By.ID, "email").get_attribute("value") == "buyer@example.com"
