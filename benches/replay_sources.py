"""Releases of a library as files: sdists downloaded with pip into a cache, unpacked, and
the checkout that turns a work directory holding one release into the next.

Only the parts a replay needs are copied: the library's package directories and its test
directory, at the same paths relative to the sdist's root, so that the work directory is
laid out as a checkout of the project is.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / (
    "fastautoreload-replay"
)
SKIPPED_PARTS = {"__pycache__", ".pytest_cache", ".hypothesis"}


@dataclass(frozen=True)
class Library:
    """One library to replay: its pip name, consecutive releases, and where its code and
    tests are inside each sdist."""

    name: str
    versions: list[str]
    packages: list[str]
    """Package directories (or single-module files) relative to the sdist root."""
    tests: str
    """The test directory relative to the sdist root (may lie inside a package)."""
    src: str = ""
    """The directory put on sys.path, relative to the sdist root ("" or "src")."""
    suite: list[str] = field(default_factory=list)
    """What pytest is given to collect, relative to the root (default: the tests)."""
    pytest_args: list[str] = field(default_factory=list)
    test_deps: list[str] = field(default_factory=list)
    """What the tests import beyond pytest (installed by the user, named in the report)."""

    def suite_paths(self) -> list[str]:
        return self.suite or [self.tests]

    def tracked(self) -> list[str]:
        return [*self.packages, self.tests]


def sdist(library: Library, version: str, cache: Path) -> Path:
    """The unpacked sdist of `library` at `version`, downloaded once into `cache`."""
    unpacked = cache / "unpacked" / f"{library.name}-{version}"
    if unpacked.is_dir():
        return unpacked
    downloads = cache / "sdists"
    downloads.mkdir(parents=True, exist_ok=True)
    archive = _find_archive(downloads, library.name, version)
    if archive is None:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps"]
            + ["--no-binary", ":all:", "--dest", str(downloads), f"{library.name}=={version}"],
            check=True,
        )
        archive = _find_archive(downloads, library.name, version)
        if archive is None:
            raise RuntimeError(f"pip download left no sdist of {library.name} {version}")
    staging = unpacked.with_name(unpacked.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    _extract(archive, staging)
    roots = [p for p in staging.iterdir() if p.is_dir()]
    # An sdist holds one top directory, `name-version/`; its content is the release.
    os.replace(roots[0] if len(roots) == 1 else staging, unpacked)
    shutil.rmtree(staging, ignore_errors=True)
    return unpacked


def _find_archive(downloads: Path, name: str, version: str) -> Path | None:
    # sdist file names normalise the project name differently across build backends.
    stems = {f"{n}-{version}" for n in (name, name.replace("-", "_"), name.replace("_", "-"))}
    for path in downloads.iterdir():
        stem = path.name.removesuffix(".tar.gz").removesuffix(".zip")
        if stem.lower() in {s.lower() for s in stems}:
            return path
    return None


def _extract(archive: Path, into: Path) -> None:
    into.mkdir(parents=True)
    if archive.name.endswith(".zip"):
        with zipfile.ZipFile(archive) as zf:
            zf.extractall(into)
        return
    with tarfile.open(archive) as tf:
        tf.extractall(into, filter="data")


def release_files(root: Path, tracked: list[str]) -> dict[str, bytes]:
    """Every file of the tracked paths of one unpacked release, by relative path."""
    files: dict[str, bytes] = {}
    for rel in tracked:
        top = root / rel
        if top.is_file():
            files[rel] = top.read_bytes()
            continue
        for path in sorted(top.rglob("*")):
            if path.is_file() and not SKIPPED_PARTS.intersection(path.relative_to(root).parts):
                files[path.relative_to(root).as_posix()] = path.read_bytes()
    return files


@dataclass
class Checkout:
    """What one pull changed, by relative path."""

    changed: list[str]
    added: list[str]
    deleted: list[str]

    def summary(self) -> str:
        return f"{len(self.changed)} changed, {len(self.added)} added, {len(self.deleted)} deleted"


def checkout(work: Path, old: dict[str, bytes], new: dict[str, bytes]) -> Checkout:
    """Turns `work`, holding the files `old`, into `new`, as `git checkout` does: changed
    files rewritten in place, added ones created, deleted ones removed (and directories
    left empty by that)."""
    result = Checkout(
        changed=sorted(p for p in new if p in old and old[p] != new[p]),
        added=sorted(p for p in new if p not in old),
        deleted=sorted(p for p in old if p not in new),
    )
    for rel in result.deleted:
        path = work / rel
        path.unlink()
        _prune_empty(path.parent, work)
    for rel in result.changed + result.added:
        path = work / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(new[rel])
    return result


def populate(work: Path, files: dict[str, bytes]) -> None:
    """Writes one release's files into an empty `work`."""
    checkout(work, {}, files)


def _prune_empty(directory: Path, stop: Path) -> None:
    while directory != stop and directory.is_dir():
        leftovers = [p for p in directory.iterdir() if p.name != "__pycache__"]
        if leftovers:
            return
        shutil.rmtree(directory)
        directory = directory.parent
