"""The outgoing-letter register: the village's issued letters of a year, in issue order, revoked ones marked.

Letters go through the real workflow (submit, draft, approve, issue) on SQLite and PostgreSQL, at moments
chosen by hand in December 2026 and January 2027 (WIB), so that every expected row can be written out.
"""

from __future__ import annotations

import csv
import io
import subprocess
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from openpyxl import load_workbook
from sqlalchemy import text as sql
from sqlmodel import insert

from shared.accounts import create_client, create_village
from shared.db import session_scope
from shared.letters.intake.catalog import load_catalog
from shared.letters.intake.validation import example_request
from shared.letters.records.exports import register_file
from shared.letters.records.register import outgoing_register
from shared.letters.signing.provisioning import ensure_village_keys
from shared.letters.workflow import issuing, lifecycle
from shared.models import Client, Letter, LetterStatus, Role, Village
from tests.conftest import Office, in_person

DEC_10 = datetime(2026, 12, 10, 3, 0, tzinfo=UTC)  # 10:00 WIB
JAN_5 = datetime(2027, 1, 5, 1, 0, tzinfo=UTC)  # 08:00 WIB
SIGNER = "-, Kepala Desa Uji"  # the minimal profile create_village makes


def issued(office: Office, code: str, at: datetime, *, post: Client | None = None,
           official: Client | None = None) -> uuid.UUID:
    """A letter of type code submitted, drafted and approved at the moment given (by default in the office)."""
    settings = office.settings
    body = example_request(load_catalog(settings.templates_dir).types[code])
    with session_scope(settings) as session:
        ensure_village_keys(session, settings)
        letter_id = lifecycle.submit_letter(session=session, settings=settings, client=post or office.post,
                                            body=body, now=at).id
        assert lifecycle.render_draft(session=session, settings=settings, letter_id=letter_id, now=at)
        lifecycle.approve_letter(session=session, settings=settings, letter_id=letter_id,
                                 actor=official or office.official, checked_in_person=in_person(code))
    return letter_id


def issue(office: Office, letter_id: uuid.UUID, at: datetime) -> None:
    with session_scope(office.settings) as session:
        assert issuing.issue_letter(session=session, settings=office.settings, letter_id=letter_id, now=at)


def register(office: Office, year: int, month: int | None = None) -> list[tuple[object, ...]]:
    catalog = load_catalog(office.settings.templates_dir)
    with session_scope(office.settings) as session:
        village = session.get(Village, office.village.id)
        assert village is not None
        rows = outgoing_register(session, village=village, catalog=catalog, year=year, month=month).rows
    return [(r.running_number, r.letter_date, r.number, r.classification, r.title, r.signer, r.status,
             r.revoked_on, r.revocation_reason) for r in rows]


def test_the_register_lists_each_issued_letter_of_the_year_in_issue_order_with_revoked_ones_marked(
        office: Office) -> None:
    first = issued(office, "sktm", DEC_10)
    second = issued(office, "domisili", DEC_10)
    third = issued(office, "sktm", DEC_10)
    waiting = issued(office, "usaha", DEC_10)  # approved, never issued: not in the register
    for minutes, letter_id in ((0, first), (5, second), (9, third)):
        issue(office, letter_id, DEC_10 + timedelta(minutes=minutes))
    next_year = issued(office, "sktm", JAN_5)
    issue(office, next_year, JAN_5)
    with session_scope(office.settings) as session:
        lifecycle.revoke_letter(session=session, letter_id=second, actor=office.official,
                                reason="Alamat pemohon keliru")
    revoked_on = datetime.now(ZoneInfo("Asia/Jakarta")).date()
    sktm, domisili = "Surat Keterangan Tidak Mampu", "Surat Keterangan Domisili"
    assert register(office, 2026) == [
        (1, date(2026, 12, 10), "401/001/Ds.Uji/XII/2026", "401", sktm, SIGNER, "issued", None, None),
        (2, date(2026, 12, 10), "470/001/Ds.Uji/XII/2026", "470", domisili, SIGNER, "revoked", revoked_on,
         "Alamat pemohon keliru"),
        (3, date(2026, 12, 10), "401/002/Ds.Uji/XII/2026", "401", sktm, SIGNER, "issued", None, None),
    ]
    assert register(office, 2027) == [
        (1, date(2027, 1, 5), "401/001/Ds.Uji/I/2027", "401", sktm, SIGNER, "issued", None, None)]
    assert register(office, 2026, month=11) == []
    assert [row[0] for row in register(office, 2026, month=12)] == [1, 2, 3]
    with session_scope(office.settings) as session:
        assert session.get(Letter, waiting).status == LetterStatus.APPROVED  # type: ignore[union-attr]


def test_another_villages_letters_are_not_in_this_register(office: Office) -> None:
    with session_scope(office.settings) as session:
        other = create_village(session, code="Ds.Lain", name="Lain", district="Caringin", regency="Sukabumi")
        post = create_client(session, name="pos-lain", role=Role.POST, village=other)[0]
        official = create_client(session, name="petugas-lain", role=Role.OFFICIAL, village=other)[0]
    mine = issued(office, "sktm", DEC_10)
    issue(office, mine, DEC_10)
    theirs = issued(office, "sktm", DEC_10, post=post, official=official)
    issue(office, theirs, DEC_10)
    assert [row[2] for row in register(office, 2026)] == ["401/001/Ds.Uji/XII/2026"]


def test_thousands_of_letters_come_out_as_every_format_with_every_row(office: Office, tmp_path: Path) -> None:
    """2,400 issued letters written straight into the table: the export, not the issuing, is under test."""
    issued_at = DEC_10
    with session_scope(office.settings) as session:
        session.connection().execute(insert(Letter), [
            {"id": uuid.uuid4(), "village_id": office.village.id, "client_id": office.post.id, "type": "sktm",
             "status": "issued", "applicant": {"name": f"Warga {seq}"}, "fields": {},
             "number": f"401/{seq:04d}/Ds.Uji/XII/2026", "number_scope": "401", "number_year": 2026,
             "number_seq": seq, "signer": {"name": "Ujang", "position": "Kepala Desa Uji"},
             "issued_at": issued_at + timedelta(seconds=seq), "created_at": issued_at, "updated_at": issued_at}
            for seq in range(1, 2401)])
        session.commit()
    catalog = load_catalog(office.settings.templates_dir)
    with session_scope(office.settings) as session:
        village = session.get(Village, office.village.id)
        assert village is not None
        files = {kind: register_file(session, village=village, catalog=catalog, year=2026, month=None,
                                     file_format=kind) for kind in ("csv", "xlsx")}
    with session_scope(office.settings) as session:
        if office.settings.db_url.startswith("postgresql"):
            # the seconds of laying out 2,400 rows (5 s here on a quiet machine) must not be spent in an open
            # transaction, which PostgreSQL ends once it sits idle this long: 20 s in service, 2 s here, which
            # reading the rows in batches of 500 stays far below
            session.exec(sql("SET idle_in_transaction_session_timeout = 2000"))  # type: ignore[call-overload]
        village = session.get(Village, office.village.id)
        assert village is not None
        files["pdf"] = register_file(session, village=village, catalog=catalog, year=2026, month=None,
                                     file_format="pdf")
    lines = list(csv.reader(io.StringIO(files["csv"].data.decode("utf-8-sig"))))
    assert len(lines) == 2401 and lines[2400][:3] == ["2400", "2026-12-10", "401/2400/Ds.Uji/XII/2026"]
    sheet = load_workbook(io.BytesIO(files["xlsx"].data), read_only=True).active
    assert sheet is not None
    cells = list(sheet.iter_rows(values_only=True))
    assert len(cells) == 2401 and cells[-1][:3] == (2400, datetime(2026, 12, 10), "401/2400/Ds.Uji/XII/2026")
    (tmp_path / "agenda.pdf").write_bytes(files["pdf"].data)
    text = subprocess.run(["pdftotext", "-layout", str(tmp_path / "agenda.pdf"), "-"], capture_output=True,
                          text=True, check=True, timeout=60).stdout
    assert "401/2400/Ds.Uji/XII/2026" in text and "Warga 1777" in text
    pages = text.count("\f")
    assert pages > 10 and f"Halaman {pages} dari {pages}" in text
