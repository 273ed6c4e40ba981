"""Derive bounce labels from the Perl test suite of Mail-DeliveryStatus-BounceParser.

The corpus is ``t/corpus/*.msg`` of github rjbs/Mail-DeliveryStatus-BounceParser; its
tests (``t/*.t``) say what the Perl parser must report for each message.  This script
reads those tests, not the parser's output:

* the messages a test names: string literals such as ``'t/corpus/quota-2.msg'`` or
  hash keys such as ``"badrcptto.msg"``, and globs such as ``'t/corpus/quota*.msg'``
  (expanded against the corpus folder);
* what it asserts for them: ``is_bounce`` and ``std_reason`` in ``check_report(...)``
  calls (a call on a variable, e.g. ``check_report($fn, ...)``, covers every message
  the test file names; ``std_reason => ($expect->{std_reason} || 'user_unknown')``
  takes the message's own hash entry, else the default), or, for tests that read a
  message themselves (``readfile``), ``ok([!]$bounce->is_bounce)`` and
  ``is($std_reason, "...")`` up to the next ``readfile``.  ``todo_*`` keys only mark a
  check as TODO; the check still states the expected value.

BounceParser's ``std_reason`` is mapped to the bench's vocabulary:

=====================  ==============================================================
``is_bounce`` 0        vacation (auto-replies, challenge/response, delay notices)
``user_unknown``       userunknown
``domain_error``       hostunknown, or rejected where the message text refuses to relay
``over_quota``         mailboxfull
``user_disabled``      suspend
``spam``               spamdetected, or blocked where the message text says "blocked
                       using" a DNS block list
anything else          skipped: ``unknown``, no reason asserted, or a key that is not
                       ``std_reason`` (message-too-large.t misspells it ``std_reaons``)
=====================  ==============================================================

Usage: ``python bounceparser_labels.py BP_CHECKOUT/t > bounceparser.tsv``.  Prints
``file<TAB>reason`` lines sorted by file name; a one-line summary goes to stderr.
"""

from __future__ import annotations

import fnmatch
import re
import sys
from dataclasses import dataclass
from pathlib import Path

HEREDOC = re.compile(r"<<(['\"]?)([A-Za-z_]\w*)\1[^\n]*\n")
# BounceParser's own relay-refusal patterns (its _std_reason calls them domain_error).
RELAY_REFUSED = re.compile(
    r"as\s+a\s+relay,\s+but\s+I\s+have\s+not\s+been\s+configured"
    r"|relay(?:ing)?\s+(?:not\s+permitted|denied)"
    r"|relay\s+access\s+denied"
    r"|allowed\s+rcpthosts",
    re.IGNORECASE,
)
# "blocked using <zone>": a DNS block list names a dotted zone (bl.spamcop.net); this
# leaves out content filters such as "Blocked using spam pattern".
BLOCK_LIST = re.compile(r"blocked\s+using\s+[a-z0-9-]+(?:\.[a-z0-9-]+)+", re.IGNORECASE)
# In the masked source (see Source) a string literal is \x00, its index, \x01.
READFILE = re.compile(r"readfile\s*\(\s*\x00(\d+)\x01\s*\)")
OK_IS_BOUNCE = re.compile(r"\bok\s*\(\s*(!?)\s*\$\w+\s*->\s*is_bounce\b")
IS_STD_REASON = re.compile(r"\bis\s*\(\s*\$std_reason\w*\s*,\s*\x00(\d+)\x01")
HASH_LOOKUP = re.compile(r"->\s*\{\s*(?:(\w+)|\x00(\d+)\x01)\s*\}")
DEFAULT = re.compile(r"\|\|\s*\x00(\d+)\x01")
SIMPLE_REASONS = {
    "user_unknown": "userunknown",
    "over_quota": "mailboxfull",
    "user_disabled": "suspend",
}


@dataclass(frozen=True)
class Assertion:
    """What one test asserts for one message (None: not asserted)."""

    test: str
    is_bounce: bool | None
    std_reason: str | None


class Source:
    """A Perl test file with comments and here-documents dropped, literals masked.

    Each string literal becomes NUL, its index in ``literals``, SOH, so that regexes and
    bracket counting on ``code`` never look inside a string.
    """

    def __init__(self, text: str) -> None:
        """Mask ``text``."""
        self.literals: list[str] = []
        out: list[str] = []
        text = self._drop_heredocs(text)
        i = 0
        while i < len(text):
            char = text[i]
            if char == "#":
                i = text.find("\n", i)
                i = len(text) if i < 0 else i
            elif char in "'\"":
                end = i + 1
                while end < len(text) and text[end] != char:
                    end += 2 if text[end] == "\\" else 1
                body = text[i + 1 : end].replace("\\" + char, char)
                out.append(f"\x00{len(self.literals)}\x01")
                self.literals.append(body)
                i = end + 1
            else:
                out.append(char)
                i += 1
        self.code = "".join(out)

    @staticmethod
    def _drop_heredocs(text: str) -> str:
        """Remove the bodies of here-documents (they may hold stray quotes)."""
        kept: list[str] = []
        pos = 0
        while match := HEREDOC.search(text, pos):
            kept.append(text[pos : match.end()])
            terminator = re.compile(rf"^{match.group(2)}$\n?", re.MULTILINE)
            end = terminator.search(text, match.end())
            pos = end.end() if end else len(text)
        return "".join([*kept, text[pos:]])

    def literal(self, item: str) -> str | None:
        """Return the string if ``item`` is one literal (maybe in parentheses)."""
        match = re.fullmatch(r"[\s(]*\x00(\d+)\x01[\s)]*", item)
        return self.literals[int(match.group(1))] if match else None

    def block(self, start: int, opening: str, closing: str) -> str:
        """Return the code from ``start``, after ``opening``, to its ``closing``."""
        depth = 1
        for end in range(start, len(self.code)):
            depth += {opening: 1, closing: -1}.get(self.code[end], 0)
            if depth == 0:
                return self.code[start:end]
        return self.code[start:]


def split_list(code: str) -> list[str]:
    """Split a Perl list at top-level commas and fat commas (``=>``)."""
    items: list[str] = []
    depth, start, i = 0, 0, 0
    while i < len(code):
        char = code[i]
        depth += 1 if char in "([{" else -1 if char in ")]}" else 0
        if depth == 0 and (char == "," or code.startswith("=>", i)):
            items.append(code[start:i].strip())
            i += 1 if char == "," else 2
            start = i
            continue
        i += 1
    items.append(code[start:].strip())
    return [item for item in items if item]


def pairs(items: list[str], source: Source) -> dict[str, str]:
    """Key-value pairs of a flat Perl list; keys are barewords or literals."""
    result: dict[str, str] = {}
    for key, value in zip(items[::2], items[1::2], strict=False):
        name = source.literal(key)
        result[key if name is None else name] = value
    return result


class TestFile:
    """The assertions one ``.t`` file makes about corpus messages."""

    def __init__(self, path: Path, corpus: list[str]) -> None:
        """Parse ``path``; ``corpus`` lists the message names present."""
        self.name = path.name
        self.source = Source(path.read_text(encoding="utf-8"))
        self.corpus = corpus

    def messages(self, literal: str) -> list[str]:
        """Corpus messages a literal names: one file, a glob, or none."""
        if not literal.endswith(".msg") or "$" in literal:
            return []
        found = fnmatch.filter(self.corpus, literal.rsplit("/", 1)[-1])
        if not found:
            print(f"{self.name}: {literal} names no corpus message", file=sys.stderr)
        return found

    def named(self) -> list[str]:
        """Every corpus message the file names, in order, once each."""
        names: dict[str, None] = {}
        for literal in self.source.literals:
            names.update(dict.fromkeys(self.messages(literal)))
        return list(names)

    def hash_entry(self, message: str) -> dict[str, str]:
        """Return the pairs of ``"message" => { ... }`` (per-message test data)."""
        code = self.source.code
        for match in re.finditer(r"\x00(\d+)\x01\s*=>\s*\{", code):
            if self.messages(self.source.literals[int(match.group(1))]) == [message]:
                entry = self.source.block(match.end(), "{", "}")
                return pairs(split_list(entry), self.source)
        return {}

    def std_reason(self, value: str, message: str) -> str | None:
        """Resolve a ``std_reason`` value: a literal, or ``$x->{key} || 'default'``."""
        plain = self.source.literal(value)
        if plain is not None:
            return plain
        lookup, default = HASH_LOOKUP.search(value), DEFAULT.search(value)
        if lookup is None or default is None:
            print(f"{self.name}: cannot read std_reason {value!r}", file=sys.stderr)
            return None
        bare, index = lookup.groups()
        key = bare if index is None else self.source.literals[int(index)]
        own = self.hash_entry(message).get(key)
        chosen = self.source.literal(own) if own is not None else None
        if chosen is None:
            chosen = self.source.literals[int(default.group(1))]
        return chosen

    def check_reports(self) -> list[tuple[str, Assertion]]:
        """Collect the assertions of ``check_report(FILE, key => value, ...)`` calls."""
        found: list[tuple[str, Assertion]] = []
        code = self.source.code
        for call in re.finditer(r"\bcheck_report\s*\(", code):
            items = split_list(self.source.block(call.end(), "(", ")"))
            if not items:
                continue
            literal = self.source.literal(items[0])
            # A call on a variable ($fn, "t/corpus/$file") is the body of a loop or
            # helper over the messages the file names (glob, list, hash, check_one).
            variable = literal is None or "$" in literal
            targets = self.named() if variable else self.messages(literal or "")
            expect = pairs(items[1:], self.source)
            bounce = expect.get("is_bounce")
            is_bounce = None if bounce is None else bounce.strip() != "0"
            reason = expect.get("std_reason")
            for message in targets:
                std = None if reason is None else self.std_reason(reason, message)
                found.append((message, Assertion(self.name, is_bounce, std)))
        return found

    def readfile_checks(self) -> list[tuple[str, Assertion]]:
        """Collect assertions made after ``readfile(MESSAGE)``, up to the next one."""
        found: list[tuple[str, Assertion]] = []
        code = self.source.code
        reads = list(READFILE.finditer(code))
        for index, read in enumerate(reads):
            end = reads[index + 1].start() if index + 1 < len(reads) else len(code)
            segment = code[read.end() : end]
            ok = OK_IS_BOUNCE.search(segment)
            reason = IS_STD_REASON.search(segment)
            if ok is None and reason is None:
                continue
            assertion = Assertion(
                self.name,
                None if ok is None else ok.group(1) != "!",
                None if reason is None else self.source.literals[int(reason.group(1))],
            )
            literal = self.source.literals[int(read.group(1))]
            found.extend((message, assertion) for message in self.messages(literal))
        return found


def label(text: str, assertions: list[Assertion]) -> str | None:
    """Return the bench reason for a message from its assertions and its text."""
    if any(assertion.is_bounce is False for assertion in assertions):
        return "vacation"
    reasons = {assertion.std_reason for assertion in assertions} - {None}
    if len(reasons) != 1:
        return None
    reason = reasons.pop()
    if reason == "domain_error":
        return "rejected" if RELAY_REFUSED.search(text) else "hostunknown"
    if reason == "spam":
        return "blocked" if BLOCK_LIST.search(text) else "spamdetected"
    return SIMPLE_REASONS.get(reason or "")


def main(argv: list[str]) -> int:
    """Print the labels for the tests in ``argv[1]`` (a checkout's ``t`` folder)."""
    if len(argv) != 2:  # noqa: PLR2004 - program name and one argument
        print(f"usage: {argv[0]} BP_CHECKOUT/t > bounceparser.tsv", file=sys.stderr)
        return 2
    tests = Path(argv[1])
    corpus_dir = tests / "corpus"
    corpus = sorted(path.name for path in corpus_dir.glob("*.msg"))
    asserted: dict[str, list[Assertion]] = {}
    for path in sorted(tests.glob("*.t")):
        test = TestFile(path, corpus)
        for message, assertion in test.check_reports() + test.readfile_checks():
            asserted.setdefault(message, []).append(assertion)
    labelled = 0
    for message in corpus:
        text = (corpus_dir / message).read_text(encoding="latin-1")
        reason = label(text, asserted.get(message, []))
        if reason is not None:
            print(f"{message}\t{reason}")
            labelled += 1
    skipped = len(corpus) - labelled
    print(
        f"{labelled} labelled, {skipped} of {len(corpus)} messages skipped",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
