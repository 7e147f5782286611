"""Static files: index, MIME types, ETag/304, Cache-Control, precompressed .gz, and no way out
of static_dir (dot segments in every spelling, dotfiles, symlinks, NUL bytes)."""

import gzip
import os
import time

import pytest

import harness

SECRET = b"TOPSECRET-7c1e0d-do-not-serve"
INDEX = b"<!doctype html><title>test index</title><p>INDEX-MARKER</p>\n"
APP_JS = b"console.log('plain app.js');\n" * 40
APP_JS_GZ_SOURCE = b"console.log('gzipped app.js');\n" * 40


@pytest.fixture
def site(tmp_path):
    """tmp/site/{secret, outside/secret, static/...}; static is the server's static_dir."""
    root = tmp_path / "site"
    static = root / "static"
    (static / "assets").mkdir(parents=True)
    (static / "sub").mkdir()
    (static / "shop").mkdir()
    (static / "empty").mkdir()
    (root / "outside").mkdir()
    (root / "secret").write_bytes(SECRET)
    (root / "outside" / "secret").write_bytes(SECRET)
    (static / "index.html").write_bytes(INDEX)
    (static / "app.js").write_bytes(APP_JS)
    (static / "app.js.gz").write_bytes(gzip.compress(APP_JS_GZ_SOURCE))
    (static / "assets" / "style.css").write_text("body { color: black }\n")
    (static / "assets" / "data.bin").write_bytes(b"\x00\x01\x02")
    (static / "sub" / "index.html").write_text("<p>SUB-INDEX</p>")
    (static / "shop" / "order.html").write_text("<p>ORDER-PAGE</p>")
    (static / ".hidden").write_bytes(SECRET)
    (static / ".git").mkdir()
    (static / ".git" / "config").write_bytes(SECRET)
    os.symlink(root / "secret", static / "link-out.txt")
    os.symlink(root / "outside", static / "linkdir")
    os.symlink(static / "index.html", static / "link-in.html")
    return root


@pytest.fixture
def static_server(make_server, site):
    return make_server(static_dir=site / "static")


def test_root_serves_index_html(static_server):
    r = static_server.get("/")
    assert r.status == 200
    assert r.body == INDEX
    assert r.headers["content-type"].startswith("text/html")
    assert r.headers.get("etag")
    assert "no-cache" in r.headers.get("cache-control", "")


def test_repository_index_is_served_by_default(server):
    r = server.get("/")
    assert r.status == 200
    assert r.headers["content-type"].startswith("text/html")
    assert r.body == (harness.STATIC_DIR / "index.html").read_bytes()


@pytest.mark.parametrize("path,marker", [
    ("/index.html", b"INDEX-MARKER"),
    ("/sub/", b"SUB-INDEX"),
    ("/sub", b"SUB-INDEX"),
    ("/shop/order", b"ORDER-PAGE"),
    ("/shop/order.html", b"ORDER-PAGE"),
    ("/link-in.html", b"INDEX-MARKER"),
])
def test_pages_resolve(static_server, path, marker):
    r = static_server.get(path)
    assert r.status == 200, (path, r)
    assert marker in r.body
    assert r.headers["content-type"].startswith("text/html")


@pytest.mark.parametrize("path,ctype", [
    ("/assets/style.css", "text/css"),
    ("/app.js", "text/javascript"),
    ("/assets/data.bin", "application/octet-stream"),
])
def test_mime_types_and_asset_caching(static_server, path, ctype):
    r = static_server.get(path)
    assert r.status == 200
    assert r.headers["content-type"].startswith(ctype)
    assert "max-age" in r.headers.get("cache-control", "")
    assert r.headers.get("x-content-type-options") == "nosniff"


def test_directory_without_index_is_404_not_a_listing(static_server):
    r = static_server.get("/empty/")
    assert r.status == 404
    assert r.headers["content-type"].startswith("text/html")


def test_head_has_no_body(static_server):
    r = static_server.request("HEAD", "/")
    assert r.status == 200
    assert r.body == b""
    assert r.headers.get("etag")


def test_if_none_match_gives_304(static_server):
    etag = static_server.get("/").headers["etag"]
    r = static_server.get("/", headers={"If-None-Match": etag})
    assert r.status == 304
    assert r.body == b""
    assert r.headers.get("etag") == etag
    r = static_server.get("/", headers={"If-None-Match": f'"nope", {etag}'})
    assert r.status == 304


def test_stale_etag_gives_200(static_server, site):
    etag = static_server.get("/").headers["etag"]
    assert static_server.get("/", headers={"If-None-Match": '"something-else"'}).status == 200
    time.sleep(0.01)
    (site / "static" / "index.html").write_bytes(INDEX + b"<p>changed, and longer</p>")
    r = static_server.get("/", headers={"If-None-Match": etag})
    assert r.status == 200
    assert b"changed" in r.body
    assert r.headers["etag"] != etag


def test_gzip_sibling_served_when_accepted(static_server):
    r = static_server.get("/app.js", headers={"Accept-Encoding": "br, gzip, deflate"})
    assert r.status == 200
    assert r.headers.get("content-encoding") == "gzip"
    assert gzip.decompress(r.body) == APP_JS_GZ_SOURCE
    assert r.headers["content-type"].startswith("text/javascript")
    assert "accept-encoding" in r.headers.get("vary", "").lower()


def test_plain_file_when_gzip_not_accepted(static_server):
    r = static_server.get("/app.js")
    assert r.status == 200
    assert "content-encoding" not in r.headers
    assert r.body == APP_JS
    assert "accept-encoding" in r.headers.get("vary", "").lower()
    r2 = static_server.get("/app.js", headers={"Accept-Encoding": "identity"})
    assert r2.body == APP_JS and "content-encoding" not in r2.headers


def test_gzip_and_plain_have_different_etags(static_server):
    plain = static_server.get("/app.js").headers["etag"]
    gz = static_server.get("/app.js", headers={"Accept-Encoding": "gzip"}).headers["etag"]
    assert plain != gz, "one strong ETag for two encodings breaks caches"


@pytest.mark.parametrize("accept", ["gzip;q=0, identity", "gzip; q=0.000", "identity, gzip;q=0",
                                    "*;q=0", "deflate, br", "x-gzip-not-really", ""])
def test_gzip_refused_or_not_offered_gets_plain(static_server, accept):
    r = static_server.get("/app.js", headers={"Accept-Encoding": accept})
    assert r.status == 200
    assert "content-encoding" not in r.headers, accept
    assert r.body == APP_JS


@pytest.mark.parametrize("accept", ["gzip;q=0.5", "GZIP", "deflate, *", "br;q=1.0, gzip;q=0.1",
                                    "gzip;q=1.0"])
def test_gzip_accepted_spellings(static_server, accept):
    r = static_server.get("/app.js", headers={"Accept-Encoding": accept})
    assert r.status == 200
    assert r.headers.get("content-encoding") == "gzip", accept
    assert gzip.decompress(r.body) == APP_JS_GZ_SOURCE


TRAVERSALS = [
    "/../secret",
    "/%2e%2e/secret",
    "/%2E%2E/secret",
    "/%2E%2E%2Fsecret",
    "/%2e%2e%2f%2e%2e%2fsecret",
    "/assets/../../secret",
    "/assets/..%2f..%2fsecret",
    "/assets/%2e%2e/%2e%2e/secret",
    "/assets/.%2e/.%2e/secret",
    "/..%5csecret",
    "/..\\secret",
    "/.hidden",
    "/%2ehidden",
    "/.git/config",
    "/assets/../.hidden",
    "/link-out.txt",
    "/linkdir/secret",
    "/linkdir/",
    "//secret",
    "/./index.html/../../secret",
    "/%c0%ae%c0%ae/secret",
]


@pytest.mark.parametrize("path", TRAVERSALS)
def test_traversal_is_404_and_never_leaks(static_server, path):
    r = static_server.get(path)
    assert r.status == 404, (path, r)
    assert SECRET not in r.body
    assert r.headers["content-type"].startswith("text/html")


@pytest.mark.parametrize("path", TRAVERSALS[:6])
def test_traversal_over_raw_socket(static_server, path):
    # No client library in the way: the request line goes out byte for byte.
    raw = f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode()
    data = static_server.raw(raw)
    assert SECRET not in data
    r = harness.parse_raw_response(data)
    assert r is not None and r.status == 404, data[:300]


@pytest.mark.parametrize("path", ["/index.html%00.txt", "/index.html%00", "/%00", "/sub%00/"])
def test_nul_in_path_is_refused(static_server, path):
    r = static_server.get(path)
    assert r.status in (400, 404), (path, r)
    assert b"INDEX-MARKER" not in r.body and b"SUB-INDEX" not in r.body
    assert static_server.is_healthy()


def test_absolute_secret_path_is_not_served(static_server, site):
    r = static_server.get(str(site / "secret"))
    assert r.status == 404
    assert SECRET not in r.body
