"""An independent judge of generated digits: a small PyTorch CNN trained on the built-in 10,000
digits (9,000 to train, 1,000 held out), then asked about `gan-workbench sample --out digits.json`
(flat 784-pixel rows in [-1, 1]). Prints the held-out accuracy, the class histogram of the samples,
its KL divergence from uniform and the share of samples called with confidence > 0.9.

Usage: python3 bench/peer/mnist_judge.py digits.json [more.json ...]
"""
import gzip
import json
import math
import os
import sys

import torch
from torch import nn

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def idx(path):
    data = gzip.open(path).read()
    rank = data[3]
    dims = [int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(rank)]
    return torch.frombuffer(bytearray(data[4 + 4 * rank :]), dtype=torch.uint8).reshape(dims)


def judge():
    torch.manual_seed(0)
    images = idx(os.path.join(ROOT, "dist/data/mnist-10k-images-idx3-ubyte.gz")).float() / 127.5 - 1
    labels = idx(os.path.join(ROOT, "dist/data/mnist-10k-labels-idx1-ubyte.gz")).long()
    order = torch.randperm(len(labels))
    images, labels = images[order].unsqueeze(1), labels[order]
    train, test = slice(0, 9000), slice(9000, None)
    net = nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Dropout(0.3), nn.Linear(64 * 49, 128), nn.ReLU(), nn.Linear(128, 10),
    )
    opt = torch.optim.Adam(net.parameters(), 1e-3)
    for epoch in range(6):
        net.train()
        perm = torch.randperm(9000)
        for i in range(0, 9000, 64):
            batch = perm[i : i + 64]
            x = images[train][batch]
            # Small shifts so the judge does not rely on perfectly centred digits.
            x = torch.roll(x, shifts=(int(torch.randint(-2, 3, ())), int(torch.randint(-2, 3, ()))), dims=(2, 3))
            loss = nn.functional.cross_entropy(net(x), labels[train][batch])
            opt.zero_grad()
            loss.backward()
            opt.step()
    net.eval()
    with torch.no_grad():
        accuracy = (net(images[test]).argmax(1) == labels[test]).float().mean().item()
    return net, accuracy


def main():
    net, accuracy = judge()
    print(f"judge: held-out accuracy {accuracy:.3f} on 1,000 real digits")
    for path in sys.argv[1:]:
        rows = torch.tensor(json.load(open(path)), dtype=torch.float32).reshape(-1, 1, 28, 28)
        with torch.no_grad():
            p = torch.softmax(net(rows), 1)
        conf, cls = p.max(1)
        hist = torch.bincount(cls, minlength=10).float() / len(cls)
        kl = sum(h * math.log(h * 10) for h in hist.tolist() if h > 0)
        print(json.dumps({
            "file": path,
            "samples": len(cls),
            "classes": int((hist > 0).sum()),
            "histogram": [round(h, 3) for h in hist.tolist()],
            "klFromUniform": round(kl, 4),
            "confident": round((conf > 0.9).float().mean().item(), 3),
        }))


if __name__ == "__main__":
    main()
