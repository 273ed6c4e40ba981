"""``syndication articles retract`` as an operator runs it: the one retraction reason
policy (trimmed, capped, no control characters), optional here as it always was."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import Engine, select

from syndication.services.articles import import_articles
from syndication.store import database as db
from syndication.store.models import Article
from tests.support.builders import FIXED_NOW, article_json
from tests.support.processes import syndication


def test_retract_takes_the_one_reason_policy(
    engine: Engine, database_url: str, tmp_path: Path
) -> None:
    lines: list[str | bytes] = [json.dumps(article_json(i)) for i in ("smg-1", "smg-2")]
    import_articles(
        engine, lines, source="t", known_topics={"international-relations"}, now=lambda: FIXED_NOW
    )

    def retract(*args: str) -> tuple[int, str, str]:
        done = syndication("articles", "retract", *args, cwd=tmp_path, database_url=database_url)
        return done.returncode, done.stdout.strip(), done.stderr.strip()

    code, _, error = retract("smg-1", "--reason", "Wrong\x1b[31m date")
    assert code == 2  # bad input, as for every InputError
    assert error.startswith("error: the retraction reason contains the control character U+001B")
    assert retract("smg-1", "--reason", "  Wrong\n date " + "x" * 3000)[:2] == (
        0,
        "article smg-1 retracted",
    )
    assert retract("smg-2") == (0, "article smg-2 retracted", "")
    with db.read_session(engine) as session:
        reasons = dict(session.execute(select(Article.source_id, Article.retraction_reason)).all())
    assert reasons == {"smg-1": ("Wrong date " + "x" * 3000)[:2000], "smg-2": ""}
