"""Fake Alipay and WeChat Pay v3 gateways on loopback (tests/fakes/gateway_fake.js under Node,
signing and encrypting with the gateways' own npm SDKs), with keys generated per test.

    gw = FakeAlipay(tmp_path).start()
    cfg = gw.shop_config()                  # the [payment.alipay] section for the shop
    gw.mode("slow", delay_ms=3000)          # ok | fail | slow | refuse | bad_sign
    gw.requests()                           # what the shop sent, with "signature_ok"
    gw.pay(order_no)                        # -> {"status": 200, "body": "success"}
    gw.pay(order_no, send=False)            # paid at the gateway, notify withheld
    gw.stop()
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import shutil
import subprocess
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Dict, List, Optional

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

FAKES_DIR = Path(__file__).resolve().parent
NODE_MODULES = FAKES_DIR / "node_modules"


def node_available() -> Optional[str]:
    """Why the Node fakes cannot run here, or None when they can."""
    if not shutil.which("node"):
        return "node is not installed (scripts/deps.sh test)"
    for pkg in ("alipay-sdk", "wechatpay-axios-plugin"):
        if not (NODE_MODULES / pkg).is_dir():
            return f"{pkg} is not installed: run scripts/deps.sh test (npm ci in tests/fakes)"
    return None


def _rsa_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _private_pem(key, pkcs1: bool) -> bytes:
    fmt = serialization.PrivateFormat.TraditionalOpenSSL if pkcs1 else serialization.PrivateFormat.PKCS8
    return key.private_bytes(serialization.Encoding.PEM, fmt, serialization.NoEncryption())


def _public_pem(key) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.PEM,
                                         serialization.PublicFormat.SubjectPublicKeyInfo)


def _public_bare_base64(key) -> bytes:
    der = key.public_key().public_bytes(serialization.Encoding.DER,
                                        serialization.PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(der) + b"\n"


class _NodeFake:
    kind = ""

    def __init__(self, workdir: Path):
        self.dir = Path(workdir) / f"fake-{self.kind}-{secrets.token_hex(3)}"
        self.dir.mkdir(parents=True)
        self.proc: Optional[subprocess.Popen] = None
        self.port = 0

    def _write(self, name: str, data: bytes) -> str:
        p = self.dir / name
        p.write_bytes(data)
        os.chmod(p, 0o600)
        return str(p)

    def start(self):
        conf = self._write("fake.json", json.dumps(self.node_config()).encode())
        self.proc = subprocess.Popen(["node", str(FAKES_DIR / "gateway_fake.js"), conf],
                                     stdout=subprocess.PIPE, stderr=open(self.dir / "fake.log", "wb"))
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("gateway fake did not start: " + (self.dir / "fake.log").read_text())
        self.port = json.loads(line)["port"]
        return self

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _control(self, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base + path, data=data, method="GET" if data is None else "POST",
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return json.loads(r.read())
        except urllib.error.HTTPError as e:
            raise AssertionError(f"fake control {path}: {e.code} {e.read()[:2000]!r}")

    def mode(self, mode: str = "ok", delay_ms: int = 0) -> None:
        self._control("/_control/mode", {"mode": mode, "delay_ms": delay_ms})

    def requests(self) -> List[Dict[str, Any]]:
        return self._control("/_control/requests")["requests"]

    def pay(self, order_no: str, **kw: Any) -> Dict[str, Any]:
        """Plays the buyer paying; sends the signed notify unless send=False. Options: overrides
        (fields changed before signing), tamper (after signing), forge (signed with another key),
        and for WeChat ts_offset, serial, bad_tag, tamper_body."""
        return self._control("/_control/pay", {"order": order_no, **kw})


class FakeAlipay(_NodeFake):
    kind = "alipay"

    def __init__(self, workdir: Path, app_id: str = "2021000000000001"):
        super().__init__(workdir)
        self.app_id = app_id
        merchant, platform = _rsa_key(), _rsa_key()
        # The shop gets its key as PKCS#1 and Alipay's as the bare base64 the console shows.
        self.merchant_private = self._write("app_private_pkcs1.pem", _private_pem(merchant, True))
        self.merchant_private_pkcs8 = self._write("app_private_pkcs8.pem", _private_pem(merchant, False))
        self.merchant_public = self._write("app_public.pem", _public_pem(merchant))
        self.alipay_private = self._write("alipay_private.pem", _private_pem(platform, False))
        self.alipay_public_pem = self._write("alipay_public.pem", _public_pem(platform))
        self.alipay_public_bare = self._write("alipay_public.txt", _public_bare_base64(platform))

    def node_config(self) -> Dict[str, Any]:
        return {"kind": "alipay", "app_id": self.app_id, "merchant_private_key": self.merchant_private,
                "merchant_public_key": self.merchant_public, "alipay_private_key": self.alipay_private,
                "alipay_public_key": self.alipay_public_pem}

    @property
    def url(self) -> str:
        return self.base + "/gateway.do"

    def shop_config(self, **over: Any) -> Dict[str, Any]:
        c = {"enabled": True, "gateway_url": self.url, "app_id": self.app_id,
             "private_key_file": self.merchant_private, "alipay_public_key_file": self.alipay_public_bare}
        c.update(over)
        return c


class FakeWeChat(_NodeFake):
    kind = "wechat"

    def __init__(self, workdir: Path, mchid: str = "1900000109", appid: str = "wxd678efh567hg6787"):
        super().__init__(workdir)
        self.mchid, self.appid = mchid, appid
        self.serial_no = secrets.token_hex(20).upper()
        self.platform_serial = "PUB_KEY_ID_" + secrets.token_hex(8).upper()
        self.apiv3_key = secrets.token_hex(16)  # 32 characters, as WeChat Pay issues it
        merchant, platform = _rsa_key(), _rsa_key()
        self.merchant_private = self._write("apiclient_key.pem", _private_pem(merchant, False))
        self.merchant_public = self._write("apiclient_pub.pem", _public_pem(merchant))
        self.platform_private = self._write("platform_private.pem", _private_pem(platform, False))
        self.platform_public = self._write("platform_public.pem", _public_pem(platform))

    def node_config(self) -> Dict[str, Any]:
        return {"kind": "wechat", "mchid": self.mchid, "appid": self.appid, "serial_no": self.serial_no,
                "platform_serial": self.platform_serial, "apiv3_key": self.apiv3_key,
                "merchant_public_key": self.merchant_public, "platform_private_key": self.platform_private}

    @property
    def url(self) -> str:
        return self.base

    def shop_config(self, **over: Any) -> Dict[str, Any]:
        c = {"enabled": True, "api_url": self.url, "mchid": self.mchid, "appid": self.appid,
             "serial_no": self.serial_no, "private_key_file": self.merchant_private,
             "apiv3_key": self.apiv3_key, "platform_public_key_file": self.platform_public,
             "platform_serial": self.platform_serial}
        c.update(over)
        return c
