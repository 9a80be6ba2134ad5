"""Check a built sdist and wheel before anyone installs or uploads them (scripts/test.sh, RELEASING.md).

The metadata goes through packaging's strict parser, the one PyPI validates an upload with (and
twine >= 6 too), so a field PyPI would refuse fails here. Then what the files must hold: the license
named in the metadata, the typed package, the entry points, and in the sdist all a build needs.
Usage: python scripts/check_dist.py DIST_DIR
"""

from __future__ import annotations

import re
import sys
import tarfile
import tomllib
import zipfile
from pathlib import Path

from packaging.metadata import Metadata
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
# What a build from the sdist reads, beside the package itself.
SDIST_NEEDS = ("pyproject.toml", "README.md", "LICENSE", "PKG-INFO")
ENTRY_POINTS = (
    "[console_scripts]\naiokinesis = aiokinesis.cli:main",
    "[pytest11]\naiokinesis = aiokinesis.testing.pytest_plugin",
)


def expected() -> tuple[str, str, list[Requirement]]:
    """The name, version and dependencies the checkout declares."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    match = re.search(r'__version__ = "([^"]+)"', (ROOT / "aiokinesis" / "_version.py").read_text())
    assert match, "aiokinesis/_version.py has no __version__"
    return project["name"], match.group(1), [Requirement(r) for r in project["dependencies"]]


def check_metadata(where: str, text: str, problems: list[str]) -> Metadata:
    """Parse strictly and compare with pyproject.toml; each difference is one problem."""
    try:
        meta = Metadata.from_email(text, validate=True)
    except Exception as exc:  # ExceptionGroup of InvalidMetadata: every bad field, by name
        problems.append(f"{where}: metadata refused: {exc!r}")
        raise SystemExit("\n".join(problems)) from exc
    name, version, deps = expected()
    if canonicalize_name(meta.name) != canonicalize_name(name):
        problems.append(f"{where}: Name is {meta.name!r}, pyproject.toml says {name!r}")
    if str(meta.version) != version:
        problems.append(f"{where}: Version is {meta.version}, aiokinesis/_version.py says {version}")
    if str(meta.license_expression) != "Apache-2.0":
        problems.append(f"{where}: License-Expression is {meta.license_expression!r}, not 'Apache-2.0'")
    if meta.license_files != ["LICENSE"]:
        problems.append(f"{where}: License-File is {meta.license_files!r}, not ['LICENSE']")
    if meta.description_content_type != "text/markdown" or not meta.description:
        problems.append(f"{where}: the README is missing as the long description (text/markdown)")
    runtime = sorted(str(r) for r in meta.requires_dist or [] if r.marker is None)
    if runtime != sorted(str(r) for r in deps):
        problems.append(f"{where}: Requires-Dist {runtime} differs from pyproject.toml's {sorted(map(str, deps))}")
    return meta


def check_wheel(path: Path, problems: list[str]) -> set[str]:
    """The wheel's metadata and files; returns the package files it holds."""
    with zipfile.ZipFile(path) as wheel:
        names = set(wheel.namelist())
        info = next(n.split("/")[0] for n in names if n.endswith(".dist-info/METADATA"))
        check_metadata(path.name, wheel.read(f"{info}/METADATA").decode(), problems)
        if f"{info}/licenses/LICENSE" not in names:
            problems.append(f"{path.name}: no {info}/licenses/LICENSE, though the metadata names it")
        entry_points = wheel.read(f"{info}/entry_points.txt").decode()
    for section in ENTRY_POINTS:
        if section not in entry_points:
            problems.append(f"{path.name}: entry_points.txt lacks {section!r}")
    package = {n for n in names if n.startswith("aiokinesis/")}
    for needed in ("aiokinesis/__init__.py", "aiokinesis/py.typed", "aiokinesis/_generated/__init__.py"):
        if needed not in package:
            problems.append(f"{path.name}: {needed} missing")
    strays = sorted(n for n in names if not n.startswith(("aiokinesis/", info)))
    if strays:
        problems.append(f"{path.name}: files outside the package: {strays[:5]}")
    return package


def check_sdist(path: Path, wheel_files: set[str], problems: list[str]) -> None:
    """The sdist's metadata, and that it holds every file the wheel was built from."""
    with tarfile.open(path) as sdist:
        top = path.name.removesuffix(".tar.gz")
        names = {m.name.removeprefix(f"{top}/") for m in sdist.getmembers() if m.isfile()}
        pkg_info = sdist.extractfile(f"{top}/PKG-INFO")
        assert pkg_info is not None
        check_metadata(path.name, pkg_info.read().decode(), problems)
    for needed in SDIST_NEEDS:
        if needed not in names:
            problems.append(f"{path.name}: {needed} missing")
    for missing in sorted(wheel_files - names):
        problems.append(f"{path.name}: {missing} is in the wheel but not in the sdist")


def main(argv: list[str]) -> int:
    dist = Path(argv[1]) if len(argv) > 1 else ROOT / "dist"
    wheels, sdists = sorted(dist.glob("*.whl")), sorted(dist.glob("*.tar.gz"))
    if len(wheels) != 1 or len(sdists) != 1:
        print(f"{dist}: want one wheel and one sdist, found {[p.name for p in wheels + sdists]}", file=sys.stderr)
        return 1
    problems: list[str] = []
    check_sdist(sdists[0], check_wheel(wheels[0], problems), problems)
    for problem in problems:
        print(problem, file=sys.stderr)
    if not problems:
        print(f"dist ok: {sdists[0].name}, {wheels[0].name}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
