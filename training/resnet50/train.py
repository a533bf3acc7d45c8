#!/usr/bin/env python3
"""Trains the original ResNet50 transfer-learning model on a crops folder and writes an actor-recognizer bundle.

    actor-recognizer crops --dataset photos/ --out crops/
    /usr/bin/python3 training/resnet50/train.py --crops crops/ --out models/resnet50 [--weights resnet50.pth]

The crops are the daemon's own aligned face chips (written by `actor-recognizer crops`), so the model
sees in training exactly what the daemon feeds it. See training/README.md.
"""
import argparse
import hashlib
import io
import json
import os
import random
import sys
import time
from datetime import datetime, timezone

import numpy as np
import torch
import torchvision
from torch import nn

from model import INPUT_NAME, OUTPUT_NAME, SIZE, ActorClassifier, input_contract, load_pixels, preprocess

BUNDLE_FORMAT = "actor-recognizer/bundle@1"
CROPS_FORMAT = "actor-recognizer/crops@1"
OPSET = 13


class Fail(Exception):
    """A problem with the input, reported on one line."""


def arguments(argv):
    p = argparse.ArgumentParser(description="Train ResNet50 + dense head on aligned face crops; export an ONNX bundle.")
    p.add_argument("--crops", required=True, help="folder written by `actor-recognizer crops` (one folder per actor, crops.json)")
    p.add_argument("--out", required=True, help="bundle folder to write (manifest.json, model.onnx, metrics.json)")
    p.add_argument("--weights", help="a torchvision resnet50 state_dict file (ImageNet weights); random initialisation without it")
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--lr", type=float, default=1e-3, help="Adam learning rate of the head")
    p.add_argument("--dropout", type=float, default=0.5)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--val-fraction", type=float, default=0.2, help="of each actor's crops held out for validation (actors with 3 or more)")
    p.add_argument("--size", type=int, default=SIZE, help="side the chips are resized to (224: what ImageNet weights saw)")
    p.add_argument("--threshold", type=float, default=0.5, help="probability under which a face is unknown (every actor)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    p.add_argument("--save-state", help="also save the PyTorch state_dict here (to compare with the daemon, or to fine-tune)")
    p.add_argument("--json", action="store_true", help="last line of stdout: one JSON object")
    args = p.parse_args(argv)
    if args.epochs < 1 or args.batch < 1 or args.lr <= 0 or not 0 <= args.dropout < 1 or not 0 <= args.val_fraction < 1:
        p.error("--epochs and --batch must be at least 1, --lr above 0, --dropout and --val-fraction in [0, 1)")
    if not 32 <= args.size <= 1024 or not 0 < args.threshold <= 1:
        p.error("--size must be 32..1024 and --threshold in (0, 1]")
    return args


def read_crops(folder):
    """crops.json's actors in its order, and (file, label) samples."""
    try:
        with open(os.path.join(folder, "crops.json"), encoding="utf-8") as f:
            index = json.load(f)
    except (OSError, ValueError) as err:
        raise Fail(f"{folder} has no readable crops.json: write it with `actor-recognizer crops` ({err})")
    if index.get("format") != CROPS_FORMAT or not isinstance(index.get("actors"), dict):
        raise Fail(f"{folder}/crops.json is not a crops index ({CROPS_FORMAT})")
    actors = [a for a, files in index["actors"].items() if files]
    if len(actors) < 2:
        raise Fail(f"{folder} holds crops of {len(actors)} actor(s); a classifier needs at least 2")
    samples = [(os.path.join(folder, entry["file"]), k) for k, actor in enumerate(actors) for entry in index["actors"][actor]]
    return index, actors, samples


def split(samples, actors, fraction, seed):
    """Per actor, seeded: `fraction` of each actor's crops (at least one, when it has 3) to validation."""
    train, val = [], []
    for k in range(len(actors)):
        mine = [s for s in samples if s[1] == k]
        random.Random(seed * 1000 + k).shuffle(mine)
        held = max(1, round(len(mine) * fraction)) if len(mine) >= 3 and fraction > 0 else 0
        val += mine[:held]
        train += mine[held:]
    return train, val


def features(model, samples, contract, batch):
    """The frozen backbone's 2048-d features of every sample, computed once: no gradient ever flows there."""
    out = []
    for i in range(0, len(samples), batch):
        images = torch.stack([preprocess(load_pixels(path), contract) for path, _ in samples[i : i + batch]])
        out.append(model.features(images))
    return torch.cat(out) if out else torch.zeros(0, 2048)


def evaluate(head, x, y, loss_fn):
    if len(y) == 0:
        return None, None
    head.eval()
    with torch.no_grad():
        logits = head(x)
        return loss_fn(logits, y).item(), (logits.argmax(1) == y).float().mean().item()


def fit(model, train_x, train_y, val_x, val_y, args):
    """Trains the head on the cached features; one line per epoch, as Keras printed them for the original.

    The features are standardised while training (a random backbone gives features around 17 whose
    differences are a tenth of that, which made Adam's first steps overshoot and the softmax saturate),
    and the standardisation is then folded into the first dense layer, so the exported model is the
    plain ResNet50 -> Dense -> ReLU -> Dropout -> Dense -> softmax."""
    head = model.head
    mean = train_x.mean(0)
    std = train_x.std(0, unbiased=False).clamp_min(1e-3)
    train_x, val_x = (train_x - mean) / std, (val_x - mean) / std
    optimiser = torch.optim.Adam(head.parameters(), lr=args.lr)
    loss_fn = nn.CrossEntropyLoss()
    order = torch.Generator().manual_seed(args.seed)
    history = []
    for epoch in range(1, args.epochs + 1):
        head.train()
        total, right, seen = 0.0, 0, 0
        for batch in torch.randperm(len(train_y), generator=order).split(args.batch):
            logits = head(train_x[batch])
            loss = loss_fn(logits, train_y[batch])
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            total += loss.item() * len(batch)
            right += (logits.argmax(1) == train_y[batch]).sum().item()
            seen += len(batch)
        val_loss, val_acc = evaluate(head, val_x, val_y, loss_fn)
        row = {"epoch": epoch, "loss": total / seen, "accuracy": right / seen, "valLoss": val_loss, "valAccuracy": val_acc}
        history.append(row)
        shown = f" - val_loss {val_loss:.4f} - val_accuracy {val_acc:.4f}" if val_loss is not None else ""
        print(f"epoch {epoch}/{args.epochs} - loss {row['loss']:.4f} - accuracy {row['accuracy']:.4f}{shown}", flush=True)
    model.eval()
    fold_standardisation(head[0], mean, std)
    return history


def fold_standardisation(dense, mean, std):
    """W((x - m) / s) + b == (W / s) x + (b - W (m / s)): the same layer, taking raw features."""
    with torch.no_grad():
        dense.bias -= dense.weight @ (mean / std)
        dense.weight /= std


def per_actor(model, val_x, val_y, actors):
    with torch.no_grad():
        predicted = model.head(val_x).argmax(1) if len(val_y) else torch.zeros(0, dtype=torch.long)
    out = {}
    for k, actor in enumerate(actors):
        mine = val_y == k
        n = int(mine.sum())
        out[actor] = {"val": n, "valAccuracy": float((predicted[mine] == k).float().mean()) if n else None}
    return out


def export_onnx(model, size):
    """The whole model (backbone, head, softmax) as ONNX bytes, any batch size."""
    buffer = io.BytesIO()
    dummy = torch.zeros(1, 3, size, size)
    torch.onnx.export(
        model, dummy, buffer, input_names=[INPUT_NAME], output_names=[OUTPUT_NAME], opset_version=OPSET,
        dynamic_axes={INPUT_NAME: {0: "batch"}, OUTPUT_NAME: {0: "batch"}}, do_constant_folding=True,
    )
    return buffer.getvalue()


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def write_bundle(out, body, files):
    """Writes the files, then manifest.json with their sha256 and size, last (src/recognize/bundle-writer.ts)."""
    os.makedirs(out, exist_ok=True)
    entries = {}
    for name, data in files.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)
        entries[name] = {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
    manifest = {"format": BUNDLE_FORMAT, **body, "files": entries}
    tmp = os.path.join(out, f".manifest.json.{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")
    os.replace(tmp, os.path.join(out, "manifest.json"))
    return manifest


def main(argv):
    args = arguments(argv)
    torch.set_num_threads(args.threads)
    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    index, actors, samples = read_crops(args.crops)
    contract = input_contract(args.size, index.get("crop", "dlib-chip-150"))
    train, val = split(samples, actors, args.val_fraction, args.seed)
    started = time.time()
    model = ActorClassifier(len(actors), args.dropout, args.weights)
    print(f"{len(actors)} actors, {len(train)} crops to train, {len(val)} to validate; backbone {'ImageNet weights' if args.weights else 'random'}", flush=True)
    train_x, val_x = features(model, train, contract, args.batch), features(model, val, contract, args.batch)
    train_y = torch.tensor([k for _, k in train], dtype=torch.long)
    val_y = torch.tensor([k for _, k in val], dtype=torch.long)
    history = fit(model, train_x, train_y, val_x, val_y, args)
    graph = export_onnx(model, args.size)
    if args.save_state:
        torch.save(model.state_dict(), args.save_state)

    digest = hashlib.sha256()
    for path, k in samples:
        digest.update(f"{actors[k]}\0{sha256_file(path)}\n".encode())
    hyper = {"epochs": args.epochs, "lr": args.lr, "dropout": args.dropout, "batch": args.batch, "valFraction": args.val_fraction, "size": args.size, "optimizer": "adam", "seed": args.seed}
    digest.update(json.dumps(hyper, sort_keys=True).encode())
    now = datetime.now(timezone.utc)
    version = f"{now.strftime('%Y%m%d-%H%M%S')}-{digest.hexdigest()[:8]}"
    last = history[-1]
    metrics = {
        "trainImages": len(train), "valImages": len(val), "threshold": args.threshold,
        "accuracy": last["accuracy"], "loss": last["loss"], "valAccuracy": last["valAccuracy"], "valLoss": last["valLoss"],
        "history": history, "perActor": per_actor(model, val_x, val_y, actors), "seconds": round(time.time() - started, 1),
    }
    weights = {"source": "file", "sha256": sha256_file(args.weights)} if args.weights else {"source": "random"}
    body = {
        "version": version,
        "kind": "image-classifier",
        "createdAt": now.isoformat().replace("+00:00", "Z"),
        "actors": actors,
        "input": contract,
        "head": {"type": "resnet50-dense-softmax", "graph": "model.onnx", "output": OUTPUT_NAME, "score": "probability"},
        "thresholds": {"default": args.threshold, "perActor": {}},
        "metrics": {k: v for k, v in metrics.items() if k != "history"},
        "training": {
            "recipe": "training/resnet50", "backbone": "resnet50", "frozen": True, "weights": weights, "head": "dense(1024, relu), dropout, dense(N), softmax",
            "hyperparameters": hyper, "crops": {"extractor": index.get("extractor"), "datasets": index.get("datasets"), "images": len(samples)},
            "onnxOpset": OPSET, "torch": torch.__version__, "torchvision": torchvision.__version__,
        },
    }
    write_bundle(args.out, body, {"model.onnx": graph, "metrics.json": (json.dumps(metrics, indent=2) + "\n").encode()})
    summary = {"version": version, "actors": actors, "images": len(samples), "out": args.out, "metrics": body["metrics"]}
    print(json.dumps(summary) if args.json else f"model {version} written to {args.out}: {len(actors)} actors from {len(samples)} crops")


if __name__ == "__main__":
    try:
        main(sys.argv[1:])
    except Fail as err:
        print(f"train.py: {err}", file=sys.stderr)
        sys.exit(1)
