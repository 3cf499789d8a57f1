"""Schemathesis against the API's own OpenAPI description: no server error, no answer that breaks it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, settings

from services.api import create_app
from services.api.openapi import openapi_document
from services.web import is_page
from shared.accounts import create_client, ensure_demo_village
from shared.config import Settings
from shared.db import get_engine, session_scope, upgrade_schema
from shared.letters.intake.catalog import load_catalog
from shared.models import Role

# No server error, every status and answer as declared, no route that ignores its token, and everything the
# description forbids refused. Accepting every valid request (positive_data_acceptance) stays off: a NIK's
# agreement with the birth date and sex cannot be said in JSON Schema.
CHECKS = ("not_a_server_error", "status_code_conformance", "content_type_conformance",
          "response_schema_conformance", "response_headers_conformance", "ignored_auth", "unsupported_method",
          "negative_data_rejection")


def fuzz_config() -> schemathesis.Config:
    """Bounded and repeatable: 30 examples per operation, derandomized, no example database."""
    return schemathesis.Config.from_dict({
        "generation": {"max-examples": 30, "deterministic": True, "database": "none"},
        "checks": {"enabled": False, **{name: {"enabled": True} for name in CHECKS}},
        "phases": {"stateful": {"enabled": False}},
    })


@dataclass
class Target:
    app: Flask
    headers: dict[str, str]


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    """The app on a fresh home, an official's token; limits generous enough for the fuzzer's 401 probes."""
    app_settings = Settings(suratdesa_home=Path(tmp_path_factory.mktemp("fuzz")), auth_failure_limit="10000/minute",
                            verify_miss_limit="10000/minute", verify_check_limit="10000/minute")
    upgrade_schema(app_settings)
    with session_scope(app_settings) as session:
        village = ensure_demo_village(session)
        assert village is not None
        token = create_client(session, name="petugas", role=Role.OFFICIAL, village=village)[1]
    app = create_app(app_settings)
    _apps.append(app)
    yield Target(app, {"Authorization": f"Bearer {token}"})
    _apps.remove(app)
    get_engine(app_settings).dispose()


_apps: list[Flask] = []


def _current_app(environ: dict[str, Any], start_response: Any) -> Any:
    """The WSGI app Schemathesis calls: the fixture's app, which exists only once the test runs."""
    return _apps[-1](environ, start_response)


# Loaded at collection (Schemathesis's fixture-based loader does not run under this pytest); the served
# document is the same one (test_the_served_description_is_the_generated_one). Every request, the checks'
# own probes included, goes to the app in process.
schema = schemathesis.openapi.from_dict(openapi_document(load_catalog(Settings().templates_dir)),
                                        config=fuzz_config())
schema.app = _current_app


def test_the_served_description_is_the_generated_one(target: Target) -> None:
    served = target.app.test_client().get("/api/v1/openapi.json", headers=target.headers)
    assert served.status_code == 200 and served.get_json() == schema.raw_schema


def test_every_route_of_the_app_is_described(target: Target) -> None:
    """Every route but the pages for people (services/web), which are HTML behind a session, not the API."""
    routes = {(method, re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule))
              for rule in target.app.url_map.iter_rules() if not is_page(rule.endpoint)
              for method in rule.methods - {"HEAD", "OPTIONS"}}  # type: ignore[operator]
    described = {(method.upper(), path) for path, item in schema.raw_schema["paths"].items()
                 for method in item if method != "parameters"}
    assert routes == described


# What a client generated from the description calls each operation, and the group it sits in.
OPERATIONS = {
    ("post", "/api/v1/letters"): ("submit_letter", "letters"),
    ("get", "/api/v1/letters"): ("list_letters", "letters"),
    ("get", "/api/v1/letters/{letter_id}"): ("get_letter", "letters"),
    ("get", "/api/v1/letters/{letter_id}/draft.pdf"): ("get_draft_pdf", "letters"),
    ("get", "/api/v1/letters/{letter_id}/pdf"): ("get_letter_pdf", "letters"),
    ("post", "/api/v1/letters/{letter_id}/approve"): ("approve_letter", "officials"),
    ("post", "/api/v1/letters/{letter_id}/reject"): ("reject_letter", "officials"),
    ("post", "/api/v1/letters/{letter_id}/retry"): ("retry_letter", "officials"),
    ("post", "/api/v1/letters/{letter_id}/revoke"): ("revoke_letter", "officials"),
    ("get", "/api/v1/letter-types"): ("list_letter_types", "catalog"),
    ("get", "/v/{token}"): ("verify_letter", "verification"),
    ("post", "/v/{token}/check"): ("check_letter_file", "verification"),
    ("get", "/healthz"): ("check_health", "service"),
    ("get", "/readyz"): ("check_readiness", "service"),
    ("get", "/api/v1/openapi.json"): ("get_openapi", "service"),
    ("get", "/api/v1/register"): ("get_register", "records"),
    ("get", "/api/v1/reports"): ("get_reports", "records"),
    ("get", "/api/v1/reports/charts/{name}.svg"): ("get_report_chart", "records"),
    ("post", "/api/v1/letters/{letter_id}/attachments"): ("add_attachment", "attachments"),
    ("get", "/api/v1/letters/{letter_id}/attachments"): ("list_attachments", "attachments"),
    ("get", "/api/v1/letters/{letter_id}/attachments/{attachment_id}"): ("get_attachment", "attachments"),
    ("post", "/api/v1/webhooks"): ("create_webhook", "webhooks"),
    ("get", "/api/v1/webhooks"): ("list_webhooks", "webhooks"),
    ("delete", "/api/v1/webhooks/{endpoint_id}"): ("delete_webhook", "webhooks"),
    ("post", "/api/v1/webhooks/{endpoint_id}/enable"): ("enable_webhook", "webhooks"),
    ("get", "/api/v1/webhooks/{endpoint_id}/deliveries"): ("list_webhook_deliveries", "webhooks"),
    ("post", "/api/v1/webhooks/{endpoint_id}/deliveries/{delivery_id}/retry"): ("retry_webhook_delivery", "webhooks"),
}


def test_every_operation_has_a_name_and_a_declared_group() -> None:
    named = {(method, path): (operation["operationId"], *operation["tags"])
             for path, item in schema.raw_schema["paths"].items()
             for method, operation in item.items() if method != "parameters"}
    assert named == OPERATIONS
    assert {tag["name"] for tag in schema.raw_schema["tags"]} == {tag for _, tag in OPERATIONS.values()}


@schema.parametrize()
@settings(deadline=timedelta(seconds=5), suppress_health_check=list(HealthCheck), database=None)
def test_no_server_error_and_every_answer_matches_the_description(case: schemathesis.Case, target: Target) -> None:
    case.call_and_validate(headers=target.headers)
