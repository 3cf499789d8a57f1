"""The schema comes from Alembic migrations that agree with the models; numbers and the audit chain."""

from __future__ import annotations

import base64
import hashlib
import json
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError
from sqlmodel import SQLModel, select

from shared.accounts import create_client, create_village, ensure_demo_village
from shared.config import Settings
from shared.db import alembic_config, get_engine, get_existing, make_engine, saved_id, session_scope, upgrade_schema
from shared.letters.workflow.events import chain_problem, letter_events, record_event
from shared.letters.workflow.numbering import format_number, next_sequence
from shared.models import Letter, LetterEvent, Role, Village, VillageEmblem, as_utc
from shared.villages import village_emblem


@pytest.fixture(params=["sqlite", "postgresql"])
def db_settings(request: pytest.FixtureRequest, tmp_path) -> Iterator[Settings]:
    if request.param == "sqlite":
        settings = Settings(suratdesa_home=tmp_path)
    else:
        settings = Settings(suratdesa_home=tmp_path, database_url=request.getfixturevalue("postgres_url"))
    upgrade_schema(settings)
    yield settings
    get_engine(settings).dispose()


def test_models_and_migrations_agree(db_settings: Settings) -> None:
    with get_engine(db_settings).connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), SQLModel.metadata)
    assert diff == []


def test_upgrade_is_idempotent(db_settings: Settings) -> None:
    upgrade_schema(db_settings)
    with get_engine(db_settings).connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM alembic_version")).scalar_one() == 1


def test_demo_village_is_created_once(db_settings: Settings) -> None:
    with session_scope(db_settings) as session:
        village = ensure_demo_village(session)
        assert village is not None and village.code == "Ds.Cjk" and village.name == "Cijengkol"
        assert ensure_demo_village(session) is None


def test_parallel_sequences_are_unique_and_gap_free(db_settings: Settings) -> None:
    """Six threads take five numbers each at the same time: 1..30, none twice, none skipped.

    Only the PostgreSQL variant proves the counter race-free: there the transactions really overlap, and a
    read-then-write counter hands out doubles here. SQLite runs every transaction under BEGIN IMMEDIATE, one
    writer at a time, so it cannot race; its variant proves only that concurrent takers queue for the write
    lock instead of failing ("database is locked") and that the SQLite upsert counts.
    """
    with session_scope(db_settings) as session:
        village = create_village(session, code="Ds.Tst", name="Uji", district="Caringin", regency="Sukabumi")
    numbers: list[int] = []
    start = threading.Barrier(6)

    def take() -> None:
        start.wait(timeout=30)
        for _ in range(5):
            with session_scope(db_settings) as session:
                numbers.append(next_sequence(session, village_id=saved_id(village), scope="sktm", year=2026))
                session.commit()

    threads = [threading.Thread(target=take) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(numbers) == list(range(1, 31))


def test_rolled_back_sequence_is_reused(db_settings: Settings) -> None:
    with session_scope(db_settings) as session:
        village = create_village(session, code="Ds.Rb", name="Uji", district="Caringin", regency="Sukabumi")
        assert next_sequence(session, village_id=saved_id(village), scope="*", year=2026) == 1
        session.rollback()
        assert next_sequence(session, village_id=saved_id(village), scope="*", year=2026) == 1
        session.commit()
        assert next_sequence(session, village_id=saved_id(village), scope="*", year=2027) == 1


def test_number_pattern() -> None:
    from datetime import date

    pattern = Settings().number_pattern
    number = format_number(pattern, classification="401", seq=12, village_code="Ds.Cjk", on=date(2026, 11, 27))
    assert number == "401/012/Ds.Cjk/XI/2026"


def letter_with_history(session, code: str, kinds: tuple[str, ...], status: str) -> Letter:
    """A letter of a new village in status, with one committed event of each kind."""
    village = create_village(session, code=code, name="Uji", district="Caringin", regency="Sukabumi")
    client, _ = create_client(session, name=f"pos-{code}", role=Role.POST, village=village)
    letter = Letter(village_id=saved_id(village), client_id=saved_id(client), type="sktm", status=status,
                    applicant={}, fields={})
    session.add(letter)
    session.flush()
    for kind in kinds:
        record_event(session, letter_id=letter.id, type=kind, actor="worker")
        session.flush()
    session.commit()
    return letter


def test_event_chain_detects_an_edited_history(db_settings: Settings) -> None:
    with session_scope(db_settings) as session:
        letter = letter_with_history(session, "Ds.Ev", ("submitted", "draft_rendered", "approved"), "approved")
        events = letter_events(session, letter.id)
        assert chain_problem(events) is None
        assert [e.prev_hash for e in events[1:]] == [e.hash for e in events[:-1]]
        session.exec(text("UPDATE letter_event SET actor = 'official:someone-else' WHERE id = :id")  # type: ignore[call-overload]
                     .bindparams(id=events[1].id))
        session.commit()
        session.expire_all()
        problem = chain_problem(letter_events(session, letter.id))
        assert problem is not None and f"event {events[1].id}" in problem
        assert get_existing(session, LetterEvent, events[1].id).actor == "official:someone-else"


def test_audit_finds_the_newest_events_deleted(db_settings: Settings) -> None:
    from shared.letters.workflow.events import audit_chains

    with session_scope(db_settings) as session:
        letter = letter_with_history(session, "Ds.Au", ("submitted", "draft_rendered", "approved", "issued"),
                                     "issued")
        assert audit_chains(session) == (1, [])
        last = letter_events(session, letter.id)[-1]
        session.exec(text("DELETE FROM letter_event WHERE id = :id").bindparams(id=last.id))  # type: ignore[call-overload]
        session.commit()
        count, broken = audit_chains(session)
        assert count == 1 and len(broken) == 1 and broken[0][0] == letter.id
        assert "status 'issued' does not follow from the last event" in broken[0][1]


def test_postgres_connections_bound_lock_waits_and_idle_transactions(postgres_url: str, tmp_path) -> None:
    """A frozen worker's open transaction is ended after 20 s; a statement waits at most 40 s for a lock."""
    settings = Settings(suratdesa_home=tmp_path, database_url=postgres_url)
    try:
        with session_scope(settings) as session:
            row = session.exec(text("SELECT current_setting('lock_timeout'), "  # type: ignore[call-overload]
                                    "current_setting('idle_in_transaction_session_timeout')")).one()
    finally:
        get_engine(settings).dispose()
    assert tuple(row) == ("40s", "20s")


def test_sqlite_read_only_sessions_read_beside_the_writer(tmp_path) -> None:
    settings = Settings(suratdesa_home=tmp_path)
    upgrade_schema(settings)
    with session_scope(settings) as session:
        ensure_demo_village(session)
        session.commit()
    with session_scope(settings) as writer:
        writer.exec(text("UPDATE village SET name = name"))  # type: ignore[call-overload]
        other = sqlite3.connect(tmp_path / "suratdesa.db", timeout=0)
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            other.execute("BEGIN IMMEDIATE")  # the writer holds the write lock
        other.close()
        with session_scope(settings, read_only=True) as reader:  # would wait for the lock, then fail
            assert reader.exec(select(Village.code)).all() == ["Ds.Cjk"]
        writer.commit()
    get_engine(settings).dispose()


def _pid(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.execute(text("SELECT pg_backend_pid()")).scalar_one())


def _terminate(url: str, pid: int) -> None:
    admin = make_engine(url)
    with admin.connect() as connection:
        connection.execute(text("SELECT pg_terminate_backend(:pid, 5000)"), {"pid": pid})  # waits until it is gone
        connection.commit()
    admin.dispose()


def test_a_pooled_connection_is_pinged_only_after_sitting_idle_and_replaced_if_cut(postgres_url: str,
                                                                                   monkeypatch) -> None:
    """Busy connections go without a ping (a round trip each time, nine a letter); an idle one cut meanwhile
    (a restarted server) fails its ping and is replaced without the caller seeing an error."""
    engine = make_engine(postgres_url, ping_after_idle=1.5)
    pings: list[object] = []
    real_ping = engine.dialect.do_ping

    def counted_ping(dbapi: object) -> bool:
        pings.append(dbapi)
        return real_ping(dbapi)  # type: ignore[arg-type]

    monkeypatch.setattr(engine.dialect, "do_ping", counted_ping)
    first = _pid(engine)
    assert _pid(engine) == first and pings == []  # reused at once: not pinged

    _terminate(postgres_url, first)
    time.sleep(1.6)  # unused for longer than the bound
    assert _pid(engine) != first and len(pings) == 1  # pinged, found cut, replaced: no error
    engine.dispose()


def test_a_connection_cut_while_busy_is_not_pinged_and_fails_once_for_the_caller_to_retry(postgres_url: str) -> None:
    """The other side of the bound: within it nothing checks, so a cut seen by the first statement is an
    OperationalError, which the API answers with 503 and the worker retries; the pool then starts afresh."""
    engine = make_engine(postgres_url)
    first = _pid(engine)
    _terminate(postgres_url, first)
    with pytest.raises(OperationalError):
        _pid(engine)
    assert _pid(engine) != first
    engine.dispose()


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_an_emblem_kept_in_a_profile_moves_beside_its_village_and_back(request: pytest.FixtureRequest, tmp_path,
                                                                       backend: str) -> None:
    """Migration 0010 takes a village's emblem out of its profile JSON (base64, as 0009 kept it) into
    village_emblem, the profile naming it by digest; its downgrade puts it back."""
    from alembic import command

    url = request.getfixturevalue("postgres_url") if backend == "postgresql" else f"sqlite:///{tmp_path}/db.sqlite"
    settings = Settings(suratdesa_home=tmp_path, database_url=url)
    emblem = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4  # the migration moves bytes; it does not read images
    old_profile = {"paper": "A4", "signers": [{"key": "kades", "name": "N", "position": "Kepala Desa"}],
                   "logo_image": base64.b64encode(emblem).decode()}

    def migrate(step: Callable[..., None], revision: str) -> None:
        config = alembic_config(url)
        with get_engine(settings).begin() as connection:
            config.attributes["connection"] = connection
            step(config, revision)

    def profiles() -> dict[str, dict[str, Any]]:
        with get_engine(settings).connect() as connection:
            rows = connection.execute(text("SELECT code, profile FROM village ORDER BY code")).all()
        return {code: profile if isinstance(profile, dict) else json.loads(profile) for code, profile in rows}

    migrate(command.upgrade, "0009")
    with get_engine(settings).begin() as connection:
        for code, profile in (("Ds.Lg", old_profile), ("Ds.No", {"signers": old_profile["signers"]})):
            connection.execute(text("INSERT INTO village (code, name, district, regency, province, profile, created_at)"
                                    " VALUES (:code, 'X', 'D', 'R', '', :profile, CURRENT_TIMESTAMP)"),
                               {"code": code, "profile": json.dumps(profile)})
    migrate(command.upgrade, "head")
    digest = hashlib.sha256(emblem).hexdigest()
    assert profiles() == {"Ds.Lg": {"paper": "A4", "signers": old_profile["signers"], "logo_digest": digest},
                          "Ds.No": {"signers": old_profile["signers"]}}
    with session_scope(settings) as session:
        village = session.exec(select(Village).where(Village.code == "Ds.Lg")).one()
        assert village_emblem(village, session) == emblem
        assert [(e.digest, e.image) for e in session.exec(select(VillageEmblem))] == [(digest, emblem)]
    migrate(command.downgrade, "0009")
    assert profiles() == {"Ds.Lg": old_profile, "Ds.No": {"signers": old_profile["signers"]}}
    get_engine(settings).dispose()


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_live_lease_moves_onto_its_letters_row_and_back(request: pytest.FixtureRequest, tmp_path,
                                                         backend: str) -> None:
    """Migration 0013 moves the leases of letters still waiting for a step from attempt_lease into the letter row
    (a lease left on a letter that moved on had ended); its downgrade puts them back."""
    from alembic import command

    url = request.getfixturevalue("postgres_url") if backend == "postgresql" else f"sqlite:///{tmp_path}/db.sqlite"
    settings = Settings(suratdesa_home=tmp_path, database_url=url)

    def migrate(step: Callable[..., None], revision: str) -> None:
        config = alembic_config(url)
        with get_engine(settings).begin() as connection:
            config.attributes["connection"] = connection
            step(config, revision)

    def rows(query: str) -> list[tuple[Any, ...]]:
        with get_engine(settings).connect() as connection:
            return [tuple(row) for row in connection.execute(text(query)).all()]

    migrate(command.upgrade, "0012")
    with session_scope(settings) as session:
        village = create_village(session, code="Ds.Uji", name="Uji", district="Caringin", regency="Sukabumi")
        client = create_client(session, name="pos-1", role=Role.POST, village=village)[0]
        ids = {"village": saved_id(village), "client": saved_id(client)}
    expires = "2026-12-07 10:00:00+00:00"
    with get_engine(settings).begin() as connection:
        for letter_id, status in (("00000000-0000-0000-0000-00000000000a", "approved"),
                                  ("00000000-0000-0000-0000-00000000000b", "issued")):
            connection.execute(text(
                "INSERT INTO letter (id, village_id, client_id, type, status, applicant, fields, attempts,"
                " created_at, updated_at) VALUES (:id, :village, :client, 'sktm', :status, '{}', '{}', 2,"
                " CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"), {"id": letter_id if backend == "postgresql"
                                                             else letter_id.replace("-", ""), "status": status, **ids})
            connection.execute(text("INSERT INTO attempt_lease (letter_id, attempt, holder, expires_at)"
                                    " VALUES (:id, 2, 'host:41', :expires)"),
                               {"id": letter_id if backend == "postgresql" else letter_id.replace("-", ""),
                                "expires": expires})
    migrate(command.upgrade, "head")
    with session_scope(settings) as session:
        leases = {letter.status: (letter.lease_attempt, letter.lease_holder, as_utc(letter.lease_expires_at))
                  for letter in session.exec(select(Letter))}
    moment = datetime(2026, 12, 7, 10, tzinfo=UTC)
    assert leases == {"approved": (2, "host:41", moment), "issued": (None, None, None)}
    migrate(command.downgrade, "0012")
    assert [(attempt, holder) for attempt, holder in rows("SELECT attempt, holder FROM attempt_lease")] == [
        (2, "host:41")]
    get_engine(settings).dispose()
