"""The shipped nginx site in front of a real ``syndication serve``, as in production: the
clients nginx sees are counted apart, ``/metrics`` stays inside, the console's cookies
are ``Secure`` over nginx's TLS port, and feeds are answered from nginx's cache (issue
29: through the README's block every visitor was 127.0.0.1, ``/metrics`` answered anyone
and no cookie was ``Secure``).

Clients connect from different loopback addresses (127.0.0.2, 127.0.0.3): to nginx they
are two machines, to ``serve`` both arrive from nginx at 127.0.0.1.
"""

from __future__ import annotations

import http.client
import os
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

import pytest

from tests.support import nginx
from tests.support.net import free_port
from tests.support.processes import syndication

SECRET = "test-secret-key-not-for-production"
PASSWORD = "correct horse battery"


@dataclass
class Site:
    proxy: nginx.Nginx
    upstream: int


@pytest.fixture
def site(tmp_path: Path, database_url: str) -> Iterator[Site]:
    upstream = free_port()
    configured = nginx.configure(tmp_path / "proxy", upstream_port=upstream)
    (tmp_path / "syndication.toml").write_text(
        '[web]\ntrusted_proxies = ["127.0.0.1"]\n', encoding="utf-8"
    )
    added = syndication(
        "users", "add", "editor@example.org", "--role", "operator", "--password-stdin",
        cwd=tmp_path, database_url=database_url, stdin=f"{PASSWORD}\n",
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    env = {k: v for k, v in os.environ.items() if not k.startswith("SYNDICATION_")}
    env |= {"SYNDICATION_DATABASE_URL": database_url, "SYNDICATION_SECRET_KEY": SECRET}
    with (tmp_path / "serve.log").open("wb") as log:
        serve = subprocess.Popen(
            [sys.executable, "-m", "syndication", "serve", "--port", str(upstream)],
            cwd=tmp_path,
            env=env,
            stdout=log,
            stderr=log,
        )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{upstream}/healthz"):
                    break
            except OSError:
                assert serve.poll() is None, (tmp_path / "serve.log").read_text()
                assert time.monotonic() < deadline, "syndication serve did not answer"
                time.sleep(0.1)
        nginx.start(configured)
        try:
            yield Site(configured, upstream)
        finally:
            configured.stop()
    finally:
        serve.terminate()
        serve.wait(timeout=10)


@dataclass
class Answer:
    status: int
    headers: list[tuple[str, str]]
    body: str

    def header(self, name: str) -> str:
        return next(value for key, value in self.headers if key.lower() == name.lower())

    def cookies(self) -> list[str]:
        return [value for name, value in self.headers if name.lower() == "set-cookie"]


class Visitor:
    """One machine on the Internet: its own source address, its own cookie jar."""

    def __init__(self, site: Site, source: str) -> None:
        self.site = site
        self.source = source
        self.jar: dict[str, str] = {}
        self.tls = ssl.create_default_context(cafile=str(site.proxy.certificate))
        self.tls.check_hostname = False  # the certificate names news.example.org

    def request(
        self,
        method: str,
        path: str,
        form: dict[str, str] | None = None,
        *,
        port: int | None = None,
        headers: dict[str, str] | None = None,
    ) -> Answer:
        if port is None:
            connection: http.client.HTTPConnection = http.client.HTTPSConnection(
                "127.0.0.1", self.site.proxy.https_port, context=self.tls,
                source_address=(self.source, 0), timeout=30,
            )  # fmt: skip
        else:
            connection = http.client.HTTPConnection(
                "127.0.0.1", port, source_address=(self.source, 0), timeout=30
            )
        sent = {"Host": nginx.SERVER_NAME, **(headers or {})}
        if self.jar:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.jar.items())
        body = None
        if form is not None:
            body = urlencode(form)
            sent["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            connection.request(method, path, body=body, headers=sent)
            response = connection.getresponse()
            answer = Answer(
                response.status, response.getheaders(), response.read().decode(errors="replace")
            )
        finally:
            connection.close()
        for cookie in answer.cookies():
            name, _, rest = cookie.partition("=")
            self.jar[name] = rest.split(";", 1)[0]
        return answer

    def csrf(self, path: str = "/") -> str:
        page = self.request("GET", path)
        assert page.status == 200, page.body
        return page.body.split('name="csrf" value="', 1)[1].split('"', 1)[0]

    def sign_up(self, n: int, **headers: str) -> int:
        token = self.csrf()
        form = {"csrf": token, "email": f"{self.source}-{n}@example.org", "lists": "weekly-city"}
        return self.request("POST", "/subscribe", form, headers=headers).status


def test_clients_nginx_sees_apart_are_counted_apart(site: Site) -> None:
    first, second = Visitor(site, "127.0.0.2"), Visitor(site, "127.0.0.3")
    # serve allows 10 sign-ups per client per 10 minutes.
    assert [first.sign_up(n) for n in range(10)] == [200] * 10
    assert first.sign_up(10) == 429
    # Naming another address does not help: nginx replaces the header.
    assert first.sign_up(11, **{"X-Forwarded-For": "198.51.100.7"}) == 429
    # Before issue 29 this was 429 too: every visitor was nginx's 127.0.0.1.
    assert second.sign_up(0) == 200


def test_metrics_and_hidden_files_stay_inside(site: Site) -> None:
    visitor = Visitor(site, "127.0.0.2")
    for path in ("/metrics", "/metrics/", "/%6Detrics", "/.git/config", "/feeds/.hidden.xml"):
        assert visitor.request("GET", path).status == 404, path
    # And past nginx: serve trusts a proxy now, so loopback alone opens nothing.
    direct = urllib.request.Request(f"http://127.0.0.1:{site.upstream}/metrics")
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(direct)
    refused.value.close()  # the error holds the answer's socket
    assert refused.value.code == 403


def test_cookies_are_secure_over_nginx_tls(site: Site) -> None:
    visitor = Visitor(site, "127.0.0.2")
    # Plain HTTP only moves to https.
    moved = visitor.request("GET", "/admin/login", port=site.proxy.http_port)
    assert moved.status == 301
    assert moved.header("Location") == f"https://{nginx.SERVER_NAME}/admin/login"
    form = visitor.request("GET", "/admin/login")
    (csrf_cookie,) = form.cookies()
    assert secure(csrf_cookie), csrf_cookie
    token = form.body.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    signed_in = visitor.request(
        "POST",
        "/admin/login",
        {"csrf": token, "email": "editor@example.org", "password": PASSWORD, "next": "/admin/"},
    )
    assert signed_in.status == 303, signed_in.body
    (session,) = signed_in.cookies()
    assert session.startswith("syndication_admin=") and secure(session), session
    assert visitor.request("GET", "/admin/").status == 200
    # HSTS keeps browsers on https from now on.
    assert signed_in.header("Strict-Transport-Security").startswith("max-age=")
    # The same serve asked directly over plain http: no Secure (the proxy's word counts).
    with urllib.request.urlopen(f"http://127.0.0.1:{site.upstream}/admin/login") as direct:
        assert not secure(direct.headers["set-cookie"])


def secure(cookie: str) -> bool:
    return "secure" in [part.strip().lower() for part in cookie.split(";")]


def test_feeds_come_from_nginx_cache(site: Site, tmp_path: Path) -> None:
    feed = tmp_path / "feeds" / "all" / "atom.xml"
    feed.parent.mkdir(parents=True)
    feed.write_text('<feed xmlns="http://www.w3.org/2005/Atom"><title>t</title></feed>\n')
    visitor = Visitor(site, "127.0.0.2")
    first = visitor.request("GET", "/feeds/all/atom.xml")
    assert first.status == 200 and first.body.startswith("<feed")
    etag = first.header("ETag")
    revalidated = visitor.request("GET", "/feeds/all/atom.xml", headers={"If-None-Match": etag})
    assert revalidated.status == 304
    # Gone from serve's folder, still fresh in nginx's cache (max-age=300): readers' polls
    # never reach Python.
    feed.unlink()
    assert visitor.request("GET", "/feeds/all/atom.xml").body == first.body
