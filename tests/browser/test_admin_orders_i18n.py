"""The orders page in Chinese: its filters, totals, search, row buttons, detail and confirm
dialog take their texts from the admin dictionary (static/assets/admin-i18n.js) like every
admin page; and the settings page offers the merchant's language as a choice labelled in the
admin's language, saved through PATCH /api/admin/settings."""

from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import Select, WebDriverWait

from conftest import ADMIN_PASSWORD, ADMIN_USER


def wait(driver, timeout=10):
    return WebDriverWait(driver, timeout, ignored_exceptions=(StaleElementReferenceException,))


def text(driver, css):
    """textContent, so hidden elements (the totals before a filter) count too."""
    return driver.execute_script("return document.querySelector(arguments[0]).textContent.trim()", css)


def test_orders_page_and_merchant_language_in_chinese(driver, make_server):
    srv = make_server({"payment.sandbox": {"enabled": True}})
    r = srv.post("/api/admin/login", json={"username": ADMIN_USER, "password": ADMIN_PASSWORD})
    assert r.status == 200, r
    h = {"X-CSRF-Token": r.json()["csrf_token"]}
    r = srv.post("/api/admin/products", json={"name": "Card", "price": 500}, headers=h)
    assert r.status == 201, r
    pid = r.json()["id"]
    r = srv.post(f"/api/admin/products/{pid}/keys", body="K-0001-ABCD\n",
                 headers={**h, "Content-Type": "text/plain"})
    assert r.status == 200, r
    r = srv.post("/api/orders", json={"product_id": pid, "quantity": 1, "email": "b@example.com",
                                      "gateway": "sandbox"}, use_cookies=False)
    assert r.status == 201, r
    order_no = r.json()["order_no"]

    driver.get(srv.url("/admin/"))
    driver.execute_script("localStorage.setItem('cardshop.lang', 'zh-CN')")
    driver.get(srv.url("/admin/"))
    wait(driver).until(EC.visibility_of_element_located((By.ID, "login-form")))
    driver.find_element(By.ID, "username").send_keys(ADMIN_USER)
    driver.find_element(By.ID, "password").send_keys(ADMIN_PASSWORD)
    driver.find_element(By.ID, "login-submit").click()
    wait(driver).until(EC.url_contains("/admin/dashboard"))

    driver.get(srv.url("/admin/orders"))
    row_css = f"#orders-body tr[data-order-no='{order_no}']:not(.order-detail)"
    row = wait(driver).until(lambda d: d.find_element(By.CSS_SELECTOR, row_css))
    assert driver.execute_script("return document.documentElement.lang") == "zh-CN"
    assert text(driver, "main h1") == "订单"
    # the strings orders.js used to keep in a table of its own
    assert text(driver, "label[for='product-filter'] span") == "商品"
    assert text(driver, "#product-filter option[value='']") == "全部商品"
    assert text(driver, "label[for='gateway-filter'] span") == "支付方式"
    assert text(driver, "#gateway-filter option[value='manual']") == "人工确认收款"
    assert text(driver, "label[for='from-filter'] span") == "起始日期"
    assert text(driver, "#csv-link") == "导出 CSV"
    assert text(driver, "#orders-totals .stat-label") == "符合条件的订单"
    assert text(driver, "label[for='action-note']") == "备注（记入审计日志）"
    assert text(driver, "#action-back") == "返回"
    # the search box, its buttons (untranslated before), the table head, a status
    assert text(driver, "label[for='order-search'] span") == "搜索"
    assert text(driver, "#search-submit") == "搜索"
    assert text(driver, "#search-clear") == "清除"
    box = driver.find_element(By.ID, "order-search")
    assert box.get_attribute("placeholder") == "订单号、邮箱或交易号"
    assert text(driver, "#orders-table thead th") == "订单"
    assert row.find_element(By.CSS_SELECTOR, ".status").text == "待付款"

    button = row.find_element(By.CSS_SELECTOR, ".detail-toggle")
    assert button.text == "详情"
    button.click()
    css = f".detail-panel[data-order-no='{order_no}'][data-status]"
    panel = wait(driver).until(lambda d: d.find_element(By.CSS_SELECTOR, css))
    heads = [e.text for e in panel.find_elements(By.CSS_SELECTOR, "h4")]
    assert "付款" in heads and "操作记录" in heads and "操作" in heads, heads
    assert "买家" in [e.text for e in panel.find_elements(By.CSS_SELECTOR, "dt")]
    cancel = panel.find_element(By.CSS_SELECTOR, "button.order-action[data-action='cancel']")
    assert cancel.text == "取消订单"
    cancel.click()
    dialog = wait(driver).until(EC.visibility_of_element_located((By.ID, "action-dialog")))
    assert dialog.find_element(By.ID, "action-title").text == f"取消订单 · {order_no}"
    assert "其卡密将重新上架" in dialog.find_element(By.ID, "action-text").text
    dialog.find_element(By.ID, "action-back").click()
    wait(driver).until(lambda d: not d.find_element(By.ID, "action-dialog").is_displayed())

    # the settings page: the merchant's language, a choice in the admin's language
    driver.get(srv.url("/admin/settings"))
    select = wait(driver).until(lambda d: d.find_element(By.ID, "set-shop-merchant_lang"))
    assert text(driver, "label[for='set-shop-merchant_lang']") == "发给商家的邮件和消息所用语言"
    choice = Select(select)
    assert [o.text for o in choice.options] == ["英文（English）", "简体中文"]
    assert choice.first_selected_option.get_attribute("value") == "en"
    choice.select_by_value("zh-CN")
    form = select.find_element(By.XPATH, "ancestor::form")
    form.find_element(By.CSS_SELECTOR, "button[type='submit']").click()
    wait(driver).until(lambda d: d.find_element(By.ID, "page-notice").text == "已保存。")
    r = srv.get("/api/admin/settings")
    assert r.status == 200, r
    assert r.json()["settings"]["shop.merchant_lang"]["value"] == "zh-CN"
