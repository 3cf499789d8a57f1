"""The suratdesa command: init, clients (tokens shown once, stored hashed), users (passwords shown once, stored
as argon2 hashes), and `dev` as a new user runs it."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests
from sqlmodel import select

from shared.accounts import hash_token
from shared.config import Settings
from shared.db import get_engine, session_scope
from shared.models import Client, StaffUser
from shared.staff import sign_in
from tests.conftest import ROOT, free_port, run_cli


def env_for(home: Path) -> dict[str, str]:
    return {**os.environ, "SURATDESA_HOME": str(home)}


def test_init_is_idempotent_and_clients_get_a_token_shown_once(tmp_path: Path) -> None:
    env = env_for(tmp_path)
    run_cli(env, "init")
    run_cli(env, "init")
    out = run_cli(env, "clients", "create", "--name", "pos-1", "--role", "post")
    token = out.strip().splitlines()[-1]
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", token)  # 32 random bytes
    settings = Settings(suratdesa_home=tmp_path)
    with session_scope(settings) as session:
        client = session.exec(select(Client)).one()
        assert client.token_hash == hash_token(token) and token not in client.token_hash
    get_engine(settings).dispose()
    assert token.encode() not in (tmp_path / "suratdesa.db").read_bytes()
    listing = run_cli(env, "clients", "list")
    assert "pos-1\tpost\tDs.Cjk\tactive" in listing and token not in listing
    run_cli(env, "clients", "revoke", "pos-1")
    assert "revoked" in run_cli(env, "clients", "list")


def test_second_village_requires_naming_it(tmp_path: Path) -> None:
    env = env_for(tmp_path)
    run_cli(env, "init")
    run_cli(env, "villages", "create", "--code", "Ds.Sdr", "--name", "Sudajaya", "--district", "Cicurug",
            "--regency", "Sukabumi")
    assert (tmp_path / "keys" / "villages" / "Ds.Sdr" / "signer.key.pem").stat().st_mode & 0o777 == 0o600
    result = subprocess.run([sys.executable, "-m", "services.cli", "clients", "create", "--name", "x", "--role",
                             "post"], env=env, capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert result.returncode == 1 and "--village" in result.stderr
    assert "Ds.Sdr" in run_cli(env, "clients", "create", "--name", "x", "--role", "post", "--village", "Ds.Sdr")


def signs_in(base: str, username: str, password: str) -> str:
    """Sign in through the pages' form as a browser would (CSRF token from the form); the URL landed on."""
    browser = requests.Session()
    token = re.search(r'name="csrf_token" value="([^"]+)"', browser.get(base + "/", timeout=5).text)
    assert token is not None
    answer = browser.post(base + "/masuk", data={"csrf_token": token.group(1), "username": username,
                                                 "password": password}, timeout=10)
    assert answer.status_code == 200, answer.text[:2000]
    return answer.url


def test_users_get_a_password_shown_once_and_can_be_listed_disabled_and_reset(tmp_path: Path) -> None:
    env = env_for(tmp_path)
    run_cli(env, "init")
    out = run_cli(env, "users", "create", "--username", "siti", "--name", "Siti Aminah", "--role", "official")
    password = out.strip().splitlines()[-1]
    assert re.fullmatch(r"[A-Za-z0-9_-]{22}", password)  # 128 random bits
    chosen = subprocess.run([sys.executable, "-m", "services.cli", "users", "create", "--username", "pos-2",
                             "--name", "Pos Dua", "--role", "post", "--password-stdin"], input="dipilih-sendiri-1\n",
                            env=env, capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert chosen.returncode == 0 and "dipilih-sendiri-1" not in chosen.stdout
    settings = Settings(suratdesa_home=tmp_path)
    with session_scope(settings) as session:
        user = session.exec(select(StaffUser).where(StaffUser.username == "siti")).one()
        assert user.password_hash.startswith("$argon2id$") and sign_in(session, "siti", password) is not None
        assert sign_in(session, "pos-2", "dipilih-sendiri-1") is not None
    listing = run_cli(env, "users", "list")
    assert "siti\tSiti Aminah\tofficial\tDs.Cjk\tactive" in listing and password not in listing
    assert "siti" not in run_cli(env, "clients", "list")  # a person's own client row is no API client
    new = run_cli(env, "users", "reset-password", "siti").strip().splitlines()[-1]
    run_cli(env, "users", "disable", "pos-2")
    with session_scope(settings) as session:
        assert sign_in(session, "siti", password) is None and sign_in(session, "siti", new) is not None
        assert sign_in(session, "pos-2", "dipilih-sendiri-1") is None
    get_engine(settings).dispose()
    assert "disabled" in run_cli(env, "users", "list")
    taken = subprocess.run([sys.executable, "-m", "services.cli", "clients", "create", "--name", "siti", "--role",
                            "post"], env=env, capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert taken.returncode == 1 and "sudah ada" in taken.stderr  # one namespace: events name one of them


def test_dev_starts_everything_prints_tokens_and_stops_on_sigterm(tmp_path: Path) -> None:
    port = free_port()
    log_path = tmp_path / "dev.log"
    with open(log_path, "wb") as log:
        dev = subprocess.Popen([sys.executable, "-m", "services.cli", "dev", "--port", str(port)],
                               env=env_for(tmp_path / "home"), stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
    try:
        tokens: dict[str, str] = {}
        deadline = time.monotonic() + 90  # a loaded 2-core machine starts four processes slowly
        while len(tokens) < 2 and time.monotonic() < deadline:
            tokens = dict(re.findall(r"(post|official) client '[^']+' token: (\S+)", log_path.read_text()))
            time.sleep(0.2)
        assert set(tokens) == {"post", "official"}, log_path.read_text()
        output = log_path.read_text()
        # what a new user reads: the URL and the accounts once the API listens, not a screen of start-up noise
        assert output.index(f"running at http://127.0.0.1:{port}") > output.index("Listening at:")
        assert "alembic" not in output and "[tasks]" not in output, output
        base = f"http://127.0.0.1:{port}"
        while time.monotonic() < deadline:
            try:
                if requests.get(base + "/readyz", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                time.sleep(0.2)
        users = {role: (name, password) for role, name, password in
                 re.findall(r"(post|official) user '([^']+)' password: (\S+)", output)}
        assert set(users) == {"post", "official"} and "sign in to the pages at" in output, output
        assert signs_in(base, *users["post"]).endswith("/pos")
        types = requests.get(base + "/api/v1/letter-types", headers={"Authorization": f"Bearer {tokens['post']}"},
                             timeout=5).json()
        assert "sktm" in {t["code"] for t in types}
        children = [int(pid) for pid in subprocess.run(["pgrep", "-P", str(dev.pid)], capture_output=True,
                                                       text=True).stdout.split()]
        assert len(children) == 3  # the API (gunicorn), the worker (celery) and the sweeper
        commands = [Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0") for pid in children]
        assert [b"services.cli", b"sweeper"] in [command[2:4] for command in commands], commands
    finally:
        dev.send_signal(signal.SIGTERM)
        assert dev.wait(timeout=30) == 0
    for pid in children:
        assert not Path(f"/proc/{pid}").exists() or "zombie" in Path(f"/proc/{pid}/status").read_text()


def test_audit_verify_names_the_letter_and_first_event_of_an_edited_history(tmp_path: Path) -> None:
    from sqlalchemy import text

    from shared.accounts import create_client, find_village
    from shared.letters.intake.catalog import load_catalog
    from shared.letters.intake.validation import example_request
    from shared.letters.workflow import lifecycle
    from shared.letters.workflow.events import letter_events
    from shared.models import Role

    env = env_for(tmp_path)
    run_cli(env, "init")
    settings = Settings(suratdesa_home=tmp_path)
    with session_scope(settings) as session:
        client, _ = create_client(session, name="pos-1", role=Role.POST, village=find_village(session, None))
        body = example_request(load_catalog(settings.templates_dir).types["sktm"])
        intact, edited = (lifecycle.submit_letter(session=session, settings=settings, client=client, body=body)
                          for _ in range(2))
        lifecycle.render_draft(session=session, settings=settings, letter_id=edited.id)
    assert "2 letters checked; every event chain is intact" in run_cli(env, "audit", "verify")

    with session_scope(settings) as session:
        first, second = letter_events(session, edited.id)
        session.exec(text("UPDATE letter_event SET actor = 'official:orang-lain' WHERE id = :id")  # type: ignore[call-overload]
                     .bindparams(id=second.id))
        session.commit()
    get_engine(settings).dispose()
    result = subprocess.run([sys.executable, "-m", "services.cli", "audit", "verify"], env=env, capture_output=True,
                            text=True, cwd=ROOT, timeout=60)
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stdout.strip() == f"letter {edited.id}: event {second.id} (draft_rendered) does not match the chain"
    assert str(intact.id) not in result.stdout and "1 of 2 letters" in result.stderr


def test_a_mistyped_setting_is_named_without_a_traceback(tmp_path: Path) -> None:
    env = {**env_for(tmp_path), "NUMBER_PATTERN": "{classification}/{village_code}/{year}",
           "LETTER_MAX_ATTEMPTS": "many"}
    result = subprocess.run([sys.executable, "-m", "services.cli", "init"], env=env, capture_output=True, text=True,
                            cwd=ROOT, timeout=60)
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    assert "  - NUMBER_PATTERN: Value error, needs {seq...} and {year}" in result.stderr
    assert "  - LETTER_MAX_ATTEMPTS: Input should be a valid integer" in result.stderr
    assert not (tmp_path / "suratdesa.db").exists()
