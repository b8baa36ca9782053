"""Load, merge and check the parameters, and hand each stage only the sections it declares."""

from __future__ import annotations

import copy
import hashlib
import json
import re
from pathlib import Path

import jsonschema
import yaml

from bloomtune.errors import ParamsError

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = ROOT / "config" / "schema.yaml"

# The params sections each stage reads. dvc.yaml declares the same (a test checks it) and the
# Snakefile tracks them as rule params, so a changed value reruns exactly the stages that read it.
# "tuners.{tuner}" is the one tuner's own entry. `seed` is the data seed (synthetic images, the
# folder source's test split, the validation split); a repetition's seed is its job's wildcard
# (one of `seeds`), so only the report reads the list.
STAGE_SECTIONS = {
    "download": ["seed", "data"],
    "standardise": ["standardise", "data.on_bad_image"],
    "weights": ["model"],
    "tune": ["seed", "train", "tuning", "model", "search_space", "tuners.{tuner}"],
    "best_epoch": ["seed", "train", "tuning.objective", "model", "best_epoch", "tuners.{tuner}"],
    "retrain": ["seed", "train", "model", "tuners.{tuner}"],
    "evaluate": [],
    "report": ["report", "tuners", "seeds", "replay.tables"],
    # Tabulate once, replay many (bloomtune/replay): only with replay.tables: [grid].
    "tabulate": ["seed", "train", "tuning.max_epochs", "tuning.max_model_params", "model",
                 "search_space", "tabulate"],
    "table": ["tabulate.shards"],
    "replay": ["seed", "train", "tuning", "model", "search_space", "tuners.{tuner}",
               "tabulate.grid", "replay.seeds", "replay.model"],
    "replay_report": ["report", "tuners", "seeds", "tabulate", "replay.seeds", "replay.model"],
}  # fmt: skip


def merge(base: dict, overlay: dict) -> dict:
    """Recursively merge overlay into a copy of base, as Snakemake merges --configfile overlays."""
    out = copy.deepcopy(base)
    for key, value in overlay.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def read_yaml(path: str | Path) -> dict:
    try:
        with open(path) as fh:
            data = yaml.safe_load(fh)
    except FileNotFoundError:
        raise ParamsError(f"{path}: params file not found") from None
    except yaml.YAMLError as exc:
        raise ParamsError(f"{path}: not valid YAML: {' '.join(str(exc).split())}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ParamsError(f"{path}: expected a mapping of params sections at the top level")
    return data


def merge_params(base: dict, overlay: dict) -> dict:
    """merge, except that a search-space dimension an overlay gives with its `type` replaces the
    one before it whole: `filters: {type: int, low: 8, high: 16}` over a categorical `filters`
    must not keep its `choices`."""
    out = merge(base, overlay)
    for name, spec in (overlay.get("search_space") or {}).items():
        if isinstance(spec, dict) and "type" in spec:
            out["search_space"][name] = copy.deepcopy(spec)
    return out


def read_params(files: list[str | Path], merged=merge_params) -> dict:
    """Merge params files in order (later ones override), unchecked (bloomtune.checks checks).
    `merged=merge` merges them as Snakemake merges --configfile overlays."""
    params: dict = {}
    for path in files:
        params = merged(params, read_yaml(path))
    return params


def _key_path(error: jsonschema.ValidationError) -> str:
    return ".".join(str(p) for p in error.absolute_path) or "(top level)"


def _describe(error: jsonschema.ValidationError, root: dict) -> str:
    if error.validator == "additionalProperties":
        extra = sorted(set(error.instance) - set(error.schema.get("properties", {})))
        return f"unknown key {', '.join(map(repr, extra))}"
    if error.validator == "propertyNames":
        return f"name {error.instance!r} must be lower-case letters, digits and _"
    if error.validator == "enum":
        return f"{error.instance!r} is not one of {', '.join(map(str, error.validator_value))}"
    if error.validator == "const":
        return f"{error.instance!r} should be {error.validator_value!r}"
    if error.validator in ("anyOf", "oneOf"):  # "is not valid under any of the given schemas"
        kinds = [_kind(sub, root) for sub in error.validator_value]
        kinds = (", or " if any(" or " in k for k in kinds[:-1]) else " or ").join(kinds)
        return f"{error.instance!r} is not {kinds}"
    return error.message


# The schema's named definitions ($defs) in words, for a refused anyOf or oneOf.
_DEFINED = {
    "dimension": "a dimension (a mapping with type: categorical, int, float or fixed)",
    "value": "a text, number or true/false",
}


def _kind(schema: dict, root: dict) -> str:
    """One alternative of an anyOf or oneOf, in words."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        if name in _DEFINED:
            return _DEFINED[name]
        schema = root.get("$defs", {}).get(name, {})
    if "const" in schema:
        return repr(schema["const"])
    if "enum" in schema:
        return "one of " + ", ".join(map(repr, schema["enum"]))
    kind, low = schema.get("type"), schema.get("minimum")
    if kind == "integer":
        return "a whole number" + (f" of at least {low}" if low is not None else "")
    if kind == "array":
        return "a list of those" if "$ref" in schema.get("items", {}) else "a list"
    words = {"null": "null", "number": "a number", "string": "a text", "boolean": "true/false"}
    return words.get(kind, schema.get("description") or "of another allowed form")


def _best_error(errors: list[jsonschema.ValidationError]) -> jsonschema.ValidationError:
    # The deepest error names the most precise key; prefer it to "does not match any of".
    best = max(errors, key=lambda e: (len(e.absolute_path), e.validator != "required"))
    # Inside an anyOf or oneOf, an alternative that failed deeper (a dimension with a wrong
    # field) names the key more precisely than the list of alternatives.
    while best.validator in ("anyOf", "oneOf") and best.context:
        deeper = max(best.context, key=lambda e: len(e.absolute_path))
        if len(deeper.absolute_path) <= len(best.absolute_path):
            break
        best = deeper
    return best


# YAML 1.1 (PyYAML, Snakemake) reads an exponent without a dot in the mantissa, 1e-5, as text.
NUMBER_AS_TEXT = re.compile(r"^[+-]?\d+[eE][+-]?\d+$")


def _number_as_text(value, key: str = "") -> None:
    if isinstance(value, dict):
        for name, item in value.items():
            _number_as_text(item, f"{key}.{name}" if key else str(name))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _number_as_text(item, f"{key}.{i}")
    elif isinstance(value, str) and NUMBER_AS_TEXT.match(value):
        mantissa, exponent = re.split("[eE]", value)
        raise ParamsError(
            f"{key}: {value!r} is text to YAML, not a number (an exponent needs a dot before "
            f"it); write {mantissa}.0e{exponent}"
        )


def check_schema(params: dict) -> None:
    """The schema and the data source: ParamsError with one line naming the first wrong key."""
    _number_as_text(params)
    with open(SCHEMA) as fh:
        schema = yaml.safe_load(fh)
    errors = list(jsonschema.Draft202012Validator(schema).iter_errors(params))
    if errors:
        error = _best_error(errors)
        path = _key_path(error)
        if error.validator == "additionalProperties" and path == "(top level)":
            path = "params"
        raise ParamsError(f"{path}: {_describe(error, schema)}")
    source = params["data"]["source"]
    if source not in params["data"]:
        raise ParamsError(f"data.{source}: data.source is {source!r} but this section is missing")


def _pick(params: dict, dotted: str):
    value = params
    for part in dotted.split("."):
        if not isinstance(value, dict) or part not in value:
            raise ParamsError(f"{dotted}: missing from params")
        value = value[part]
    return value


def stage_sections(stage: str, tuner: str | None = None) -> list[str]:
    """The dotted params keys a stage declares, with its tuner filled in."""
    return [s.format(tuner=tuner) for s in STAGE_SECTIONS[stage]]


def stage_params(params: dict, stage: str, tuner: str | None = None) -> dict:
    """Only the sections the stage declares, keyed by their dotted names."""
    if tuner is not None and tuner not in params["tuners"]:
        known = ", ".join(params["tuners"])
        raise ParamsError(f"tuners.{tuner}: unknown tuner (params name {known})")
    return {key: copy.deepcopy(_pick(params, key)) for key in stage_sections(stage, tuner)}


def fingerprint(value) -> str:
    """A short stable hash of a JSON-able value (params sections, hyperparameters)."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]
