"""Settings come from the environment; production settings pass Django's deploy checks."""

import os
import subprocess
import sys

from django.conf import settings

PRODUCTION_ENV = {
    "DEBUG": "0",
    "SECRET_KEY": "k3J9x!vQ2#mZ8rT5wL0pA7sD4fG6hY1uE3iO9nB2cV5xM8qR-w7Zp4Lq",
    "ALLOWED_HOSTS": "console.example.com",
}


def _manage(*args, env):
    clean = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "SECRET_KEY"}}
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=settings.BASE_DIR, env={**clean, **env},
        capture_output=True, text=True, timeout=120,
    )


def test_production_settings_pass_the_deploy_check_at_warning_level():
    # On SQLite: the check of PostgreSQL's role (which warns when the tests' superuser
    # connects) has its own tests, in tests/test_database_roles.py.
    result = _manage("check", "--deploy", "--fail-level", "WARNING",
                     env={**PRODUCTION_ENV, "DATABASE_URL": ""})
    assert result.returncode == 0, result.stdout + result.stderr


def test_production_settings_turn_on_https_protections():
    code = ("from django.conf import settings as s; "
            "print(s.SECURE_SSL_REDIRECT, s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, "
            "s.SECURE_HSTS_SECONDS > 0, s.SECURE_PROXY_SSL_HEADER)")
    result = _manage("shell", "-c", code, env=PRODUCTION_ENV)
    assert result.stdout.strip().endswith(
        "True True True True ('HTTP_X_FORWARDED_PROTO', 'https')"), result.stderr


def test_secret_key_is_required_when_debug_is_off():
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != "SECRET_KEY"}
    result = _manage("check", env=env)
    assert result.returncode != 0
    assert "SECRET_KEY must be set when DEBUG is off" in result.stderr


def test_models_and_migrations_agree():
    result = _manage("makemigrations", "--check", "--dry-run", env={"DEBUG": "1"})
    assert result.returncode == 0, result.stdout + result.stderr


def test_database_defaults_to_sqlite_under_var(tmp_path):
    env = {"DEBUG": "1", "VAR_DIR": str(tmp_path), "DATABASE_URL": ""}
    code = "from django.conf import settings as s; print(s.DATABASES['default']['NAME'])"
    result = _manage("shell", "-c", code, env=env)
    assert result.stdout.strip().splitlines()[-1] == str(tmp_path / "billing_console.sqlite3")
