"""The admin in Chinese and English (the language switch in the header, the shop's name, one
navigation), and the dashboard: tiles, best sellers, low stock and a revenue chart drawn as
inline SVG."""

import time
import uuid

from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

from conftest import ADMIN_PASSWORD, ADMIN_USER

SHOP = "卡密小店 <&>"
SVG_NS = "http://www.w3.org/2000/svg"


def wait(driver, timeout=10):
    return WebDriverWait(driver, timeout)


def visible(driver, css, timeout=10):
    return wait(driver, timeout).until(EC.visibility_of_element_located((By.CSS_SELECTOR, css)))


def text_of(driver, css):
    return driver.find_element(By.CSS_SELECTOR, css).text


def sign_in(driver, srv):
    driver.get(srv.url("/admin/"))
    visible(driver, "#login-form")
    driver.find_element(By.ID, "username").send_keys(ADMIN_USER)
    driver.find_element(By.ID, "password").send_keys(ADMIN_PASSWORD)
    driver.find_element(By.ID, "login-submit").click()
    wait(driver).until(EC.url_contains("/admin/dashboard"))
    wait(driver).until(lambda d: text_of(d, "[data-admin-user]") == ADMIN_USER)


def api_admin(srv):
    r = srv.post("/api/admin/login", json={"username": ADMIN_USER, "password": ADMIN_PASSWORD})
    assert r.status == 200, r
    return r.json()["csrf_token"]


def product(srv, csrf, name, price, keys):
    r = srv.post("/api/admin/products", json={"name": name, "price": price},
                 headers={"X-CSRF-Token": csrf})
    assert r.status == 201, r
    pid = r.json()["id"]
    if keys:
        body = "".join(f"{name[:4]}-{uuid.uuid4().hex}\n" for _ in range(keys))
        r = srv.post(f"/api/admin/products/{pid}/keys", body=body.encode(),
                     headers={"X-CSRF-Token": csrf, "Content-Type": "text/plain"})
        assert r.status == 200, r
    return pid


def paid_order(srv, pid, amount, paid_at):
    with srv.db() as c:
        c.execute("INSERT INTO orders (order_no, product_id, quantity, unit_price, amount, currency,"
                  " email, gateway, status, created_at, expires_at, paid_at)"
                  " VALUES (?, ?, 1, ?, ?, 'CNY', 'b@example.com', 'epay', 'delivered', ?, ?, ?)",
                  ("T" + uuid.uuid4().hex[:20], pid, amount, amount, paid_at - 5, paid_at + 900, paid_at))


def test_admin_switches_to_chinese_with_the_shop_name(driver, make_server):
    srv = make_server({"shop": {"name": SHOP}})
    driver.get(srv.url("/admin/"))
    driver.execute_script("localStorage.setItem('cardshop.lang', 'en')")
    sign_in(driver, srv)
    assert text_of(driver, ".admin-top .brand .shop-name") == SHOP  # as text, not markup
    assert text_of(driver, "main h1") == "Dashboard"
    nav = [a.text for a in driver.find_elements(By.CSS_SELECTOR, ".admin-top nav a") if a.is_displayed()]
    assert nav[:5] == ["Dashboard", "Products", "Orders", "Coupons", "Mail"] and nav[-1] == "Audit log"
    assert text_of(driver, "nav a[aria-current='page']") == "Dashboard"
    switch = driver.find_element(By.CSS_SELECTOR, ".admin-top [data-lang-switch]")
    assert switch.text == "中文"

    switch.click()
    wait(driver).until(lambda d: d.execute_script("return document.documentElement.lang") == "zh-CN")
    wait(driver).until(lambda d: text_of(d, "main h1") == "概览")
    assert text_of(driver, ".admin-top .brand .shop-name") == SHOP
    assert text_of(driver, ".admin-top .brand-sub") == "管理后台"
    assert text_of(driver, "nav a[aria-current='page']") == "概览"
    assert text_of(driver, "[data-action='logout']") == "退出登录"
    assert text_of(driver, "#tile-today h2") == "今天"
    wait(driver).until(lambda d: SHOP in d.title)

    # another page keeps the language: the products page, its table and form in Chinese
    driver.find_element(By.CSS_SELECTOR, ".admin-top nav a[href='/admin/products']").click()
    wait(driver).until(EC.url_contains("/admin/products"))
    wait(driver).until(lambda d: text_of(d, "main h1") == "商品")
    assert text_of(driver, "nav a[aria-current='page']") == "商品"
    assert text_of(driver, "#np-submit") == "创建商品"
    assert "商品" in driver.title and SHOP in driver.title
    # the sign-in page too, once signed out
    driver.find_element(By.CSS_SELECTOR, "[data-action='logout']").click()
    wait(driver).until(lambda d: d.current_url.endswith("/admin/"))
    visible(driver, "#login-form")
    assert text_of(driver, "#login-submit") == "登录"
    assert text_of(driver, ".admin-top .brand .shop-name") == SHOP
    driver.find_element(By.CSS_SELECTOR, ".admin-top [data-lang-switch]").click()
    wait(driver).until(lambda d: text_of(d, "#login-submit") == "Sign in")


def test_dashboard_draws_its_figures_and_an_svg_chart(driver, make_server):
    srv = make_server({"shop": {"name": "Chart shop", "currency": "CNY"}})
    csrf = api_admin(srv)
    hot = product(srv, csrf, "Hot card", 1000, keys=20)
    low = product(srv, csrf, "Last few", 500, keys=2)
    now = int(time.time())
    today = now - now % 86400  # the server counts days in UTC here
    paid_order(srv, hot, 1000, max(now - 60, today + 1))
    paid_order(srv, hot, 1500, max(now - 120, today + 2))
    paid_order(srv, low, 500, now - 3 * 86400)
    driver.get(srv.url("/admin/"))
    driver.execute_script("localStorage.setItem('cardshop.lang', 'en')")
    sign_in(driver, srv)

    chart = visible(driver, "#chart-box svg.revenue-chart")
    assert driver.execute_script("return arguments[0].namespaceURI", chart) == SVG_NS
    bars = driver.find_elements(By.CSS_SELECTOR, "svg.revenue-chart rect.bar")
    assert len(bars) == 30
    heights = [float(b.get_attribute("height")) for b in bars]
    assert heights[-1] == max(heights) > 0  # today's 25.00 is the tallest bar
    assert sum(1 for h in heights if h > 0) == 2  # today and 3 days ago
    tip = driver.execute_script("return arguments[0].querySelector('title').textContent", bars[-1])
    assert "25.00 CNY" in tip, tip
    assert "Revenue per day" in chart.get_attribute("aria-label")

    assert text_of(driver, "#tile-30 [data-figure='revenue']") == "30.00 CNY"
    assert text_of(driver, "#tile-30 [data-figure='paid']") == "3"
    rows = driver.find_elements(By.CSS_SELECTOR, "#top-body tr")
    assert [r.find_element(By.CSS_SELECTOR, "td").text for r in rows] == ["Hot card", "Last few"]
    low_items = driver.find_elements(By.CSS_SELECTOR, "#low-list li")
    assert len(low_items) == 1 and "Last few" in low_items[0].text and "2" in low_items[0].text
    assert driver.execute_script(
        "return [].some.call(document.querySelectorAll('script'), s => /chart|cdn/i.test(s.src))") is False

    # in Chinese: the same figures, money as the shop writes it
    driver.find_element(By.CSS_SELECTOR, ".admin-top [data-lang-switch]").click()
    wait(driver).until(lambda d: text_of(d, "#tile-30 h2") == "最近 30 天")
    wait(driver).until(lambda d: text_of(d, "#tile-30 [data-figure='revenue']") == "¥30.00")
    assert text_of(driver, "#low-stock h2") == "库存不足"
