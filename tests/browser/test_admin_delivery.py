"""Manual delivery, payment notifications and the mail page in a real browser.

A manual-delivery product is ordered (quantity 2) and paid through the sandbox gateway, which
leaves the order "paid" (waiting for the merchant). On the orders page the merchant opens the
Deliver form: an empty form is refused before sending, a wrong number of keys shows the
server's message, the right keys deliver the order and the buyer's view lists exactly them.
The Payments panel shows the stored sandbox notify; the mail page shows the two order mail
jobs (paid, delivered): the harness points SMTP at a closed port, so with [smtp] from set they
wait for a retry with the SMTP error.

The server runs with the sandbox gateway on and base_url pointing at itself (the sandbox notify
is POSTed there by the jobs thread). Screenshots (desktop 1280x900, mobile 390x844) go to
$CARDSHOP_SCREENSHOTS when set, else to the test's tmp_path."""

import os
import time
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import Select

from conftest import ADMIN_PASSWORD, ADMIN_USER
from test_admin_orders import (admin_post, admin_session, browser_problems, fill, screenshot, text_of,
                               visible, wait, wait_rows)

PRODUCT = 'Hand <i>delivered</i> & "gift"'  # markup in a name must show literally
PRICE = 1250
EMAIL = "manual@example.com"
KEYS = ["MANUAL-KEY-0001", "MANUAL-KEY-0002"]


def buyer_view(server, order):
    r = server.get(f"/api/orders/{order['order_no']}?token={order['token']}", use_cookies=False)
    assert r.status == 200, r
    return r.json()


def wait_buyer_status(server, order, want, timeout=10):
    deadline = time.monotonic() + timeout
    while True:
        view = buyer_view(server, order)
        if view["status"] == want:
            return view
        assert time.monotonic() < deadline, f"order {order['order_no']} stayed {view['status']}, not {want}"
        time.sleep(0.2)


def order_row(driver, order_no):
    return wait_rows(driver, [order_no])[order_no]


def detail_of(driver, order_no):
    return visible(driver, f"#orders-body tr.order-detail[data-detail-of='{order_no}']")


def job_rows(driver, order_id):
    return [r for r in driver.find_elements(By.CSS_SELECTOR, "#jobs-body tr.job")
            if r.find_elements(By.CSS_SELECTOR, f"td.order[data-order-id='{order_id}']")]


@pytest.fixture
def shop(make_server):
    """Sandbox gateway on; one manual-delivery product (no keys in stock). [smtp] from is set
    (the harness leaves it empty, and then a mail job is marked done without sending), so the
    mail jobs really try the harness's closed SMTP port and fail."""
    srv = make_server({"payment.sandbox": {"enabled": True}, "smtp": {"from": "shop@example.com"}},
                      name="shop")
    assert srv.sections()["server"]["base_url"] == srv.base_url
    csrf = admin_session(srv)
    r = admin_post(srv, csrf, "/api/admin/products", {"name": PRODUCT, "price": PRICE, "delivery": "manual"})
    assert r.status == 201, r
    srv.product_id = r.json()["id"]
    return srv


@pytest.fixture
def shots(tmp_path):
    d = os.environ.get("CARDSHOP_SCREENSHOTS")
    return Path(d) if d else tmp_path / "screenshots"


def test_manual_delivery_payments_and_mail(driver, shop, shots):
    # ---- an order for two, paid through the sandbox gateway: "paid", waiting for keys ----
    r = shop.post("/api/orders", json={"product_id": shop.product_id, "quantity": 2, "email": EMAIL,
                                       "gateway": "sandbox"}, use_cookies=False)
    assert r.status == 201, r
    order = r.json()
    no = order["order_no"]
    assert order["amount"] == 2 * PRICE, order
    r = shop.post("/pay/sandbox/pay", json={"order_no": no, "token": order["token"]}, use_cookies=False)
    assert r.status == 202, r
    view = wait_buyer_status(shop, order, "paid")
    assert view["keys"] == [], view
    db = shop.db()
    try:
        order_id = db.execute("SELECT id FROM orders WHERE order_no = ?", (no,)).fetchone()[0]
    finally:
        db.close()

    # ---- sign in, the orders page ----
    driver.get(shop.url("/admin/"))
    visible(driver, "#login-form")
    fill(driver, "#username", ADMIN_USER)
    fill(driver, "#password", ADMIN_PASSWORD)
    driver.find_element(By.CSS_SELECTOR, "#login-submit").click()
    wait(driver).until(EC.url_contains("/admin/dashboard"))
    driver.find_element(By.CSS_SELECTOR, ".admin-top nav a[href='/admin/orders']").click()
    wait(driver).until(EC.url_contains("/admin/orders"))
    row = order_row(driver, no)
    assert text_of(row, ".status") == "Paid (to deliver)"
    assert text_of(row, ".product-name") == PRODUCT

    # The Deliver form under the row, with the count the order needs.
    toggle = row.find_element(By.CSS_SELECTOR, ".deliver-toggle")
    assert toggle.get_attribute("aria-expanded") == "false"
    toggle.click()
    detail = detail_of(driver, no)
    assert toggle.get_attribute("aria-expanded") == "true"
    form = detail.find_element(By.CSS_SELECTOR, "form.deliver-form")
    assert "2 keys" in text_of(form, "label")
    assert PRODUCT in text_of(form, "label")
    box = form.find_element(By.TAG_NAME, "textarea")
    assert driver.switch_to.active_element == box
    assert text_of(form, ".key-count") == "0 of 2 keys"
    error = form.find_element(By.CSS_SELECTOR, ".deliver-error")

    # Nothing typed: refused here (an empty body would take keys from stock).
    form.find_element(By.CSS_SELECTOR, ".deliver-keys").click()
    wait(driver).until(lambda d: error.is_displayed() and "one per line" in error.text)

    # One key for an order of two: the server's message.
    box.send_keys(KEYS[0])
    assert text_of(form, ".key-count") == "1 of 2 keys"
    form.find_element(By.CSS_SELECTOR, ".deliver-keys").click()
    wait(driver).until(lambda d: "exactly 2" in error.text)
    assert error.text.startswith("Keys:"), error.text
    assert buyer_view(shop, order)["status"] == "paid"

    # Deliver from stock with no stock: the server's message too.
    form.find_element(By.CSS_SELECTOR, ".deliver-stock").click()
    wait(driver).until(lambda d: "stock" in error.text and "exactly" not in error.text)
    assert buyer_view(shop, order)["status"] == "paid"
    screenshot(driver, shots, "admin-orders-deliver")

    # The right keys (stray spaces and a blank line are not keys) deliver the order.
    box.send_keys("  " + Keys.ENTER + Keys.ENTER + "  " + KEYS[1] + "  ")
    assert text_of(form, ".key-count") == "2 of 2 keys"
    form.find_element(By.CSS_SELECTOR, ".deliver-keys").click()
    wait(driver).until(lambda d: not d.find_elements(By.CSS_SELECTOR, "#orders-body tr.order-detail"))
    row = order_row(driver, no)
    assert text_of(row, ".status") == "Delivered"
    assert "fresh" in row.get_attribute("class")
    assert row.find_elements(By.CSS_SELECTOR, ".deliver-toggle") == []
    assert text_of(row, ".email") == EMAIL  # kept from the list
    assert no in visible(driver, "#page-notice").text
    assert driver.find_element(By.ID, "sum-delivered").text == "25.00 CNY"
    view = buyer_view(shop, order)
    assert view["status"] == "delivered" and view["keys"] == KEYS, view

    # ---- payment notifications of the order ----
    pay_toggle = row.find_element(By.CSS_SELECTOR, ".payments-toggle")
    pay_toggle.click()
    detail = detail_of(driver, no)
    wait(driver).until(lambda d: detail.find_elements(By.CSS_SELECTOR, "li.payment-event"))
    events = detail.find_elements(By.CSS_SELECTOR, "li.payment-event")
    assert len(events) == 1
    ev = events[0]
    assert text_of(ev, ".event-outcome") == "paid"
    assert text_of(ev, ".event-gateway .event-value") == "sandbox"
    assert text_of(ev, ".event-verified .event-value") == "Verified"
    assert text_of(ev, ".event-amount .event-value") == "25.00 CNY"
    trade = text_of(ev, ".event-trade .event-value")
    assert trade.startswith("SBX") and text_of(row, ".trade-no") == trade
    pre = ev.find_element(By.CSS_SELECTOR, "details pre.raw")
    assert not pre.is_displayed()
    ev.find_element(By.CSS_SELECTOR, "details summary").click()
    wait(driver).until(lambda d: pre.is_displayed())
    assert no in pre.text and trade in pre.text
    screenshot(driver, shots, "admin-orders-payments")
    pay_toggle.click()
    wait(driver).until(lambda d: not d.find_elements(By.CSS_SELECTOR, "#orders-body tr.order-detail"))
    assert pay_toggle.get_attribute("aria-expanded") == "false"

    # ---- the mail page: the order's mail jobs (paid, then delivered) ----
    driver.find_element(By.CSS_SELECTOR, ".admin-top nav a[href='/admin/mail']").click()
    wait(driver).until(EC.url_contains("/admin/mail"))
    assert driver.find_element(By.CSS_SELECTOR, "nav a[aria-current='page']").text == "Mail"
    assert Select(driver.find_element(By.ID, "kind-filter")).first_selected_option.get_attribute("value") == "mail"

    def tried(d):
        """Both order mails of the order, each attempted at least once and not running right
        now (else refresh)."""
        if d.find_element(By.ID, "jobs-table").get_attribute("aria-busy") is None:
            rows = job_rows(d, order_id)
            if len(rows) == 2 and all(not text_of(r, ".attempts").startswith("0/")
                                      and r.get_attribute("data-status") != "running" for r in rows):
                return rows
            d.find_element(By.ID, "jobs-refresh").click()
        time.sleep(0.3)
        return False
    rows = wait(driver, 15).until(tried)
    for r in rows:
        assert r.get_attribute("data-kind") == "order_mail"
        assert text_of(r, ".kind") == "Order mail"
        assert text_of(r, ".order") == f"#{order_id}"
        # SMTP points at a closed port: an error, and a retry later
        assert r.get_attribute("data-status") == "queued"
        assert "job-retrying" in r.get_attribute("class")
        assert text_of(r, ".status") == "Queued"
        assert text_of(r, ".last-error").startswith("smtp: "), text_of(r, ".last-error")
        assert "connect" in text_of(r, ".last-error").lower()
        attempts, max_attempts = text_of(r, ".attempts").split("/")
        assert int(attempts) >= 1 and max_attempts == "12"
        assert text_of(r, ".next-run") not in ("", "—")
    assert "2 jobs are waiting to be retried" in visible(driver, "#jobs-note").text
    screenshot(driver, shots, "admin-mail")

    # Other kinds, one at a time: the sandbox notify that paid the order, done.
    Select(driver.find_element(By.ID, "kind-filter")).select_by_value("sandbox_notify")
    wait(driver).until(lambda d: "kind=sandbox_notify" in d.current_url
                       and d.find_element(By.ID, "jobs-table").get_attribute("aria-busy") is None
                       and d.find_elements(By.CSS_SELECTOR, "#jobs-body tr.job"))
    rows = driver.find_elements(By.CSS_SELECTOR, "#jobs-body tr.job")
    assert [r.get_attribute("data-kind") for r in rows] == ["sandbox_notify"]
    assert rows[0].get_attribute("data-status") == "done"
    link = rows[0].find_element(By.CSS_SELECTOR, ".order a")
    assert link.text == no and link.get_attribute("href").endswith(f"/admin/orders?q={no}")
    Select(driver.find_element(By.ID, "status-filter")).select_by_value("failed")
    wait(driver).until(lambda d: d.find_element(By.ID, "jobs-table").get_attribute("aria-busy") is None
                       and visible(d, "#jobs-empty").text == "No jobs match this filter.")
    driver.refresh()
    visible(driver, "#jobs-empty")
    assert Select(driver.find_element(By.ID, "kind-filter")).first_selected_option.get_attribute("value") \
        == "sandbox_notify"

    assert browser_problems(driver) == []
