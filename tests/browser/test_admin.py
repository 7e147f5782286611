"""The admin pages in a real browser: sign-in, catalog forms, key upload, stock, escaping."""

import json
import re

import pytest
from selenium.common.exceptions import StaleElementReferenceException, TimeoutException
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import Select, WebDriverWait

from conftest import ADMIN_PASSWORD, ADMIN_USER

XSS_NAME = "<script>alert(1)</script><b>x</b> & \"quotes\" 'too'"
BANNER = "Demo mode: the sandbox gateway is on — anyone can pay without money."


# ---- helpers ----------------------------------------------------------------------------------

def wait(driver, timeout=10):
    # A page that re-renders (a form saved, a list refreshed) replaces the elements a condition
    # just found: look again on the next poll instead of failing.
    return WebDriverWait(driver, timeout, ignored_exceptions=(StaleElementReferenceException,))


def visible(driver, css, timeout=10):
    return wait(driver, timeout).until(EC.visibility_of_element_located((By.CSS_SELECTOR, css)))


def fill(driver, css, text):
    box = driver.find_element(By.CSS_SELECTOR, css)
    box.clear()
    if text:
        box.send_keys(text)
    return box


def sign_in(driver, server, username=ADMIN_USER, password=ADMIN_PASSWORD):
    driver.get(server.url("/admin/"))
    visible(driver, "#login-form")
    fill(driver, "#username", username)
    fill(driver, "#password", password)
    driver.find_element(By.CSS_SELECTOR, "#login-submit").click()


def signed_in(driver, server):
    sign_in(driver, server)
    wait(driver).until(EC.url_contains("/admin/dashboard"))
    driver.get(server.url("/admin/products"))
    wait(driver).until(lambda d: d.find_element(By.CSS_SELECTOR, "[data-admin-user]").text == ADMIN_USER)


def product_row(driver, name, timeout=10):
    """The products-table row whose name cell reads exactly name."""
    def find(d):
        for row in d.find_elements(By.CSS_SELECTOR, "#products-body tr[data-id]"):
            if row.find_element(By.CSS_SELECTOR, ".product-name").text == name:
                return row
        return False
    # the table is re-rendered after every change: a row may go stale while we read it
    return WebDriverWait(driver, timeout, ignored_exceptions=(StaleElementReferenceException,)).until(find)


def create_product(driver, name, price, category=None):
    fill(driver, "#np-name", name)
    fill(driver, "#np-price", price)
    if category:
        Select(driver.find_element(By.CSS_SELECTOR, "#np-category")).select_by_visible_text(category)
    driver.find_element(By.CSS_SELECTOR, "#np-submit").click()
    return product_row(driver, name)


def api_login(server):
    r = server.post("/api/admin/login", json={"username": ADMIN_USER, "password": ADMIN_PASSWORD})
    assert r.status == 200, r
    return r.json()["csrf_token"]


def api_products(server):
    api_login(server)
    r = server.get("/api/admin/products")
    assert r.status == 200, r
    return {p["name"]: p for p in r.json()["products"]}


def no_alert(driver, seconds=0.7):
    try:
        WebDriverWait(driver, seconds).until(EC.alert_is_present())
    except TimeoutException:
        return True
    text = driver.switch_to.alert.text
    driver.switch_to.alert.dismiss()
    pytest.fail(f"an alert was raised: {text!r}")


def csp_violations(driver):
    return [e["message"] for e in driver.get_log("browser")
            if "Content Security Policy" in e["message"] or "Refused to" in e["message"]]


def cell_text(row, css):
    return row.find_element(By.CSS_SELECTOR, css).text


# ---- tests --------------------------------------------------------------------------------------

def test_wrong_password_shows_error(driver, server):
    sign_in(driver, server, password="not the right password")
    box = visible(driver, "#login-error")
    assert "wrong username or password" in box.text.lower()
    assert "/admin/dashboard" not in driver.current_url
    # the right password still works afterwards
    fill(driver, "#password", ADMIN_PASSWORD)
    driver.find_element(By.CSS_SELECTOR, "#login-submit").click()
    wait(driver).until(EC.url_contains("/admin/dashboard"))


def test_signed_out_pages_go_to_sign_in_and_back(driver, server):
    driver.get(server.url("/admin/keys?product=1"))
    wait(driver).until(EC.url_contains("/admin/?next="))
    visible(driver, "#login-form")
    fill(driver, "#username", ADMIN_USER)
    fill(driver, "#password", ADMIN_PASSWORD)
    driver.find_element(By.CSS_SELECTOR, "#login-submit").click()
    wait(driver).until(EC.url_contains("/admin/keys?product=1"))
    # product 1 does not exist in a fresh database: said so, visibly
    assert "does not exist" in visible(driver, "#page-error").text
    # once signed in, the sign-in page goes straight on to the dashboard
    driver.get(server.url("/admin/"))
    wait(driver).until(EC.url_contains("/admin/dashboard"))


def test_catalog_and_keys_flow(driver, server, tmp_path):
    signed_in(driver, server)
    assert driver.find_element(By.CSS_SELECTOR, ".currency-label").text == "CNY"
    assert not driver.find_elements(By.CSS_SELECTOR, ".demo-banner")

    # category through the form; it appears in the list and in the product form's select
    fill(driver, "#nc-name", "Gift cards")
    driver.find_element(By.CSS_SELECTOR, "#nc-submit").click()
    wait(driver).until(lambda d: "Gift cards" in [e.text for e in d.find_elements(By.CSS_SELECTOR, "#categories-list .category-name")])

    # the price is typed as a decimal; 1.15 is 114.999... in floating point, must be 115
    row = create_product(driver, "Steam Wallet 10", "1.15", category="Gift cards")
    assert cell_text(row, ".price") == "1.15 CNY"
    assert cell_text(row, ".stock") == "0"
    assert row.find_elements(By.TAG_NAME, "td")[1].text == "Gift cards"
    stored = api_products(server)["Steam Wallet 10"]
    assert stored["price"] == 115 and stored["category_id"] is not None

    # edit: change name and price in place
    row.find_element(By.CSS_SELECTOR, ".edit-button").click()
    pid = row.get_attribute("data-id")
    fill(driver, f"#edit-{pid}-name", "Steam Wallet 20")
    fill(driver, f"#edit-{pid}-price", "19.9")
    driver.find_element(By.CSS_SELECTOR, "tr.edit-row button[type=submit]").click()
    row = product_row(driver, "Steam Wallet 20")
    assert cell_text(row, ".price") == "19.90 CNY"

    # keys by paste: a duplicate line and a blank line
    row.find_element(By.LINK_TEXT, "Keys").click()
    wait(driver).until(EC.url_contains(f"/admin/keys?product={pid}"))
    wait(driver).until(lambda d: d.find_element(By.ID, "product-name").text == "Steam Wallet 20")
    fill(driver, "#keys-text", "AAAA-1111-BBBB-2222\nCCCC-3333-DDDD-4444\n\nAAAA-1111-BBBB-2222\nEEEE-5555-FFFF-6666\n")
    driver.find_element(By.CSS_SELECTOR, "#paste-submit").click()
    result = visible(driver, "#upload-result")
    assert re.search(r"Added 3, duplicates 1, rejected 0\. Stock now 3\.", result.text), result.text
    assert driver.find_element(By.ID, "stat-stock").text == "3"
    assert driver.find_element(By.ID, "keys-text").get_attribute("value") == ""
    wait(driver).until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#keys-body tr")) == 3)
    masked = [e.text for e in driver.find_elements(By.CSS_SELECTOR, "#keys-body .masked")]
    assert "AAAA****2222" in masked and not any("1111" in m for m in masked)

    # keys by file: one new, one already stored
    keyfile = tmp_path / "keys.txt"
    keyfile.write_text("\ufeffGGGG-7777-HHHH-8888\r\nCCCC-3333-DDDD-4444\r\n", encoding="utf-8")
    driver.find_element(By.CSS_SELECTOR, "#keys-file").send_keys(str(keyfile))
    driver.find_element(By.CSS_SELECTOR, "#file-submit").click()
    wait(driver).until(lambda d: d.find_element(By.ID, "stat-stock").text == "4")
    assert driver.find_element(By.ID, "res-added").text == "1"
    assert driver.find_element(By.ID, "res-duplicates").text == "1"
    assert driver.find_element(By.ID, "res-stock").text == "4"

    # delete one available key
    first = driver.find_element(By.CSS_SELECTOR, "#keys-body tr")
    first.find_element(By.CSS_SELECTOR, ".delete-key").click()
    wait(driver).until(EC.alert_is_present()).accept()
    wait(driver).until(lambda d: d.find_element(By.ID, "stat-stock").text == "3")

    # status filter and export link
    Select(driver.find_element(By.ID, "status-filter")).select_by_value("sold")
    visible(driver, "#keys-empty")
    assert "status=sold" in driver.current_url
    href = driver.find_element(By.ID, "export-link").get_attribute("href")
    assert href == server.url(f"/api/admin/products/{pid}/keys/export")

    # the products page shows the stock
    driver.find_element(By.LINK_TEXT, "Products").click()
    row = product_row(driver, "Steam Wallet 20")
    assert cell_text(row, ".stock") == "3"
    assert cell_text(row, ".sold") == "0"

    # deactivate through the checkbox
    row.find_element(By.CSS_SELECTOR, ".active-toggle").click()
    WebDriverWait(driver, 10, ignored_exceptions=(StaleElementReferenceException,)).until(
        lambda d: "inactive" in product_row(d, "Steam Wallet 20").get_attribute("class"))
    assert api_products(server)["Steam Wallet 20"]["active"] is False

    assert csp_violations(driver) == []


def test_markup_in_names_renders_literally(driver, server):
    signed_in(driver, server)
    fill(driver, "#nc-name", XSS_NAME)
    driver.find_element(By.CSS_SELECTOR, "#nc-submit").click()
    wait(driver).until(lambda d: XSS_NAME in [e.text for e in d.find_elements(By.CSS_SELECTOR, "#categories-list .category-name")])

    row = create_product(driver, XSS_NAME, "9.90", category=XSS_NAME)
    name = row.find_element(By.CSS_SELECTOR, ".product-name")
    assert name.text == XSS_NAME
    assert name.find_elements(By.XPATH, "./*") == []  # no <script>, no <b>: text only
    assert row.find_elements(By.TAG_NAME, "td")[1].text == XSS_NAME
    assert not driver.find_elements(By.CSS_SELECTOR, "main b, main script")
    no_alert(driver)
    assert api_products(server)[XSS_NAME]["price"] == 990

    row.find_element(By.LINK_TEXT, "Keys").click()
    title = visible(driver, "#product-name")
    wait(driver).until(lambda d: d.find_element(By.ID, "product-name").text == XSS_NAME)
    assert title.find_elements(By.XPATH, "./*") == []
    no_alert(driver)
    assert csp_violations(driver) == []


def test_demo_banner_when_sandbox_is_on(driver, make_server):
    srv = make_server({"payment.sandbox": {"enabled": True}})
    driver.get(srv.url("/admin/"))
    banner = visible(driver, ".demo-banner")
    assert banner.text == BANNER
    signed_in(driver, srv)
    assert visible(driver, ".demo-banner").text == BANNER
    # the banner is the first thing on the page
    first = driver.execute_script("return document.body.firstElementChild.className")
    assert "demo-banner" in first


def test_server_errors_are_shown(driver, server):
    signed_in(driver, server)
    fill(driver, "#np-name", "Bad limits")
    fill(driver, "#np-price", "5")
    fill(driver, "#np-min", "5")
    fill(driver, "#np-max", "2")
    driver.find_element(By.CSS_SELECTOR, "#np-submit").click()
    assert "Max. per order" in visible(driver, "#product-form-error").text
    # a price with three decimals is refused before it reaches the server
    fill(driver, "#np-max", "0")
    fill(driver, "#np-price", "1.999")
    driver.find_element(By.CSS_SELECTOR, "#np-submit").click()
    wait(driver).until(lambda d: "Price" in d.find_element(By.ID, "product-form-error").text)
    # an error only the server knows about (name too long) is shown with its message
    fill(driver, "#np-price", "5")
    driver.execute_script("document.getElementById('np-name').removeAttribute('maxlength')")
    fill(driver, "#np-name", "x" * 201)
    driver.find_element(By.CSS_SELECTOR, "#np-submit").click()
    wait(driver).until(lambda d: "200 characters" in d.find_element(By.ID, "product-form-error").text)
    assert "Bad limits" not in api_products(server)


def test_delete_product_and_sign_out(driver, server):
    signed_in(driver, server)
    row = create_product(driver, "Short-lived", "0.29")
    assert cell_text(row, ".price") == "0.29 CNY"  # 0.29 * 100 is 28.999... in floating point
    row.find_element(By.CSS_SELECTOR, ".delete-button").click()
    wait(driver).until(EC.alert_is_present()).accept()
    assert "Deleted" in visible(driver, "#page-notice").text
    wait(driver).until(lambda d: "Short-lived" not in [e.text for e in d.find_elements(By.CSS_SELECTOR, ".product-name")])
    assert "Short-lived" not in api_products(server)

    driver.find_element(By.CSS_SELECTOR, "[data-action=logout]").click()
    visible(driver, "#login-form")
    driver.get(server.url("/admin/products"))
    wait(driver).until(EC.url_contains("/admin/?next=%2Fadmin%2Fproducts"))
    visible(driver, "#login-form")
