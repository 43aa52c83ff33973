"""The `hw3` command: help with examples, usage errors exit 2, errors print one line (no traceback)."""

import subprocess
import sys

import pytest

from hw3 import cli

from conftest import needs_data

cli.experiment_modules()  # registers every experiment's config

def hw3(*args, env=None):
    return subprocess.run([sys.executable, "-m", "hw3.cli", *args], capture_output=True, text=True, env=env)


def test_help_lists_commands_and_examples():
    out = hw3("--help")
    assert out.returncode == 0
    for command in ("data", "runs", "train", "reproduce", "render"):
        assert command in out.stdout
    assert "examples:" in out.stdout and "hw3 data prepare" in out.stdout


def test_unknown_command_and_argument_exit_2_with_usage():
    for args in (("bogus",), ("runs", "--bogus"), ("data", "prepare", "--nope")):
        out = hw3(*args)
        assert out.returncode == 2, args
        assert "usage:" in out.stderr


def test_errors_are_one_line(tmp_path, monkeypatch):
    env = {"PATH": "/usr/bin:/bin", "HW3_DATA": str(tmp_path / "cache"), "HW3_RESULTS": str(tmp_path / "r")}
    out = hw3("data", "prepare", "--mirror", str(tmp_path / "empty"), env=env)
    assert out.returncode == 1
    lines = [ln for ln in out.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("hw3: ") and "Traceback" not in out.stderr


def test_runs_on_an_empty_store(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("HW3_RESULTS", str(tmp_path))
    assert cli.main(["runs"]) == 0
    assert "no stored runs" in capsys.readouterr().out


def test_render_without_quarto_says_how_to_install(monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("QUARTO", raising=False)
    monkeypatch.setattr(cli.utils, "project_root", lambda: tmp_path)
    assert cli.main(["render"]) == 1
    err = capsys.readouterr().err
    assert "Quarto is not installed" in err and "quarto.org" in err


@pytest.mark.parametrize("experiment", sorted(cli.runs.CONFIGS))
def test_train_help_lists_config_fields(experiment):
    out = hw3("train", experiment, "--help")
    assert out.returncode == 0
    assert "--resume" in out.stdout and "--seed" in out.stdout and "--name" in out.stdout


@needs_data
def test_reproduce_retrains_the_report_runs_of_one_experiment(quick_env):
    assert cli.main(["reproduce", "--only", "theory-activations", "--no-render"]) == 0
    first = cli.runs.load_run("theory-activations", "default")
    inode = (first.path / "metrics.json").stat().st_ino
    assert cli.main(["reproduce", "--only", "theory-activations", "--no-render"]) == 0  # from scratch again
    again = cli.runs.load_run("theory-activations", "default")
    assert (again.path / "metrics.json").stat().st_ino != inode  # a new run folder...
    assert again.metrics == first.metrics  # ...with the same numbers: seeded


@needs_data
def test_data_prepare_verifies_extracts_and_tokenizes(capsys):
    assert cli.main(["data", "prepare"]) == 0
    out = capsys.readouterr().out
    assert "MNIST:" in out and "IMDb:" in out and "IMDb tokens:" in out
