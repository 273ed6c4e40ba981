"""Benchmark: a digest's one-off render + inline, then per-recipient message bytes.

Builds a digest of about 70 KB of inlined HTML from synthetic articles, renders and
inlines it (timed, the one-off cost per list and period), builds the MIME template once,
then times on one core:

* ``personalise``: the final bytes for each of N recipients (one regex pass);
* the ``EmailMessage`` way: for each recipient, the same message built with the standard
  library (headers, text and HTML alternatives, per-recipient values put in with
  ``str.replace``) and serialised with ``as_bytes``.

    .venv/bin/python bench/bench_digest.py [--recipients 20000] [--baseline 1000]

Recipients alternate ASCII and Korean names, so header encoding is part of the cost.
"""

from __future__ import annotations

import argparse
import html
import statistics
import time
from datetime import UTC, datetime, timedelta
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime, formataddr

from syndication.core.articles import StoredArticle
from syndication.core.digests import Period, build_digest
from syndication.core.mime import Recipient, digest_template, message_id, personalise
from syndication.core.placeholders import RenderedDigest, placeholder
from syndication.render.email import render_digest
from syndication.settings import Settings

SETTINGS = Settings()
CITY = SETTINGS.mailing_list("weekly-city")
PERIOD = Period(datetime(2026, 11, 15, 23, tzinfo=UTC), datetime(2026, 11, 22, 23, tzinfo=UTC))
COMPILED = datetime(2026, 11, 23, tzinfo=UTC)


def articles(count: int) -> list[StoredArticle]:
    result = []
    for i in range(count):
        published = PERIOD.start + timedelta(minutes=33 * i)
        result.append(
            StoredArticle(
                source_id=f"bench-{i}",
                title=f"Seoul expands neighbourhood programme {i} to every district 서울",
                url=f"https://news.example.org/news/bench-{i}",
                published_at=published,
                updated_at=published,
                topics=(CITY.topics[i % len(CITY.topics)],),
                summary="The city said the programme would reach all districts by spring. " * 4,
                body_html="<p>Body.</p>",
                author="Community Division",
                image_url=f"https://news.example.org/images/bench-{i}.jpg",
                language="en",
                status="published",
                retracted_at=None,
                retraction_reason="",
                change_seq=i + 1,
            )
        )
    return result


def recipients(count: int) -> list[Recipient]:
    names = ["Jane Doe", "김민지", "Kim, Minji (Ops)", "이서준"]
    return [
        Recipient(
            address=f"reader{i}@example.com",
            name=names[i % len(names)],
            unsubscribe_url=f"https://news.example.org/unsubscribe/{i:08d}.c2lnbmF0dXJl",
            preferences_url=f"https://news.example.org/preferences/{i:08d}.c2lnbmF0dXJl",
        )
        for i in range(count)
    ]


def email_message_way(rendered: RenderedDigest, recipient: Recipient) -> bytes:
    """The same message built the ordinary way, once per recipient."""
    values = {
        placeholder("NAME"): recipient.name or "there",
        placeholder("ADDRESS"): recipient.address,
        placeholder("UNSUBSCRIBE_URL"): recipient.unsubscribe_url,
        placeholder("PREFERENCES_URL"): recipient.preferences_url,
    }
    text, body = rendered.text, rendered.html
    for key, value in values.items():
        text = text.replace(key, value)
        body = body.replace(key, html.escape(value))
    message = EmailMessage()
    message["From"] = SETTINGS.mail.from_address
    message["To"] = formataddr((recipient.name, recipient.address))
    message["Subject"] = rendered.subject
    message["Date"] = format_datetime(COMPILED)
    message["Message-ID"] = f"<bench.{recipient.address}@{SETTINGS.site.domain}>"
    message["List-Id"] = f"{CITY.name} <{CITY.slug}.{SETTINGS.site.domain}>"
    message["List-Unsubscribe"] = f"<{recipient.unsubscribe_url}>"
    message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message.set_content(text, cte="quoted-printable")
    message.add_alternative(body, subtype="html", cte="quoted-printable")
    return message.as_bytes(policy=policy.SMTP)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--recipients", type=int, default=20_000)
    parser.add_argument("--baseline", type=int, default=1_000)
    parser.add_argument("--articles", type=int, default=300)
    args = parser.parse_args()

    content = build_digest(SETTINGS, CITY, PERIOD, articles(args.articles))
    assert content is not None
    render_times = []
    for _ in range(5):
        start = time.perf_counter()
        rendered = render_digest(SETTINGS, content)
        render_times.append(time.perf_counter() - start)
    start = time.perf_counter()
    template = digest_template(SETTINGS, CITY, content.period_key, rendered, COMPILED)
    template_seconds = time.perf_counter() - start

    people = recipients(args.recipients)
    total = 0
    start = time.perf_counter()
    for person in people:
        total += len(personalise(template, person))
    fast = time.perf_counter() - start

    baseline_people = people[: args.baseline]
    start = time.perf_counter()
    for person in baseline_people:
        email_message_way(rendered, person)
    slow = time.perf_counter() - start

    fast_each = fast / len(people)
    slow_each = slow / len(baseline_people)
    print(f"digest: {content.article_count} articles, {content.shown} in the e-mail")
    print(
        f"inlined HTML {len(rendered.html.encode()):,} bytes, text {len(rendered.text.encode()):,}"
        f" bytes, message {total // len(people):,} bytes"
    )
    print(
        f"render + inline (once per digest): median {statistics.median(render_times) * 1000:.0f}"
        f" ms of 5; MIME template {template_seconds * 1000:.1f} ms"
    )
    print(
        f"personalise: {len(people):,} recipients in {fast:.2f} s = "
        f"{fast_each * 1e6:.1f} µs each, {1 / fast_each:,.0f} recipients/s"
    )
    print(
        f"EmailMessage per recipient: {len(baseline_people):,} in {slow:.2f} s = "
        f"{slow_each * 1e6:.0f} µs each, {1 / slow_each:,.0f} recipients/s"
    )
    print(f"ratio: personalise is {slow_each / fast_each:.0f}x the EmailMessage way")
    print(f"(check: {message_id(template, people[0].address)})")


if __name__ == "__main__":
    main()
