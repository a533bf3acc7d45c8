#!/usr/bin/env python3
"""Runs the PyTorch model itself (a state_dict saved by `train.py --save-state`) on face crops.

    /usr/bin/python3 training/resnet50/predict.py --bundle models/resnet50 --state model.pt CROP.png...

Prints one JSON object: {"actors": [...], "results": [{"file", "probabilities": [...]}]}. The input
contract (size, colour order, mean, std) is read from the bundle's manifest, so this checks the
manifest as much as the graph: test/resnet50.test.ts compares these numbers with the daemon's.
"""
import argparse
import json
import os
import sys

import torch

from model import ActorClassifier, load_pixels, preprocess


def main(argv):
    p = argparse.ArgumentParser(description="Probabilities of the PyTorch ResNet50 actor model for face crops.")
    p.add_argument("--bundle", required=True, help="the bundle folder train.py wrote (its manifest.json)")
    p.add_argument("--state", required=True, help="the state_dict train.py saved with --save-state")
    p.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    p.add_argument("crops", nargs="+", help="aligned face chips (PNG files written by `actor-recognizer crops`)")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    try:
        with open(os.path.join(args.bundle, "manifest.json"), encoding="utf-8") as f:
            manifest = json.load(f)
        contract = manifest["input"]
        model = ActorClassifier(len(manifest["actors"]), dropout=0.0)
        model.load_state_dict(torch.load(args.state, map_location="cpu", weights_only=True))
    except (OSError, ValueError, KeyError, RuntimeError) as err:
        print(f"predict.py: cannot load the model: {err}", file=sys.stderr)
        sys.exit(1)
    model.eval()
    batch = torch.stack([preprocess(load_pixels(path), contract) for path in args.crops])
    with torch.no_grad():
        probabilities = model(batch)
    results = [{"file": path, "probabilities": row.tolist()} for path, row in zip(args.crops, probabilities)]
    print(json.dumps({"actors": manifest["actors"], "results": results}))


if __name__ == "__main__":
    main(sys.argv[1:])
