"""The params a data folder was made with, written beside its contents and checked by the
stages that read it.

Snakemake and DVC each keep their own record of which params made an output; when one of them
reuses a folder the other made (or one run's metadata is missing), neither notices that it was
made with other params, and a search would train on the old data without a word. So the data
stages write `made_with.json` into the folder they make (download: its params; standardise: the
download params of its raw folder too), and every stage that reads a folder checks it against
the params it runs with, refusing in one line that names the first key that differs. A folder
without the file (made by hand, or before bloomtune wrote it) is read as it is."""

from __future__ import annotations

import json
from pathlib import Path

from bloomtune.errors import DataError
from bloomtune.params import stage_params
from bloomtune.files import write_json

FILE = "made_with.json"
# The data stages in order; a folder a stage makes is made with its own and its inputs' params.
CHAIN = ("download", "standardise")


def expected(params: dict, upto: str) -> dict:
    """The params sections, by stage, a folder the stage `upto` makes is made with."""
    stages = CHAIN[: CHAIN.index(upto) + 1]
    return {stage: stage_params(params, stage) for stage in stages}


def record(folder: Path, params: dict, stage: str) -> None:
    write_json(Path(folder) / FILE, expected(params, stage))


def _flat(value, prefix: str = "") -> dict:
    if isinstance(value, dict):
        out = {}
        for key, inner in value.items():
            out.update(_flat(inner, f"{prefix}.{key}" if prefix else str(key)))
        return out
    return {prefix: value}


def first_difference(made: dict, wanted: dict) -> tuple[str, object, object] | None:
    """The first dotted key whose value differs (missing reads as None), or None."""
    old, new = _flat(made), _flat(wanted)
    for key in sorted(set(old) | set(new)):
        if old.get(key) != new.get(key):
            return key, old.get(key), new.get(key)
    return None


def check(folder: Path | None, params: dict, upto: str) -> None:
    """Refuse a folder made by the data stages with params other than these (one line)."""
    if folder is None or not (Path(folder) / FILE).is_file():
        return
    path = Path(folder) / FILE
    try:
        made = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise DataError(f"{path}: unreadable ({exc}); rerun the {upto} stage") from None
    differs = first_difference(made, expected(params, upto))
    if differs is None:
        return
    key, old, new = differs
    stage, _, name = key.partition(".")
    redo = stage if stage in CHAIN else upto
    raise DataError(
        f"{folder} was made with {name or key}: {json.dumps(old)} but params say "
        f"{json.dumps(new)}; rerun {redo} and what follows it (snakemake --forcerun {redo}, or "
        f"python -m bloomtune.repro --force --downstream {redo})"
    )
