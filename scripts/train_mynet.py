"""The notes' mynet(d0, 60, 40, 10) trained on the bundled 8x8 digits.

python scripts/train_mynet.py --epochs 15 --out runs/mynet-script
"""

import argparse

from funcgrad.train import fit

parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
parser.add_argument("--epochs", type=int, default=15, help="epochs (default 15)")
parser.add_argument("--batch-size", type=int, default=32, help="examples per step (default 32)")
parser.add_argument(
    "--scan",
    action=argparse.BooleanOptionalAction,
    help="fuse each epoch with lax.scan, or not (default: fit chooses, and fuses mynet's epochs)",
)
parser.add_argument("--out", help="save outputs and checkpoints in this folder")
args = parser.parse_args()

# MyNet's input size comes from the data: 8 * 8 = 64 pixels in, 10 classes out.
result = fit(
    "mynet",
    "digits",
    epochs=args.epochs,
    batch_size=args.batch_size,
    optimizer="adam",
    lr=3e-3,
    scan="auto" if args.scan is None else args.scan,
    out=args.out,
    progress="lines",
)
print(f"{result.model}: test accuracy {result.final['test_accuracy']:.4f}")
