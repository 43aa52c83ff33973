"""`make report`'s Quarto: one on PATH first, then the virtual environment's (PyPI's quarto-cli extra)."""

import os
import subprocess

from quarto import ROOT

SCRIPT = ROOT / "scripts" / "ensure-quarto"


def run(tmp_path, python, path):
    env = {**os.environ, "PATH": path}
    env.pop("QUARTO", None)
    return subprocess.run([str(SCRIPT), str(python)], capture_output=True, text=True, env=env, timeout=60)


def fake_quarto(folder):
    folder.mkdir(parents=True, exist_ok=True)
    q = folder / "quarto"
    q.write_text("#!/bin/sh\necho fake\n")
    q.chmod(0o755)
    return q


def test_a_quarto_on_path_is_used(tmp_path):
    q = fake_quarto(tmp_path / "bin")
    done = run(tmp_path, tmp_path / "venv" / "bin" / "python", f"{q.parent}:/usr/bin:/bin")
    assert done.returncode == 0 and done.stdout.strip() == str(q)


def test_the_virtual_environments_quarto_is_used(tmp_path):
    q = fake_quarto(tmp_path / "venv" / "bin")
    done = run(tmp_path, q.parent / "python", "/usr/bin:/bin")
    assert done.returncode == 0 and done.stdout.strip() == str(q)


def test_quarto_comes_from_pypi_not_a_hand_written_download():
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert 'quarto = ["quarto-cli"]' in pyproject, "the `quarto` extra"
    script = SCRIPT.read_text(encoding="utf-8")
    assert "[quarto]" in script and "github.com/quarto-dev" not in script and "curl" not in script
    assert "https://quarto.org/docs/get-started/" in script, "where it cannot be installed, say how"
