"""Stage table: the tabulated shards merged into one table (Parquet)."""

from pathlib import Path

from bloomtune.cli import run_stage


def arguments(parser):
    parser.add_argument("--shards", type=Path, required=True, help="folder of shard journals")
    parser.add_argument("--out", type=Path, required=True, help="the table (Parquet)")


def work(args, settings):
    from bloomtune.replay.shards import merge

    merge([args.shards / f"shard_{k}.jsonl" for k in settings.shards], args.out)


if __name__ == "__main__":
    run_stage("table", __doc__, arguments, work, tensorflow=False)
