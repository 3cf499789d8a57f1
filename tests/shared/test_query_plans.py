"""The queries paid on every event written and on every list or poll read their rows straight off an index, on a
PostgreSQL database holding a regency's season of letters: not a walk through every village's letters or every
letter's events, and no sort of a whole village's letters for a page of them.

Each query is the one the code sends (captured from the engine), planned by PostgreSQL with its statistics."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event
from sqlmodel import Session, col, select

from shared.config import Settings
from shared.db import get_engine, session_scope, upgrade_schema
from shared.letters.workflow.events import letter_events, record_event
from shared.letters.workflow.lifecycle import list_letters
from shared.models import Client, Letter
from shared.webhooks.endpoints import endpoint_deliveries
from shared.webhooks.models import WebhookDelivery, WebhookEndpoint
from tests.conftest import create_database, drop_database

# 150 letters a village: 9,000 letters, 36,000 events and 18,000 webhook deliveries (each village's official has
# an endpoint that hears two events of each letter)
VILLAGES, LETTERS = 60, 150

SEASON = f"""
INSERT INTO village (code, name, district, regency, province, profile, created_at)
SELECT 'Ds.' || g, 'Desa ' || g, 'Caringin', 'Sukabumi', 'Jawa Barat', '{{}}', now()
FROM generate_series(1, {VILLAGES}) g;
INSERT INTO client (name, role, kind, village_id, token_hash, created_at)
SELECT role || '-' || v.id, role, 'api', v.id, md5(role || v.id) || md5(v.id || role), now()
FROM village v, (VALUES ('post'), ('official')) r(role);
CREATE TEMP TABLE season AS
SELECT gen_random_uuid() AS id, v.id AS village_id, c.id AS client_id, now() - random() * interval '90 days' AS at
FROM village v JOIN client c ON c.village_id = v.id AND c.role = 'post', generate_series(1, {LETTERS});
INSERT INTO letter (id, village_id, client_id, type, status, applicant, fields, attempts, created_at, updated_at)
SELECT id, village_id, client_id, 'sktm', 'issued', '{{}}', '{{}}', 0, at, at FROM season;
INSERT INTO letter_event (letter_id, type, actor, at, detail, prev_hash, hash)
SELECT id, kind, 'worker', at + step, '{{}}', md5(id::text || kind), md5(kind || id::text)
FROM season, (VALUES ('submitted', interval '0'), ('draft_rendered', interval '1 minute'),
                     ('approved', interval '1 hour'), ('issued', interval '61 minutes')) e(kind, step)
ORDER BY at + step;
INSERT INTO webhook_endpoint (id, client_id, village_id, url, events, secret, created_at)
SELECT gen_random_uuid(), c.id, c.village_id, 'https://hook.example/' || c.id, '[]', 'whsec_x', now()
FROM client c WHERE c.role = 'official';
INSERT INTO webhook_delivery (id, endpoint_id, letter_id, event, payload, status, attempts, next_attempt_at,
                              created_at)
SELECT gen_random_uuid(), w.id, s.id, kind, '{{}}', 'delivered', 1, s.at + step, s.at + step
FROM season s JOIN webhook_endpoint w ON w.village_id = s.village_id,
     (VALUES ('letter.awaiting_approval', interval '1 minute'), ('letter.issued', interval '61 minutes')) e(kind, step);
ANALYZE;
"""


@pytest.fixture(scope="module")
def season(tmp_path_factory: pytest.TempPathFactory, postgres_available: None) -> Iterator[Settings]:
    url = create_database()
    settings = Settings(suratdesa_home=Path(tmp_path_factory.mktemp("season")), database_url=url)
    try:
        upgrade_schema(settings)
        with get_engine(settings).begin() as connection:
            connection.exec_driver_sql(SEASON)
        yield settings
    finally:
        get_engine(settings).dispose()
        drop_database(url)


@contextmanager
def sent(session: Session) -> Iterator[list[tuple[str, Any]]]:
    """The statements (with their parameters) the session's engine sends inside the block."""
    seen: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_args: Any) -> None:
        seen.append((statement, parameters))

    engine = session.get_bind()
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def plan_nodes(session: Session, statement: str, parameters: Any) -> list[dict[str, Any]]:
    """Every node of PostgreSQL's plan for the statement, outermost first."""
    cursor = session.connection().connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    cursor.execute("EXPLAIN (FORMAT JSON) " + statement, parameters)
    [raw] = cursor.fetchone() or [None]
    plan = raw if isinstance(raw, list) else json.loads(raw)
    nodes, stack = [], [plan[0]["Plan"]]
    while stack:
        node = stack.pop(0)
        nodes.append(node)
        stack.extend(node.get("Plans", []))
    return nodes


def planned(session: Session, run: Callable[[], object], table: str) -> list[list[dict[str, Any]]]:
    """The plans of the statements on table that run() sends."""
    with sent(session) as seen:
        run()
    return [plan_nodes(session, statement, parameters) for statement, parameters in seen
            if statement.lstrip().upper().startswith("SELECT") and f"FROM {table}" in statement]


def assert_read_off(index: str, plans: list[list[dict[str, Any]]], *, in_its_order: bool = True) -> None:
    """Each plan reads the table through index alone, fetching no row only to throw it away; in_its_order: in the
    index's order too, so that a LIMIT stops after the rows it returns (no sort of all the rows found)."""
    assert plans, "no statement captured"
    for nodes in plans:
        scans = [node for node in nodes if "Scan" in node["Node Type"]]
        assert {node.get("Index Name") for node in scans} - {None} == {index}, scans
        assert [node["Node Type"] for node in scans if "Filter" in node] == [], scans
        if in_its_order:
            assert [node["Node Type"] for node in nodes if "Sort" in node["Node Type"]] == [], nodes
            assert [node["Node Type"] for node in scans] in (["Index Scan"], ["Index Only Scan"]), scans


def some(session: Session, role: str) -> tuple[Client, uuid.UUID]:
    """A client of role in the middle village, and its village's oldest letter."""
    client = session.exec(select(Client).where(Client.name == f"{role}-{VILLAGES // 2}")).one()
    oldest = session.exec(select(Letter.id).where(Letter.village_id == client.village_id)
                          .order_by(col(Letter.created_at)).limit(1)).one()
    return client, oldest


def test_a_letters_chain_head_and_its_events_are_one_probe_of_an_index(season: Settings) -> None:
    with session_scope(season) as session:
        _, oldest = some(session, "post")  # thousands of events were written after its last one
        head = planned(session, lambda: record_event(session, letter_id=oldest, type="revoked", actor="official:x",
                                                     detail={"reason": "uji"}), "letter_event")
        session.rollback()
        events = planned(session, lambda: letter_events(session, oldest), "letter_event")
    assert_read_off("ix_letter_event_letter_id_id", head)  # LIMIT 1: the index's last entry for the letter
    assert_read_off("ix_letter_event_letter_id_id", events, in_its_order=False)  # a few rows, sorted if need be


@pytest.mark.parametrize("role", ["official", "post"])
def test_a_page_of_a_villages_or_a_posts_letters_is_read_newest_first_off_an_index(season: Settings,
                                                                                   role: str) -> None:
    index = {"official": "ix_letter_village_id_created_at", "post": "ix_letter_village_id_client_id_created_at"}
    with session_scope(season) as session:
        client, _ = some(session, role)
        first = planned(session, lambda: list_letters(session=session, client=client), "letter")
        page, cursor = list_letters(session=session, client=client)
        second = planned(session, lambda: list_letters(session=session, client=client, cursor=cursor), "letter")
        pages = [letter.id for letter in page] + [letter.id for letter in
                                                  list_letters(session=session, client=client, cursor=cursor)[0]]
        rows = session.exec(select(Letter.created_at, Letter.id).where(Letter.village_id == client.village_id)).all()
    assert_read_off(index[role], first + second)  # the next page starts where the cursor points, in the index
    assert pages == [letter_id for _, letter_id in sorted(rows, reverse=True)][:40]  # newest first, none skipped


def test_a_page_of_an_endpoints_deliveries_is_read_newest_first_off_an_index(season: Settings) -> None:
    with session_scope(season) as session:
        official, _ = some(session, "official")
        endpoint = session.exec(select(WebhookEndpoint).where(WebhookEndpoint.client_id == official.id)).one()
        plans = planned(session, lambda: endpoint_deliveries(session, official, endpoint.id), "webhook_delivery")
        page = [delivery.id for delivery, _ in endpoint_deliveries(session, official, endpoint.id)]
        rows = session.exec(select(WebhookDelivery.created_at, WebhookDelivery.id)
                            .where(WebhookDelivery.endpoint_id == endpoint.id)).all()
    assert_read_off("ix_webhook_delivery_endpoint_id_created_at", plans)  # 20 rows, not all 300 sorted
    assert page == [delivery_id for _, delivery_id in sorted(rows, reverse=True)][:20]  # newest first
