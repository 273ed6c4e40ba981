"""Sisimai's expectation tables (``t/*-lhost-*.t``, ``t/*-rhost-*.t``, ARF, RFC 3464/3834)
as a labels file for ``bench_bounces.py``.

Usage::

    python bench/sisimai_labels.py SISIMAI_CHECKOUT/t > sisimai.tsv

Reads the user's own checkout of https://github.com/sisimai/p5-sisimai (nothing of it is
in this repository). Each test file names an engine (``my $enginename = 'qmail';``) and
maps a sample number to its expected results (``'06' => [['4.2.2', '450', 'mailboxfull',
0]]``: DSN status, reply code, reason, hard-bounce flag, for ARF a feedback type); the
sample is ``set-of-emails/maildir/bsd/<lhost|rhost>-<engine>-<NN>.eml`` (``arf-NN.eml``,
``rfc3464-NN.eml``, ``rfc3834-NN.eml`` for the three standards). The first recipient's
result is the label: our reports are about one reader.

Output: ``file<TAB>reason<TAB>sisimai-reason``, ``reason`` in our vocabulary (see
:data:`FOLD`).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

# Sisimai reasons we fold into one of ours (see core/bounce_reasons.py).
FOLD = {
    "notaccept": "hostunknown",
    "authfailure": "securityerror",
    "failedstarttls": "securityerror",
    "badreputation": "blocked",
    "requireptr": "blocked",
    "norelaying": "rejected",
    "syntaxerror": "rejected",
    "virusdetected": "spamdetected",
    "notcompliantrfc": "contenterror",
    "emailtoolarge": "mesgtoobig",
    "systemfull": "systemerror",
    "mailererror": "systemerror",
    "ratelimited": "speeding",
    "onhold": "undefined",
}
_ENGINE_RE = re.compile(r"\$enginename\s*=\s*'([^']+)'")
_ENTRY_RE = re.compile(
    r"'(\d+)'\s*=>\s*\[\s*\[\s*'([^']*)'\s*,\s*'([^']*)'\s*,\s*'([^']*)'\s*,\s*(\d)"
    r"(?:\s*,\s*'([^']*)')?"
)
_STANDARDS = {"arf", "rfc3464", "rfc3834"}


def our_reason(reason: str, feedback_type: str) -> str:
    if reason == "feedback":
        if feedback_type in ("abuse", "fraud"):
            return "feedback/abuse"
        if feedback_type == "opt-out":
            return "feedback/opt-out"
        return "undefined"  # auth-failure, not-spam, virus: no request about a reader
    return FOLD.get(reason, reason)


def labels(t_dir: Path) -> list[tuple[str, str, str]]:
    rows: list[tuple[str, str, str]] = []
    for path in sorted(t_dir.glob("*.t")):
        kind = "rhost" if "-rhost-" in path.name else "lhost" if "-lhost-" in path.name else ""
        text = path.read_text(encoding="utf-8", errors="replace")
        engine = _ENGINE_RE.search(text)
        if engine is None:
            continue
        name = engine.group(1).lower()
        if not kind and name not in _STANDARDS:
            continue
        prefix = f"{kind}-{name}" if kind else name
        for number, _status, _reply, reason, _hard, feedback in _ENTRY_RE.findall(text):
            file = f"{prefix}-{int(number):02d}.eml"
            rows.append((file, our_reason(reason, feedback), reason))
    return rows


def main(argv: list[str]) -> int:
    if len(argv) != 2 or not Path(argv[1]).is_dir():
        print("usage: sisimai_labels.py SISIMAI_CHECKOUT/t > labels.tsv", file=sys.stderr)
        return 2
    for row in labels(Path(argv[1])):
        print("\t".join(row))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
