"""The documented systemd unit (docs/cardshop.service) and its install steps
(docs/operations.md): the unit verifies, is sandboxed (systemd-analyze security, offline), the
service user can read its config, and optional paths cannot stop it from starting."""

import re
import shutil
import subprocess
from pathlib import Path

import pytest

import harness

REPO = Path(__file__).resolve().parents[2]
UNIT = REPO / "docs" / "cardshop.service"
OPS = REPO / "docs" / "operations.md"
MAX_EXPOSURE = 5.0


def unit_settings():
    """[Service] settings as (key, value) pairs, in order."""
    out, section = [], None
    for line in UNIT.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("["):
            section = line
            continue
        if section == "[Service]":
            k, _, v = line.partition("=")
            out.append((k.strip(), v.strip()))
    return out


@pytest.fixture
def unit_copy(tmp_path):
    """The unit with ExecStart pointing at the binary under test, so verify finds it."""
    analyze = shutil.which("systemd-analyze")
    if not analyze:
        pytest.skip("systemd-analyze not installed")
    text = UNIT.read_text()
    assert "ExecStart=/usr/local/bin/cardshop " in text
    copy = tmp_path / "cardshop.service"
    copy.write_text(text.replace("ExecStart=/usr/local/bin/cardshop ", f"ExecStart={harness.cardshop_bin()} "))
    return analyze, copy


def test_unit_verifies(unit_copy):
    analyze, copy = unit_copy
    r = subprocess.run([analyze, "verify", str(copy)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    # verify prints unknown or misspelt settings as warnings, and still exits 0.
    noise = [l for l in r.stderr.splitlines() if "cardshop.service" in l]
    assert not noise, r.stderr


def test_unit_exposure_is_low(unit_copy):
    analyze, copy = unit_copy
    helptext = subprocess.run([analyze, "security", "--help"], capture_output=True, text=True, timeout=60).stdout
    if "--offline" not in helptext:
        pytest.skip("this systemd-analyze cannot rate a unit file offline")
    r = subprocess.run([analyze, "security", "--offline=yes", str(copy)], capture_output=True, text=True,
                       timeout=60)
    m = re.search(r"Overall exposure level for \S+: ([0-9.]+)", r.stdout)
    assert m, r.stdout + r.stderr
    exposure = float(m.group(1))
    print(f"systemd-analyze security: exposure {exposure}")  # shown with pytest -s
    assert exposure < MAX_EXPOSURE, r.stdout


def test_unit_hardening_and_optional_paths():
    s = unit_settings()
    keys = {k: v for k, v in s}
    assert keys["User"] == "cardshop"
    assert keys["UMask"] == "0077"
    for k, want in [("NoNewPrivileges", "true"), ("ProtectSystem", "strict"), ("ProtectHome", "true"),
                    ("PrivateTmp", "true"), ("PrivateDevices", "true"), ("ProtectKernelTunables", "true"),
                    ("ProtectKernelModules", "true"), ("ProtectKernelLogs", "true"),
                    ("ProtectControlGroups", "true"), ("RestrictNamespaces", "true"),
                    ("LockPersonality", "true"), ("MemoryDenyWriteExecute", "true"),
                    ("RestrictRealtime", "true"), ("SystemCallArchitectures", "native"),
                    ("RestrictAddressFamilies", "AF_INET AF_INET6 AF_UNIX"), ("CapabilityBoundingSet", "")]:
        assert keys.get(k) == want, (k, keys.get(k))
    assert ("SystemCallFilter", "@system-service") in s
    # A missing backup folder must not keep the shop from starting (226/NAMESPACE): "-".
    rw = " ".join(v for k, v in s if k == "ReadWritePaths").split()
    assert "/var/lib/cardshop" in rw and "-/var/backups/cardshop" in rw, rw
    assert all(p.startswith("-") for p in rw if p != "/var/lib/cardshop"), rw
    assert keys["EnvironmentFile"].startswith("-")


def test_install_steps_let_the_service_read_its_config():
    """operations.md installed the INI root:root 0640, which User=cardshop cannot read (the
    service restart-looped). The step must give the group cardshop read access."""
    text = OPS.read_text()
    lines = [l for l in text.splitlines() if "/etc/cardshop/cardshop.ini" in l and l.lstrip().startswith("install ")]
    assert lines, "no install step for the INI"
    for line in lines:
        assert re.search(r"-o root\b", line) and re.search(r"-g cardshop\b", line), line
        assert re.search(r"-m 0?640\b", line), line
    # The folders the unit names exist after the steps, owned by the service user.
    assert re.search(r"install -d [^\n]*-o cardshop[^\n]*/var/lib/cardshop", text)
