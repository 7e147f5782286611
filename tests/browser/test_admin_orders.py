"""The admin orders and coupons pages in a real browser: a coupon made through the form, orders
placed through the public API with coupons, one paid through the sandbox gateway, then the
orders page's amounts, badges, summary, status filter and search.

The server runs with the sandbox gateway on and base_url pointing at itself (the sandbox notify
is POSTed there by the jobs thread). Screenshots (desktop 1280x900, mobile 390x844) go to
$CARDSHOP_SCREENSHOTS when set, else to the test's tmp_path."""

import base64
import os
import time
from pathlib import Path

import pytest
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import Select, WebDriverWait

from conftest import ADMIN_PASSWORD, ADMIN_USER

PRODUCT = 'Gift <b>card</b> & "10"'  # markup in a name must show literally
PRICE = 1000  # minor units: 10.00 CNY
KEYS = [f"ORD-KEY-{i:04d}" for i in range(6)]
DESKTOP = (1280, 900)
MOBILE = (390, 844)
PENDING_EMAIL = "buyer@example.com"
PAID_EMAIL = "paid@example.com"
LATE_EMAIL = "late@example.com"


# ---- helpers ----------------------------------------------------------------------------------

def wait(driver, timeout=10):
    return WebDriverWait(driver, timeout, ignored_exceptions=(StaleElementReferenceException,))


def visible(driver, css, timeout=10):
    return wait(driver, timeout).until(EC.visibility_of_element_located((By.CSS_SELECTOR, css)))


def fill(driver, css, text):
    box = driver.find_element(By.CSS_SELECTOR, css)
    box.clear()
    if text:
        box.send_keys(text)
    return box


def text_of(row, css):
    return row.find_element(By.CSS_SELECTOR, css).text


def admin_session(server):
    r = server.post("/api/admin/login", json={"username": ADMIN_USER, "password": ADMIN_PASSWORD})
    assert r.status == 200, r
    return r.json()["csrf_token"]


def admin_post(server, csrf, path, json_body=None, text=None):
    if text is not None:
        return server.post(path, body=text, headers={"X-CSRF-Token": csrf, "Content-Type": "text/plain"})
    return server.post(path, json=json_body, headers={"X-CSRF-Token": csrf})


def api_coupons(server):
    """The coupons by code, through the API session the fixture opened (cookie kept)."""
    r = server.get("/api/admin/coupons")
    assert r.status == 200, r
    return {c["code"]: c for c in r.json()["coupons"]}


def api_orders(server, **params):
    query = "&".join(f"{k}={v}" for k, v in params.items())
    r = server.get("/api/admin/orders" + (f"?{query}" if query else ""))
    assert r.status == 200, r
    return {o["order_no"]: o for o in r.json()["orders"]}


def place_order(server, quantity, email, coupon=None):
    body = {"product_id": server.product_id, "quantity": quantity, "email": email, "gateway": "sandbox"}
    if coupon:
        body["coupon"] = coupon
    r = server.post("/api/orders", json=body, use_cookies=False)
    assert r.status == 201, r
    return r.json()


def coupon_row(driver, code):
    def find(d):
        for row in d.find_elements(By.CSS_SELECTOR, "#coupons-body tr[data-id]"):
            if row.get_attribute("data-code") == code:
                return row
        return False
    return wait(driver).until(find)


def order_rows(driver):
    return {r.get_attribute("data-order-no"): r
            for r in driver.find_elements(By.CSS_SELECTOR, "#orders-body tr[data-order-no]")}


def wait_rows(driver, order_nos):
    """Waits until the orders table lists exactly these orders, then returns the rows."""
    want = set(order_nos)
    wait(driver).until(lambda d: d.find_element(By.ID, "orders-table").get_attribute("aria-busy") is None
                       and set(order_rows(d)) == want)
    return order_rows(driver)


def summary(driver):
    counts = {}
    for s in driver.find_elements(By.CSS_SELECTOR, "#sum-statuses .summary-status"):
        counts[s.get_attribute("data-status")] = int(text_of(s, ".count"))
    return counts


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


def browser_problems(driver):
    """CSP refusals and script errors. HTTP error answers the page expects (the 401 of the
    session probe on the sign-in form, the 409 of the duplicate coupon) are logged by the
    browser as "Failed to load resource" and are not problems."""
    return [e["message"] for e in driver.get_log("browser")
            if ("Content Security Policy" in e["message"] or "Refused to" in e["message"]
                or e.get("level") == "SEVERE")
            and "favicon" not in e["message"] and "Failed to load resource" not in e["message"]]


# ---- fixtures ---------------------------------------------------------------------------------

@pytest.fixture
def shop(make_server):
    """Sandbox gateway on, one product with six keys, one 10% coupon made through the API."""
    srv = make_server({"payment.sandbox": {"enabled": True}}, name="shop")
    assert srv.sections()["server"]["base_url"] == srv.base_url
    csrf = admin_session(srv)
    r = admin_post(srv, csrf, "/api/admin/products", {"name": PRODUCT, "price": PRICE})
    assert r.status == 201, r
    srv.product_id = r.json()["id"]
    r = admin_post(srv, csrf, f"/api/admin/products/{srv.product_id}/keys", text="\n".join(KEYS) + "\n")
    assert r.status == 200 and r.json()["added"] == len(KEYS), r
    r = admin_post(srv, csrf, "/api/admin/coupons", {"code": "API10", "kind": "percent", "value": 10})
    assert r.status == 201, r
    return srv


@pytest.fixture
def shots(tmp_path):
    d = os.environ.get("CARDSHOP_SCREENSHOTS")
    return Path(d) if d else tmp_path / "screenshots"


# ---- the test ---------------------------------------------------------------------------------

def test_coupons_and_orders_pages(driver, shop, shots):
    # Sign in through the form.
    driver.get(shop.url("/admin/"))
    visible(driver, "#login-form")
    fill(driver, "#username", ADMIN_USER)
    fill(driver, "#password", ADMIN_PASSWORD)
    driver.find_element(By.CSS_SELECTOR, "#login-submit").click()
    wait(driver).until(EC.url_contains("/admin/dashboard"))

    # ---- coupons ----
    driver.find_element(By.CSS_SELECTOR, ".admin-top nav a[href='/admin/coupons']").click()
    wait(driver).until(EC.url_contains("/admin/coupons"))
    row = coupon_row(driver, "API10")
    assert text_of(row, ".discount") == "10% off"
    assert text_of(row, ".product") == "Any product"
    assert text_of(row, ".left") == "unlimited"
    assert text_of(row, ".expires") == "Never"
    assert text_of(row, ".status") == "Active"
    assert driver.find_element(By.CSS_SELECTOR, "nav a[aria-current='page']").text == "Coupons"

    # A fixed coupon through the form: 5.00 typed, 500 stored; 3 uses; an expiry; the product.
    fill(driver, "#nc-code", "FIVEOFF")
    Select(driver.find_element(By.ID, "nc-kind")).select_by_value("fixed")
    assert driver.find_element(By.ID, "nc-value-label").text == "Amount off (CNY)"
    fill(driver, "#nc-value", "5.00")
    fill(driver, "#nc-uses", "3")
    expiry = driver.find_element(By.ID, "nc-expires")
    driver.execute_script("arguments[0].value = '2031-06-15T12:30';"
                          "arguments[0].dispatchEvent(new Event('input', {bubbles: true}));", expiry)
    Select(driver.find_element(By.ID, "nc-product")).select_by_value(str(shop.product_id))
    driver.find_element(By.ID, "nc-submit").click()
    row = coupon_row(driver, "FIVEOFF")
    assert "fresh" in row.get_attribute("class")
    assert text_of(row, ".discount") == "5.00 CNY off"
    assert text_of(row, ".product") == PRODUCT
    assert text_of(row, ".used") == "0" and text_of(row, ".left") == "3"
    assert text_of(row, ".expires") == "2031-06-15 12:30"
    assert "created" in visible(driver, "#page-notice").text
    # the form is ready for the next one
    assert driver.find_element(By.ID, "nc-code").get_attribute("value") == ""
    stored = api_coupons(shop)["FIVEOFF"]
    want_exp = driver.execute_script("return new Date(2031, 5, 15, 12, 30, 0).getTime() / 1000")
    assert (stored["kind"], stored["value"], stored["uses_left"], stored["product_id"], stored["expires_at"]) \
        == ("fixed", 500, 3, shop.product_id, int(want_exp)), stored

    # Checked before sending: a percent over 100. Refused by the server: a code that exists
    # (codes are case-insensitive), with its message shown and the code field focused.
    Select(driver.find_element(By.ID, "nc-kind")).select_by_value("percent")
    fill(driver, "#nc-code", "BIG")
    fill(driver, "#nc-value", "150")
    driver.find_element(By.ID, "nc-submit").click()
    assert "1 to 100" in visible(driver, "#coupon-form-error").text
    fill(driver, "#nc-code", "api10")
    fill(driver, "#nc-value", "15")
    driver.find_element(By.ID, "nc-submit").click()
    wait(driver).until(lambda d: "exists" in d.find_element(By.ID, "coupon-form-error").text)
    assert driver.switch_to.active_element.get_attribute("id") == "nc-code"
    assert set(api_coupons(shop)) == {"API10", "FIVEOFF"}
    screenshot(driver, shots, "admin-coupons")

    # ---- orders through the public API ----
    pending = place_order(shop, 2, PENDING_EMAIL, coupon="FIVEOFF")   # 2 x (10.00 - 5.00): a use a unit
    assert pending["status"] == "pending" and pending["amount"] == 1000, pending
    paid = place_order(shop, 1, PAID_EMAIL, coupon="api10")           # 10.00 - 10%
    assert paid["amount"] == 900, paid
    late = place_order(shop, 1, LATE_EMAIL)
    assert late["amount"] == PRICE, late
    r = shop.post("/pay/sandbox/pay", json={"order_no": paid["order_no"], "token": paid["token"]},
                  use_cookies=False)
    assert r.status == 202, r
    # No API makes a paid_undelivered order on demand: mark the third one by hand.
    db = shop.db()
    try:
        with db:
            db.execute("UPDATE orders SET status = 'paid_undelivered', paid_at = created_at + 60"
                       " WHERE order_no = ?", (late["order_no"],))
    finally:
        db.close()
    deadline = time.monotonic() + 15
    while api_orders(shop)[paid["order_no"]]["status"] != "delivered":
        assert time.monotonic() < deadline, "the sandbox payment was not delivered"
        time.sleep(0.1)
    assert api_coupons(shop)["FIVEOFF"]["used"] == 2

    # ---- the orders page ----
    driver.find_element(By.CSS_SELECTOR, ".admin-top nav a[href='/admin/orders']").click()
    wait(driver).until(EC.url_contains("/admin/orders"))
    all_nos = [pending["order_no"], paid["order_no"], late["order_no"]]
    rows = wait_rows(driver, all_nos)
    # newest first
    assert [r.get_attribute("data-order-no") for r in
            driver.find_elements(By.CSS_SELECTOR, "#orders-body tr")] == all_nos[::-1]

    row = rows[pending["order_no"]]
    assert text_of(row, ".order-no") == pending["order_no"]
    assert text_of(row, ".status") == "Pending"
    assert text_of(row, ".amount-value") == "10.00 CNY"
    assert text_of(row, ".discount") == "coupon −10.00"
    assert text_of(row, ".qty") == "2"
    assert text_of(row, ".email") == PENDING_EMAIL
    assert text_of(row, ".gateway") == "sandbox"
    name = row.find_element(By.CSS_SELECTOR, ".product-name")
    assert name.text == PRODUCT and name.find_elements(By.XPATH, "./*") == []
    created = api_orders(shop)[pending["order_no"]]["created_at"]
    local = driver.execute_script("return CardshopAdmin.formatTime(arguments[0])", created)
    assert " ".join(text_of(row, ".created").split()) == local
    assert text_of(row, ".paid") == "—"

    row = rows[paid["order_no"]]
    assert text_of(row, ".status") == "Delivered"
    assert text_of(row, ".amount-value") == "9.00 CNY"
    assert text_of(row, ".trade-no") not in ("", "—")
    assert text_of(row, ".paid") != "—"

    row = rows[late["order_no"]]
    assert "attention" in row.get_attribute("class")
    assert text_of(row, ".status") == "Paid, not delivered"

    assert driver.find_element(By.ID, "sum-count").text == "3"
    assert summary(driver) == {"pending": 1, "delivered": 1, "paid_undelivered": 1}
    assert driver.find_element(By.ID, "sum-delivered").text == "9.00 CNY"
    assert "1 order on this page" in visible(driver, "#attention-note").text
    assert driver.find_element(By.ID, "page-next").get_attribute("disabled") is not None
    screenshot(driver, shots, "admin-orders")

    # Filter by status: the URL follows, so a reload keeps the filter.
    Select(driver.find_element(By.ID, "status-filter")).select_by_value("pending")
    wait_rows(driver, [pending["order_no"]])
    assert "status=pending" in driver.current_url
    assert summary(driver) == {"pending": 1}
    assert driver.find_element(By.ID, "sum-delivered").text == "0.00 CNY"
    driver.refresh()
    wait_rows(driver, [pending["order_no"]])
    assert Select(driver.find_element(By.ID, "status-filter")).first_selected_option.get_attribute("value") == "pending"

    # Search by email (with the status back on All), then by order number, then nothing.
    Select(driver.find_element(By.ID, "status-filter")).select_by_value("")
    wait_rows(driver, all_nos)
    fill(driver, "#order-search", f"  {PAID_EMAIL} ")
    driver.find_element(By.ID, "search-submit").click()
    wait_rows(driver, [paid["order_no"]])
    assert "q=paid%40example.com" in driver.current_url
    fill(driver, "#order-search", late["order_no"])
    driver.find_element(By.ID, "order-search").submit()
    wait_rows(driver, [late["order_no"]])
    # search and status together: nothing
    Select(driver.find_element(By.ID, "status-filter")).select_by_value("delivered")
    wait_rows(driver, [])
    assert visible(driver, "#orders-empty").text == "No orders match this filter."
    assert not driver.find_element(By.ID, "orders-summary").is_displayed()
    # back in the history: the previous filter again
    driver.back()
    wait_rows(driver, [late["order_no"]])
    driver.find_element(By.ID, "search-clear").click()
    wait_rows(driver, all_nos)
    assert driver.current_url.endswith("/admin/orders")

    # Paging, 50 a page: 48 newer (expired) orders copied in by hand push the first one over.
    db = shop.db()
    try:
        with db:
            for i in range(48):
                db.execute("INSERT INTO orders (order_no, product_id, quantity, unit_price, amount, currency,"
                           " email, gateway, status, created_at, expires_at)"
                           " SELECT ?, product_id, 1, unit_price, unit_price, currency, 'filler@example.com',"
                           " gateway, 'expired', created_at, expires_at FROM orders WHERE order_no = ?",
                           (f"filler{i:02d}", pending["order_no"]))
    finally:
        db.close()
    driver.refresh()
    wait(driver).until(lambda d: len(order_rows(d)) == 50)
    assert pending["order_no"] not in order_rows(driver)
    assert summary(driver) == {"paid_undelivered": 1, "delivered": 1, "expired": 48}
    driver.find_element(By.ID, "page-next").click()
    wait_rows(driver, [pending["order_no"]])
    assert "page=2" in driver.current_url
    assert driver.find_element(By.ID, "page-info").text == "Page 2"
    assert driver.find_element(By.ID, "page-next").get_attribute("disabled") is not None
    driver.find_element(By.ID, "page-prev").click()
    wait(driver).until(lambda d: len(order_rows(d)) == 50)

    assert browser_problems(driver) == []
