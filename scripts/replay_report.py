"""Stage replay_report: the comparison over the replayed repetitions, with regret, landscape and
the live-vs-replay check."""

from pathlib import Path

from bloomtune.cli import run_stage


def arguments(parser):
    parser.add_argument("--replay", type=Path, required=True, help="folder of per-tuner replays")
    parser.add_argument("--table", type=Path, required=True, help="the table (Parquet)")
    parser.add_argument("--tuning", type=Path, required=True, help="the live tuning folder")
    parser.add_argument("--out", type=Path, required=True, help="the replay report's folder")
    parser.add_argument("--verdict", type=Path, required=True,
                        help="the verdict the main report quotes (JSON)")  # fmt: skip


def work(args, settings):
    from bloomtune.reporting.replay_page import ReplayPage
    from bloomtune.reporting.report import build_report
    from bloomtune.reporting.sources import ReplayedRuns

    runs = ReplayedRuns(args.replay, args.table, args.tuning, settings.live_seeds, settings.grid,
                        settings.model)  # fmt: skip
    build_report(ReplayPage(settings, args.verdict), settings.report, runs, args.out)


if __name__ == "__main__":
    run_stage("replay_report", __doc__, arguments, work, tensorflow=False)
