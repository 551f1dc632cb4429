"""Fixtures for the connector tests: the fake Zoho server and a Zoho connector pointed at it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from crm_bridge.connectors.zoho import ZohoConnector, ZohoSettings
from tests.fakes.zoho_server import FakeZoho


class FakeClock:
    """A monotonic clock the test moves by hand (the connector's token cache reads it)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        """Move time forward."""
        self.now += seconds


@pytest.fixture(scope="session")
def fake_zoho_server() -> Iterator[FakeZoho]:
    """One fake Zoho server for the test run."""
    server = FakeZoho(expires_in=60)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def fake_zoho(fake_zoho_server: FakeZoho) -> FakeZoho:
    """The fake server, emptied for this test."""
    fake_zoho_server.reset()
    return fake_zoho_server


@pytest.fixture
def zoho_settings(fake_zoho: FakeZoho) -> ZohoSettings:
    """Settings as the KEFU_ZOHO_* variables would give them, aimed at the fake."""
    return ZohoSettings(
        accounts_url=fake_zoho.url,
        api_domain=fake_zoho.url,
        client_id=fake_zoho.client_id,
        client_secret=fake_zoho.client_secret,
        refresh_token=fake_zoho.refresh_token,
    )


@pytest.fixture
def clock() -> FakeClock:
    """A hand-moved clock."""
    return FakeClock()


@pytest.fixture
def zoho(zoho_settings: ZohoSettings, clock: FakeClock) -> Iterator[ZohoConnector]:
    """A Zoho connector talking to the fake."""
    connector = ZohoConnector(zoho_settings, clock=clock)
    yield connector
    connector.close()
