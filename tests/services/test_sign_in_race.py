"""Issue 28 (N4): concurrent wrong sign-ins for one account cannot bypass the lockout or
run a 64 MiB Argon2 check each. 40 threads sign in at once, as the web app's thread pool
would run 40 simultaneous POSTs to /admin/login; the password check is counted."""

from __future__ import annotations

import logging
import threading
from collections import Counter
from datetime import datetime

import pytest
from sqlalchemy import Engine

from syndication.core.passwords import verify_password
from syndication.services import users

PASSWORD = "the right passphrase"
ATTEMPTS = 40


class CountingChecks:
    """Wraps the password check: how many ran, and the most at once."""

    def __init__(self, check: object) -> None:
        self.check, self.calls, self.running, self.most = check, 0, 0, 0
        self.lock = threading.Lock()

    def __call__(self, stored: str | None, password: str) -> bool:
        with self.lock:
            self.calls += 1
            self.running += 1
            self.most = max(self.most, self.running)
        try:
            return bool(self.check(stored, password))  # type: ignore[operator]
        finally:
            with self.lock:
                self.running -= 1


def race(engine: Engine, now: datetime, passwords: list[str]) -> Counter[str]:
    start = threading.Barrier(len(passwords))
    outcomes: Counter[str] = Counter()

    def one(password: str, n: int) -> None:
        start.wait()
        result = users.sign_in(engine, "op@example.org", password, f"127.0.3.{n % 3}", now)
        outcomes[result.outcome.value] += 1

    threads = [threading.Thread(target=one, args=(p, n)) for n, p in enumerate(passwords)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return outcomes


def test_forty_concurrent_guesses_cost_five_checks_two_at_a_time_and_unlock_lifts_the_lock(
    engine: Engine, now: datetime, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    users.add_user(engine, "op@example.org", "operator", PASSWORD, now)
    checks = CountingChecks(verify_password)
    monkeypatch.setattr(users, "verify_password", checks)
    caplog.set_level(logging.INFO, logger="syndication.audit")
    # 39 wrong guesses and the right password, all at once.
    outcomes = race(engine, now, [f"wrong guess {i}" for i in range(ATTEMPTS - 1)] + [PASSWORD])
    assert sum(outcomes.values()) == ATTEMPTS
    # LOCKOUT_FAILURES wrong checks, whichever came first, and the right one if it came
    # before the lock (it is no failure); the rest refused unchecked.
    assert outcomes["wrong"] == users.LOCKOUT_FAILURES and outcomes["ok"] <= 1
    assert checks.calls == users.LOCKOUT_FAILURES + outcomes["ok"], f"{checks.calls} checks"
    assert outcomes["locked"] == ATTEMPTS - checks.calls
    assert checks.most <= 1, "one check at a time per account"
    assert len(users._accounts) == 0, "no lock left behind"
    if outcomes["ok"] == 0:  # the right one came after the lock: refused too
        assert users.sign_in(engine, "op@example.org", PASSWORD, "10.0.0.9", now).outcome is (
            users.LoginOutcome.LOCKED
        )
    records = [r.getMessage() for r in caplog.records if r.name == "syndication.audit"]
    assert sum(m.startswith("sign-in failed") for m in records) == outcomes["wrong"]
    assert sum(m.startswith("sign-in refused (locked)") for m in records) >= outcomes["locked"]
    assert any(m.startswith("lock: user=op@example.org after 5") for m in records)
    assert users.unlock(engine, "op@example.org", "admin", now) >= users.LOCKOUT_FAILURES - 1
    ok = users.sign_in(engine, "op@example.org", PASSWORD, "10.0.0.9", now)
    assert ok.outcome is users.LoginOutcome.OK
    assert any(m.startswith("unlock: user=op@example.org by=admin") for m in caplog.messages)


def test_checks_for_many_accounts_at_once_are_bounded_per_server(
    engine: Engine, now: datetime, monkeypatch: pytest.MonkeyPatch
) -> None:
    checks = CountingChecks(verify_password)
    monkeypatch.setattr(users, "verify_password", checks)
    start = threading.Barrier(12)

    def one(n: int) -> None:
        start.wait()
        users.sign_in(engine, f"nobody{n}@example.org", "a wrong guess", f"10.1.0.{n}", now)

    threads = [threading.Thread(target=one, args=(n,)) for n in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert checks.calls == 12 and checks.most <= users.HASH_SLOTS


def test_set_password_lifts_the_lock(engine: Engine, now: datetime) -> None:
    users.add_user(engine, "op@example.org", "operator", PASSWORD, now)
    for i in range(users.LOCKOUT_FAILURES):
        users.sign_in(engine, "op@example.org", f"wrong {i}", "10.0.0.1", now)
    locked = users.sign_in(engine, "op@example.org", PASSWORD, "10.0.0.1", now)
    assert locked.outcome is users.LoginOutcome.LOCKED
    users.set_password(engine, "op@example.org", "a brand new passphrase", now)
    ok = users.sign_in(engine, "op@example.org", "a brand new passphrase", "10.0.0.1", now)
    assert ok.outcome is users.LoginOutcome.OK
