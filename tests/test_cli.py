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


@needs_data
def test_interrupted_reproduce_continues_where_it_stopped(quick_env, monkeypatch):
    assert cli.main(["reproduce", "--only", "theory-activations", "--no-render"]) == 0
    assert not cli.reproduce_state_path("theory-activations").exists()  # finished: no state left
    run = cli.runs.load_run("theory-activations", "default")
    inode = (run.path / "metrics.json").stat().st_ino
    # as left by a reproduce that was killed after redoing this run
    cli.utils.write_json(cli.reproduce_state_path("theory-activations"),
                         {"only": "theory-activations", "started": "2026-01-01T00:00:00",
                          "done": [["theory-activations", "default"]]})
    assert cli.main(["reproduce", "--only", "theory-activations", "--no-render"]) == 0
    assert (run.path / "metrics.json").stat().st_ino == inode  # kept, not redone
    assert not cli.reproduce_state_path("theory-activations").exists()


def test_reproduce_resumes_an_interrupted_run_instead_of_discarding_it(quick_env, monkeypatch):
    config = cli.report_configs("theory-activations")[0].quick()
    partial = cli.runs.partial_dir(config)
    partial.mkdir(parents=True)
    cli.utils.write_json(partial / "config.json", config.to_dict())
    calls = []
    monkeypatch.setattr(cli.runs, "train_run", lambda c, **kw: calls.append((c.name, kw)))
    monkeypatch.setattr(cli.runs, "load_or_train", lambda c, **kw: pytest.fail("the partial run was not resumed"))
    assert cli.main(["reproduce", "--only", "theory-activations", "--no-render"]) == 0
    assert calls == [(config.name, {"resume": True, "device": cli.utils.get_device(None)})]


def test_reproduce_on_a_cpu_keeps_gpu_trained_runs(quick_env, capsys, monkeypatch):
    monkeypatch.setattr(cli, "_trained_on_gpu", lambda c: True)
    monkeypatch.setattr(cli.runs, "load_or_train", lambda c, **kw: pytest.fail(f"{c.name} was retrained"))
    assert cli.main(["reproduce", "--only", "theory-activations", "--no-render", "--device", "cpu"]) == 0
    assert "keeping 1 runs that were trained on a GPU" in capsys.readouterr().err
