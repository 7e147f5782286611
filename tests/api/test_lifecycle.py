"""Process lifecycle: graceful shutdown with requests in flight, online backup while serving,
migrations, the secret file, start-up failures."""

import http.client
import os
import re
import signal
import socket
import sqlite3
import stat
import subprocess
import threading
import time

import pytest

import harness


def slow_post_head(length: int, path: str = "/api/slow-upload") -> bytes:
    return (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"Content-Length: {length}\r\nConnection: close\r\n\r\n").encode()


def assert_exits_cleanly(srv, within: float):
    t0 = time.monotonic()
    try:
        code = srv.wait(timeout=within)
    except subprocess.TimeoutExpired:
        pytest.fail(f"still running {within} s after SIGTERM\n{srv.log_text()[-2000:]}")
    assert code == 0, f"exit code {code}\n{srv.log_text()[-2000:]}"
    assert harness.integrity_check(srv.db_path) == "ok"
    return time.monotonic() - t0


# ---- graceful shutdown -------------------------------------------------------------------

def test_sigterm_on_idle_server_exits_zero_quickly(server):
    server.signal(signal.SIGTERM)
    assert assert_exits_cleanly(server, 5) < 3
    msgs = [l["msg"] for l in server.log_lines()]
    assert "stopping" in msgs and "stopped" in msgs


def test_sigint_also_stops_cleanly(server):
    server.signal(signal.SIGINT)
    assert_exits_cleanly(server, 5)


def test_in_flight_request_completes_after_sigterm(server):
    body = b'{"pad": "' + b"x" * 990 + b'"}'
    with server.connect() as s:
        s.sendall(slow_post_head(len(body)) + body[:100])
        time.sleep(0.3)  # the server has the head: the request is in flight
        server.signal(signal.SIGTERM)
        time.sleep(0.5)
        assert server.running(), "exited with a request still in flight"
        # No new connections once stopping.
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", server.port), timeout=1).close()
        s.sendall(body[100:])
        data = harness.read_until_close(s, 5)
    r = harness.parse_raw_response(data)
    assert r is not None, "in-flight request got no answer"
    assert r.status == 404 and r.error_code() == "not_found", data
    assert len(r.body) == int(r.headers["content-length"])
    assert_exits_cleanly(server, 5)
    rid = r.headers["x-request-id"]
    rec = [l for l in server.log_lines() if l.get("req_id") == rid and l["msg"] == "request"]
    assert rec and rec[0]["status"] == 404 and "aborted" not in rec[0], rec


def test_several_in_flight_requests_complete_after_sigterm(server):
    n = 6
    results = [None] * n
    started = threading.Barrier(n + 1)
    release = threading.Event()

    def client(i):
        chunks = [b'{"i": %d, "pad": "' % i, b"y" * 500, b'"}']
        length = sum(len(c) for c in chunks)
        with server.connect() as s:
            s.sendall(slow_post_head(length, f"/api/slow/{i}") + chunks[0])
            started.wait(5)
            release.wait(10)
            for c in chunks[1:]:
                s.sendall(c)
                time.sleep(0.05)
            results[i] = harness.parse_raw_response(harness.read_until_close(s, 5))

    threads = [threading.Thread(target=client, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    started.wait(5)
    time.sleep(0.3)
    server.signal(signal.SIGTERM)
    time.sleep(0.3)
    assert server.running()
    release.set()
    for t in threads:
        t.join(15)
    for i, r in enumerate(results):
        assert r is not None, f"client {i} got no answer"
        assert r.status == 404 and r.error_code() == "not_found", (i, r)
    assert_exits_cleanly(server, 5)


def test_idle_keep_alive_connection_does_not_delay_shutdown(server):
    with server.connect() as s:
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        r = harness.parse_raw_response(harness.read_until_close(s, 3, until=b"HTTP"))
        assert r.status == 200
        server.signal(signal.SIGTERM)
        assert assert_exits_cleanly(server, 5) < 3


@pytest.mark.slow
def test_stalled_client_cannot_block_shutdown_forever(server):
    # A request that never finishes: the server waits its grace period, then exits anyway.
    with server.connect() as s:
        s.sendall(slow_post_head(1000) + b"{")
        time.sleep(0.2)
        server.signal(signal.SIGTERM)
        assert_exits_cleanly(server, 16)


def test_writes_during_shutdown_leave_a_sound_database(server):
    stop = threading.Event()

    def hammer():
        while not stop.is_set():
            try:
                server.get("/readyz", timeout=2)  # writes the readiness probe row
            except (OSError, http.client.HTTPException, AttributeError):
                # The server is going away (http.client raises AttributeError when the
                # socket is gone before its reply is read): expected.
                return

    threads = [threading.Thread(target=hammer) for _ in range(4)]
    for t in threads:
        t.start()
    time.sleep(0.3)
    server.signal(signal.SIGTERM)
    try:
        assert_exits_cleanly(server, 8)
    finally:
        stop.set()
        for t in threads:
            t.join(5)
    tables = harness.sqlite_tables(server.db_path)
    assert "settings" in tables


# ---- backup ------------------------------------------------------------------------------

def test_backup_while_serving(server, tmp_path):
    server.add_admin("carol", "a long enough password 1")
    stop = threading.Event()
    statuses = []

    def traffic():
        while not stop.is_set():
            try:
                statuses.append(server.get("/readyz").status)
            except Exception as e:  # noqa: BLE001 (reported by the assertion below)
                statuses.append(repr(e))

    t = threading.Thread(target=traffic)
    t.start()
    try:
        dest = tmp_path / "backups" / "b.db"
        dest.parent.mkdir()
        p = server.cli("backup", str(dest))
    finally:
        stop.set()
        t.join(10)
    assert p.returncode == 0, p.stderr
    assert str(dest) in p.stdout
    assert dest.exists()
    assert not (tmp_path / "backups" / "b.db.tmp").exists()
    assert harness.integrity_check(dest) == "ok"
    tables = harness.sqlite_tables(dest)
    for name in ("schema_migrations", "products", "orders", "card_keys", "admins"):
        assert name in tables, tables
    c = sqlite3.connect(str(dest))
    try:
        assert c.execute("SELECT username FROM admins").fetchall() == [("carol",)]
        n = c.execute("SELECT count(*) FROM schema_migrations").fetchone()[0]
        assert n == len(harness.migration_files())
        assert c.execute("PRAGMA journal_mode").fetchone()[0] == "delete", "a backup must be one file"
    finally:
        c.close()
    assert server.is_healthy()
    assert statuses and set(statuses) == {200}, set(statuses)


def test_backup_overwrites_an_existing_copy(server, tmp_path):
    dest = tmp_path / "b.db"
    assert server.cli("backup", str(dest)).returncode == 0
    server.add_admin("dave", "another long password")
    p = server.cli("backup", str(dest))
    assert p.returncode == 0, p.stderr
    c = sqlite3.connect(str(dest))
    try:
        assert ("dave",) in c.execute("SELECT username FROM admins").fetchall()
    finally:
        c.close()


def test_backup_to_unwritable_place_fails_cleanly(server, tmp_path):
    dest = tmp_path / "no" / "such" / "dir" / "b.db"
    p = server.cli("backup", str(dest))
    assert p.returncode != 0
    lines = p.stderr.strip().splitlines()
    assert lines and "backup" in lines[-1], p.stderr
    assert not dest.exists()
    assert server.is_healthy()


# ---- migrations --------------------------------------------------------------------------

def test_migrate_twice(tmp_path, cardshop_bin):
    srv = harness.CardshopServer(tmp_path)
    files = harness.migration_files()
    first = srv.cli("migrate")
    assert first.returncode == 0, first.stderr
    assert first.stdout.strip() == f"{len(files)} migration(s) applied"
    second = srv.cli("migrate")
    assert second.returncode == 0, second.stderr
    assert second.stdout.strip() == "0 migration(s) applied"
    c = srv.db()
    try:
        rows = c.execute("SELECT version, name FROM schema_migrations ORDER BY version").fetchall()
    finally:
        c.close()
    assert len(rows) == len(files)
    for row, f in zip(rows, files):
        assert row["version"] == int(re.match(r"(\d+)", f.name).group(1))
        assert row["name"] == f.stem
    assert harness.integrity_check(srv.db_path) == "ok"
    for name in ("products", "orders", "card_keys", "payments"):
        assert name in harness.sqlite_tables(srv.db_path)


def test_serve_migrates_a_fresh_database_itself(make_server):
    srv = make_server(start=False)
    srv.start(migrate=False)
    assert srv.get("/readyz").status == 200
    c = srv.db()
    try:
        assert c.execute("SELECT count(*) FROM schema_migrations").fetchone()[0] == len(harness.migration_files())
    finally:
        c.close()


def test_restart_keeps_data_and_secret(make_server):
    srv = make_server()
    srv.add_admin("erin", "yet another long password")
    secret = srv.secret_path.read_bytes()
    assert srv.stop() == 0
    srv.start()
    assert srv.get("/readyz").status == 200
    assert srv.secret_path.read_bytes() == secret, "secret regenerated: stored keys would be lost"
    c = srv.db()
    try:
        assert c.execute("SELECT count(*) FROM admins").fetchone()[0] == 1
        assert c.execute("SELECT count(*) FROM schema_migrations").fetchone()[0] == len(harness.migration_files())
    finally:
        c.close()


def test_secret_file_created_0600(server):
    st = os.stat(server.secret_path)
    assert stat.S_IMODE(st.st_mode) == 0o600, oct(st.st_mode)
    assert st.st_size > 0


def test_port_in_use_fails_with_a_message(make_server):
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen(1)
        port = blocker.getsockname()[1]
        srv = make_server({"server": {"port": port}}, start=False)
        p = srv.cli("serve", timeout=10)
    assert p.returncode != 0
    assert str(port) in p.stderr, p.stderr


def test_backup_onto_the_live_database_is_refused(server):
    before = server.request("GET", "/readyz")
    assert before.status == 200
    r = server.cli("backup", str(server.db_path))
    assert r.returncode != 0
    assert "live database" in r.stderr
    assert server.request("GET", "/readyz").status == 200
    assert harness.integrity_check(server.db_path) == "ok"


def test_scheduled_backups_are_written_and_pruned(make_server, tmp_path):
    backups = tmp_path / "backups"
    backups.mkdir()
    # Two old backups from earlier runs; with keep = 2 only the newest two files may remain.
    for stamp in ("1700000000", "1700000100"):
        (backups / f"cardshop-{stamp}.db").write_bytes(b"old")
    (backups / "notes.txt").write_text("not a backup")
    srv = make_server({"backup": {"dir": str(backups), "interval": 1, "keep": 2}})
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        fresh = [p for p in backups.glob("cardshop-*.db") if not p.name.startswith("cardshop-1700")]
        if fresh and len(list(backups.glob("cardshop-*.db"))) == 2:
            break
        time.sleep(0.2)
    names = sorted(p.name for p in backups.glob("cardshop-*.db"))
    assert len(names) == 2, names
    assert "cardshop-1700000000.db" not in names
    assert (backups / "notes.txt").exists()
    newest = backups / names[-1]
    assert harness.integrity_check(newest) == "ok"
    assert "orders" in harness.sqlite_tables(newest)
    srv.stop()


def test_sigterm_while_a_write_waits_on_the_database(make_server):
    """A write waits in the blocking pool (its connection suspended) when SIGTERM arrives:
    the pool finishes it and resumes the connection before libmicrohttpd stops, so the client
    gets its answer and the process exits 0 (libmicrohttpd aborts when stopped with a
    suspended connection)."""
    srv = make_server({"database": {"busy_timeout_ms": 3000}, "payment.sandbox": {"enabled": True}})
    db = sqlite3.connect(str(srv.db_path), timeout=5, isolation_level=None)
    db.execute("BEGIN IMMEDIATE")  # every write now waits for this lock
    result = {}

    def post():
        # An order is one write transaction: its BEGIN waits for the lock held above.
        result["r"] = srv.request("POST", "/api/orders", timeout=30, use_cookies=False,
                                  json={"product_id": 999, "quantity": 1, "email": "a@b.example",
                                        "gateway": "sandbox"})
        result["at"] = time.monotonic()

    t = threading.Thread(target=post)
    t0 = time.monotonic()
    t.start()
    time.sleep(1.0)
    srv.proc.send_signal(signal.SIGTERM)
    time.sleep(11)  # past the 10 s grace for in-flight requests
    db.execute("ROLLBACK")
    db.close()
    t.join(30)
    assert "r" in result and result["r"].status == 404, result  # answered, after the lock
    assert result["at"] - t0 >= 11, "the write waited for the lock, past the grace"
    assert srv.wait(20) == 0
    assert "suspended connections" not in srv.log_text()
