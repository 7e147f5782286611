"""The merchant's pricing pages in a real browser: volume prices typed on the products page,
and a coupon edited, disabled, enabled and deleted on the coupons page, each checked against
the API."""

from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

from conftest import ADMIN_PASSWORD, ADMIN_USER


def wait(driver, timeout=10):
    return WebDriverWait(driver, timeout, ignored_exceptions=(StaleElementReferenceException,))


def fill(root, css, text):
    box = root.find_element(By.CSS_SELECTOR, css)
    box.clear()
    if text:
        box.send_keys(text)
    return box


def sign_in(driver, server):
    driver.get(server.url("/admin/"))
    wait(driver).until(EC.visibility_of_element_located((By.CSS_SELECTOR, "#login-form")))
    fill(driver, "#username", ADMIN_USER)
    fill(driver, "#password", ADMIN_PASSWORD)
    driver.find_element(By.CSS_SELECTOR, "#login-submit").click()
    wait(driver).until(EC.url_contains("/admin/dashboard"))
    driver.get(server.url("/admin/products"))


def api(server):
    r = server.post("/api/admin/login", json={"username": ADMIN_USER, "password": ADMIN_PASSWORD})
    assert r.status == 200, r
    return {"X-CSRF-Token": r.json()["csrf_token"]}


def coupon_row(driver, code):
    def find(d):
        rows = d.find_elements(By.CSS_SELECTOR, f"#coupons-body tr[data-code='{code}']")
        return rows[0] if rows else False
    return wait(driver).until(find)


def test_volume_prices_on_the_products_page(driver, server):
    sign_in(driver, server)
    fill(driver, "#np-name", "Bulk")
    fill(driver, "#np-price", "10.00")
    fill(driver, "#np-tiers", "10 8.00\n5 9.00")  # out of order: refused with the reason
    driver.find_element(By.CSS_SELECTOR, "#np-submit").click()
    err = wait(driver).until(EC.visibility_of_element_located((By.CSS_SELECTOR, "#product-form-error")))
    assert "increase" in err.text
    fill(driver, "#np-tiers", "5 9.00\n10 8.00")
    driver.find_element(By.CSS_SELECTOR, "#np-submit").click()
    row = wait(driver).until(lambda d: next((r for r in d.find_elements(By.CSS_SELECTOR, "#products-body tr[data-id]")
                                             if r.find_element(By.CSS_SELECTOR, ".product-name").text == "Bulk"), False))
    assert "2 volume prices" in row.text
    pid = int(row.get_attribute("data-id"))
    api(server)
    assert server.get(f"/api/admin/products/{pid}").json()["tiers"] == [
        {"min_qty": 5, "unit_price": 900}, {"min_qty": 10, "unit_price": 800}]
    # Edit: one line less.
    row.find_element(By.CSS_SELECTOR, ".edit-button").click()
    box = wait(driver).until(EC.visibility_of_element_located((By.ID, f"edit-{pid}-tiers")))
    assert box.get_attribute("value") == "5 9.00\n10 8.00"
    box.clear()
    box.send_keys("3 9.50")
    driver.find_element(By.CSS_SELECTOR, ".edit-form button[type=submit]").click()
    wait(driver).until(lambda d: server.get(f"/api/admin/products/{pid}").json()["tiers"]
                       == [{"min_qty": 3, "unit_price": 950}])


def test_coupon_edit_disable_enable_delete(driver, server):
    h = api(server)
    assert server.post("/api/admin/coupons", headers=h,
                       json={"code": "LEAK", "kind": "percent", "value": 100, "uses": 5}).status == 201
    sign_in(driver, server)
    driver.get(server.url("/admin/coupons"))
    row = coupon_row(driver, "LEAK")
    assert row.find_element(By.CSS_SELECTOR, ".max-discount").text == "none"

    # Disable: the badge says so, and the API agrees.
    row.find_element(By.CSS_SELECTOR, "button[data-action=toggle]").click()
    wait(driver).until(lambda d: coupon_row(d, "LEAK").find_element(By.CSS_SELECTOR, ".coupon-status").text == "Inactive")
    assert server.get("/api/admin/coupons").json()["coupons"][0]["active"] is False

    # Edit: fewer uses, a cap, active again.
    coupon_row(driver, "LEAK").find_element(By.CSS_SELECTOR, "button[data-action=edit]").click()
    wait(driver).until(EC.visibility_of_element_located((By.CSS_SELECTOR, "#edit-coupon")))
    fill(driver, "#ec-uses", "2")
    fill(driver, "#ec-max", "3.00")
    driver.find_element(By.CSS_SELECTOR, "#ec-active").click()
    driver.find_element(By.CSS_SELECTOR, "#ec-save").click()
    wait(driver).until(lambda d: coupon_row(d, "LEAK").find_element(By.CSS_SELECTOR, ".coupon-status").text == "Active")
    c = server.get("/api/admin/coupons").json()["coupons"][0]
    assert (c["uses"], c["uses_left"], c["max_discount"], c["active"]) == (2, 2, 300, True), c
    assert coupon_row(driver, "LEAK").find_element(By.CSS_SELECTOR, ".left").text == "2"

    # Delete (unused): confirmed, gone from the list and the API.
    coupon_row(driver, "LEAK").find_element(By.CSS_SELECTOR, "button[data-action=delete]").click()
    driver.switch_to.alert.accept()
    wait(driver).until(lambda d: not d.find_elements(By.CSS_SELECTOR, "#coupons-body tr[data-code='LEAK']"))
    assert server.get("/api/admin/coupons").json()["coupons"] == []
    audit = [e["action"] for e in server.get("/api/admin/audit").json()["entries"]]
    assert audit[:3] == ["coupon.delete", "coupon.update", "coupon.update"], audit


def test_products_page_says_when_a_hidden_category_hides_a_product(driver, server):
    h = api(server)
    cat = server.post("/api/admin/categories", headers=h, json={"name": "Winter"}).json()["id"]
    assert server.post("/api/admin/products", headers=h,
                       json={"name": "Sled", "price": 100, "category_id": cat}).status == 201
    assert server.request("PATCH", f"/api/admin/categories/{cat}", json={"active": False},
                          headers=h).status == 200
    sign_in(driver, server)
    row = wait(driver).until(lambda d: next((r for r in d.find_elements(By.CSS_SELECTOR, "#products-body tr[data-id]")
                                             if r.find_element(By.CSS_SELECTOR, ".product-name").text == "Sled"), False))
    assert "its category is hidden" in row.text
    assert server.get("/api/products").json()["products"] == []
