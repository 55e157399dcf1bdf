"""The PEP 517 build backend of fastautoreload: maturin, after a check for Rust.

Without a Rust toolchain maturin would try to download one (and, offline, fail with a
long traceback). Building from source needs cargo and rustc of at least the version in
Cargo.toml's ``rust-version``, so this backend checks that first and stops at once with
a short message saying what to install and how. Everything else is maturin's.

The message is here, not in ``fastautoreload.messages``: at build time the package
cannot be imported (its native core is what is being built).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
_CARGO_TOML = os.path.join(os.path.dirname(_HERE), "Cargo.toml")


def minimum_rust() -> tuple[int, ...]:
    """The ``rust-version`` of Cargo.toml (the one place that says it)."""
    with open(_CARGO_TOML, encoding="utf-8") as cargo_toml:
        found = re.search(r'^rust-version\s*=\s*"([\d.]+)"', cargo_toml.read(), re.M)
    return _version(found.group(1)) if found else (1,)


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split("."))


def installed_rust() -> tuple[int, ...] | None:
    """rustc's version if both cargo and rustc are on PATH, else None."""
    rustc = shutil.which("rustc")
    if shutil.which("cargo") is None or rustc is None:
        return None
    try:
        out = subprocess.run(
            [rustc, "--version"], capture_output=True, text=True, timeout=60
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    found = re.match(r"rustc (\d+)\.(\d+)\.(\d+)", out)
    return tuple(int(n) for n in found.groups()) if found else None


def problem() -> str | None:
    """Why this machine cannot build fastautoreload from source, or None."""
    needed = minimum_rust()
    have = installed_rust()
    if have is not None and have >= needed:
        return None
    needed_text = ".".join(map(str, needed))
    found = "no cargo/rustc on PATH" if have is None else f"rustc {'.'.join(map(str, have))}"
    return (
        f"fastautoreload: building from source needs Rust {needed_text} or newer "
        f"(cargo and rustc on PATH); found {found}.\n"
        "  Install or update it with rustup (https://rustup.rs):\n"
        "    curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh   # or: rustup update\n"
        "  then open a new shell and run pip again (the build takes 1-3 minutes).\n"
        "  Prebuilt wheels need no Rust: pip install --only-binary fastautoreload fastautoreload"
    )


def _require_rust() -> None:
    message = problem()
    if message is not None:
        print(message, file=sys.stderr)
        raise SystemExit(1)


def _maturin():
    _require_rust()
    import maturin

    return maturin


# -- the PEP 517 and PEP 660 hooks: each checks, then hands over ---------------------------
def get_requires_for_build_wheel(config_settings=None):
    return _maturin().get_requires_for_build_wheel(config_settings)


def get_requires_for_build_editable(config_settings=None):
    return _maturin().get_requires_for_build_editable(config_settings)


def get_requires_for_build_sdist(config_settings=None):
    return _maturin().get_requires_for_build_sdist(config_settings)


def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
    return _maturin().prepare_metadata_for_build_wheel(metadata_directory, config_settings)


def prepare_metadata_for_build_editable(metadata_directory, config_settings=None):
    return _maturin().prepare_metadata_for_build_editable(metadata_directory, config_settings)


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    return _maturin().build_wheel(wheel_directory, config_settings, metadata_directory)


def build_editable(wheel_directory, config_settings=None, metadata_directory=None):
    return _maturin().build_editable(wheel_directory, config_settings, metadata_directory)


def build_sdist(sdist_directory, config_settings=None):
    return _maturin().build_sdist(sdist_directory, config_settings)
