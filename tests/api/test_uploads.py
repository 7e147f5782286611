"""Uploaded files follow the rows that name them: replacing a product's image or the logo and
deleting a product remove the old file once the change is committed, a file some row still
names stays, and the sweep (first jobs tick after the start, then hourly) removes orphans a
crash left once they are older than 15 minutes, never following a symlink or touching other
names. Backups carry the files their database names, and a restore puts them back."""

import os
import sqlite3
import time

from fakes.fixtures import epay  # noqa: F401 (pytest fixture)
from fakes.shop_setup import start_shop, wait_until

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 40
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 40
WEBP = b"RIFF\x30\x00\x00\x00WEBPVP8 " + b"\x00" * 40
ORPHAN_AGE = 15 * 60


def uploads(shop):
    return shop.srv.db_path.parent / "uploads"


def upload(shop, path, data):
    r = shop.admin.call("POST", path, body=data, headers={"Content-Type": "image/png"})
    assert r.status == 200, r
    return r.json()


def image(shop, pid, data):
    url = upload(shop, f"/api/admin/products/{pid}/image", data)["image_url"]
    return url.rsplit("/", 1)[1]


def served(shop, name):
    return shop.srv.request("GET", f"/uploads/{name}", use_cookies=False)


def test_replaced_and_deleted_images_are_removed_and_named_ones_stay(make_server, epay):  # noqa: F811
    shop = start_shop(make_server, epay=epay)
    a = shop.admin.product(name="A", price=100, keys=1)
    b = shop.admin.product(name="B", price=100, keys=1)
    ordered = shop.admin.product(name="Ordered", price=100, keys=1)
    first_a, name_b, name_o = image(shop, a, PNG), image(shop, b, JPEG), image(shop, ordered, WEBP)
    assert {p.name for p in uploads(shop).iterdir()} == {first_a, name_b, name_o}

    # Replaced: the old file goes, the new one and the other product's stay.
    second_a = image(shop, a, JPEG)
    assert not (uploads(shop) / first_a).exists() and served(shop, first_a).status == 404
    assert (uploads(shop) / second_a).read_bytes() == JPEG
    assert (uploads(shop) / name_b).read_bytes() == JPEG

    # Deleted (never ordered): the row and its file go.
    r = shop.admin.call("DELETE", f"/api/admin/products/{a}")
    assert r.status == 200 and r.json()["deleted"] is True, r
    assert not (uploads(shop) / second_a).exists() and served(shop, second_a).status == 404
    assert served(shop, name_b).status == 200

    # Ordered, then "deleted": only deactivated, so its image is still named and stays.
    shop.order_ok(ordered, 1)
    r = shop.admin.call("DELETE", f"/api/admin/products/{ordered}")
    assert r.status == 200 and r.json()["deactivated"] is True, r
    assert (uploads(shop) / name_o).read_bytes() == WEBP

    # A file two rows name (an old restore, a hand edit) stays while one still names it.
    c = shop.srv.db()
    try:
        c.execute("UPDATE products SET image = ? WHERE id = ?", (name_b, ordered))
        c.commit()
    finally:
        c.close()
    third_b = image(shop, b, PNG)
    assert (uploads(shop) / name_b).read_bytes() == JPEG  # Ordered still names it
    assert (uploads(shop) / third_b).read_bytes() == PNG

    # The logo: replaced and cleared, its files go.
    logo1 = upload(shop, "/api/admin/logo", PNG)["logo_url"].rsplit("/", 1)[1]
    logo2 = upload(shop, "/api/admin/logo", WEBP)["logo_url"].rsplit("/", 1)[1]
    assert not (uploads(shop) / logo1).exists() and (uploads(shop) / logo2).exists()
    assert shop.admin.call("DELETE", "/api/admin/logo").status == 200
    assert not (uploads(shop) / logo2).exists()
    assert {p.name for p in uploads(shop).iterdir()} == {name_b, third_b, name_o}


def test_an_uploads_folder_made_a_symlink_is_not_swept_and_says_so(make_server, tmp_path):
    shop = start_shop(make_server)
    pid = shop.admin.product(name="Linked", price=100, keys=1)
    image(shop, pid, PNG)
    shop.srv.stop()
    up = uploads(shop)
    moved = tmp_path / "elsewhere"
    os.rename(up, moved)
    os.symlink(moved, up)
    orphan = moved / ("e" * 32 + ".png")
    orphan.write_bytes(PNG)
    old = time.time() - ORPHAN_AGE - 60
    os.utime(orphan, (old, old))
    shop.srv.start()
    rec = shop.srv.wait_for_log(lambda e: e.get("msg") == "uploads folder not swept", timeout=10)
    assert rec["error"] == "it is a symlink" and rec["level"] == "warn", rec
    assert orphan.exists(), "nothing is removed through the link"


def test_sweep_removes_old_orphans_only(make_server, tmp_path):
    shop = start_shop(make_server)
    pid = shop.admin.product(name="Kept", price=100, keys=1)
    named = image(shop, pid, PNG)
    shop.srv.stop()
    up = uploads(shop)
    old = time.time() - ORPHAN_AGE - 60
    files = {
        "old_orphan": "a" * 32 + ".png",        # a crash after the commit that dropped it
        "young_orphan": "b" * 32 + ".jpg",      # an upload whose commit may still come
        "old_temp": "." + "c" * 32 + ".webp.tmp",  # a crash in the middle of an upload
        "foreign": "notes.txt",                 # not a name of ours: never touched
    }
    for key, name in files.items():
        (up / name).write_bytes(PNG)
        if key != "young_orphan":
            os.utime(up / name, (old, old))
    os.utime(up / named, (old, old))  # old, but named by the product
    outside = tmp_path / "outside.png"
    outside.write_bytes(PNG)
    link = up / ("d" * 32 + ".png")  # a symlink named like ours: neither followed nor removed
    os.symlink(outside, link)
    os.utime(link, (old, old), follow_symlinks=False)
    shop.srv.start()

    wait_until(lambda: not (up / files["old_orphan"]).exists(), 10, message="old orphan swept")
    wait_until(lambda: not (up / files["old_temp"]).exists(), 10, message="old temp file swept")
    shop.srv.wait_for_log(lambda e: e.get("msg") == "orphan upload removed"
                          and e.get("name") == files["old_temp"])
    assert (up / files["young_orphan"]).exists()
    assert (up / files["foreign"]).exists()
    assert (up / named).read_bytes() == PNG and served(shop, named).status == 200
    assert link.is_symlink() and outside.read_bytes() == PNG
    removed = [e["name"] for e in shop.srv.log_lines() if e.get("msg") == "orphan upload removed"]
    assert sorted(removed) == sorted([files["old_orphan"], files["old_temp"]])


def test_backup_carries_the_images_and_restore_puts_them_back(make_server, tmp_path):
    shop = start_shop(make_server)
    pid = shop.admin.product(name="Pictured", price=100, keys=1)
    pic = image(shop, pid, JPEG)
    logo = upload(shop, "/api/admin/logo", WEBP)["logo_url"].rsplit("/", 1)[1]
    backup = tmp_path / "with-images.db"
    p = shop.srv.cli("backup", str(backup))
    assert p.returncode == 0, p.stderr
    with sqlite3.connect(backup) as c:
        packed = dict(c.execute("SELECT name, data FROM backup_uploads").fetchall())
    assert packed == {pic: JPEG, logo: WEBP}
    assert os.stat(backup).st_mode & 0o777 == 0o600

    # After the backup: the image replaced, the logo cleared, so both files are gone.
    newer = image(shop, pid, PNG)
    assert shop.admin.call("DELETE", "/api/admin/logo").status == 200
    assert not (uploads(shop) / pic).exists() and not (uploads(shop) / logo).exists()
    shop.srv.stop()

    p = shop.srv.cli("restore", str(backup))
    assert p.returncode == 0, p.stderr
    assert (uploads(shop) / pic).read_bytes() == JPEG
    assert os.stat(uploads(shop) / pic).st_mode & 0o777 == 0o600
    # The live database does not carry the files; the kept old one carries its own.
    assert "backup_uploads" not in {r[0] for r in sqlite3.connect(shop.srv.db_path).execute(
        "SELECT name FROM sqlite_master WHERE type = 'table'")}
    kept = [f for f in os.listdir(shop.srv.db_path.parent) if ".before-restore-" in f
            and not f.endswith(("-wal", "-shm"))]
    assert len(kept) == 1, kept
    with sqlite3.connect(shop.srv.db_path.parent / kept[0]) as c:
        assert dict(c.execute("SELECT name, data FROM backup_uploads").fetchall()) == {newer: PNG}

    shop.srv.start()
    product = shop.srv.request("GET", f"/api/products/{pid}", use_cookies=False).json()
    assert product["image_url"] == f"/uploads/{pic}"
    got = served(shop, pic)
    assert got.status == 200 and got.body == JPEG
    cfg = shop.srv.get("/api/config", use_cookies=False).json()
    assert cfg["logo_url"] == f"/uploads/{logo}"
    got = served(shop, logo)
    assert got.status == 200 and got.body == WEBP


def test_a_backup_without_images_restores_as_before(make_server, tmp_path):
    shop = start_shop(make_server)
    shop.admin.product(name="Plain", price=100, keys=1)
    backup = tmp_path / "plain.db"
    assert shop.srv.cli("backup", str(backup)).returncode == 0
    with sqlite3.connect(backup) as c:  # as a backup written before uploads travelled with it
        c.execute("DROP TABLE backup_uploads")
    shop.srv.stop()
    p = shop.srv.cli("restore", str(backup))
    assert p.returncode == 0, p.stderr
    shop.srv.start()
    assert shop.value("SELECT count(*) FROM products") == 1


def test_a_backup_leaves_out_a_file_lost_from_the_disk_and_still_succeeds(make_server, tmp_path):
    shop = start_shop(make_server)
    kept = image(shop, shop.admin.product(name="Kept", price=100, keys=1), PNG)
    lost = image(shop, shop.admin.product(name="Lost", price=100, keys=1), JPEG)
    (uploads(shop) / lost).unlink()  # gone from the disk, still named: not a race to retry
    backup = tmp_path / "partial.db"
    p = shop.srv.cli("backup", str(backup))
    assert p.returncode == 0, p.stderr
    assert "a backup leaves out an upload it cannot read" in p.stderr and lost in p.stderr
    with sqlite3.connect(backup) as c:
        assert dict(c.execute("SELECT name, data FROM backup_uploads").fetchall()) == {kept: PNG}


def test_scheduled_backups_carry_the_images(make_server, tmp_path):
    backups = tmp_path / "backups"
    shop = start_shop(make_server, extra={"backup": {"dir": str(backups), "interval": 1, "keep": 3}})
    pic = image(shop, shop.admin.product(name="Pictured", price=100, keys=1), WEBP)

    def packed():
        for b in sorted(backups.glob("cardshop-*.db"), reverse=True):
            try:  # read-only: a file pruned meanwhile is not created again
                c = sqlite3.connect(f"file:{b}?mode=ro", uri=True)
                rows = dict(c.execute("SELECT name, data FROM backup_uploads").fetchall())
                c.close()
            except sqlite3.OperationalError:
                continue
            if rows:
                return rows
        return None

    assert wait_until(packed, 10, message="a scheduled backup with the image") == {pic: WEBP}
