"""The `suratdesa` command: schema, villages, clients, and running the API and the worker."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import click
from pydantic import ValidationError

from shared.config import get_settings
from shared.db import session_scope, upgrade_schema
from shared.errors import DomainError, ProfileError, TemplateError
from shared.letters.intake.catalog import load_catalog
from shared.models import Role


def _fail(message: str) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(1)


def refuse_unsafe_production() -> None:
    """With SURATDESA_ENV=production, stop (exit 1) naming every development default still in place."""
    from shared.production import production_problems, village_codes

    settings = get_settings()
    if not settings.is_production:
        return
    problems = production_problems(settings, village_codes(settings))
    if problems:
        _fail("SURATDESA_ENV=production, but this deployment still runs on development defaults:\n"
              + "\n".join(f"  - {problem}" for problem in problems))


@click.group()
def main() -> None:
    """suratdesa: letters for village offices."""
    try:
        get_settings()
    except ValidationError as exc:  # a setting an operator mistyped: name it, no traceback
        _fail("invalid settings:\n" + "\n".join(
            f"  - {'.'.join(str(p) for p in error['loc']).upper()}: {error['msg']}" for error in exc.errors()))


def initialise() -> None:
    """Check the letter templates, bring the schema up to date, create the demo village and keys."""
    from shared import accounts
    from shared.letters.signing.provisioning import ensure_village_keys

    settings = get_settings()
    refuse_unsafe_production()
    try:
        catalog = load_catalog(settings.templates_dir)
    except TemplateError as exc:
        _fail(f"letter template: {exc}")
    upgrade_schema(settings)
    if settings.storage_url:
        from shared.storage.s3 import S3Store

        S3Store.from_settings(settings).ensure_bucket()
    with session_scope(settings) as session:
        try:
            if not settings.is_production:  # production loads its own villages; no demo village there
                accounts.ensure_demo_village(session, letter_types=catalog.types)
        except ProfileError as exc:
            _fail(f"village profile: {exc}")
        ensure_village_keys(session, settings)


@main.command()
def init() -> None:
    """Bring the database schema up to date (idempotent)."""
    initialise()
    click.echo("database is up to date")


@main.group()
def villages() -> None:
    """Manage villages."""


@villages.command("create")
@click.option("--code", required=True, help="Short code used in letter numbers, e.g. Ds.Cjk")
@click.option("--name", required=True, help="Village name without 'Desa', e.g. Cijengkol")
@click.option("--district", required=True, help="Kecamatan, e.g. Caringin")
@click.option("--regency", required=True, help="Kabupaten, e.g. Sukabumi")
@click.option("--province", default="", help="Provinsi, e.g. Jawa Barat")
def villages_create(code: str, name: str, district: str, regency: str, province: str) -> None:
    """Add a village (and its development signing key)."""
    from shared import accounts
    from shared.letters.signing.provisioning import ensure_village_keys

    settings = get_settings()
    with session_scope(settings) as session:
        try:
            village = accounts.create_village(session, code=code, name=name, district=district,
                                              regency=regency, province=province)
        except DomainError as exc:
            _fail(exc.detail)
        ensure_village_keys(session, settings)
    click.echo(f"village {village.code} created")


@villages.command("load")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def villages_load(path: Path) -> None:
    """Create or update a village from its profile file (TOML; see templates/villages/cijengkol.toml)."""
    from shared.letters.signing.provisioning import ensure_village_keys
    from shared.villages import load_village_file, save_village

    settings = get_settings()
    try:
        record = load_village_file(path, letter_types=load_catalog(settings.templates_dir).types)
    except (TemplateError, ProfileError) as exc:
        _fail(f"village profile: {exc}")
    with session_scope(settings) as session:
        village, created = save_village(session, record)
        ensure_village_keys(session, settings)
    click.echo(f"village {village.code} {'created' if created else 'updated'} from {path.name}")


@main.group()
def clients() -> None:
    """Manage API clients (hamlet posts and officials)."""


@clients.command("create")
@click.option("--name", required=True)
@click.option("--role", type=click.Choice([r.value for r in Role]), required=True)
@click.option("--village", "village_code", default=None, help="Village code; optional with one village")
def clients_create(name: str, role: str, village_code: str | None) -> None:
    """Create a client; its token is printed alone on the last line (it is not stored)."""
    from shared import accounts

    with session_scope(get_settings()) as session:
        try:
            village = accounts.find_village(session, village_code)
            _client, token = accounts.create_client(session, name=name, role=Role(role), village=village)
        except DomainError as exc:
            _fail(exc.detail)
    click.echo(f"client {name} ({role}, village {village.code}) created; its token:")
    click.echo(token)


@clients.command("list")
def clients_list() -> None:
    """List clients (never their tokens)."""
    from shared import accounts

    with session_scope(get_settings()) as session:
        for client, village in accounts.list_clients(session):
            state = f"revoked {client.revoked_at:%Y-%m-%d}" if client.revoked_at else "active"
            click.echo(f"{client.name}\t{client.role}\t{village.code}\t{state}")


@clients.command("revoke")
@click.argument("name")
def clients_revoke(name: str) -> None:
    """Refuse a client's token from now on."""
    from shared import accounts

    with session_scope(get_settings()) as session:
        try:
            accounts.revoke_client(session, name)
        except DomainError as exc:
            _fail(exc.detail)
    click.echo(f"client {name} revoked")


@main.group()
def users() -> None:
    """Manage staff users who sign in to the pages (hamlet posts and officials)."""


def _new_password(from_stdin: bool) -> str:
    from shared.staff import generate_password

    if not from_stdin:
        return generate_password()
    return sys.stdin.readline().rstrip("\r\n")


@users.command("create")
@click.option("--username", required=True, help="Lower-case letters, digits, dots and dashes, e.g. pos-cibodas")
@click.option("--name", "full_name", required=True, help='The person\'s full name, e.g. "Siti Aminah"')
@click.option("--role", type=click.Choice([r.value for r in Role]), required=True)
@click.option("--village", "village_code", default=None, help="Village code; optional with one village")
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of stdin")
def users_create(username: str, full_name: str, role: str, village_code: str | None, password_stdin: bool) -> None:
    """Create a staff user; without --password-stdin a strong password is printed alone on the last line."""
    from shared import accounts, staff

    password = _new_password(password_stdin)
    with session_scope(get_settings()) as session:
        try:
            village = accounts.find_village(session, village_code)
            staff.create_user(session, username=username, full_name=full_name, role=Role(role), village=village,
                              password=password)
        except DomainError as exc:
            _fail(exc.detail)
    click.echo(f"user {username} ({role}, village {village.code}) created" + ("" if password_stdin else
                                                                             "; their password:"))
    if not password_stdin:
        click.echo(password)


@users.command("list")
def users_list() -> None:
    """List staff users (never their passwords)."""
    from shared import staff

    with session_scope(get_settings()) as session:
        for user, village in staff.list_users(session):
            state = f"disabled {user.disabled_at:%Y-%m-%d}" if user.disabled_at else "active"
            click.echo(f"{user.username}\t{user.full_name}\t{user.role}\t{village.code}\t{state}")


@users.command("disable")
@click.argument("username")
def users_disable(username: str) -> None:
    """Refuse the user's sign-in and end their sessions at once."""
    from shared import staff

    with session_scope(get_settings()) as session:
        try:
            staff.disable_user(session, username)
        except DomainError as exc:
            _fail(exc.detail)
    click.echo(f"user {username} disabled")


@users.command("reset-password")
@click.argument("username")
@click.option("--password-stdin", is_flag=True, help="Read the new password from the first line of stdin")
def users_reset_password(username: str, password_stdin: bool) -> None:
    """Set a new password (printed alone on the last line unless read from stdin); old sessions end."""
    from shared import staff

    password = _new_password(password_stdin)
    with session_scope(get_settings()) as session:
        try:
            staff.reset_password(session, username, password)
        except DomainError as exc:
            _fail(exc.detail)
    click.echo(f"password of {username} reset" + ("" if password_stdin else "; the new one:"))
    if not password_stdin:
        click.echo(password)


@main.command()
@click.argument("directory", default="samples", type=click.Path(file_okay=False, path_type=Path))
def samples(directory: Path) -> None:
    """Write every letter type's example as a signed PDF into DIRECTORY, one file per type code."""
    from shared.letters.documents.samples import write_samples

    for path in write_samples(directory, get_settings()):
        click.echo(str(path))


@main.command()
@click.option("--host", default="127.0.0.1")
@click.option("--port", default=8000, type=int)
@click.option("--workers", default=2, type=int, help="gunicorn worker processes")
def api(host: str, port: int, workers: int) -> None:
    """Run the HTTP API under gunicorn."""
    refuse_unsafe_production()
    os.execvp(sys.executable, [sys.executable, "-m", "gunicorn", "services.api.wsgi:app",
                               "--logger-class", "services.api.gunicorn_logging.RedactingLogger",
                               "--bind", f"{host}:{port}", "--workers", str(workers),
                               "--timeout", "30", "--graceful-timeout", "10", "--access-logfile", "-"])


@main.command()
@click.option("--concurrency", default=2, type=int)
@click.option("--quiet", is_flag=True, help="No start-up banner (the log lines stay).")
def worker(concurrency: int, quiet: bool) -> None:
    """Run a Celery worker."""
    refuse_unsafe_production()
    os.execvp(sys.executable, [sys.executable, "-m", "celery", *(["--quiet"] if quiet else []),
                               "-A", "services.worker.app", "worker",
                               "--loglevel", "INFO", "--concurrency", str(concurrency),
                               "--without-gossip", "--without-mingle"])


@main.command()
@click.option("--once", is_flag=True, help="One pass, then exit (e.g. from cron).")
def sweeper(once: bool) -> None:
    """Run the sweeper: send again the task of letters left waiting and webhooks due, fail exhausted letters,
    purge old keys."""
    from shared.letters.workflow.sweeper import run_sweeper, sweep
    from shared.logs import configure_logging
    from shared.queue import TaskQueue
    from shared.webhooks.outbox import send_after_commit

    refuse_unsafe_production()
    configure_logging()
    settings = get_settings()
    queue = TaskQueue(settings)
    send_after_commit(queue)  # a letter the sweeper fails makes webhook deliveries too
    if once:
        with session_scope(settings) as session:
            click.echo(str(sweep(session, settings, queue)))
        return
    stopping: list[bool] = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    signal.signal(signal.SIGINT, lambda *_: stopping.append(True))
    run_sweeper(settings, queue, stopping=lambda: bool(stopping))


@main.command("migrate-database")
@click.option("--from", "source_url", required=True, help="The trial's database, e.g. sqlite:////srv/var/suratdesa.db")
def migrate_database(source_url: str) -> None:
    """Copy every row of an embedded trial's database into DATABASE_URL (schema made first; it must be empty)."""
    from shared.db import get_engine, make_engine
    from shared.db_copy import TargetNotEmpty, copy_database

    settings = get_settings()
    if not settings.database_url or settings.database_url == source_url:
        _fail("set DATABASE_URL to the new database (PostgreSQL); --from names the trial's")
    upgrade_schema(settings.model_copy(update={"database_url": source_url}))  # the trial's schema up to date too
    upgrade_schema(settings)
    source = make_engine(source_url)
    try:
        copied = copy_database(source, get_engine(settings))
    except TargetNotEmpty as exc:
        _fail(str(exc))
    finally:
        source.dispose()
    click.echo(", ".join(f"{table} {count}" for table, count in copied.items()))
    click.echo(f"copied into {settings.db_url.split('@')[-1]}; now run `suratdesa migrate-storage`, then `init`")


@main.command("migrate-storage")
@click.option("--from-home", "from_home", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="The SURATDESA_HOME whose files are copied (default: this one's)")
def migrate_storage(from_home: Path | None) -> None:
    """Copy every stored PDF (and attachment) from local files into the STORAGE_URL object store, verified."""
    from shared.storage import open_store
    from shared.storage.local import LocalStore
    from shared.storage.migration import issued_digests, migrate_store

    settings = get_settings()
    if not settings.storage_url:
        _fail("STORAGE_URL is not set: name the object store to copy into, e.g. s3://suratdesa/letters")
    target = open_store(settings)
    getattr(target, "ensure_bucket", lambda: None)()
    with session_scope(settings, read_only=True) as session:
        digests = issued_digests(session)
    report = migrate_store(source=LocalStore((from_home or settings.suratdesa_home).resolve()), target=target,
                           digests=digests)
    for key, problem in sorted(report.problems.items()):
        click.echo(f"{key}: {problem}", err=True)
    click.echo(f"{len(report.copied)} copied, {len(report.present)} already there, {len(report.problems)} problems; "
               f"{len(digests)} issued letters checked against their pdf_sha256")
    if report.problems:
        sys.exit(1)


@main.group()
def audit() -> None:
    """Check the audit trail."""


@audit.command("verify")
def audit_verify() -> None:
    """Check every letter's event chain; name each broken one and its first bad event (exit 1)."""
    from shared.letters.workflow.events import audit_chains

    with session_scope(get_settings(), read_only=True) as session:  # one snapshot, beside the running workers
        checked, broken = audit_chains(session)
    for letter_id, problem in broken:
        click.echo(f"letter {letter_id}: {problem}")
    if broken:
        click.echo(f"{len(broken)} of {checked} letters have a broken event chain", err=True)
        sys.exit(1)
    click.echo(f"{checked} letters checked; every event chain is intact")


def _first_clients() -> list[tuple[str, str, str]]:
    from shared import accounts

    with session_scope(get_settings()) as session:
        if accounts.has_clients(session):
            return []
        village = accounts.find_village(session, None)
        made = []
        for name, role in (("pos-dusun-1", Role.POST), ("petugas-desa", Role.OFFICIAL)):
            _client, token = accounts.create_client(session, name=name, role=role, village=village)
            made.append((name, role.value, token))
        return made


def _first_users() -> list[tuple[str, str, str]]:
    """On first start, one hamlet-post user and one official user to sign in with; their passwords once."""
    from shared import accounts, staff

    with session_scope(get_settings()) as session:
        if staff.has_users(session):
            return []
        village = accounts.find_village(session, None)
        made = []
        for username, full_name, role in (("operator-pos-1", "Operator Pos Dusun 1", Role.POST),
                                          ("kasi-pelayanan", "Kasi Pelayanan", Role.OFFICIAL)):
            password = staff.generate_password()
            staff.create_user(session, username=username, full_name=full_name, role=role, village=village,
                              password=password)
            made.append((username, role.value, password))
        return made


def _stop(children: list[subprocess.Popen[bytes]]) -> None:
    for child in children:
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 15
    for child in children:
        try:
            child.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


def _wait_for_api(url: str, api: subprocess.Popen[bytes], stopping: list[bool], timeout: float = 30) -> None:
    """Until the API at url answers, it stops, or timeout seconds pass."""
    import urllib.request

    deadline = time.monotonic() + timeout
    while not stopping and api.poll() is None and time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except OSError:
            time.sleep(0.2)


@main.command()
@click.option("--host", default="127.0.0.1")
@click.option("--port", default=8000, type=int)
def dev(host: str, port: int) -> None:
    """Init, then run the API, one worker and the sweeper until Ctrl-C or SIGTERM."""
    initialise()
    made = _first_clients()
    people = _first_users()
    me = [sys.executable, "-m", "services.cli"]
    env = dict(os.environ)
    if "public_base_url" not in get_settings().model_fields_set:
        env["PUBLIC_BASE_URL"] = f"http://{host}:{port}"  # QR codes must lead to this very server
    children = [subprocess.Popen([*me, "api", "--host", host, "--port", str(port)], env=env),
                subprocess.Popen([*me, "worker", "--concurrency", "1", "--quiet"], env=env),
                subprocess.Popen([*me, "sweeper"], env=env)]
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    signal.signal(signal.SIGINT, lambda *_: stopping.append(True))
    # The URL and the accounts come last, once the API answers, so that they are what the screen shows.
    _wait_for_api(f"http://{host}:{port}/healthz", children[0], stopping)
    click.echo(f"suratdesa is running at http://{host}:{port} (Ctrl-C stops it)")
    for name, role, token in made:
        click.echo(f"  {role} client '{name}' token: {token}")
    if not made:
        click.echo("  clients exist already; make one with: suratdesa clients create --name N --role post")
    click.echo(f"  sign in to the pages at http://{host}:{port}/")
    for username, role, password in people:
        click.echo(f"  {role} user '{username}' password: {password}")
    if not people:
        click.echo("  users exist already; make one with: suratdesa users create --username U --name N --role post")
    while not stopping and all(child.poll() is None for child in children):
        time.sleep(0.2)
    _stop(children)
    sys.exit(0 if stopping else 1)


@main.command()
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
def verify(path: str) -> None:
    """Check a letter PDF: SAH (exit 0), DICABUT (exit 1), or unknown / invalid (exit 2)."""
    from shared.letters.signing.verification import verify_file

    settings = get_settings()
    with open(path, "rb") as letter_file, session_scope(settings, read_only=True) as session:
        verdict = verify_file(session, settings, letter_file.read())
    click.echo(verdict.message)
    sys.exit(verdict.exit_code)


if __name__ == "__main__":
    main()
