"""What travels through the broker: JSON only, and a letter id, never personal data or keys."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import cast

import redis

from services.api import create_app
from shared.accounts import create_client, ensure_demo_village
from shared.config import Settings
from shared.db import get_engine, session_scope, upgrade_schema
from shared.letters.intake.catalog import load_catalog
from shared.letters.intake.validation import example_request
from shared.models import Role
from shared.queue import RENDER_DRAFT, celery_config
from tests.conftest import REDIS_HOST


def test_celery_accepts_and_sends_json_only(tmp_path: Path) -> None:
    config = celery_config(Settings(suratdesa_home=tmp_path))
    assert config["task_serializer"] == "json" and config["accept_content"] == ["json"]


def test_a_submission_puts_only_the_letter_id_on_redis(tmp_path: Path, redis_db: int) -> None:
    """No worker runs: the message the API sent is read back off the queue with LRANGE."""
    settings = Settings(suratdesa_home=tmp_path, broker_url=f"redis://{REDIS_HOST[0]}:{REDIS_HOST[1]}/{redis_db}")
    upgrade_schema(settings)
    with session_scope(settings) as session:
        village = ensure_demo_village(session)
        assert village is not None
        token = create_client(session, name="pos", role=Role.POST, village=village)[1]
    body = example_request(load_catalog(settings.templates_dir).types["sktm"])
    response = create_app(settings).test_client().post("/api/v1/letters", json=body,
                                                       headers={"Authorization": f"Bearer {token}"})
    get_engine(settings).dispose()
    assert response.status_code == 202
    letter_id = response.get_json()["id"]

    [raw] = cast(list[bytes], redis.Redis(*REDIS_HOST, db=redis_db).lrange("celery", 0, -1))
    message = json.loads(raw)
    assert message["content-type"] == "application/json" and message["headers"]["task"] == RENDER_DRAFT
    assert message["properties"]["delivery_mode"] == 2  # persistent, as Celery's send_task sends it
    assert message["headers"]["id"] == message["properties"]["correlation_id"]  # Celery's own message
    args, kwargs, _embed = json.loads(base64.b64decode(message["body"]))
    assert (args, kwargs) == ([letter_id], {})
    text = raw.decode()
    secrets = [body["applicant"]["nik"], body["applicant"]["name"], body["applicant"]["address"], token]
    secrets += [member["nik"] for member in body["fields"].get("household_members", [])]
    assert [secret for secret in secrets if secret in text] == []
