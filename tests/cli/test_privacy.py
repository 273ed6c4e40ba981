"""``subscribers export-person`` and ``subscribers erase`` as an operator runs them."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support.processes import syndication


def test_export_person_then_erase_then_the_address_is_refused(
    tmp_path: Path, empty_database_url: str
) -> None:
    def run(*args: str) -> tuple[int, str, str]:
        done = syndication(*args, cwd=tmp_path, database_url=empty_database_url)
        return done.returncode, done.stdout, done.stderr

    assert run("init")[0] == 0
    code, _, err = run(
        "subscribers", "add", "Kim@Example.org", "--list", "weekly-city", "--name", "Kim",
        "--confirmed",
    )  # fmt: skip
    assert code == 0, err

    code, out, err = run("subscribers", "export-person", "KIM@example.org")
    assert code == 0, err
    data = json.loads(out)  # standard output is the JSON and nothing else
    assert data["subscriber"]["email"] == "kim@example.org"
    assert data["subscriber"]["name"] == "Kim"
    assert data["lists"] == ["weekly-city"]
    [consent] = data["consent_records"]
    assert consent["method"] == "command line"
    assert consent["origin"].startswith("subscribers add --confirmed by ")

    code, out, err = run("subscribers", "erase", "kim@example.org")
    assert code == 0, err
    assert out.startswith("kim@example.org: erased (consent_records 1, subscribers 1, ")
    assert "only its keyed hash is kept" in out

    code, out, err = run("subscribers", "add", "kim@example.org", "--list", "weekly-city")
    assert code == 2
    assert err.strip().endswith(
        "error: kim@example.org: kim@example.org was erased at the person's request "
        "(subscribers erase) and is never re-added"
    )
    (tmp_path / "old.csv").write_text("email,name,lists\nKim@example.org,Kim,weekly-city\n")
    code, out, err = run("subscribers", "import", "old.csv", "--confirmed")
    assert code == 1
    assert "old.csv:2: email: kim@example.org was erased" in err
    assert "0 added, 0 updated, 1 rejected" in out

    code, out, err = run("subscribers", "export-person", "kim@example.org")
    assert code == 0, err
    data = json.loads(out)
    assert data["subscriber"] is None and data["erased"]["reason"] == "erased"
    assert "kim@" not in data["erased"]["address_hash"]

    code, out, err = run("subscribers", "export-person", "nobody@example.org")
    assert code == 0 and json.loads(out)["held"] is False
    assert "note: nothing is held about nobody@example.org" in err
    code, out, err = run("subscribers", "erase", "not-an-address")
    assert code == 2 and "error: 'not-an-address':" in err and out == ""
