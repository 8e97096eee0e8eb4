"""A wheel of the service carries what the portal serves: every template, every static file
(vendored ones and their integrity manifest included) and the compiled catalogs."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile

from tests.conftest import repo_root


def test_the_wheel_carries_the_portals_templates_static_files_and_catalogs(tmp_path):
    root = repo_root()
    # Built from a copy: setuptools reuses a source tree's build/ folder, which could hold files
    # that the package data no longer names.
    source = tmp_path / "source"
    for folder in ("reputation", "workers"):
        shutil.copytree(
            root / folder, source / folder, ignore=shutil.ignore_patterns("__pycache__")
        )
    shutil.copy(root / "pyproject.toml", source)
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(source), "--no-deps",
         "--quiet", "--wheel-dir", str(tmp_path)],
        check=True,
        capture_output=True,
    )  # fmt: skip
    (wheel,) = tmp_path.glob("*.whl")
    packed = set(zipfile.ZipFile(wheel).namelist())
    portal = root / "reputation/portal"
    served = [
        *(portal / "templates").rglob("*.html"),
        *(p for p in (portal / "static").rglob("*") if p.is_file()),
        *(root / "reputation/translations").rglob("*.mo"),
    ]
    assert len(served) > 10
    missing = {str(p.relative_to(root)) for p in served} - packed
    assert missing == set()
