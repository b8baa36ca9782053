"""Stage tune: search the shared space with one tuner; write its ledger and best values."""

from pathlib import Path

from bloomtune.cli import run_stage
from bloomtune.model_settings import resolve, with_weights


def arguments(parser):
    parser.add_argument("--tuner", required=True, help="a name under tuners: in params")
    parser.add_argument("--data", type=Path, required=True, help="standardised data folder")
    parser.add_argument(
        "--weights", type=Path, default=Path("data/weights"), help="pretrained weights folder"
    )
    parser.add_argument("--out", type=Path, required=True, help="this tuner's tuning folder")
    parser.add_argument("--state", type=Path, required=True, help="resumable search state folder")


def work(args, settings):
    settings = with_weights(settings, args.weights)
    from bloomtune.tuning.tune import run_tuning

    run_tuning(settings, args.data, args.out, args.state)


if __name__ == "__main__":
    run_stage("tune", __doc__, arguments, work, resolve=resolve)
