"""Letters in every status the security tests need, made through the API and the real worker steps."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from io import BytesIO
from typing import Any

from shared.accounts import create_client, create_village
from shared.db import session_scope
from shared.letters.signing.provisioning import ensure_village_keys
from shared.letters.workflow import issuing, lifecycle
from shared.models import Letter, Role
from tests.api.conftest import Api
from tests.conftest import approval
from tests.scans import ktp_photo

OTHER_VILLAGE: dict[str, Any] = {"code": "Ds.Sdr", "name": "Sudajaya", "district": "Cicurug", "regency": "Sukabumi"}


@dataclass
class World:
    """The api fixture's village (post_a, post_b, official) and a second village with its own official."""

    api: Api
    letters: dict[str, str] = field(default_factory=dict)  # what a letter is for -> its id
    webhooks: dict[str, str] = field(default_factory=dict)  # "endpoint_id", "delivery_id" of the official's webhook
    verification_token: str = ""
    attachment_id: str = ""  # post_a's KTP photo on the letter kept open for attachments

    def submit(self, who: str = "post_a", code: str = "sktm") -> str:
        response = self.api.call("POST", "/api/v1/letters", who, json=self.api.example(code))
        assert response.status_code == 202, response.get_json()
        return str(response.get_json()["id"])

    def draft(self, letter_id: str) -> None:
        """What the worker's render_draft task does."""
        with session_scope(self.api.settings) as session:
            assert lifecycle.render_draft(session=session, settings=self.api.settings, letter_id=uuid.UUID(letter_id))

    def issue(self, letter_id: str) -> str:
        """Draft, approve as the official, then what the worker's issue_letter task does; the QR token."""
        self.draft(letter_id)
        code = self.api.call("GET", f"/api/v1/letters/{letter_id}", "official").get_json()["type"]
        assert self.api.call("POST", f"/api/v1/letters/{letter_id}/approve", "official",
                             json=approval(code)).status_code == 200
        with session_scope(self.api.settings) as session:
            assert issuing.issue_letter(session=session, settings=self.api.settings, letter_id=uuid.UUID(letter_id))
            return str(session.get(Letter, uuid.UUID(letter_id)).verification_token)  # type: ignore[union-attr]


def build_world(api: Api) -> World:
    """A second village with official_b; post_a's letters: one issued to read, one to revoke, two drafts."""
    with session_scope(api.settings) as session:
        other = create_village(session, **OTHER_VILLAGE)
        api.tokens["official_b"] = create_client(session, name="official_b", role=Role.OFFICIAL, village=other)[1]
        ensure_village_keys(session, api.settings)
    world = World(api)
    world.letters["read"] = world.submit()
    world.verification_token = world.issue(world.letters["read"])
    world.letters["revoke"] = world.submit()
    world.issue(world.letters["revoke"])
    for purpose in ("approve", "reject", "attach"):
        world.letters[purpose] = world.submit()
        world.draft(world.letters[purpose])
    added = api.call("POST", f"/api/v1/letters/{world.letters['attach']}/attachments", "post_a", data=ktp_upload())
    assert added.status_code == 201, added.get_json()
    world.attachment_id = added.get_json()["id"]
    return world


def ktp_upload(data: bytes | None = None, kind: str = "ktp", filename: str = "ktp.jpg") -> dict[str, Any]:
    """The multipart form of an attachment upload: kind and file."""
    return {"kind": kind, "file": (BytesIO(ktp_photo() if data is None else data), filename)}
