"""The lookup page's "email me my order links": the email alone, one neutral confirmation
(the same for an address without orders), the mail at the SMTP sink, and its link opening the
order page; then the same form in Chinese."""

import re

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

from conftest import ADMIN_PASSWORD, ADMIN_USER
from fakes.smtp_sink import SmtpSink

EMAIL = "dana@example.com"
SENT_EN = "If there are orders for this address, we have sent their links to it."
SENT_ZH = "如果该邮箱有订单，我们已将订单链接发送到该邮箱。"


def wait(driver, timeout=10):
    return WebDriverWait(driver, timeout)


@pytest.fixture
def sink():
    s = SmtpSink().start()
    yield s
    s.stop()


@pytest.fixture
def shop(make_server, sink):
    srv = make_server({"payment.sandbox": {"enabled": True},
                       "smtp": {"url": sink.url, "from": "shop@example.com", "timeout": 5}})
    r = srv.post("/api/admin/login", json={"username": ADMIN_USER, "password": ADMIN_PASSWORD})
    assert r.status == 200, r
    csrf = r.json()["csrf_token"]
    r = srv.post("/api/admin/products", json={"name": "Gift card", "price": 500},
                 headers={"X-CSRF-Token": csrf})
    assert r.status == 201, r
    pid = r.json()["id"]
    r = srv.post(f"/api/admin/products/{pid}/keys", body="K-1\nK-2\n",
                 headers={"X-CSRF-Token": csrf, "Content-Type": "text/plain"})
    assert r.status == 200, r
    r = srv.request("POST", "/api/orders", json={"product_id": pid, "quantity": 1, "email": EMAIL,
                                                 "gateway": "sandbox"}, use_cookies=False)
    assert r.status == 201, r
    srv.order = r.json()
    return srv


def ask(driver, email, sent_text):
    box = driver.find_element(By.ID, "lookup-mail-email")
    box.clear()
    box.send_keys(email)
    driver.find_element(By.ID, "lookup-mail-submit").click()
    wait(driver).until(EC.visibility_of_element_located((By.ID, "lookup-mail-sent")))
    wait(driver).until(lambda d: d.find_element(By.ID, "lookup-mail-submit").is_enabled())
    assert driver.find_element(By.ID, "lookup-mail-sent").text == sent_text
    assert not driver.find_element(By.ID, "lookup-mail-error").is_displayed()


def test_email_me_my_order_links(driver, shop, sink):
    driver.get(shop.base_url + "/shop/lookup")
    wait(driver).until(EC.visibility_of_element_located((By.ID, "lookup-mail-form")))
    assert driver.find_element(By.ID, "lookup-mail-submit").text == "Email me my order links"

    ask(driver, "nobody@example.com", SENT_EN)  # no orders: the very same confirmation
    ask(driver, EMAIL, SENT_EN)
    m = sink.wait_for(lambda m: EMAIL in m.rcpt_tos, timeout=10)[0]
    assert shop.order["order_no"] in m.body
    assert len(sink.matching(lambda m: "nobody@example.com" in m.rcpt_tos)) == 0
    link = re.search(r"https?://\S+/shop/order\?\S+", m.body).group(0)

    driver.get(link)
    no = wait(driver).until(EC.visibility_of_element_located((By.ID, "o-no")))
    assert no.text == shop.order["order_no"]

    # The same form in Chinese.
    driver.get(shop.base_url + "/shop/lookup")
    wait(driver).until(EC.element_to_be_clickable((By.CSS_SELECTOR, "[data-lang-switch]"))).click()
    wait(driver).until(lambda d: d.find_element(By.ID, "lookup-mail-submit").text == "把订单链接发到我的邮箱")
    ask(driver, "someone-else@example.com", SENT_ZH)
