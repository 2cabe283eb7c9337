"""Production settings fail closed, and `check --deploy` is clean with production variables."""

import os
import subprocess
import sys

import pytest
from django.conf import settings

PROD = {
    "DEBUG": "0",
    "PORTAL_TESTING": "0",
    "PORTAL_ENV_FILE": "",
    "SECRET_KEY": "x" * 60 + "production-like-key-for-the-test-only",
    "ALLOWED_HOSTS": "portal.example.go.jp",
    "EMAIL_HOST": "smtp.example.go.jp",
    "DJANGO_SETTINGS_MODULE": "portal.settings",
}


def run_manage(*args, env):
    clean = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "ALLOWED_HOSTS", "DEBUG", "PORTAL_TESTING"}}
    clean.update(env)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=settings.BASE_DIR,
        env=clean,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_is_clean_in_production():
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", env=PROD)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"SECRET_KEY": ""}, "SECRET_KEY is not set"),
        ({"ALLOWED_HOSTS": ""}, "ALLOWED_HOSTS is not set"),
        ({"ALLOWED_HOSTS": "*"}, "ALLOWED_HOSTS='*' is refused"),
        ({"DEBUG": "maybe"}, "DEBUG must be"),
    ],
)
def test_production_refuses_to_start_without_safe_values(override, message):
    result = run_manage("check", env={**PROD, **override})
    assert result.returncode != 0
    assert message in result.stderr


def test_production_defaults_are_secure():
    code = (
        "from django.conf import settings as s;"
        "print(s.DEBUG, s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SECURE_SSL_REDIRECT,"
        " s.SECURE_HSTS_SECONDS > 0, s.SECURE_PROXY_SSL_HEADER, s.STORAGES['staticfiles']['BACKEND'])"
    )
    result = run_manage("shell", "--no-imports", "-c", code, env=PROD)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "False",
        "True",
        "True",
        "True",
        "True",
        "('HTTP_X_FORWARDED_PROTO',",
        "'https')",
        "whitenoise.storage.CompressedManifestStaticFilesStorage",
    ]


def test_csp_forbids_inline_script_and_style():
    csp = settings.SECURE_CSP
    for directive in ("script-src", "style-src", "default-src"):
        assert "'unsafe-inline'" not in csp[directive]
    assert csp["frame-ancestors"] == ["'none'"]
    assert csp["object-src"] == ["'none'"]
