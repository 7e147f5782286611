"""A purchase in a real browser, end to end: catalog -> product -> sandbox gateway -> delivery.

The server runs with the sandbox gateway on and base_url pointing at itself (the sandbox notify
is POSTed there by the jobs thread, like a real gateway would). Screenshots of the catalog,
product and delivery pages (desktop 1280x900 and mobile 390x844) go to $CARDSHOP_SCREENSHOTS
when set, else to the test's tmp_path."""

import base64
import json
import os
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

from conftest import ADMIN_PASSWORD, ADMIN_USER

PRODUCT = "Test Gift Card 10"
PRICE = 1000  # minor units: ¥10.00
KEYS = ["KEY-AAAA-1111", "KEY-BBBB-2222", "KEY-CCCC-3333"]
XSS_NAME = "<img src=x onerror=alert(1)>"
EMAIL = "buyer@example.com"
BANNER = "Demo mode: payments are simulated (sandbox gateway)"
DESKTOP = (1280, 900)
MOBILE = (390, 844)


# ---- helpers ----------------------------------------------------------------------------------

def wait(driver, timeout=10):
    return WebDriverWait(driver, timeout)


def visible(driver, css, timeout=10):
    return wait(driver, timeout).until(EC.visibility_of_element_located((By.CSS_SELECTOR, css)))


def admin_session(server):
    r = server.post("/api/admin/login", json={"username": ADMIN_USER, "password": ADMIN_PASSWORD})
    assert r.status == 200, r
    return r.json()["csrf_token"]


def admin_post(server, csrf, path, json_body=None, text=None):
    if text is not None:
        return server.post(path, body=text, headers={"X-CSRF-Token": csrf, "Content-Type": "text/plain"})
    return server.post(path, json=json_body, headers={"X-CSRF-Token": csrf})


def product_card(driver, name, timeout=10):
    """The catalog card whose name reads exactly name."""
    def find(d):
        for card in d.find_elements(By.CSS_SELECTOR, "#product-grid .product-card"):
            if card.find_element(By.CSS_SELECTOR, ".product-name").text == name:
                return card
        return False
    return wait(driver, timeout).until(find)


def card_stock(driver, name):
    return product_card(driver, name).find_element(By.CSS_SELECTOR, ".stock").text


def screenshot(driver, directory, name):
    """Full-page PNGs at desktop and mobile sizes; leaves the window at desktop size."""
    directory.mkdir(parents=True, exist_ok=True)
    for label, (w, h) in (("desktop", DESKTOP), ("mobile", MOBILE)):
        driver.set_window_size(w, h)
        wait(driver).until(lambda d: abs(d.execute_script("return window.innerWidth") - w) <= 20)
        path = directory / f"{name}-{label}.png"
        try:
            height = driver.execute_script(
                "return Math.max(document.documentElement.scrollHeight, window.innerHeight)")
            width = driver.execute_script("return window.innerWidth")
            shot = driver.execute_cdp_cmd("Page.captureScreenshot", {
                "format": "png", "captureBeyondViewport": True,
                "clip": {"x": 0, "y": 0, "width": width, "height": height, "scale": 1}})
            path.write_bytes(base64.b64decode(shot["data"]))
        except Exception:  # pragma: no cover - an older driver without CDP
            driver.save_screenshot(str(path))
    driver.set_window_size(*DESKTOP)


def console_errors(driver):
    try:
        logs = driver.get_log("browser")
    except Exception:  # pragma: no cover
        return []
    return [e["message"] for e in logs if e.get("level") == "SEVERE" and "favicon" not in e["message"]]


# ---- fixtures ---------------------------------------------------------------------------------

@pytest.fixture
def shop(make_server):
    """A server with the sandbox gateway, one product with three keys and one product whose name
    is markup (no keys)."""
    srv = make_server({"payment.sandbox": {"enabled": True}}, name="shop")
    # The sandbox notify goes to base_url: it must be this very server.
    assert srv.sections()["server"]["base_url"] == srv.base_url
    cfg = srv.get("/api/config").json()
    assert cfg["sandbox"] is True and "sandbox" in cfg["gateways"], cfg

    csrf = admin_session(srv)
    r = admin_post(srv, csrf, "/api/admin/products",
                   {"name": PRODUCT, "price": PRICE, "description": "Line one\n<b>not bold</b>"})
    assert r.status == 201, r
    pid = r.json()["id"]
    r = admin_post(srv, csrf, f"/api/admin/products/{pid}/keys", text="\n".join(KEYS) + "\n")
    assert r.status == 200, r
    assert r.json()["added"] == 3, r
    r = admin_post(srv, csrf, "/api/admin/products", {"name": XSS_NAME, "price": 500})
    assert r.status == 201, r
    srv.product_id = pid
    return srv


@pytest.fixture
def shots(tmp_path):
    d = os.environ.get("CARDSHOP_SCREENSHOTS")
    return Path(d) if d else tmp_path / "screenshots"


# ---- the test ---------------------------------------------------------------------------------

def test_purchase_with_sandbox(driver, shop, shots):
    # English, whatever the browser's locale.
    driver.get(shop.url("/shop/"))
    driver.execute_script("localStorage.setItem('cardshop.lang', 'en')")
    driver.get(shop.url("/shop/"))

    # Catalog: the product with its stock, the markup-named one shown literally, the banner.
    assert card_stock(driver, PRODUCT) == "In stock: 3"
    card = product_card(driver, PRODUCT)
    assert card.find_element(By.CSS_SELECTOR, ".price").text == "¥10.00"
    assert card_stock(driver, XSS_NAME) == "Sold out"
    assert driver.find_elements(By.CSS_SELECTOR, "#product-grid img") == []
    banner = visible(driver, ".demo-banner")
    assert banner.text == BANNER
    screenshot(driver, shots, "catalog")

    # Product page: quantity 2, email, sandbox, submit.
    product_card(driver, PRODUCT).find_element(By.CSS_SELECTOR, ".product-name a").click()
    wait(driver).until(EC.url_contains(f"/shop/product?id={shop.product_id}"))
    visible(driver, "#order-form")
    wait(driver).until(lambda d: d.find_element(By.ID, "p-stock").text == "In stock: 3")
    assert driver.find_element(By.ID, "p-name").text == PRODUCT
    assert driver.find_element(By.ID, "p-description").text == "Line one\n<b>not bold</b>"
    assert visible(driver, ".demo-banner").text == BANNER
    qty = driver.find_element(By.ID, "quantity")
    qty.clear()
    qty.send_keys("2")
    wait(driver).until(lambda d: d.find_element(By.ID, "total").text == "¥20.00")
    driver.find_element(By.ID, "email").send_keys(EMAIL)
    sandbox = driver.find_element(By.ID, "gateway-sandbox")
    if not sandbox.is_selected():
        driver.find_element(By.CSS_SELECTOR, "label[for='gateway-sandbox']").click()
    assert sandbox.is_selected()
    screenshot(driver, shots, "product")
    driver.find_element(By.ID, "order-submit").click()

    # Sandbox gateway page: amount, pay.
    wait(driver).until(EC.url_contains("/pay/sandbox/checkout?order_no="))
    pay = wait(driver).until(EC.element_to_be_clickable((By.ID, "pay-now")))
    assert driver.find_element(By.ID, "pay-amount").text == "¥20.00"
    assert visible(driver, ".demo-banner").text == BANNER
    pay.click()

    # Delivery page: exactly two distinct keys out of the three uploaded.
    wait(driver, 20).until(EC.url_contains("/shop/order?order_no="))
    wait(driver, 20).until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#key-list li .key")) == 2)
    shown = [k.text for k in driver.find_elements(By.CSS_SELECTOR, "#key-list li .key")]
    assert len(shown) == 2 and len(set(shown)) == 2, shown
    assert set(shown) <= set(KEYS), shown
    assert driver.find_element(By.ID, "o-status").text == "Delivered"
    assert visible(driver, ".demo-banner").text == BANNER
    copy = driver.find_element(By.CSS_SELECTOR, "#key-list li button.copy")
    copy.click()
    wait(driver).until(lambda d: copy.text == "Copied")
    screenshot(driver, shots, "delivery")

    # The catalog now has one key left.
    driver.get(shop.url("/shop/"))
    wait(driver).until(lambda d: card_stock(d, PRODUCT) == "In stock: 1")
    assert visible(driver, ".demo-banner").text == BANNER

    # The server agrees, and nothing on the way broke the CSP or threw.
    p = json.loads(shop.get(f"/api/products/{shop.product_id}").text)
    assert p["stock"] == 1
    assert console_errors(driver) == []
