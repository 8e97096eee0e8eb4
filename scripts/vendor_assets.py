"""Bring the portal's front-end packages in from the npm lock: `python scripts/vendor_assets.py`.

package.json and package-lock.json pin every package exactly. This script installs exactly the
lock (`npm ci --ignore-scripts`, in a temporary directory, so no node_modules is left behind and
no package runs code on this machine), copies the few files the portal serves, with each
package's licence, into reputation/portal/static/vendor/<package>/, and writes
reputation/portal/static/vendor/manifest.json: every file's package, version and Subresource
Integrity hash, which the templates put in their `integrity=` attributes.

The copies are committed, so `make run` needs no npm; this script is how they are refreshed after
the lock changes (`npm install --save-exact <package>@<version>`, then run it). Running it again
with the same lock changes nothing. tests/test_vendored_assets.py checks what it wrote.

axe-core is for the browser tests only and goes to tests/vendor/axe-core/, never into the static
folder: under the portal's `script-src 'self'` every script the app serves is one an injected
`<script src>` could run, so the app serves no script that its pages do not need.
"""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STATIC = ROOT / "reputation" / "portal" / "static"
VENDOR = STATIC / "vendor"
MANIFEST = VENDOR / "manifest.json"
TEST_VENDOR = ROOT / "tests" / "vendor"


@dataclass(frozen=True)
class Package:
    name: str  # as in package.json
    destination: Path  # a folder this script owns entirely: what it did not write, it removes
    files: tuple[str, ...]  # paths inside the npm package, copied under their own file names
    served: bool  # False: read by the tests only, never served by the app


PACKAGES = (
    Package("htmx.org", VENDOR / "htmx", ("dist/htmx.min.js", "LICENSE"), served=True),
    Package(
        "uplot",
        VENDOR / "uplot",
        ("dist/uPlot.iife.min.js", "dist/uPlot.min.css", "LICENSE"),
        served=True,
    ),
    # The classless build: the portal's templates are semantic HTML (header, nav, main, table,
    # form, dialog) and stay free of presentational classes, which is also what the accessibility
    # checks read. The standard build's extras (.container, .grid, button variants) are the few
    # rules the portal would otherwise write itself in its own stylesheet.
    Package(
        "@picocss/pico",
        VENDOR / "pico",
        ("css/pico.classless.min.css", "LICENSE.md"),
        served=True,
    ),
    # axe.min.js bundles other projects' code, whose licences are in LICENSE-3RD-PARTY.txt.
    Package(
        "axe-core",
        TEST_VENDOR / "axe-core",
        ("axe.min.js", "LICENSE", "LICENSE-3RD-PARTY.txt"),
        served=False,
    ),
)


def sri(data: bytes) -> str:
    """The Subresource Integrity value of a file: `sha384-` and the base64 of its digest."""
    return "sha384-" + base64.b64encode(hashlib.sha384(data).digest()).decode("ascii")


def install_lock(into: Path) -> Path:
    """Install exactly what package-lock.json pins into `into`; its node_modules folder.

    `npm ci` refuses a lock that disagrees with package.json and checks every tarball against the
    lock's sha512; `--ignore-scripts` keeps any package's install scripts from running."""
    npm = shutil.which("npm")
    if npm is None:
        sys.exit("npm is not installed: it is needed to refresh the vendored files, not to run")
    for name in ("package.json", "package-lock.json"):
        shutil.copyfile(ROOT / name, into / name)
    command = [npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error"]
    print("$", " ".join(["npm", *command[1:]]), "(in a temporary directory)")
    subprocess.run(command, cwd=into, check=True)
    return into / "node_modules"


def locked_versions() -> dict[str, str]:
    """The version package-lock.json pins for each package that package.json names."""
    manifest = json.loads((ROOT / "package.json").read_text())
    lock = json.loads((ROOT / "package-lock.json").read_text())
    wanted = {**manifest.get("dependencies", {}), **manifest.get("devDependencies", {})}
    return {name: lock["packages"][f"node_modules/{name}"]["version"] for name in wanted}


def write_if_changed(path: Path, data: bytes) -> bool:
    """Write `data` to `path` unless it already holds exactly that; whether it wrote."""
    if path.is_file() and path.read_bytes() == data:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return True


def relative(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def report(action: str, path: Path, note: str = "") -> None:
    print(f"{action:9} {relative(path)}  {note}".rstrip())


def vendor(node_modules: Path, versions: dict[str, str]) -> dict[str, object]:
    """Copy every package's files into place, remove what is no longer wanted there, and return
    the manifest describing them. Prints one line per file."""
    named = {package.name for package in PACKAGES}
    if named != set(versions):
        sys.exit(
            f"package.json names {sorted(versions)} but this script vendors {sorted(named)}: "
            "add the package to PACKAGES (or remove it from package.json)"
        )
    packages: dict[str, object] = {}
    served: dict[str, object] = {}
    for_tests: dict[str, object] = {}
    wanted: set[Path] = {MANIFEST}
    for package in PACKAGES:
        source = node_modules / package.name
        metadata = json.loads((source / "package.json").read_text())
        version = versions[package.name]
        if metadata["version"] != version:
            sys.exit(
                f"{package.name}: npm installed {metadata['version']}, the lock pins {version}"
            )
        packages[package.name] = {
            "version": version,
            "license": metadata["license"],
            "use": "portal" if package.served else "tests",
        }
        for file in package.files:
            data = (source / file).read_bytes()
            target = package.destination / Path(file).name
            wanted.add(target)
            changed = write_if_changed(target, data)
            report("wrote" if changed else "unchanged", target, f"{package.name}@{version}")
            entry = {"package": package.name, "version": version, "integrity": sri(data)}
            if package.served:
                # Keyed by the path under the static folder, as url_for("…static", filename=…)
                # takes it.
                served[target.relative_to(STATIC).as_posix()] = entry
            else:
                for_tests[relative(target)] = entry
    for folder in sorted({VENDOR, *(package.destination for package in PACKAGES)}):
        for path in sorted(folder.rglob("*"), reverse=True):
            if path.is_file() and path not in wanted:
                path.unlink()
                report("removed", path)
            elif path.is_dir() and not any(path.iterdir()):
                path.rmdir()
    return {
        "about": "Written by scripts/vendor_assets.py from package-lock.json; do not edit by hand.",
        "packages": packages,
        "files": served,
        "test_files": for_tests,
    }


def main() -> int:
    versions = locked_versions()
    with tempfile.TemporaryDirectory(prefix="vendor-assets-") as directory:
        manifest = vendor(install_lock(Path(directory)), versions)
    text = json.dumps(manifest, indent=2, sort_keys=True) + "\n"
    changed = write_if_changed(MANIFEST, text.encode())
    report("wrote" if changed else "unchanged", MANIFEST)
    return 0


if __name__ == "__main__":
    sys.exit(main())
