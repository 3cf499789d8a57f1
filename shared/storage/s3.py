"""Blobs in an S3-compatible bucket (AWS S3, SeaweedFS, MinIO, ...) through boto3, written once by a conditional PUT."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from functools import lru_cache
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from shared.config import Settings

CHUNK = 64 * 1024
# A conditional PUT racing another on the same key may be answered 409 (AWS: ConditionalRequestConflict);
# asking again settles it: one of the two wrote, the other is then refused with 412.
CONFLICT_RETRIES = 5


class S3Store:
    """Keys under prefix in one bucket; `PUT If-None-Match: *` makes a key write-once on the server itself."""

    def __init__(self, client: Any, *, bucket: str, prefix: str, presign_seconds: int | None) -> None:
        self.client, self.bucket, self.prefix = client, bucket, prefix
        self.presign_seconds = presign_seconds

    @classmethod
    def from_settings(cls, settings: Settings) -> S3Store:
        """The store STORAGE_URL names, with this process's client (one per process: boto3 is not fork-safe)."""
        bucket, prefix = settings.storage_location
        secret = settings.aws_secret_access_key.get_secret_value() if settings.aws_secret_access_key else None
        client = _client(settings.s3_endpoint_url, settings.aws_default_region, settings.aws_access_key_id,
                         secret, os.getpid())
        return cls(client, bucket=bucket, prefix=prefix,
                   presign_seconds=settings.storage_presign_seconds if settings.storage_presigned_downloads else None)

    def _name(self, key: str) -> str:
        return self.prefix + key

    def put_once(self, key: str, data: bytes) -> bytes:
        """PUT unless the key exists (412 Precondition Failed otherwise); the stored bytes either way."""
        for attempt in range(CONFLICT_RETRIES):
            try:
                self.client.put_object(Bucket=self.bucket, Key=self._name(key), Body=data, IfNoneMatch="*",
                                       ContentType=_content_type(key))
                return data
            except ClientError as error:
                status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
                if status == 412:
                    break
                if status != 409 or attempt == CONFLICT_RETRIES - 1:
                    raise
                time.sleep(0.05 * (attempt + 1))
        stored = self.get(key)
        if stored is None:  # refused as existing, then gone: only a deletion outside suratdesa does that
            raise RuntimeError(f"object {self._name(key)} was refused as existing but cannot be read")
        return stored

    def _object(self, key: str) -> Any | None:
        """GET of the key's object (its body not read yet), or None when it does not exist."""
        try:
            return self.client.get_object(Bucket=self.bucket, Key=self._name(key))
        except ClientError as error:
            if _missing(error):
                return None
            raise

    def get(self, key: str) -> bytes | None:
        answer = self._object(key)
        if answer is None:
            return None
        body: bytes = answer["Body"].read()
        return body

    def exists(self, key: str) -> bool:
        try:
            self.client.head_object(Bucket=self.bucket, Key=self._name(key))
        except ClientError as error:
            if _missing(error):
                return False
            raise
        return True

    def stream(self, key: str) -> tuple[Iterator[bytes], int] | None:
        answer = self._object(key)
        if answer is None:
            return None
        return _chunks(answer["Body"]), int(answer["ContentLength"])

    def keys(self, prefix: str = "") -> Iterator[str]:
        pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=self._name(prefix))
        for page in pages:
            for item in page.get("Contents", []):
                yield item["Key"][len(self.prefix):]

    def download_url(self, key: str, *, filename: str, content_type: str) -> str | None:
        """A presigned GET valid for STORAGE_PRESIGN_SECONDS when STORAGE_PRESIGNED_DOWNLOADS is on, else None."""
        if self.presign_seconds is None:
            return None
        params = {"Bucket": self.bucket, "Key": self._name(key), "ResponseContentType": content_type,
                  "ResponseContentDisposition": f'inline; filename="{filename}"'}
        url: str = self.client.generate_presigned_url("get_object", Params=params, ExpiresIn=self.presign_seconds)
        return url

    def ensure_bucket(self) -> None:
        """Create the bucket unless it exists (`suratdesa init`)."""
        try:
            self.client.head_bucket(Bucket=self.bucket)
        except ClientError as error:
            if not _missing(error):
                raise
            try:
                self.client.create_bucket(Bucket=self.bucket)
            except ClientError as race:  # another host's init made it meanwhile
                if race.response.get("Error", {}).get("Code") not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                    raise


def _missing(error: ClientError) -> bool:
    code = error.response.get("Error", {}).get("Code")
    return code in ("404", "NoSuchKey", "NoSuchBucket", "NotFound")


def _content_type(key: str) -> str:
    return "application/pdf" if key.endswith(".pdf") else "application/octet-stream"


def _chunks(body: Any) -> Iterator[bytes]:
    try:
        yield from body.iter_chunks(CHUNK)
    finally:
        body.close()


@lru_cache(maxsize=8)
def _client(endpoint_url: str | None, region: str, access_key: str | None, secret_key: str | None,
            _pid: int) -> Any:
    # Path-style addressing: S3-compatible servers on a host name or a port seldom serve bucket subdomains.
    # Signature V4 for presigned URLs too (V2 ones with response headers are refused by SeaweedFS).
    config = Config(signature_version="s3v4", connect_timeout=5, read_timeout=30,
                    retries={"max_attempts": 3, "mode": "standard"},
                    s3={"addressing_style": "path"} if endpoint_url else {})
    return boto3.session.Session().client("s3", endpoint_url=endpoint_url, region_name=region,
                                          aws_access_key_id=access_key, aws_secret_access_key=secret_key,
                                          config=config)
