"""Owner and staff admins: roles, the owner-only routes, the last owner, disabled admins and
password changes ending sessions, all in the audit log."""

import pytest

from team_helpers import NO_CHALLENGE, OWNER, OWNER_PW, Admin, error_code, login

STAFF, STAFF_PW = "clerk", "clerk password 1"

# Every route staff may not use, with a body where it takes one.
OWNER_ROUTES = [
    ("GET", "/api/admin/admins", None),
    ("POST", "/api/admin/admins", {"username": "x", "password": "long enough pw"}),
    ("PATCH", "/api/admin/admins/1", {"active": False}),
    ("GET", "/api/admin/settings", None),
    ("PATCH", "/api/admin/settings", {"shop.name": "Staff shop"}),
    ("GET", "/api/admin/products/1/keys/export", None),
    ("GET", "/api/admin/gateways", None),
    ("PATCH", "/api/admin/shop", {"notice": "staff notice"}),
    ("DELETE", "/api/admin/logo", None),
]


@pytest.fixture
def team(make_server):
    srv = make_server(NO_CHALLENGE)
    srv.add_admin(OWNER, OWNER_PW)  # the command line makes owners
    owner = Admin(srv, OWNER, OWNER_PW)
    r = owner.call("POST", "/api/admin/admins",
                   {"username": STAFF, "password": STAFF_PW, "role": "staff"})
    assert r.status == 201, r
    return srv, owner, r.json()["id"]


def admins_by_name(owner):
    r = owner.call("GET", "/api/admin/admins")
    assert r.status == 200, r
    return {a["username"]: a for a in r.json()["admins"]}


def test_roles_listed_and_staff_refused_on_every_owner_route(team):
    srv, owner, staff_id = team
    listed = admins_by_name(owner)
    assert listed[OWNER]["role"] == "owner" and listed[OWNER]["active"] is True
    assert listed[STAFF] == {**listed[STAFF], "role": "staff", "active": True, "totp": False,
                             "id": staff_id}
    pid = owner.call("POST", "/api/admin/products", {"name": "P", "price": 100}).json()["id"]
    assert pid == 1
    staff = Admin(srv, STAFF, STAFF_PW)
    assert staff.call("GET", "/api/admin/session").json()["role"] == "staff"
    for method, path, body in OWNER_ROUTES:
        r = staff.call(method, path, body)
        assert r.status == 403 and error_code(r) == "forbidden", (method, path, r)
    # Nothing changed by the refused writes, and the owner still may do each.
    assert admins_by_name(owner)[OWNER]["active"] is True
    assert owner.call("GET", "/api/admin/settings").status == 200
    assert owner.call("GET", "/api/admin/products/1/keys/export").status == 200
    # Staff keep the day-to-day work.
    assert staff.call("GET", "/api/admin/orders").status == 200
    assert staff.call("POST", "/api/admin/products", {"name": "Q", "price": 5}).status == 201


def test_admin_create_validates(team):
    _, owner, _ = team
    r = owner.call("POST", "/api/admin/admins", {"username": STAFF, "password": "another pw 1"})
    assert r.status == 409, r
    r = owner.call("POST", "/api/admin/admins", {"username": "short", "password": "123456789"})
    assert r.status == 400 and "password" in r.json()["error"]["message"], r
    r = owner.call("POST", "/api/admin/admins", {"username": "bad name", "password": "long enough pw"})
    assert r.status == 400, r
    r = owner.call("POST", "/api/admin/admins",
                   {"username": "boss", "password": "long enough pw", "role": "king"})
    assert r.status == 400, r
    r = owner.call("POST", "/api/admin/admins", {"username": "helper", "password": "long enough pw"})
    assert r.status == 201, r
    assert admins_by_name(owner)["helper"]["role"] == "staff"  # the default role


def test_last_active_owner_cannot_be_disabled_or_demoted(team):
    srv, owner, staff_id = team
    me = admins_by_name(owner)[OWNER]["id"]
    for change in ({"active": False}, {"role": "staff"}):
        r = owner.call("PATCH", f"/api/admin/admins/{me}", change)
        assert r.status == 409 and error_code(r) == "conflict", r
    assert admins_by_name(owner)[OWNER]["role"] == "owner"
    # With a second owner, the first may step down; then the second is the last one.
    assert owner.call("PATCH", f"/api/admin/admins/{staff_id}", {"role": "owner"}).status == 200
    assert owner.call("PATCH", f"/api/admin/admins/{me}", {"role": "staff"}).status == 200
    second = Admin(srv, STAFF, STAFF_PW)
    r = second.call("PATCH", f"/api/admin/admins/{staff_id}", {"active": False})
    assert r.status == 409, r
    # The demoted owner lost the owner routes at once, in the session it already had.
    assert owner.call("GET", "/api/admin/admins").status == 403
    assert owner.call("PATCH", "/api/admin/admins/999", {"active": False}).status == 403
    assert second.call("PATCH", "/api/admin/admins/999", {"active": False}).status == 404


def test_disabled_admin_session_ends_at_once(team):
    srv, owner, staff_id = team
    staff = Admin(srv, STAFF, STAFF_PW)
    assert staff.signed_in()
    r = owner.call("PATCH", f"/api/admin/admins/{staff_id}", {"active": False})
    assert r.status == 200, r
    assert not staff.signed_in()
    assert staff.call("POST", "/api/admin/categories", {"name": "x"}).status == 401
    r = login(srv, STAFF, STAFF_PW)
    assert r.status == 401 and error_code(r) == "unauthorized", r
    assert admins_by_name(owner)[STAFF]["active"] is False
    # Enabled again: the same password works, the old session stays dead.
    assert owner.call("PATCH", f"/api/admin/admins/{staff_id}", {"active": True}).status == 200
    assert not staff.signed_in()
    assert Admin(srv, STAFF, STAFF_PW).signed_in()
    actions = [r[0] for r in srv.db().execute(
        "SELECT action FROM audit_log WHERE target = ? ORDER BY id", (STAFF,))]
    assert actions == ["admin.create", "admin.update", "admin.update"]


def test_password_change_ends_other_sessions(team):
    srv, _, _ = team
    here = Admin(srv, STAFF, STAFF_PW)
    other = Admin(srv, STAFF, STAFF_PW)
    r = here.call("POST", "/api/admin/password", {"current": "wrong one!!", "new": "brand new pw 2"})
    assert r.status == 400 and "current" in r.json()["error"]["message"], r
    r = here.call("POST", "/api/admin/password", {"current": STAFF_PW, "new": "too short"})
    assert r.status == 400, r
    assert other.signed_in()
    r = here.call("POST", "/api/admin/password", {"current": STAFF_PW, "new": "brand new pw 2"})
    assert r.status == 200, r
    assert here.signed_in() and not other.signed_in()
    assert login(srv, STAFF, STAFF_PW).status == 401
    assert login(srv, STAFF, "brand new pw 2").status == 200
    rows = srv.db().execute("SELECT username, action FROM audit_log WHERE action = 'admin.password'")
    assert list(map(tuple, rows)) == [(STAFF, "admin.password")]


def test_existing_admins_became_owners(make_server):
    # An admin made before roles existed (by the command line) is an owner.
    srv = make_server(NO_CHALLENGE)
    srv.add_admin("old", "old admin password")
    rows = srv.db().execute("SELECT role FROM admins").fetchall()
    assert [tuple(r) for r in rows] == [("owner",)]
