"""The Python side of the fake Stripe (tests/fakes/stripe/fake_stripe.js, Node.js with the
official `stripe` package, installed by scripts/deps.sh test with `npm ci`).

    st = FakeStripe().start()
    st.url                                  # [payment.stripe] api_url
    st.set(webhook_url=shop.srv.url("/pay/stripe/notify"))
    st.pay(session_id)                      # -> {"session", "sent": [{"status", "body", ...}]}
    st.stop()
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import urllib.request
from pathlib import Path
from typing import Any, Dict, List, Optional

import pytest

HERE = Path(__file__).resolve().parent / "stripe"
SECRET_KEY = "sk_test_51FakeCardshopSecretKey000000000000"
WEBHOOK_SECRET = "whsec_fakeCardshopEndpointSecret0123456789"


def available() -> Optional[str]:
    """None when the fake can run, else why not."""
    if not shutil.which("node"):
        return "node is not installed (scripts/deps.sh test)"
    if not (HERE / "node_modules" / "stripe").is_dir():
        return "the stripe npm package is not installed (scripts/deps.sh test runs npm ci)"
    return None


class FakeStripe:
    def __init__(self, secret_key: str = SECRET_KEY, webhook_secret: str = WEBHOOK_SECRET):
        self.secret_key = secret_key
        self.webhook_secret = webhook_secret
        self.proc: Optional[subprocess.Popen] = None
        self.port = 0

    def start(self) -> "FakeStripe":
        why = available()
        if why:
            pytest.fail(why)
        self.proc = subprocess.Popen(
            ["node", str(HERE / "fake_stripe.js"), "--secret-key", self.secret_key,
             "--webhook-secret", self.webhook_secret, "--port", "0"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
            env={k: v for k, v in os.environ.items() if not k.startswith("CARDSHOP_")})
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("fake stripe did not start: " + self.proc.stderr.read().decode())
        self.port = json.loads(line)["port"]
        return self

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
            self.proc = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _control(self, path: str, body: Optional[Dict[str, Any]] = None, timeout: float = 15) -> Dict[str, Any]:
        data = json.dumps(body or {}).encode()
        req = urllib.request.Request(self.url + "/_control/" + path, data=data, method="POST",
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return json.loads(r.read())

    def set(self, **kw: Any) -> Dict[str, Any]:
        """webhook_url, fail (next N calls answer 500; -1 always; 0 off), slow_ms, refuse."""
        return self._control("config", kw)

    def sessions(self) -> List[Dict[str, Any]]:
        return self._control("sessions")["sessions"]

    def session_for(self, order_no: str) -> Dict[str, Any]:
        for s in self.sessions():
            if s["session"]["client_reference_id"] == order_no:
                return s["session"]
        raise AssertionError(f"no session for {order_no}: {self.sessions()!r}")

    def pay(self, session_id: str, **kw: Any) -> Dict[str, Any]:
        """Marks the session paid and sends its webhook(s); see fake_stripe.js for kw."""
        return self._control("pay", {"session_id": session_id, **kw})

    def send(self, payload: str, **kw: Any) -> Dict[str, Any]:
        """Sends payload as a webhook, signed by the official library unless header= is given."""
        return self._control("send", {"payload": payload, **kw})

    def sign(self, payload: str, **kw: Any) -> str:
        """The Stripe-Signature header the official library makes for payload (not sent)."""
        return self._control("sign", {"payload": payload, **kw})["header"]

    def library_accepts(self, payload: str, header: str) -> bool:
        """Whether stripe.webhooks.constructEvent itself accepts the pair."""
        return self._control("verify", {"payload": payload, "header": header})["ok"]
