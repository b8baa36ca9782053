"""Stage standardise: decode, RGB, resize and split the raw images into uint8 arrays."""

from pathlib import Path

from bloomtune.cli import run_stage
from bloomtune.data.standardise import standardise


def arguments(parser):
    parser.add_argument("--raw", type=Path, required=True, help="raw data folder")
    parser.add_argument("--out", type=Path, required=True, help="standardised data folder")


def work(args, settings):
    standardise(settings, args.raw, args.out, args.threads)


if __name__ == "__main__":
    run_stage("standardise", __doc__, arguments, work, tensorflow=False, locked=True)
