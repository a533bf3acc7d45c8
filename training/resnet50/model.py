"""The original transfer-learning model over the daemon's aligned face chips: ResNet50 + dense head.

Shared by train.py (which fits and exports it) and predict.py (which runs the PyTorch module itself),
so that both read images and preprocess them with the very same code.
"""
import numpy as np
import torch
import torchvision
from PIL import Image
from torch import nn
from torch.nn import functional as F

# ImageNet statistics, on values scaled to 0..1, in RGB order: what torchvision's ResNet50 expects.
MEAN = [0.485, 0.456, 0.406]
STD = [0.229, 0.224, 0.225]
SIZE = 224
INPUT_NAME = "image"
OUTPUT_NAME = "probabilities"
FEATURES = 2048


def input_contract(size, crop):
    """The manifest's `input`: how the daemon must feed the graph (src/recognize/manifest.ts, ImageInput)."""
    return {
        "type": "image",
        "name": INPUT_NAME,
        "width": size,
        "height": size,
        "layout": "NCHW",
        "colour": "RGB",
        "mean": MEAN,
        "std": STD,
        "crop": crop,
    }


def load_pixels(path):
    """An image file as uint8 RGB, height x width x 3 (greyscale and alpha become RGB)."""
    with Image.open(path) as image:
        return np.array(image.convert("RGB"), dtype=np.uint8)


def preprocess(pixels, contract):
    """uint8 RGB pixels -> float tensor [3, H, W], exactly as the daemon does it
    (src/recognize/image-classifier.ts): bilinear resize with half-pixel centres and no antialiasing
    on the raw 0..255 values, then (value / 255 - mean) / std per channel, channels in `colour` order."""
    if contract["layout"] != "NCHW":
        raise ValueError("this model takes NCHW input")
    x = torch.from_numpy(np.array(pixels, dtype=np.uint8, copy=True)).permute(2, 0, 1).unsqueeze(0).float()
    if contract["colour"] == "BGR":
        x = x.flip(1)
    size = (contract["height"], contract["width"])
    if tuple(x.shape[-2:]) != size:
        x = F.interpolate(x, size=size, mode="bilinear", align_corners=False, antialias=False)
    mean = torch.tensor(contract["mean"], dtype=torch.float32).view(1, 3, 1, 1)
    std = torch.tensor(contract["std"], dtype=torch.float32).view(1, 3, 1, 1)
    return ((x / 255.0 - mean) / std)[0]


class ActorClassifier(nn.Module):
    """ResNet50 (frozen, always in eval mode) -> Dense(1024, ReLU) -> Dropout -> Dense(N) -> softmax."""

    def __init__(self, actors, dropout=0.5, weights=None):
        super().__init__()
        backbone = torchvision.models.resnet50(weights=None)
        if weights is not None:
            # A torchvision resnet50 state_dict (the ImageNet weights), checked key by key.
            backbone.load_state_dict(torch.load(weights, map_location="cpu", weights_only=True))
        backbone.fc = nn.Identity()
        backbone.requires_grad_(False)
        self.backbone = backbone.eval()
        self.head = nn.Sequential(nn.Linear(FEATURES, 1024), nn.ReLU(), nn.Dropout(dropout), nn.Linear(1024, actors))

    def train(self, mode=True):
        # Frozen means the batch-norm statistics too: the backbone never leaves eval mode.
        super().train(mode)
        self.backbone.eval()
        return self

    def features(self, batch):
        with torch.no_grad():
            return self.backbone(batch)

    def forward(self, batch):
        return torch.softmax(self.head(self.backbone(batch)), dim=1)
