"""A village may change its numbering mid-year: every letter is still issued, under a number never given before.

The letters go through the worker's own attempt wrapper (run_attempt) on SQLite and on PostgreSQL, at a
moment chosen by hand (10 December 2026, WIB) so the expected numbers can be written out.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from functools import partial
from typing import Any

from sqlmodel import col, select

from shared.db import session_scope
from shared.letters.intake.catalog import load_catalog
from shared.letters.intake.validation import example_request
from shared.letters.signing.provisioning import ensure_village_keys
from shared.letters.workflow import lifecycle
from shared.letters.workflow.attempts import run_attempt
from shared.letters.workflow.issuing import claim_letter, issue_letter
from shared.models import Letter, LetterCounter, LetterStatus, Village
from tests.conftest import Office, in_person

AT = datetime(2026, 12, 10, 3, 0, tzinfo=UTC)  # 10:00 WIB, 10 December 2026


def approved(office: Office, code: str) -> uuid.UUID:
    body = example_request(load_catalog(office.settings.templates_dir).types[code])
    settings = office.settings
    with session_scope(settings) as session:
        letter_id = lifecycle.submit_letter(session=session, settings=settings, client=office.post, body=body,
                                            now=AT).id
        assert lifecycle.render_draft(session=session, settings=settings, letter_id=letter_id, now=AT)
        lifecycle.approve_letter(session=session, settings=settings, letter_id=letter_id, actor=office.official,
                                 checked_in_person=in_person(code))
    return letter_id


def issue(office: Office, *codes: str) -> list[uuid.UUID]:
    """Letters of these types approved, then issued as the worker issues them (attempts, bounded)."""
    with session_scope(office.settings) as session:
        ensure_village_keys(session, office.settings)
    ids = [approved(office, code) for code in codes]
    settings = office.settings.model_copy(update={"letter_max_attempts": 2})
    for letter_id in ids:
        for _ in range(settings.letter_max_attempts):  # an attempt that failed is tried again, as the worker does
            if run_attempt(settings=settings, letter_id=letter_id, source=LetterStatus.APPROVED,
                           step=partial(issue_letter, now=AT), with_letter=True) is not None:
                break
    return ids


def change_profile(office: Office, **changes: Any) -> None:
    with session_scope(office.settings) as session:
        village = session.get(Village, office.village.id)
        assert village is not None
        village.profile = {**village.profile, **changes}
        session.add(village)
        session.commit()


def numbers(office: Office) -> list[tuple[str, str | None]]:
    """(status, number) of the village's letters, in the order they were submitted."""
    query = (select(Letter.status, Letter.number).where(Letter.village_id == office.village.id)
             .order_by(col(Letter.created_at)))
    with session_scope(office.settings) as session:
        return [(status, number) for status, number in session.exec(query).all()]


def test_switching_from_per_type_to_shared_numbers_skips_the_numbers_already_given(office: Office) -> None:
    issue(office, "sktm", "sktm", "domisili")
    change_profile(office, sequence="shared")
    issue(office, "sktm", "domisili", "sktm")
    # the shared count starts at 1, and passes over 401/001 and 401/002, which the per-type count gave out
    assert numbers(office) == [("issued", f"{n}/Ds.Uji/XII/2026") for n in (
        "401/001", "401/002", "470/001", "401/003", "470/004", "401/005")]


def test_a_pattern_that_makes_two_counts_meet_never_repeats_a_number(office: Office) -> None:
    issue(office, "kelahiran", "kematian")  # 474.1 and 474.3: a count each
    change_profile(office, number_pattern="{classification:.3}/{seq:03d}/{village_code}/{roman_month}/{year}")
    issue(office, "kelahiran", "kematian", "kelahiran", "kematian")
    assert numbers(office) == [("issued", f"{n}/Ds.Uji/XII/2026") for n in (
        "474.1/001", "474.3/001", "474/002", "474/003", "474/004", "474/005")]


def test_two_attempts_that_read_the_letter_before_either_claimed_it_give_it_one_number(office: Office) -> None:
    """Two attempts at one letter whose counts both read it unnumbered (the first one's lease ran out while it was
    frozen): the second claim finds the number the first committed, and its own advance of the counter is undone,
    so the next letter takes the next number."""
    settings = office.settings
    with session_scope(settings) as session:
        ensure_village_keys(session, settings)
    letter_id = approved(office, "sktm")
    reads = []
    for _ in range(2):  # two copies, as two workers' counts returned them
        with session_scope(settings) as session:
            reads.append(lifecycle.letter_and_village(session, letter_id))
    first_read, second_read = reads
    assert first_read is not None and first_read[0] is not second_read[0]  # type: ignore[index]
    with session_scope(settings) as session:
        first = claim_letter(session, settings, letter_id, now=AT, found=first_read)
    with session_scope(settings) as session:
        second = claim_letter(session, settings, letter_id, now=AT, found=second_read)
    assert first is not None and second is not None
    assert first.letter.number == "401/001/Ds.Uji/XII/2026"
    assert (second.letter.number, second.letter.verification_token) == (
        first.letter.number, first.letter.verification_token)
    with session_scope(settings) as session:
        assert [counter.last_seq for counter in session.exec(select(LetterCounter))] == [1]
    issue(office, "sktm")  # the next letter, as the worker issues it
    assert numbers(office) == [("approved", "401/001/Ds.Uji/XII/2026"), ("issued", "401/002/Ds.Uji/XII/2026")]
