"""Sign-in to the pages: the session cookie, CSRF on every form, failed attempts limited per address, and
sessions that end when the user is disabled, their password reset, or they sign out."""

from __future__ import annotations

import time
from datetime import timedelta
from unittest.mock import patch

import pytest
from pydantic import SecretStr
from sqlmodel import select

from services.api import create_app
from services.web import secret_key
from shared.config import Settings
from shared.db import session_scope
from shared.models import Client
from shared.staff import disable_user, reset_password
from tests.web.conftest import PASSWORD, Pages


def test_slash_is_the_sign_in_form_and_then_the_persons_home(pages: Pages) -> None:
    browser = pages.browser()
    page = browser.get("/")
    assert page.status_code == 200 and 'name="password"' in page.get_data(as_text=True)
    assert browser.sign_in("pos-a").headers["Location"] == "/pos"
    assert browser.get("/").headers["Location"] == "/pos"
    assert pages.browser("petugas").get("/").headers["Location"] == "/petugas"


def test_the_session_cookie_is_httponly_lax_and_lasts_eight_idle_hours(pages: Pages) -> None:
    browser = pages.browser()
    cookie = browser.sign_in("pos-a").headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie  # http:// in development
    assert pages.app.permanent_session_lifetime == timedelta(hours=8)
    assert pages.app.config["SESSION_REFRESH_EACH_REQUEST"] is True  # every request restarts the 8 hours
    assert "Expires=" in browser.get("/pos").headers["Set-Cookie"]


def test_the_cookie_is_secure_when_the_public_address_is_https(tmp_path) -> None:
    settings = Settings(suratdesa_home=tmp_path, public_base_url="https://surat.cijengkol.desa.id")
    assert create_app(settings).config["SESSION_COOKIE_SECURE"] is True


def test_a_wrong_password_is_refused_and_names_no_reason(pages: Pages) -> None:
    browser = pages.browser()
    for username, password in (("pos-a", "salah-sekali-123"), ("tidak-ada", PASSWORD)):
        answer = browser.sign_in(username, password)
        assert answer.status_code == 401 and "salah" in answer.get_data(as_text=True)
    assert browser.get("/pos").status_code == 302  # still nobody


def test_every_form_needs_the_sessions_csrf_token(pages: Pages) -> None:
    browser = pages.browser("pos-a")
    refused = browser.post("/pos/ajukan/sktm", {"applicant.nik": "1"}, csrf=False)
    assert refused.status_code == 400 and "kedaluwarsa" in refused.get_data(as_text=True)
    assert browser.post("/masuk", {"username": "pos-a", "password": PASSWORD}, csrf=False).status_code == 400
    assert browser.post("/keluar", {"csrf_token": "palsu"}, csrf=False).status_code == 400
    assert browser.get("/pos").status_code == 200  # still signed in


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings(suratdesa_home=tmp_path / "home", auth_failure_limit="3/minute")


def test_failed_sign_ins_count_against_the_addresss_limit(pages: Pages) -> None:
    browser = pages.browser()
    assert [browser.sign_in("pos-a", "salah-sekali-123").status_code for _ in range(4)] == [401, 401, 401, 429]
    limited = browser.sign_in("pos-a", "salah-sekali-123")
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) > 0
    assert browser.sign_in("pos-a").status_code == 302  # a right password is still let in (carrier-grade NAT)


def test_a_disabled_user_or_a_reset_password_ends_the_session_at_once(pages: Pages) -> None:
    post, official = pages.browser("pos-a"), pages.browser("petugas")
    with session_scope(pages.settings) as session:
        disable_user(session, "pos-a")
        reset_password(session, "petugas", "kata-sandi-baru-2026")
    assert post.get("/pos").status_code == 302 and official.get("/petugas").status_code == 302
    assert pages.browser().sign_in("pos-a").status_code == 401
    assert pages.browser().sign_in("petugas", "kata-sandi-baru-2026").status_code == 302


def test_sign_out_ends_the_session(pages: Pages) -> None:
    browser = pages.browser("pos-a")
    browser.get("/pos")  # the form with the session's own token (signing in began a new session)
    assert browser.post("/keluar").headers["Location"] == "/"
    assert browser.get("/pos").status_code == 302


def test_a_person_cannot_use_the_api_and_a_token_opens_no_page(pages: Pages) -> None:
    with session_scope(pages.settings) as session:
        staff_row = session.exec(select(Client).where(Client.name == "pos-a")).one()
        assert staff_row.kind == "staff" and not staff_row.token_hash.isalnum()  # matches no SHA-256
    browser = pages.browser("pos-a")
    assert browser.client.get("/api/v1/letters").status_code == 401  # the cookie is no bearer token


def test_each_role_has_its_own_pages(pages: Pages) -> None:
    assert pages.browser("pos-a").get("/petugas").status_code == 403
    assert pages.browser("petugas").get("/pos").status_code == 403


def test_development_keeps_one_random_secret_key_and_a_set_one_wins(tmp_path) -> None:
    development = Settings(suratdesa_home=tmp_path)
    key = secret_key(development)
    assert len(key) >= 64 and secret_key(development) == key  # every API process of the home signs alike
    assert (tmp_path / "session-secret").stat().st_mode & 0o777 == 0o600
    chosen = Settings(suratdesa_home=tmp_path, secret_key=SecretStr("q8Vt2mXr7LpK4nWz9sBd3hYc6fJg1aEu"))
    assert create_app(chosen).secret_key == "q8Vt2mXr7LpK4nWz9sBd3hYc6fJg1aEu"


def test_a_session_idle_for_more_than_eight_hours_is_over(pages: Pages) -> None:
    """The cookie's signature carries when it was last refreshed: 7 idle hours pass, 8 and more do not."""
    browser = pages.browser("pos-a")
    with browser.client.session_transaction() as held:
        contents = dict(held)
    serializer = pages.app.session_interface.get_signing_serializer(pages.app)  # type: ignore[attr-defined]
    for idle_hours, status in ((7, 200), (9, 302)):
        with patch("itsdangerous.timed.time.time", return_value=time.time() - idle_hours * 3600):
            cookie = serializer.dumps(contents)
        browser.client.set_cookie("suratdesa_session", cookie)
        assert browser.get("/pos").status_code == status, idle_hours
