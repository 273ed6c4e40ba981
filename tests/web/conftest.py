"""The console's fixtures: a clock the test moves, the app's settings, users, a client
signed in from 10.0.0.1 (tests of the public site define their own ``client``)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import Engine
from starlette.testclient import TestClient

from syndication.settings import Settings
from tests.support.builders import AFTER_WEEK
from tests.support.console import Clock, add_users, client_for


@pytest.fixture
def clock() -> Clock:
    # An hour after the demo week's digest period ended: within max_digest_delay.
    return Clock(AFTER_WEEK - timedelta(hours=0))


@pytest.fixture
def web_settings(settings: Settings) -> Settings:
    return replace(settings, site=replace(settings.site, base_url="http://testserver"))


@pytest.fixture
def app_engine(web_settings: Settings, engine: Engine, clock: Clock) -> Engine:
    add_users(engine, clock.now())
    return engine


@pytest.fixture
def client(web_settings: Settings, app_engine: Engine, clock: Clock) -> Iterator[TestClient]:
    with client_for(web_settings, app_engine, clock) as test_client:
        yield test_client
