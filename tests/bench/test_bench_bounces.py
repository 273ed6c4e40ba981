"""The bounce bench and its label converter, on a corpus and test tables written here."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.core.test_bounce_formats import EXIM, JMRP, QMAIL_FULL, SENDMAIL

ROOT = Path(__file__).resolve().parents[2]

# A Sisimai-style expectation table, written for this test.
TABLE = """use strict;
my $enginename = 'Neko';
my $isexpected = {
    # INDEX => [['D.S.N.', 'replycode', 'REASON', 'hardbounce'], [...]]
    '01' => [['5.1.1',   '550', 'userunknown',     1]],
    '02' => [['4.2.2',   '450', 'mailboxfull',     0],
             ['5.1.1',   '550', 'userunknown',     1]],
    '03' => [['5.7.1',   '550', 'badreputation',   0]],
    '04' => [['',        '',    'feedback',        0, 'abuse']],
};
"""


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, capture_output=True, text=True, check=False
    )


def test_sisimai_tables_become_labels_in_our_vocabulary(tmp_path: Path) -> None:
    (tmp_path / "650-lhost-neko.t").write_text(TABLE)
    (tmp_path / "000-compile.t").write_text("use strict;\n")
    done = run("bench/sisimai_labels.py", str(tmp_path))
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "lhost-neko-01.eml\tuserunknown\tuserunknown",
        "lhost-neko-02.eml\tmailboxfull\tmailboxfull",  # the first recipient's result
        "lhost-neko-03.eml\tblocked\tbadreputation",
        "lhost-neko-04.eml\tfeedback/abuse\tfeedback",
    ]


# BounceParser-style tests, written for this test: a fixed message, a loop over a glob, and
# a test that reads a message itself.
BP_TESTS = {
    "quota.t": """use Test::More;
foreach my $fn (glob("t/corpus/quota*.msg")) {
    check_report($fn, is_bounce => 1, std_reason => 'over_quota');
}
""",
    "relay.t": """use Test::More;
check_report('t/corpus/relay.msg', is_bounce => 1, std_reason => 'domain_error');
check_report('t/corpus/nxdomain.msg', is_bounce => 1, std_reason => 'domain_error');
""",
    "reply.t": """use Test::More;
my $bounce = Mail::DeliveryStatus::BounceParser->new(readfile('t/corpus/away.msg'));
ok(!$bounce->is_bounce, "an out-of-office reply is no bounce");
my $other = Mail::DeliveryStatus::BounceParser->new(readfile('t/corpus/odd.msg'));
is($other->is_bounce, 1, "a bounce, but with no reason asserted");
""",
}
BP_MESSAGES = {
    "quota-1.msg": "552 mailbox full",
    "quota-2.msg": "452 over quota",
    "relay.msg": "550 relaying denied",
    "nxdomain.msg": "Host or domain name not found",
    "away.msg": "I am away",
    "odd.msg": "something failed",
}


def test_bounceparser_tests_become_labels_in_our_vocabulary(tmp_path: Path) -> None:
    (tmp_path / "corpus").mkdir()
    for name, text in BP_TESTS.items():
        (tmp_path / name).write_text(text)
    for name, text in BP_MESSAGES.items():
        (tmp_path / "corpus" / name).write_text(f"Subject: x\n\n{text}\n")
    done = run("bench/bounceparser_labels.py", str(tmp_path))
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "away.msg\tvacation",
        "nxdomain.msg\thostunknown",
        "quota-1.msg\tmailboxfull",
        "quota-2.msg\tmailboxfull",
        "relay.msg\trejected",  # BounceParser's domain_error, but the message refuses to relay
    ]
    assert "5 labelled, 1 of 6 messages skipped" in done.stderr


def test_the_bench_prints_the_confusion_table_and_the_goals(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name, data in (
        ("a.eml", EXIM),
        ("b.eml", QMAIL_FULL),
        ("c.eml", SENDMAIL),
        ("d.eml", JMRP),
    ):
        (corpus / name).write_bytes(data)
    labels = tmp_path / "labels.tsv"
    labels.write_text(
        "# file\treason\n"
        "a.eml\tuserunknown\n"
        "b.eml\tmailboxfull\n"
        "c.eml\tuserunknown\n"  # deliberately wrong: read as blocked, so counted as a miss
        "d.eml\tfeedback/abuse\n"
        "missing.eml\tvacation\n"
    )
    done = run("bench/bench_bounces.py", str(corpus), str(labels), "--show", "suppress:alarm-only")
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "4 labelled reports read (1 labelled files not in the corpus)" in out
    assert "address gone, suppressed at once      1 of 2       50.0%" in out
    assert "complaints, unsubscribed              1 of 1      100.0%" in out
    assert "action class agrees                   3 of 4       75.0%" in out
    assert "c.eml\tsuppress:alarm-only\tlabel userunknown\tours blocked" in out


def test_a_labels_file_with_an_unknown_reason_is_refused(tmp_path: Path) -> None:
    labels = tmp_path / "labels.tsv"
    labels.write_text("a.eml\tuser-unknown\n")
    done = run("bench/bench_bounces.py", str(tmp_path), str(labels))
    assert done.returncode == 1
    assert f"{labels}:1: expected 'file<TAB>reason'" in done.stderr
