"""The product page shows the price the order will be charged before it is placed: the tier
table, the tier's unit price and the coupon's discount from POST /api/orders/quote, a refused
coupon or quantity with its reason (the quantity as typed, never changed), and the order
placed at exactly the quoted amount."""

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

from conftest import ADMIN_PASSWORD, ADMIN_USER


def wait(driver, timeout=10):
    return WebDriverWait(driver, timeout)


def text_of(driver, element_id):
    return driver.find_element(By.ID, element_id).text


@pytest.fixture
def shop(make_server):
    srv = make_server({"payment.sandbox": {"enabled": True}}, name="shop")
    r = srv.post("/api/admin/login", json={"username": ADMIN_USER, "password": ADMIN_PASSWORD})
    assert r.status == 200, r
    h = {"X-CSRF-Token": r.json()["csrf_token"]}
    r = srv.post("/api/admin/products", headers=h, json={
        "name": "Bulk card", "price": 1000, "max_qty": 8,
        "tiers": [{"min_qty": 3, "unit_price": 900}, {"min_qty": 5, "unit_price": 800}]})
    assert r.status == 201, r
    srv.product_id = r.json()["id"]
    keys = "\n".join(f"BULK-{i:04d}" for i in range(10)) + "\n"
    r = srv.post(f"/api/admin/products/{srv.product_id}/keys", body=keys,
                 headers={**h, "Content-Type": "text/plain"})
    assert r.status == 200, r
    r = srv.post("/api/admin/coupons", headers=h, json={"code": "SAVE10", "kind": "percent", "value": 10})
    assert r.status == 201, r
    r = srv.post("/api/admin/coupons", headers=h, json={"code": "HALF1", "kind": "percent", "value": 50, "uses": 1})
    assert r.status == 201, r
    return srv


def set_field(driver, element_id, value):
    box = driver.find_element(By.ID, element_id)
    box.clear()
    if value:
        box.send_keys(value)


@pytest.mark.parametrize("lang", ["en", "zh-CN"])
def test_product_page_shows_the_quoted_price_with_a_coupon(driver, shop, lang):
    url = shop.url(f"/shop/product?id={shop.product_id}")
    driver.get(url)
    driver.execute_script("localStorage.setItem('cardshop.lang', arguments[0])", lang)
    driver.get(url)
    wait(driver).until(EC.visibility_of_element_located((By.ID, "order-form")))

    rows = [[td.text for td in tr.find_elements(By.TAG_NAME, "td")]
            for tr in driver.find_elements(By.CSS_SELECTOR, "#tier-table tbody tr")]
    assert [r[1] for r in rows] == ["¥10.00", "¥9.00", "¥8.00"], rows
    assert rows[1][0] == ("3 or more" if lang == "en" else "3 件及以上"), rows
    wait(driver).until(lambda d: text_of(d, "total") == "¥10.00")

    # Five units reach the ¥8.00 tier; SAVE10 takes 10 % off each: the server's quote.
    set_field(driver, "quantity", "5")
    set_field(driver, "coupon", "SAVE10")
    wait(driver).until(lambda d: text_of(d, "total") == "¥36.00")
    assert text_of(driver, "q-unit") == "¥8.00"
    assert text_of(driver, "q-subtotal") == "¥40.00"
    assert text_of(driver, "q-discount") == "−¥4.00"
    note = text_of(driver, "quote-note")
    assert "¥4.00" in note, note

    # An unknown code is refused before the order, with the reason; the total drops it.
    set_field(driver, "coupon", "NOPE")
    wait(driver).until(lambda d: "quote-error" in d.find_element(By.ID, "quote-note").get_attribute("class"))
    assert text_of(driver, "total") == "¥40.00"
    assert driver.find_element(By.ID, "coupon").get_attribute("aria-invalid") == "true"

    # Over the maximum: refused with the limit, the quantity left as typed.
    set_field(driver, "coupon", "SAVE10")
    set_field(driver, "quantity", "9")
    driver.find_element(By.ID, "email").click()  # blur: nothing may rewrite the quantity
    wait(driver).until(lambda d: text_of(d, "total") == "—")
    assert driver.find_element(By.ID, "quantity").get_attribute("value") == "9"
    assert "8" in text_of(driver, "quote-note")

    # A code with one use left covers one unit of three, and the page says so.
    set_field(driver, "quantity", "3")
    set_field(driver, "coupon", "HALF1")
    wait(driver).until(lambda d: text_of(d, "total") == "¥22.50")  # 27.00 - half of 9.00
    assert "¥4.50" in text_of(driver, "quote-note") and "1" in text_of(driver, "quote-note")

    # The order is placed at the quoted amount.
    set_field(driver, "coupon", "SAVE10")
    wait(driver).until(lambda d: text_of(d, "total") == "¥24.30")  # 3 x 9.00 - 10 %
    set_field(driver, "email", "buyer@example.com")
    driver.find_element(By.ID, "order-submit").click()
    wait(driver).until(EC.url_contains("/pay/sandbox/checkout?order_no="))
    wait(driver).until(lambda d: text_of(d, "pay-amount") == "¥24.30")
