"""Fixtures for the black-box API suites: a fresh server per test, or a factory for custom
configurations. Every process started here is killed at teardown, whatever the test did."""

import os
import sys
from pathlib import Path

import pytest

TESTS_DIR = Path(__file__).resolve().parent.parent
if str(TESTS_DIR) not in sys.path:
    sys.path.insert(0, str(TESTS_DIR))

import harness  # noqa: E402


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: takes more than a second or two")


@pytest.fixture(scope="session")
def cardshop_bin():
    path = harness.cardshop_bin()
    if not os.access(path, os.X_OK):
        pytest.exit(f"cardshop binary not found at {path}: run `make build/cardshop` or set CARDSHOP_BIN",
                    returncode=4)
    return path


@pytest.fixture
def make_server(tmp_path, cardshop_bin):
    """make_server(config=None, static_dir=None, env=None, start=True, name=None) -> CardshopServer.

    Each call gets its own folder under tmp_path (config, database, secret, log)."""
    servers = []

    def factory(config=None, *, static_dir=None, env=None, start=True, name=None, **kw):
        workdir = tmp_path / (name or f"srv{len(servers)}")
        srv = harness.CardshopServer(workdir, config, static_dir=static_dir, env=env, **kw)
        servers.append(srv)
        if start:
            srv.start()
        return srv

    yield factory
    for srv in servers:
        srv.kill()


@pytest.fixture
def server(make_server):
    """A started server with the default test configuration and a fresh database."""
    return make_server()
