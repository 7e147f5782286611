"""Owner-only pages in the admin's navigation (staff do not see Gateways and Settings), the
gateways and settings pages in Chinese, and an owner editing a buyer's mail template in the
settings form."""

from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC

from conftest import ADMIN_PASSWORD, ADMIN_USER
from test_admin import sign_in, visible, wait

STAFF, STAFF_PW = "helper", "staff password 123"
SUBJECT_EN = "#set-mail-template-delivery_subject-en"


def owner_call(server, method, path, body=None):
    r = server.post("/api/admin/login", json={"username": ADMIN_USER, "password": ADMIN_PASSWORD},
                    use_cookies=False)
    assert r.status == 200, r
    cookie = next(sc.split(";", 1)[0] for sc in r.headers.get_all("set-cookie")
                  if sc.startswith("cs_admin="))
    h = {"Cookie": cookie, "X-CSRF-Token": r.json()["csrf_token"]}
    return server.request(method, path, json=body, headers=h, use_cookies=False)


def nav_shown(driver):
    return {a.get_attribute("data-nav") for a in
            driver.find_elements(By.CSS_SELECTOR, ".admin-top nav a") if a.is_displayed()}


def signed_in_as(driver, server, user, password):
    sign_in(driver, server, user, password)
    wait(driver).until(EC.url_contains("/admin/dashboard"))
    wait(driver).until(lambda d: d.find_element(By.CSS_SELECTOR, "[data-admin-user]").text == user)


def test_staff_sees_no_gateways_or_settings_link(driver, server):
    r = owner_call(server, "POST", "/api/admin/admins",
                   {"username": STAFF, "password": STAFF_PW, "role": "staff"})
    assert r.status == 201, r
    signed_in_as(driver, server, ADMIN_USER, ADMIN_PASSWORD)
    assert {"gateways", "settings", "team", "orders"} <= nav_shown(driver)
    driver.find_element(By.CSS_SELECTOR, "[data-action='logout']").click()
    wait(driver).until(EC.url_matches(r"/admin/(\?.*)?$"))

    signed_in_as(driver, server, STAFF, STAFF_PW)
    wait(driver).until(lambda d: "settings" not in nav_shown(d))
    shown = nav_shown(driver)
    assert "gateways" not in shown and "team" in shown and "orders" in shown, shown
    for page in ("/admin/products", "/admin/team"):  # every page's header, from the first paint
        driver.get(server.url(page))
        wait(driver).until(lambda d: d.find_element(By.CSS_SELECTOR, "[data-admin-user]").text == STAFF)
        shown = nav_shown(driver)
        assert "gateways" not in shown and "settings" not in shown and "products" in shown, (page, shown)
    driver.get(server.url("/admin/settings"))
    assert "owner" in visible(driver, "#page-error").text


def test_gateways_and_settings_pages_in_chinese(driver, server):
    signed_in_as(driver, server, ADMIN_USER, ADMIN_PASSWORD)
    driver.execute_script("localStorage.setItem('cardshop.lang', 'zh-CN')")
    driver.get(server.url("/admin/gateways"))
    wait(driver).until(lambda d: d.find_element(By.TAG_NAME, "h1").text == "支付网关")
    assert driver.find_element(By.CSS_SELECTOR, "#gateways-table th").text == "网关"
    driver.get(server.url("/admin/settings"))
    form = visible(driver, "form[data-section='templates']")
    assert form.find_element(By.TAG_NAME, "h2").text == "邮件模板（发给买家）"
    assert "占位符" in form.text
    label = form.find_element(By.CSS_SELECTOR, f"label[for='{SUBJECT_EN[1:]}']").text
    assert label == "已发货：标题 · 英文"
    assert visible(driver, "form[data-section='shop'] h2").text == "店铺"


def test_owner_edits_a_buyer_mail_template(driver, server):
    signed_in_as(driver, server, ADMIN_USER, ADMIN_PASSWORD)
    driver.execute_script("localStorage.setItem('cardshop.lang', 'en')")
    driver.get(server.url("/admin/settings"))
    form = visible(driver, "form[data-section='templates']")
    body = form.find_element(By.CSS_SELECTOR, "#set-mail-template-delivery_body-zh-CN")
    assert body.tag_name == "textarea" and "{keys}" in body.get_attribute("value")
    subject = form.find_element(By.CSS_SELECTOR, SUBJECT_EN)
    assert subject.tag_name == "input"
    assert subject.get_attribute("value") == "[{shop_name}] Order {order_no} delivered"

    subject.clear()
    subject.send_keys("Your {product} <is here> {nope}")
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    error = wait(driver).until(lambda d: d.find_element(
        By.CSS_SELECTOR, "form[data-section='templates'] .error").text)
    assert "mail.template.delivery_subject.en" in error.lower() and "{nope}" in error
    key = "mail.template.delivery_subject.en"
    assert owner_call(server, "GET", "/api/admin/settings").json()["settings"][key]["source"] == "default"

    subject = driver.find_element(By.CSS_SELECTOR, SUBJECT_EN)
    subject.clear()
    subject.send_keys("Your {product} <is here>")
    driver.find_element(By.CSS_SELECTOR, "form[data-section='templates'] button[type=submit]").click()
    wait(driver).until(lambda d: d.find_element(By.CSS_SELECTOR, "#page-notice").text == "Saved.")
    got = owner_call(server, "GET", "/api/admin/settings").json()["settings"][key]
    assert got["value"] == "Your {product} <is here>" and got["source"] == "settings"
    driver.refresh()
    assert visible(driver, SUBJECT_EN).get_attribute("value") == "Your {product} <is here>"
    assert not driver.find_elements(By.CSS_SELECTOR, "form[data-section='templates'] is")

    # back to the built-in text
    visible(driver, SUBJECT_EN + "-reset").click()
    driver.find_element(By.CSS_SELECTOR, "form[data-section='templates'] button[type=submit]").click()
    wait(driver).until(lambda d: d.find_element(By.CSS_SELECTOR, SUBJECT_EN).get_attribute("value")
                       == "[{shop_name}] Order {order_no} delivered")
    got = owner_call(server, "GET", "/api/admin/settings").json()["settings"][key]
    assert got["source"] == "default"
