"""Production settings must pass Django's deployment checks cleanly and use no deprecated settings."""

import os
import secrets
import subprocess
import sys

CHECK = "import django; django.setup(); from django.core.management import call_command; call_command('check', deploy=True)"


def run_check(tmp_path, **overrides):
    env = {k: v for k, v in os.environ.items() if k not in {"CLOSELOOP_DEV", "DEBUG", "EMAIL_HOST"}}
    env.update({
        "DJANGO_SETTINGS_MODULE": "closeloop.settings",
        "SECRET_KEY": secrets.token_urlsafe(64),
        "ALLOWED_HOSTS": "crm.example.com",
        "CLOSELOOP_DATA_DIR": str(tmp_path),
        **overrides,
    })
    # -W always: every deprecation warning is printed, even ones Python would hide by default.
    return subprocess.run([sys.executable, "-W", "always", "-c", CHECK], env=env, capture_output=True,
                          text=True, timeout=120)


def test_it_passes_the_deploy_check_with_production_environment(tmp_path):
    result = run_check(tmp_path)
    assert result.returncode == 0, result.stderr
    output = result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in output
    assert "Warning" not in output
    assert "RemovedInDjango" not in output


def test_it_passes_with_an_smtp_server_configured(tmp_path):
    result = run_check(tmp_path, EMAIL_HOST="smtp.example.com", EMAIL_PORT="465", EMAIL_USE_SSL="1",
                       EMAIL_HOST_USER="crm@example.com", EMAIL_HOST_PASSWORD="pw")
    assert result.returncode == 0, result.stderr
    assert "no issues (0 silenced)" in result.stdout + result.stderr
    assert "RemovedInDjango" not in result.stderr


def test_it_reports_weakened_production_settings(tmp_path):
    # The check must be able to fail, or the tests above prove nothing.
    result = run_check(tmp_path, SECRET_KEY="short", SECURE_SSL_REDIRECT="0")
    assert "security.W009" in result.stdout + result.stderr
    assert "security.W008" in result.stdout + result.stderr


def test_it_uses_mailers_not_the_deprecated_email_settings(settings):
    from django.conf import DEPRECATED_EMAIL_SETTINGS

    assert "default" in settings.MAILERS
    assert not any(settings.is_overridden(name) for name in DEPRECATED_EMAIL_SETTINGS)
