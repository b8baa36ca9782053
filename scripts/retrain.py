"""Stage retrain: train the best hyperparameters for the best epoch count on all training data."""

from pathlib import Path

from bloomtune.cli import run_stage
from bloomtune.files import read_json
from bloomtune.model_settings import resolve, with_weights


def arguments(parser):
    parser.add_argument("--tuner", required=True, help="a name under tuners: in params")
    parser.add_argument(
        "--best-epoch", type=Path, required=True, help="the tuner's best_epoch.json"
    )
    parser.add_argument("--data", type=Path, required=True, help="standardised data folder")
    parser.add_argument(
        "--weights", type=Path, default=Path("data/weights"), help="pretrained weights folder"
    )
    parser.add_argument("--model", type=Path, required=True, help="where to save the .keras model")
    parser.add_argument("--out", type=Path, required=True, help="retraining record (JSON)")


def work(args, settings):
    settings = with_weights(settings, args.weights)
    from bloomtune.training.retrain import retrain

    retrain(settings, read_json(args.best_epoch), args.data, args.model, args.out)


if __name__ == "__main__":
    run_stage("retrain", __doc__, arguments, work, resolve=resolve)
