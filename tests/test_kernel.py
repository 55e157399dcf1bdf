"""End to end through a real Jupyter kernel (ipykernel, driven by jupyter_client)."""

from __future__ import annotations

import json
import os
import sys

import pytest
from conftest import EXT, reloading, unique_name, versioned, write

jupyter_client = pytest.importorskip("jupyter_client")
pytest.importorskip("ipykernel")

from jupyter_client.kernelspec import KernelSpecManager  # noqa: E402
from jupyter_client.manager import KernelManager  # noqa: E402

# Generous: the machine may be busy (compiling), and these only guard against hanging.
STARTUP_TIMEOUT = 180
CELL_TIMEOUT = 120


@pytest.fixture
def kernel(tmp_path):
    """A blocking client of an ipykernel running on this very Python."""
    kernels = tmp_path / "kernels"
    spec_dir = kernels / "far-test-python"
    spec_dir.mkdir(parents=True)
    spec = {
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "fastautoreload tests",
        "language": "python",
    }
    (spec_dir / "kernel.json").write_text(json.dumps(spec))
    env = dict(os.environ)
    env["IPYTHONDIR"] = str(tmp_path / "ipythondir")
    env["JUPYTER_PLATFORM_DIRS"] = "1"
    env["PYDEVD_DISABLE_FILE_VALIDATION"] = "1"
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    km = KernelManager(
        kernel_name="far-test-python",
        kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(kernels)]),
    )
    assert km.kernel_spec.argv[0] == sys.executable
    km.start_kernel(env=env, cwd=str(tmp_path))
    client = km.client()
    try:
        client.start_channels()
        client.wait_for_ready(timeout=STARTUP_TIMEOUT)
        yield client
    finally:
        client.stop_channels()
        km.shutdown_kernel(now=False)


def execute(client, code: str) -> dict:
    """Run one cell; return its reply status, execute_result text and stream output."""
    outputs = {"result": None, "stdout": "", "stderr": "", "error": None}

    def on_iopub(msg):
        kind, content = msg["msg_type"], msg["content"]
        if kind == "execute_result":
            outputs["result"] = content["data"].get("text/plain")
        elif kind == "stream":
            outputs[content["name"]] += content["text"]
        elif kind == "error":
            outputs["error"] = f"{content['ename']}: {content['evalue']}"

    reply = client.execute_interactive(code, timeout=CELL_TIMEOUT, output_hook=on_iopub)
    outputs["status"] = reply["content"]["status"]
    return outputs


def _ok(outputs: dict) -> dict:
    assert outputs["status"] == "ok", outputs
    return outputs


def test_edit_reloads_in_a_jupyter_kernel(kernel, tmp_path):
    pkgdir = tmp_path / "pkgs"
    pkgdir.mkdir()
    name = unique_name("kernel")
    path = write(pkgdir / f"{name}.py", versioned(1))

    _ok(execute(kernel, f"import sys\nsys.path.insert(0, {str(pkgdir)!r})"))
    _ok(execute(kernel, f"%load_ext {EXT}"))
    _ok(execute(kernel, "%autoreload 2 -p"))
    _ok(execute(kernel, f"import {name}\nfrom {name} import f"))
    first = _ok(execute(kernel, "f()"))
    assert first["result"] == "1"
    assert first["stdout"] == ""

    write(path, versioned(2))
    second = _ok(execute(kernel, "f()"))
    assert second["result"] == "2"
    assert second["stdout"] == reloading(name) + "\n"
    assert second["stderr"] == ""

    third = _ok(execute(kernel, f"({name}.f(), {name}.VALUE)"))
    assert third["result"] == "(2, 2)"
    assert third["stdout"] == ""
