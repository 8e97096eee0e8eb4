"""The portal's front-end files are exactly what package-lock.json pins, as the manifest records
them (scripts/vendor_assets.py writes both), and none of them loads anything from another origin.

No database, no app and no npm: these read the committed files only.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
STATIC = ROOT / "reputation" / "portal" / "static"
VENDOR = STATIC / "vendor"
TEST_VENDOR = ROOT / "tests" / "vendor" / "axe-core"
MANIFEST = json.loads((VENDOR / "manifest.json").read_text())
LOCK = json.loads((ROOT / "package-lock.json").read_text())
PACKAGE = json.loads((ROOT / "package.json").read_text())

# Every file the manifest lists, by its path in the repository.
FILES = {
    **{f"reputation/portal/static/{name}": entry for name, entry in MANIFEST["files"].items()},
    **MANIFEST["test_files"],
}
CODE = sorted(path for path in FILES if path.endswith((".js", ".css")))

# What the portal and its tests need of each package, by its path in the repository.
EXPECTED = {
    "htmx.org": {"reputation/portal/static/vendor/htmx/htmx.min.js"},
    "uplot": {
        "reputation/portal/static/vendor/uplot/uPlot.iife.min.js",
        "reputation/portal/static/vendor/uplot/uPlot.min.css",
    },
    "@picocss/pico": {"reputation/portal/static/vendor/pico/pico.classless.min.css"},
    "axe-core": {"tests/vendor/axe-core/axe.min.js"},
}
# The issue asks for these major versions; a new major is a decision, not a refresh.
MAJOR = {"htmx.org": 2, "@picocss/pico": 2}
# Licences that let us serve the files unchanged with their notice (MPL-2.0: axe-core, tests only).
LICENCES = {"MIT", "ISC", "0BSD", "BSD-2-Clause", "BSD-3-Clause", "Apache-2.0", "MPL-2.0"}

# Every absolute URL in a vendored file, and why it loads nothing. A file that gains a URL fails
# here until someone has read where it is used; one that loses a URL fails so the list stays true.
SVG_NAMESPACE = "an XML namespace in inline SVG: a name, never fetched"
HARMLESS_URLS = {
    "reputation/portal/static/vendor/htmx/htmx.min.js": {},
    "reputation/portal/static/vendor/uplot/uPlot.iife.min.js": {
        "https://github.com/leeoniya/uPlot": "the project's home in the licence banner comment",
    },
    "reputation/portal/static/vendor/uplot/uPlot.min.css": {},
    "reputation/portal/static/vendor/pico/pico.classless.min.css": {
        "https://picocss.com": "the project's home in the licence banner comment",
        # The data: icons (select chevron, checkbox, …) need `img-src data:` in the portal's CSP.
        "http://www.w3.org/2000/svg": SVG_NAMESPACE + ", in the data: URL icons",
    },
    "tests/vendor/axe-core/axe.min.js": {
        "http://www.w3.org/2000/svg": SVG_NAMESPACE,
        "http://mozilla.org/MPL/2.0/": "the licence comment",
        "https://github.com/zloirock/core-js": "core-js's own metadata string (source)",
        "https://github.com/zloirock/core-js/blob/v3.51.0/LICENSE": "core-js's metadata (license)",
        "https://dequeuniversity.com/rules/": "base of the helpUrl links in axe's results: text",
        "https://github.com/dequelabs/axe-core/blob/master/doc/context.md": "an error message",
    },
}
# An absolute URL: with a scheme, or protocol-relative (`//cdn.…`) where a string, url( or an
# attribute value starts, which leaves regular expressions and comments (`//i.test(`) alone.
ABSOLUTE_URL = re.compile(
    r"""(?:https?:|(?<=["'(=]))//[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+[^\s"'`()<>\\,;]*"""
)
CSS_URL = re.compile(r"url\(\s*([^)]*)\)")


def sri(data: bytes) -> str:
    return "sha384-" + base64.b64encode(hashlib.sha384(data).digest()).decode("ascii")


def locked(name: str) -> dict:
    return LOCK["packages"][f"node_modules/{name}"]


@pytest.mark.parametrize("path", sorted(FILES))
def test_every_file_in_the_manifest_is_there_with_the_integrity_of_its_bytes(path):
    file = ROOT / path
    assert file.is_file(), f"{path} is in the manifest but missing: run scripts/vendor_assets.py"
    assert FILES[path]["integrity"] == sri(file.read_bytes()), (
        f"{path} is not the file the manifest hashed: run scripts/vendor_assets.py"
    )


def test_nothing_is_vendored_that_the_manifest_leaves_out():
    on_disk = {
        file.relative_to(ROOT).as_posix()
        for folder in (VENDOR, TEST_VENDOR)
        for file in folder.rglob("*")
        if file.is_file()
    }
    unlisted = on_disk - {"reputation/portal/static/vendor/manifest.json"} - set(FILES)
    assert not unlisted, f"not in the manifest: {sorted(unlisted)}; run scripts/vendor_assets.py"


def test_the_manifest_has_the_versions_and_licences_the_lock_pins():
    wanted = {**PACKAGE["dependencies"], **PACKAGE["devDependencies"]}
    assert set(MANIFEST["packages"]) == set(wanted)
    for name, package in MANIFEST["packages"].items():
        assert package["version"] == locked(name)["version"] == wanted[name], name
        assert package["license"] == locked(name)["license"], name
    for path, entry in FILES.items():
        assert entry["version"] == locked(entry["package"])["version"], path


def test_package_json_pins_exact_versions_and_the_lock_agrees_with_it():
    root = LOCK["packages"][""]
    assert PACKAGE["private"] is True
    assert "scripts" not in PACKAGE, "installing the packages runs nothing of ours"
    for group in ("dependencies", "devDependencies"):
        assert root[group] == PACKAGE[group]
        for name, version in PACKAGE[group].items():
            assert re.fullmatch(r"\d+\.\d+\.\d+", version), f"{name}@{version} is not exact"
    # The lock holds exactly the four packages: none of them has dependencies of its own.
    assert set(LOCK["packages"]) == {""} | {f"node_modules/{name}" for name in EXPECTED}


def test_the_manifest_covers_htmx_uplot_pico_and_axe_each_with_its_licence():
    for name, paths in EXPECTED.items():
        files = {path for path, entry in FILES.items() if entry["package"] == name}
        assert paths <= files, name
        assert any(Path(path).name.startswith("LICENSE") for path in files), name
        assert locked(name)["license"] in LICENCES, name
    for name, major in MAJOR.items():
        assert int(MANIFEST["packages"][name]["version"].split(".")[0]) == major, name


def test_axe_core_is_for_the_tests_and_never_served():
    # Under the portal's `script-src 'self'` any script the app serves may be run by an injected
    # <script src>; the app serves only what its pages load.
    assert MANIFEST["packages"]["axe-core"]["use"] == "tests"
    assert locked("axe-core")["dev"] is True
    assert all(entry["package"] != "axe-core" for entry in MANIFEST["files"].values())
    assert all(entry["package"] == "axe-core" for entry in MANIFEST["test_files"].values())


@pytest.mark.parametrize("path", CODE)
def test_no_vendored_file_loads_anything_from_another_origin(path):
    text = (ROOT / path).read_text(encoding="utf-8")
    urls = {match.group().rstrip(".") for match in ABSOLUTE_URL.finditer(text)}
    changed = sorted(urls ^ set(HARMLESS_URLS[path]))
    assert not changed, f"{path}: {changed} appeared or went; read how it is used, update the list"
    if path.endswith(".css"):
        assert "@import" not in text
        for target in CSS_URL.findall(text):
            assert target.strip("\"' ").startswith("data:"), f"{path} loads {target}"
