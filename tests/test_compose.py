"""docker-compose.yml is what the services tests reproduce: same commands, same Redis settings."""

from __future__ import annotations

from services.cli import main
from tests.conftest import compose_args, compose_service


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
