"""``subscribers import`` of an export with history and ``subscribers suppress --from``, as
real processes: what an operator types and reads, and the exit codes."""

from __future__ import annotations

from pathlib import Path

from tests.support.processes import syndication

FIXTURES = Path(__file__).parent.parent / "fixtures" / "imports"


def test_import_history_and_a_suppression_list(tmp_path: Path, empty_database_url: str) -> None:
    def run(*args: str) -> tuple[int, str, str]:
        done = syndication(*args, cwd=tmp_path, database_url=empty_database_url)
        return done.returncode, done.stdout, done.stderr

    assert run("init")[0] == 0
    code, out, _ = run("subscribers", "import", str(FIXTURES / "mailchimp_unsubscribed.csv"))
    assert code == 0
    assert out.strip().endswith(
        "(Mailchimp export of unsubscribed members): 2 added, 0 updated, 0 rejected, "
        "0 confirmation mails sent, 2 on the suppression list"
    )
    # The export of one database is what the import reads back.
    code, out, _ = run("subscribers", "export", "out.csv")
    assert code == 0
    code, out, _ = run("subscribers", "import", "out.csv")
    assert (code, out.strip()) == (
        0,
        "out.csv (subscriber file in this tool's columns): 0 added, 2 updated, 0 rejected, "
        "0 confirmation mails sent, 2 on the suppression list",
    )
    # A listmonk file without --list: the whole file is refused, exit 2, one line.
    code, _, err = run("subscribers", "import", str(FIXTURES / "listmonk_subscribers.csv"))
    assert code == 2
    assert err.strip() == (
        f"error: {FIXTURES / 'listmonk_subscribers.csv'}:1: --list: a listmonk export names "
        "no list: say which list its rows join with --list"
    )
    code, out, err = run(
        "subscribers", "suppress", "--from", str(FIXTURES / "suppression_list.txt")
    )
    assert code == 1  # one bad line, reported; the others are kept
    assert "suppression_list.txt:4: email: 'not an address'" in err
    assert out.strip().endswith("2 put on the suppression list, 1 already on it, 1 rejected")
    code, _, err = run("subscribers", "add", "blocked.one@example.org", "--list", "weekly-city")
    assert (code, err.strip()) == (
        2,
        "error: blocked.one@example.org: blocked.one@example.org is on the suppression list "
        "and is never re-added",
    )
    code, out, _ = run("subscribers", "restore", "left.us@example.org")
    assert (code, out.strip()) == (0, "left.us@example.org: restored, now unsubscribed")


def test_export_narrowed_by_list_and_status(tmp_path: Path, empty_database_url: str) -> None:
    """``subscribers export --list/--status`` writes what the console's subscribers page
    shows for the same filter; without them, everyone and the suppressed addresses."""

    def run(*args: str) -> tuple[int, str, str]:
        done = syndication(*args, cwd=tmp_path, database_url=empty_database_url)
        return done.returncode, done.stdout, done.stderr

    assert run("init")[0] == 0
    assert run("subscribers", "add", "city.one@example.org", "--list", "weekly-city")[0] == 0
    assert run("subscribers", "add", "city.two@example.org", "--list", "weekly-city")[0] == 0
    assert run("subscribers", "add", "world@example.org", "--list", "weekly-international")[0] == 0
    assert run("subscribers", "remove", "city.two@example.org")[0] == 0
    (tmp_path / "never.txt").write_text("never@example.org\n")
    assert run("subscribers", "suppress", "--from", "never.txt")[0] == 0

    def emails(*args: str) -> list[str]:
        code, out, err = run("subscribers", "export", *args)
        assert code == 0, err
        return [line.split(",")[0] for line in out.splitlines()[1:]]

    assert emails() == [
        "city.one@example.org",
        "city.two@example.org",
        "world@example.org",
        "never@example.org",
    ]
    assert emails("--list", "weekly-city", "--status", "pending") == ["city.one@example.org"]
    assert emails("--list", "weekly-city", "--status", "active") == []
    assert emails("--status", "unsubscribed") == ["city.two@example.org"]
    code, out, _ = run("subscribers", "export", "--list", "weekly-international", "w.csv")
    assert (code, out.strip()) == (0, "w.csv: 1 rows")
    code, _, err = run("subscribers", "export", "--list", "weekly-nowhere")
    assert code == 1 and "weekly-nowhere" in err
    code, _, err = run("subscribers", "export", "--status", "happy")
    assert code == 2 and "--status 'happy': one of" in err
