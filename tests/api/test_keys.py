"""Card-key inventory through the admin API: upload parsing and de-duplication, encryption at
rest, masked listing, deletion, export, stock and upload limits."""

import hashlib
import secrets
import threading
import time
from pathlib import Path

import pytest

USER = "root"
PASSWORD = "correct horse battery staple"
TEXT = {"Content-Type": "text/plain"}


# ---- helpers --------------------------------------------------------------------------------

def assert_error(r, status, code):
    assert r.status == status, r
    assert r.headers.get("content-type", "").startswith("application/json"), r.headers
    body = r.json()
    assert body["error"]["code"] == code, body
    assert isinstance(body["error"]["message"], str) and body["error"]["message"], body
    return body["error"]["message"]


class Admin:
    """A signed-in admin (one login per test): requests carry the cookie and the CSRF token."""

    def __init__(self, srv):
        self.srv = srv
        r = srv.post("/api/admin/login", json={"username": USER, "password": PASSWORD})
        assert r.status == 200, r
        self.csrf = r.json()["csrf_token"]

    def call(self, method, path, json=None, body=None, headers=None, **kw):
        h = dict(headers or {})
        if method not in ("GET", "HEAD"):
            h.setdefault("X-CSRF-Token", self.csrf)
        return self.srv.request(method, path, json=json, body=body, headers=h, **kw)

    def get(self, path):
        return self.call("GET", path)

    def delete(self, path):
        return self.call("DELETE", path)

    def product(self, **fields):
        fields.setdefault("name", "Steam 100")
        fields.setdefault("price", 990)
        r = self.call("POST", "/api/admin/products", json=fields)
        assert r.status == 201, r
        return r.json()["id"]

    def upload(self, pid, body, content_type="text/plain", headers=None, **kw):
        h = dict(headers or {})
        if content_type:
            h["Content-Type"] = content_type
        return self.call("POST", f"/api/admin/products/{pid}/keys", body=body, headers=h, **kw)

    def keys(self, pid, body):
        r = self.upload(pid, body)
        assert r.status == 200, r
        return r.json()

    def listing(self, pid, query=""):
        r = self.get(f"/api/admin/products/{pid}/keys{query}")
        assert r.status == 200, r
        return r.json()

    def export(self, pid):
        r = self.get(f"/api/admin/products/{pid}/keys/export")
        assert r.status == 200, r
        return r


def start_admin(make_server, config=None):
    srv = make_server(config)
    srv.add_admin(USER, PASSWORD)
    return Admin(srv)


@pytest.fixture
def admin(make_server):
    return start_admin(make_server)


def rows(srv, sql, args=()):
    c = srv.db()
    try:
        return [tuple(r) for r in c.execute(sql, args).fetchall()]
    finally:
        c.close()


def key_ids(srv, pid):
    return [r[0] for r in rows(srv, "SELECT id FROM card_keys WHERE product_id = ? ORDER BY id",
                               (pid,))]


def set_status(srv, pid, ids, status):
    """Hands keys to an order recorded straight in the database (the order API is not under
    test here): status 'reserved' or 'sold'."""
    c = srv.db()
    now = int(time.time())
    try:
        with c:
            cur = c.execute(
                "INSERT INTO orders (order_no, product_id, quantity, unit_price, amount, currency,"
                " email, gateway, status, created_at, expires_at, paid_at) VALUES"
                " (?, ?, ?, 990, 990, 'CNY', 'buyer@example.com', 'sandbox', ?, ?, ?, ?)",
                (secrets.token_hex(8), pid, len(ids),
                 "delivered" if status == "sold" else "pending", now, now + 900,
                 now if status == "sold" else None))
            oid = cur.lastrowid
            for kid in ids:
                c.execute("UPDATE card_keys SET status = ?, order_id = ?, sold_at = ? WHERE id = ?",
                          (status, oid, now if status == "sold" else None, kid))
    finally:
        c.close()


def stock(srv, pid):
    for p in srv.get("/api/products", use_cookies=False).json()["products"]:
        if p["id"] == pid:
            return p["stock"]
    raise AssertionError(f"product {pid} not listed")


def exported(admin, pid):
    return admin.export(pid).body.decode("utf-8").splitlines()


def raw_db_bytes(srv):
    data = b""
    for suffix in ("", "-wal", "-journal"):
        p = Path(str(srv.db_path) + suffix)
        if p.exists():
            data += p.read_bytes()
    return data


def actions(srv):
    return [r[0] for r in rows(srv, "SELECT action FROM audit_log ORDER BY id")]


# ---- upload parsing -------------------------------------------------------------------------

def test_upload_tolerates_bom_crlf_blank_lines_and_surrounding_blanks(admin):
    pid = admin.product()
    body = (b"\xef\xbb\xbfKEY-AAAA-0001\r\n"
            b"  KEY-AAAA-0002\t\r\n"
            b"\r\n"
            b"\t \n"
            b"\n"
            b"\tKEY-AAAA-0003   \n"
            b"KEY-AAAA-0004")                      # no final line end
    assert admin.keys(pid, body) == {"added": 4, "duplicates": 0, "rejected": 0}
    # Stored trimmed, without the BOM or the CR: the export gives them back exactly.
    assert exported(admin, pid) == ["KEY-AAAA-0001", "KEY-AAAA-0002", "KEY-AAAA-0003",
                                    "KEY-AAAA-0004"]
    assert stock(admin.srv, pid) == 4


def test_empty_and_blank_uploads_add_nothing(admin):
    pid = admin.product()
    assert admin.keys(pid, b"") == {"added": 0, "duplicates": 0, "rejected": 0}
    assert admin.keys(pid, b"\xef\xbb\xbf\r\n\n  \n\t\n") == \
        {"added": 0, "duplicates": 0, "rejected": 0}
    assert key_ids(admin.srv, pid) == []


def test_repeats_within_one_upload_are_duplicates(admin):
    pid = admin.product()
    body = "DUP-1\nDUP-2\nDUP-1\r\n  DUP-1  \nDUP-3\nDUP-2\n"
    assert admin.keys(pid, body) == {"added": 3, "duplicates": 3, "rejected": 0}
    assert sorted(exported(admin, pid)) == ["DUP-1", "DUP-2", "DUP-3"]


def test_keys_already_stored_are_duplicates(admin):
    pid = admin.product()
    assert admin.keys(pid, "OLD-1\nOLD-2\n")["added"] == 2
    assert admin.keys(pid, "OLD-2\nNEW-1\nNEW-1\nOLD-1\n") == \
        {"added": 1, "duplicates": 3, "rejected": 0}
    assert sorted(exported(admin, pid)) == ["NEW-1", "OLD-1", "OLD-2"]
    assert admin.listing(pid)["total"] == 3


def test_keys_are_case_sensitive(admin):
    pid = admin.product()
    assert admin.keys(pid, "abc-key\nABC-KEY\n") == {"added": 2, "duplicates": 0, "rejected": 0}


def test_sold_and_reserved_keys_still_count_as_duplicates(admin):
    srv = admin.srv
    pid = admin.product()
    admin.keys(pid, "SOLD-1\nRESERVED-1\nFREE-1\n")
    sold, reserved, free = key_ids(srv, pid)
    set_status(srv, pid, [sold], "sold")
    set_status(srv, pid, [reserved], "reserved")
    assert admin.keys(pid, "SOLD-1\nRESERVED-1\nFREE-1\nFRESH-1\n") == \
        {"added": 1, "duplicates": 3, "rejected": 0}
    assert len(key_ids(srv, pid)) == 4
    assert rows(srv, "SELECT status FROM card_keys WHERE id = ?", (sold,)) == [("sold",)]


def test_the_same_key_may_belong_to_two_products(admin):
    a = admin.product(name="A")
    b = admin.product(name="B")
    assert admin.keys(a, "SHARED-KEY\nONLY-A\n")["added"] == 2
    assert admin.keys(b, "SHARED-KEY\n") == {"added": 1, "duplicates": 0, "rejected": 0}
    assert sorted(exported(admin, a)) == ["ONLY-A", "SHARED-KEY"]
    assert exported(admin, b) == ["SHARED-KEY"]


def test_long_lines_and_invalid_utf8_are_rejected_and_counted(admin):
    pid = admin.product()
    max_key = b"M" * 4096
    body = b"\n".join([
        b"GOOD-1",
        b"L" * 4097,                      # one byte too long
        max_key,                          # exactly at the limit
        b"BAD-\xff\xfe",                  # not UTF-8 at all
        b"BAD-\xc3\x28",                  # broken two-byte sequence
        b"BAD-\xc0\xaf",                  # overlong encoding
        b"BAD-\xed\xa0\x80",              # UTF-16 surrogate
        "GOOD-ключ-Ω".encode(),           # valid multi-byte UTF-8
        b"GOOD-1",                        # duplicate of the first
    ]) + b"\n"
    assert admin.keys(pid, body) == {"added": 3, "duplicates": 1, "rejected": 5}
    got = exported(admin, pid)
    assert sorted(got) == sorted(["GOOD-1", max_key.decode(), "GOOD-ключ-Ω"])
    detail = rows(admin.srv, "SELECT detail FROM audit_log WHERE action = 'keys.import'")
    assert '"rejected":5' in detail[0][0], detail


def test_rejected_line_is_not_stored_even_partially(admin):
    pid = admin.product()
    assert admin.keys(pid, b"X" * 5000 + b"\n")["rejected"] == 1
    assert key_ids(admin.srv, pid) == []
    assert admin.export(pid).body == b""


def test_upload_needs_text_plain(admin):
    srv = admin.srv
    pid = admin.product()
    for ct in ("application/json", "application/x-www-form-urlencoded", "text/csv",
               "application/octet-stream", None):
        assert_error(admin.upload(pid, "WRONG-TYPE-1\n", content_type=ct), 415,
                     "unsupported_media_type")
    assert key_ids(srv, pid) == []
    assert "keys.import" not in actions(srv)
    r = admin.upload(pid, "RIGHT-TYPE-1\n", content_type="text/plain; charset=utf-8")
    assert r.status == 200 and r.json()["added"] == 1, r


def test_upload_to_an_unknown_product_is_404(admin):
    srv = admin.srv
    admin.product()
    assert_error(admin.upload(9999, "ORPHAN-1\n"), 404, "not_found")
    assert_error(admin.upload("abc", "ORPHAN-1\n"), 404, "not_found")
    assert rows(srv, "SELECT count(*) FROM card_keys") == [(0,)]
    assert "keys.import" not in actions(srv)


def test_upload_is_audited(admin):
    srv = admin.srv
    admin_id = rows(srv, "SELECT id FROM admins")[0][0]
    pid = admin.product()
    admin.upload(pid, "AUD-1\nAUD-2\nAUD-1\n", headers={"X-Forwarded-For": "203.0.113.5"})
    got = rows(srv, "SELECT admin_id, username, action, target, ip, detail FROM audit_log"
                    " WHERE action = 'keys.import'")
    assert len(got) == 1
    assert got[0][:5] == (admin_id, USER, "keys.import", f"product:{pid}", "203.0.113.5")
    assert "AUD-1" not in got[0][5], "the audit detail must not hold keys"
    entries = admin.get("/api/admin/audit").json()["entries"]
    assert entries[0]["action"] == "keys.import"
    assert entries[0]["detail"] == {"added": 2, "duplicates": 1, "rejected": 0}


# ---- encryption at rest ---------------------------------------------------------------------

def test_keys_are_encrypted_at_rest_and_never_logged(admin):
    srv = admin.srv
    a = admin.product(name="A")
    b = admin.product(name="B")
    keys = [f"PLAIN-{secrets.token_hex(6).upper()}-{i:03d}" for i in range(40)]
    keys.append("短い鍵-ÄÖÜ-" + secrets.token_hex(4))
    assert admin.keys(a, "\n".join(keys) + "\n")["added"] == len(keys)
    assert admin.keys(b, keys[0] + "\n")["added"] == 1
    admin.export(a)                     # decrypts them once more
    admin.listing(a)
    raw = raw_db_bytes(srv)
    assert len(raw) > 0
    leaked = [k for k in keys if k.encode() in raw]
    assert not leaked, f"keys in clear in the database files: {leaked[:3]}"
    log = srv.log_text()
    assert not [k for k in keys if k in log], "a card key was written to the log"
    stored = rows(srv, "SELECT product_id, secret, hash FROM card_keys ORDER BY id")
    assert len(stored) == len(keys) + 1
    for (_, secret, h), k in zip(stored, keys):
        # nonce (12) | ciphertext | tag (16)
        assert len(secret) == len(k.encode()) + 28
        assert len(h) == 32
        assert bytes(h) != hashlib.sha256(k.encode()).digest(), "hash must be keyed (HMAC)"
    # The same key under two products: its ciphertexts differ (fresh nonce).
    assert bytes(stored[0][1]) != bytes(stored[-1][1])


# ---- listing --------------------------------------------------------------------------------

def test_listing_masks_keys(admin):
    pid = admin.product()
    keys = ["ABCDEFGHIJKLWXYZ", "SHORT123", "abc", "Ключ-кириллица-1", "0123456789AB"]
    admin.keys(pid, "\n".join(keys))
    r = admin.get(f"/api/admin/products/{pid}/keys")
    assert r.status == 200
    body = r.json()
    assert body["total"] == 5 and body["page"] == 1
    assert len(body["keys"]) == 5
    for k in body["keys"]:
        assert {"id", "masked", "status", "created_at"} <= set(k), k
        assert k["status"] == "available"
        assert abs(k["created_at"] - time.time()) < 60
    masked = {k["id"]: k["masked"] for k in body["keys"]}
    for kid, key in zip(key_ids(admin.srv, pid), keys):
        assert masked[kid] != key
        assert key not in r.text, f"full key {key!r} in the listing"
    assert masked[key_ids(admin.srv, pid)[0]] == "ABCD****WXYZ"


def test_listing_filters_by_status_and_pages(admin):
    srv = admin.srv
    pid = admin.product()
    other = admin.product(name="Other")
    admin.keys(pid, "\n".join(f"PAGE-KEY-{i:04d}" for i in range(150)))
    admin.keys(other, "OTHER-1\n")
    ids = key_ids(srv, pid)
    set_status(srv, pid, ids[:3], "sold")
    set_status(srv, pid, ids[3:5], "reserved")
    first = admin.listing(pid)
    second = admin.listing(pid, "?page=2")
    assert first["total"] == second["total"] == 150
    assert (first["page"], second["page"]) == (1, 2)
    got = [k["id"] for k in first["keys"] + second["keys"]]
    assert sorted(got) == ids, "every key of this product exactly once over the pages"
    assert admin.listing(pid, "?page=3")["keys"] == []
    sold = admin.listing(pid, "?status=sold")
    assert sold["total"] == 3 and sorted(k["id"] for k in sold["keys"]) == ids[:3]
    assert all(k["status"] == "sold" for k in sold["keys"])
    reserved = admin.listing(pid, "?status=reserved")
    assert sorted(k["id"] for k in reserved["keys"]) == ids[3:5]
    assert admin.listing(pid, "?status=available")["total"] == 145
    for q in ("?status=bogus", "?status=SOLD", "?page=0", "?page=abc", "?page=-1"):
        assert_error(admin.get(f"/api/admin/products/{pid}/keys{q}"), 400, "invalid_request")
    assert_error(admin.get("/api/admin/products/9999/keys"), 404, "not_found")


# ---- deletion -------------------------------------------------------------------------------

def test_delete_an_available_key(admin):
    srv = admin.srv
    pid = admin.product()
    admin.keys(pid, "DEL-1\nDEL-2\nDEL-3\n")
    ids = key_ids(srv, pid)
    r = admin.delete(f"/api/admin/products/{pid}/keys/{ids[1]}")
    assert r.status == 200, r
    assert r.json() == {"deleted": True}
    assert key_ids(srv, pid) == [ids[0], ids[2]]
    assert stock(srv, pid) == 2
    assert sorted(exported(admin, pid)) == ["DEL-1", "DEL-3"]
    assert ("keys.delete", f"product:{pid}/key:{ids[1]}") in \
        rows(srv, "SELECT action, target FROM audit_log")
    assert_error(admin.delete(f"/api/admin/products/{pid}/keys/{ids[1]}"), 404, "not_found")
    # Once deleted, it is no longer stored: uploading it again adds it.
    assert admin.keys(pid, "DEL-2\n") == {"added": 1, "duplicates": 0, "rejected": 0}


def test_sold_and_reserved_keys_cannot_be_deleted(admin):
    srv = admin.srv
    pid = admin.product()
    admin.keys(pid, "KEEP-SOLD\nKEEP-RESERVED\n")
    sold, reserved = key_ids(srv, pid)
    set_status(srv, pid, [sold], "sold")
    set_status(srv, pid, [reserved], "reserved")
    before = rows(srv, "SELECT * FROM card_keys ORDER BY id")
    n_audit = len(actions(srv))
    for kid in (sold, reserved):
        assert_error(admin.delete(f"/api/admin/products/{pid}/keys/{kid}"), 409, "conflict")
    assert rows(srv, "SELECT * FROM card_keys ORDER BY id") == before
    assert len(actions(srv)) == n_audit


def test_delete_checks_that_the_key_belongs_to_the_product(admin):
    srv = admin.srv
    a = admin.product(name="A")
    b = admin.product(name="B")
    admin.keys(a, "BELONGS-TO-A\n")
    kid = key_ids(srv, a)[0]
    assert_error(admin.delete(f"/api/admin/products/{b}/keys/{kid}"), 404, "not_found")
    assert_error(admin.delete(f"/api/admin/products/{a}/keys/99999"), 404, "not_found")
    assert_error(admin.delete(f"/api/admin/products/{a}/keys/abc"), 404, "not_found")
    assert key_ids(srv, a) == [kid]


# ---- export ---------------------------------------------------------------------------------

def test_export_gives_exactly_the_unsold_keys_and_is_audited(admin):
    srv = admin.srv
    pid = admin.product()
    other = admin.product(name="Other")
    keys = [f"EXP-{i:02d}" for i in range(6)] + ["EXP-ünï-✓"]
    admin.keys(pid, "\r\n".join(keys))
    admin.keys(other, "NOT-THIS-PRODUCT\n")
    ids = key_ids(srv, pid)
    set_status(srv, pid, ids[:2], "sold")
    r = admin.export(pid)
    assert r.headers["content-type"].startswith("text/plain"), r.headers
    disp = r.headers.get("content-disposition", "")
    assert disp.startswith("attachment") and "filename=" in disp, r.headers
    lines = r.body.decode("utf-8").splitlines()
    assert sorted(lines) == sorted(keys[2:]), lines
    assert "EXP-00" not in r.text and "EXP-01" not in r.text, "sold keys exported"
    assert "NOT-THIS-PRODUCT" not in r.text
    got = rows(srv, "SELECT username, action, target, detail FROM audit_log"
                    " WHERE action = 'keys.export'")
    assert len(got) == 1
    assert got[0][:3] == (USER, "keys.export", f"product:{pid}")
    assert keys[3] not in got[0][3], "the audit detail must not hold keys"
    # The export does not change the inventory.
    assert admin.listing(pid, "?status=available")["total"] == 5


def test_export_of_an_empty_or_unknown_product(admin):
    srv = admin.srv
    pid = admin.product()
    r = admin.export(pid)
    assert r.body == b""
    assert_error(admin.get("/api/admin/products/9999/keys/export"), 404, "not_found")
    assert actions(srv).count("keys.export") == 1


# ---- stock ----------------------------------------------------------------------------------

def test_public_stock_follows_the_inventory(admin):
    srv = admin.srv
    pid = admin.product()
    manual = admin.product(name="Manual", delivery="manual")
    assert stock(srv, pid) == 0
    admin.keys(pid, "STK-1\nSTK-2\nSTK-3\nSTK-4\nSTK-5\n")
    assert stock(srv, pid) == 5
    assert srv.get(f"/api/products/{pid}").json()["stock"] == 5
    admin.keys(pid, "STK-1\nSTK-6\n")
    assert stock(srv, pid) == 6
    ids = key_ids(srv, pid)
    admin.delete(f"/api/admin/products/{pid}/keys/{ids[0]}")
    set_status(srv, pid, [ids[1]], "sold")
    set_status(srv, pid, [ids[2]], "reserved")
    # Written by another process: the in-memory catalog re-reads its counters every second.
    deadline = time.monotonic() + 5
    while stock(srv, pid) != 3 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert stock(srv, pid) == 3
    admin.keys(manual, "MAN-1\n")
    assert stock(srv, manual) is None, "manual delivery: stock is not published"


# ---- size limits and atomicity --------------------------------------------------------------

def chunked(data, size=700):
    out = b""
    for i in range(0, len(data), size):
        part = data[i:i + size]
        out += f"{len(part):x}\r\n".encode() + part + b"\r\n"
    return out + b"0\r\n\r\n"


def test_upload_larger_than_max_upload_is_413(make_server):
    admin = start_admin(make_server, {"server": {"max_upload": 1024}})
    srv = admin.srv
    pid = admin.product()
    small = "".join(f"SMALL-{i:04d}\n" for i in range(90)).encode()  # 990 bytes
    big = "".join(f"BIG-{i:05d}\n" for i in range(150)).encode()     # 1500 bytes
    assert len(small) <= 1024 < len(big)
    assert_error(admin.upload(pid, big), 413, "payload_too_large")
    # Without a Content-Length (chunked), the limit holds too.
    r = admin.upload(pid, chunked(big), headers={"Transfer-Encoding": "chunked"})
    assert_error(r, 413, "payload_too_large")
    assert key_ids(srv, pid) == []
    assert "keys.import" not in actions(srv)
    assert admin.keys(pid, small)["added"] == 90
    r = admin.upload(pid, chunked("CHUNKED-1\nCHUNKED-2\n".encode(), 5),
                     headers={"Transfer-Encoding": "chunked"})
    assert r.status == 200 and r.json()["added"] == 2, r


def test_a_big_upload_is_one_transaction_beyond_the_json_body_limit(admin):
    srv = admin.srv
    pid = admin.product()
    n = 60000
    body = "".join(f"BULK-{i:06d}-{'x' * 12}\n" for i in range(n)).encode()
    assert len(body) > 1048576, "larger than the default JSON body limit"
    seen = set()
    stop = threading.Event()

    def watch():
        c = srv.db()
        try:
            while not stop.is_set():
                seen.add(c.execute("SELECT count(*) FROM card_keys").fetchone()[0])
                time.sleep(0.002)
        finally:
            c.close()

    t = threading.Thread(target=watch)
    t.start()
    try:
        r = admin.upload(pid, body, timeout=60)
    finally:
        time.sleep(0.05)
        stop.set()
        t.join()
    assert r.status == 200, r
    assert r.json() == {"added": n, "duplicates": 0, "rejected": 0}
    assert seen <= {0, n}, f"a reader saw a partial upload: {sorted(seen)[:5]}"
    assert n in seen
    assert stock(srv, pid) == n
    assert actions(srv).count("keys.import") == 1
    assert len({r[0] for r in rows(srv, "SELECT created_at FROM card_keys")}) == 1


def test_concurrent_uploads_store_each_key_once(make_server):
    srv = make_server(threads=8)
    srv.add_admin(USER, PASSWORD)
    admin = Admin(srv)
    pid = admin.product()
    shared = [f"SHARED-{i:04d}" for i in range(200)]
    results = []
    lock = threading.Lock()
    barrier = threading.Barrier(8)

    def upload(n):
        own = [f"OWN-{n}-{i:03d}" for i in range(50)]
        body = "\n".join(shared[n * 25:] + shared[:n * 25] + own) + "\n"
        barrier.wait()
        r = admin.upload(pid, body)
        with lock:
            results.append((r.status, r.json() if r.status == 200 else r.body))

    threads = [threading.Thread(target=upload, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [s for s, _ in results] == [200] * 8, results
    assert sum(b["added"] for _, b in results) == 200 + 8 * 50
    assert sum(b["duplicates"] for _, b in results) == 7 * 200
    assert len(key_ids(srv, pid)) == 600
    assert len(set(exported(admin, pid))) == 600
    assert actions(srv).count("keys.import") == 8
