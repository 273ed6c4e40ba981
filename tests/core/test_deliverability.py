"""The settings-only checks of SPF, DKIM and DMARC alignment that ``status`` prints."""

from __future__ import annotations

from syndication.core.deliverability import aligned, deliverability_notes


def test_alignment_is_the_same_organisational_domain() -> None:
    assert aligned("news.seoul.go.kr", "seoul.go.kr")
    assert aligned("news.seoul.go.kr", "bounces.seoul.go.kr")
    assert aligned("mail.city.gov.uk", "city.gov.uk")
    assert aligned("news.example.org", "bounces.example.org")
    assert not aligned("seoul.go.kr", "busan.go.kr")  # two organisations under go.kr
    assert not aligned("seoul.go.kr", "mailer.example-esp.com")
    assert not aligned("notseoul.go.kr", "seoul.go.kr")


def test_a_newsroom_that_signs_and_bounces_under_its_own_domain_has_nothing_to_fix() -> None:
    notes = deliverability_notes(
        "Seoul News <news@news.seoul.go.kr>", "bounces@bounces.seoul.go.kr", "seoul.go.kr"
    )
    assert notes == []


def test_each_misalignment_is_named_with_the_domains_involved() -> None:
    notes = deliverability_notes("News <news@seoul.go.kr>", "b@esp-bounces.net", "esp.com")
    assert notes == [
        "mail.dkim.domain esp.com may not align with the From domain seoul.go.kr: "
        "DMARC passes on DKIM only when they share the organisational domain",
        "the return path's domain esp-bounces.net may not align with the From domain "
        "seoul.go.kr: SPF then cannot pass DMARC, so DKIM must",
    ]


def test_the_demo_sender_and_a_missing_signature_are_called_out() -> None:
    notes = deliverability_notes("City News <news@example.org>", "news@example.org", None)
    assert len(notes) == 2
    assert notes[0].startswith("mail.from is at example.org")
    assert notes[1].startswith("no [mail.dkim]")
