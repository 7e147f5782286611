"""Fixtures for the browser suite: the real cardshop binary (through tests/harness.py) with a
fresh database and an admin account, and a headless Debian Chromium driven by selenium.

Needs Debian's chromium, chromium-driver and python3-selenium; run with `make browser`.
Waits are explicit (WebDriverWait); no implicit wait is set."""

import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

TESTS_DIR = Path(__file__).resolve().parent.parent
if str(TESTS_DIR) not in sys.path:
    sys.path.insert(0, str(TESTS_DIR))

import harness  # noqa: E402

CHROMEDRIVER = os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver")
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")

ADMIN_USER = "admin"
ADMIN_PASSWORD = "correct horse battery staple"

try:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
except ImportError:  # pragma: no cover - reported once by the fixture below
    webdriver = None


@pytest.fixture(scope="session")
def cardshop_bin():
    path = harness.cardshop_bin()
    if not os.access(path, os.X_OK):
        pytest.exit(f"cardshop binary not found at {path}: run `make build/cardshop` or set CARDSHOP_BIN",
                    returncode=4)
    return path


@pytest.fixture
def make_server(tmp_path, cardshop_bin):
    """make_server(config=None, name=None, static_dir=None) -> a started CardshopServer with a
    fresh database and the admin ADMIN_USER / ADMIN_PASSWORD (static_dir: default the
    repository's static/). Killed at teardown."""
    servers = []

    def factory(config=None, *, name=None, static_dir=None):
        srv = harness.CardshopServer(tmp_path / (name or f"srv{len(servers)}"), config,
                                     static_dir=static_dir)
        servers.append(srv)
        srv.migrate()
        srv.add_admin(ADMIN_USER, ADMIN_PASSWORD)
        srv.start(migrate=False)
        return srv

    yield factory
    for srv in servers:
        srv.kill()


@pytest.fixture
def server(make_server):
    """A started server: default test configuration (sandbox gateway off), fresh database, one
    admin."""
    return make_server()


@pytest.fixture
def driver():
    """Headless Chromium, 1280x900, fresh profile; browser console kept for CSP checks."""
    if webdriver is None:
        pytest.skip("python3-selenium is not installed")
    for path in (CHROMEDRIVER, CHROMIUM):
        if not os.access(path, os.X_OK):
            pytest.skip(f"{path} not found: install Debian's chromium and chromium-driver")
    profile = tempfile.mkdtemp(prefix="cardshop-chromium-")
    opts = webdriver.ChromeOptions()
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-quic", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--window-size=1280,900",
                f"--user-data-dir={profile}"):
        opts.add_argument(arg)
    opts.binary_location = CHROMIUM
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    drv = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    drv.set_window_size(1280, 900)
    drv.set_page_load_timeout(20)
    drv.set_script_timeout(10)
    try:
        yield drv
    finally:
        try:
            drv.quit()
        finally:
            shutil.rmtree(profile, ignore_errors=True)
