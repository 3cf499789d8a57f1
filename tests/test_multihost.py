"""Past one machine: two API hosts and three worker hosts sharing no disk, on PostgreSQL, Redis and SeaweedFS.

Every issued PDF downloads through either API (streamed by one, a 302 to a presigned URL of the bucket from the
other), validates with pdfsig against the deployment's one CA, and passes /v/<token>/check on the API host that
did not take the request.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import psycopg
import pytest

from shared.storage.s3 import S3Store
from tests.conftest import SeaweedFS, _tool, approval
from tests.multihost import Cluster, running_cluster

# The 200 letters take about a minute here (2 cores); MULTIHOST_LETTERS runs fewer or more.
LETTERS = int(os.environ.get("MULTIHOST_LETTERS", "200"))
pytestmark = pytest.mark.services


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory, seaweedfs: SeaweedFS, postgres_available: None,
            redis_available: None) -> Iterator[Cluster]:
    bucket = f"suratdesa-multihost-{os.getpid()}"
    with running_cluster(tmp_path_factory.mktemp("hosts"), seaweedfs, bucket,
                         api_env={"api-2": {"STORAGE_PRESIGNED_DOWNLOADS": "true"}}) as running:
        yield running


def database(cluster: Cluster) -> psycopg.Connection[Any]:
    return psycopg.connect(cluster.env["DATABASE_URL"].replace("postgresql+psycopg", "postgresql"), autocommit=True)


def other(api: str) -> str:
    return "api-2" if api == "api-1" else "api-1"


def submit_all(cluster: Cluster, body: dict[str, Any]) -> dict[str, str]:
    """LETTERS submissions, alternately to each API host; letter id -> the host that took it."""
    def submit(n: int) -> tuple[str, str]:
        api = "api-1" if n % 2 == 0 else "api-2"
        answer = cluster.request(api, "POST", "/api/v1/letters", cluster.post_token, json=body)
        assert answer.status_code == 202, answer.text
        return answer.json()["id"], api

    with ThreadPoolExecutor(8) as pool:
        return dict(pool.map(submit, range(LETTERS)))


def approve_as_drafts_appear(cluster: Cluster, taken_by: dict[str, str], timeout: float = 300) -> None:
    """An official approves each draft once it is ready, on the API host that did not take it."""
    pending, deadline = set(taken_by), time.monotonic() + timeout
    with database(cluster) as conn, ThreadPoolExecutor(4) as pool:
        while pending and time.monotonic() < deadline:
            ready = [str(row[0]) for row in conn.execute(
                "SELECT id FROM letter WHERE status = 'awaiting_approval'").fetchall()]
            answers = pool.map(lambda i: cluster.request(other(taken_by[i]), "POST", f"/api/v1/letters/{i}/approve",
                                                         cluster.official_token, json=approval()),
                               [i for i in ready if i in pending])
            for answer in answers:
                assert answer.status_code == 200, answer.text
                pending.discard(answer.json()["id"])
            time.sleep(0.3)
    assert not pending, f"{len(pending)} drafts never appeared"


def wait_all_issued(cluster: Cluster, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    with database(cluster) as conn:
        while time.monotonic() < deadline:
            counts = dict(conn.execute("SELECT status, count(*) FROM letter GROUP BY status").fetchall())
            if counts.get("issued", 0) == LETTERS:
                return
            assert "failed" not in counts, counts
            time.sleep(0.5)
    raise AssertionError(f"not every letter issued after {timeout} s: {counts}")


def nss_trusting(cluster: Cluster, directory: Path) -> str:
    """A private NSS database that trusts the deployment's development CA, as the database holds it."""
    with database(cluster) as conn:
        [(ca_pem,)] = conn.execute("SELECT certificate_pem FROM shared_key WHERE name = 'ca'").fetchall()
    certutil = _tool("certutil")
    directory.mkdir()
    (directory / "ca.pem").write_text(ca_pem)
    subprocess.run([certutil, "-N", "-d", f"sql:{directory}", "--empty-password"], check=True, timeout=30)
    subprocess.run([certutil, "-A", "-d", f"sql:{directory}", "-n", "suratdesa-dev", "-t", "C,C,C", "-i",
                    str(directory / "ca.pem")], check=True, timeout=30)
    return f"sql:{directory}"


def pdfsig_trusted(pdf: bytes, nssdir: str, directory: Path, name: str) -> str:
    path = directory / f"{name}.pdf"
    path.write_bytes(pdf)
    return subprocess.run([_tool("pdfsig"), "-nssdir", nssdir, str(path)], capture_output=True, text=True,
                          timeout=60).stdout


@pytest.mark.timeout(900)  # about 100 s on a quiet machine; 200 letters through five hosts on two cores
def test_letters_go_through_five_hosts_and_verify_on_either_api(cluster: Cluster, seaweedfs: SeaweedFS,
                                                                 tmp_path: Path) -> None:
    types = cluster.request("api-1", "GET", "/api/v1/letter-types", cluster.post_token).json()
    body = next(t["example"] for t in types if t["code"] == "sktm")
    taken_by = submit_all(cluster, body)
    approve_as_drafts_appear(cluster, taken_by)
    wait_all_issued(cluster)
    nssdir = nss_trusting(cluster, tmp_path / "nssdb")

    def check(letter_id: str) -> str:
        api = taken_by[letter_id]
        letter = cluster.request(api, "GET", f"/api/v1/letters/{letter_id}", cluster.official_token).json()
        streamed = cluster.request("api-1", "GET", f"/api/v1/letters/{letter_id}/pdf", cluster.post_token)
        presigned = cluster.request("api-2", "GET", f"/api/v1/letters/{letter_id}/pdf", cluster.post_token)
        assert streamed.status_code == 200 and not streamed.history
        assert [r.status_code for r in presigned.history] == [302] and presigned.status_code == 200
        assert presigned.url.startswith(cluster.env["S3_ENDPOINT_URL"])  # served by the bucket, not the API
        assert streamed.content == presigned.content
        assert hashlib.sha256(streamed.content).hexdigest() == letter["pdf_sha256"]
        report = pdfsig_trusted(streamed.content, nssdir, tmp_path, letter_id)
        assert "Signature is Valid." in report and "Certificate is Trusted." in report, report
        token = letter["verification_url"].rsplit("/", 1)[1]
        verdict = cluster.request(other(api), "POST", f"/v/{token}/check", headers={"Accept": "application/json"},
                                  files={"file": ("surat.pdf", streamed.content, "application/pdf")})
        assert verdict.status_code == 200, verdict.text
        result = verdict.json()
        assert result["verdict"] == "SAH" and result["check"]["identical"] is True
        assert result["check"]["signature"]["valid"] is True and result["check"]["signature"]["trusted"] is True
        return str(letter["number"])

    with ThreadPoolExecutor(4) as pool:
        numbers = list(pool.map(check, list(taken_by)))
    assert len(set(numbers)) == LETTERS  # one number each, whichever worker host numbered it
    issuing_hosts = [name for name in cluster.workers() if " issued as number " in cluster.log(name)]
    assert issuing_hosts == ["worker-1", "worker-2", "worker-3"]
    hosts_share_no_disk_and_the_files_are_in_the_bucket(cluster, seaweedfs)


def hosts_share_no_disk_and_the_files_are_in_the_bucket(cluster: Cluster, seaweedfs: SeaweedFS) -> None:
    homes = {name: cluster.root / name for name in [*cluster.apis, *cluster.workers()]}
    assert all(not (home / "pdf").exists() for home in homes.values())  # nothing written on any host's disk
    assert all(not (home / "keys").exists() for name, home in homes.items() if name.startswith("api-"))
    worker_cas = {(home / "keys" / "ca" / "ca.cert.pem").read_bytes() for name, home in homes.items()
                  if name.startswith("worker-")}
    with database(cluster) as conn:
        [(ca_pem,)] = conn.execute("SELECT certificate_pem FROM shared_key WHERE name = 'ca'").fetchall()
        issued = conn.execute("SELECT count(*) FROM letter WHERE status = 'issued'").fetchone()
    assert worker_cas == {ca_pem.encode()}  # three hosts, one CA: the one in the database
    bucket = cluster.env["STORAGE_URL"].removeprefix("s3://").split("/")[0]
    store = S3Store.from_settings(seaweedfs.settings(bucket))
    keys = list(store.keys("pdf/"))
    assert issued is not None and len([k for k in keys if k.endswith("-issued.pdf")]) == issued[0] == LETTERS
