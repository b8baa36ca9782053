"""Stage tabulate: train one shard of the grid's configurations; journal every epoch's metrics."""

from pathlib import Path

from bloomtune.cli import run_stage
from bloomtune.model_settings import resolve, with_weights


def arguments(parser):
    parser.add_argument("--shard", type=int, required=True, help="one of tabulate.shards")
    parser.add_argument("--data", type=Path, required=True, help="standardised data folder")
    parser.add_argument(
        "--weights", type=Path, default=Path("data/weights"), help="pretrained weights folder"
    )
    parser.add_argument("--out", type=Path, required=True, help="the shard's journal (JSON lines)")
    parser.add_argument("--state", type=Path, required=True, help="resumable shard state folder")


def work(args, settings):
    from bloomtune.errors import ParamsError

    if not 1 <= args.shard <= settings.shards:
        raise ParamsError(f"tabulate.shards: no shard {args.shard} of {settings.shards}")
    from bloomtune.replay.tabulate import tabulate_shard

    tabulate_shard(with_weights(settings, args.weights), args.data, args.state, args.out,
                   args.shard)  # fmt: skip


if __name__ == "__main__":
    run_stage("tabulate", __doc__, arguments, work, resolve=resolve)
