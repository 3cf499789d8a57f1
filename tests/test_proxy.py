"""The buffering proxy of docker-compose.yml (deploy/nginx.conf, run by Debian's nginx) in front of a running
stack whose API trusts it (TRUSTED_PROXY_COUNT=1): hamlet posts on slow connections do not use up the API's
gunicorn workers, an attachment of the largest size passes, a forged X-Forwarded-For does not escape the rate
limits, nginx's own refusals are problem+json, and its logs hold no verification token, tracking code or NIK."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from shared.letters.attachments.content import MAX_ATTACHMENT_BYTES
from tests.api.test_attachments_api import padded_pdf
from tests.conftest import (
    ROOT,
    Stack,
    TricklingPost,
    compose_service,
    free_port,
    running_stack,
    service_missing,
    wait_healthy,
)

pytestmark = pytest.mark.timeout(180)
SLOW_POSTS = 4  # twice the API's gunicorn workers: without the proxy, none would be left for anyone else
TOKEN_IN_URL = "Zq8wXyKodeYangTidakTerdaftar01"  # shaped as a verification token; no letter has it
NIK_IN_URL = "3202091203850001"  # a client that puts a NIK in a URL must not get it logged
CODE_IN_URL = "7KQ2-MX9P-4TRW"  # shaped as a resident's tracking code; no letter has it


@dataclass
class Proxied:
    stack: Stack
    url: str
    home: Path

    def logs(self, *expected: str, timeout: float = 10) -> str:
        """What nginx has written: its access log (its standard output, where deploy/nginx.conf sends it, as the
        image's does), its error lines (standard error) and its own log of starting; once each expected text is in
        it (nginx writes a request's line after its answer is sent)."""
        deadline = time.monotonic() + timeout
        while True:
            text = "".join((self.home / name).read_text(errors="replace")
                           for name in ("nginx-stdout.log", "nginx-stderr.log", "nginx.log")
                           if (self.home / name).exists())
            if all(line in text for line in expected) or time.monotonic() > deadline:
                return text
            time.sleep(0.05)


def proxy_config(api_port: int, port: int) -> str:
    """deploy/nginx.conf as compose mounts it, with the API's and its own address this test's (as compose_args
    rewrites the API's host and port)."""
    config = (ROOT / "deploy" / "nginx.conf").read_text()
    assert "proxy_pass http://api:8000;" in config and "listen 8000;" in config
    return (config.replace("proxy_pass http://api:8000;", f"proxy_pass http://127.0.0.1:{api_port};")
            .replace("listen 8000;", f"listen 127.0.0.1:{port};"))


@pytest.fixture(scope="module")
def proxied(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Proxied]:
    nginx = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin")  # root's PATH has sbin, others' not
    if nginx is None:
        service_missing("nginx is not installed (make test installs Debian's nginx-light when run as root)")
    assert compose_service("proxy")["volumes"] == ["./deploy/nginx.conf:/etc/nginx/conf.d/default.conf:ro"]
    home = tmp_path_factory.mktemp("proxied")
    with running_stack(home / "stack", services=False, extra_env={"TRUSTED_PROXY_COUNT": "1"}) as stack:
        api_port, port = int(stack.base_url.rsplit(":", 1)[1]), free_port()
        (home / "default.conf").write_text(proxy_config(api_port, port))
        temp = home / "nginx-temp"
        temp.mkdir()
        # the image's nginx.conf, reduced to what a process of a test's own needs: its paths under home
        (home / "nginx.conf").write_text(
            f"daemon off;\nuser root;\nworker_processes 1;\npid {home}/nginx.pid;\nerror_log {home}/nginx.log;\n"
            "events { worker_connections 256; }\n"
            f"http {{\n access_log {home}/nginx-access.log;\n client_body_temp_path {temp}/body;\n"
            f" proxy_temp_path {temp}/proxy;\n fastcgi_temp_path {temp}/fastcgi;\n uwsgi_temp_path {temp}/uwsgi;\n"
            f" scgi_temp_path {temp}/scgi;\n include {home}/default.conf;\n}}\n")
        with (home / "nginx-stdout.log").open("wb") as stdout, (home / "nginx-stderr.log").open("wb") as stderr:
            process = subprocess.Popen([nginx, "-c", str(home / "nginx.conf"), "-p", str(home)], stdout=stdout,
                                       stderr=stderr)
        try:
            url = f"http://127.0.0.1:{port}"
            wait_healthy(url, lambda: (home / "nginx.log").read_text(errors="replace"))
            yield Proxied(stack, url, home)
        finally:
            process.send_signal(signal.SIGQUIT)  # nginx's graceful stop
            process.wait(timeout=15)


def submit(proxied: Proxied, body: dict[str, Any]) -> requests.Response:
    return requests.post(proxied.url + "/api/v1/letters", json=body, timeout=10,
                         headers={"Authorization": f"Bearer {proxied.stack.post_token}"})


def sktm(proxied: Proxied) -> dict[str, Any]:
    types = requests.get(proxied.url + "/api/v1/letter-types", timeout=10,
                         headers={"Authorization": f"Bearer {proxied.stack.post_token}"}).json()
    return next(t["example"] for t in types if t["code"] == "sktm")


def test_posts_on_slow_connections_leave_the_api_free_for_everyone_else(proxied: Proxied) -> None:
    body = sktm(proxied)
    slow = [TricklingPost(proxied.url, proxied.stack.post_token, body) for _ in range(SLOW_POSTS)]
    try:  # each has sent half its body, then its line went quiet
        for _ in range(3):  # the neighbours' requests are answered meanwhile (each within its 10 s timeout)
            assert submit(proxied, body).status_code == 202
            assert requests.get(proxied.url + "/healthz", timeout=10).status_code == 200
        answers = [post.finish() for post in slow]
    finally:
        for post in slow:
            post.close()
    assert [status_line for status_line, _ in answers] == [b"HTTP/1.1 202 ACCEPTED"] * SLOW_POSTS
    ids = {json.loads(answer)["id"] for _, answer in answers}
    assert len(ids) == SLOW_POSTS  # each slow post's letter, stored whole


def test_the_largest_attachment_passes_and_a_larger_body_is_refused_by_the_proxy_as_a_problem(
        proxied: Proxied) -> None:
    letter_id = submit(proxied, sktm(proxied)).json()["id"]
    token = {"Authorization": f"Bearer {proxied.stack.post_token}"}
    uploaded = requests.post(f"{proxied.url}/api/v1/letters/{letter_id}/attachments", headers=token, timeout=30,
                             data={"kind": "pengantar_rt"},
                             files={"file": ("rt.pdf", padded_pdf(MAX_ATTACHMENT_BYTES), "application/pdf")})
    assert uploaded.status_code == 201, uploaded.text
    refused = requests.post(f"{proxied.url}/api/v1/letters", headers={**token, "Content-Type": "application/json"},
                            data=b" " * (5 * 1024 * 1024), timeout=30)
    assert refused.status_code == 413
    assert refused.headers["Content-Type"] == "application/problem+json"
    assert refused.json()["title"] == "Permintaan terlalu besar"


def test_a_forged_forwarded_for_does_not_escape_the_failure_limit(proxied: Proxied) -> None:
    """nginx appends the address it sees to X-Forwarded-For, and the API trusts only that last one: a client that
    names another address in each request is still one address that keeps failing. (Passed on as the client sent
    it, each guess would count for a different address and none would be refused.)"""
    answers = [requests.get(proxied.url + "/api/v1/letters", timeout=10,
                            headers={"Authorization": f"Bearer tebakan-{n}", "X-Forwarded-For": f"10.9.{n}.1"})
               for n in range(21)]  # the embedded stack counts per gunicorn worker: 10 a minute on each of 2
    assert {answer.status_code for answer in answers} == {401, 429}
    assert requests.get(proxied.url + "/api/v1/letter-types", timeout=10,  # the post behind it is still served
                        headers={"Authorization": f"Bearer {proxied.stack.post_token}"}).status_code == 200


def test_the_proxy_logs_each_request_without_its_verification_token_or_a_nik(proxied: Proxied) -> None:
    """Each request is a line of the access log with its method, path and status, the path as the API's own log
    shows it (shared/logs.py): /v/[token], /s/[code], and no 16-digit number. Its query string is left out. A refusal of
    nginx's own, whose error line would quote the request as sent, leaves no error line."""
    token = {"Authorization": f"Bearer {proxied.stack.post_token}"}
    assert requests.get(f"{proxied.url}/v/{TOKEN_IN_URL}", timeout=10).status_code == 404
    assert requests.get(f"{proxied.url}/s/{CODE_IN_URL}", timeout=10).status_code == 404
    too_large = requests.post(f"{proxied.url}/v/{TOKEN_IN_URL}/check", data=b" " * (5 * 1024 * 1024), timeout=30)
    assert too_large.status_code == 413
    assert requests.get(f"{proxied.url}/api/v1/letters/{NIK_IN_URL}", headers=token, timeout=10).status_code == 404
    assert requests.get(f"{proxied.url}/api/v1/letters?status={NIK_IN_URL}", headers=token,
                        timeout=10).status_code == 422
    lines = ('"GET /v/[token] HTTP/1.1" 404 ', '"GET /s/[code] HTTP/1.1" 404 ', '"POST /v/[token]/check HTTP/1.1" 413 ',
             '"GET [path with a 16-digit number] HTTP/1.1" 404 ', '"GET /api/v1/letters HTTP/1.1" 422 ')
    logs = proxied.logs(*lines)
    assert TOKEN_IN_URL not in logs and NIK_IN_URL not in logs and CODE_IN_URL not in logs, logs[-3000:]
    for line in lines:
        assert line in logs, logs[-3000:]


def test_an_api_that_does_not_answer_is_a_503_problem_with_retry_after(proxied: Proxied) -> None:
    proxied.stack.stop("api")
    answer = requests.get(proxied.url + "/healthz", timeout=10)
    assert answer.status_code == 503 and answer.headers["Retry-After"] == "5"
    assert answer.headers["Content-Type"] == "application/problem+json"
    assert "coba lagi" in answer.json()["detail"]
    # nginx's error line for the failed connection would quote the request line, token and all: the access log
    # shows the failure instead (the refused connection is the upstream's 502)
    assert requests.get(f"{proxied.url}/v/{TOKEN_IN_URL}", timeout=10).status_code == 503
    logs = proxied.logs('"GET /v/[token] HTTP/1.1" 503 ')
    assert TOKEN_IN_URL not in logs, logs[-3000:]
    assert '"GET /v/[token] HTTP/1.1" 503 ' in logs, logs[-3000:]
    assert "upstream=502" in logs.split('"GET /v/[token] HTTP/1.1" 503 ')[1].splitlines()[0]
