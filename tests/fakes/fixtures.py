"""pytest fixtures for the fakes; a suite imports the ones it uses:

    from fakes.fixtures import epay, sink  # noqa: F401 (pytest fixtures)
"""

import pytest

from .fake_epay import FakeEPay
from .shop_setup import EPAY_KEY, EPAY_PID
from .smtp_sink import SmtpSink


@pytest.fixture
def epay():
    """A started fake EPay gateway knowing merchant EPAY_PID with EPAY_KEY."""
    gw = FakeEPay(pid=EPAY_PID, key=EPAY_KEY).start()
    yield gw
    gw.stop()


@pytest.fixture
def sink():
    """A started SMTP sink."""
    s = SmtpSink().start()
    yield s
    s.stop()


@pytest.fixture
def idle_sink():
    """An SMTP sink with its port chosen but nothing listening yet (start it in the test)."""
    s = SmtpSink()
    yield s
    s.stop()
