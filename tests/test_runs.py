"""The run store: atomic runs, load_or_train caching, resume equals an uninterrupted run, safe loading."""

import dataclasses
import json
from dataclasses import dataclass
from typing import ClassVar

import pytest
import torch

from hw3 import runs, utils


@dataclass
class ToyConfig(runs.RunConfig):
    experiment: ClassVar[str] = "toy"
    name: str = "toy"
    num_epochs: int = 4
    lr: float = 0.1
    crash_after: int = -1  # simulate an interruption after this epoch (not part of a real config)


class Crash(Exception):
    pass


CALLS = []


@runs.trainer(ToyConfig)
def train_toy(cfg: ToyConfig, run: runs.RunWriter, device):
    CALLS.append(cfg.name)
    model = torch.nn.Linear(3, 1)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    g = torch.Generator().manual_seed(cfg.seed)  # e.g. a batch-order generator: resume must restore it too
    start = run.restore(model=model, opt=opt, generator=g)
    for epoch in range(start + 1, cfg.num_epochs + 1):
        X = torch.randn(32, 3) + torch.randn(32, 3, generator=g)  # global RNG and g: resume restores both
        loss = ((model(X) - X.sum(1, keepdim=True)) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        run.log_epoch(epoch, loss=loss)
        runs.check_finite(epoch, loss=loss.item())
        run.save_checkpoint(epoch, model=model.state_dict(), opt=opt.state_dict(), generator=g.get_state())
        if epoch == cfg.crash_after:
            raise Crash
    run.save_weights("model", model)
    run.metrics["final_loss"] = run.history[-1]["loss"]


@pytest.fixture(autouse=True)
def results(tmp_path, monkeypatch):
    monkeypatch.setenv("HW3_RESULTS", str(tmp_path))
    monkeypatch.delenv("HW3_QUICK", raising=False)
    CALLS.clear()
    return tmp_path


def test_run_folder_holds_config_history_metrics_weights_provenance(results):
    run = runs.load_or_train(ToyConfig(), device="cpu")
    assert run.path == results / "toy" / "toy"
    for f in ("config.json", "history.json", "metrics.json", "provenance.json", "model.safetensors"):
        assert (run.path / f).exists(), f
    assert run.config == ToyConfig()
    assert [r["epoch"] for r in run.history] == [1, 2, 3, 4]
    assert run.metrics["final_loss"] == run.history[-1]["loss"]
    p = run.provenance
    assert p["device"] == "cpu" and p["wall_time_s"] >= 0 and p["torch"] == torch.__version__
    assert not (run.path / "checkpoint.pt").exists()
    state = run.load_weights("model")
    assert set(state) == {"weight", "bias"}


def test_load_or_train_returns_stored_run_without_training():
    runs.load_or_train(ToyConfig(), device="cpu")
    again = runs.load_or_train(ToyConfig(), device="cpu")
    assert CALLS == ["toy"]
    assert again.metrics["final_loss"] == runs.load_run("toy", "toy").metrics["final_loss"]


def test_different_config_under_same_name_is_an_error_not_a_silent_retrain():
    runs.load_or_train(ToyConfig(), device="cpu")
    with pytest.raises(runs.RunError, match="lr: stored 0.1, requested 0.2"):
        runs.load_or_train(ToyConfig(lr=0.2), device="cpu")
    retrained = runs.load_or_train(ToyConfig(lr=0.2), retrain=True, device="cpu")
    assert retrained.config.lr == 0.2


def test_interrupted_run_never_loads_and_resume_matches_uninterrupted(results):
    full = runs.load_or_train(ToyConfig(name="full"), device="cpu")
    with pytest.raises(Crash):
        runs.load_or_train(ToyConfig(name="cut", crash_after=2), device="cpu")
    assert not (results / "toy" / "cut").exists()
    assert (results / "toy" / ".cut.partial" / "checkpoint.pt").exists()
    with pytest.raises(runs.RunError):
        runs.load_run("toy", "cut")
    assert [r.name for r in runs.list_runs()] == ["full"]

    # continue the same interrupted config; crash_after is past, so it runs to the end
    cfg = ToyConfig(name="cut", crash_after=2)
    resumed = runs.train_run(cfg, resume=True, device="cpu")
    assert [r["epoch"] for r in resumed.history] == [1, 2, 3, 4]
    a, b = full.load_weights("model"), resumed.load_weights("model")
    for k in a:
        torch.testing.assert_close(a[k], b[k], rtol=0, atol=0)
    assert resumed.history[-1]["loss"] == full.history[-1]["loss"]


def test_an_interrupted_run_continues_only_with_resume(results):
    with pytest.raises(Crash):
        runs.load_or_train(ToyConfig(name="cut", crash_after=2), device="cpu")
    partial = results / "toy" / ".cut.partial"
    # the same command again without resume: one clear error naming both ways out; the work stays
    with pytest.raises(runs.RunError, match=r"interrupted run of this config: pass --resume .* --retrain"):
        runs.load_or_train(ToyConfig(name="cut", crash_after=2), device="cpu")
    assert (partial / "checkpoint.pt").exists() and CALLS == ["cut"]
    # another config under the same name cannot take it over, with or without resume
    for resume in (False, True):
        with pytest.raises(runs.RunError, match=r"different config \(lr: .*--resume.*--retrain"):
            runs.load_or_train(ToyConfig(name="cut", crash_after=2, lr=0.2), resume=resume, device="cpu")
    assert (partial / "checkpoint.pt").exists()
    # with resume it continues from the checkpoint (crash_after is past) and finishes
    run = runs.load_or_train(ToyConfig(name="cut", crash_after=2), resume=True, device="cpu")
    assert [r["epoch"] for r in run.history] == [1, 2, 3, 4] and not partial.exists()
    full = runs.load_or_train(ToyConfig(name="full"), device="cpu")
    assert run.history[-1]["loss"] == full.history[-1]["loss"]  # as if never interrupted


def test_a_partial_folder_without_a_checkpoint_is_simply_replaced(results):
    partial = runs.partial_dir(ToyConfig(name="early"))
    partial.mkdir(parents=True)
    utils.write_json(partial / "config.json", ToyConfig(name="early", lr=0.5).to_dict())  # died before epoch 1
    run = runs.load_or_train(ToyConfig(name="early"), device="cpu")
    assert run.config.lr == 0.1 and len(run.history) == 4


def test_retrain_discards_an_interrupted_run(results):
    with pytest.raises(Crash):
        runs.load_or_train(ToyConfig(name="cut", crash_after=3), device="cpu")
    with pytest.raises(Crash):  # starts from epoch 1 again and crashes at 3 again
        runs.load_or_train(ToyConfig(name="cut", crash_after=3), retrain=True, device="cpu")


def test_a_config_field_added_later_keeps_old_runs_loading(results):
    run = runs.load_or_train(ToyConfig(name="old"), device="cpu")
    stored = run.config_dict
    del stored["lr"]  # as if `lr` had been added to ToyConfig after this run was stored
    (run.path / "config.json").write_text(json.dumps(stored))
    assert runs.load_or_train(ToyConfig(name="old"), device="cpu").path == run.path
    with pytest.raises(runs.RunError, match="different config"):
        runs.load_or_train(ToyConfig(name="old", lr=0.3), device="cpu")


def test_non_finite_loss_stops_with_clear_error_and_keeps_last_good_checkpoint(results):
    with pytest.raises(runs.TrainingDiverged, match="non-finite at epoch 2"):
        runs.load_or_train(ToyConfig(name="nan", lr=1e30), device="cpu")  # weights ~1e30: loss overflows
    assert not (results / "toy" / "nan").exists()
    payload = torch.load(results / "toy" / ".nan.partial" / "checkpoint.pt", weights_only=True)
    assert payload["epoch"] == 1


def test_checkpoint_and_weights_load_without_unpickling_code(results):
    with pytest.raises(Crash):
        runs.load_or_train(ToyConfig(name="cut", crash_after=1), device="cpu")
    payload = torch.load(results / "toy" / ".cut.partial" / "checkpoint.pt", weights_only=True)
    assert payload["epoch"] == 1
    (results / "toy" / "evil").mkdir(parents=True)
    with pytest.raises(runs.RunError, match="not a complete run"):
        runs.Run(results / "toy" / "evil")


def test_quick_profile_shrinks_config_and_uses_temporary_results(monkeypatch, tmp_path):
    monkeypatch.delenv("HW3_RESULTS")
    monkeypatch.setenv("HW3_QUICK", "1")
    assert utils.results_root() != utils.project_root() / "results"

    @dataclass
    class Shrinking(ToyConfig):
        def quick(self):
            return dataclasses.replace(self, num_epochs=1)

    monkeypatch.setenv("HW3_RESULTS", str(tmp_path / "q"))
    run = runs.load_or_train(Shrinking(), device="cpu")
    assert len(run.history) == 1


def test_rng_state_round_trip():
    utils.seed_everything(3)
    state = utils.rng_state()
    a = (torch.rand(3), __import__("numpy").random.rand(), __import__("random").random())
    utils.set_rng_state(state)
    b = (torch.rand(3), __import__("numpy").random.rand(), __import__("random").random())
    assert torch.equal(a[0], b[0]) and a[1:] == b[1:]


def test_no_train_turns_a_missing_run_into_an_error(monkeypatch):
    runs.load_or_train(ToyConfig(), device="cpu")
    monkeypatch.setenv("HW3_NO_TRAIN", "1")
    assert runs.load_or_train(ToyConfig(), device="cpu").name == "toy"  # stored: loads
    with pytest.raises(runs.RunError, match="not stored and HW3_NO_TRAIN"):
        runs.load_or_train(ToyConfig(name="other"), device="cpu")
    assert CALLS == ["toy"]
    for off in ("0", "false", "No", "off", ""):  # off, as for HW3_QUICK: the run is trained
        monkeypatch.setenv("HW3_NO_TRAIN", off)
        runs.load_or_train(ToyConfig(name=f"off-{off}"), device="cpu")
    assert CALLS == ["toy", "off-0", "off-false", "off-No", "off-off", "off-"]


@pytest.mark.parametrize(("value", "on"), [(None, False), ("", False), ("0", False), ("false", False),
                                           ("FALSE", False), ("no", False), ("off", False), (" 0 ", False),
                                           ("1", True), ("true", True), ("yes", True), ("on", True)])
def test_one_parser_for_every_boolean_flag(monkeypatch, value, on):
    for name in ("HW3_QUICK", "HW3_NO_TRAIN", "HW3_DEBUG"):
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
        assert utils.env_flag(name) is on
    assert utils.quick() is on and utils.no_train() is on
