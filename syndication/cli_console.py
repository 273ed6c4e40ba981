"""The console's commands: ``users …`` and ``digest approve|hold|resume|cancel``.

Kept apart from :mod:`syndication.cli` so that the layout move (issue 13) can take them
to ``cli/users.py`` and ``cli/digests.py`` as they are. Each command imports what it uses
when it runs, so ``syndication --help`` stays quick.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.console import Console

from syndication.errors import InputError

out = Console(highlight=False, soft_wrap=True)

users_app = typer.Typer(help="People who may sign in to the /admin console.", no_args_is_help=True)

Role = Annotated[str, typer.Option("--role", help="operator (may act) or viewer (may only look)")]
PasswordStdin = Annotated[
    bool,
    typer.Option(
        "--password-stdin", help="Read the password from the first line of standard input"
    ),
]


def _password(from_stdin: bool) -> str:
    if from_stdin:
        line = sys.stdin.readline()
        if not line:
            raise InputError("--password-stdin: standard input was empty")
        return line.rstrip("\r\n")
    value = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    return str(value)


@users_app.command("add")
def users_add(
    ctx: typer.Context,
    email: Annotated[str, typer.Argument(help="The user's e-mail address (their login)")],
    role: Role = "viewer",
    password_stdin: PasswordStdin = False,
) -> None:
    """Add a console user (a viewer unless --role operator)."""
    from syndication.cli import _context
    from syndication.jobs import utc_now
    from syndication.services import users

    c = _context(ctx)
    from syndication.store.users import check_role, normalise_user_email

    normalise_user_email(email)
    check_role(role)
    user = users.add_user(c.engine, email, role, _password(password_stdin), utc_now())
    out.print(f"{user.email}: added as {user.role}")


@users_app.command("list")
def users_list(ctx: typer.Context) -> None:
    """Show every console user and their role."""
    from syndication.cli import _context
    from syndication.services import users

    found = users.list_users(_context(ctx).engine)
    if not found:
        out.print("no users yet; add one with 'syndication users add EMAIL --role operator'")
    for user in found:
        out.print(f"{user.email:<40} {user.role:<9} since {user.created_at:%Y-%m-%d}")


@users_app.command("remove")
def users_remove(
    ctx: typer.Context, email: Annotated[str, typer.Argument(help="The user's address")]
) -> None:
    """Remove a user; their open sessions end at once."""
    from syndication.cli import _context
    from syndication.services import users

    users.remove_user(_context(ctx).engine, email)
    out.print(f"{email.strip().lower()}: removed; signed out everywhere")


@users_app.command("set-password")
def users_set_password(
    ctx: typer.Context,
    email: Annotated[str, typer.Argument(help="The user's address")],
    password_stdin: PasswordStdin = False,
) -> None:
    """Give a user a new password; their open sessions end."""
    from syndication.cli import _context
    from syndication.jobs import utc_now
    from syndication.services import users

    c = _context(ctx)
    users.set_password(c.engine, email, _password(password_stdin), utc_now())
    out.print(f"{email.strip().lower()}: password changed; signed out everywhere")


ListArg = Annotated[str, typer.Argument(metavar="LIST", help="The list's slug")]
PeriodArg = Annotated[
    str, typer.Argument(metavar="PERIOD", help="The digest's period key (YYYY-MM-DD)")
]


def _act(ctx: typer.Context, action: str, list_slug: str, period: str) -> None:
    import getpass

    from syndication.cli import _context
    from syndication.jobs import utc_now
    from syndication.services import approval

    c = _context(ctx)
    by = f"{getpass.getuser()} (command line)"
    work = {
        "approve": approval.approve,
        "hold": approval.hold,
        "resume": approval.resume,
        "cancel": approval.cancel,
    }[action]
    result = work(c.settings, c.engine, list_slug, period, by, utc_now())
    counts = ", ".join(f"{n} {s}" for s, n in sorted(result.deliveries.items())) or "none"
    extra = f"; {result.skipped} unsent deliveries cancelled" if result.skipped else ""
    out.print(
        f"{list_slug} {period}: {result.before} -> {result.after}{extra} (deliveries: {counts})"
    )


def register(app: typer.Typer, digest_app: typer.Typer) -> None:
    """Add the console's commands to the ``syndication`` command."""
    app.add_typer(users_app, name="users")

    @digest_app.command("approve")
    def digest_approve(ctx: typer.Context, list_slug: ListArg, period: PeriodArg) -> None:
        """Approve a held digest of a manual-approval list; it goes out with the next send."""
        _act(ctx, "approve", list_slug, period)

    @digest_app.command("hold")
    def digest_hold(ctx: typer.Context, list_slug: ListArg, period: PeriodArg) -> None:
        """Stop a digest: nothing more of it is sent until it is resumed."""
        _act(ctx, "hold", list_slug, period)

    @digest_app.command("resume")
    def digest_resume(ctx: typer.Context, list_slug: ListArg, period: PeriodArg) -> None:
        """Let a held digest go on: exactly its unsent deliveries are sent."""
        _act(ctx, "resume", list_slug, period)

    @digest_app.command("cancel")
    def digest_cancel(ctx: typer.Context, list_slug: ListArg, period: PeriodArg) -> None:
        """Cancel a digest: nothing more of it is ever sent."""
        _act(ctx, "cancel", list_slug, period)
