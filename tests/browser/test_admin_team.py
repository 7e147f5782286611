"""Team pages in a real browser: enrolling an authenticator from the QR code and signing in
with its code; the settings form changing the shop's name at once."""

import base64
import hashlib
import hmac
import struct
import time

from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC

from conftest import ADMIN_PASSWORD, ADMIN_USER
from test_admin import fill, sign_in, signed_in, visible, wait


def totp_code(secret_b32, step):
    """RFC 6238 (SHA-1, 6 digits), the test's own."""
    key = base64.b32decode(secret_b32 + "=" * (-len(secret_b32) % 8))
    mac = hmac.new(key, struct.pack(">Q", step), hashlib.sha1).digest()
    off = mac[-1] & 0x0F
    return "%06d" % ((struct.unpack(">I", mac[off:off + 4])[0] & 0x7FFFFFFF) % 1000000)


def fresh_step(margin=10):
    left = 30 - time.time() % 30
    if left < margin:
        time.sleep(left + 0.05)
    return int(time.time() // 30)


def test_enrol_2fa_from_the_qr_code_then_sign_in_with_a_code(driver, server):
    signed_in(driver, server)
    driver.get(server.url("/admin/team"))
    visible(driver, "#totp-setup").click()
    img = visible(driver, "#totp-qr")
    assert img.get_attribute("src").startswith("data:image/svg+xml;base64,")
    wait(driver).until(lambda d: d.execute_script(
        "var i = document.getElementById('totp-qr'); return i.complete && i.naturalWidth > 0;"))
    secret = visible(driver, "#totp-secret").text
    t = fresh_step()
    fill(driver, "#totp-code", totp_code(secret, t))
    driver.find_element(By.CSS_SELECTOR, "#totp-enable").click()
    visible(driver, "#totp-on")
    assert "On" in driver.find_element(By.CSS_SELECTOR, "#totp-status").text

    driver.find_element(By.CSS_SELECTOR, "[data-action='logout']").click()
    wait(driver).until(EC.url_matches(r"/admin/(\?.*)?$"))
    sign_in(driver, server, ADMIN_USER, ADMIN_PASSWORD)
    visible(driver, "#totp")  # the API said totp_required: the form asks for the code
    assert "6-digit code" in visible(driver, "#login-error").text
    fill(driver, "#totp", totp_code(secret, t))  # spent by the enrolment: refused
    driver.find_element(By.CSS_SELECTOR, "#login-submit").click()
    wait(driver).until(lambda d: "wrong" in d.find_element(By.CSS_SELECTOR, "#login-error").text.lower())
    assert "/admin/products" not in driver.current_url
    fill(driver, "#totp", totp_code(secret, t + 1))
    driver.find_element(By.CSS_SELECTOR, "#login-submit").click()
    wait(driver).until(EC.url_contains("/admin/dashboard"))
    wait(driver).until(lambda d: d.find_element(By.CSS_SELECTOR, "[data-admin-user]").text == ADMIN_USER)


def test_settings_form_changes_the_shop_name_at_once(driver, server):
    signed_in(driver, server)
    driver.get(server.url("/admin/settings"))
    form = visible(driver, "form[data-section='shop']")
    # smtp.url comes from the tests' config file: shown read-only, with why.
    fixed = visible(driver, ".setting.fixed[data-key='smtp.url']")
    assert fixed.find_element(By.TAG_NAME, "input").get_attribute("disabled")
    assert "config file" in fixed.text
    name = form.find_element(By.CSS_SELECTOR, "#set-shop-name")
    name.clear()
    name.send_keys("Browser <b>Shop</b>")
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait(driver).until(lambda d: d.find_element(By.CSS_SELECTOR, "#page-notice").text == "Saved.")
    r = server.get("/api/config", use_cookies=False)
    assert r.json()["name"] == "Browser <b>Shop</b>"
    driver.refresh()
    box = visible(driver, "#set-shop-name")
    assert box.get_attribute("value") == "Browser <b>Shop</b>"
    assert not driver.find_elements(By.CSS_SELECTOR, "form[data-section='shop'] b")
