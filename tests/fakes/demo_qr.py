#!/usr/bin/python3
"""`cardshop demo` with the Alipay and WeChat Pay fakes beside it, to see the QR pay page:

    /usr/bin/python3 tests/fakes/demo_qr.py [--port 8080] [--pay-after 8]

Starts both loopback fakes (keys made now, official SDKs; needs `scripts/deps.sh test`), runs
`build/cardshop demo` with [payment.alipay] and [payment.wechat] pointing at them, and plays
the buyer: every QR order is paid at the fake --pay-after seconds after it was created (0:
never), so the pay page moves on to the delivery page by itself. Ctrl-C stops everything."""

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from fakes.fake_qr import FakeAlipay, FakeWeChat, node_available  # noqa: E402


def env_for(section, cfg):
    return {f"CARDSHOP_{section.replace('.', '_').upper()}_{k.upper()}": ("true" if v is True else str(v))
            for k, v in cfg.items()}


def autopay(gateways, delay, stop):
    seen = set()
    while not stop.is_set():
        for gw in gateways:
            for r in gw.requests():
                no = r.get("params", {}).get("biz_content") if gw.kind == "alipay" else r.get("body")
                if not no or (gw.kind == "alipay" and r.get("method") != "alipay.trade.precreate") or (
                        gw.kind == "wechat" and r.get("method") != "POST"):
                    continue
                order_no = json.loads(no)["out_trade_no"]
                if order_no in seen:
                    continue
                seen.add(order_no)
                threading.Timer(delay, lambda g=gw, o=order_no: print(f"[fake {g.kind}] paid {o}: {g.pay(o)}")).start()
        stop.wait(1)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, default=8080)
    ap.add_argument("--pay-after", type=float, default=8)
    args = ap.parse_args()
    why = node_available()
    if why:
        sys.exit(f"demo_qr: {why}")
    work = Path(tempfile.mkdtemp(prefix="cardshop-demo-qr-"))
    alipay, wechat = FakeAlipay(work).start(), FakeWeChat(work).start()
    env = dict(os.environ)
    env.update(env_for("payment.alipay", alipay.shop_config()))
    env.update(env_for("payment.wechat", wechat.shop_config()))
    binary = os.environ.get("CARDSHOP_BIN") or str(HERE.parent.parent / "build" / "cardshop")
    print(f"Alipay fake: {alipay.url}   WeChat Pay fake: {wechat.url}   keys in {work}")
    proc = subprocess.Popen([binary, "demo", "--port", str(args.port)], env=env)
    stop = threading.Event()
    if args.pay_after > 0:
        threading.Thread(target=autopay, args=([alipay, wechat], args.pay_after, stop), daemon=True).start()
    try:
        proc.wait()
    except KeyboardInterrupt:
        proc.send_signal(signal.SIGTERM)
        proc.wait(15)
    finally:
        stop.set()
        alipay.stop()
        wechat.stop()


if __name__ == "__main__":
    main()
