from types import SimpleNamespace

from hw3 import card


def run(seed, wall, device="cpu", threads=1):
    return SimpleNamespace(config=SimpleNamespace(seed=seed),
                           provenance={"wall_time_s": wall, "device": device, "torch_threads": threads,
                                       "python": "3.11.7", "torch": "2.14.1+cu130", "numpy": "2.4.6"})


def test_card_is_computed_from_the_runs():
    t = card.table([run(0, 60), run(1, 120), run(2, 180, "cuda")], error_bars="± one standard deviation over seeds",
                   data=card.MNIST, parameters={"G": 1234})
    rows = dict(zip(t["item"], t["value"], strict=True))
    assert rows["runs and seeds"] == "3 stored runs; seeds 0, 1, 2"
    assert rows["wall time per run"] == "60–180 s"
    assert rows["total training time"] == "6 min"
    assert rows["hardware"] == "CPU, 1 thread; CUDA"
    assert rows["software"] == "Python 3.11.7, PyTorch 2.14.1, NumPy 2.4.6"
    assert rows["trainable parameters"] == "G: 1,234"
    assert "CC BY-SA" in rows["data"]
