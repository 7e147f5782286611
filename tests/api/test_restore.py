"""Backups you can restore: `cardshop restore SRC.db` refuses while a server holds the
database, a corrupt file and a newer schema; otherwise it swaps the file and keeps the old one.
The restore drill: a backup taken while buyers are buying, then stop, restore and every order
delivered before the backup is there with its keys. Database, WAL and backups are 0600."""

import os
import sqlite3
import stat
import threading

from fakes.fixtures import epay  # noqa: F401 (pytest fixture)
from fakes.shop_setup import make_keys, start_shop


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def test_restore_refuses_while_a_server_holds_the_database(make_server, tmp_path):
    srv = make_server()
    backup = tmp_path / "b.db"
    assert srv.cli("backup", str(backup)).returncode == 0
    p = srv.cli("restore", str(backup))
    assert p.returncode != 0 and "a server holds the database" in p.stderr, p.stderr
    assert srv.is_healthy()
    srv.stop()
    p = srv.cli("restore", str(backup))
    assert p.returncode == 0, p.stderr


def test_restore_refuses_a_corrupt_file_and_a_newer_schema(make_server, tmp_path):
    srv = make_server()
    good = tmp_path / "good.db"
    assert srv.cli("backup", str(good)).returncode == 0
    srv.stop()
    before = srv.db_path.read_bytes()
    corrupt = tmp_path / "corrupt.db"
    data = bytearray(good.read_bytes())
    data[len(data) // 2:] = b"\xff" * (len(data) - len(data) // 2)  # second half overwritten
    corrupt.write_bytes(bytes(data))
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"not a database at all" * 100)
    newer = tmp_path / "newer.db"
    newer.write_bytes(good.read_bytes())
    with sqlite3.connect(newer) as c:
        c.execute("INSERT INTO schema_migrations (version, name, applied_at) VALUES (9999, 'x', 0)")
    not_ours = tmp_path / "plain.db"
    with sqlite3.connect(not_ours) as c:
        c.execute("CREATE TABLE t (x)")
    for src, words in [(corrupt, "integrity"), (garbage, "integrity"), (newer, "newer schema"),
                       (not_ours, "not a cardshop database"), (tmp_path / "missing.db", "cannot read")]:
        p = srv.cli("restore", str(src))
        assert p.returncode != 0 and words in p.stderr, (src, p.stderr)
    assert srv.db_path.read_bytes() == before  # untouched by every refusal


def test_database_wal_and_backups_are_0600(make_server, tmp_path):
    srv = make_server()
    backup = tmp_path / "b.db"
    assert srv.cli("backup", str(backup), env={}).returncode == 0
    assert mode(srv.db_path) == 0o600
    wal = srv.db_path.with_name(srv.db_path.name + "-wal")
    assert wal.exists() and mode(wal) == 0o600
    assert mode(backup) == 0o600
    srv.stop()
    assert srv.cli("restore", str(backup)).returncode == 0
    assert mode(srv.db_path) == 0o600


def test_an_older_database_readable_by_others_is_made_0600_at_start(make_server):
    srv = make_server()
    srv.stop()
    os.chmod(srv.db_path, 0o644)  # as databases created before files were 0600
    srv.start()
    assert mode(srv.db_path) == 0o600


def test_restore_drill_backup_under_load(make_server, epay, tmp_path):  # noqa: F811
    shop = start_shop(make_server, epay=epay, server={"per_ip_connections": 1000}, threads=4)
    pid = shop.admin.product(price=990, keys=make_keys(400))
    delivered = {}  # order_no -> keys, as the buyer saw them
    lock = threading.Lock()
    stop = threading.Event()
    errors = []

    def buyer():
        try:
            while not stop.is_set():
                o = shop.order_ok(pid)
                assert shop.pay(o) == "success"
                keys = shop.view_ok(o)["keys"]
                with lock:
                    delivered[o["order_no"]] = (o, keys)
        except Exception as e:  # noqa: BLE001 (reported below)
            errors.append(e)

    threads = [threading.Thread(target=buyer) for _ in range(4)]
    for t in threads:
        t.start()
    while True:
        with lock:
            if len(delivered) >= 20 or errors:
                break
        threading.Event().wait(0.05)
    with lock:
        before_backup = dict(delivered)
    backup = tmp_path / "drill.db"
    p = shop.srv.cli("backup", str(backup))
    with lock:
        during = len(delivered) - len(before_backup)
    stop.set()
    for t in threads:
        t.join()
    assert not errors, errors
    assert p.returncode == 0, p.stderr
    shop.srv.stop()

    p = shop.srv.cli("restore", str(backup))
    assert p.returncode == 0, p.stderr
    kept = [f for f in os.listdir(shop.srv.db_path.parent) if ".before-restore-" in f and not f.endswith("-wal")]
    assert len(kept) == 1, os.listdir(shop.srv.db_path.parent)
    with sqlite3.connect(shop.srv.db_path.parent / kept[0]) as c:  # the old one, WAL and all
        assert c.execute("SELECT count(*) FROM orders WHERE status = 'delivered'").fetchone()[0] == len(delivered)
    shop.srv.start()
    for order_no, (o, keys) in before_backup.items():
        v = shop.view_ok(o)
        assert v["status"] == "delivered" and v["keys"] == keys, order_no
    restored = shop.value("SELECT count(*) FROM orders WHERE status = 'delivered'")
    assert len(before_backup) <= restored <= len(delivered), (len(before_backup), restored, during)
    assert shop.value("PRAGMA integrity_check") == "ok"
