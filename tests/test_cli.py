"""The `hw3` command: help with examples, usage errors exit 2, errors print one line (no traceback),
--resume, --only, HW3_DEBUG, and a start-up that loads no PyTorch."""

import json
import subprocess
import sys
from types import SimpleNamespace

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
    assert calls == [(config.name, {"resume": True, "retrain": False, "device": cli.utils.get_device(None)})]


def test_reproduce_on_a_cpu_keeps_gpu_trained_runs(quick_env, capsys, monkeypatch):
    monkeypatch.setattr(cli, "_trained_on_gpu", lambda c: True)
    monkeypatch.setattr(cli.runs, "load_or_train", lambda c, **kw: pytest.fail(f"{c.name} was retrained"))
    assert cli.main(["reproduce", "--only", "theory-activations", "--no-render", "--device", "cpu"]) == 0
    assert "keeping 1 runs that were trained on a GPU" in capsys.readouterr().err


# --- --resume: an interrupted run continues only when asked (issue 18) ---------------------------------


def _fake_training(monkeypatch, calls, error=None):
    def load_or_train(config, **kw):
        calls.append((config.name, kw))
        if error:
            raise error
        return SimpleNamespace(path=cli.runs.run_dir(config), metrics={})

    monkeypatch.setattr(cli.runs, "load_or_train", load_or_train)


@pytest.mark.parametrize("flags", [[], ["--resume"], ["--retrain"]])
def test_train_passes_resume_and_retrain_to_the_run_store(flags, monkeypatch, tmp_path):
    monkeypatch.setenv("HW3_RESULTS", str(tmp_path))
    calls = []
    _fake_training(monkeypatch, calls)
    assert cli.main(["train", "theory-activations", *flags, "--device", "cpu"]) == 0
    assert calls == [("default", {"retrain": "--retrain" in flags, "resume": "--resume" in flags, "device": "cpu"})]


def test_ctrl_c_says_how_each_command_continues(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("HW3_RESULTS", str(tmp_path))
    _fake_training(monkeypatch, [], error=KeyboardInterrupt())
    assert cli.main(["train", "theory-activations", "--device", "cpu"]) == 130
    err = capsys.readouterr().err.splitlines()[-1]
    assert "--resume" in err and "--retrain" in err
    assert cli.main(["reproduce", "--only", "theory-activations", "--no-render", "--device", "cpu"]) == 130
    err = capsys.readouterr().err.splitlines()[-1]
    assert "hw3 reproduce" in err and "--restart" in err and "--resume" not in err  # reproduce resumes by itself


def test_the_run_store_error_for_an_interrupted_run_names_the_flags_the_cli_has():
    parser = cli.build_parser()
    train = parser._subparsers._group_actions[0].choices["train"]
    options = train._subparsers._group_actions[0].choices["theory-activations"]._option_string_actions
    assert "--resume" in options and "--retrain" in options


# --- --only: a part is its whole chapter ------------------------------------------------------------


def test_only_sentiment_selects_tfidf_too_and_only_gan_the_judge():
    chosen = {only: {c.experiment for c in cli.report_configs(only)}
              for only in ("sentiment", "gan", "theory", "tfidf", "judge", "theory-layers")}
    assert chosen["sentiment"] == {"sentiment", "tfidf"}
    assert chosen["gan"] == {"gan", "judge"}
    assert chosen["theory"] == {f"theory-{e}" for e in ("transfer", "layers", "regularization", "siamese",
                                                        "activations")}
    assert chosen["tfidf"] == {"tfidf"} and chosen["judge"] == {"judge"} and chosen["theory-layers"] == {"theory-layers"}
    assert {c.experiment for c in cli.report_configs()} == set().union(*chosen.values())


def test_reproduce_only_sentiment_retrains_tfidf(monkeypatch, tmp_path):
    monkeypatch.setenv("HW3_RESULTS", str(tmp_path))  # an empty store: nothing kept, nothing trained for real
    calls = []
    _fake_training(monkeypatch, calls)
    assert cli.main(["reproduce", "--only", "sentiment", "--no-render", "--device", "cpu"]) == 0
    assert ("tfidf", {"retrain": True, "device": cli.utils.get_device("cpu")}) in calls
    assert len(calls) == len(cli.report_configs("sentiment"))


# --- environment flags ------------------------------------------------------------------------------


@pytest.mark.parametrize(("debug", "traceback"), [("1", True), ("0", False), ("", False)])
def test_hw3_debug_shows_every_traceback(debug, traceback, tmp_path):
    # `hw3 freeze` on a folder that is no Quarto project: a FileNotFoundError, caught before anything else
    out = hw3("freeze", "--project", str(tmp_path), env={"PATH": "/usr/bin:/bin", "HW3_DEBUG": debug})
    assert out.returncode == 1
    assert ("Traceback" in out.stderr) is traceback
    if not traceback:
        assert out.stderr.strip().splitlines() == [f"hw3: error: {tmp_path / '_quarto.yml'} not found: not a Quarto project"]


# --- start-up: PyTorch only for the commands that need it ---------------------------------------------

HEAVY = ("torch", "pandas", "matplotlib", "numpy")


@pytest.mark.parametrize("argv", [["--help"], ["runs"], ["runs", "--bogus"], ["freeze"], ["reproduce", "--help"],
                                  ["bogus"]])
def test_startup_imports_no_torch(argv, tmp_path):
    code = f"""
import json, sys
import hw3.cli
try:
    code = hw3.cli.main({argv!r})
except SystemExit as e:
    code = e.code
print(json.dumps({{"code": code, "loaded": [m for m in {HEAVY!r} if m in sys.modules]}}))
"""
    env = {"PATH": "/usr/bin:/bin", "HW3_RESULTS": str(tmp_path)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=tmp_path)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["loaded"] == [], f"hw3 {' '.join(argv)} imported {result['loaded']}"
    assert result["code"] in (0, 2, None)


# --- the package's import direction (README: a part imports the core, never another part) ------------

PARTS = ("gan", "sentiment", "theory")
AGGREGATORS = ("cli.py", "report.py")  # the command line and the front page gather the parts


def _imported_parts(path, package):
    """The parts (hw3.gan, ...) a module imports anywhere, inside functions too."""
    import ast

    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            base = package.split(".")[: len(package.split(".")) - node.level + 1] if node.level else []
            module = ".".join(base + ([node.module] if node.module else []))
            names = [module, *(f"{module}.{a.name}" for a in node.names)]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        else:
            continue
        found |= {n.split(".")[1] for n in names if n.startswith("hw3.") and n.split(".")[1] in PARTS}
    return found


def test_imports_go_one_way_core_never_imports_a_part():
    root = cli.utils.project_root() / "code" / "hw3"
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root)
        package = ".".join(["hw3", *rel.parts[:-1]])
        part = rel.parts[0] if len(rel.parts) > 1 and rel.parts[0] in PARTS else None
        imported = _imported_parts(path, package)
        if part:
            assert imported <= {part}, f"{rel}: a part imports another part ({sorted(imported - {part})})"
        elif str(rel) not in AGGREGATORS:
            assert not imported, f"{rel}: a core module imports the part(s) {sorted(imported)}"
