"""``deploy/nginx/syndication.conf``: ``nginx -t`` on the shipped file, and the README's
nginx fragments are excerpts of it (issue 29: the README's block lacked X-Forwarded-For)."""

from __future__ import annotations

import re
from pathlib import Path

from tests.support import nginx
from tests.support.net import free_port

README = Path(__file__).resolve().parents[2] / "README.md"


def test_the_shipped_site_passes_nginx_t(tmp_path: Path) -> None:
    configured = nginx.configure(tmp_path, upstream_port=free_port())
    result = nginx.check(configured)
    assert result.returncode == 0, result.stderr
    assert "syntax is ok" in result.stderr and "test is successful" in result.stderr
    # Not even a warning (a conflicting directive, a duplicate zone, a deprecated form).
    assert "[warn]" not in result.stderr and "[emerg]" not in result.stderr, result.stderr


def test_nginx_t_notices_a_broken_copy(tmp_path: Path) -> None:
    # The check above can fail: the same harness refuses a site with a typo in it.
    configured = nginx.configure(tmp_path, upstream_port=free_port())
    site = configured.prefix.parent / "site" / "syndication.conf"
    site.write_text(site.read_text().replace("proxy_cache_lock on;", "proxy_cache_lock maybe;"))
    result = nginx.check(configured)
    assert result.returncode != 0 and "proxy_cache_lock" in result.stderr


def _significant(lines: str) -> list[str]:
    """Directive lines: stripped, with comments and blank lines left out."""
    return [kept for line in lines.splitlines() if (kept := _uncommented(line))]


def _uncommented(line: str) -> str:
    # A '#' inside a quoted regex is not a comment; none of our quoted strings holds one.
    return re.sub(r"\s+#.*$|^\s*#.*$", "", line).strip()


def test_the_readme_shows_what_deploy_ships() -> None:
    shipped = set(_significant(nginx.SITE.read_text(encoding="utf-8")))
    blocks = re.findall(r"```nginx\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
    assert blocks, "the README shows no nginx configuration"
    for block in blocks:
        lines = _significant(block)
        missing = [line for line in lines if line not in shipped]
        assert not missing, f"README nginx lines not in {nginx.SITE.name}: {missing}"
        if any(line.startswith("proxy_pass") for line in lines):
            assert "proxy_set_header X-Forwarded-For $remote_addr;" in lines, block
