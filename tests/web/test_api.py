"""The push API (POST/DELETE /api/articles) through the real app, on every backend."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
from sqlalchemy import Engine, select
from starlette.testclient import TestClient

from syndication.settings import ImportSettings, Settings
from syndication.store import api_keys
from syndication.store import articles as store
from syndication.store import database as db
from syndication.store.models import ApiKey, Article, AuditEvent
from syndication.web.app import create_app
from syndication.web.security import ClientRateLimiter
from tests.support.builders import FIXED_NOW, article_json

NDJSON = {"content-type": "application/x-ndjson"}


@pytest.fixture
def key(engine: Engine) -> str:
    with db.write_session(engine) as session:
        return api_keys.create_key(session, "cms", FIXED_NOW, None)


@pytest.fixture
def client(settings: Settings, engine: Engine) -> Iterator[TestClient]:
    app = create_app(settings, engine, api_limit=ClientRateLimiter(5, 60))
    with TestClient(app) as test_client:
        yield test_client


def body(*articles: dict[str, Any]) -> bytes:
    return "".join(json.dumps(a) + "\n" for a in articles).encode()


def auth(key: str) -> dict[str, str]:
    return {**NDJSON, "authorization": f"Bearer {key}"}


def test_push_inserts_then_is_idempotent(client: TestClient, key: str, engine: Engine) -> None:
    payload = body(article_json("cms-1"), {"id": "cms-2"}, article_json("cms-3"))
    first = client.post("/api/articles", content=payload, headers=auth(key))
    assert first.status_code == 200
    assert first.json() == {
        "inserted": 2,
        "updated": 0,
        "unchanged": 0,
        "rejected": [{"line": 2, "field": "title", "reason": "missing"}],
    }
    with db.read_session(engine) as session:
        seq = store.current_change_seq(session)
    again = client.post("/api/articles", content=payload, headers=auth(key))
    assert again.json()["unchanged"] == 2 and again.json()["inserted"] == 0
    with db.read_session(engine) as session:
        assert store.current_change_seq(session) == seq


def test_missing_and_bad_keys_are_401(client: TestClient, key: str, engine: Engine) -> None:
    payload = body(article_json("cms-1"))
    missing = client.post("/api/articles", content=payload, headers=NDJSON)
    assert missing.status_code == 401
    assert missing.headers["www-authenticate"].startswith("Bearer")
    wrong = client.post("/api/articles", content=payload, headers=auth(key + "x"))
    assert wrong.status_code == 401 and "invalid_token" in wrong.headers["www-authenticate"]
    with db.write_session(engine) as session:
        api_keys.revoke_key(session, "cms", FIXED_NOW)
    revoked = client.post("/api/articles", content=payload, headers=auth(key))
    assert revoked.status_code == 401
    with db.read_session(engine) as session:
        assert session.scalars(select(Article)).first() is None
        stored = session.scalars(select(ApiKey.key_hash)).one()
    assert key not in stored and stored == api_keys.hash_key(key)


def test_too_large_wrong_type_and_rate_limit(client: TestClient, key: str) -> None:
    big = b"x" * (10 * 1024 * 1024 + 1)
    assert client.post("/api/articles", content=big, headers=auth(key)).status_code == 413
    typed = {"authorization": f"Bearer {key}", "content-type": "text/plain"}
    assert client.post("/api/articles", content=b"{}", headers=typed).status_code == 415
    answers = [
        client.post("/api/articles", content=b"", headers=auth(key)).status_code for _ in range(5)
    ]
    assert answers[-1] == 429  # five per minute in this test, two used above
    limited = client.post("/api/articles", content=b"", headers=auth(key))
    assert limited.status_code == 429 and int(limited.headers["retry-after"]) >= 1


def test_delete_retracts_and_404s(client: TestClient, key: str, engine: Engine) -> None:
    client.post("/api/articles", content=body(article_json("cms:42")), headers=auth(key))
    gone = client.delete("/api/articles/cms:42", headers=auth(key))
    assert gone.status_code == 200 and gone.json()["retracted"] is True
    with db.read_session(engine) as session:
        row = session.scalars(select(Article).where(Article.source_id == "cms:42")).one()
    assert row.status == "retracted"
    with db.read_session(engine) as session:
        recorded = session.scalars(select(AuditEvent)).one()
    assert (recorded.actor, recorded.source, recorded.action, recorded.subject_key) == (
        "API key cms",
        "system",
        "article-retract",
        "cms:42",
    )
    assert client.delete("/api/articles/nope", headers=auth(key)).status_code == 404
    assert client.delete("/api/articles/cms:42").status_code == 401


def test_delete_takes_the_one_retraction_reason_policy(
    client: TestClient, key: str, engine: Engine
) -> None:
    client.post("/api/articles", content=body(article_json("cms:7")), headers=auth(key))
    bad = client.delete("/api/articles/cms:7", params={"reason": "a\x00b"}, headers=auth(key))
    assert bad.status_code == 400
    assert "control character U+0000" in bad.json()["error"]
    long = " Wrong\n figures " + "x" * 3000
    done = client.delete("/api/articles/cms:7", params={"reason": long}, headers=auth(key))
    assert done.status_code == 200 and done.json()["changed"] is True
    with db.read_session(engine) as session:
        row = session.scalars(select(Article).where(Article.source_id == "cms:7")).one()
    assert row.status == "retracted"
    assert row.retraction_reason == ("Wrong figures " + "x" * 3000)[:2000]


def test_a_pushed_language_is_a_bcp47_tag_or_a_rejection_naming_it(
    settings: Settings, engine: Engine, key: str
) -> None:
    # Issue 26 item 6: the push API takes the import's rule; the valid line beside is kept.
    with TestClient(create_app(settings, engine)) as client:
        answer = client.post(
            "/api/articles",
            content=body(
                article_json("cms-1", language="korean"), article_json("cms-2", language="KO")
            ),
            headers=auth(key),
        )
    assert answer.status_code == 200
    (rejected,) = answer.json()["rejected"]
    assert rejected["field"] == "language" and "not a BCP 47 language tag" in rejected["reason"]
    with db.read_session(engine) as session:
        assert [a.language for a in session.scalars(select(Article))] == ["ko"]


def test_pushed_articles_keep_to_the_import_limits(
    settings: Settings, engine: Engine, key: str
) -> None:
    # Issue 15 item 12: limits hold wherever articles enter, the push API included.
    limited = replace(settings, imports=ImportSettings(max_title_chars=20))
    with TestClient(create_app(limited, engine)) as client:
        answer = client.post(
            "/api/articles",
            content=body(article_json("cms-1", title="A title far longer than twenty")),
            headers=auth(key),
        )
    assert answer.status_code == 200
    (rejected,) = answer.json()["rejected"]
    assert rejected["field"] == "title" and "20" in rejected["reason"]
    with db.read_session(engine) as session:
        assert session.scalars(select(Article)).first() is None


# -- issue 27 item 7: scoped keys, the documented 10 MB, JSON for every error -------------


def test_a_key_for_source_a_gets_403_json_for_source_bs_articles(
    client: TestClient, key: str, engine: Engine
) -> None:
    with db.write_session(engine) as session:
        partner = api_keys.create_key(session, "partner", FIXED_NOW, "partner")
    client.post("/api/articles", content=body(article_json("cms:1")), headers=auth(key))
    hijack = body(article_json("partner:1"), article_json("cms:1", title="Hijacked"))
    refused = client.post("/api/articles", content=hijack, headers=auth(partner))
    assert refused.status_code == 403 and refused.headers["content-type"] == "application/json"
    assert (
        refused.json()["line"] == 2
        and "may write only source 'partner'" in (refused.json()["error"])
    )
    with db.read_session(engine) as session:
        titles = {
            r.source_id: r.title for r in session.execute(select(Article.source_id, Article.title))
        }
    assert titles == {"cms:1": "Article cms:1"}  # nothing of the refused body was written
    deleted = client.delete("/api/articles/cms:1", headers=auth(partner))
    assert deleted.status_code == 403 and "error" in deleted.json()
    mine = client.post(
        "/api/articles", content=body(article_json("partner:1")), headers=auth(partner)
    )
    assert mine.status_code == 200 and mine.json()["inserted"] == 1
    assert client.delete("/api/articles/partner:1", headers=auth(partner)).status_code == 200
    # A key made before scoped keys (source NULL) is an any-source key.
    assert client.delete("/api/articles/cms:1", headers=auth(key)).status_code == 200


def test_the_push_api_takes_the_documented_10_mb(
    settings: Settings, engine: Engine, key: str
) -> None:
    # 100 articles with 90 KB bodies: about 9 MB, far over the site's 64 KB form limit.
    text = "<p>" + "word " * 18_000 + "</p>"
    payload = body(*(article_json(f"cms:{n}", body_html=text) for n in range(100)))
    assert 8 * 1024 * 1024 < len(payload) < 10 * 1024 * 1024
    with TestClient(create_app(settings, engine)) as client:
        answer = client.post("/api/articles", content=payload, headers=auth(key))
        assert answer.status_code == 200 and answer.json()["inserted"] == 100
        over = client.post("/api/articles", content=payload * 2, headers=auth(key))
        assert over.status_code == 413 and "larger than" in over.json()["error"]
        # The rest of the site keeps its small limit.
        form = client.post("/subscribe", content=b"x" * 100_000)
        assert form.status_code == 413


def test_every_api_error_is_json_and_control_character_ids_are_400(
    client: TestClient, key: str, engine: Engine
) -> None:
    for path in ("/api/articles/a%0Ab", "/api/articles/a%00b", "/api/articles/a%0Db"):
        answer = client.delete(path, headers=auth(key))
        assert answer.status_code == 400, path
        assert "control character" in answer.json()["error"]
    assert client.get("/api/articles").status_code == 405
    assert client.get("/api/articles").json()["error"]
    assert client.get("/api/nothing").json()["error"] == "no such API endpoint"
    # An id with a line break cannot be stored either (it could never be retracted).
    line = body(article_json("cms:x\ny"))
    answer = client.post("/api/articles", content=line, headers=auth(key))
    assert "control character U+000A" in answer.json()["rejected"][0]["reason"]


def test_an_unexpected_error_under_api_is_json(
    settings: Settings, engine: Engine, key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from syndication.services import articles

    def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("the store fell over")

    monkeypatch.setattr(articles, "retract", broken)
    app = create_app(settings, engine)
    with TestClient(app, raise_server_exceptions=False) as client:
        answer = client.delete("/api/articles/cms:1", headers=auth(key))
        assert answer.status_code == 500
        assert answer.json() == {"error": "internal error; the server's log says more"}
        page = client.get("/digests/nope/2026-11-16")
        assert page.headers["content-type"].startswith("text/html")


def test_a_pushed_translation_names_its_original(
    settings: Settings, engine: Engine, key: str
) -> None:
    # Issue 30: translation_of is stored as given (the original may come later); an
    # article naming itself is the one rejection, the lines beside it are kept.
    with TestClient(create_app(settings, engine)) as client:
        answer = client.post(
            "/api/articles",
            content=body(
                article_json("cms-1-ko", language="ko", translation_of="cms-1"),
                article_json("cms-1"),
                article_json("cms-2", translation_of="cms-2"),
            ),
            headers=auth(key),
        )
    assert answer.json()["rejected"] == [
        {
            "line": 3,
            "field": "translation_of",
            "reason": "names the article itself; an original has none",
        }
    ]
    with db.read_session(engine) as session:
        rows = session.execute(select(Article.source_id, Article.language, Article.translation_of))
        assert sorted(rows) == [("cms-1", "en", ""), ("cms-1-ko", "ko", "cms-1")]
