"""/metrics as an operator uses it: the page passes `promtool check metrics`, every family has
# HELP and # TYPE, the families the alerts in docs/alerts.yml need are there and move with real
traffic, gauges keep their last value when their query fails, and the alert rules pass
`promtool check rules`."""

import re
import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest

from fakes.fixtures import epay, sink  # noqa: F401 (pytest fixtures)
from fakes.shop_setup import make_keys, start_shop

ROOT = Path(__file__).resolve().parent.parent.parent


@pytest.fixture(scope="module")
def promtool():
    path = shutil.which("promtool")
    if not path:  # scripts/deps.sh test installs Debian's prometheus package, which has it
        pytest.skip("promtool not installed (Debian package prometheus)")
    return path


def scrape(srv) -> str:
    r = srv.get("/metrics", use_cookies=False)
    assert r.status == 200, r
    return r.text


def value(text, series):
    m = re.search(rf"^{re.escape(series)} (\S+)$", text, re.M)
    assert m, f"{series} not in metrics:\n{text}"
    return float(m.group(1))


def families(text):
    helps = set(re.findall(r"^# HELP (\S+) ", text, re.M))
    types = dict(re.findall(r"^# TYPE (\S+) (\S+)$", text, re.M))
    names = set()
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name = re.match(r"[a-zA-Z_:][a-zA-Z0-9_:]*", line).group(0)
            for suffix in ("_bucket", "_sum", "_count"):
                if name.endswith(suffix) and types.get(name[: -len(suffix)]) == "histogram":
                    name = name[: -len(suffix)]
            names.add(name)
    return names, helps, types


@pytest.fixture
def shop(make_server, epay, sink):  # noqa: F811
    return start_shop(make_server, epay=epay, sink=sink, threads=4)


def traffic(shop):
    """A purchase paid through the fake EPay, a forged notify, a 404 and a failed sign-in."""
    pid = shop.admin.product(price=500, keys=make_keys(3))
    o = shop.order_ok(pid, 1)
    shop.open_pay_url(o)
    assert shop.epay.pay(o["order_no"]) == "success"
    r = shop.srv.post("/pay/epay/notify", body=b"out_trade_no=X&sign=bad",
                      headers={"Content-Type": "application/x-www-form-urlencoded"}, use_cookies=False)
    assert r.status == 200 and r.text == "fail", r
    assert shop.srv.get("/api/nope", use_cookies=False).status == 404
    shop.srv.post("/api/admin/login", json={"username": "nobody", "password": "x" * 12}, use_cookies=False)
    return pid


def test_page_passes_promtool_with_help_and_type_on_every_family(shop, promtool):
    traffic(shop)
    text = scrape(shop.srv)
    p = subprocess.run([promtool, "check", "metrics"], input=text.encode(), capture_output=True, timeout=60)
    assert p.returncode == 0, (p.stdout + p.stderr).decode() + text
    names, helps, types = families(text)
    assert names, text
    assert names <= helps, f"no # HELP: {sorted(names - helps)}"
    assert names <= set(types), f"no # TYPE: {sorted(names - set(types))}"


def test_families_move_with_traffic(shop):
    pid = traffic(shop)
    t = scrape(shop.srv)
    assert value(t, 'cardshop_notify_total{gateway="epay",result="accepted"}') >= 1
    assert value(t, 'cardshop_notify_total{gateway="epay",result="rejected"}') >= 1
    assert value(t, 'cardshop_orders{status="delivered"}') == 1
    assert value(t, 'cardshop_orders{status="refunded"}') == 0  # known statuses never vanish
    assert value(t, f'cardshop_product_stock{{product_id="{pid}"}}') == 2
    assert value(t, 'cardshop_http_route_seconds_count{route="admin"}') >= 3
    assert value(t, 'cardshop_http_route_seconds_count{route="order"}') >= 1
    assert value(t, 'cardshop_http_route_seconds_count{route="pay"}') >= 2
    assert value(t, 'cardshop_http_route_seconds_count{route="shop"}') >= 1
    assert value(t, "cardshop_db_commit_seconds_count") >= 3
    assert value(t, "cardshop_db_commit_batch_size_count") >= 3  # observed with each commit
    assert value(t, "cardshop_login_failed_total") >= 1
    assert value(t, "process_resident_memory_bytes") > 1_000_000
    assert value(t, "process_open_fds") >= 3
    assert value(t, "process_cpu_seconds_total") > 0
    assert re.search(r'^cardshop_build_info\{version="[^"]+"\} 1$', t, re.M), t
    for name in ("cardshop_backup_last_success_timestamp_seconds", "cardshop_requests_shed_total",
                 "cardshop_rate_limited_total", "cardshop_db_busy_retries_total", "cardshop_metrics_errors_total",
                 'cardshop_jobs{status="failed"}', "cardshop_orders_paid_undelivered",
                 "cardshop_ratelimit_evictions_total", "cardshop_job_attempts_failed_total"):
        value(t, name)


def test_every_request_is_counted_before_its_reply(server):
    """The counter is bumped before the reply is queued: a scrape right after a reply always
    includes it (it used to be bumped after the reply had left, and a scrape could miss it)."""
    for _ in range(30):
        before = value(scrape(server), 'cardshop_http_requests_total{class="4xx"}')
        assert server.get("/api/nope", use_cookies=False).status == 404
        after = value(scrape(server), 'cardshop_http_requests_total{class="4xx"}')
        assert after == before + 1


def test_gauges_keep_their_last_value_when_the_query_fails(shop):
    pid = shop.admin.product(price=500, keys=make_keys(4))
    t = scrape(shop.srv)
    stock = value(t, f'cardshop_product_stock{{product_id="{pid}"}}')
    undelivered = value(t, "cardshop_orders_paid_undelivered")
    assert stock == 4 and value(t, "cardshop_metrics_errors_total") == 0
    db = sqlite3.connect(str(shop.srv.db_path), timeout=10, isolation_level=None)
    try:
        db.execute("ALTER TABLE product_stock RENAME TO product_stock_hidden")  # stock queries fail now
        t = scrape(shop.srv)
        assert value(t, f'cardshop_product_stock{{product_id="{pid}"}}') == stock
        assert value(t, "cardshop_orders_paid_undelivered") == undelivered
        assert value(t, "cardshop_metrics_errors_total") >= 1
    finally:
        db.execute("ALTER TABLE product_stock_hidden RENAME TO product_stock")
        db.close()
    t = scrape(shop.srv)
    assert value(t, f'cardshop_product_stock{{product_id="{pid}"}}') == 4


def test_alert_rules_pass_promtool(promtool):
    p = subprocess.run([promtool, "check", "rules", str(ROOT / "docs" / "alerts.yml")],
                       capture_output=True, timeout=60)
    assert p.returncode == 0, (p.stdout + p.stderr).decode()
    assert b"SUCCESS" in p.stdout, p.stdout
    rules = (ROOT / "docs" / "alerts.yml").read_text()
    for needed in ("cardshop_orders_paid_undelivered", "cardshop_jobs", "cardshop_backup_last_success_timestamp_seconds",
                   'class="5xx"', 'cardshop_notify_total{result="rejected"}', 'cardshop_gateway_up'):
        assert needed in rules, needed


def test_every_metric_is_documented(shop):
    traffic(shop)
    names, _, _ = families(scrape(shop.srv))
    doc = (ROOT / "docs" / "operations.md").read_text()
    missing = sorted(n for n in names if n not in doc)
    assert not missing, f"not in docs/operations.md: {missing}"
