"""`flask users create|set-password|list|demo-login`: organiser accounts from the terminal."""

from __future__ import annotations

import secrets

import click
from email_validator import EmailNotValidError, validate_email
from flask import current_app
from flask.cli import AppGroup

from eventapp.auth.models import UserRole
from eventapp.auth.services import (
    MAX_PASSWORD_LENGTH,
    MIN_PASSWORD_LENGTH,
    EmailTaken,
    all_users,
    create_user,
    find_user,
    set_password,
    user_count,
)
from eventapp.extensions import db

DEMO_ADMIN_EMAIL = "admin@example.org"


def _checked_email(email: str) -> str:
    try:
        # No SMTPUTF8: the outbox mails this address, and relays cannot be counted on for it.
        return validate_email(
            email.strip(), check_deliverability=False, allow_smtputf8=False
        ).normalized
    except EmailNotValidError as error:
        raise click.BadParameter(str(error), param_hint="EMAIL") from error


def _prompt_password() -> str:
    """Ask for the password twice, hidden, until it is long enough and both match."""
    while True:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
        if MIN_PASSWORD_LENGTH <= len(password) <= MAX_PASSWORD_LENGTH:
            return password
        click.echo(
            f"Error: the password needs {MIN_PASSWORD_LENGTH} to {MAX_PASSWORD_LENGTH} characters.",
            err=True,
        )


users_group = AppGroup("users", help="Manage the organiser accounts of the back office (/admin).")


@users_group.command("create")
@click.argument("email")
@click.option("--admin", is_flag=True, help="Admin role: also manages accounts.")
@click.option("--name", default="", help="The name shown in the back office.")
def create_command(email: str, admin: bool, name: str) -> None:
    """Create an account; the password is asked twice, hidden."""
    email = _checked_email(email)
    if find_user(email) is not None:
        raise click.ClickException(f"an account already exists for {email}")
    password = _prompt_password()
    role = UserRole.ADMIN if admin else UserRole.EDITOR
    try:
        create_user(email, password, name=name, role=role)
    except EmailTaken as error:
        raise click.ClickException(f"an account already exists for {email}") from error
    db.session.commit()
    click.echo(f"Account created: {email} ({role.value}). Sign in at /admin/login.")


@users_group.command("set-password")
@click.argument("email")
def set_password_command(email: str) -> None:
    """Give an account a new password (asked twice, hidden); its sessions end."""
    user = find_user(email)
    if user is None:
        raise click.ClickException(f"no account for {email}")
    set_password(user, _prompt_password())
    db.session.commit()
    click.echo(f"New password set for {user.email}.")


@users_group.command("list")
def list_command() -> None:
    """Print every account with its role and state."""
    for user in all_users():
        state = "active" if user.active else "inactive"
        last = user.last_login_at.isoformat(timespec="minutes") if user.last_login_at else "never"
        click.echo(f"{user.email:<40} {user.role.value:<7} {state:<9} last sign-in: {last}")


@users_group.command("demo-login")
def demo_login_command() -> None:
    """Print how to sign in; with no account at all, create a demo admin with a random password.

    The password is generated and shown once, here: no fixed password ever exists, so a
    database copied elsewhere is not open to a published one. Forgotten? `users set-password`.
    """
    login_url = current_app.config["SITE_URL"].rstrip("/") + "/admin/login"
    if user_count() == 0:
        password = secrets.token_urlsafe(12)
        create_user(DEMO_ADMIN_EMAIL, password, name="Admin (démo)", role=UserRole.ADMIN)
        db.session.commit()
        click.secho(f"  Back office: {login_url}", bold=True)
        click.echo(f"  sign in as {DEMO_ADMIN_EMAIL} with the password {password}")
        click.echo(
            "  (shown once: note it now, or later run "
            f"`flask --app eventapp users set-password {DEMO_ADMIN_EMAIL}`)"
        )
        return
    click.secho(f"  Back office: {login_url}", bold=True)
    demo = find_user(DEMO_ADMIN_EMAIL)
    who = f"as {DEMO_ADMIN_EMAIL}" if demo is not None else "with your account"
    click.echo(
        f"  sign in {who}; forgotten password: `flask --app eventapp users set-password EMAIL`"
    )
