"""Benchmark: what each language of a "reader" list costs (issue 30).

A fresh SQLite store gets the demo articles, their Korean and Japanese translations
(examples/news-translations.jsonl: each language's copy chooses each story's best
translation at compile time) and ``--recipients`` active readers of
weekly-city, spread evenly over the list's languages; the list is ``language = "reader"``
with 1, 2 or 4 languages (en; en, ko; en, ko, ja, zh-Hant: ja and zh-Hant have no catalog
yet, so their fixed strings are English, but their dates are CLDR's and they are rendered,
inlined and stored like any other). For each count it reports:

- compile: ``digest compile`` of the week of 2026-11-16, which renders and inlines the
  digest once per language and queues every reader (median of ``--repeat`` fresh stores);
- per recipient: building every recipient's message bytes from the stored renders, as the
  sender does (``DigestMessages.envelope``: one template per digest and language per
  process, then one substitution pass per recipient), with no transport, so the figure is
  the sending work itself (best of ``--repeat``).

    .venv/bin/python bench/bench_languages.py [--recipients 5000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import Engine, insert  # noqa: E402

from syndication.core.deliveries import Claimed  # noqa: E402
from syndication.services import delivery  # noqa: E402
from syndication.services.articles import import_articles  # noqa: E402
from syndication.services.digests import compiling  # noqa: E402
from syndication.settings import DatabaseSettings, LanguageSettings, Settings  # noqa: E402
from syndication.store import articles as store  # noqa: E402
from syndication.store import database as db  # noqa: E402
from syndication.store.models import Subscriber, Subscription  # noqa: E402

LANGUAGES = ("en", "ko", "ja", "zh-Hant")
NOW = datetime(2026, 11, 24, tzinfo=UTC)


def prepare(workdir: Path, recipients: int, languages: tuple[str, ...]) -> tuple[Settings, Engine]:
    url = f"sqlite:///{workdir / 'bench.db'}"
    base = Settings(database=DatabaseSettings(url=url), secret_key="bench-key")
    city = replace(base.mailing_list("weekly-city"), language="reader")
    settings = replace(
        base,
        languages=LanguageSettings(
            available=languages, fallback=tuple((tag, "en") for tag in languages[1:])
        ),
        lists=tuple(city if ml.slug == city.slug else ml for ml in base.lists),
    )
    engine = db.make_engine(url)
    db.upgrade(engine)
    with db.write_session(engine) as session:
        store.sync_topics(session, settings.topics)
    for name in ("news.jsonl", "news-translations.jsonl"):
        with (ROOT / "examples" / name).open("rb") as lines:
            import_articles(
                engine,
                lines,
                source=name,
                known_topics={t.slug for t in settings.topics},
                now=lambda: NOW,
            )
    with db.write_session(engine) as session:
        session.execute(
            insert(Subscriber),
            [
                {
                    "id": i + 1,
                    "email": f"reader{i}@example.org",
                    "name": f"Reader {i}",
                    "locale": languages[i % len(languages)],
                    "status": "active",
                    "created_at": NOW,
                    "updated_at": NOW,
                }
                for i in range(recipients)
            ],
        )
        session.execute(
            insert(Subscription),
            [
                {"subscriber_id": i + 1, "list_slug": "weekly-city", "created_at": NOW}
                for i in range(recipients)
            ],
        )
    return settings, engine


def measure(recipients: int, languages: tuple[str, ...], repeat: int) -> tuple[float, float]:
    """(compile seconds, median; per-recipient microseconds, best)."""
    compiles: list[float] = []
    per_recipient: list[float] = []
    for _ in range(repeat):
        with tempfile.TemporaryDirectory() as folder:
            settings, engine = prepare(Path(folder), recipients, languages)
            started = time.perf_counter()
            report = compiling.compile_digest(
                settings, engine, "weekly-city", date(2026, 11, 18), NOW
            )
            compiles.append(time.perf_counter() - started)
            assert report.queued == recipients, report
            claims = [
                Claimed(
                    i + 1,
                    1,
                    i + 1,
                    f"reader{i}@example.org",
                    f"Reader {i}",
                    1,
                    "",
                    locale=languages[i % len(languages)],
                )
                for i in range(recipients)
            ]
            messages = delivery.DigestMessages(settings, engine)
            started = time.perf_counter()
            for claimed in claims:
                messages.envelope(claimed)
            per_recipient.append((time.perf_counter() - started) / recipients * 1e6)
            engine.dispose()
    return statistics.median(compiles), min(per_recipient)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--recipients", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(f"| languages | compile (render + inline + queue {args.recipients:,}) | per recipient |")
    print("| --- | ---: | ---: |")
    for count in (1, 2, 4):
        languages = LANGUAGES[:count]
        compile_s, per_us = measure(args.recipients, languages, args.repeat)
        print(f"| {count} ({', '.join(languages)}) | {compile_s:.3f} s | {per_us:.1f} µs |")


if __name__ == "__main__":
    main()
