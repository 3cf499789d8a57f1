"""docker-compose.yml is what the services tests reproduce: same commands, same Redis settings."""

from __future__ import annotations

from services.cli import main
from tests.conftest import ROOT, compose_args, compose_service, seaweedfs_flags


def test_app_services_run_suratdesa_commands_that_exist() -> None:
    for name in ("init", "api", "worker", "sweeper"):
        subcommand = compose_args(name)[0]
        assert subcommand == name and subcommand in main.commands
    assert compose_args("api", {"--host": "127.0.0.1", "--port": "8123"}) == [
        "api", "--host", "127.0.0.1", "--port", "8123"]


def test_redis_keeps_messages_and_never_evicts_them() -> None:
    flags = compose_service("redis")["command"]
    assert flags[flags.index("--appendonly") + 1] == "yes"
    assert flags[flags.index("--maxmemory-policy") + 1] == "noeviction"


def test_long_running_services_have_health_checks_and_production_settings() -> None:
    for name in ("api", "worker", "redis", "postgres"):
        assert compose_service(name)["healthcheck"]["test"], name
    environment = compose_service("api")["environment"]
    assert environment["SURATDESA_ENV"] == "${SURATDESA_ENV:-production}"
    assert environment["BROKER_URL"].startswith("redis://") and environment["DATABASE_URL"].startswith("postgresql")
    assert ":?" in environment["PUBLIC_BASE_URL"]  # no silent loopback default in a deployment


def test_workers_scale_and_the_app_services_share_no_disk() -> None:
    worker = compose_service("worker")
    assert "container_name" not in worker and "ports" not in worker  # `--scale worker=N` needs both absent
    for name in ("init", "api", "worker", "sweeper"):
        assert "volumes" not in compose_service(name), name  # PDFs in the object store, keys in PostgreSQL


def test_the_pdfs_go_to_the_seaweedfs_service_that_init_waits_for() -> None:
    environment = compose_service("api")["environment"]
    assert environment["STORAGE_URL"].startswith("s3://")
    assert environment["S3_ENDPOINT_URL"] == "http://seaweedfs:8333"
    assert ":?" in environment["AWS_SECRET_ACCESS_KEY"]  # no default secret for the object store
    assert compose_service("init")["depends_on"]["seaweedfs"] == {"condition": "service_healthy"}
    seaweedfs = compose_service("seaweedfs")
    assert seaweedfs["healthcheck"]["test"] and "-s3.port=8333" in seaweedfs["command"]
    # the tests' SeaweedFS runs this very command, with its own directory, ports and credentials
    assert seaweedfs_flags({"-dir": "/tmp/x"})[:3] == ["server", "-dir=/tmp/x", "-s3"]
    assert "-s3.config=/etc/seaweedfs/s3.json" in seaweedfs["command"]


def test_clients_reach_the_api_through_the_buffering_proxy_it_trusts() -> None:
    proxy, api = compose_service("proxy"), compose_service("api")
    assert proxy["ports"] == ["8000:8000"] and "ports" not in api  # nothing reaches gunicorn but nginx
    assert "./deploy/nginx.conf:/etc/nginx/conf.d/default.conf:ro" in proxy["volumes"]
    assert api["environment"]["TRUSTED_PROXY_COUNT"] == "1"  # rate limits count the client, not the proxy
    assert proxy["depends_on"]["api"] == {"condition": "service_healthy", "restart": True}  # its address anew
    assert (ROOT / "deploy" / "nginx.conf").read_text().count("proxy_pass http://api:8000;") == 1
