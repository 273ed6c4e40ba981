"""The bounce verdicts against a labelled corpus: confusion of action classes, per reason.

Usage::

    python bench/bench_bounces.py CORPUS_DIR LABELS [--show CLASS:CLASS] [--list] [--families]

``LABELS`` is a text file, one report a line: ``file<TAB>reason`` (more columns are
ignored, ``#`` starts a comment), ``file`` relative to ``CORPUS_DIR`` and ``reason`` one of
``syndication.core.bounce_reasons.REASONS``. ``bench/sisimai_labels.py`` writes one from
Sisimai's test tables.

Each file is read as the intake reads it (MIME bounds, parser, reasons) and given the
action of ``core/bounce_rules.py``; the expected action is the table's for the label's
reason (an address-gone reason taken as permanent). Whom a report is about is not judged:
the corpus is not signed with our VERP token, so only the verdict (reason -> action) is.

Printed: the confusion table (rows: expected, columns: ours), per-reason agreement, and
the issue's four goals. ``--families`` adds agreement per mail system (the family is the
file name without its number: ``lhost-postfix-07.eml`` -> ``lhost-postfix``), so a rule
that helps one family and hurts another shows; ``--list`` lists every report whose
action class differs, by family, with our reason and its evidence.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import Counter, defaultdict
from pathlib import Path

from syndication.core.bounce_mime import read_message
from syndication.core.bounce_reasons import REASONS
from syndication.core.bounce_reports import parse_report
from syndication.core.bounce_rules import ACTIONS, Action, action_for

CLASSES = [a.value for a in Action] + ["error"]


def read_labels(path: Path) -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        fields = line.split("\t")
        if len(fields) < 2 or fields[1] not in REASONS:
            raise SystemExit(f"{path}:{number}: expected 'file<TAB>reason', got {line!r}")
        rows.append((fields[0], fields[1]))
    return rows


def verdict(data: bytes) -> tuple[str, str, str]:
    """(action class, our reason, evidence) for one raw report."""
    try:
        report = parse_report(read_message(data))
    except Exception as exc:  # noqa: BLE001 - the bench counts what the intake would fail
        return "error", "error", f"{type(exc).__name__}: {exc}"
    return action_for(report.finding, report.action).value, report.reason, report.evidence


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("corpus", type=Path)
    parser.add_argument("labels", type=Path)
    parser.add_argument(
        "--show", action="append", default=[], help="list files EXPECTED:OURS (e.g. count:suppress)"
    )
    parser.add_argument("--list", action="store_true", help="list every disagreement, by family")
    parser.add_argument("--families", action="store_true", help="agreement per mail system")
    args = parser.parse_args(argv)
    families: dict[str, Counter[bool]] = defaultdict(Counter)
    confusion: Counter[tuple[str, str]] = Counter()
    by_reason: dict[str, Counter[str]] = defaultdict(Counter)
    listed: list[str] = []
    missing = 0
    for file, reason in read_labels(args.labels):
        path = args.corpus / file
        if not path.is_file():
            missing += 1
            continue
        expected = ACTIONS[reason].value
        got, ours, evidence = verdict(path.read_bytes())
        confusion[(expected, got)] += 1
        by_reason[reason][ours] += 1
        families[family(file)][expected == got] += 1
        if f"{expected}:{got}" in args.show or (args.list and expected != got):
            listed.append(f"{file}\t{expected}:{got}\tlabel {reason}\tours {ours}\t{evidence}")
    total = sum(confusion.values())
    print(f"{total} labelled reports read ({missing} labelled files not in the corpus)\n")
    width = max(len(c) for c in CLASSES) + 1
    print("expected \\ ours".ljust(14) + "".join(c.rjust(width) for c in CLASSES) + "   total")
    for row in CLASSES[:-1]:
        counts = [confusion[(row, col)] for col in CLASSES]
        if sum(counts):
            print(row.ljust(14) + "".join(str(n).rjust(width) for n in counts) + f"{sum(counts):8}")
    print("\nper reason (label: reports, same reason, same action; our reasons when different)")
    for reason in REASONS:
        found = by_reason.get(reason)
        if not found:
            continue
        n = sum(found.values())
        same_action = sum(c for o, c in found.items() if o in ACTIONS and _same(reason, o))
        others = ", ".join(f"{o} {c}" for o, c in found.most_common() if o != reason)
        print(f"  {reason:18}{n:4}{found[reason]:5}{same_action:5}   {others}")
    print()
    _goals(confusion, total)
    if args.families:
        print("\nper family (reports, action class agrees)")
        for name, agree in sorted(families.items()):
            n = agree[True] + agree[False]
            print(f"  {name:28}{n:4}{agree[True]:5}{agree[True] / n:8.0%}")
    if listed:
        print()
    for line in sorted(listed):
        print(line)
    return 0


def family(file: str) -> str:
    """The mail system a corpus file is a sample of: its name without number and suffix."""
    return re.sub(r"-\d+$", "", Path(file).stem)


def _same(label: str, ours: str) -> bool:
    return ACTIONS[label] is ACTIONS[ours]


def _rate(confusion: Counter[tuple[str, str]], rows: list[str], col: str | None) -> tuple[int, int]:
    n = sum(c for (e, _g), c in confusion.items() if e in rows)
    hit = sum(c for (e, g), c in confusion.items() if e in rows and (g == col if col else e == g))
    return hit, n


def _goals(confusion: Counter[tuple[str, str]], total: int) -> None:
    stay = [Action.COUNT.value, Action.ALARM.value, Action.IGNORE.value]
    lines = [
        ("reader should stay, suppressed", _rate(confusion, stay, "suppress"), "<= 1 %"),
        ("address gone, suppressed at once", _rate(confusion, ["suppress"], "suppress"), ">= 90 %"),
        ("complaints, unsubscribed", _rate(confusion, ["unsubscribe"], "unsubscribe"), ">= 90 %"),
        ("action class agrees", _rate(confusion, CLASSES, None), ">= 85 %"),
    ]
    for name, (hit, n), goal in lines:
        share = hit / n if n else 0.0
        print(f"{name:34}{hit:5} of {n:<5}{share:8.1%}   goal {goal}")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
