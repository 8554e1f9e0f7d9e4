"""docker-compose.yml, checked without Docker (these machines have no engine)."""

import shutil
import subprocess

import pytest
import yaml
from django.conf import settings

COMPOSE = settings.BASE_DIR / "docker-compose.yml"


@pytest.fixture(scope="module")
def compose():
    return yaml.safe_load(COMPOSE.read_text())


def test_it_runs_the_production_like_stack(compose):
    assert set(compose["services"]) == {"postgres", "redis", "migrate", "web", "worker", "beat"}


def test_every_service_that_keeps_running_has_a_healthcheck(compose):
    for name, service in compose["services"].items():
        if service.get("restart") == "no":  # runs once, and the others wait for its end
            continue
        assert service.get("healthcheck", {}).get("test"), f"{name} has no healthcheck"


def _role(url):
    return url.split("://", 1)[1].split(":", 1)[0]


def test_migrations_run_as_the_owner_and_the_console_connects_as_the_application_role(compose):
    services = compose["services"]
    migrate = services["migrate"]
    assert migrate["command"] == ["python", "manage.py", "migrate", "--noinput"]
    assert _role(migrate["environment"]["MIGRATION_DATABASE_URL"]) == "console_owner"
    assert migrate["restart"] == "no"
    for name in ("web", "worker", "beat"):
        environment = services[name]["environment"]
        assert _role(environment["DATABASE_URL"]) == "console_app", name
        assert "MIGRATION_DATABASE_URL" not in environment, f"{name} knows the owner's password"
        assert services[name]["depends_on"]["migrate"]["condition"] == \
            "service_completed_successfully"
        assert "migrate" not in " ".join(services[name]["command"])
    postgres = services["postgres"]
    assert postgres["environment"]["POSTGRES_USER"] == "postgres"
    assert ("./deploy/postgres/10-roles.sh:/docker-entrypoint-initdb.d/10-roles.sh:ro"
            in postgres["volumes"])


def test_web_worker_and_beat_run_the_console(compose):
    services = compose["services"]
    assert "gunicorn billing_console.wsgi:application" in " ".join(services["web"]["command"])
    assert services["worker"]["command"][:4] == ["celery", "-A", "billing_console", "worker"]
    assert services["beat"]["command"][:4] == ["celery", "-A", "billing_console", "beat"]
    assert "/readyz" in " ".join(services["web"]["healthcheck"]["test"])


def test_web_worker_and_beat_share_one_var_directory(compose):
    """The worker writes background exports there; the web serves them."""
    mounts = {name: compose["services"][name]["volumes"] for name in ("web", "worker", "beat")}
    assert all("console-var:/app/var" in volumes for volumes in mounts.values()), mounts
    assert "console-var" in compose["volumes"]


def test_web_streams_long_exports_without_being_killed_as_stuck(compose):
    """A sync worker streaming longer than gunicorn's timeout is killed mid-file."""
    assert "--worker-class gthread" in " ".join(compose["services"]["web"]["command"])


def test_the_console_reads_the_same_environment_variables(compose):
    for name in ("web", "worker", "beat"):
        service = compose["services"][name]
        assert service["depends_on"]["postgres"]["condition"] == "service_healthy"
        environment = service["environment"]
        for variable in ("DEBUG", "SECRET_KEY", "ALLOWED_HOSTS", "DATABASE_URL", "REDIS_URL",
                         "STRIPE_API_KEY", "STRIPE_API_BASE", "ZENDESK_SUBDOMAIN",
                         "ZENDESK_API_URL"):
            assert variable in environment, f"{name} lacks {variable}"


@pytest.mark.skipif(not shutil.which("docker"), reason="Docker is not installed here")
def test_docker_compose_accepts_the_file():
    probe = subprocess.run(["docker", "compose", "version"], capture_output=True)
    if probe.returncode != 0:
        pytest.skip("Docker's compose plugin is not installed here")
    result = subprocess.run(["docker", "compose", "-f", str(COMPOSE), "config", "-q"],
                            capture_output=True, text=True,
                            env={"SECRET_KEY": "x", "PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr
