"""`viko user ...` (accounts: add, list, remove, passwd, token, revoke), `viko visibility`
(who may see a document) and `viko audit` (who changed what). Whoever runs them holds the
data directory, so they act as the operator; each change goes to the audit log."""

from __future__ import annotations

import sys

import click

from viko.cli_common import Context, fail, pass_ctx

OPERATOR_NAME = "cli"


def _password(from_stdin: bool) -> str:
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    return str(password)


@click.group("user")
def user_group() -> None:
    """Accounts for the web pages and the API: add, list, remove, passwd, token, revoke."""


@user_group.command("add")
@click.argument("name")
@click.option("--role", required=True, type=click.Choice(["reader", "editor", "organiser", "admin"]),
              help="reader: internal documents; editor: also imports and decisions; organiser: also "
                   "matchmaking and the planner; admin: everything, every document.")
@click.option("--group", "groups", multiple=True, help="A group whose group:NAME documents the user may read (repeat).")
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of standard input.")
@pass_ctx
def user_add(c: Context, name: str, role: str, groups: tuple[str, ...], password_stdin: bool) -> None:
    """Create the account NAME (the password is hashed with argon2)."""
    from viko.corpus.access import AccessError
    from viko.corpus.accounts import Accounts
    from viko.runtime import open_catalogue

    password = _password(password_stdin)
    with open_catalogue(c.settings) as cat:
        accounts = Accounts(cat)
        try:
            user = accounts.add(name, role, password, groups)
        except AccessError as exc:
            fail(str(exc), 2)
        accounts.audit(OPERATOR_NAME, "user add", user.name, f"{user.role} {','.join(user.groups)}".strip())
    click.echo(f"added {user.name} ({user.role}{', groups ' + ', '.join(user.groups) if user.groups else ''})")


@user_group.command("list")
@pass_ctx
def user_list(c: Context) -> None:
    """Every account: name, role, groups, created."""
    from viko.corpus.accounts import Accounts
    from viko.runtime import open_catalogue

    with open_catalogue(c.settings) as cat:
        for u in Accounts(cat).users():
            click.echo(f"{u.name}\t{u.role}\t{','.join(u.groups) or '-'}\t{u.created_at}")


@user_group.command("remove")
@click.argument("name")
@pass_ctx
def user_remove(c: Context, name: str) -> None:
    """Delete an account (its tokens and sessions stop working)."""
    from viko.corpus.accounts import Accounts
    from viko.runtime import open_catalogue

    with open_catalogue(c.settings) as cat:
        accounts = Accounts(cat)
        if not accounts.remove(name):
            fail(f"no user {name!r}", 2)
        accounts.audit(OPERATOR_NAME, "user remove", name)
    click.echo(f"removed {name}")


@user_group.command("passwd")
@click.argument("name")
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of standard input.")
@pass_ctx
def user_passwd(c: Context, name: str, password_stdin: bool) -> None:
    """Set a new password (the user's open sessions end)."""
    from viko.corpus.access import AccessError
    from viko.corpus.accounts import Accounts
    from viko.runtime import open_catalogue

    password = _password(password_stdin)
    with open_catalogue(c.settings) as cat:
        accounts = Accounts(cat)
        try:
            changed = accounts.set_password(name, password)
        except AccessError as exc:
            fail(str(exc), 2)
        if not changed:
            fail(f"no user {name!r}", 2)
        accounts.audit(OPERATOR_NAME, "user passwd", name)
    click.echo(f"password changed for {name}")


@user_group.command("token")
@click.argument("name")
@click.option("--label", default="", help="What the token is for (kept beside its digest).")
@pass_ctx
def user_token(c: Context, name: str, label: str) -> None:
    """Print a new API token for NAME (send it as `Authorization: Bearer TOKEN`); only its
    digest is stored, so it is shown once."""
    from viko.corpus.access import AccessError
    from viko.corpus.accounts import Accounts
    from viko.runtime import open_catalogue

    with open_catalogue(c.settings) as cat:
        accounts = Accounts(cat)
        try:
            token = accounts.new_token(name, label)
        except AccessError as exc:
            fail(str(exc), 2)
        accounts.audit(OPERATOR_NAME, "token issued", name, label)
    click.echo(token)


@user_group.command("revoke")
@click.argument("name")
@pass_ctx
def user_revoke(c: Context, name: str) -> None:
    """Revoke every API token of NAME."""
    from viko.corpus.accounts import Accounts
    from viko.runtime import open_catalogue

    with open_catalogue(c.settings) as cat:
        accounts = Accounts(cat)
        n = accounts.revoke_tokens(name)
        accounts.audit(OPERATOR_NAME, "tokens revoked", name, str(n))
    click.echo(f"revoked {n} token{'s' if n != 1 else ''} of {name}")


@click.command("visibility")
@click.argument("doc_id")
@click.argument("visibility")
@pass_ctx
def visibility_cmd(c: Context, doc_id: str, visibility: str) -> None:
    """Set who may see DOC_ID: public, internal or group:NAME (search follows at once)."""
    from viko.corpus.access import AccessError, parse_visibility
    from viko.corpus.accounts import Accounts
    from viko.runtime import open_catalogue

    try:
        value = parse_visibility(visibility)
    except AccessError as exc:
        fail(str(exc), 2)
    with open_catalogue(c.settings) as cat:
        if not cat.set_visibility(doc_id, value):
            fail(f"no document with id {doc_id!r}", 2)
        Accounts(cat).audit(OPERATOR_NAME, "visibility", doc_id, value)
    click.echo(f"{doc_id}: {value}")


@click.command("audit")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 100_000))
@pass_ctx
def audit_cmd(c: Context, limit: int) -> None:
    """Who changed what, newest first."""
    from viko.corpus.accounts import Accounts
    from viko.runtime import open_catalogue

    with open_catalogue(c.settings) as cat:
        for e in Accounts(cat).audit_log(limit):
            click.echo("\t".join((e.at, e.actor, e.action, e.target, e.detail)))


def register(main: click.Group) -> None:
    main.add_command(user_group)
    main.add_command(visibility_cmd)
    main.add_command(audit_cmd)
