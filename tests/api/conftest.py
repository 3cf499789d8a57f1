"""An API app on the embedded defaults with three clients: two hamlet posts and an official."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from services.api import create_app
from shared.accounts import create_client, ensure_demo_village
from shared.config import Settings
from shared.db import get_engine, session_scope, upgrade_schema
from shared.letters.intake.catalog import load_catalog
from shared.letters.intake.validation import example_request
from shared.models import Role


@dataclass
class Api:
    app: Flask
    client: FlaskClient
    settings: Settings
    tokens: dict[str, str]

    def call(self, method: str, path: str, who: str | None = None, **kwargs: Any) -> Any:
        headers = kwargs.pop("headers", {})
        if who:
            headers["Authorization"] = f"Bearer {self.tokens[who]}"
        return self.client.open(path, method=method, headers=headers, **kwargs)

    def example(self, code: str = "sktm") -> dict[str, Any]:
        return example_request(load_catalog(self.settings.templates_dir).types[code])


@pytest.fixture
def api(settings: Settings) -> Iterator[Api]:
    upgrade_schema(settings)
    tokens = {}
    with session_scope(settings) as session:
        village = ensure_demo_village(session)
        assert village is not None
        for name, role in (("post_a", Role.POST), ("post_b", Role.POST), ("official", Role.OFFICIAL)):
            tokens[name] = create_client(session, name=name, role=role, village=village)[1]
    app = create_app(settings)
    yield Api(app=app, client=app.test_client(), settings=settings, tokens=tokens)
    get_engine(settings).dispose()
