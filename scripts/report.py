"""Stage report: the comparison table and fairness check as Markdown, HTML and CSV."""

from pathlib import Path

from bloomtune.cli import run_stage


def arguments(parser):
    parser.add_argument("--tuning", type=Path, required=True, help="folder of per-tuner tuning")
    parser.add_argument("--metrics", type=Path, required=True, help="folder of metrics JSONs")
    parser.add_argument("--best-epoch", type=Path, required=True, help="folder of best-epoch runs")
    parser.add_argument("--replay-verdict", type=Path, required=True,
                        help="the replay's verdict (read with replay.tables on)")  # fmt: skip
    parser.add_argument("--out", type=Path, required=True, help="report folder")


def work(args, settings):
    from bloomtune.reporting.live_page import LivePage
    from bloomtune.reporting.report import build_report
    from bloomtune.reporting.sources import LiveRuns

    runs = LiveRuns(args.tuning, args.metrics, args.best_epoch)
    build_report(LivePage(settings, args.replay_verdict), settings, runs, args.out)


if __name__ == "__main__":
    run_stage("report", __doc__, arguments, work, tensorflow=False)
