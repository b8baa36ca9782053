"""dvc.yaml, generated from the stage table (bloomtune/stages.py) and each stage's code deps.

`python -m bloomtune.dvc_yaml` prints it, `--write` writes it (atomically), `--check` exits 1
when the committed file differs from what the table gives (tests/test_dag.py does the same)."""

from __future__ import annotations

import sys
import textwrap

from bloomtune.codedeps import ROOT, stage_code
from bloomtune.stages import STAGES, Stage, dvc_cmd, dvc_path, input_path

WIDTH = 99
HEADER = """\
# Generated from bloomtune/stages.py by `python -m bloomtune.dvc_yaml --write`: edit the table
# there, not this file (a test fails when this file is stale). The same stages, commands, deps,
# outs and params as the Snakefile's rules (tests/test_dag.py). The per-run stages are a matrix
# of tuner x repetition seed (`tune@kt_random-1`); each stage declares the params sections its
# script reads (bloomtune/params.py STAGE_SECTIONS) and, as code deps, its script and every
# bloomtune module it imports (bloomtune/codedeps.py).
"""
# A matrix wildcard's values in params.yaml.
MATRIX = {"tuner": "${tuners}", "seed": "${seeds}", "shard": "${tabulate.shards}"}


def _comment(text: str, indent: str) -> list[str]:
    return textwrap.wrap(text, WIDTH, initial_indent=f"{indent}# ",
                         subsequent_indent=f"{indent}# ")  # fmt: skip


def _cmd(stage: Stage) -> list[str]:
    cmd = dvc_cmd(stage)
    if len(f"    cmd: {cmd}") <= WIDTH:
        return [f"    cmd: {cmd}"]
    units, words = [], cmd.split()
    for word in words:  # a flag stays on the line of its value
        if units and units[-1].startswith("--") and " " not in units[-1]:
            units[-1] += f" {word}"
        else:
            units.append(word)
    lines = [""]
    for unit in units:
        if lines[-1] and len(f"      {lines[-1]} {unit}") > WIDTH:
            lines.append("")
        lines[-1] = f"{lines[-1]} {unit}".strip()
    return ["    cmd: >-", *(f"      {line}" for line in lines)]


def _out(path: str, cache: bool, plot_x: str | None = None) -> list[str]:
    if cache and plot_x is None:
        return [f"      - {path}"]
    lines = [f"      - {path}:"] + ([] if cache else ["          cache: false"])
    return lines + ([f"          x: {plot_x}"] if plot_x else [])


def stage_lines(stage: Stage) -> list[str]:
    lines = _comment(stage.note, "  ") if stage.note else []
    lines.append(f"  {stage.name}:")
    over = (["table"] if stage.gated else []) + list(stage.over)
    if over:
        lines.append("    matrix:")
        lines += [f"      {w}: {MATRIX.get(w, '${replay.tables}')}" for w in over]
    lines += _cmd(stage)
    lines.append("    deps:")
    deps = stage_code(stage.name) + [dvc_path(input_path(v)) for v in stage.inputs.values()]
    lines += [f"      - {dep}" for dep in deps]
    if stage.sections:
        lines.append("    params:")
        lines += [f"      - {dvc_path(s)}" for s in stage.sections]
    for kind in ("outs", "metrics", "plots"):
        outs = [o for o in stage.outputs.values() if o.kind == kind]
        if outs:
            lines.append(f"    {kind}:")
            for out in outs:
                lines += _out(dvc_path(out.path), out.cache, out.plot_x)
    return lines


def render() -> str:
    """The whole of dvc.yaml, as the table gives it."""
    lines = HEADER.splitlines() + ["stages:"]
    for i, stage in enumerate(STAGES.values()):
        lines += ([""] if i else []) + stage_lines(stage)
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    import argparse

    from bloomtune.files import atomic_path

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    what = parser.add_mutually_exclusive_group()
    what.add_argument("--write", action="store_true", help="write dvc.yaml")
    what.add_argument("--check", action="store_true",
                      help="exit 1 when the committed dvc.yaml is stale")  # fmt: skip
    args = parser.parse_args(argv)
    path, text = ROOT / "dvc.yaml", render()
    if args.write:
        with atomic_path(path) as tmp:
            tmp.write_text(text)
        print(f"{path.name}: written from bloomtune/stages.py")
    elif args.check:
        if path.read_text() != text:
            print(f"{path.name}: stale; `python -m bloomtune.dvc_yaml --write` regenerates it")
            return 1
        print(f"{path.name}: up to date")
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
