"""Stored files in an S3 bucket, on a real S3-compatible server (SeaweedFS), not a mock."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from shared.config import Settings
from shared.storage import LetterFiles, letter_key, open_store
from shared.storage.s3 import S3Store
from tests.conftest import SeaweedFS


def store(seaweedfs: SeaweedFS, bucket: str, **values: object) -> S3Store:
    opened = open_store(seaweedfs.settings(bucket, **values))
    assert isinstance(opened, S3Store)
    opened.ensure_bucket()
    return opened


def test_storage_url_names_bucket_and_prefix() -> None:
    assert Settings(storage_url="s3://letters-bucket/desa/jabar").storage_location == ("letters-bucket", "desa/jabar/")
    assert Settings(storage_url="s3://letters-bucket").storage_location == ("letters-bucket", "")
    with pytest.raises(ValueError, match="s3://bucket"):
        Settings(storage_url="https://example.org/bucket")


def test_a_key_is_written_once_and_the_first_writer_wins(seaweedfs: SeaweedFS, bucket: str) -> None:
    s3 = store(seaweedfs, bucket)
    files, letter_id = LetterFiles(seaweedfs.settings(bucket), s3), uuid.uuid4()
    assert not files.exists(letter_id, "issued") and files.read(letter_id, "issued") is None
    assert files.write_once(letter_id, "issued", b"%PDF first") == b"%PDF first"
    assert files.write_once(letter_id, "issued", b"%PDF second") == b"%PDF first"  # 412: the stored one back
    assert files.exists(letter_id, "issued") and files.read(letter_id, "issued") == b"%PDF first"
    raw = s3.client.get_object(Bucket=bucket, Key=f"letters/{letter_key(letter_id, 'issued')}")
    assert raw["Body"].read() == b"%PDF first" and raw["ContentType"] == "application/pdf"  # under the prefix


def test_of_sixteen_simultaneous_writers_one_is_stored_and_all_get_it_back(seaweedfs: SeaweedFS, bucket: str) -> None:
    s3 = store(seaweedfs, bucket)
    with ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(lambda n: s3.put_once("attachments/x/1", b"writer %d" % n), range(16)))
    stored = s3.get("attachments/x/1")
    assert stored is not None and set(answers) == {stored}


def test_keys_stream_and_listing(seaweedfs: SeaweedFS, bucket: str) -> None:
    s3 = store(seaweedfs, bucket)
    big = bytes(range(256)) * 1024  # several chunks
    s3.put_once("pdf/aa/one-issued.pdf", big)
    s3.put_once("attachments/aa/1", b"x")
    chunks, length = s3.stream("pdf/aa/one-issued.pdf")  # type: ignore[misc]
    assert length == len(big) and b"".join(chunks) == big
    assert s3.stream("pdf/aa/two-issued.pdf") is None
    assert list(s3.keys("pdf/")) == ["pdf/aa/one-issued.pdf"]
    assert sorted(s3.keys()) == ["attachments/aa/1", "pdf/aa/one-issued.pdf"]


def test_a_presigned_url_serves_the_object_and_only_when_switched_on(seaweedfs: SeaweedFS, bucket: str) -> None:
    assert store(seaweedfs, bucket).download_url("pdf/x.pdf", filename="a.pdf", content_type="application/pdf") is None
    s3 = store(seaweedfs, bucket, storage_presigned_downloads=True, storage_presign_seconds=60)
    s3.put_once("pdf/x.pdf", b"%PDF presigned")
    url = s3.download_url("pdf/x.pdf", filename="surat-1.pdf", content_type="application/pdf")
    assert url is not None and "X-Amz-Signature=" in url
    answer = requests.get(str(url), timeout=10)
    assert answer.status_code == 200 and answer.content == b"%PDF presigned"
    assert answer.headers["Content-Disposition"] == 'inline; filename="surat-1.pdf"'
    assert requests.get(str(url).split("?")[0], timeout=10).status_code == 403  # unsigned: refused


def test_wrong_credentials_are_refused(seaweedfs: SeaweedFS, bucket: str) -> None:
    store(seaweedfs, bucket)
    wrong = open_store(seaweedfs.settings(bucket, aws_secret_access_key="not-the-secret"))
    with pytest.raises(Exception, match="SignatureDoesNotMatch|AccessDenied|InvalidAccessKeyId|403"):
        wrong.get("pdf/x.pdf")
