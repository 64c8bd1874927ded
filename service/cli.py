"""The command line: `flask --app service <command>` and `placements <command>` are the same CLI."""
from __future__ import annotations

import sys

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup, with_appcontext
from sqlalchemy import select

from workflows import BundleInvalid, clock

from . import database, migrate, processes
from .models import ORG_TYPES, REGISTRATION_STATUSES, ROLES, ApiToken, Organisation, Provider, User, UserRole
from .security import hash_password, new_token


def register_cli(app: Flask) -> None:
    for command in (init_db, demo_data, create_org, create_user, create_token, deploy, run_timers,
                    scheduler, serve):
        app.cli.add_command(command)


def _fail(message: str) -> None:
    click.echo(f"Error: {message}", err=True)
    sys.exit(1)


@click.command("init-db")
@with_appcontext
def init_db():
    """Create or upgrade the database schema (Alembic migrations)."""
    migrate.upgrade(database.engine())
    click.echo(f"Database is up to date: {database.engine().url.render_as_string(hide_password=True)}")


@click.command("demo-data")
@click.option("--reset", is_flag=True, help="Load even if demo data is already present.")
@with_appcontext
def demo_data(reset: bool):
    """Load the demo organisations, users, providers and cases; prints the demo accounts."""
    from .demo import load_demo
    with database.sessions()() as session:
        accounts = load_demo(session, force=reset)
        session.commit()
    if accounts is None:
        click.echo("Demo data is already loaded (use --reset to load another copy).")
        return
    click.echo("Demo accounts (email / password / roles):")
    for email, password, roles in accounts:
        click.echo(f"  {email:40} {password:20} {', '.join(roles)}")


@click.command("create-org")
@click.argument("name")
@click.option("--type", "org_type", required=True, type=click.Choice(ORG_TYPES))
@click.option("--la", "la_id", type=int, help="Id of the local authority it belongs to.")
@click.option("--registration-status", type=click.Choice(REGISTRATION_STATUSES), default="unregistered",
              help="For a provider: its registration.")
@with_appcontext
def create_org(name: str, org_type: str, la_id: int | None, registration_status: str):
    """Create an organisation and print its id (a provider is also its directory entry)."""
    if not name.strip():
        _fail("NAME must not be empty")
    with database.sessions()() as session:
        if la_id is not None:
            la = session.get(Organisation, la_id)
            if la is None or la.type != "la":
                _fail(f"--la {la_id} is not a local authority")
        org = Organisation(name=name.strip(), type=org_type, la_id=la_id, created_at=clock.now())
        session.add(org)
        session.flush()
        if org_type == "provider":
            session.add(Provider(id=org.id, registration_status=registration_status, la_training_attended=True,
                                 services=[]))
        session.commit()
        click.echo(org.id)


@click.command("create-user")
@click.argument("email")
@click.option("--role", "roles", required=True, multiple=True, type=click.Choice(ROLES),
              help="Role key; repeat for several.")
@click.option("--org", "org_id", type=int, help="Id of the user's organisation.")
@click.option("--password", help="Password (prompted if not given).")
@click.option("--name", default="", help="The person's name.")
@with_appcontext
def create_user(email: str, roles: tuple[str, ...], org_id: int | None, password: str | None, name: str):
    """Create a user with one or more roles."""
    email = email.strip().lower()
    if "@" not in email:
        _fail(f"'{email}' is not an email address")
    with database.sessions()() as session:
        if session.scalar(select(User).where(User.email == email)):
            _fail(f"a user with email {email} already exists")
        if org_id is not None and session.get(Organisation, org_id) is None:
            _fail(f"--org {org_id}: no such organisation (create it with create-org)")
        if org_id is None and set(roles) - {"admin", "process_owner"}:
            _fail("--org is required for this role")
        if password is None:
            password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
        if len(password) < 8:
            _fail("the password must be at least 8 characters")
        user = User(email=email, name=name, password_hash=hash_password(password), organisation_id=org_id,
                    created_at=clock.now(), role_rows=[UserRole(role=r) for r in dict.fromkeys(roles)])
        session.add(user)
        session.commit()
        click.echo(f"Created user {user.id}: {email} ({', '.join(roles)})")


@click.command("create-token")
@click.argument("email")
@with_appcontext
def create_token(email: str):
    """Print a new API token for a user (shown once; only its hash is stored)."""
    with database.sessions()() as session:
        user = session.scalar(select(User).where(User.email == email.strip().lower()))
        if user is None:
            _fail(f"no user with email {email}")
        token, digest = new_token()
        session.add(ApiToken(user_id=user.id, token_hash=digest, created_at=clock.now()))
        session.commit()
    click.echo(token)


@click.command("deploy")
@click.argument("path")
@click.option("--note", default="", help="What changed in this version.")
@click.option("--if-changed", is_flag=True, help="Do nothing when the latest version has the same files.")
@with_appcontext
def deploy(path: str, note: str, if_changed: bool):
    """Deploy a BPMN bundle (a .bpmn file or a folder) as a new version; prints the version."""
    try:
        files = processes.read_bundle_path(path)
        with database.sessions()() as session:
            if if_changed and (same := processes.identical_version(session, files)) is not None:
                click.echo(f"{same.model.key} version {same.number} is already deployed with these files")
                return
            version = processes.deploy(session, files, note=note)
            session.commit()
            click.echo(f"Deployed {version.model.key} version {version.number}")
    except BundleInvalid as invalid:
        click.echo(f"Error: {path} was not deployed; fix these problems:", err=True)
        for problem in invalid.problems:
            where = f"{problem.file}: " if problem.file else ""
            element = f"element '{problem.element_id}': " if problem.element_id else ""
            click.echo(f"  - {where}{element}{problem.message}", err=True)
        sys.exit(1)


@click.command("run-timers")
@with_appcontext
def run_timers():
    """Fire every timer that is due now, once, and print how many fired."""
    from .timers import run_due_timers
    fired = run_due_timers(current_app)
    click.echo(f"{fired} timer(s) fired")


@click.command("scheduler")
@with_appcontext
def scheduler():
    """Run the timer scheduler in the foreground (Ctrl+C stops it)."""
    from .scheduler import run_foreground
    run_foreground(current_app)


@click.command("serve")
@click.option("--host", default="127.0.0.1")
@click.option("--port", default=5000, type=int)
@click.option("--no-scheduler", is_flag=True, help="Serve pages only.")
def serve(host: str, port: int, no_scheduler: bool):
    """Serve the web app with the timer scheduler in the same process."""
    from . import create_app
    app = create_app({"START_SCHEDULER": not no_scheduler})
    click.echo(f"Placements is running on http://{host}:{port}/ (Ctrl+C to stop)")
    # Flask refuses app.run() inside its own CLI; serve with Werkzeug directly (one process, so
    # exactly one scheduler). For production, run the WSGI app under gunicorn and `placements scheduler`.
    from werkzeug.serving import run_simple
    run_simple(host, port, app, threaded=True, use_reloader=False)


def main() -> None:
    """Console script `placements`."""
    from . import create_app
    FlaskGroup(create_app=lambda: create_app(), add_default_commands=False,
               help="Placements: alternative provision placements workflow.")(prog_name="placements")
