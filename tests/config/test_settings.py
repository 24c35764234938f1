"""Settings: production refuses to start without its secrets and passes check --deploy."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command

ROOT = Path(__file__).resolve().parents[2]

PRODUCTION_ENV = {
    "DJANGO_SETTINGS_MODULE": "config.settings.production",
    "DJANGO_SECRET_KEY": "p9#v2L!x7Qw-3Zk8@Rt5&Yh1^Nc6*Bm4(Ds0)Gf2_Jq7+Wl9=Ue3",
    "DATABASE_URL": "postgres://haven:haven@127.0.0.1:5432/haven",
    "REDIS_URL": "redis://127.0.0.1:6379/15",
    "DJANGO_ALLOWED_HOSTS": "haven.example.org",
    "EMAIL_URL": "smtp+tls://haven:secret@smtp.example.org:587",
    "HAVEN_FRONTEND_URL": "https://haven.example.org",
}


def _manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "DATABASE_", "REDIS_", "EMAIL_", "HAVEN_"))
    }
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize(
    "missing",
    [
        "DJANGO_SECRET_KEY",
        "DATABASE_URL",
        "REDIS_URL",
        "DJANGO_ALLOWED_HOSTS",
        "EMAIL_URL",
        "HAVEN_FRONTEND_URL",
    ],
)
def test_production_refuses_to_start_without_a_required_variable(missing):
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != missing}
    result = _manage("check", env=env)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert f"need these environment variables: {missing}" in result.stderr


def test_production_refuses_a_weak_secret_key():
    result = _manage("check", env={**PRODUCTION_ENV, "DJANGO_SECRET_KEY": "short"})
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY must be at least 50 varied characters" in result.stderr


def test_production_settings_pass_check_deploy_with_no_warnings():
    result = _manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION_ENV)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


def test_production_serves_the_pages_stylesheet_once_collected(tmp_path):
    """Production hashes static files (a manifest): a deployment runs collectstatic, and the
    pages then link the collected, hashed stylesheet."""
    env = {**PRODUCTION_ENV, "DJANGO_STATIC_ROOT": str(tmp_path)}
    show = "from django.templatetags.static import static; print(static('haven/haven.css'))"
    before = _manage("shell", "-v", "0", "-c", show, env=env)
    assert "Missing staticfiles manifest entry" in before.stderr  # not collected: no page
    collected = _manage("collectstatic", "--noinput", "-v", "0", env=env)
    assert collected.returncode == 0, collected.stderr
    after = _manage("shell", "-v", "0", "-c", show, env=env)
    assert re.fullmatch(r"/static/haven/haven\.[0-9a-f]{12}\.css", after.stdout.strip()), after
    assert (tmp_path / "haven" / "haven.css.gz").exists()  # compressed for WhiteNoise


def test_local_settings_need_nothing_installed(tmp_path):
    env = {
        "DJANGO_SETTINGS_MODULE": "config.settings.local",
        "DATABASE_URL": f"sqlite:///{tmp_path}/db.sqlite3",
    }
    result = _manage("check", "--fail-level", "WARNING", env=env)
    assert result.returncode == 0, result.stderr
    result = _manage(
        "shell",
        "--verbosity",
        "0",
        "-c",
        "from django.conf import settings as s; print(s.DATABASES['default']['ENGINE'], "
        "s.CELERY_TASK_ALWAYS_EAGER, s.EMAIL_BACKEND, s.TIME_ZONE)",
        env=env,
    )
    assert result.stdout.split() == [
        "django.db.backends.sqlite3",
        "True",
        "django.core.mail.backends.console.EmailBackend",
        "Europe/London",
    ]


def test_time_zone_is_configurable():
    result = _manage(
        "shell",
        "--verbosity",
        "0",
        "-c",
        "from django.conf import settings as s; print(s.TIME_ZONE, s.USE_TZ)",
        env={**PRODUCTION_ENV, "HAVEN_TIME_ZONE": "Europe/Dublin"},
    )
    assert result.stdout.split() == ["Europe/Dublin", "True"]


def test_the_test_settings_use_postgresql_redis_and_a_test_database():
    assert settings.DATABASES["default"]["ENGINE"] == "core.database"  # Django's, for PostgreSQL
    assert settings.DATABASES["default"]["NAME"].startswith("test_")
    assert settings.CACHES["default"]["BACKEND"] == "core.cache.FailOpenRedisCache"
    assert settings.CELERY_BROKER_URL.startswith("redis://")


def test_system_checks_are_clean_including_deprecation_warnings():
    call_command("check", "--fail-level", "WARNING")


@pytest.mark.django_db
def test_every_model_change_has_a_migration():
    call_command("makemigrations", "--check", "--dry-run", verbosity=0)
