"""The file transport's names: one file per recipient, whatever the address holds."""

from __future__ import annotations

from pathlib import Path

from syndication.edges.transport import Envelope, FileTransport, safe_file_name


def test_addresses_that_differ_only_in_punctuation_get_their_own_files(tmp_path: Path) -> None:
    # a+b@, a_b@ and a=b@ used to be one file: 4 deliveries sent, 2 files (issue 15 item 14).
    addresses = ["a+b@example.org", "a_b@example.org", "a=b@example.org", "a b@example.org"]
    transport = FileTransport(tmp_path)
    for address in addresses:
        transport.send(Envelope("n@example.org", address, b"x", ("l", "2026-11-16"), address))
    files = sorted(p.name for p in (tmp_path / "l" / "2026-11-16").iterdir())
    assert len(files) == len(addresses)


def test_file_names_are_injective_and_safe() -> None:
    texts = [
        "a+b@x.org", "a_b@x.org", "a=b@x.org", "a_2Bb@x.org", "", "_", "..", ".hidden",
        "../etc/passwd", "한국@x.org", "x" * 300, "x" * 299 + "y", "a/b", "a\\b", "a\x00b",
    ]  # fmt: skip
    names = [safe_file_name(t) for t in texts]
    assert len(set(names)) == len(texts)
    for name in names:
        assert name and "/" not in name and "\\" not in name and "\x00" not in name
        assert not name.startswith(".") and len(name) <= 150
    assert safe_file_name("reader@example.org") == "reader@example.org"
