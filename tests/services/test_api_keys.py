"""API keys as units of work: create, list, revoke, verify, on every backend."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from syndication.errors import InputError, NotFoundError
from syndication.services import api_keys
from tests.support.builders import FIXED_NOW


def test_create_verify_list_revoke(engine: Engine) -> None:
    key = api_keys.create_key(engine, "cms", FIXED_NOW, source=None)
    assert key.startswith("syn_")
    found = api_keys.verify_key(engine, key)
    assert found is not None and (found.name, found.source) == ("cms", None)
    assert api_keys.verify_key(engine, key + "x") is None
    assert api_keys.list_keys(engine) == [api_keys.KeyInfo("cms", FIXED_NOW, None)]
    assert api_keys.revoke_key(engine, "cms", FIXED_NOW) is True
    assert api_keys.revoke_key(engine, "cms", FIXED_NOW) is False
    assert api_keys.verify_key(engine, key) is None
    assert api_keys.list_keys(engine) == [api_keys.KeyInfo("cms", FIXED_NOW, FIXED_NOW)]


def test_names_are_slugs_used_once_and_unknown_ones_are_named(engine: Engine) -> None:
    api_keys.create_key(engine, "cms", FIXED_NOW, source=None)
    with pytest.raises(InputError, match="a key with this name exists"):
        api_keys.create_key(engine, "cms", FIXED_NOW, source=None)
    with pytest.raises(InputError, match="a key name is a slug"):
        api_keys.create_key(engine, "Not A Slug", FIXED_NOW, source=None)
    with pytest.raises(NotFoundError, match="API key 'nope': no such key"):
        api_keys.revoke_key(engine, "nope", FIXED_NOW)


def test_a_key_for_one_source_may_write_only_that_sources_articles(engine: Engine) -> None:
    key = api_keys.create_key(engine, "partner", FIXED_NOW, source="partner")
    found = api_keys.verify_key(engine, key)
    assert found is not None and found.source == "partner"
    assert found.may_write("partner:1") and not found.may_write("cms:1")
    assert not found.may_write("partner-2:1") and not found.may_write("partner")
    anyone = api_keys.KeyInfo("old", FIXED_NOW, None)
    assert anyone.may_write("cms:1") and anyone.may_write("a1")
    assert api_keys.list_keys(engine)[0].source == "partner"
    with pytest.raises(InputError, match="a source name is a slug"):
        api_keys.create_key(engine, "x", FIXED_NOW, source="Not:Slug")
