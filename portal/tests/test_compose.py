"""docker-compose.yml and the image's command: the set-up docs/operations.md describes.

Docker is not on every machine that runs the suite, so the compose file is read as YAML here;
`docker compose config` checks it as well where the compose plugin is installed.
"""

import json
import re
import shutil
import subprocess

import pytest
import yaml
from django.conf import settings

COMPOSE = settings.BASE_DIR / "docker-compose.yml"
DOCKERFILE = settings.BASE_DIR / "Dockerfile"


@pytest.fixture(scope="module")
def services():
    return yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))["services"]


def command_of(service) -> list[str]:
    command = service["command"]
    return command if isinstance(command, list) else command.split()


def test_redis_is_a_cache_with_a_health_check(services):
    redis = services["redis"]
    assert redis["image"] == "redis:7"
    command = command_of(redis)
    assert command[command.index("--maxmemory-policy") + 1] == "allkeys-lru"
    assert re.fullmatch(r"\d+(mb|gb)", command[command.index("--maxmemory") + 1])
    # No persistence: no snapshots, no append-only file, no volume.
    assert command[command.index("--save") + 1] == ""
    assert command[command.index("--appendonly") + 1] == "no"
    assert "volumes" not in redis
    assert redis["healthcheck"]["test"] == ["CMD", "redis-cli", "ping"]


def test_the_portal_uses_redis_and_waits_for_healthy_dependencies(services):
    portal = services["portal"]
    assert portal["environment"]["CACHE_URL"] == "redis://redis:6379/0"
    assert portal["env_file"] == ["portal.env"]
    assert portal["depends_on"]["db"] == {"condition": "service_healthy"}
    assert portal["depends_on"]["redis"] == {"condition": "service_healthy"}
    assert portal["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}
    assert "healthcheck" in services["db"]


def test_migrations_run_once_before_the_app_servers(services):
    migrate = services["migrate"]
    assert command_of(migrate) == ["python", "manage.py", "migrate", "--no-input"]
    assert migrate["depends_on"]["db"] == {"condition": "service_healthy"}
    assert migrate["environment"] == services["portal"]["environment"]
    assert "migrate" not in " ".join(command_of(services["portal"]))


def gunicorn_flags(command: list[str]) -> None:
    assert command[:2] == ["gunicorn", "portal.wsgi"]
    assert command[command.index("--config") + 1] == "python:portal.gunicorn_conf"
    # The portal's request log replaces gunicorn's access log; whose X-Forwarded-Proto gunicorn
    # believes comes from FORWARDED_ALLOW_IPS in the environment, never a '*' in the command.
    assert "--access-logfile" not in command
    assert "--forwarded-allow-ips" not in command
    assert "*" not in command


def test_the_portal_runs_gunicorn_with_the_projects_config(services):
    gunicorn_flags(command_of(services["portal"]))
    assert services["portal"]["ports"] == ["127.0.0.1:8000:8000"]


def test_the_image_runs_gunicorn_with_the_projects_config():
    text = DOCKERFILE.read_text(encoding="utf-8")
    cmd = re.search(r"^CMD (\[.*?\])\s*$", text.replace("\\\n", " "), re.MULTILINE | re.DOTALL)
    gunicorn_flags(json.loads(cmd.group(1)))


def test_the_gunicorn_config_turns_its_access_log_off():
    from portal import gunicorn_conf

    assert gunicorn_conf.accesslog is None
    assert gunicorn_conf.preload_app is True


def test_docker_compose_config_accepts_the_file(tmp_path):
    docker = shutil.which("docker")
    if not docker or subprocess.run([docker, "compose", "version"], capture_output=True).returncode != 0:
        pytest.skip("the docker compose plugin is not installed here; the file is checked as YAML above")
    shutil.copy(COMPOSE, tmp_path / "docker-compose.yml")
    shutil.copy(DOCKERFILE, tmp_path / "Dockerfile")  # the build context it names
    (tmp_path / "portal.env").write_text("SECRET_KEY=x\nALLOWED_HOSTS=example.invalid\n", encoding="utf-8")
    result = subprocess.run(
        [docker, "compose", "-f", str(tmp_path / "docker-compose.yml"), "config", "--quiet"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
