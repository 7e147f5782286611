"""Every page under static/ loads the shared helper library (static/assets/common.js) before
the shop's or the admin's own one, and runs in a real browser without a script error.

The pages are found on disk, so a page added later is checked too. With the sandbox gateway
on, every page (shop and admin) shows the demo banner, which common.js draws from
/api/config: seeing it proves the whole chain ran. A control run with common.js deleted from
a copy of static/ shows that the checks do catch a page without it."""

import re
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

import harness
from conftest import ADMIN_PASSWORD, ADMIN_USER

STATIC = harness.STATIC_DIR
COMMON = "/assets/common.js"
# the page library -> the global it leaves when it ran to the end
LIBRARIES = {"/assets/shop.js": "CardshopShop", "/assets/admin.js": "CardshopAdmin"}
SCRIPT_SRC = re.compile(r"<script\b[^>]*\bsrc=\"([^\"]+)\"", re.I)


def scripts(page):
    return SCRIPT_SRC.findall(page.read_text(encoding="utf-8"))


def pages():
    """(path under static/, URL, the global of its page library) for every page that loads
    shop.js or admin.js."""
    found = []
    for page in sorted(STATIC.rglob("*.html")):
        libs = [s for s in scripts(page) if s in LIBRARIES]
        if not libs:
            continue
        rel = page.relative_to(STATIC).as_posix()
        url = "/" + (rel[:-len("index.html")] if rel.endswith("index.html") else rel)
        found.append((rel, url, LIBRARIES[libs[0]]))
    return found


def script_errors(driver):
    """Script errors and CSP refusals in the console. "Failed to load resource" lines are the
    browser noting an HTTP error answer (a page without its ?id=, say), not a script fault."""
    return [e["message"] for e in driver.get_log("browser")
            if (e.get("level") == "SEVERE" or "Content Security Policy" in e["message"]
                or "Refused to" in e["message"])
            and "favicon" not in e["message"] and "Failed to load resource" not in e["message"]]


def wait(driver, timeout=10):
    return WebDriverWait(driver, timeout)


def sign_in(driver, srv):
    driver.get(srv.url("/admin/"))
    wait(driver).until(EC.visibility_of_element_located((By.CSS_SELECTOR, "#login-form")))
    driver.find_element(By.CSS_SELECTOR, "#username").send_keys(ADMIN_USER)
    driver.find_element(By.CSS_SELECTOR, "#password").send_keys(ADMIN_PASSWORD)
    driver.find_element(By.CSS_SELECTOR, "#login-submit").click()
    wait(driver).until(EC.url_contains("/admin/dashboard"))


def has_banner(driver):
    return driver.execute_script("return document.querySelectorAll('.demo-banner').length") == 1


# ---- the pages as files -------------------------------------------------------------------------

def test_every_page_loads_common_js_before_its_library():
    found = pages()
    # the storefront (home, shop, product, order, lookup, sandbox checkout) and the admin pages
    assert len(found) >= 13, found
    assert {lib for _, _, lib in found} == set(LIBRARIES.values())
    for rel, _, _ in found:
        srcs = scripts(STATIC / rel)
        assert COMMON in srcs, f"{rel} does not load {COMMON}"
        first_lib = min(srcs.index(s) for s in srcs if s in LIBRARIES)
        assert srcs.index(COMMON) < first_lib, f"{rel} loads {COMMON} after {srcs[first_lib]}"
        for src in srcs:
            assert (STATIC / src.lstrip("/")).is_file(), f"{rel} loads {src}, which is not in static/"


def test_admin_pages_load_the_dictionaries_before_admin_js():
    """The admin's strings (zh-CN and en) come from i18n.js + admin-i18n.js: a page that does
    not load them before admin.js would show English only."""
    admin = [(rel, scripts(STATIC / rel)) for rel, _, lib in pages() if lib == "CardshopAdmin"]
    assert len(admin) >= 8, admin
    for rel, srcs in admin:
        order = [s for s in srcs if s in ("/assets/i18n.js", "/assets/admin-i18n.js", "/assets/admin.js")]
        assert order == ["/assets/i18n.js", "/assets/admin-i18n.js", "/assets/admin.js"], (rel, srcs)
    for rel, _, lib in pages():  # the shop's pages never carry the admin's strings
        if lib == "CardshopShop":
            assert "/assets/admin-i18n.js" not in scripts(STATIC / rel), rel


DICT_ENTRY = re.compile(r"^\s*'([a-z0-9_.]+(?: [a-z][a-z ]*)?)': '", re.M)
KEY_USES = (re.compile(r"data-i18n(?:-placeholder|-title|-aria-label)?=\"([^\"]+)\""),
            re.compile(r"'((?:admin|nav|common|login|dash|audit|products|coupons|keys|mail|orders"
                       r"|team|pw|totp|role|add|settings|section|gateways)"
                       r"\.[a-z0-9_.]*[a-z0-9_])'"))


def test_every_admin_string_has_both_languages():
    text = (STATIC / "assets" / "admin-i18n.js").read_text(encoding="utf-8")
    en_part, zh_part = text.split("var zh = {", 1)
    en, zh = set(DICT_ENTRY.findall(en_part)), set(DICT_ENTRY.findall(zh_part))
    assert en and en == zh, sorted(en ^ zh)
    shop = set(DICT_ENTRY.findall((STATIC / "assets" / "i18n.js").read_text(encoding="utf-8")))
    used = set()
    files = list((STATIC / "admin").glob("*.html")) + list((STATIC / "admin").glob("*.js")) + \
        [STATIC / "assets" / "admin.js"]
    for f in files:
        body = f.read_text(encoding="utf-8")
        for pattern in KEY_USES:
            used.update((k, f.name) for k in pattern.findall(body))
    assert len(used) > 100
    missing = sorted((k, name) for k, name in used if k not in en and k not in shop)
    assert missing == [], missing


# ---- the pages in a browser ---------------------------------------------------------------------

def test_every_page_runs_without_script_errors(driver, make_server):
    srv = make_server({"payment.sandbox": {"enabled": True}})
    driver.get(srv.url("/shop/"))
    driver.execute_script("localStorage.setItem('cardshop.lang', 'en')")
    sign_in(driver, srv)  # so the admin pages stay put instead of going to the sign-in form
    assert script_errors(driver) == []
    for rel, url, lib in pages():
        driver.get(srv.url(url))
        if rel == "admin/index.html":  # signed in: the form sends the browser on
            wait(driver).until(EC.url_contains("/admin/dashboard"))
        wait(driver).until(has_banner, f"{rel}: no demo banner")
        assert driver.execute_script("return typeof window.Cardshop.el") == "function", rel
        assert driver.execute_script(f"return typeof window.{lib}") == "object", rel
        assert script_errors(driver) == [], rel


def test_a_page_without_common_js_is_caught(driver, make_server, tmp_path):
    # The control: the same checks on a copy of static/ without the shared library fail.
    static = harness.copy_static(tmp_path / "static")
    (static / "assets" / "common.js").unlink()
    srv = make_server({"payment.sandbox": {"enabled": True}}, static_dir=static)
    for url, lib in (("/shop/", "CardshopShop"), ("/admin/", "CardshopAdmin")):
        driver.get(srv.url(url))
        wait(driver).until(lambda d: script_errors(d) or False, f"{url}: no error logged")
        assert driver.execute_script("return typeof window.Cardshop") == "undefined"
        assert driver.execute_script(f"return typeof window.{lib}") == "undefined"
        assert not has_banner(driver)
