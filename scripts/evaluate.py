"""Stage evaluate: test loss, accuracy and top-5 accuracy of a retrained model, phase times."""

from pathlib import Path

from bloomtune.cli import run_stage
from bloomtune.files import read_json


def arguments(parser):
    parser.add_argument("--tuner", required=True, help="a name under tuners: in params")
    parser.add_argument("--model", type=Path, required=True, help="the retrained .keras model")
    parser.add_argument("--data", type=Path, required=True, help="standardised data folder")
    parser.add_argument("--best", type=Path, required=True, help="the tuner's best.json")
    parser.add_argument("--best-epoch", type=Path, required=True, help="the best_epoch.json")
    parser.add_argument("--retrained", type=Path, required=True, help="the retraining record")
    parser.add_argument("--out", type=Path, required=True, help="metrics JSON to write")
    parser.add_argument("--details", type=Path, required=True, help="per-class CSV, confusion PNG")


def work(args, settings):
    from bloomtune.evaluation.evaluate import evaluate

    evaluate(
        settings,
        args.model,
        args.data,
        read_json(args.best),
        read_json(args.best_epoch),
        read_json(args.retrained),
        args.out,
        args.details,
    )


if __name__ == "__main__":
    run_stage("evaluate", __doc__, arguments, work)
