"""An Alipay 当面付 and a WeChat Pay Native purchase in a real browser: product page → the
shop's pay page showing the QR code as an inline <svg> that decodes (zbarimg) to the payload
the gateway's fake gave (qr_code / code_url) → the fake pays (signed notify) → the page moves
on to the delivery page by itself."""

import shutil
import subprocess
import urllib.parse

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

from conftest import ADMIN_PASSWORD, ADMIN_USER
from fakes.fake_qr import FakeAlipay, FakeWeChat, node_available

pytestmark = pytest.mark.skipif(node_available() is not None, reason=str(node_available()))


def _admin(server):
    r = server.post("/api/admin/login", json={"username": ADMIN_USER, "password": ADMIN_PASSWORD})
    assert r.status == 200, r
    return r.json()["csrf_token"]


IPHONE_UA = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
             "(KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1")
GATEWAYS = {"alipay": (FakeAlipay, "https://qr.alipay.com/bax0"),
            "wechat": (FakeWeChat, "weixin://wxpay/bizpayurl?pr=")}


@pytest.mark.parametrize("name", sorted(GATEWAYS))
def test_qr_page_and_delivery(make_server, driver, tmp_path, name):
    fake, prefix = GATEWAYS[name]
    gw = fake(tmp_path).start()
    try:
        server = make_server({f"payment.{name}": gw.shop_config(), "server": {"rate_limit": 100000},
                              "security": {"challenge": "off"}})
        csrf = _admin(server)
        h = {"X-CSRF-Token": csrf}
        r = server.post("/api/admin/products", json={"name": "QR card", "price": 1200}, headers=h)
        pid = r.json()["id"]
        r = server.post(f"/api/admin/products/{pid}/keys", body="QR-KEY-0001\n",
                        headers={**h, "Content-Type": "text/plain"})
        assert r.json()["added"] == 1

        # A phone: the pay page also offers the app's own link next to the code.
        driver.execute_cdp_cmd("Network.setUserAgentOverride", {"userAgent": IPHONE_UA})
        driver.get(server.base_url + f"/shop/product?id={pid}")
        wait = WebDriverWait(driver, 15)
        wait.until(EC.element_to_be_clickable((By.CSS_SELECTOR, f"#gateway-{name}"))).click()
        driver.find_element(By.CSS_SELECTOR, "#email").send_keys("buyer@example.com")
        driver.find_element(By.CSS_SELECTOR, "#order-submit").click()

        svg = wait.until(EC.visibility_of_element_located((By.CSS_SELECTOR, "#qr-box svg")))
        assert "/shop/pay?" in driver.current_url
        assert svg.find_elements(By.CSS_SELECTOR, "path")
        [req] = gw.requests()  # the precreate / Native order, its signature checked by the SDK
        assert req["signature_ok"]
        q = urllib.parse.parse_qs(urllib.parse.urlsplit(driver.current_url).query)
        order_no, token = q["order_no"][0], q["token"][0]
        view = server.get(f"/api/orders/{order_no}?token={token}", use_cookies=False).json()
        assert view["qr"].startswith(prefix)
        if shutil.which("zbarimg"):  # scanned like a phone would: the code carries Alipay's payload
            png = tmp_path / "qr.png"
            png.write_bytes(svg.screenshot_as_png)
            out = subprocess.run(["zbarimg", "--raw", "-q", str(png)], capture_output=True, text=True)
            assert out.stdout.strip() == view["qr"], (out.returncode, out.stderr)
        assert driver.find_element(By.CSS_SELECTOR, "#qr-amount").text.endswith("12.00")
        link = driver.find_element(By.CSS_SELECTOR, "#qr-app")
        assert link.is_displayed()
        if name == "alipay":
            want = ("alipays://platformapi/startapp?saId=10000007&qrcode="
                    + urllib.parse.quote(view["qr"], safe="-_.!~*'()"))
        else:
            want = view["qr"]
        assert link.get_attribute("href") == want

        assert gw.pay(order_no)["status"] in (200, 204)
        wait.until(EC.url_contains("/shop/order?"))
        keys = wait.until(EC.visibility_of_element_located((By.CSS_SELECTOR, "#key-list")))
        assert "QR-KEY-0001" in keys.text
    finally:
        gw.stop()
