"""Operations endpoints: /healthz, /readyz, /metrics, and which client address counts
(X-Forwarded-For only from trusted proxies)."""

import re
import time
import sqlite3
import threading

import pytest

import harness


def test_healthz(server):
    r = server.get("/healthz")
    assert r.status == 200
    assert r.json() == {"status": "ok"}
    assert r.headers["content-type"].startswith("application/json")


def test_readyz_when_migrated(server):
    r = server.get("/readyz")
    assert r.status == 200, r
    assert r.json() == {"status": "ready"}


def test_readyz_503_when_migrations_missing(server):
    db = server.db()
    try:
        with db:
            db.execute("DELETE FROM schema_migrations")
    finally:
        db.close()
    r = server.get("/readyz")
    assert r.status == 503, r
    assert r.error_code() == "unavailable"
    assert r.headers.get("retry-after", "").isdigit(), r.headers
    # Liveness is a different question: the process is up.
    assert server.get("/healthz").status == 200


def readyz_until(srv, status, within=8.0):
    """/readyz probes the disk at most every 2 s, so a change shows within a few seconds."""
    deadline = time.monotonic() + within
    while True:
        r = srv.get("/readyz", timeout=15)
        if r.status == status or time.monotonic() > deadline:
            return r
        time.sleep(0.2)


def test_readyz_503_when_database_is_locked(make_server):
    srv = make_server({"database": {"busy_timeout_ms": 50}})
    assert srv.get("/readyz").status == 200
    db = sqlite3.connect(str(srv.db_path), timeout=1, isolation_level=None)
    try:
        db.execute("BEGIN IMMEDIATE")  # holds the write lock
        r = readyz_until(srv, 503)
        assert r.status == 503, r
        assert r.error_code() == "unavailable"
        assert r.headers.get("retry-after", "").isdigit()
        db.execute("ROLLBACK")
    finally:
        db.close()
    r = readyz_until(srv, 200)
    assert r.status == 200, "readiness must come back once the lock is gone"


def test_readyz_does_not_write_per_call(server):
    """An anonymous caller must not turn /readyz into a write (and an fsync) per request."""
    assert server.get("/readyz").status == 200
    db = sqlite3.connect(str(server.db_path), timeout=5, isolation_level=None)
    try:
        def probe_value():
            row = db.execute("SELECT value FROM settings WHERE key = 'ready_probe'").fetchone()
            return row[0] if row else None

        seen = set()
        t0 = time.monotonic()
        for _ in range(40):
            assert server.get("/readyz").status == 200
            seen.add(probe_value())
        elapsed = time.monotonic() - t0
    finally:
        db.close()
    # One probe per 2 s at most: 40 calls within `elapsed` seconds leave few distinct values.
    assert len(seen) <= int(elapsed / 2) + 2, (seen, elapsed)


def metric(text, name, labels=""):
    m = re.search(rf"^{re.escape(name + labels)} (\S+)$", text, re.M)
    assert m, f"{name}{labels} not in metrics:\n{text}"
    return float(m.group(1))


def test_metrics_text_format_and_counters(server):
    for _ in range(3):
        server.get("/healthz")
    server.get("/api/nope")
    r = server.get("/metrics")
    assert r.status == 200, r
    assert r.headers["content-type"].startswith("text/plain")
    text = r.text
    assert "# TYPE cardshop_http_requests_total counter" in text
    assert metric(text, "cardshop_http_requests_total", '{class="2xx"}') >= 3
    assert metric(text, "cardshop_http_requests_total", '{class="4xx"}') >= 1
    assert metric(text, "cardshop_http_request_seconds_count") >= 4
    # Every non-comment line is "name{labels} value".
    for line in text.splitlines():
        if line and not line.startswith("#"):
            assert re.match(r'^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[^}]*\})? -?[0-9.e+Inf-]+$', line), line


def test_metrics_histogram_buckets_are_cumulative(server):
    server.get("/healthz")
    text = server.get("/metrics").text
    values = [float(v) for v in re.findall(r'^cardshop_http_request_seconds_bucket\{le="[^"]+"\} (\S+)$', text, re.M)]
    assert len(values) >= 2
    assert values == sorted(values)
    assert values[-1] == metric(text, "cardshop_http_request_seconds_count")


def test_metrics_refused_to_addresses_not_allowed(make_server):
    srv = make_server({"server": {"metrics_allow": "10.0.0.0/8"}})
    r = srv.get("/metrics")
    assert r.status == 403, r
    assert r.error_code() == "forbidden"
    assert "cardshop_" not in r.text


def test_metrics_allow_accepts_cidr(make_server):
    srv = make_server({"server": {"metrics_allow": "10.0.0.0/8, 127.0.0.0/8"}})
    assert srv.get("/metrics").status == 200


def test_xff_from_trusted_proxy_sets_the_client(make_server):
    srv = make_server({"server": {"trusted_proxies": "127.0.0.1"}})
    r = srv.get("/metrics", headers={"X-Forwarded-For": "10.9.9.9"})
    assert r.status == 403, r
    assert r.error_code() == "forbidden"
    rid = r.headers["x-request-id"]
    rec = srv.wait_for_log(lambda l: l.get("msg") == "request" and l.get("req_id") == rid)
    assert rec.get("ip") == "10.9.9.9", rec
    # Without the header the proxy itself is the client, and it may read the metrics.
    assert srv.get("/metrics").status == 200


def test_xff_right_most_untrusted_entry_wins(make_server):
    srv = make_server({"server": {"trusted_proxies": "127.0.0.1, 192.0.2.0/24"}})
    # A client can prepend anything; only what our proxies appended is believed.
    r = srv.get("/metrics", headers={"X-Forwarded-For": "127.0.0.1, 10.9.9.9, 192.0.2.7"})
    assert r.status == 403, r
    rid = r.headers["x-request-id"]
    rec = srv.wait_for_log(lambda l: l.get("req_id") == rid)
    assert rec.get("ip") == "10.9.9.9", rec


def test_xff_garbage_from_trusted_proxy_is_not_believed(make_server):
    srv = make_server({"server": {"trusted_proxies": "127.0.0.1", "metrics_allow": "127.0.0.1"}})
    r = srv.get("/metrics", headers={"X-Forwarded-For": "not-an-ip"})
    assert r.status == 200, r
    rid = r.headers["x-request-id"]
    rec = srv.wait_for_log(lambda l: l.get("req_id") == rid)
    assert rec.get("ip") == "127.0.0.1", rec


def test_xff_from_untrusted_peer_is_ignored(make_server):
    srv = make_server({"server": {"trusted_proxies": "192.0.2.1"}})
    r = srv.get("/metrics", headers={"X-Forwarded-For": "10.9.9.9"})
    assert r.status == 200, r
    assert "cardshop_http_requests_total" in r.text
    rid = r.headers["x-request-id"]
    rec = srv.wait_for_log(lambda l: l.get("req_id") == rid)
    assert rec.get("ip") == "127.0.0.1", rec


def test_xff_cannot_grant_metrics_access(make_server):
    # Loopback is not allowed, the peer is trusted, and the header claims an allowed address:
    # that is exactly what a real proxy would send, so it is believed...
    srv = make_server({"server": {"trusted_proxies": "127.0.0.1", "metrics_allow": "10.1.1.1"}})
    assert srv.get("/metrics", headers={"X-Forwarded-For": "10.1.1.1"}).status == 200
    # ...but from an untrusted peer the same header changes nothing.
    srv2 = make_server({"server": {"trusted_proxies": "192.0.2.1", "metrics_allow": "10.1.1.1"}})
    assert srv2.get("/metrics", headers={"X-Forwarded-For": "10.1.1.1"}).status == 403


def test_health_under_concurrent_load(server):
    errors = []

    def worker():
        try:
            for _ in range(20):
                r = server.get("/healthz")
                if r.status != 200:
                    errors.append(r)
        except Exception as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors, errors[:3]
    text = server.get("/metrics").text
    assert metric(text, "cardshop_http_requests_total", '{class="2xx"}') >= 160


def test_ipv6_listen_and_metrics_from_ipv6_loopback(make_server):
    if not harness.ipv6_loopback_available():
        pytest.skip("no IPv6 loopback here")
    srv = make_server(host="::1")
    assert srv.get("/healthz").json() == {"status": "ok"}
    r = srv.get("/metrics")  # ::1 is in the default metrics_allow
    assert r.status == 200 and "cardshop_http_requests_total" in r.text
    rid = r.headers["x-request-id"]
    assert srv.wait_for_log(lambda l: l.get("req_id") == rid)["ip"] == "::1"
    # ::1 is not a trusted proxy by default: its X-Forwarded-For changes nothing.
    assert srv.get("/metrics", headers={"X-Forwarded-For": "10.9.9.9"}).status == 200


def test_client_cannot_push_its_address_out_with_a_long_forwarded_for(server):
    """Behind a proxy that appends, a client may send any number of entries of its own: the
    client address is still the right-most untrusted one (here, the whole header is ours)."""
    fake = ", ".join(f"10.0.{i // 250}.{i % 250 + 1}" for i in range(40))
    hdr = {"X-Forwarded-For": fake + ", 127.0.0.1"}
    # 10.0.0.40 (the 40th) is the right-most untrusted entry: it is not allowed /metrics.
    r = server.request("GET", "/metrics", headers=hdr)
    assert r.status == 403
    line = server.wait_for_log(lambda l: l.get("msg") == "request" and l.get("path") == "/metrics")
    assert line["ip"] == "10.0.0.40"
