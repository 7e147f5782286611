"""Command line: exit codes, usage on errors, one-line messages (API.md, "Command line")."""

import harness
from harness import run_cli


def assert_usage_error(p):
    assert p.returncode != 0, p
    first = p.stderr.splitlines()[0] if p.stderr else ""
    assert first.startswith("cardshop:"), p.stderr
    assert "usage:" in p.stderr, p.stderr
    assert p.stdout == "", "errors go to stderr only"


def test_version_exits_zero_and_names_the_program(cardshop_bin):
    p = run_cli(["--version"])
    assert p.returncode == 0, p.stderr
    assert p.stdout.startswith("cardshop "), p.stdout
    assert len(p.stdout.strip().split()) == 2
    assert p.stderr == ""


def test_help_exits_zero_and_lists_every_command(cardshop_bin):
    p = run_cli(["--help"])
    assert p.returncode == 0, p.stderr
    for word in ("serve", "migrate", "admin add", "backup", "demo", "--version", "--config"):
        assert word in p.stdout, word
    assert p.stderr == ""


def test_unknown_command_is_a_usage_error(cardshop_bin):
    p = run_cli(["bogus"])
    assert_usage_error(p)
    assert "bogus" in p.stderr.splitlines()[0]


def test_unknown_option_is_a_usage_error(cardshop_bin):
    p = run_cli(["--nope"])
    assert_usage_error(p)
    assert "--nope" in p.stderr.splitlines()[0]


def test_no_command_is_a_usage_error(cardshop_bin):
    assert_usage_error(run_cli([]))


def test_config_without_file_argument_is_a_usage_error(cardshop_bin):
    assert_usage_error(run_cli(["--config"]))


def test_backup_without_destination_is_a_usage_error(tmp_path, cardshop_bin):
    srv = harness.CardshopServer(tmp_path)
    p = srv.cli("backup")
    assert_usage_error(p)
    assert not srv.db_path.exists() or harness.sqlite_tables(srv.db_path) == []


def test_serve_with_extra_argument_is_a_usage_error(tmp_path, cardshop_bin):
    p = harness.CardshopServer(tmp_path).cli("serve", "extra")
    assert_usage_error(p)
    assert "extra" in p.stderr


def test_admin_without_add_is_a_usage_error(tmp_path, cardshop_bin):
    assert_usage_error(harness.CardshopServer(tmp_path).cli("admin", "remove", "bob"))


def test_demo_with_bad_port_is_a_usage_error(tmp_path, cardshop_bin):
    p = run_cli(["demo", "--port", "99999"], cwd=tmp_path)
    assert_usage_error(p)
    assert not (tmp_path / "data").exists(), "a refused demo must not create its database"


def test_missing_config_file_fails_with_a_message(tmp_path, cardshop_bin):
    missing = tmp_path / "nonexistent.ini"
    p = run_cli(["--config", str(missing), "serve"], cwd=tmp_path, timeout=10)
    assert p.returncode != 0
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1, p.stderr
    assert str(missing) in lines[0]


def test_missing_config_file_for_migrate_creates_nothing(tmp_path, cardshop_bin):
    p = run_cli(["--config", "/nonexistent/cardshop.ini", "migrate"], cwd=tmp_path)
    assert p.returncode != 0
    assert "/nonexistent/cardshop.ini" in p.stderr
    assert list(tmp_path.iterdir()) == []


def test_migrate_prints_the_count(tmp_path, cardshop_bin):
    srv = harness.CardshopServer(tmp_path)
    p = srv.cli("migrate")
    assert p.returncode == 0, p.stderr
    n = len(harness.migration_files())
    assert p.stdout.strip() == f"{n} migration(s) applied"


def test_admin_add_reads_password_from_stdin(tmp_path, cardshop_bin):
    srv = harness.CardshopServer(tmp_path)
    srv.migrate()
    p = srv.cli("admin", "add", "alice", input="correct horse battery staple\n")
    assert p.returncode == 0, p.stderr
    db = srv.db()
    try:
        row = db.execute("SELECT username, password_hash FROM admins").fetchone()
    finally:
        db.close()
    assert row["username"] == "alice"
    assert "correct horse" not in row["password_hash"], "password stored in clear"
    assert "correct horse" not in p.stdout + p.stderr


def test_admin_add_without_password_fails(tmp_path, cardshop_bin):
    srv = harness.CardshopServer(tmp_path)
    srv.migrate()
    p = srv.cli("admin", "add", "bob", input="")
    assert p.returncode != 0
    assert p.stderr.strip(), "needs a message"
