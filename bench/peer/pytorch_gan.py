"""The benchmark's peer: the two reference GANs of bench/configs/ in PyTorch, the same architecture
and the same step as the trainer's (one D update on a real and a fake batch, one non-saturating G
update, Adam). Prints one JSON line per model with samplesPerSecond.

Usage: python3 bench/peer/pytorch_gan.py [dcgan|mlp2d ...] [--steps N] [--warmup N]
"""
import argparse
import json
import time

import torch
from torch import nn


def dcgan():
    init = lambda m: nn.init.normal_(m.weight, 0.0, 0.02) if isinstance(m, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)) else None
    # ConvTranspose2d(k4, s2, padding 1) doubles the size, as TensorFlow's "same".
    g = nn.Sequential(
        nn.Linear(100, 7 * 7 * 128, bias=False), nn.BatchNorm1d(7 * 7 * 128), nn.LeakyReLU(0.2),
        nn.Unflatten(1, (128, 7, 7)),
        nn.ConvTranspose2d(128, 64, 4, 2, 1, bias=False), nn.BatchNorm2d(64), nn.LeakyReLU(0.2),
        nn.ConvTranspose2d(64, 1, 4, 2, 1), nn.Tanh(),
    )
    d = nn.Sequential(
        nn.Conv2d(1, 64, 4, 2, 1), nn.LeakyReLU(0.2),
        nn.Conv2d(64, 128, 4, 2, 1), nn.LeakyReLU(0.2),
        nn.Flatten(), nn.Linear(128 * 7 * 7, 1),
    )
    g.apply(init)
    d.apply(init)
    return g, d, 100, (1, 28, 28), 64, dict(lr=2e-4, betas=(0.5, 0.999))


def mlp2d():
    layers = [nn.Linear(2, 400), nn.BatchNorm1d(400), nn.ReLU()]
    for _ in range(3):
        layers += [nn.Linear(400, 400), nn.BatchNorm1d(400), nn.ReLU()]
    g = nn.Sequential(*layers, nn.Linear(400, 2))
    d = nn.Sequential(nn.Linear(2, 200), nn.LeakyReLU(0.2), nn.Linear(200, 200), nn.LeakyReLU(0.2), nn.Linear(200, 200), nn.LeakyReLU(0.2), nn.Linear(200, 1))
    return g, d, 2, (2,), 100, dict(lr=1e-4, betas=(0.8, 0.999))


def loaded_blas():
    """The BLAS library the process actually loaded (Debian's torch picks it at run time)."""
    with open("/proc/self/maps") as maps:
        names = {line.split()[-1].rsplit("/", 1)[-1] for line in maps if "blas" in line.lower()}
    return ", ".join(sorted(names)) or "none"


def bench(name, steps, warmup):
    torch.manual_seed(1)
    g, d, latent, shape, batch, adam = {"dcgan": dcgan, "mlp2d": mlp2d}[name]()
    opt_g = torch.optim.Adam(g.parameters(), **adam)
    opt_d = torch.optim.Adam(d.parameters(), **adam)
    softplus = nn.functional.softplus
    real = torch.rand(batch, *shape) * 2 - 1

    def step():
        # D: J(D) = ½ E[softplus(-l(x))] + ½ E[softplus(l(G(z)))], on logits l.
        fake = g(torch.randn(batch, latent)).detach()
        loss_d = 0.5 * (softplus(-d(real)).mean() + softplus(d(fake)).mean())
        opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        opt_d.step()
        # G: non-saturating, J(G) = ½ E[softplus(-l(G(z)))] on fresh noise.
        loss_g = 0.5 * softplus(-d(g(torch.randn(batch, latent)))).mean()
        opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        opt_g.step()
        return loss_d.item() + loss_g.item()

    for _ in range(warmup):
        step()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    seconds = time.perf_counter() - start
    return {
        "model": name,
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "blas": loaded_blas(),
        "steps": steps,
        "seconds": seconds,
        "samplesPerSecond": steps * batch / seconds,
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("models", nargs="*", default=["dcgan", "mlp2d"])
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--warmup", type=int, default=5)
    args = parser.parse_args()
    for model in args.models:
        print(json.dumps(bench(model, args.steps, args.warmup)), flush=True)
