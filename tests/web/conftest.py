"""The app on the embedded defaults with staff users who sign in to the pages through a test client."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlmodel import select

from services.api import create_app
from shared.accounts import create_client, create_village, ensure_demo_village
from shared.config import Settings
from shared.db import get_engine, get_existing, session_scope, upgrade_schema
from shared.letters.intake.catalog import load_catalog
from shared.letters.intake.validation import example_request
from shared.letters.signing.provisioning import ensure_village_keys
from shared.letters.workflow.attempts import fail_letter
from shared.letters.workflow.issuing import issue_letter
from shared.letters.workflow.lifecycle import approve_letter, render_draft, submit_letter
from shared.letters.workflow.states import Status
from shared.models import Client, Role, StaffUser
from shared.staff import create_user
from tests.conftest import in_person

PASSWORD = "kata-sandi-uji-2026"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class Browser:
    """One person's cookie jar on the app: signs in, reads the CSRF token of the page it opened last."""

    client: FlaskClient
    token: str = ""
    pages: list[str] = field(default_factory=list)

    def get(self, path: str, **kwargs: Any) -> Any:
        response = self.client.get(path, **kwargs)
        self._remember(response)
        return response

    def post(self, path: str, data: dict[str, Any] | None = None, *, csrf: bool = True, **kwargs: Any) -> Any:
        form = dict(data or {})
        if csrf:
            form.setdefault("csrf_token", self.token or self._fresh_token())
        response = self.client.post(path, data=form, **kwargs)
        self._remember(response)
        return response

    def _fresh_token(self) -> str:
        self.get("/")
        return self.token

    def _remember(self, response: Any) -> None:
        if response.mimetype == "text/html":
            found = CSRF.search(response.get_data(as_text=True))
            if found:
                self.token = found.group(1)

    def sign_in(self, username: str, password: str = PASSWORD) -> Any:
        return self.post("/masuk", {"username": username, "password": password})


@dataclass
class Pages:
    app: Flask
    settings: Settings
    village_id: int

    def browser(self, username: str | None = None) -> Browser:
        browser = Browser(self.app.test_client())
        if username:
            assert browser.sign_in(username).status_code == 302
        return browser

    def example(self, code: str = "sktm") -> dict[str, Any]:
        return example_request(load_catalog(self.settings.templates_dir).types[code])

    def letter(self, username: str = "pos-a", *, name: str = "Ujang Contoh",
               status: str = "awaiting_approval") -> uuid.UUID:
        """A letter of the user's, submitted through the workflow and taken as far as status by the real steps."""
        body = self.example()
        body["applicant"]["name"] = name
        with session_scope(self.settings) as session:
            user = session.exec(select(StaffUser).where(StaffUser.username == username)).one()
            client = get_existing(session, Client, user.client_id)
            letter_id = submit_letter(session=session, settings=self.settings, client=client, body=body).id
        with session_scope(self.settings) as session:
            render_draft(session=session, settings=self.settings, letter_id=letter_id)
        if status in ("issued", "failed"):
            with session_scope(self.settings) as session:
                official = session.exec(select(Client).where(Client.name == "petugas")).one()
                approve_letter(session=session, settings=self.settings, letter_id=letter_id, actor=official,
                               checked_in_person=in_person())
        if status == "issued":
            with session_scope(self.settings) as session:
                assert issue_letter(session=session, settings=self.settings, letter_id=letter_id)
        if status == "failed":
            with session_scope(self.settings) as session:
                fail_letter(session, letter_id=letter_id, source=Status.APPROVED, error="kunci rusak", attempts=5)
        return letter_id


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings(suratdesa_home=tmp_path / "home")


@pytest.fixture
def pages(settings: Settings) -> Iterator[Pages]:
    """Users pos-a and pos-b (posts), petugas (official) of the demo village, petugas-lain of another one."""
    upgrade_schema(settings)
    with session_scope(settings) as session:
        village = ensure_demo_village(session)
        other = create_village(session, code="Ds.Lain", name="Lain", district="Caringin", regency="Sukabumi")
        assert village is not None and village.id is not None
        for username, role, where in (("pos-a", Role.POST, village), ("pos-b", Role.POST, village),
                                      ("petugas", Role.OFFICIAL, village), ("petugas-lain", Role.OFFICIAL, other)):
            create_user(session, username=username, full_name=f"Nama {username}", role=role, village=where,
                        password=PASSWORD)
        create_client(session, name="api-pos", role=Role.POST, village=village)
        village_id = village.id
        ensure_village_keys(session, settings)
    app = create_app(settings)
    yield Pages(app=app, settings=settings, village_id=village_id)
    get_engine(settings).dispose()
