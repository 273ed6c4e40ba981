"""MIME templates and per-recipient personalisation, read back with the standard library."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage

import lxml.html
import pytest

from syndication.core.digests import build_digest
from syndication.core.mime import (
    MailError,
    MessageTemplate,
    Recipient,
    confirmation_template,
    digest_template,
    message_id,
    personalise,
)
from syndication.render.email import render_confirmation, render_digest
from syndication.settings import MailSettings, Settings
from tests.support.builders import CITY, WEEK, small_digest, stored

COMPILED = datetime(2026, 11, 23, 0, 0, tzinfo=UTC)
REQUIRED_HEADERS = (
    "From",
    "To",
    "Subject",
    "Date",
    "Message-ID",
    "MIME-Version",
    "List-Id",
    "List-Unsubscribe",
    "List-Unsubscribe-Post",
)
UNSUB = "https://news.example.org/unsubscribe/AbC123.signed-token"
PREFS = "https://news.example.org/preferences/AbC123.signed-token"


@pytest.fixture(scope="module")
def template() -> MessageTemplate:
    content = small_digest()
    rendered = render_digest(Settings(), content)
    return digest_template(Settings(), CITY, content.period_key, rendered, COMPILED)


def recipient(**fields: str) -> Recipient:
    values = {
        "address": "minji.kim@example.com",
        "name": "김민지",
        "unsubscribe_url": UNSUB,
        "preferences_url": PREFS,
    }
    values.update(fields)
    return Recipient(**values)


def parse(data: bytes) -> EmailMessage:
    message = message_from_bytes(data, policy=policy.default)
    assert isinstance(message, EmailMessage)
    return message


def parts(message: EmailMessage) -> tuple[str, str]:
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert text is not None and html is not None
    # Quoted-printable hard line breaks are CRLF, the canonical form (RFC 2045 §6.7).
    return text.get_content().replace("\r\n", "\n"), html.get_content().replace("\r\n", "\n")


def test_message_reads_back_cleanly(template: MessageTemplate) -> None:
    data = personalise(template, recipient())
    message = parse(data)
    for part in message.walk():
        assert not part.defects, part.defects
    assert message.get_content_type() == "multipart/alternative"
    types = [p.get_content_type() for p in message.iter_parts()]
    assert types == ["text/plain", "text/html"]
    for name in REQUIRED_HEADERS:
        assert len(message.get_all(name) or []) == 1, name
    assert message["List-Id"] == "City Life Weekly <weekly-city.news.example.org>"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message["Date"].datetime == COMPILED
    assert message["From"].addresses[0].addr_spec == "news@example.org"
    text, html = parts(message)
    assert "서울 지하철 9호선 연장 개통" in text and "서울 지하철 9호선 연장 개통" in html


def test_korean_name_and_subject_round_trip(template: MessageTemplate) -> None:
    data = personalise(template, recipient())
    raw_headers = data.split(b"\r\n\r\n", 1)[0]
    assert raw_headers.isascii()
    assert "김민지".encode() not in raw_headers
    message = parse(data)
    (address,) = message["To"].addresses
    assert (address.display_name, address.addr_spec) == ("김민지", "minji.kim@example.com")
    assert message["Subject"] == "City Life Weekly: 16–23 November 2026"
    text, html = parts(message)
    assert "Hello 김민지," in text
    assert "Hello 김민지," in html


def test_no_placeholder_left_and_no_long_line(template: MessageTemplate) -> None:
    data = personalise(template, recipient(name="A" * 500 + " 김" * 300))
    assert b"%%SYNDICATION" not in data
    assert b"\r\n" in data and b"\n" not in data.replace(b"\r\n", b"")
    assert max(len(line) for line in data.split(b"\r\n")) <= 998
    body = data.split(b"\r\n\r\n", 1)[1]
    assert max(len(line) for line in body.split(b"\r\n")) <= 76


def test_long_lines_in_articles_are_wrapped_for_the_wire() -> None:
    long_title = "서울" * 2000 + " " + "x" * 3000
    content = small_digest()
    rendered = render_digest(Settings(), content)
    rendered = type(rendered)(rendered.subject, "", rendered.html + long_title, long_title)
    tpl = digest_template(Settings(), CITY, content.period_key, rendered, COMPILED)
    data = personalise(tpl, recipient())
    assert max(len(line) for line in data.split(b"\r\n")) <= 998
    text, _ = parts(parse(data))
    assert text.rstrip("\n") == long_title


def test_unsubscribe_url_is_the_same_in_header_and_bodies(template: MessageTemplate) -> None:
    url = "https://news.example.org/unsubscribe/tok?list=weekly-city&sig=a+b/c="
    message = parse(personalise(template, recipient(unsubscribe_url=url)))
    assert message["List-Unsubscribe"] == f"<{url}>"
    text, html = parts(message)
    assert f"Unsubscribe: {url}\n" in text
    links = {a.text_content(): a.get("href") for a in lxml.html.fromstring(html).iter("a")}
    assert links["Unsubscribe"] == url
    assert links["Manage your preferences"] == PREFS


def test_unsafe_url_characters_are_percent_encoded(template: MessageTemplate) -> None:
    url = 'https://news.example.org/unsubscribe/토큰 "x"<y>%zz'
    message = parse(personalise(template, recipient(unsubscribe_url=url)))
    expected = "https://news.example.org/unsubscribe/%ED%86%A0%ED%81%B0%20%22x%22%3Cy%3E%25zz"
    assert message["List-Unsubscribe"] == f"<{expected}>"
    _, html = parts(message)
    assert f'href="{expected}"' in html


def test_values_are_escaped_for_html(template: MessageTemplate) -> None:
    name = '<b>Jo & "Jim"</b>'
    message = parse(personalise(template, recipient(name=name)))
    text, html = parts(message)
    assert f"Hello {name}," in text
    assert "Hello &lt;b&gt;Jo &amp; &quot;Jim&quot;&lt;/b&gt;," in html
    assert message["To"].addresses[0].display_name == name


def test_a_value_that_looks_like_a_token_is_not_expanded(template: MessageTemplate) -> None:
    sneaky = "=%%SYNDICATION:X:TO%%= %%SYNDICATION:UNSUBSCRIBE_URL%%"
    data = personalise(template, recipient(name=sneaky))
    message = parse(data)
    text, html = parts(message)
    assert f"Hello {sneaky}," in text
    assert f"Hello {sneaky}," in html
    assert message["To"].addresses[0].display_name == sneaky
    assert text.count(UNSUB) == 1


def test_article_text_cannot_forge_a_placeholder() -> None:
    forged = stored(
        "forged", title="Win %%SYNDICATION:UNSUBSCRIBE_URL%% now =%%SYNDICATION:X:TO%%="
    )

    content = build_digest(Settings(), CITY, WEEK, [forged])
    assert content is not None
    rendered = render_digest(Settings(), content)
    tpl = digest_template(Settings(), CITY, content.period_key, rendered, COMPILED)
    text, html = parts(parse(personalise(tpl, recipient())))
    assert UNSUB not in text.split("Unsubscribe:")[0]
    assert "Win %%\u2060SYNDICATION:UNSUBSCRIBE_URL%% now" in text
    assert "Win %%\u2060SYNDICATION:UNSUBSCRIBE_URL%% now" in html


@pytest.mark.parametrize(
    "name", ["Jane\r\nBcc: victim@example.net", "Jane\nBcc: victim@example.net", "Jane\rX: y"]
)
def test_header_injection_through_the_name_is_removed(template: MessageTemplate, name: str) -> None:
    data = personalise(template, recipient(name=name))
    message = parse(data)
    assert message["Bcc"] is None and message["X"] is None
    assert not any(part.defects for part in message.walk())
    assert message["To"].addresses[0].addr_spec == "minji.kim@example.com"


@pytest.mark.parametrize(
    "fields",
    [
        {"address": "a@example.com\r\nBcc: victim@example.net"},
        {"address": "not-an-address"},
        {"address": "김@example.com"},
        {"unsubscribe_url": "https://news.example.org/u/x\r\nBcc: victim@example.net"},
        {"unsubscribe_url": "javascript:alert(1)"},
        {"unsubscribe_url": ""},
        {"preferences_url": ""},
    ],
)
def test_bad_addresses_and_urls_are_refused(
    template: MessageTemplate, fields: dict[str, str]
) -> None:
    with pytest.raises(MailError):
        personalise(template, recipient(**fields))


def test_subject_line_breaks_are_removed() -> None:
    content = small_digest()
    rendered = render_digest(Settings(), content)
    rendered = type(rendered)("Weekly\r\nBcc: victim@example.net", "", rendered.html, "x")
    tpl = digest_template(Settings(), CITY, content.period_key, rendered, COMPILED)
    message = parse(personalise(tpl, recipient()))
    assert message["Subject"] == "Weekly Bcc: victim@example.net"
    assert message["Bcc"] is None


def test_message_id_is_stable_per_digest_and_recipient(template: MessageTemplate) -> None:
    first = parse(personalise(template, recipient()))["Message-ID"]
    again = parse(personalise(template, recipient(), date=COMPILED + timedelta(hours=3)))
    other = parse(personalise(template, recipient(address="jane@example.com")))["Message-ID"]
    assert first == again["Message-ID"] == message_id(template, "Minji.Kim@example.com")
    assert first != other
    assert re.fullmatch(
        r"<digest\.weekly-city\.2026-11-16\.[0-9a-f]{24}@news\.example\.org>", first
    )
    assert again["Date"].datetime == COMPILED + timedelta(hours=3)


def test_recipient_without_a_name(template: MessageTemplate) -> None:
    message = parse(personalise(template, recipient(name="")))
    assert message["To"] == "minji.kim@example.com"
    text, _ = parts(message)
    assert "Hello there," in text


def test_ascii_name_with_specials_is_quoted(template: MessageTemplate) -> None:
    message = parse(personalise(template, recipient(name="Kim, Minji (Ops)")))
    assert message["To"].addresses[0].display_name == "Kim, Minji (Ops)"
    assert len(message["To"].addresses) == 1


def test_a_name_shaped_like_an_encoded_word_is_encoded_not_decoded(
    template: MessageTemplate,
) -> None:
    """N11: unquoted, mail clients show ``https://phish.example/`` in To:."""
    sneaky = "=?utf-8?b?aHR0cHM6Ly9waGlzaC5leGFtcGxlLw==?="
    data = personalise(template, recipient(name=sneaky))
    assert b"aHR0cHM6Ly9waGlzaC5leGFtcGxlLw==?= <minji" not in data
    assert message_name(parse(data)) == sneaky


def message_name(message: EmailMessage) -> str:
    return str(message["To"].addresses[0].display_name)


def test_confirmation_message() -> None:
    rendered = render_confirmation(Settings(), (CITY,))
    tpl = confirmation_template(Settings(), rendered, COMPILED)
    url = "https://news.example.org/confirm/xyz"
    message = parse(personalise(tpl, Recipient("new@example.com", "새 구독자", confirm_url=url)))
    assert message["List-Unsubscribe"] is None
    text, html = parts(message)
    assert url in text and f'href="{url}"' in html
    with pytest.raises(MailError):
        personalise(tpl, Recipient("new@example.com", ""))
    renewed = Recipient("new@example.com", "", confirm_url=url + "2")
    assert parse(personalise(tpl, renewed))["Message-ID"] != message["Message-ID"]


def test_settings_cannot_smuggle_a_token_into_a_header() -> None:
    content = small_digest()
    rendered = render_digest(Settings(), content)
    forged = replace(CITY, name="City =%%SYNDICATION:X:TO%%=")
    with pytest.raises(MailError, match="reserved"):
        digest_template(Settings(), forged, content.period_key, rendered, COMPILED)


def test_non_ascii_sender_name_is_encoded() -> None:
    settings = replace(Settings(), mail=MailSettings(from_address="서울시 뉴스 <news@example.org>"))
    content = small_digest()
    rendered = render_digest(settings, content)
    tpl = digest_template(settings, CITY, content.period_key, rendered, COMPILED)
    data = personalise(tpl, recipient())
    assert data.split(b"\r\n\r\n", 1)[0].isascii()
    (sender,) = parse(data)["From"].addresses
    assert (sender.display_name, sender.addr_spec) == ("서울시 뉴스", "news@example.org")


@pytest.mark.parametrize("length", [1, 74, 75, 76, 77, 150])
def test_values_of_any_length_keep_quoted_printable_lines_short(
    template: MessageTemplate, length: int
) -> None:
    name = ("Jo " * 60)[: length - 1] + "x"
    url = "https://news.example.org/u/" + "a" * (length + 20)
    data = personalise(template, recipient(name=name, unsubscribe_url=url))
    body = data.split(b"\r\n\r\n", 1)[1]
    assert max(len(line) for line in body.split(b"\r\n")) <= 76
    message = parse(data)
    text, html = parts(message)
    assert f"Hello {name}," in text and f"Hello {name}," in html
    assert f"Unsubscribe: {url}\n" in text
    assert message["List-Unsubscribe"] == f"<{url}>"


def one_piece_past_78(line: str) -> bool:
    """A header line longer than 78 characters that folding could not shorten: the
    header's name and a single piece (a long URL), or a continuation of one piece."""
    rest = line[1:] if line.startswith(" ") else line.partition(": ")[2]
    return " " not in rest


def test_header_lines_are_folded_at_78_characters() -> None:
    """Issue 26 item 7: header lines of up to 150 characters went out unfolded; RFC 5322
    section 2.1.1 asks for at most 78 (998 is the limit) and section 2.2.3 says where to
    fold. Every header line is at most 78 characters unless it holds a single piece no
    fold may break (a long URL in List-Unsubscribe), and every value reads back whole."""
    sender = "Seoul Metropolitan Government News Desk, Citizens' Office"
    settings = replace(
        Settings(), mail=MailSettings(from_address=f'"{sender}" <newsletter-desk@news.example.org>')
    )
    the_list = replace(CITY, name="City Life Weekly: everything the city did this week, in one")
    content = small_digest()
    subject = "City Life Weekly, 16-22 November 2026: " + "lanterns, buses and parks " * 4
    rendered = replace(render_digest(settings, content), subject=subject.strip())
    tpl = digest_template(settings, the_list, content.period_key, rendered, COMPILED)
    name = "María Fernanda López de la Cruz y Gutiérrez, Directora de Comunicación"
    address = "maria.fernanda.lopez.delacruz@communications.example-university.edu"
    url = "https://news.example.org/unsubscribe/" + "AbC123-signed-token." * 5
    data = personalise(tpl, recipient(name=name, address=address, unsubscribe_url=url))
    head = data.split(b"\r\n\r\n", 1)[0].decode("ascii").split("\r\n")
    long_lines = [line for line in head if len(line) > 78]
    assert all(one_piece_past_78(line) for line in long_lines), long_lines
    # The Message-ID (84 characters with this domain) and the unsubscribe URL are single
    # pieces; nothing else may pass 78.
    assert {line.partition(":")[0] for line in long_lines} <= {"Message-ID", "List-Unsubscribe"}
    assert max(len(line) for line in data.split(b"\r\n")) <= 998
    message = parse(data)
    assert message.defects == []
    for field, value in message.items():
        assert value.defects == (), (field, value.defects)
    assert message["Subject"] == subject.strip()
    assert message["List-Unsubscribe"] == f"<{url}>"
    (to,) = message["To"].addresses
    # Python's parser keeps the fold between two encoded words of a phrase as a space,
    # which RFC 2047 section 6.2 says to drop: compare the words.
    assert (to.display_name.split(), to.addr_spec) == (name.split(), address)
    assert message["From"].addresses[0].display_name == sender
    assert message["List-Id"] == f'"{the_list.name}" <weekly-city.news.example.org>'
    assert message.get_content_type() == "multipart/alternative"


def test_list_unsubscribe_offers_a_mailto_alternative_when_a_mailbox_receives_it(
    template: MessageTemplate,
) -> None:
    """Issue 26 item 7 (RFC 2369, RFC 8058 section 3.1): the https one-click first, then a
    mailto: address, each in angle brackets, folded between them."""
    mailbox = "bounces+u1-abcdefghijklmnop@news.example.org"
    data = personalise(template, recipient(unsubscribe_mailto=mailbox))
    message = parse(data)
    assert message["List-Unsubscribe"] == f"<{UNSUB}>, <mailto:{mailbox}?subject=unsubscribe>"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    head = data.split(b"\r\n\r\n", 1)[0].decode("ascii").split("\r\n")
    assert all(len(line) <= 78 for line in head if not line.startswith("Message-ID"))
    without = parse(personalise(template, recipient()))
    assert without["List-Unsubscribe"] == f"<{UNSUB}>"
    with pytest.raises(MailError):
        personalise(template, recipient(unsubscribe_mailto="x@y\r\nBcc: z@example.org"))
