"""A data folder says which params made it, and no stage reads one made with other params (as
when the other orchestrator made it, or a run's metadata is gone: nothing reran, and a search
trained on the old data without a word)."""

from __future__ import annotations

import json
import sys

import yaml
from conftest import ROOT, run

from bloomtune.data.made_with import FILE


def _stage(name: str, overlay, *args: str, check: bool = True):
    command = [sys.executable, f"scripts/{name}.py", "--params", "params.yaml",
               "config/smoke.yaml", str(overlay), *args]  # fmt: skip
    return run(command, ROOT, check=check)


def test_a_stage_refuses_data_made_with_other_params(tmp_path):
    overlay = tmp_path / "overlay.yaml"
    overlay.write_text("{}\n")
    raw, data = tmp_path / "raw", tmp_path / "standardised"
    _stage("download", overlay, "--out", str(raw))
    _stage("standardise", overlay, "--raw", str(raw), "--out", str(data))
    made = json.loads((data / FILE).read_text())
    assert made["download"]["data"]["synthetic"]["n_classes"] == 4
    assert made["standardise"]["standardise"]["image_size"] == 32

    overlay.write_text(yaml.safe_dump({"data": {"synthetic": {"n_classes": 3}}}))
    refused = _stage("standardise", overlay, "--raw", str(raw), "--out", str(data), check=False)
    assert refused.returncode == 1
    (line,) = [x for x in refused.stderr.splitlines() if "failed" in x]
    assert f"{raw} was made with data.synthetic.n_classes: 4 but params say 3" in line, line
    assert "snakemake --forcerun download" in line
    assert (data / "manifest.json").is_file()  # the folder it would have replaced is intact

    overlay.write_text(yaml.safe_dump({"standardise": {"image_size": 48}}))
    refused = _stage(
        "tune", overlay, "--tuner", "kt_random", "--seed", "1", "--data", str(data),
        "--out", str(tmp_path / "tuning"), "--state", str(tmp_path / "state"), check=False,
    )  # fmt: skip
    assert refused.returncode == 1
    assert "was made with standardise.image_size: 32 but params say 48" in refused.stderr
    assert "rerun standardise" in refused.stderr
    assert not (tmp_path / "tuning").exists()  # refused before any training
