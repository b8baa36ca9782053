"""Stage standardise: decode, RGB, resize and split the raw images into uint8 arrays."""

from pathlib import Path

from bloomtune.cli import run_stage
from bloomtune.standardise import standardise


def arguments(parser):
    parser.add_argument("--raw", type=Path, required=True, help="raw data folder")
    parser.add_argument("--out", type=Path, required=True, help="standardised data folder")


def work(args, sections):
    standardise(
        args.raw,
        args.out,
        sections["standardise"],
        args.threads,
        on_bad_image=sections["data.on_bad_image"],
    )


if __name__ == "__main__":
    run_stage("standardise", __doc__, arguments, work, tensorflow=False)
