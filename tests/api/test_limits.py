"""Body limits and malformed requests. After every abuse the server must still answer /healthz."""

import time

import pytest

import harness

LIMIT = 2048


@pytest.fixture
def small(make_server):
    """A server with [server] max_body = 2048."""
    return make_server({"server": {"max_body": LIMIT}})


def assert_413(r):
    assert r is not None, "no response"
    assert r.status == 413, r
    assert r.error_code() == "payload_too_large", r
    assert r.headers.get("x-request-id")


def chunked(body: bytes, size: int = 256) -> bytes:
    out = b""
    for i in range(0, len(body), size):
        piece = body[i:i + size]
        out += b"%x\r\n%s\r\n" % (len(piece), piece)
    return out + b"0\r\n\r\n"


def post_head(path="/api/echo", extra=b""):
    return (b"POST " + path.encode() + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/json\r\n" + extra)


# ---- body limits -------------------------------------------------------------------------

def test_declared_length_over_limit_answers_413_before_the_body(small):
    # Only the head is sent: the 413 must come without waiting for 100 kB that never arrive.
    t0 = time.monotonic()
    r = small.raw_request(post_head(extra=b"Content-Length: 100000\r\n\r\n"), timeout=5)
    assert time.monotonic() - t0 < 3
    assert_413(r)
    assert small.is_healthy()


def test_full_body_over_limit_is_413(small):
    assert_413(small.post("/api/echo", body=b"x" * (LIMIT + 1), headers={"Content-Type": "application/json"}))
    assert small.is_healthy()


def test_body_at_limit_is_accepted(small):
    r = small.post("/api/echo", body=b"x" * LIMIT, headers={"Content-Type": "application/json"})
    assert r.status == 404 and r.error_code() == "not_found", r


def test_limit_applies_to_page_paths_too(small):
    assert_413(small.post("/some/page", body=b"x" * (LIMIT * 2)))


def test_chunked_body_over_limit_is_413(small):
    req = post_head(extra=b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n") + chunked(b"a" * (LIMIT * 2))
    assert_413(small.raw_request(req))
    assert small.is_healthy()


def test_chunked_body_in_many_small_chunks_over_limit_is_413(small):
    req = post_head(extra=b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n") + chunked(b"b" * (LIMIT + 10), size=7)
    assert_413(small.raw_request(req))


def test_chunked_body_under_limit_is_accepted(small):
    req = post_head(extra=b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n") + chunked(b"c" * (LIMIT - 10))
    r = small.raw_request(req)
    assert r is not None and r.status == 404 and r.error_code() == "not_found", r


def test_chunked_body_sent_slowly_over_limit_is_413(small):
    with small.connect() as s:
        s.sendall(post_head(extra=b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"))
        for _ in range(6):
            s.sendall(b"200\r\n" + b"d" * 0x200 + b"\r\n")
            time.sleep(0.02)
        s.sendall(b"0\r\n\r\n")
        assert_413(harness.parse_raw_response(harness.read_until_close(s, 5)))
    assert small.is_healthy()


def test_default_limit_is_one_mebibyte(server):
    mib = 1024 * 1024
    # Declared too big: refused from the head alone.
    assert_413(server.raw_request(post_head(extra=b"Content-Length: %d\r\n\r\n" % (mib + 1))))
    # Chunked, one byte too many: the whole body is drained, then refused.
    req = post_head(extra=b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n") + chunked(b"e" * (mib + 1), 65536)
    assert_413(server.raw_request(req, timeout=10))
    # Exactly 1 MiB is fine (the unknown endpoint then answers 404).
    r = server.post("/api/echo", body=b"x" * mib, headers={"Content-Type": "application/json"})
    assert r.status == 404 and r.error_code() == "not_found", r


@pytest.mark.parametrize("value", [b"99999999999999999999999", b"-1", b"12abc", b"1, 2"])
def test_unparsable_content_length_is_refused(small, value):
    data = small.raw(post_head(extra=b"Content-Length: " + value + b"\r\n\r\n"), timeout=3)
    if data:
        status = int(data.split(b" ", 2)[1])
        assert 400 <= status < 500, data[:200]
    assert small.is_healthy()


def test_client_vanishing_mid_body_leaves_server_up(small):
    for _ in range(5):
        with small.connect() as s:
            s.sendall(post_head(extra=b"Content-Length: 2000\r\n\r\n") + b"{" * 100)
    assert small.is_healthy()


# ---- malformed requests ------------------------------------------------------------------

MALFORMED = {
    "huge header": b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 100_000 + b"\r\n\r\n",
    "many headers": b"GET /healthz HTTP/1.1\r\nHost: x\r\n"
                    + b"".join(b"X-H%d: %s\r\n" % (i, b"v" * 40) for i in range(3000)) + b"\r\n",
    "huge target": b"GET /" + b"a" * 100_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
    "garbage line": b"GARBAGE\r\n\r\n",
    "no version": b"GET /healthz\r\n\r\n",
    "extra token": b"GET / HTTP/1.1 extra\r\nHost: x\r\n\r\n",
    "bad version": b"GET /healthz HTTP/9.9\r\nHost: x\r\n\r\n",
    "binary": b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + bytes(range(256)),
    "header without colon": b"GET /healthz HTTP/1.1\r\nHost: x\r\nNoColonHere\r\n\r\n",
    "bad chunk size": b"POST /api/x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n",
}


@pytest.mark.parametrize("name", list(MALFORMED))
def test_malformed_request_is_refused_and_server_survives(server, name):
    data = server.raw(MALFORMED[name], timeout=1.5)
    if data:  # answering is optional; closing is fine; a success is not
        status = int(data.split(b" ", 2)[1])
        assert status >= 400, (name, data[:300])
    assert server.is_healthy(), name


def test_huge_header_answers_431_or_closes(server):
    data = server.raw(MALFORMED["huge header"], timeout=3)
    assert data == b"" or data.split(b" ", 2)[1] in (b"400", b"413", b"431"), data[:200]
    assert server.is_healthy()


@pytest.mark.parametrize("path", ["/api/%zz", "/%", "/abc%4", "/api/products%2", "/%g0", "/api/%%30"])
def test_bad_percent_escape_is_400(server, path):
    r = server.get(path)
    assert r.status == 400, (path, r)
    assert r.error_code() == "invalid_request"
    assert r.headers.get("x-request-id")


@pytest.mark.parametrize("path", ["/healthz%00", "/api/x%00y", "/healthz%00.json", "/%00"])
def test_nul_escape_in_path_is_never_routed(server, path):
    r = server.get(path)
    assert r.status in (400, 404), (path, r)
    assert b'"ok"' not in r.body


def test_slow_partial_requests_do_not_block_others(server):
    socks = []
    try:
        for _ in range(8):
            s = server.connect()
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
            socks.append(s)
        t0 = time.monotonic()
        for _ in range(5):
            assert server.get("/healthz").status == 200
        assert time.monotonic() - t0 < 3
    finally:
        for s in socks:
            s.close()


def test_pipelined_requests_are_each_answered(server):
    req = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n" * 3
    req = req + b"GET /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    data = server.raw(req, timeout=5)
    assert data.count(b"HTTP/1.1 200") == 4, data
    assert data.count(b"X-Request-Id:") == 4


def test_keep_alive_connection_serves_several_requests(server):
    with server.connect() as s:
        for i in range(3):
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            data = harness.read_until_close(s, 3, until=b"HTTP/1.1")
            r = harness.parse_raw_response(data)
            assert r.status == 200 and r.json() == {"status": "ok"}, (i, data)
