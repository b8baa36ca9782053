"""Stage download: put the raw data set (data.source) into the output folder."""

from pathlib import Path

from bloomtune.cli import run_stage
from bloomtune.data.download import download


def arguments(parser):
    parser.add_argument("--out", type=Path, required=True, help="raw data folder")


def work(args, settings):
    download(settings, args.out)


if __name__ == "__main__":
    run_stage("download", __doc__, arguments, work, tensorflow=False, locked=True)
