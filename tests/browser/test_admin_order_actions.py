"""The merchant's order actions in a real browser: orders placed through the public API, then on
the admin orders page the product filter with its totals and CSV link, an order's detail, a
cancel through the confirm dialog with a note (its keys back in stock, the note in the audit
log), a confirm-paid that delivers, and its keys shown in clear on demand."""

import pytest
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import Select, WebDriverWait

from conftest import ADMIN_PASSWORD, ADMIN_USER

KEYS = [f"ACTION-KEY-{i:04d}-XYZW" for i in range(4)]


def wait(driver, timeout=10):
    return WebDriverWait(driver, timeout, ignored_exceptions=(StaleElementReferenceException,))


def visible(driver, css, timeout=10):
    return wait(driver, timeout).until(EC.visibility_of_element_located((By.CSS_SELECTOR, css)))


def row_of(driver, order_no):
    return wait(driver).until(lambda d: d.find_element(
        By.CSS_SELECTOR, f"#orders-body tr[data-order-no='{order_no}']:not(.order-detail)"))


def detail_of(driver, order_no):
    """The loaded detail panel of an order."""
    css = f".detail-panel[data-order-no='{order_no}']"
    return wait(driver).until(lambda d: d.find_element(By.CSS_SELECTOR, css)
                              if d.find_elements(By.CSS_SELECTOR, css + "[data-status]") else False)


def stock(server, pid):
    r = server.get(f"/api/products/{pid}", use_cookies=False)
    assert r.status == 200, r
    return r.json()["stock"]


def run_action(driver, order_no, action, note):
    """Clicks the action in the order's detail, types the note and confirms the dialog."""
    panel = detail_of(driver, order_no)
    panel.find_element(By.CSS_SELECTOR, f"button.order-action[data-action='{action}']").click()
    dialog = visible(driver, "#action-dialog")
    assert order_no in dialog.find_element(By.ID, "action-text").text
    dialog.find_element(By.ID, "action-note").send_keys(note)
    dialog.find_element(By.ID, "action-confirm").click()
    wait(driver).until(lambda d: not d.find_element(By.ID, "action-dialog").is_displayed())


@pytest.fixture
def shop(make_server):
    srv = make_server({"payment.sandbox": {"enabled": True}}, name="shop")
    r = srv.post("/api/admin/login", json={"username": ADMIN_USER, "password": ADMIN_PASSWORD})
    assert r.status == 200, r
    csrf = r.json()["csrf_token"]
    h = {"X-CSRF-Token": csrf}
    r = srv.post("/api/admin/products", json={"name": "Action <i>card</i>", "price": 500}, headers=h)
    assert r.status == 201, r
    srv.product_id = r.json()["id"]
    r = srv.post(f"/api/admin/products/{srv.product_id}/keys", body="\n".join(KEYS) + "\n",
                 headers={**h, "Content-Type": "text/plain"})
    assert r.status == 200, r
    r = srv.post("/api/admin/products", json={"name": "Other", "price": 100}, headers=h)
    assert r.status == 201, r
    return srv


def place(server, quantity, email):
    r = server.post("/api/orders", json={"product_id": server.product_id, "quantity": quantity,
                                         "email": email, "gateway": "sandbox"}, use_cookies=False)
    assert r.status == 201, r
    return r.json()


def test_cancel_then_confirm_paid_from_the_orders_page(driver, shop):
    to_cancel = place(shop, 2, "cancel@example.com")
    to_confirm = place(shop, 1, "confirm@example.com")
    assert stock(shop, shop.product_id) == 1

    driver.get(shop.url("/admin/"))
    visible(driver, "#login-form")
    driver.find_element(By.ID, "username").send_keys(ADMIN_USER)
    driver.find_element(By.ID, "password").send_keys(ADMIN_PASSWORD)
    driver.find_element(By.ID, "login-submit").click()
    wait(driver).until(EC.url_contains("/admin/dashboard"))
    driver.get(shop.url("/admin/orders"))

    # The product filter (its options come from the catalog) with the totals of the filter.
    wait(driver).until(lambda d: len(Select(d.find_element(By.ID, "product-filter")).options) == 3)
    Select(driver.find_element(By.ID, "product-filter")).select_by_value(str(shop.product_id))
    wait(driver).until(EC.url_contains(f"product_id={shop.product_id}"))
    wait(driver).until(lambda d: d.find_element(By.ID, "total-count").text == "2")
    assert driver.find_element(By.ID, "total-amount").text == "15.00 CNY"
    href = driver.find_element(By.ID, "csv-link").get_attribute("href")
    assert href.endswith(f"/api/admin/orders.csv?product_id={shop.product_id}"), href

    # Cancel through the detail and its confirm dialog.
    row_of(driver, to_cancel["order_no"]).find_element(By.CSS_SELECTOR, ".detail-toggle").click()
    panel = detail_of(driver, to_cancel["order_no"])
    assert panel.get_attribute("data-status") == "pending"
    actions = [b.get_attribute("data-action") for b in panel.find_elements(By.CSS_SELECTOR, "button.order-action")]
    assert actions == ["cancel", "confirm-paid"]
    run_action(driver, to_cancel["order_no"], "cancel", "buyer changed his mind")
    assert "cancelled" in visible(driver, "#page-notice").text
    panel = detail_of(driver, to_cancel["order_no"])
    wait(driver).until(lambda d: detail_of(d, to_cancel["order_no"]).get_attribute("data-status") == "cancelled")
    assert row_of(driver, to_cancel["order_no"]).find_element(By.CSS_SELECTOR, ".status").text == "Cancelled"
    history = detail_of(driver, to_cancel["order_no"]).find_element(By.CSS_SELECTOR, ".history-list").text
    assert "order.cancel" in history and "buyer changed his mind" in history
    assert stock(shop, shop.product_id) == 3  # both keys back on sale
    entries = shop.get("/api/admin/audit").json()["entries"]
    cancel = [e for e in entries if e["action"] == "order.cancel"]
    assert len(cancel) == 1 and cancel[0]["target"] == to_cancel["order_no"]
    assert cancel[0]["detail"]["note"] == "buyer changed his mind"

    # Confirm the other one paid: delivered; its key masked, then shown on demand.
    row_of(driver, to_confirm["order_no"]).find_element(By.CSS_SELECTOR, ".detail-toggle").click()
    run_action(driver, to_confirm["order_no"], "confirm-paid", "seen in the bank app")
    wait(driver).until(lambda d: detail_of(d, to_confirm["order_no"]).get_attribute("data-status") == "delivered")
    panel = detail_of(driver, to_confirm["order_no"])
    masked = panel.find_element(By.CSS_SELECTOR, ".key-list li").text
    assert "****" in masked and masked not in KEYS
    assert "manual" in panel.find_element(By.CSS_SELECTOR, ".detail-payment").text
    panel.find_element(By.CSS_SELECTOR, "button.show-keys").click()
    key = wait(driver).until(lambda d: d.find_element(By.CSS_SELECTOR, ".key-list li.clear-key")).text
    assert key in KEYS
    r = shop.get(f"/api/orders/{to_confirm['order_no']}?token={to_confirm['token']}", use_cookies=False)
    assert r.json()["status"] == "delivered" and r.json()["keys"] == [key]
    actions = [e["action"] for e in shop.get("/api/admin/audit").json()["entries"]]
    assert actions[:2] == ["order.keys_view", "order.confirm_paid"], actions

    # Refused statuses offer no action: a cancelled order has none.
    row_of(driver, to_cancel["order_no"]).find_element(By.CSS_SELECTOR, ".detail-toggle").click()
    panel = detail_of(driver, to_cancel["order_no"])
    assert panel.find_elements(By.CSS_SELECTOR, "button.order-action") == []
    errors = [e["message"] for e in driver.get_log("browser")
              if e.get("level") == "SEVERE" and "Failed to load resource" not in e["message"]
              and "favicon" not in e["message"]]
    assert errors == []
