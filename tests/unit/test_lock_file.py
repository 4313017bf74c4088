"""Reproducible installs: every dependency is pinned in requirements.lock, and the environment
the tests run in was installed from it (two installs of one release are the same)."""

from __future__ import annotations

import re
import tomllib
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;]+)$")


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _pins() -> dict[str, str]:
    pins: dict[str, str] = {}
    for line in (ROOT / "requirements.lock").read_text(encoding="utf-8").splitlines():
        if not line or line.startswith("#"):
            continue
        found = PIN.match(line)
        assert found, f"requirements.lock: {line!r} is not an exact pin (name==version)"
        pins[_canonical(found[1])] = found[2]
    return pins


def test_every_direct_dependency_of_every_extra_is_pinned() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    wanted = list(project["dependencies"])
    for requirements in project["optional-dependencies"].values():
        wanted += [r for r in requirements if not r.startswith("epro[")]
    names = {_canonical(re.split(r"[<>=\[ ;]", r, maxsplit=1)[0]) for r in wanted}
    missing = sorted(names - set(_pins()))
    assert not missing, f"not in requirements.lock (run `make lock`): {missing}"


def test_the_installed_environment_matches_the_lock_file() -> None:
    differ = {}
    for name, version in _pins().items():
        try:
            installed = metadata.version(name)
        except metadata.PackageNotFoundError:
            differ[name] = (version, "not installed")
            continue
        if installed != version:
            differ[name] = (version, installed)
    assert not differ, f"installed versions differ from requirements.lock: {differ}"
