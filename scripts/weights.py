"""Stage weights: fetch and verify the backbone's ImageNet weights (if the model uses them)."""

from pathlib import Path

from bloomtune.cli import run_stage
from bloomtune.model_settings import resolve


def arguments(parser):
    parser.add_argument("--out", type=Path, required=True, help="weights folder (data/weights)")
    parser.add_argument(
        "--downloads", type=Path, default=Path("data/downloads"), help="verified download cache"
    )


def work(args, settings):
    from bloomtune.data.weights import fetch_weights

    fetch_weights(settings.model, args.out, args.downloads)


if __name__ == "__main__":
    run_stage("weights", __doc__, arguments, work, tensorflow=False, locked=True, resolve=resolve)
