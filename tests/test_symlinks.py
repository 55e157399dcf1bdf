"""Modules reached through symbolic links (dotfile managers, stow, Nix, editable installs).

A module file that is a link is edited where it leads, in a directory of its own: the
change must be seen there, and again after the link is pointed somewhere else. Edits are
plain writes of the same size (no mtime help), and the next cell must see them.

IPython's autoreload polls mtimes, which follow links; it misses the plain writes here (and
the edit after them) with or without links: those tests are marked ``fastautoreload_only``.
"""

from __future__ import annotations

import importlib
import os

import pytest
from conftest import run, unique_name, value, versioned, write


def plain_write(path, text: str) -> None:
    """What an editor does: new bytes, mtime left to the file system."""
    path.write_text(text)


def point(link, target) -> None:
    """Make ``link`` lead to ``target``, replacing what is there, as ``ln -sfn`` does."""
    temp = link.with_name(f".{link.name}.tmp-link")
    os.symlink(target, temp)
    os.replace(temp, link)
    importlib.invalidate_caches()


def linked_module(pkgdir, target_dir, source):
    """A module ``pkgdir/<name>.py`` that is a link to ``target_dir/<name>.py``."""
    name = unique_name("link")
    target_dir.mkdir(parents=True, exist_ok=True)
    target = write(target_dir / f"{name}.py", source)
    point(pkgdir / f"{name}.py", target)
    return name, target


@pytest.mark.fastautoreload_only
def test_edit_of_the_target_in_another_directory(auto, pkgdir, tmp_path):
    name, target = linked_module(pkgdir, tmp_path / "elsewhere", versioned(1))
    run(auto, f"from {name} import f")
    plain_write(target, versioned(2))  # same size
    assert value(auto, "f()") == 2
    write(target, versioned(3) + "# longer now\n")
    assert value(auto, "f()") == 3


@pytest.mark.fastautoreload_only
def test_link_pointed_at_a_file_in_a_third_directory(auto, pkgdir, tmp_path):
    name, old = linked_module(pkgdir, tmp_path / "first", versioned(1))
    run(auto, f"from {name} import f")
    (tmp_path / "second").mkdir()
    new = write(tmp_path / "second" / f"{name}.py", versioned(2))
    point(pkgdir / f"{name}.py", new)
    assert value(auto, "f()") == 2
    plain_write(new, versioned(3))
    assert value(auto, "f()") == 3
    # The old target no longer is the module's source.
    plain_write(old, versioned(4))
    assert value(auto, "f()") == 3


@pytest.mark.fastautoreload_only
def test_plain_file_replaced_by_a_link_and_back(auto, pkgdir, tmp_path):
    name = unique_name("swap")
    module = write(pkgdir / f"{name}.py", versioned(1))
    (tmp_path / "elsewhere").mkdir()
    target = write(tmp_path / "elsewhere" / f"{name}.py", versioned(2))
    run(auto, f"from {name} import f")
    point(module, target)
    assert value(auto, "f()") == 2
    plain_write(target, versioned(3))
    assert value(auto, "f()") == 3
    temp = module.with_name(f".{module.name}.new")
    temp.write_text(versioned(4))
    os.replace(temp, module)
    assert value(auto, "f()") == 4
    plain_write(target, versioned(5))
    assert value(auto, "f()") == 4


def test_package_reached_through_a_directory_link(auto, pkgdir, tmp_path):
    name = unique_name("pkg")
    real = tmp_path / "checkout" / name
    real.mkdir(parents=True)
    write(real / "__init__.py", "from .sub import f\n")
    sub = write(real / "sub.py", versioned(1))
    (pkgdir / name).symlink_to(real, target_is_directory=True)
    importlib.invalidate_caches()
    run(auto, f"from {name}.sub import f as sub_f\nfrom {name} import f as pkg_f")
    plain_write(sub, versioned(2))
    assert value(auto, "sub_f()") == 2
    assert value(auto, "pkg_f()") == 2
    plain_write(real / "__init__.py", "from .sub import f\n\nEXTRA = 7\n")
    assert value(auto, f"__import__({name!r}).EXTRA") == 7
