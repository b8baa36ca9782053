"""Stage replay: one tuner's real search replayed against the table for every replay seed."""

from pathlib import Path

from bloomtune.cli import run_stage
from bloomtune.model_settings import resolve


def arguments(parser):
    parser.add_argument("--tuner", required=True, help="a name under tuners: in params")
    parser.add_argument("--table", type=Path, required=True, help="the table (Parquet)")
    parser.add_argument("--out", type=Path, required=True, help="this tuner's replay folder")


def work(args, settings):
    from bloomtune.replay.search import replay_tuner

    replay_tuner(settings, args.table, args.out)


if __name__ == "__main__":
    run_stage("replay", __doc__, arguments, work, tensorflow=False, resolve=resolve)
