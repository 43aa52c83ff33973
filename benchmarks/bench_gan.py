"""Speed of the spec GAN's training step: iterations per second and the 50-epoch wall time.

    python benchmarks/bench_gan.py                 # time 300 iterations, project the 50-epoch run
    python benchmarks/bench_gan.py --epochs 50     # measure the full run (no judge evaluation)
    python benchmarks/bench_gan.py --threads 1 --device cuda --arch dcgan --hidden-size 64

Prints figures only; nothing is asserted. Uses random data of MNIST's size unless --mnist is given, so it
runs without the data set.
"""

from __future__ import annotations

import argparse
import math
import time

import torch

from hw3 import utils
from hw3.gan import models, train


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--iterations", type=int, default=300, help="iterations to time (after 20 warm-up ones)")
    p.add_argument("--epochs", type=int, default=0, help="instead, time this many full epochs")
    p.add_argument("--threads", type=int, default=None, help="torch threads (default: as training sets them)")
    p.add_argument("--device", default="cpu")
    p.add_argument("--arch", default="mlp")
    p.add_argument("--hidden-size", type=int, default=128)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--mnist", action="store_true", help="train on real MNIST (needs the data)")
    args = p.parse_args()
    device = utils.get_device(args.device)
    config = models.GANConfig(arch=args.arch, hidden_size=args.hidden_size, batch_size=args.batch_size, judge="")
    threads = args.threads or train.training_threads(config, device)  # default: what training uses
    if threads:
        torch.set_num_threads(threads)
    n_full = 60_000
    iters_per_epoch = math.ceil(n_full / config.batch_size)
    utils.seed_everything(0)
    if args.mnist:
        X = train.training_images(config, device)
    else:
        X = torch.rand(n_full, 1, 28, 28, device=device) * 2 - 1
    G, D = (m.to(device) for m in models.build_models(config))
    opt_g, opt_d = train.make_optimizer(G, config, device), train.make_optimizer(D, config, device)

    def sync():
        if device.type == "cuda":
            torch.cuda.synchronize()

    train.train_epoch(G, D, opt_g, opt_d, X[: 20 * config.batch_size], config)  # warm-up
    sync()
    if args.epochs:
        t0 = time.perf_counter()
        for e in range(args.epochs):
            train.train_epoch(G, D, opt_g, opt_d, X, config, e + 1)
        sync()
        wall = time.perf_counter() - t0
        its = args.epochs * iters_per_epoch / wall
        print(f"measured {args.epochs} epochs: {wall:.1f} s ({its:.0f} it/s)")
    else:
        t0 = time.perf_counter()
        train.train_epoch(G, D, opt_g, opt_d, X[: args.iterations * config.batch_size], config)
        sync()
        wall = time.perf_counter() - t0
        its = args.iterations / wall
    projected = 50 * iters_per_epoch / its
    print(f"device={device} threads={torch.get_num_threads()} arch={config.arch} hidden={config.hidden_size} "
          f"batch={config.batch_size}")
    print(f"iterations/s: {its:.0f}   iterations/epoch: {iters_per_epoch}   "
          f"50-epoch wall time: {projected / 60:.1f} min ({projected:.0f} s){' measured' if args.epochs == 50 else ' projected'}")


if __name__ == "__main__":
    main()
