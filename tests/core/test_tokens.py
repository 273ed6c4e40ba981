from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from syndication.core.tokens import (
    CONFIRM,
    CONFIRM_MAX_AGE,
    PREFERENCES,
    UNSUBSCRIBE,
    TokenError,
    make_token,
    read_token,
)

SECRET = "s3cret"
ISSUED = datetime(2026, 11, 1, tzinfo=UTC)


def test_round_trip_carries_subscriber_and_list() -> None:
    token = make_token(SECRET, UNSUBSCRIBE, 42, ISSUED, "weekly-city")
    claims = read_token(SECRET, UNSUBSCRIBE, token, ISSUED)
    assert (claims.subscriber_id, claims.list_slug, claims.issued_at) == (42, "weekly-city", ISSUED)
    assert token.isascii() and "/" not in token and "+" not in token


def test_unsubscribe_tokens_never_expire_but_confirm_tokens_do() -> None:
    years_later = ISSUED + timedelta(days=3650)
    read_token(SECRET, UNSUBSCRIBE, make_token(SECRET, UNSUBSCRIBE, 1, ISSUED), years_later)
    confirm = make_token(SECRET, CONFIRM, 1, ISSUED)
    read_token(SECRET, CONFIRM, confirm, ISSUED + timedelta(days=6), CONFIRM_MAX_AGE)
    with pytest.raises(TokenError, match="expired"):
        read_token(SECRET, CONFIRM, confirm, ISSUED + timedelta(days=8), CONFIRM_MAX_AGE)


@pytest.mark.parametrize("position", [0, 5, 10, -1])
def test_any_changed_character_is_refused(position: int) -> None:
    token = make_token(SECRET, PREFERENCES, 7, ISSUED)
    chars = list(token)
    chars[position] = "A" if chars[position] != "A" else "B"
    with pytest.raises(TokenError):
        read_token(SECRET, PREFERENCES, "".join(chars), ISSUED)


def test_wrong_key_wrong_purpose_and_garbage_are_refused() -> None:
    token = make_token(SECRET, UNSUBSCRIBE, 7, ISSUED)
    with pytest.raises(TokenError, match="not one of ours"):
        read_token("another key", UNSUBSCRIBE, token, ISSUED)
    with pytest.raises(TokenError, match="for unsubscribe, not preferences"):
        read_token(SECRET, PREFERENCES, token, ISSUED)
    for garbage in ("", "abc", "abc.", ".abc", "!!!.???", token.replace(".", "")):
        with pytest.raises(TokenError):
            read_token(SECRET, UNSUBSCRIBE, garbage, ISSUED)
    with pytest.raises(TokenError, match="SYNDICATION_SECRET_KEY"):
        make_token("", UNSUBSCRIBE, 7, ISSUED)
