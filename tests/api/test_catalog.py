"""Catalog: categories and products through the admin API (validation, updates, deletion,
audit log) and the public views of them."""

import json
import time

import pytest

USER = "root"
PASSWORD = "correct horse battery staple"
PUBLIC_FIELDS = {"id", "name", "category_id", "price", "currency", "stock", "min_qty", "max_qty",
                 "delivery", "loop", "fields", "image_url", "tiers"}


# ---- helpers --------------------------------------------------------------------------------

def assert_error(r, status, code):
    assert r.status == status, r
    assert r.headers.get("content-type", "").startswith("application/json"), r.headers
    body = r.json()
    assert body["error"]["code"] == code, body
    msg = body["error"]["message"]
    assert isinstance(msg, str) and msg, body
    return msg


class Admin:
    """A signed-in admin (one login per test): requests carry the cookie and the CSRF token."""

    def __init__(self, srv):
        self.srv = srv
        r = srv.post("/api/admin/login", json={"username": USER, "password": PASSWORD})
        assert r.status == 200, r
        self.csrf = r.json()["csrf_token"]

    def call(self, method, path, json=None, body=None, headers=None):
        h = dict(headers or {})
        if method not in ("GET", "HEAD"):
            h.setdefault("X-CSRF-Token", self.csrf)
        return self.srv.request(method, path, json=json, body=body, headers=h)

    def get(self, path):
        return self.call("GET", path)

    def post(self, path, json=None, **kw):
        return self.call("POST", path, json=json, **kw)

    def patch(self, path, json=None, **kw):
        return self.call("PATCH", path, json=json, **kw)

    def delete(self, path):
        return self.call("DELETE", path)

    def category(self, **fields):
        r = self.post("/api/admin/categories", fields)
        assert r.status == 201, r
        return r.json()["id"]

    def product(self, **fields):
        fields.setdefault("name", "Steam 100")
        fields.setdefault("price", 990)
        r = self.post("/api/admin/products", fields)
        assert r.status == 201, r
        return r.json()["id"]

    def keys(self, pid, text):
        r = self.call("POST", f"/api/admin/products/{pid}/keys", body=text,
                      headers={"Content-Type": "text/plain"})
        assert r.status == 200, r
        return r.json()


@pytest.fixture
def admin(make_server):
    srv = make_server()
    srv.add_admin(USER, PASSWORD)
    return Admin(srv)


def rows(srv, sql, args=()):
    c = srv.db()
    try:
        return [tuple(r) for r in c.execute(sql, args).fetchall()]
    finally:
        c.close()


def count(srv, table):
    return rows(srv, f"SELECT count(*) FROM {table}")[0][0]


def audit(srv):
    return rows(srv, "SELECT admin_id, username, action, target, ip FROM audit_log ORDER BY id")


def insert_order(srv, pid):
    """Records an order for product pid straight in the database (the shop's order API is not
    under test here); returns its id."""
    c = srv.db()
    now = int(time.time())
    try:
        with c:
            cur = c.execute(
                "INSERT INTO orders (order_no, product_id, quantity, unit_price, amount, currency,"
                " email, gateway, status, created_at, expires_at) VALUES"
                " (?, ?, 1, 990, 990, 'CNY', 'buyer@example.com', 'sandbox', 'pending', ?, ?)",
                (f"T{pid}{now}{id(c)}", pid, now, now + 900))
            return cur.lastrowid
    finally:
        c.close()


def public_products(srv, query=""):
    r = srv.get("/api/products" + query, use_cookies=False)
    assert r.status == 200, r
    return r.json()["products"]


# ---- categories -----------------------------------------------------------------------------

def test_categories_create_and_public_list_shows_active_ones_in_order(admin):
    srv = admin.srv
    games = admin.category(name="Games", sort=2)
    software = admin.category(name="Software", sort=1)
    hidden = admin.category(name="Hidden", active=False)
    music = admin.category(name="Music 音乐", sort=2)
    assert len({games, software, hidden, music}) == 4
    r = srv.get("/api/categories", use_cookies=False)
    assert r.status == 200
    assert r.headers["content-type"].startswith("application/json")
    assert r.json() == {"categories": [{"id": software, "name": "Software"},
                                       {"id": games, "name": "Games"},
                                       {"id": music, "name": "Music 音乐"}]}
    listed = admin.get("/api/admin/categories").json()["categories"]
    by_id = {c["id"]: c for c in listed}
    assert set(by_id) == {games, software, hidden, music}
    assert by_id[hidden]["active"] is False and by_id[games]["active"] is True
    assert by_id[games]["sort"] == 2


def test_category_update(admin):
    srv = admin.srv
    cid = admin.category(name="Games")
    r = admin.patch(f"/api/admin/categories/{cid}", {"name": "Video games", "sort": 5})
    assert r.status == 200, r
    assert srv.get("/api/categories").json()["categories"] == [{"id": cid, "name": "Video games"}]
    assert admin.patch(f"/api/admin/categories/{cid}", {"active": False}).status == 200
    assert srv.get("/api/categories").json()["categories"] == []
    cat = admin.get("/api/admin/categories").json()["categories"][0]
    assert cat == {"id": cid, "name": "Video games", "sort": 5, "active": False}
    assert_error(admin.patch("/api/admin/categories/9999", {"name": "x"}), 404, "not_found")
    assert_error(admin.patch("/api/admin/categories/abc", {"name": "x"}), 404, "not_found")


@pytest.mark.parametrize("body,field", [
    ({}, "name"),
    ({"name": ""}, "name"),
    ({"name": "x" * 201}, "name"),
    ({"name": "two\nlines"}, "name"),
    ({"name": 7}, "name"),
    ({"name": "ok", "sort": "1"}, "sort"),
    ({"name": "ok", "sort": 1.5}, "sort"),
    ({"name": "ok", "active": "yes"}, "active"),
    ({"name": "ok", "colour": "red"}, "colour"),
])
def test_category_validation(admin, body, field):
    msg = assert_error(admin.post("/api/admin/categories", body), 400, "invalid_request")
    assert field in msg, msg
    assert count(admin.srv, "categories") == 0
    assert count(admin.srv, "audit_log") == 0


def test_category_patch_validation_changes_nothing(admin):
    cid = admin.category(name="Games")
    for body, field in (({"name": ""}, "name"), ({"nmae": "x"}, "nmae"),
                        ({"active": 0}, "active")):
        msg = assert_error(admin.patch(f"/api/admin/categories/{cid}", body), 400,
                           "invalid_request")
        assert field in msg, msg
    assert rows(admin.srv, "SELECT name, active FROM categories") == [("Games", 1)]


# ---- products: create -----------------------------------------------------------------------

def test_product_defaults_and_public_views(admin):
    srv = admin.srv
    pid = admin.product(name="Steam 100", price=990)
    listed = public_products(srv)
    assert listed == [{"id": pid, "name": "Steam 100", "category_id": None, "price": 990,
                       "currency": "CNY", "stock": 0, "min_qty": 1, "max_qty": 0,
                       "delivery": "auto", "loop": False, "fields": [], "image_url": None,
                       "tiers": []}]
    r = srv.get(f"/api/products/{pid}", use_cookies=False)
    assert r.status == 200
    one = r.json()
    assert set(one) == PUBLIC_FIELDS | {"description"}, one
    assert one["description"] == "" and one["price"] == 990 and one["stock"] == 0
    # Stored as the defaults say.
    assert rows(srv, "SELECT min_qty, max_qty, delivery, active, currency FROM products") == \
        [(1, 0, "auto", 1, "CNY")]


def test_product_with_every_field(admin):
    srv = admin.srv
    cat = admin.category(name="Games")
    desc = "Line one\nLine two\twith a tab — and ünïcode ✓"
    pid = admin.product(name="Game pass", price=12345, category_id=cat, description=desc,
                        min_qty=2, max_qty=10, delivery="manual", active=True, sort=-3)
    one = srv.get(f"/api/products/{pid}").json()
    assert one == {"id": pid, "name": "Game pass", "category_id": cat, "price": 12345,
                   "currency": "CNY", "stock": None, "min_qty": 2, "max_qty": 10,
                   "delivery": "manual", "description": desc, "loop": False, "fields": [],
                   "image_url": None, "tiers": []}
    assert public_products(srv)[0]["stock"] is None, "manual delivery: stock is not counted"
    adm = admin.get(f"/api/admin/products/{pid}").json()
    assert adm["sort"] == -3 and adm["active"] is True and adm["description"] == desc


def test_product_currency_comes_from_the_shop_config(make_server):
    srv = make_server({"shop": {"currency": "USD"}})
    srv.add_admin(USER, PASSWORD)
    admin = Admin(srv)
    pid = admin.product(price=500)
    assert srv.get(f"/api/products/{pid}").json()["currency"] == "USD"


def test_product_boundaries_are_accepted(admin):
    srv = admin.srv
    cases = [
        {"name": "x", "price": 0},
        {"name": "p" * 200, "price": 1000000000},
        {"name": "é" * 200, "price": 1},           # 200 characters, 400 bytes
        {"name": "🎮" * 200, "price": 1},          # 200 characters, 800 bytes
        {"name": "d", "price": 1, "description": "d" * 20000},
        {"name": "q", "price": 1, "min_qty": 100000, "max_qty": 100000},
        {"name": "q0", "price": 1, "min_qty": 5, "max_qty": 0},
        {"name": "q1", "price": 1, "min_qty": 3, "max_qty": 3},
        {"name": "c", "price": 1, "category_id": None},
    ]
    ids = []
    for body in cases:
        r = admin.post("/api/admin/products", body)
        assert r.status == 201, (body["name"][:5], r)
        ids.append(r.json()["id"])
    got = {p["id"]: p for p in public_products(srv)}
    for pid, body in zip(ids, cases):
        for k, v in body.items():
            if k != "description":
                assert got[pid][k] == v, (k, got[pid][k], v)
    assert srv.get(f"/api/products/{ids[4]}").json()["description"] == "d" * 20000


@pytest.mark.parametrize("extra,field", [
    ({"name": None}, "name"),
    ({"name": ""}, "name"),
    ({"name": "x" * 201}, "name"),
    ({"name": "é" * 201}, "name"),
    ({"name": "two\nlines"}, "name"),
    ({"name": "carriage\rreturn"}, "name"),
    ({"name": "tab\tinside"}, "name"),
    ({"name": "nul\u0000inside"}, None),      # refused by the JSON parser or by the field check
    ({"name": "bell\u0007"}, "name"),
    ({"name": 42}, "name"),
    ({"price": -1}, "price"),
    ({"price": 1000000001}, "price"),
    ({"price": "990"}, "price"),
    ({"price": 9.9}, "price"),
    ({"price": True}, "price"),
    ({"price": None}, "price"),
    ({"category_id": 0}, "category_id"),
    ({"category_id": "1"}, "category_id"),
    ({"category_id": 9999}, "category_id"),
    ({"description": "d" * 20001}, "description"),
    ({"description": 5}, "description"),
    ({"min_qty": 0}, "min_qty"),
    ({"min_qty": 100001}, "min_qty"),
    ({"min_qty": "1"}, "min_qty"),
    ({"max_qty": -1}, "max_qty"),
    ({"max_qty": 100001}, "max_qty"),
    ({"min_qty": 5, "max_qty": 3}, "max_qty"),
    ({"max_qty": 0.5}, "max_qty"),
    ({"delivery": "email"}, "delivery"),
    ({"delivery": "AUTO"}, "delivery"),
    ({"delivery": 1}, "delivery"),
    ({"active": "true"}, "active"),
    ({"active": 1}, "active"),
    ({"sort": "1"}, "sort"),
    ({"sort": 1.5}, "sort"),
    ({"colour": "red"}, "colour"),
    ({"stock": 5}, "stock"),
    ({"currency": "USD"}, "currency"),
    ({"id": 7}, "id"),
])
def test_product_create_validation(admin, extra, field):
    srv = admin.srv
    body = {"name": "Valid name", "price": 100}
    body.update(extra)
    msg = assert_error(admin.post("/api/admin/products", body), 400, "invalid_request")
    if field:
        assert field in msg, msg
    assert count(srv, "products") == 0
    assert count(srv, "audit_log") == 0


@pytest.mark.parametrize("missing", ["name", "price"])
def test_product_required_fields(admin, missing):
    body = {"name": "Valid name", "price": 100}
    del body[missing]
    msg = assert_error(admin.post("/api/admin/products", body), 400, "invalid_request")
    assert missing in msg, msg
    assert count(admin.srv, "products") == 0


@pytest.mark.parametrize("path,method", [
    ("/api/admin/products", "POST"),
    ("/api/admin/categories", "POST"),
    ("/api/admin/products/{pid}", "PATCH"),
    ("/api/admin/categories/{cid}", "PATCH"),
])
def test_bodies_that_are_not_a_json_object(admin, path, method):
    srv = admin.srv
    cid = admin.category(name="Games")
    pid = admin.product(name="Steam", price=1)
    path = path.format(pid=pid, cid=cid)
    before = (rows(srv, "SELECT * FROM products"), rows(srv, "SELECT * FROM categories"),
              count(srv, "audit_log"))
    good = json.dumps({"name": "Changed", "price": 5} if "products" in path else {"name": "C"})
    for ct in ("text/plain", "application/x-www-form-urlencoded", None):
        h = {"Content-Type": ct} if ct else {}
        r = admin.call(method, path, body=good, headers=h)
        assert_error(r, 415, "unsupported_media_type")
    for raw in ('{"name": "x", ', "not json", "", "[]", '"a string"', "null", "42",
                '{"name": "a", "name": "b"}', b'{"name": "\xff\xfe"}'):
        r = admin.call(method, path, body=raw, headers={"Content-Type": "application/json"})
        assert_error(r, 400, "invalid_request")
    after = (rows(srv, "SELECT * FROM products"), rows(srv, "SELECT * FROM categories"),
             count(srv, "audit_log"))
    assert after == before


def test_json_content_type_with_charset_is_accepted(admin):
    r = admin.post("/api/admin/products", body=json.dumps({"name": "n", "price": 1}),
                   headers={"Content-Type": "application/json; charset=utf-8"})
    assert r.status == 201, r


# ---- products: update -----------------------------------------------------------------------

def test_patch_changes_only_the_given_fields_and_returns_the_product(admin):
    srv = admin.srv
    cat = admin.category(name="Games")
    pid = admin.product(name="Steam 100", price=990, category_id=cat, description="old",
                        min_qty=2, max_qty=5)
    r = admin.patch(f"/api/admin/products/{pid}", {"price": 1290, "description": "new text"})
    assert r.status == 200, r
    p = r.json()
    assert p["id"] == pid and p["price"] == 1290 and p["description"] == "new text"
    assert (p["name"], p["category_id"], p["min_qty"], p["max_qty"], p["delivery"]) == \
        ("Steam 100", cat, 2, 5, "auto")
    pub = srv.get(f"/api/products/{pid}").json()
    assert pub["price"] == 1290 and pub["description"] == "new text" and pub["name"] == "Steam 100"
    r = admin.patch(f"/api/admin/products/{pid}", {"category_id": None, "delivery": "manual",
                                                   "name": "Renamed"})
    assert r.status == 200, r
    pub = srv.get(f"/api/products/{pid}").json()
    assert (pub["category_id"], pub["delivery"], pub["name"], pub["stock"]) == \
        (None, "manual", "Renamed", None)
    assert admin.patch(f"/api/admin/products/{pid}", {}).status == 200
    assert srv.get(f"/api/products/{pid}").json() == pub


def test_patch_unknown_or_bad_id_is_404(admin):
    assert_error(admin.patch("/api/admin/products/4242", {"price": 1}), 404, "not_found")
    for bad in ("abc", "0", "-1", "1.5", "1x"):
        assert_error(admin.patch(f"/api/admin/products/{bad}", {"price": 1}), 404, "not_found")
    assert count(admin.srv, "audit_log") == 0


def test_patch_validation(admin):
    srv = admin.srv
    pid = admin.product(name="Steam", price=990, min_qty=5, max_qty=10)
    before = rows(srv, "SELECT * FROM products")
    cases = [
        ({"max_qty": 3}, "max_qty"),            # below the stored min_qty
        ({"min_qty": 11}, "max_qty"),           # above the stored max_qty
        ({"category_id": 9999}, "category_id"),
        ({"price": -5}, "price"),
        ({"name": None}, "name"),
        ({"name": ""}, "name"),
        ({"unknown": 1}, "unknown"),
        ({"delivery": "post"}, "delivery"),
    ]
    for body, field in cases:
        msg = assert_error(admin.patch(f"/api/admin/products/{pid}", body), 400,
                           "invalid_request")
        assert field in msg, (body, msg)
    assert rows(srv, "SELECT * FROM products") == before
    assert [a[2] for a in audit(srv)] == ["product.create"]
    # Raising both together, or lifting the limit, is fine.
    assert admin.patch(f"/api/admin/products/{pid}", {"min_qty": 20, "max_qty": 30}).status == 200
    assert admin.patch(f"/api/admin/products/{pid}", {"max_qty": 0}).status == 200
    assert srv.get(f"/api/products/{pid}").json()["max_qty"] == 0


def test_deactivated_product_disappears_from_the_shop(admin):
    srv = admin.srv
    keep = admin.product(name="Keep", price=1)
    gone = admin.product(name="Gone", price=1)
    assert admin.patch(f"/api/admin/products/{gone}", {"active": False}).status == 200
    assert [p["id"] for p in public_products(srv)] == [keep]
    assert_error(srv.get(f"/api/products/{gone}"), 404, "not_found")
    adm = admin.get(f"/api/admin/products/{gone}")
    assert adm.status == 200 and adm.json()["active"] is False
    assert {p["id"] for p in admin.get("/api/admin/products").json()["products"]} == {keep, gone}
    assert admin.patch(f"/api/admin/products/{gone}", {"active": True}).status == 200
    assert srv.get(f"/api/products/{gone}").status == 200


def test_inactive_from_creation(admin):
    pid = admin.product(name="Draft", price=1, active=False)
    assert public_products(admin.srv) == []
    assert admin.srv.get(f"/api/products/{pid}").status == 404


# ---- products: delete -----------------------------------------------------------------------

def test_delete_a_never_ordered_product_removes_it_with_its_keys(admin):
    srv = admin.srv
    pid = admin.product(name="Temp", price=1)
    other = admin.product(name="Other", price=1)
    assert admin.keys(pid, "DEL-KEY-1\nDEL-KEY-2\n")["added"] == 2
    assert admin.keys(other, "DEL-KEY-1\n")["added"] == 1
    r = admin.delete(f"/api/admin/products/{pid}")
    assert r.status == 200, r
    assert r.json()["deleted"] is True
    assert_error(admin.get(f"/api/admin/products/{pid}"), 404, "not_found")
    assert_error(srv.get(f"/api/products/{pid}"), 404, "not_found")
    assert rows(srv, "SELECT count(*) FROM products WHERE id = ?", (pid,)) == [(0,)]
    assert rows(srv, "SELECT product_id FROM card_keys") == [(other,)]
    assert audit(srv)[-1][2:4] == ("product.delete", f"product:{pid}")
    assert_error(admin.delete(f"/api/admin/products/{pid}"), 404, "not_found")
    assert_error(admin.delete("/api/admin/products/abc"), 404, "not_found")


def test_delete_an_ordered_product_only_deactivates_it(admin):
    srv = admin.srv
    pid = admin.product(name="Sold before", price=990)
    admin.keys(pid, "ORD-KEY-1\nORD-KEY-2\n")
    insert_order(srv, pid)
    r = admin.delete(f"/api/admin/products/{pid}")
    assert r.status == 200, r
    assert r.json()["deleted"] is False
    assert r.json().get("deactivated") is True
    assert rows(srv, "SELECT active FROM products WHERE id = ?", (pid,)) == [(0,)]
    assert count(srv, "card_keys") == 2, "history must stay"
    assert_error(srv.get(f"/api/products/{pid}"), 404, "not_found")
    assert public_products(srv) == []
    assert admin.get(f"/api/admin/products/{pid}").json()["active"] is False
    assert audit(srv)[-1][2:4] == ("product.deactivate", f"product:{pid}")


# ---- public views ---------------------------------------------------------------------------

def test_public_products_filter_by_category_and_sort(admin):
    srv = admin.srv
    games = admin.category(name="Games")
    soft = admin.category(name="Software")
    g2 = admin.product(name="G2", price=1, category_id=games, sort=2)
    g1 = admin.product(name="G1", price=1, category_id=games, sort=1)
    s1 = admin.product(name="S1", price=1, category_id=soft)
    admin.product(name="G hidden", price=1, category_id=games, active=False)
    loose = admin.product(name="No category", price=1)
    assert [p["id"] for p in public_products(srv, f"?category_id={games}")] == [g1, g2]
    assert [p["id"] for p in public_products(srv, f"?category_id={soft}")] == [s1]
    assert public_products(srv, "?category_id=9999") == []
    assert {p["id"] for p in public_products(srv)} == {g1, g2, s1, loose}
    for p in public_products(srv):
        assert set(p) == PUBLIC_FIELDS, p
    for bad in ("abc", "-1", "1.5"):
        assert_error(srv.get(f"/api/products?category_id={bad}"), 400, "invalid_request")


@pytest.mark.parametrize("path", ["/api/products/999", "/api/products/abc", "/api/products/0",
                                  "/api/products/-1", "/api/products/1x", "/api/products/%20"])
def test_unknown_or_non_numeric_product_is_json_404(admin, path):
    admin.product(name="Exists", price=1)
    assert_error(admin.srv.get(path), 404, "not_found")


def test_public_stock_counts_available_keys_only(admin):
    srv = admin.srv
    pid = admin.product(name="Stocked", price=1)
    assert public_products(srv)[0]["stock"] == 0
    admin.keys(pid, "S-1\nS-2\nS-3\nS-4\n")
    assert public_products(srv)[0]["stock"] == 4
    oid = insert_order(srv, pid)
    c = srv.db()
    try:
        with c:
            ids = [r[0] for r in c.execute("SELECT id FROM card_keys ORDER BY id")]
            c.execute("UPDATE card_keys SET status = 'reserved', order_id = ? WHERE id = ?",
                      (oid, ids[0]))
            c.execute("UPDATE card_keys SET status = 'sold', order_id = ?, sold_at = 1"
                      " WHERE id = ?", (oid, ids[1]))
    finally:
        c.close()
    # A change made outside the server (another process) reaches the in-memory catalog at the
    # jobs thread's next tick (every second): its stock counters are re-read there.
    deadline = time.monotonic() + 5
    while public_products(srv)[0]["stock"] != 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert public_products(srv)[0]["stock"] == 2
    assert srv.get(f"/api/products/{pid}").json()["stock"] == 2
    adm = admin.get(f"/api/admin/products/{pid}").json()
    assert (adm["stock"], adm["reserved"], adm["sold"]) == (2, 1, 1)


def test_public_endpoints_need_no_session(admin):
    srv = admin.srv
    admin.product(name="P", price=1)
    for path in ("/api/categories", "/api/products", "/api/products/1"):
        assert srv.get(path, use_cookies=False).status == 200


# ---- audit log ------------------------------------------------------------------------------

def test_every_catalog_write_is_audited(admin):
    srv = admin.srv
    admin_id = rows(srv, "SELECT id FROM admins WHERE username = ?", (USER,))[0][0]
    cid = admin.category(name="Games")
    admin.patch(f"/api/admin/categories/{cid}", {"sort": 3})
    pid = admin.product(name="Steam", price=990, category_id=cid)
    admin.patch(f"/api/admin/products/{pid}", {"price": 1000})
    r = admin.post("/api/admin/products", {"name": "Proxied", "price": 1},
                   headers={"X-Forwarded-For": "203.0.113.77"})
    assert r.status == 201
    proxied = r.json()["id"]
    assert admin.delete(f"/api/admin/products/{proxied}").status == 200
    # Refused writes leave no trace.
    admin.post("/api/admin/products", {"name": "", "price": 1})
    admin.patch("/api/admin/products/9999", {"price": 1})
    expected = [
        (admin_id, USER, "category.create", f"category:{cid}", "127.0.0.1"),
        (admin_id, USER, "category.update", f"category:{cid}", "127.0.0.1"),
        (admin_id, USER, "product.create", f"product:{pid}", "127.0.0.1"),
        (admin_id, USER, "product.update", f"product:{pid}", "127.0.0.1"),
        (admin_id, USER, "product.create", f"product:{proxied}", "203.0.113.77"),
        (admin_id, USER, "product.delete", f"product:{proxied}", "127.0.0.1"),
    ]
    assert audit(srv) == expected
    # The admin view of the same log: newest first.
    r = admin.get("/api/admin/audit")
    assert r.status == 200, r
    entries = r.json()["entries"]
    assert [(e["username"], e["action"], e["target"], e["ip"]) for e in entries] == \
        [e[1:] for e in reversed(expected)]
    now = time.time()
    assert all(abs(e["created_at"] - now) < 60 for e in entries)
    upd = next(e for e in entries if e["action"] == "product.update")
    assert upd["detail"] == {"price": 1000}


def test_audit_log_pages(admin):
    for i in range(55):
        admin.category(name=f"C{i}")
    first = admin.get("/api/admin/audit").json()["entries"]
    second = admin.get("/api/admin/audit?page=2").json()["entries"]
    assert len(first) + len(second) == 55
    assert len(second) >= 1
    ids = [e["id"] for e in first + second]
    assert ids == sorted(ids, reverse=True) and len(set(ids)) == 55
    assert_error(admin.get("/api/admin/audit?page=0"), 400, "invalid_request")
