"""Mail through a real MTA (Debian's exim4 on a loopback port, STARTTLS with a self-signed
certificate): accepted and spooled with tls_verify = false or with ca_file naming the
certificate, over TLS (exim's log says so); refused with a clear error when the certificate
is checked against the system CAs."""

import pytest

from fakes.exim_mta import EximMTA
from fakes.fixtures import epay  # noqa: F401 (pytest fixture)
from fakes.shop_setup import make_keys, start_shop, wait_until


@pytest.fixture
def mta():
    with EximMTA() as m:
        yield m


def buy(shop):
    keys = make_keys(1, "MTA")
    pid = shop.admin.product(price=990, keys=keys)
    o = shop.order_ok(pid, email="buyer@example.com")
    assert shop.pay(o) == "success"
    return o, keys[0]


def smtp(mta, **kw):
    return {"smtp": {"url": mta.url, "from": "卡密小店 <shop@example.com>", "timeout": 10, **kw}}


@pytest.mark.parametrize("how", ["no_verify", "ca_file"])
def test_mail_lands_at_exim_over_starttls(make_server, epay, mta, how):  # noqa: F811
    tls = {"tls_verify": False} if how == "no_verify" else {"ca_file": str(mta.cert_path)}
    shop = start_shop(make_server, epay=epay, extra=smtp(mta, **tls))
    o, key = buy(shop)
    text = mta.wait_for_message(lambda t: o["order_no"] in t)
    assert "<shop@example.com>" in text and key in text
    assert "buyer@example.com" in text
    msg = EximMTA.parse_spooled(text)  # what a mail client reads: both parts, decoded
    assert msg.get_content_type() == "multipart/alternative"
    assert msg["Content-Language"] == "en"
    plain, html = msg.get_body(("plain",)), msg.get_body(("html",))
    assert plain.get_content_charset() == "utf-8" and html.get_content_charset() == "utf-8"
    assert ("  " + key) in plain.get_content().splitlines()
    assert f">{key}</pre>" in html.get_content()
    assert "卡密小店" in str(msg["From"])
    wait_until(lambda: [j["status"] for j in shop.jobs("order_mail")] == ["done"], 10,
               message="the mail job to be done")
    assert "P=esmtps" in mta.log() and "X=TLS" in mta.log()  # it went over STARTTLS


def test_an_unverifiable_certificate_fails_the_job_clearly(make_server, epay, mta):  # noqa: F811
    shop = start_shop(make_server, epay=epay, extra=smtp(mta))  # tls_verify = true, no ca_file
    o, _ = buy(shop)
    jobs = wait_until(lambda: [j for j in shop.jobs("order_mail") if j["last_error"]], 10,
                      message="the mail job to fail")
    err = jobs[0]["last_error"]
    assert "certificate" in err and "ca_file" in err, err
    assert mta.messages() == []
