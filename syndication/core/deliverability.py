"""What the settings say about whether receivers will trust our mail (SPF, DKIM, DMARC).

Gmail's and Yahoo's bulk-sender rules (2024) ask for SPF and DKIM, a DMARC record, and at
least one of them *aligned* with the From domain: DKIM's ``d=`` domain, or SPF's domain,
which is the return path's (our VERP address under ``[bounces] address``). Relaxed
alignment needs the same organisational domain; without the public suffix list, this
module approximates it (:func:`organisational_domain`) and says "may not align" rather
than "does not align". DNS is not looked at: these are the checks the
settings alone allow, shown by ``syndication status``.
"""

from __future__ import annotations

from email.utils import parseaddr

# Domains that cannot be anyone's real sender (RFC 2606 and the demo's defaults).
EXAMPLE_DOMAINS = ("example.org", "example.com", "example.net", "localhost")


def domain_of(address: str) -> str:
    """The domain of an address or ``Name <address>``, lower case."""
    return parseaddr(address)[1].rpartition("@")[2].strip().lower().rstrip(".")


# Second-level labels under which country registries hand out names (go.kr, co.uk,
# gov.au): there the organisational domain has three labels, elsewhere two.
REGISTRY_SECOND_LEVELS = frozenset(
    "ac co com edu go gob gouv gov govt lg ltd me mil ne net nic or org plc re sch".split()
)


def organisational_domain(domain: str) -> str:
    """``seoul.go.kr`` for ``news.seoul.go.kr``; ``example.org`` for ``a.b.example.org``.

    An approximation of the public suffix list's answer that is right for the common
    country-code registries; good enough to warn, never to refuse.
    """
    labels = domain.split(".")
    keep = 2
    if len(labels) >= 3 and len(labels[-1]) == 2 and labels[-2] in REGISTRY_SECOND_LEVELS:
        keep = 3
    return ".".join(labels[-keep:])


def aligned(first: str, second: str) -> bool:
    """DMARC's relaxed alignment: the same organisational domain."""
    return organisational_domain(first) == organisational_domain(second)


def deliverability_notes(from_address: str, return_path: str, dkim_domain: str | None) -> list[str]:
    """What an operator should check before mailing real readers, in the settings' words.

    ``return_path``: the envelope sender's address (the VERP base, or From's address when
    there is no bounce intake); ``dkim_domain``: ``[mail.dkim] domain``, None when unset.
    """
    notes: list[str] = []
    sender = domain_of(from_address)
    if any(aligned(sender, example) for example in EXAMPLE_DOMAINS):
        notes.append(
            f"mail.from is at {sender}, a domain no receiver will accept mail from: "
            "set the newsroom's own address"
        )
    if dkim_domain is None:
        notes.append(
            "no [mail.dkim]: unless the MTA signs (opendkim), Gmail and Yahoo refuse or junk "
            "bulk mail without a DKIM signature aligned with the From domain"
        )
    elif not aligned(dkim_domain, sender):
        notes.append(
            f"mail.dkim.domain {dkim_domain} may not align with the From domain {sender}: "
            "DMARC passes on DKIM only when they share the organisational domain"
        )
    bounce_domain = domain_of(return_path)
    if bounce_domain and not aligned(bounce_domain, sender):
        notes.append(
            f"the return path's domain {bounce_domain} may not align with the From domain "
            f"{sender}: SPF then cannot pass DMARC, so DKIM must"
        )
    return notes
