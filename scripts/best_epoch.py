"""Stage best_epoch: train the best hyperparameters with early stopping; pick the best epoch."""

from pathlib import Path

from bloomtune.cli import run_stage
from bloomtune.files import read_json
from bloomtune.model_settings import resolve, with_weights


def arguments(parser):
    parser.add_argument("--tuner", required=True, help="a name under tuners: in params")
    parser.add_argument("--best", type=Path, required=True, help="the tuner's best.json")
    parser.add_argument("--data", type=Path, required=True, help="standardised data folder")
    parser.add_argument(
        "--weights", type=Path, default=Path("data/weights"), help="pretrained weights folder"
    )
    parser.add_argument("--out", type=Path, required=True, help="this tuner's best-epoch folder")


def work(args, settings):
    settings = with_weights(settings, args.weights)
    from bloomtune.training.best_epoch import find_best_epoch

    find_best_epoch(settings, read_json(args.best), args.data, args.out)


if __name__ == "__main__":
    run_stage("best_epoch", __doc__, arguments, work, resolve=resolve)
