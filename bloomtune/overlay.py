"""Merge a config overlay into params.yaml (keeping its comments): how DVC runs an overlay.

Snakemake takes overlays on its command line (--configfile config/demo.yaml); DVC reads only
params.yaml, so `python -m bloomtune.overlay config/demo.yaml` writes the merged values there
(`git checkout params.yaml` undoes it)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ruamel.yaml import YAML

from bloomtune.checks import check_params
from bloomtune.errors import ParamsError
from bloomtune.params import read_params, read_yaml


def _merge_into(target, overlay: dict, whole=lambda key, value: False) -> None:
    """params.merge_params on the commented document: `whole(key, value)` says which values
    replace what was there instead of merging into it."""
    for key, value in overlay.items():
        nested = isinstance(value, dict) and isinstance(target.get(key), dict)
        if nested and not whole(key, value):
            inner = _dimension if key == "search_space" else (lambda k, v: False)
            _merge_into(target[key], value, inner)
        else:
            target[key] = value


def _dimension(key, value) -> bool:
    return isinstance(value, dict) and "type" in value  # a dimension given whole


def apply_overlay(params_path: Path, overlays: list[Path]) -> None:
    merged = read_params([params_path, *overlays])
    check_params(merged)  # refuse before touching params.yaml
    yaml = YAML()
    yaml.preserve_quotes = True
    document = yaml.load(params_path.read_text())
    for path in overlays:
        _merge_into(document, read_yaml(path))
    tmp = params_path.with_name(params_path.name + ".tmp")
    with open(tmp, "w") as fh:
        yaml.dump(document, fh)
    tmp.replace(params_path)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("overlays", type=Path, nargs="+", help="overlay files, merged in order")
    parser.add_argument("--params", type=Path, default=Path("params.yaml"))
    args = parser.parse_args(argv)
    try:
        apply_overlay(args.params, args.overlays)
    except ParamsError as exc:
        sys.exit(f"error: {exc}")
    print(f"{args.params}: merged {', '.join(map(str, args.overlays))}")


if __name__ == "__main__":
    main()
