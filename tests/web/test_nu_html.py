"""Every e-mail template and every page through the Nu HTML Checker (vnu), as the W3C's
validator judges them (issue 26).

The documents are the real output: the mails as the sender builds them (the digest and the
confirmation personalised for a reader, the test send of a stored digest, the confirmation
mail of a Korean subscriber in the store); the public pages of a bilingual newsroom as the
app serves them (the sign-up form in both languages and its two answers, taken and the form
again with an error; confirm and a bad link; unsubscribe and its answer; preferences; the
digest archive in both languages, one digest and its Korean copy; the 404 page; a counted
link that is not ours); and every console page, walked from the console's route table as
the browser's axe test walks it (:func:`tests.support.console.console_pages`). One checker
run takes them all (:mod:`tests.support.vnu`).

Every error and every warning fails the test with the document, the line and the
checker's message, unless :data:`ACCEPTED` lists it: the e-mail idioms mail clients need,
in the mails and in the copies of a digest that the archive and the console show as sent.
The checker's plain information messages (no subtype) are not judged.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine, select, update

from syndication.core.tokens import CONFIRM, PREFERENCES, UNSUBSCRIBE, make_token
from syndication.services import transactional
from syndication.services.digests import approval
from syndication.settings import LanguageSettings, Settings
from syndication.store import database as db
from syndication.store import digests as digest_store
from syndication.store import subscribers as subscriber_store
from syndication.store.models import Delivery, Subscriber
from tests.support.builders import AFTER_WEEK
from tests.support.console import (
    OPERATOR,
    Clock,
    client_for,
    console_pages,
    hidden,
    seed,
    sign_in,
)
from tests.support.mail import html_part, messages
from tests.support.outbox import PERIOD
from tests.support.vnu import Message, check, checker

# A mail's HTML part, and a stored digest shown as it was sent (archive copy, console preview).
MAIL = (
    r"mail-.*|page-digest-archive-copy(-ko)?"
    r"|console-digests-[a-z-]+-[0-9-]+-preview(-language-ko)?"
)
# The one list of what the checker reports and we keep: (kind, documents, message, why).
ACCEPTED: list[tuple[str, str, str, str]] = [
    (
        "error",
        MAIL,
        r"^CSS: “mso-hide”: Property “mso-hide” doesn't exist\.$",
        "Outlook for Windows (Word's engine) ignores display: none on the hidden preheader; "
        "mso-hide: all is the only way to keep it out of the message body there",
    ),
    (
        "warning",
        MAIL,
        r"^The “(bgcolor|width|cellpadding|cellspacing|border)” attribute on the “table” "
        r"element is obsolete\.",
        "Outlook for Windows (Word's engine) ignores CSS width, border-spacing and background "
        "on tables, and some clients put default spacing and borders around cells: the "
        "layout tables say width, no spacing, no border and their colour as attributes too",
    ),
    (
        "warning",
        MAIL,
        r"^The “(align|valign|width|bgcolor)” attribute on the “td” element is obsolete\.",
        "centring, top alignment and the thumbnail column's width where the cell's CSS is "
        "ignored (Outlook for Windows); each attribute repeats the inlined style",
    ),
    (
        "warning",
        MAIL,
        r"^The “bgcolor” attribute on the “body” element is obsolete\.",
        "the page colour in clients that ignore CSS on <body>; it repeats the inlined style",
    ),
]


def covers(entry: tuple[str, str, str, str], message: Message) -> bool:
    """Whether ``entry`` of :data:`ACCEPTED` accepts ``message``."""
    kind, documents, text, _ = entry
    return (
        kind == message.kind
        and re.fullmatch(documents, message.document) is not None
        and re.search(text, message.text) is not None
    )


def mail_documents(settings: Settings, engine: Engine) -> dict[str, str]:
    """The HTML part of each mail we send, built as the sender builds it."""
    found = {f"mail-{name}": html_part(raw) for name, raw in messages(settings).items()}
    with db.read_session(engine) as session:
        stored = digest_store.find_digest(session, "weekly-city", PERIOD)
        assert stored is not None
        reader = session.scalars(select(Subscriber).where(Subscriber.name == "김민지")).one()
        slugs = subscriber_store.subscriber_lists(session, reader.id)
        _, confirmation = transactional.confirmation_envelope(
            settings, reader, slugs, "r-1", AFTER_WEEK
        )
    _, test_mail = approval.test_envelope(settings, stored, "editor@example.org", AFTER_WEEK)
    found["mail-test-send"] = html_part(test_mail.message)
    found["mail-confirmation-stored-reader"] = html_part(confirmation.message)
    assert '<html lang="ko"' in found["mail-confirmation-stored-reader"]
    return found


def public_pages(settings: Settings, engine: Engine, clock: Clock, reader: int) -> dict[str, str]:
    """Each public page as the app serves it (the unsubscribe and preferences links are
    read against the wall clock, as the app reads them)."""
    secret, issued = settings.secret_key, datetime.now(UTC)
    confirm = make_token(secret, CONFIRM, reader, clock.now(), "", "r-1")
    unsubscribe = make_token(secret, UNSUBSCRIBE, reader, issued, "weekly-city")
    preferences = make_token(secret, PREFERENCES, reader, issued)
    pages = {
        "home": ("GET", "/", 200),
        "confirm": ("GET", f"/confirm/{confirm}", 200),
        "confirm-bad-link": ("GET", "/confirm/not-a-token", 400),
        "unsubscribe": ("GET", f"/unsubscribe/{unsubscribe}", 200),
        "unsubscribed": ("POST", f"/unsubscribe/{unsubscribe}", 200),
        "preferences": ("GET", f"/preferences/{preferences}", 200),
        "digest-archive": ("GET", "/digests/", 200),
        "digest-archive-copy": ("GET", f"/digests/weekly-city/{PERIOD}", 200),
        "not-found": ("GET", "/no-such-page", 404),
        "link-not-found": ("GET", "/r/not-one-of-ours", 404),
        # In the newsroom's second language (the switch's choice, kept in a cookie from here).
        "home-ko": ("GET", "/?lang=ko", 200),
        "digest-archive-ko": ("GET", "/digests/", 200),
        # The Korean copy of the reader list's digest (issue 30), which the index links.
        "digest-archive-copy-ko": ("GET", f"/digests/weekly-city/{PERIOD}/ko", 200),
    }
    found = {}
    with client_for(settings, engine, clock) as client:
        for name, (method, path, status) in pages.items():
            response = client.request(method, path)
            assert response.status_code == status, f"{method} {path}: {response.status_code}"
            found[f"page-{name}"] = response.text
        # The form's two answers: the address taken, and the form again with the error.
        answers = (("subscribed", "new-reader@example.org", 200), ("form-error", "no@", 400))
        for name, address, status in answers:
            form = {"csrf": hidden(client.get("/").text, "csrf"), "email": address}
            response = client.post("/subscribe", data={**form, "lists": ["weekly-city"]})
            assert response.status_code == status, f"{address}: {response.status_code}"
            found[f"page-{name}"] = response.text
    for name in (
        "home-ko",
        "digest-archive-ko",
        "digest-archive-copy-ko",
        "confirm",
        "preferences",
    ):
        assert '<html lang="ko"' in found[f"page-{name}"], f"page-{name} is not in Korean"
    korean_copy = f'href="/digests/weekly-city/{PERIOD}/ko" hreflang="ko" lang="ko"'
    assert korean_copy in found["page-digest-archive"], "the index links the Korean copy"
    return found


def console_documents(
    settings: Settings, engine: Engine, clock: Clock, params: dict[str, str]
) -> dict[str, str]:
    """Every console page of the axe walk, signed in as an operator."""
    found = {}
    with client_for(settings, engine, clock) as client:
        found["console-login"] = client.get("/admin/login").text
        sign_in(client, "op@example.org")
        for path in console_pages(settings, engine, params):
            if path == "/admin/login":
                continue
            response = client.get(path)
            expected = 404 if path == "/admin/subscribers/999999" else 200  # the "gone" page
            assert response.status_code == expected, f"{path}: {response.status_code}"
            name = re.sub(r"[^a-z0-9]+", "-", path.removeprefix("/admin").lower()).strip("-")
            found[f"console-{name or 'dashboard'}"] = response.text
    return found


def test_mail_and_pages_pass_the_nu_html_checker(
    settings: Settings, engine: Engine, tmp_path: Path
) -> None:
    command = checker()
    # A list written in each reader's language (issue 30): its Korean copy is on the archive.
    lists = tuple(
        replace(ml, count_clicks=True, language="reader") if ml.slug == "weekly-city" else ml
        for ml in settings.lists
    )
    # A bilingual newsroom: the language switch on every page, and a Korean reader's pages.
    languages = LanguageSettings(available=("en", "ko"))
    settings = replace(settings, lists=lists, languages=languages)
    params = seed(settings, engine)
    # The seeded digest is held; resumed with one copy sent, the public archive shows it.
    approval.resume(settings, engine, "weekly-city", PERIOD, OPERATOR, AFTER_WEEK)
    with db.write_session(engine) as session:
        first = session.scalars(select(Delivery.id).order_by(Delivery.id)).first()
        session.execute(update(Delivery).where(Delivery.id == first).values(status="sent"))
        reader = session.scalars(select(Subscriber.id).where(Subscriber.name == "김민지")).one()
        session.execute(update(Subscriber).where(Subscriber.id == reader).values(locale="ko"))
    clock = Clock(AFTER_WEEK)
    documents = {
        **mail_documents(settings, engine),
        **public_pages(settings, engine, clock, reader),
        **console_documents(settings, engine, clock, params),
    }
    messages = check(command, documents, tmp_path)
    assert not [m for m in messages if m.kind == "non-document-error"], messages
    judged = [m for m in messages if m.kind in ("error", "warning")]
    found = [str(m) for m in judged if not any(covers(entry, m) for entry in ACCEPTED)]
    assert found == [], "the Nu HTML Checker (vnu) found:\n" + "\n".join(found)
    # Each entry of the list is still needed: an idiom the templates dropped leaves it.
    for entry in ACCEPTED:
        assert any(covers(entry, m) for m in judged), (
            f"ACCEPTED lists {entry[2]!r} ({entry[3]}), which the checker no longer reports: "
            "remove it"
        )
