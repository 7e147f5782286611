"""The client behind a proxy: every X-Forwarded-For line counts, and the per-client connection
limit counts the resolved client, never the proxy (nor lets one client starve another)."""

import harness


def held_request(srv, xff):
    """A POST whose headers are in and whose body never comes: one request in flight for xff.
    The 100 Continue proves the server has begun (and counted) it."""
    s = srv.connect()
    s.sendall(b"POST /api/orders HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
              b"Content-Length: 10\r\nExpect: 100-continue\r\nX-Forwarded-For: " + xff.encode() +
              b"\r\n\r\n")
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = s.recv(4096)
        assert chunk, head
        head += chunk
    assert head.startswith(b"HTTP/1.1 100"), head
    return s


def keepalive_get(s, path, xff):
    s.sendall(b"GET " + path.encode() + b" HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Forwarded-For: " +
              xff.encode() + b"\r\n\r\n")
    r = harness.parse_raw_response(harness.read_until_close(s, 10.0, until=b"HTTP/1.1"))
    assert r is not None
    return r


def open_served(srv, tries=200):
    """A keep-alive connection that has been served once (so the server has counted it)."""
    for _ in range(tries):
        s = srv.connect()
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        r = harness.parse_raw_response(harness.read_until_close(s, 10.0, until=b"HTTP/1.1"))
        if r is not None and r.status == 200:
            return s
        s.close()
    raise AssertionError("no connection was accepted")


def test_every_forwarded_for_line_counts(make_server):
    """A proxy that appends its own header line: the client's own first line (claiming
    127.0.0.1, which may read /metrics) must not decide."""
    srv = make_server({"server": {"trusted_proxies": "127.0.0.1", "metrics_allow": "127.0.0.1"}})
    raw = (b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
           b"X-Forwarded-For: 127.0.0.1\r\nX-Forwarded-For: 203.0.113.5\r\n\r\n")
    r = srv.raw_request(raw)
    assert r is not None and r.status == 403, r
    rid = r.headers["x-request-id"]
    assert srv.wait_for_log(lambda l: l.get("req_id") == rid)["ip"] == "203.0.113.5"
    # The same lines the other way round: 127.0.0.1 is trusted, so 203.0.113.5 is the client.
    raw2 = raw.replace(b"127.0.0.1\r\nX-Forwarded-For: 203.0.113.5",
                       b"203.0.113.5\r\nX-Forwarded-For: 127.0.0.1")
    r2 = srv.raw_request(raw2)
    assert r2 is not None and r2.status == 403, r2


def test_many_clients_behind_one_proxy_are_not_one_client(make_server):
    """per_ip_connections = 2, and six clients each hold a connection through the proxy
    (127.0.0.1): before, the proxy was the client and the third connection was refused."""
    srv = make_server({"server": {"trusted_proxies": "127.0.0.1", "per_ip_connections": 2}})
    socks = [srv.connect() for _ in range(6)]
    try:
        for i, s in enumerate(socks):
            assert keepalive_get(s, "/healthz", f"198.51.100.{i + 1}").status == 200
    finally:
        for s in socks:
            s.close()


def test_one_client_past_its_limit_gets_429_and_another_does_not(make_server):
    srv = make_server({"server": {"trusted_proxies": "127.0.0.1", "per_ip_connections": 2}})
    held = [held_request(srv, "198.51.100.7") for _ in range(2)]
    try:
        r = srv.get("/healthz", headers={"X-Forwarded-For": "198.51.100.7"})
        assert r.status == 429, r
        assert r.error_code() == "too_many_connections"
        assert r.headers.get("retry-after") == "1"
        # A client-supplied address in front of the proxy's does not escape the limit...
        r = srv.get("/healthz", headers={"X-Forwarded-For": "10.0.0.1, 198.51.100.7"})
        assert r.status == 429, r
        # ...and another client behind the same proxy is served.
        assert srv.get("/healthz", headers={"X-Forwarded-For": "198.51.100.8"}).status == 200
    finally:
        for s in held:
            s.close()
    # The held requests ended with their connections: the client is served again.
    deadline_tries = 200
    while deadline_tries and srv.get("/healthz", headers={"X-Forwarded-For": "198.51.100.7"}).status != 200:
        deadline_tries -= 1
    assert deadline_tries > 0, "the in-flight count was not released"


def test_direct_peer_connection_limit_still_holds(make_server):
    """Not behind a trusted proxy, per_ip_connections still counts the peer's connections."""
    srv = make_server({"server": {"trusted_proxies": "192.0.2.1", "per_ip_connections": 3}})
    socks = []
    try:
        # The start-up health checks' connections are released as the server sees them close.
        for _ in range(3):
            socks.append(open_served(srv))
        with srv.connect() as extra:
            try:
                extra.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            except OSError:
                pass
            assert harness.read_until_close(extra, 5.0) == b""  # refused at accept
    finally:
        for s in socks:
            s.close()
    tries = 200
    while tries and not srv.is_healthy():
        tries -= 1
    assert tries > 0, "closed connections were not released"
