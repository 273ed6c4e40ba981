"""Who did an operator action, and from where: the actor every audit record names.

The audit log (issue 28) answers "who, what, when, from where" for every operator action:
a console user (with the client address the request came from), the OS user running a CLI
command, or the service itself (a retraction that holds a digest, a sources batch). The
entry points build an :class:`Actor`; the services write it beside the action, in the same
transaction.
"""

from __future__ import annotations

from dataclasses import dataclass

SOURCES = ("console", "cli", "system")

# What the audit log records, as the filters and the CSV name them.
ACTIONS = (
    "sign-in",
    "sign-in-failed",
    "sign-in-refused",
    "lock",
    "unlock",
    "sign-out",
    "user-add",
    "user-remove",
    "password-set",
    "digest-hold",
    "digest-resume",
    "digest-approve",
    "digest-cancel",
    "digest-test",
    "subscriber-add",
    "subscriber-unsubscribe",
    "subscriber-suppress",
    "subscriber-restore",
    "subscribers-import",
    "subscribers-export",
    "article-retract",
    "articles-import",
    "audit-export",
)
# What an action is about, so it can be shown on that thing's console page.
SUBJECTS = ("user", "digest", "subscriber", "article", "import", "export")


@dataclass(frozen=True)
class Actor:
    """Who acts: ``who`` (a console user's address, an OS user name, or what the service
    was doing), ``source`` (one of :data:`SOURCES`) and, for the console, ``client`` (the
    address the request came from, as the app saw it)."""

    who: str
    source: str
    client: str = ""

    def __post_init__(self) -> None:
        if self.source not in SOURCES:
            raise ValueError(f"actor source {self.source!r}: one of {', '.join(SOURCES)}")

    @classmethod
    def console(cls, who: str, client: str) -> Actor:
        return cls(who, "console", client)

    @classmethod
    def cli(cls, os_user: str) -> Actor:
        return cls(os_user, "cli")

    @classmethod
    def system(cls, what: str) -> Actor:
        return cls(what, "system")

    @property
    def label(self) -> str:
        """How the digest's own "changed by" line names it (kept as it was before the
        audit log: ``root (command line)`` for the CLI)."""
        return f"{self.who} (command line)" if self.source == "cli" else self.who


# The actor of a service function called without one (a job, a test, a script calling the
# services directly): the entry points (console, CLI) always name theirs.
SYSTEM = Actor.system("syndication")


def digest_subject(list_slug: str, period_key: str) -> str:
    """The subject key of a digest in the audit log: ``"<list> <period>"``."""
    return f"{list_slug} {period_key}"
