"""Issuing in three steps on running workers: a worker killed or frozen between taking the number and marking the
letter issued, and two workers issuing one type side by side (SQLite, and PostgreSQL + Redis).

Step (2) is held up from the data, not from test code in the service: the village signs with a PKCS#12 whose
path is a named pipe the test holds open, so a worker that has taken the number waits reading its key until the
test writes it (or kills, stops or resumes that worker).
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12
from sqlmodel import col, select

from shared.db import get_engine, session_scope
from shared.letters.signing.keys import ensure_dev_ca, ensure_village_key, village_folder
from shared.models import Letter, LetterCounter, LetterEvent, as_utc
from shared.storage import LetterFiles
from tests.conftest import Stack, run_cli, running_stack
from tests.pdftools import pdfsig, qr_codes
from tests.worker.batch import FAST_SWEEPER, approve_all, issued_events, submit_many, wait_all

pytestmark = pytest.mark.timeout(120)

PASSWORD = "kunci-uji-desa"
# leases of 2 s checked every 0.5 s: a frozen worker's letter runs again within about 3 s
FAST_LEASES = {**FAST_SWEEPER, "ATTEMPT_LEASE": "2", "LEASE_CHECK_INTERVAL": "0.5"}


@dataclass
class KeyGate:
    """The village's PKCS#12 path: a regular file (open) or a named pipe the test holds (closed)."""

    path: Path
    p12: bytes
    pipe: int | None = None

    def close(self) -> None:
        """From now on a worker that starts signing waits until the test writes the key into the pipe."""
        self.path.unlink()
        os.mkfifo(self.path)
        self.pipe = os.open(self.path, os.O_RDWR)  # a writer is there: readers open at once, then wait in read

    def open(self) -> None:
        """Signers that start from now on read the key file; those waiting in the pipe still wait."""
        temporary = self.path.with_suffix(".new")
        temporary.write_bytes(self.p12)
        os.replace(temporary, self.path)

    def feed(self) -> None:
        """Give the key to the one worker waiting in the pipe, and end the pipe."""
        assert self.pipe is not None
        os.write(self.pipe, self.p12)
        os.close(self.pipe)
        self.pipe = None


def village_p12(keys_dir: Path) -> bytes:
    """The demo village's development key and certificate (made as init makes them) as a PKCS#12."""
    ensure_dev_ca(keys_dir)
    ensure_village_key(keys_dir, village_code="Ds.Cjk", village_name="Desa Cijengkol",
                       signer_position="Kepala Desa Cijengkol")
    folder = keys_dir / "villages" / village_folder("Ds.Cjk")
    key = serialization.load_pem_private_key((folder / "signer.key.pem").read_bytes(), password=None)
    cert = x509.load_pem_x509_certificate((folder / "signer.cert.pem").read_bytes())
    ca = x509.load_pem_x509_certificate((keys_dir / "ca" / "ca.cert.pem").read_bytes())
    return pkcs12.serialize_key_and_certificates(b"Ds.Cjk", key, cert, [ca],  # type: ignore[arg-type]
                                                 serialization.BestAvailableEncryption(PASSWORD.encode()))


@pytest.fixture(scope="module", params=["embedded", "services"])
def gated(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Stack, KeyGate]]:
    """A stack whose village signs with a gated PKCS#12, and two workers of one process each."""
    if request.param == "services":
        request.getfixturevalue("postgres_available")
        request.getfixturevalue("redis_available")
    home = tmp_path_factory.mktemp(f"steps-{request.param}")
    gate = KeyGate(path=home / "cijengkol.p12", p12=village_p12(home / "keys"))
    gate.path.write_bytes(gate.p12)
    keys = json.dumps({"Ds.Cjk": {"pkcs12": str(gate.path), "password": PASSWORD}})
    with running_stack(home, services=request.param == "services",
                       extra_env={**FAST_LEASES, "SIGNING_KEYS": keys}) as stack:
        stack.stop("worker")
        for name in ("worker-a", "worker-b"):
            stack.start(name, "worker", "--concurrency", "1")
        yield stack, gate
        if gate.pipe is not None:
            os.close(gate.pipe)
        get_engine(stack.settings()).dispose()


def row(stack: Stack, letter_id: str) -> Letter:
    with session_scope(stack.settings()) as session:
        letter = session.get(Letter, uuid.UUID(letter_id))
        assert letter is not None
        return letter


def events(stack: Stack, letter_id: str) -> list[tuple[int | None, str, str]]:
    with session_scope(stack.settings()) as session:
        found = session.exec(select(LetterEvent).where(LetterEvent.letter_id == uuid.UUID(letter_id))
                             .order_by(col(LetterEvent.id))).all()
        return [(event.id, event.type, event.hash) for event in found]


def worker_logs(stack: Stack) -> str:
    return stack.log("worker-a") + stack.log("worker-b")


def claimed_in_step_two(stack: Stack, letter_id: str, timeout: float = 30) -> tuple[Letter, int]:
    """Wait until the letter has its number while still `approved`; the letter and the pid running its attempt."""
    deadline = time.monotonic() + timeout
    while True:
        letter = row(stack, letter_id)
        if letter.status == "approved" and letter.number is not None and letter.lease_holder is not None:
            return letter, int(letter.lease_holder.rsplit(":", 1)[1])
        assert time.monotonic() < deadline, (letter.status, letter.number, worker_logs(stack)[-3000:])
        time.sleep(0.05)


@contextmanager
def gate_closed(gate: KeyGate) -> Iterator[None]:
    gate.close()
    try:
        yield
    finally:
        if gate.path.is_fifo():
            gate.open()


def drafted(stack: Stack, count: int) -> list[str]:
    ids = submit_many(stack, count)
    wait_all(stack, ids, "awaiting_approval", timeout=60)
    return ids


def counter_last_seq(stack: Stack) -> int:
    with session_scope(stack.settings()) as session:
        counter = session.exec(select(LetterCounter).where(LetterCounter.scope == "401")).one()
        return counter.last_seq


def numbered_seqs(stack: Stack) -> list[int]:
    with session_scope(stack.settings()) as session:
        return sorted(seq for seq in session.exec(select(Letter.number_seq).where(
            Letter.type == "sktm", col(Letter.number_seq).is_not(None))).all() if seq is not None)


def test_a_worker_killed_after_taking_the_number_leaves_it_to_the_next_with_the_same_number_and_token(
        gated: tuple[Stack, KeyGate]) -> None:
    stack, gate = gated
    [letter_id] = drafted(stack, 1)
    with gate_closed(gate):
        approve_all(stack, [letter_id])
        claimed, pid = claimed_in_step_two(stack, letter_id)
        # (1) committed, (2) not done: nothing signed on disk yet, and the number is not shown as the letter's
        assert not LetterFiles(stack.settings()).exists(uuid.UUID(letter_id), "issued")
        view = stack.request("GET", f"/api/v1/letters/{letter_id}", stack.official_token).json()
        assert (view["status"], view["number"], view["verification_url"]) == ("approved", None, None)
        assert stack.request("GET", f"/v/{claimed.verification_token}").status_code == 404  # never SAH yet
        gate.open()
        os.kill(pid, signal.SIGKILL)
    letter = stack.wait_for(letter_id, "issued", timeout=45)

    done = row(stack, letter_id)
    assert (done.number, done.verification_token, done.number_seq) == (
        claimed.number, claimed.verification_token, claimed.number_seq)
    assert issued_events(stack, [letter_id]) == {letter_id: 1}
    with session_scope(stack.settings()) as session:
        issued = session.exec(select(LetterEvent).where(LetterEvent.letter_id == uuid.UUID(letter_id),
                                                        LetterEvent.type == "issued")).one()
    assert issued.detail["number"] == claimed.number
    # never a second number: the counter gave exactly the numbers letters have, each once
    assert numbered_seqs(stack) == list(range(1, counter_last_seq(stack) + 1))
    pdf = stack.request("GET", f"/api/v1/letters/{letter_id}/pdf", stack.official_token).content
    assert "Signature is Valid." in pdfsig(pdf)
    url = f"{stack.base_url}/v/{claimed.verification_token}"
    assert letter["verification_url"] == url and qr_codes(pdf) == [url]
    page = stack.request("GET", url.removeprefix(stack.base_url))
    assert page.status_code == 200 and "SAH" in page.text and str(claimed.number) in page.text
    assert "every event chain is intact" in run_cli(stack.env, "audit", "verify")


def test_a_frozen_worker_that_wakes_after_another_finished_its_letter_changes_nothing(
        gated: tuple[Stack, KeyGate]) -> None:
    stack, gate = gated
    [letter_id] = drafted(stack, 1)
    files = LetterFiles(stack.settings())
    with gate_closed(gate):
        approve_all(stack, [letter_id])
        claimed, pid = claimed_in_step_two(stack, letter_id)
        os.kill(pid, signal.SIGSTOP)
        try:
            gate.open()  # the other worker may sign; the frozen one still waits in the pipe
            stack.wait_for(letter_id, "issued", timeout=45)  # its lease ran out: run again by the other worker
            finished, pdf, trail = row(stack, letter_id), files.read(uuid.UUID(letter_id), "issued"), \
                events(stack, letter_id)
            gate.feed()  # the frozen worker's key is there when it wakes up
        finally:
            os.kill(pid, signal.SIGCONT)
    # the woken worker signs its own PDF for the letter, finds the letter stored and issued, and stops there
    deadline = time.monotonic() + 30
    while f"issue_letter {letter_id}: nothing to do" not in worker_logs(stack):
        assert time.monotonic() < deadline, worker_logs(stack)[-3000:]
        time.sleep(0.1)
    after = row(stack, letter_id)
    assert finished.number == claimed.number and finished.verification_token == claimed.verification_token
    assert (after.status, after.number, after.verification_token, after.pdf_sha256, as_utc(after.issued_at)) == (
        "issued", finished.number, finished.verification_token, finished.pdf_sha256, as_utc(finished.issued_at))
    stored = files.read(uuid.UUID(letter_id), "issued")
    assert pdf is not None and stored == pdf
    assert finished.pdf_sha256 is not None and finished.pdf_sha256 == hashlib.sha256(stored).hexdigest()
    assert events(stack, letter_id) == trail and [kind for _, kind, _ in trail].count("issued") == 1
    assert numbered_seqs(stack) == list(range(1, counter_last_seq(stack) + 1))
    assert "Signature is Valid." in pdfsig(stored)


def test_the_next_letter_of_a_type_is_numbered_while_the_first_is_being_signed(gated: tuple[Stack, KeyGate]) -> None:
    """The counter row is not held through the render and signature: while one worker waits in step (2) of a
    letter, the other worker takes the next number of the same type, so the two are not queued one behind the
    other. (Shown by the order of events, not by timing: the first letter is held in step (2) by the gate.)"""
    stack, gate = gated
    first, second = drafted(stack, 2)
    assert len(gate.p12) < 4096  # one write to the pipe reaches one reader whole (PIPE_BUF)
    gate.close()
    try:
        approve_all(stack, [first])
        numbered_first, first_pid = claimed_in_step_two(stack, first)
        approve_all(stack, [second])
        numbered_second, second_pid = claimed_in_step_two(stack, second)
        assert row(stack, first).status == "approved"  # still in step (2), holding no lock
        assert first_pid != second_pid
        assert numbered_second.number_scope == numbered_first.number_scope
        assert numbered_second.number_seq == (numbered_first.number_seq or 0) + 1
    finally:
        gate.open()  # a signer that starts again reads the key file
        gate.feed()  # one of the two waiting in the pipe gets the key; the other's attempt fails and runs again
    wait_all(stack, [first, second], "issued", timeout=60)
    assert issued_events(stack, [first, second]) == {first: 1, second: 1}
    assert numbered_seqs(stack) == list(range(1, counter_last_seq(stack) + 1))
