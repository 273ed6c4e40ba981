"""Every e-mail template scored by SpamAssassin, as a receiving server would (issue 26).

Debian's ``spamassassin`` (``.ci/run`` installs it) runs in test mode with local rules only
(``-L``: no DNS blocklists, no network), with its preferences and Bayes database in the
test's own folder. A message scores at most 0.0: the +0.7 of HTML_FONT_LOW_CONTRAST (the
preheader's ``color: transparent``) went unnoticed on every digest and confirmation.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support.mail import NAMES, messages

SPAMASSASSIN = shutil.which("spamassassin")
STATUS = re.compile(rb"^X-Spam-Status: .*?score=(-?[0-9.]+).*?tests=(.*?)autolearn", re.M | re.S)

pytestmark = pytest.mark.skipif(
    SPAMASSASSIN is None,
    reason="needs Debian's spamassassin (apt-get install spamassassin; .ci/run does it)",
)


def score(raw: bytes, home: Path) -> tuple[float, list[str]]:
    """SpamAssassin's score of ``raw`` and the rules it hit."""
    assert SPAMASSASSIN is not None
    result = subprocess.run(
        [
            SPAMASSASSIN,
            "-t",
            "-L",
            "--prefspath",
            str(home / "user_prefs"),
            "--cf=use_bayes 0",
            "--cf=bayes_auto_learn 0",
        ],
        input=raw,
        capture_output=True,
        check=True,
        timeout=120,
        env={**os.environ, "HOME": str(home)},
    )
    found = STATUS.search(result.stdout)
    assert found is not None, result.stdout.decode(errors="replace")[:2000]
    rules = [r for r in re.split(rb"[\s,]+", found.group(2)) if r]
    return float(found.group(1)), [r.decode() for r in rules]


@pytest.mark.parametrize("name", NAMES)
def test_every_template_scores_at_most_zero(name: str, tmp_path: Path) -> None:
    points, rules = score(messages()[name], tmp_path)
    assert points <= 0.0, f"SpamAssassin scored the {name} mail {points}: {', '.join(rules)}"
