"""``users add|list|remove|set-password``: who may sign in to the /admin console."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from syndication.cli.base import cli_actor, context, group, out
from syndication.errors import InputError

users_app = group("users", "People who may sign in to the /admin console.")

Role = Annotated[
    str, typer.Option("--role", metavar="ROLE", help="operator (may act) or viewer (may only look)")
]
PasswordStdin = Annotated[
    bool,
    typer.Option(
        "--password-stdin", help="Read the password from the first line of standard input"
    ),
]
Email = Annotated[
    str, typer.Argument(metavar="EMAIL", help="The user's e-mail address (their login)")
]


def _password(from_stdin: bool) -> str:
    if from_stdin:
        line = sys.stdin.readline()
        if not line:
            raise InputError("--password-stdin: standard input was empty")
        return line.rstrip("\r\n")
    return str(typer.prompt("Password", hide_input=True, confirmation_prompt=True))


@users_app.command("add")
def users_add(
    ctx: typer.Context, email: Email, role: Role = "viewer", password_stdin: PasswordStdin = False
) -> None:
    """Add a console user (a viewer unless --role operator)."""
    from syndication.clock import utc_now
    from syndication.services import users

    c = context(ctx)
    # Checked before the password is asked for, so a typo does not cost a prompt.
    users.normalise_user_email(email)
    users.check_role(role)
    user = users.add_user(
        c.engine, email, role, _password(password_stdin), utc_now(), actor=cli_actor()
    )
    out.print(f"{user.email}: added as {user.role}")


@users_app.command("list")
def users_list(ctx: typer.Context) -> None:
    """Show every console user and their role."""
    from syndication.services import users

    found = users.list_users(context(ctx).engine)
    if not found:
        out.print("no users yet; add one with 'syndication users add EMAIL --role operator'")
    for user in found:
        out.print(f"{user.email:<40} {user.role:<9} since {user.created_at:%Y-%m-%d}")


@users_app.command("remove")
def users_remove(ctx: typer.Context, email: Email) -> None:
    """Remove a user; their open sessions end at once."""
    from syndication.clock import utc_now
    from syndication.services import users

    users.remove_user(context(ctx).engine, email, utc_now(), actor=cli_actor())
    out.print(f"{email.strip().lower()}: removed; signed out everywhere")


@users_app.command("set-password")
def users_set_password(
    ctx: typer.Context, email: Email, password_stdin: PasswordStdin = False
) -> None:
    """Give a user a new password; their open sessions end."""
    from syndication.clock import utc_now
    from syndication.services import users

    c = context(ctx)
    users.set_password(c.engine, email, _password(password_stdin), utc_now(), actor=cli_actor())
    out.print(
        f"{email.strip().lower()}: password changed; signed out everywhere; sign-in lock lifted"
    )


@users_app.command("unlock")
def users_unlock(ctx: typer.Context, email: Email) -> None:
    """Lift a sign-in lock: forget the user's failed sign-ins, so they may sign in now."""
    from syndication.clock import utc_now
    from syndication.services import users

    forgotten = users.unlock(context(ctx).engine, email, cli_actor(), utc_now())
    s = "" if forgotten == 1 else "s"
    out.print(f"{email.strip().lower()}: unlocked ({forgotten} failed sign-in{s} forgotten)")
