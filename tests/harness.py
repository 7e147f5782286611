"""Black-box harness for the cardshop binary.

Standard library only (the suites run under Debian's /usr/bin/python3 with pytest and nothing
else). Reused by every suite that needs a real server: api/, later admin, orders, payments and
browser tests.

    srv = CardshopServer(tmp_dir, config={"shop": {"order_ttl": 120}})
    srv.start()                       # migrate, serve, wait for /healthz
    r = srv.request("GET", "/api/products")
    r.status, r.headers["content-type"], r.json()
    srv.stop()                        # SIGTERM, wait, exit code

The binary is $CARDSHOP_BIN, else <repo>/build/cardshop.
"""

from __future__ import annotations

import errno
import http.client
import json as jsonlib
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import time
import urllib.parse
from pathlib import Path
from typing import Any, Dict, Iterable, List, Mapping, Optional, Tuple, Union

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_BIN = REPO_ROOT / "build" / "cardshop"
STATIC_DIR = REPO_ROOT / "static"
START_TIMEOUT = 10.0  # seconds to wait for /healthz after `serve` starts
STOP_TIMEOUT = 15.0  # seconds to wait for exit after SIGTERM (the server's grace is 10 s)

# Tables the first migration creates; backups and migrations are checked against them.
CORE_TABLES = ("schema_migrations", "categories", "products", "orders", "card_keys",
               "payments", "payment_events", "admins", "sessions", "settings", "jobs")


def cardshop_bin() -> str:
    """Absolute path of the binary under test."""
    return os.environ.get("CARDSHOP_BIN") or str(DEFAULT_BIN)


def migration_files() -> List[Path]:
    return sorted((REPO_ROOT / "migrations").glob("*.sql"))


def free_port(host: str = "127.0.0.1") -> int:
    """A loopback TCP port that was free a moment ago (the caller retries on a race)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def ipv6_loopback_available() -> bool:
    try:
        free_port("::1")
        return True
    except OSError:
        return False


def _exec_retry(fn, *args, **kw):
    """Runs fn (subprocess.run/Popen), retrying for a few seconds while the binary cannot be
    executed because `make` is re-linking it at this very moment (ETXTBSY, EACCES, ENOENT, ENOEXEC)."""
    deadline = time.monotonic() + 5.0
    while True:
        try:
            return fn(*args, **kw)
        except OSError as e:
            if e.errno not in (errno.ETXTBSY, errno.EACCES, errno.ENOENT, errno.ENOEXEC) or time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def run_cli(args: Iterable[str], *, input: Optional[Union[str, bytes]] = None,
            env: Optional[Mapping[str, str]] = None, cwd: Optional[Union[str, Path]] = None,
            timeout: float = 30.0) -> subprocess.CompletedProcess:
    """Runs the binary with args; text stdout/stderr. env entries are added to a clean copy of
    the environment with every CARDSHOP_* variable removed (so the caller's shell cannot leak
    overrides into a test); a None value removes a variable."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("CARDSHOP_")}
    for k, v in (env or {}).items():
        if v is None:
            full_env.pop(k, None)
        else:
            full_env[k] = str(v)
    if isinstance(input, str):
        input = input.encode()
    p = _exec_retry(subprocess.run, [cardshop_bin(), *[str(a) for a in args]], input=input,
                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=full_env,
                    cwd=str(cwd) if cwd else None, timeout=timeout)
    return subprocess.CompletedProcess(p.args, p.returncode, p.stdout.decode("utf-8", "replace"),
                                       p.stderr.decode("utf-8", "replace"))


def write_ini(path: Union[str, Path], sections: Mapping[str, Mapping[str, Any]]) -> Path:
    """Writes an INI file; booleans become true/false, None values are skipped."""
    lines = []
    for section, keys in sections.items():
        lines.append(f"[{section}]")
        for k, v in keys.items():
            if v is None:
                continue
            if isinstance(v, bool):
                v = "true" if v else "false"
            lines.append(f"{k} = {v}")
        lines.append("")
    path = Path(path)
    path.write_text("\n".join(lines))
    return path


def solve_challenge(token: str, difficulty: int) -> str:
    """The X-Challenge value for a proof-of-work token: "token:nonce" where SHA-256 of it
    starts with at least difficulty zero bits (docs/api.md)."""
    import hashlib
    need = 256 - difficulty
    nonce = 0
    while True:
        answer = f"{token}:{nonce}"
        if int.from_bytes(hashlib.sha256(answer.encode()).digest(), "big") >> need == 0:
            return answer
        nonce += 1


class Headers:
    """Case-insensitive, multi-valued response headers."""

    def __init__(self, items: Iterable[Tuple[str, str]]):
        self._items = list(items)

    def get(self, name: str, default: Optional[str] = None) -> Optional[str]:
        name = name.lower()
        for k, v in self._items:
            if k.lower() == name:
                return v
        return default

    def get_all(self, name: str) -> List[str]:
        name = name.lower()
        return [v for k, v in self._items if k.lower() == name]

    def __getitem__(self, name: str) -> str:
        v = self.get(name)
        if v is None:
            raise KeyError(name)
        return v

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.get(name) is not None

    def items(self) -> List[Tuple[str, str]]:
        return list(self._items)

    def __repr__(self) -> str:
        return f"Headers({self._items!r})"


class Response:
    def __init__(self, status: int, reason: str, headers: Headers, body: bytes):
        self.status = status
        self.reason = reason
        self.headers = headers
        self.body = body

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def json(self) -> Any:
        return jsonlib.loads(self.body.decode("utf-8"))

    def error_code(self) -> Optional[str]:
        """The `error.code` of a JSON error body, else None."""
        try:
            return self.json()["error"]["code"]
        except (ValueError, KeyError, TypeError):
            return None

    def __repr__(self) -> str:
        return f"<Response {self.status} {self.body[:200]!r}>"


def parse_raw_response(data: bytes) -> Optional[Response]:
    """Parses the first HTTP response in raw bytes read from a socket (None when empty)."""
    if not data:
        return None
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("iso-8859-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    status = int(parts[1])
    reason = parts[2] if len(parts) > 2 else ""
    items = []
    for line in lines[1:]:
        k, _, v = line.partition(":")
        items.append((k.strip(), v.strip()))
    headers = Headers(items)
    cl = headers.get("content-length")
    if cl is not None:
        body = body[:int(cl)]
    return Response(status, reason, headers, body)


class ServerError(RuntimeError):
    pass


class CardshopServer:
    """One cardshop process with its own config, database, secret and log, under workdir.

    config: {"section": {"key": value}} merged over the harness defaults; a None value drops a
    default key. static_dir: defaults to the repository's static/. env: extra environment for
    every command (CARDSHOP_* overrides)."""

    def __init__(self, workdir: Union[str, Path], config: Optional[Mapping[str, Mapping[str, Any]]] = None,
                 *, static_dir: Optional[Union[str, Path]] = None, env: Optional[Mapping[str, str]] = None,
                 threads: int = 2, cookies: bool = True, host: str = "127.0.0.1"):
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.extra_config = {s: dict(kv) for s, kv in (config or {}).items()}
        self.static_dir = Path(static_dir) if static_dir else STATIC_DIR
        self.env = dict(env or {})
        self.threads = threads
        self.use_cookies = cookies
        self.cookies: Dict[str, str] = {}
        self.port = 0
        self.host = host  # listen address and the address the harness talks to
        self.proc: Optional[subprocess.Popen] = None
        self.returncode: Optional[int] = None
        self.config_path = self.workdir / "cardshop.ini"
        self.db_path = self.workdir / "data" / "shop.db"
        self.secret_path = self.workdir / "data" / "secret.key"
        self.log_path = self.workdir / "server.log"
        self.stdout_path = self.workdir / "server.out"
        self._log_file = None
        self._out_file = None

    # ---- configuration -------------------------------------------------------------------
    def sections(self) -> Dict[str, Dict[str, Any]]:
        base: Dict[str, Dict[str, Any]] = {
            "server": {
                "listen": self.host,
                "port": self.port or 8080,
                "static_dir": str(self.static_dir),
                "base_url": f"http://{self._host_in_url()}:{self.port or 8080}",
                "threads": self.threads,
            },
            "database": {"path": str(self.db_path)},
            "security": {"secret_file": str(self.secret_path)},
            "smtp": {"url": "smtp://127.0.0.1:9"},  # discard port: never a real mail server
            # Tests buy many times from one address and one email; the hoarding caps have their
            # own tests (test_hoarding.py), which set the real default back.
            "shop": {"pending_per_client": 100000},
        }
        for section, keys in self.extra_config.items():
            merged = base.setdefault(section, {})
            for k, v in keys.items():
                if v is None:
                    merged.pop(k, None)
                else:
                    merged[k] = v
        return base

    def _host_in_url(self) -> str:
        return f"[{self.host}]" if ":" in self.host else self.host

    def write_config(self) -> Path:
        return write_ini(self.config_path, self.sections())

    def _env(self) -> Dict[str, str]:
        return dict(self.env)

    # ---- commands ------------------------------------------------------------------------
    def cli(self, *args: str, input: Optional[Union[str, bytes]] = None,
            env: Optional[Mapping[str, str]] = None, timeout: float = 30.0) -> subprocess.CompletedProcess:
        """Runs `cardshop --config <this config> args...` (writes the config first)."""
        if not self.port:
            self.port = free_port(self.host)
        self.write_config()
        merged = self._env()
        merged.update(env or {})
        return run_cli(["--config", str(self.config_path), *args], input=input, env=merged,
                       cwd=self.workdir, timeout=timeout)

    def migrate(self) -> subprocess.CompletedProcess:
        p = self.cli("migrate")
        if p.returncode != 0:
            raise ServerError(f"migrate failed ({p.returncode}): {p.stderr}")
        return p

    def add_admin(self, username: str, password: str) -> subprocess.CompletedProcess:
        p = self.cli("admin", "add", username, input=password + "\n")
        if p.returncode != 0:
            raise ServerError(f"admin add failed ({p.returncode}): {p.stderr}")
        return p

    # ---- lifecycle -----------------------------------------------------------------------
    def start(self, *, migrate: bool = True, attempts: int = 3, port: Optional[int] = None) -> "CardshopServer":
        """Runs `migrate`, then `serve`, and waits until /healthz answers 200.

        port: talk to this port instead of a fresh free one (e.g. when the environment or the
        config overrides [server] port); then there is a single attempt."""
        if self.proc is not None:
            raise ServerError("already started")
        last_error = ""
        for _ in range(1 if port else attempts):
            self.port = port or free_port(self.host)
            if migrate:
                self.migrate()
            else:
                self.write_config()
            if self._spawn_and_wait():
                return self
            last_error = self.log_text()
            # A lost race for the port: try another one; anything else is reported now.
            if "cannot listen" not in last_error and "cannot start HTTP" not in last_error:
                break
        raise ServerError(f"cardshop did not become healthy; exit={self.returncode}\n{last_error}")

    def _spawn_and_wait(self) -> bool:
        full_env = {k: v for k, v in os.environ.items() if not k.startswith("CARDSHOP_")}
        full_env.update(self._env())
        self._close_files()
        self._log_file = open(self.log_path, "ab")
        self._out_file = open(self.stdout_path, "ab")
        self.returncode = None
        self.proc = _exec_retry(subprocess.Popen,
                                [cardshop_bin(), "--config", str(self.config_path), "serve"],
                                stdin=subprocess.DEVNULL, stdout=self._out_file,
                                stderr=self._log_file, env=full_env, cwd=str(self.workdir))
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self.returncode = self.proc.returncode
                self.proc = None
                return False
            try:
                r = self.request("GET", "/healthz", timeout=1.0, use_cookies=False)
                if r.status == 200:
                    return True
            except OSError:
                pass
            time.sleep(0.03)
        self.kill()
        return False

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def signal(self, sig: int = signal.SIGTERM) -> None:
        assert self.proc is not None
        self.proc.send_signal(sig)

    def wait(self, timeout: float = STOP_TIMEOUT) -> int:
        """Waits for the process to exit (TimeoutExpired if it does not)."""
        assert self.proc is not None
        self.returncode = self.proc.wait(timeout=timeout)
        self.proc = None
        self._close_files()
        return self.returncode

    def stop(self, timeout: float = STOP_TIMEOUT) -> Optional[int]:
        """SIGTERM and wait; kills it if it does not exit in time. Returns the exit code
        (negative: killed by that signal)."""
        if self.proc is None:
            return self.returncode
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise ServerError(f"cardshop did not exit within {timeout} s of SIGTERM")

    def kill(self) -> None:
        """Ends the process for sure (teardown path)."""
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.kill()
            try:
                self.returncode = self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
            self.proc = None
        self._close_files()

    def _close_files(self) -> None:
        for f in (self._log_file, self._out_file):
            if f is not None:
                f.close()
        self._log_file = self._out_file = None

    def __enter__(self) -> "CardshopServer":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.kill()

    # ---- logs ----------------------------------------------------------------------------
    def log_text(self) -> str:
        try:
            return self.log_path.read_text("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def log_lines(self) -> List[Dict[str, Any]]:
        """Every stderr line parsed as JSON; a line that is not JSON raises ValueError."""
        out = []
        for line in self.log_text().splitlines():
            if line.strip():
                try:
                    out.append(jsonlib.loads(line))
                except ValueError as e:
                    raise ValueError(f"log line is not JSON: {line!r}") from e
        return out

    def wait_for_log(self, pred, timeout: float = 5.0) -> Dict[str, Any]:
        """The first log record matching pred, waiting for it to be written."""
        deadline = time.monotonic() + timeout
        while True:
            for rec in self.log_lines():
                if pred(rec):
                    return rec
            if time.monotonic() > deadline:
                raise AssertionError(f"no matching log line in:\n{self.log_text()}")
            time.sleep(0.05)

    # ---- HTTP ----------------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        return f"http://{self._host_in_url()}:{self.port}"

    def url(self, path: str = "/") -> str:
        return self.base_url + path

    def connect(self, timeout: float = 10.0) -> socket.socket:
        return socket.create_connection((self.host, self.port), timeout=timeout)

    def request(self, method: str, path: str, body: Optional[Union[bytes, str]] = None,
                headers: Optional[Mapping[str, str]] = None, json: Any = None,
                timeout: float = 10.0, use_cookies: Optional[bool] = None) -> Response:
        """One request on a fresh connection. path is sent verbatim (no normalisation of
        `..` or percent escapes). json= serialises and sets Content-Type."""
        hdrs = dict(headers or {})
        if json is not None:
            body = jsonlib.dumps(json)
            if not any(k.lower() == "content-type" for k in hdrs):
                hdrs["Content-Type"] = "application/json"
        if isinstance(body, str):
            body = body.encode("utf-8")
        cookies_on = self.use_cookies if use_cookies is None else use_cookies
        if cookies_on and self.cookies and not any(k.lower() == "cookie" for k in hdrs):
            hdrs["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        conn = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
        try:
            conn.putrequest(method, path, skip_host=any(k.lower() == "host" for k in hdrs),
                            skip_accept_encoding=True)
            if body is not None and not any(k.lower() in ("content-length", "transfer-encoding") for k in hdrs):
                hdrs["Content-Length"] = str(len(body))
            for k, v in hdrs.items():
                conn.putheader(k, v)
            try:
                conn.endheaders(body)
            except (BrokenPipeError, ConnectionResetError):
                # The server answered early (e.g. 413 on Content-Length) and closed while the
                # body was still going out: its reply is usually still readable.
                pass
            resp = conn.getresponse()
            data = resp.read()
            r = Response(resp.status, resp.reason, Headers(resp.getheaders()), data)
        finally:
            conn.close()
        if cookies_on:
            self._store_cookies(r)
        return r

    def get(self, path: str, **kw: Any) -> Response:
        return self.request("GET", path, **kw)

    def post(self, path: str, **kw: Any) -> Response:
        return self.request("POST", path, **kw)

    def _store_cookies(self, r: Response) -> None:
        for sc in r.headers.get_all("set-cookie"):
            pair = sc.split(";", 1)[0]
            name, _, value = pair.partition("=")
            name = name.strip()
            attrs = sc.lower()
            if not value or "max-age=0" in attrs or "expires=thu, 01 jan 1970" in attrs:
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = value.strip()

    def raw(self, data: bytes, *, timeout: float = 5.0, shutdown_write: bool = False) -> bytes:
        """Sends raw bytes on a new connection and returns everything read until the server
        closes or timeout passes (a reset counts as the end)."""
        with self.connect(timeout) as s:
            try:
                s.sendall(data)
                if shutdown_write:
                    s.shutdown(socket.SHUT_WR)
            except OSError:
                pass
            return read_until_close(s, timeout)

    def raw_request(self, data: bytes, **kw: Any) -> Optional[Response]:
        return parse_raw_response(self.raw(data, **kw))

    def is_healthy(self) -> bool:
        try:
            return self.request("GET", "/healthz", timeout=3.0, use_cookies=False).status == 200
        except OSError:
            return False

    # ---- database ------------------------------------------------------------------------
    def db(self) -> sqlite3.Connection:
        """A separate sqlite3 connection to the server's database (caller closes it)."""
        c = sqlite3.connect(str(self.db_path), timeout=10)
        c.row_factory = sqlite3.Row
        return c


def read_until_close(s: socket.socket, timeout: float = 5.0, until: Optional[bytes] = None) -> bytes:
    """Reads until EOF, a reset, the deadline, or (when `until` is given) a complete response
    whose head contains it and whose Content-Length is satisfied."""
    s.settimeout(0.2)
    deadline = time.monotonic() + timeout
    chunks = b""
    while time.monotonic() < deadline:
        try:
            b = s.recv(65536)
        except socket.timeout:
            if until is not None and _complete(chunks):
                break
            continue
        except OSError as e:
            if e.errno in (errno.ECONNRESET, errno.EPIPE):
                break
            raise
        if not b:
            break
        chunks += b
        if until is not None and _complete(chunks):
            break
    return chunks


def _complete(data: bytes) -> bool:
    if b"\r\n\r\n" not in data:
        return False
    r = parse_raw_response(data)
    cl = r.headers.get("content-length") if r else None
    if cl is None:
        return False
    head_len = data.index(b"\r\n\r\n") + 4
    return len(data) - head_len >= int(cl)


def sqlite_tables(path: Union[str, Path]) -> List[str]:
    c = sqlite3.connect(str(path))
    try:
        return [r[0] for r in c.execute("SELECT name FROM sqlite_master WHERE type='table'")]
    finally:
        c.close()


def integrity_check(path: Union[str, Path]) -> str:
    c = sqlite3.connect(str(path))
    try:
        return c.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        c.close()


def copy_static(dest: Union[str, Path]) -> Path:
    """A private copy of the repository's static/ that a test may change."""
    dest = Path(dest)
    shutil.copytree(STATIC_DIR, dest)
    return dest


def query(path: str, **params: Any) -> str:
    return path + "?" + urllib.parse.urlencode(params)
