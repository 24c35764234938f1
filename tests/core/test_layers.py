"""The layers run one way, in the database schema as in the imports.

``make lint`` runs import-linter's layers contract (pyproject.toml) over the code; this holds
the same order over the migrations, which name each other by app label, not by import.
"""

import shutil
import subprocess
import sys
from pathlib import Path

from django.db.migrations.loader import MigrationLoader

LAYERS = ["config", "moderation", "forum", "accounts", "core"]  # top first
ROOT = Path(__file__).resolve().parents[2]


def test_no_migration_depends_on_a_higher_app():
    loader = MigrationLoader(None, ignore_no_migrations=True)
    upward = []
    for (app, name), migration in loader.disk_migrations.items():
        if app not in LAYERS:
            continue
        for dep_app, dep_name in migration.dependencies:
            if dep_app in LAYERS and LAYERS.index(dep_app) < LAYERS.index(app):
                upward.append(f"{app}.{name} -> {dep_app}.{dep_name}")
    assert upward == []


def test_every_project_app_has_its_migrations_checked():
    loader = MigrationLoader(None, ignore_no_migrations=True)
    apps_with_migrations = {app for app, _ in loader.disk_migrations}
    assert {"core", "accounts", "forum", "moderation"} <= apps_with_migrations


def test_the_import_contract_holds_and_would_catch_an_upward_import(tmp_path):
    """import-linter passes on the tree, and fails on a copy with one import turned upward."""
    lint = Path(sys.executable).with_name("lint-imports")
    ok = subprocess.run([lint], cwd=ROOT, capture_output=True, text=True, check=False)
    assert ok.returncode == 0, ok.stdout + ok.stderr

    copy = tmp_path / "tree"
    copy.mkdir()
    for name in [*LAYERS, "pyproject.toml"]:
        source = ROOT / name
        target = copy / name
        if source.is_dir():
            shutil.copytree(source, target)
        else:
            shutil.copy(source, target)
    errors = copy / "core" / "errors.py"
    errors.write_text("import forum.models  # noqa\n" + errors.read_text())
    broken = subprocess.run(
        [lint], cwd=copy, capture_output=True, text=True, check=False, env={"PYTHONPATH": copy}
    )
    assert broken.returncode != 0
    assert "core.errors -> forum.models" in broken.stdout
