"""Checkout with a product's custom input field in a real browser: the label shown as text
(markup stays literal), a required field refused before anything is sent, the answer stored
with the order; the product picture and the shop's logo, notice and contact link shown."""

import json

from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

from conftest import ADMIN_PASSWORD, ADMIN_USER

LABEL = "<b>Game ID</b>"
PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f"
       b"\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\xcf\xc0\xf0\x1f\x00\x05\x00\x01\xff\x89\x99=\x1d\x00"
       b"\x00\x00\x00IEND\xaeB`\x82")


def wait(driver, timeout=10):
    return WebDriverWait(driver, timeout)


def test_checkout_asks_the_products_field(driver, make_server):
    srv = make_server({"payment.sandbox": {"enabled": True}}, name="fields")
    r = srv.post("/api/admin/login", json={"username": ADMIN_USER, "password": ADMIN_PASSWORD})
    csrf = r.json()["csrf_token"]
    h = {"X-CSRF-Token": csrf}
    r = srv.post("/api/admin/products", headers=h, json={
        "name": "Top-up 60", "price": 600,
        "fields": [{"name": "game_id", "label": LABEL, "required": True, "max_len": 12}]})
    assert r.status == 201, r
    pid = r.json()["id"]
    assert srv.post(f"/api/admin/products/{pid}/keys", body="TOPUP-KEY-1\n",
                    headers={**h, "Content-Type": "text/plain"}).status == 200
    assert srv.post(f"/api/admin/products/{pid}/image", body=PNG,
                    headers={**h, "Content-Type": "image/png"}).status == 200
    assert srv.post("/api/admin/logo", body=PNG, headers={**h, "Content-Type": "image/png"}).status == 200
    assert srv.request("PATCH", "/api/admin/shop", headers=h,
                       json={"notice": "<i>Sale</i> today", "contact_url": "https://t.me/shop"}).status == 200

    driver.get(srv.url("/shop/"))
    driver.execute_script("localStorage.setItem('cardshop.lang', 'en')")
    driver.get(srv.url(f"/shop/product?id={pid}"))
    wait(driver).until(EC.visibility_of_element_located((By.ID, "order-form")))
    label = wait(driver).until(EC.visibility_of_element_located((By.CSS_SELECTOR, "label[for='field-game_id']")))
    assert label.text == LABEL  # as text, not markup
    assert driver.find_elements(By.CSS_SELECTOR, "#p-fields b") == []
    img = driver.find_element(By.CSS_SELECTOR, "#p-image img.product-image")
    wait(driver).until(lambda d: d.execute_script("return arguments[0].naturalWidth", img) == 1)
    assert driver.find_element(By.CSS_SELECTOR, ".shop-top .brand img.shop-logo")
    assert driver.find_element(By.ID, "shop-notice").text == "<i>Sale</i> today"
    contact = driver.find_element(By.CSS_SELECTOR, "footer .shop-contact")
    assert contact.get_attribute("href") == "https://t.me/shop" and contact.text == "Contact us"

    driver.find_element(By.ID, "email").send_keys("gamer@example.com")
    sandbox = driver.find_element(By.ID, "gateway-sandbox")
    if not sandbox.is_selected():
        driver.find_element(By.CSS_SELECTOR, "label[for='gateway-sandbox']").click()
    driver.find_element(By.ID, "order-submit").click()
    err = wait(driver).until(EC.visibility_of_element_located((By.ID, "order-error")))
    assert err.text == LABEL + ": required"
    assert driver.find_element(By.ID, "field-game_id").get_attribute("aria-invalid") == "true"
    assert json.loads(srv.get("/api/admin/orders", headers=h).text)["orders"] == []

    driver.find_element(By.ID, "field-game_id").send_keys("玩家 12345")
    driver.find_element(By.ID, "order-submit").click()
    wait(driver).until(EC.url_contains("/pay/sandbox/checkout?order_no="))
    orders = json.loads(srv.get("/api/admin/orders", headers=h).text)["orders"]
    assert len(orders) == 1 and orders[0]["fields"] == {"game_id": "玩家 12345"}
    logs = [e["message"] for e in driver.get_log("browser")
            if e.get("level") == "SEVERE" and "favicon" not in e["message"]]
    assert logs == []


def test_admin_edits_loop_fields_and_picture_and_sees_the_answers(driver, make_server, tmp_path):
    srv = make_server({"payment.sandbox": {"enabled": True}}, name="admin")
    r = srv.post("/api/admin/login", json={"username": ADMIN_USER, "password": ADMIN_PASSWORD})
    h = {"X-CSRF-Token": r.json()["csrf_token"]}
    pid = srv.post("/api/admin/products", headers=h, json={"name": "Account", "price": 100}).json()["id"]

    driver.get(srv.url("/admin/"))
    wait(driver).until(EC.visibility_of_element_located((By.ID, "login-form")))
    driver.find_element(By.ID, "username").send_keys(ADMIN_USER)
    driver.find_element(By.ID, "password").send_keys(ADMIN_PASSWORD)
    driver.find_element(By.ID, "login-submit").click()
    wait(driver).until(EC.url_contains("/admin/dashboard"))
    driver.get(srv.url("/admin/products"))
    row = wait(driver).until(EC.visibility_of_element_located((By.CSS_SELECTOR, f"#products-body tr[data-id='{pid}']")))
    row.find_element(By.CSS_SELECTOR, ".edit-button").click()
    form = wait(driver).until(EC.visibility_of_element_located((By.CSS_SELECTOR, ".edit-row form")))
    form.find_element(By.ID, f"edit-{pid}-loop").click()
    low = form.find_element(By.ID, f"edit-{pid}-low_stock")
    low.clear()
    low.send_keys("4")
    form.find_element(By.XPATH, ".//button[text()='Add field']").click()
    form.find_element(By.CSS_SELECTOR, ".field-row .f-name").send_keys("server")
    form.find_element(By.CSS_SELECTOR, ".field-row .f-label").send_keys("Server 区服")
    form.find_element(By.CSS_SELECTOR, ".field-row .f-required").click()
    picture = tmp_path / "p.png"
    picture.write_bytes(PNG)
    form.find_element(By.CSS_SELECTOR, ".image-controls input[type='file']").send_keys(str(picture))
    form.find_element(By.XPATH, ".//button[text()='Upload picture']").click()
    wait(driver).until(lambda d: d.find_elements(By.CSS_SELECTOR, ".edit-row .image-controls img.admin-thumb"))
    form.find_element(By.XPATH, ".//button[text()='Save changes']").click()
    wait(driver).until(lambda d: json.loads(srv.get(f"/api/admin/products/{pid}", headers=h).text)["loop"])
    p = json.loads(srv.get(f"/api/admin/products/{pid}", headers=h).text)
    assert p["low_stock"] == 4 and p["image_url"].startswith("/uploads/")
    assert p["fields"] == [{"name": "server", "label": "Server 区服", "required": True, "max_len": 200}]
    row = wait(driver).until(EC.visibility_of_element_located((By.CSS_SELECTOR, f"#products-body tr[data-id='{pid}']")))
    wait(driver).until(lambda d: d.find_element(By.CSS_SELECTOR, f"#products-body tr[data-id='{pid}'] td.stock").text == "loop")

    # A buyer's answer shows in the orders list, as text.
    srv.post(f"/api/admin/products/{pid}/keys", body="ACC-1\n", headers={**h, "Content-Type": "text/plain"})
    srv.request("PATCH", f"/api/admin/products/{pid}", headers=h, json={"delivery": "manual"})
    r = srv.post("/api/orders", json={"product_id": pid, "quantity": 1, "email": "b@example.com",
                                      "gateway": "sandbox", "fields": {"server": "<i>EU-1</i>"}})
    assert r.status == 201, r
    driver.get(srv.url("/admin/orders"))
    dd = wait(driver).until(EC.visibility_of_element_located((By.CSS_SELECTOR, ".order-fields dd")))
    assert dd.text == "<i>EU-1</i>"
    assert driver.find_element(By.CSS_SELECTOR, ".order-fields dt").text == "server"
