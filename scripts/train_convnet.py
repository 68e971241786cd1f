"""The notes' ConvNet (Conv2d(1, 20, 5), Conv2d(20, 20, 5), ReLU) with a linear head, on digits.

Two valid 5x5 convolutions take 8 pixels off each side, so the 8x8 digits are grown to 16x16
(each pixel a 2x2 block) and leave 20 maps of 8x8 for the head.

    python scripts/train_convnet.py --epochs 8
"""

import argparse

from funcgrad.train import fit

parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
parser.add_argument("--epochs", type=int, default=8, help="epochs (default 8)")
parser.add_argument("--out", help="save outputs and checkpoints in this folder")
args = parser.parse_args()

result = fit("convnet", "digits", epochs=args.epochs, out=args.out, progress="lines")
print(
    f"{result.model} on {result.dataset.example_shape} images: "
    f"test accuracy {result.final['test_accuracy']:.4f}"
)
