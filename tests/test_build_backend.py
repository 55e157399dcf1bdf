"""Building from source without Rust stops at once, with a short message that names Rust,
the version needed and rustup (the in-tree backend of build_backend/)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BACKEND_DIR = ROOT / "build_backend"

pytestmark = pytest.mark.skipif(
    not (BACKEND_DIR / "fastautoreload_build.py").exists(), reason="not run from a checkout"
)


def _rust_version() -> str:
    cargo_toml = (ROOT / "Cargo.toml").read_text()
    return re.search(r'^rust-version\s*=\s*"([\d.]+)"', cargo_toml, re.M).group(1)


def _path_with(tmp_path, tools: dict[str, str]) -> str:
    """A PATH of one directory holding only python and the given fake tools."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "python").symlink_to(sys.executable)
    for name, script in tools.items():
        tool = bin_dir / name
        tool.write_text("#!/bin/sh\n" + script)
        tool.chmod(0o755)
    return str(bin_dir)


def _run_hook(tmp_path, path: str, hook: str = "build_wheel") -> subprocess.CompletedProcess:
    code = textwrap.dedent(
        f"""\
        import sys
        sys.path.insert(0, {str(BACKEND_DIR)!r})
        import fastautoreload_build
        fastautoreload_build.{hook}({str(tmp_path)!r})
        """
    )
    return subprocess.run(
        [sys.executable, "-c", code],
        env=dict(os.environ, PATH=path),
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    "hook", ["get_requires_for_build_wheel", "build_wheel", "build_sdist", "build_editable"]
)
def test_without_cargo_every_hook_stops_with_a_short_message(tmp_path, hook):
    done = _run_hook(tmp_path, _path_with(tmp_path, {}), hook)
    assert done.returncode == 1
    err = done.stderr
    assert f"needs Rust {_rust_version()} or newer" in err
    assert "no cargo/rustc on PATH" in err
    assert "rustup" in err
    assert "Traceback" not in err
    assert len(err.splitlines()) <= 8


def test_a_too_old_rustc_is_named(tmp_path):
    path = _path_with(tmp_path, {"cargo": "exit 0\n", "rustc": "echo 'rustc 1.60.0 (x 2022)'\n"})
    done = _run_hook(tmp_path, path)
    assert done.returncode == 1
    assert "found rustc 1.60.0" in done.stderr


def test_pip_install_without_rust_stops_at_once(tmp_path):
    """pip itself, on a copy of the checkout's metadata, with no cargo on PATH."""
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", str(ROOT)],
        env=dict(os.environ, PATH=_path_with(tmp_path, {}), PIP_NO_INPUT="1"),
        capture_output=True,
        text=True,
        timeout=120,
        cwd=str(tmp_path),
    )
    output = done.stdout + done.stderr
    assert done.returncode != 0
    assert f"needs Rust {_rust_version()} or newer" in output
    assert "rustup" in output
