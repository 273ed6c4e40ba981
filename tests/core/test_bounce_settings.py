"""``[bounces]`` and ``[bounces.imap]`` in syndication.toml: defaults, values, mistakes."""

from __future__ import annotations

from pathlib import Path

import pytest

from syndication.errors import ConfigError
from syndication.settings import load_settings


def load(tmp_path: Path, text: str, env: dict[str, str] | None = None) -> object:
    path = tmp_path / "syndication.toml"
    path.write_text(text, encoding="utf-8")
    return load_settings(path, env or {})


def test_unset_means_no_verp_and_no_imap() -> None:
    settings = load_settings(None, {})
    assert settings.bounces.address == "" and settings.bounces.imap is None
    assert settings.bounces.soft_limit == 3


def test_bounces_and_imap_are_read_with_the_password_from_the_environment(
    tmp_path: Path,
) -> None:
    settings = load(
        tmp_path,
        "[bounces]\naddress = 'Bounces@News.example.org'\nsoft_limit = 2\n"
        "[bounces.imap]\nhost = 'imap.example.org'\nusername = 'bounces'\n"
        "security = 'starttls'\n",
        {"SYNDICATION_IMAP_PASSWORD": "pw"},
    )
    bounces = settings.bounces  # type: ignore[attr-defined]
    assert bounces.address == "bounces@news.example.org" and bounces.soft_limit == 2
    assert bounces.imap.port == 143 and bounces.imap.password == "pw"
    assert bounces.imap.processed_folder == "Processed"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[bounces]\naddress = 'bounces+x@news.example.org'\n", "bounces.address"),
        ("[bounces]\naddress = '" + "b" * 40 + "@news.example.org'\n", "at most 31"),
        ("[bounces]\nsoft_limit = 0\n", "bounces.soft_limit: must be between 1 and 100"),
        ("[bounces]\nsoftlimit = 2\n", "bounces.softlimit: unknown key"),
        ("[bounces.imap]\nusername = 'x'\n", "bounces.imap.host: must not be empty"),
        ("[bounces.imap]\nhost = 'h'\nusername = 'x'\nsecurity = 'ssl'\n", "security"),
    ],
)
def test_mistakes_name_the_key(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load(tmp_path, text)


def test_capabilities_expire_and_reports_are_pruned_after_settings(tmp_path: Path) -> None:
    defaults = load_settings(None, {}).bounces
    assert (defaults.capability_days, defaults.retention_days) == (90, 30)
    settings = load(tmp_path, "[bounces]\ncapability_days = 30\nretention_days = 7\n")
    bounces = settings.bounces  # type: ignore[attr-defined]
    assert (bounces.capability_days, bounces.retention_days) == (30, 7)
    with pytest.raises(ConfigError, match="bounces.retention_days: must be between 1 and 3650"):
        load(tmp_path, "[bounces]\nretention_days = 0\n")


def test_the_intake_limits_on_strangers_reports_are_settings(tmp_path: Path) -> None:
    defaults = load_settings(None, {}).bounces
    assert (defaults.strangers_per_hour, defaults.strangers_stored) == (20, 1000)
    settings = load(tmp_path, "[bounces]\nstrangers_per_hour = 5\nstrangers_stored = 50\n")
    bounces = settings.bounces  # type: ignore[attr-defined]
    assert (bounces.strangers_per_hour, bounces.strangers_stored) == (5, 50)
    with pytest.raises(ConfigError, match="bounces.strangers_stored: must be between 1 and"):
        load(tmp_path, "[bounces]\nstrangers_stored = 0\n")
