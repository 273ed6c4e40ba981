"""Stored digests as people read them: the public archive and the console's page."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from syndication.errors import NotFoundError
from syndication.services.digests import archive
from syndication.settings import Settings
from tests.support.outbox import PERIOD, queue_demo_digest

LIST = "weekly-city"


def test_the_archive_lists_and_shows_each_digest_with_no_placeholder_left(
    settings: Settings, engine: Engine
) -> None:
    report = queue_demo_digest(settings, engine, 2, LIST)
    [(slug, period, subject)] = archive.archive_index(engine)
    assert (slug, period) == (LIST, PERIOD) and subject
    html = archive.archive_copy(settings, engine, LIST, PERIOD)
    assert html is not None and "%%SYNDICATION" not in html
    assert f'href="{settings.site.base_url}/"' in html  # unsubscribe leads home
    assert archive.archive_copy(settings, engine, LIST, "2020-01-06") is None
    assert archive.console_preview(settings, engine, LIST, PERIOD) == html
    with pytest.raises(NotFoundError, match="no such digest"):
        archive.console_preview(settings, engine, LIST, "2020-01-06")
    assert report.queued == 2


def test_the_console_view_is_the_sample_readers_message_and_the_unsent_rows(
    settings: Settings, engine: Engine
) -> None:
    queue_demo_digest(settings, engine, 3, LIST)
    view = archive.digest_view(settings, engine, LIST, PERIOD, ("queued",))
    assert view.status.state == "ready" and view.status.deliveries == {"queued": 3}
    assert [row[:2] for row in view.not_sent] == [
        (f"reader{i}@example.org", "queued") for i in range(3)
    ]
    headers = dict(view.headers)
    assert headers["To"] == "Sample Reader <sample.reader@example.org>"
    assert "SAMPLE-TOKEN-preview-only" in headers["List-Unsubscribe"]
    assert view.list_name == settings.mailing_list(LIST).name
    assert "%%SYNDICATION" not in view.text
    assert 0 < view.html_bytes < view.message_bytes
    assert archive.digest_view(settings, engine, LIST, PERIOD, ("failed",)).not_sent == []
    with pytest.raises(NotFoundError, match="no such digest"):
        archive.digest_view(settings, engine, LIST, "2020-01-06", ("queued",))
