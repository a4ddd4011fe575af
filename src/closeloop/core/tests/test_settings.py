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


SHOW_KEY = "from django.conf import settings; print(settings.SECRET_KEY)"


def settings_env(data_dir, **overrides):
    env = {k: v for k, v in os.environ.items() if k not in {"CLOSELOOP_DEV", "DEBUG", "SECRET_KEY", "DATABASE_URL"}}
    env.update({"DJANGO_SETTINGS_MODULE": "closeloop.settings", "CLOSELOOP_DATA_DIR": str(data_dir), **overrides})
    return env


def python(code_or_args, env):
    args = ["-c", code_or_args] if isinstance(code_or_args, str) else code_or_args
    return subprocess.run([sys.executable, *args], env=env, capture_output=True, text=True, timeout=300)


def test_production_without_a_key_refuses_to_start(tmp_path):
    result = python(SHOW_KEY, settings_env(tmp_path))
    assert result.returncode != 0 and "Set SECRET_KEY in the environment" in result.stderr
    assert not (tmp_path / "secret_key").exists()


def test_a_local_install_generates_its_key_once_and_keeps_it_private(tmp_path):
    first = python(SHOW_KEY, settings_env(tmp_path, CLOSELOOP_DEV="1"))
    assert first.returncode == 0, first.stderr
    key = first.stdout.strip()
    assert len(key) >= 50 and "insecure" not in key
    assert (tmp_path / "secret_key").read_text().strip() == key
    assert (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600
    # Every later command in that data directory reads the same key, with or without CLOSELOOP_DEV.
    assert python(SHOW_KEY, settings_env(tmp_path, CLOSELOOP_DEV="1")).stdout.strip() == key
    assert python(SHOW_KEY, settings_env(tmp_path)).stdout.strip() == key
    # The environment's key wins.
    assert python(SHOW_KEY, settings_env(tmp_path, SECRET_KEY="from-the-environment")).stdout.strip() == \
        "from-the-environment"


def test_the_readme_commands_work_as_typed_after_the_first_start(tmp_path):
    cli = ["-m", "closeloop.cli"]
    # `make run`'s first step, in local mode: migrate (which writes the key).
    started = python([*cli, "migrate", "-v", "0"], settings_env(tmp_path, CLOSELOOP_DEV="1"))
    assert started.returncode == 0, started.stderr
    typed = settings_env(tmp_path, DJANGO_SUPERUSER_PASSWORD="a-Long-pass-2026")
    created = python([*cli, "createsuperuser", "--noinput", "--username", "boss", "--email", "b@example.com"], typed)
    assert created.returncode == 0, created.stderr
    token = python([*cli, "token", "boss"], typed)
    assert token.returncode == 0, token.stderr
    assert token.stdout.strip().startswith("cl_")
    (tmp_path / "list.csv").write_text("公司名称,联系人,手机\n甲公司,王伟,13912345678\n", encoding="utf-8")
    deduped = python([*cli, "dedupe", str(tmp_path / "list.csv")], typed)
    assert deduped.returncode == 0, deduped.stderr
    assert "lead_cluster" in deduped.stdout


SEND_ONE_MAIL = (
    "import django; django.setup(); from django.core.mail import send_mail; "
    "send_mail('Hello', 'Body', 'a@example.com', ['b@example.com'])"
)


def test_a_local_run_writes_mail_to_files_not_the_terminal(tmp_path):
    sent = python(SEND_ONE_MAIL, settings_env(tmp_path, CLOSELOOP_DEV="1"))
    assert sent.returncode == 0, sent.stderr
    assert "Hello" not in sent.stdout
    [written] = (tmp_path / "mail").iterdir()
    assert "Subject: Hello" in written.read_text()
