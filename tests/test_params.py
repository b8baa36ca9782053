"""params.yaml is checked before any work; a bad value fails with one line naming the key."""

from __future__ import annotations

import re
import sys

import pytest
import yaml
from conftest import ROOT, run, snakemake

from bloomtune.checks import load_params
from bloomtune.errors import ParamsError
from bloomtune.params import stage_params

BAD_VALUES = [
    ({"tuners": {"kt_random": {"framework": "sklearn"}}}, "tuners.kt_random.framework"),
    (
        {"search_space": {"learning_rate": {"low": 0.1, "high": 0.01}}},
        "search_space.learning_rate",
    ),
    ({"tuning": {"max_epochs": 0}}, "tuning.max_epochs"),
    ({"seeds": []}, "seeds"),
    ({"seeds": [1, 2, 1]}, "seeds"),
    ({"seeds": [1, -2]}, "seeds.1"),
    ({"best_epoch": {"max_epochs": -1}}, "best_epoch.max_epochs"),
    ({"tuners": {"Bad-Name": {"framework": "optuna"}}}, "tuners"),
    ({"tuners": {"optuna_tpe": {"sampler": "grid"}}}, "tuners.optuna_tpe.sampler"),
    ({"train": {"batch_size": "32"}}, "train.batch_size"),
    ({"train": {"validation_fraction": 1.5}}, "train.validation_fraction"),
    ({"train": {"mixed_precision": "float8"}}, "train.mixed_precision"),
    ({"train": {"jit_compile": "yes"}}, "train.jit_compile"),
    ({"train": {"input": "disk"}}, "train.input"),
    (
        {"tuners": {"kt_random": {"train": {"jit_compile": 1}}}},
        "tuners.kt_random.train.jit_compile",
    ),
    ({"tuning": {"objective": "accuracy"}}, "tuning.objective"),
    ({"tuners": {"kt_random": {"workers": 0}}}, "tuners.kt_random.workers"),
    ({"tuning": {"max_trial": 3}}, "tuning"),
    ({"standardise": {"interpolation": "nearest"}}, "standardise.interpolation"),
    ({"data": {"source": "imagenet"}}, "data.source"),
    ({"data": {"source": "folder", "folder": {"path": None}}}, "data.folder.path"),  # its check
    # An option of another algorithm would be ignored without a word.
    ({"tuners": {"kt_hyperband": {"algorithm": "bayesian"}}}, "tuners.kt_hyperband.factor"),
    ({"report": {"comparisons": "control"}}, "report.control"),  # no baseline named
    ({"report": {"comparisons": "control", "control": "sgd"}}, "report.control"),
    ({"seeds": [1, 2**32]}, "seeds.1"),  # NumPy takes 32-bit seeds
    (
        {"tuners": {"optuna_tpe": {"pruner": "median", "pruner_options": {"factor": 3}}}},
        "tuners.optuna_tpe.pruner_options",
    ),
    (
        {
            "tuners": {
                "optuna_tpe": {"pruner": "percentile", "pruner_options": {"percentile": 150}}
            }
        },
        "tuners.optuna_tpe.pruner_options",
    ),
    ({"tuners": {"optuna_tpe": {"storage": "nonsense://"}}}, "tuners.optuna_tpe.storage"),
    ({"tuners": {"optuna_tpe": {"storage": "sqlite://"}}}, "tuners.optuna_tpe.storage"),
    ({"tuners": {"optuna_tpe": {"storage": "mysql://u@h/db"}}}, "tuners.optuna_tpe.storage"),
    (
        {"tuners": {"optuna_tpe": {"storage": "sqlite:////etc/hostname/x.db"}}},
        "tuners.optuna_tpe.storage",
    ),
]
STORAGE_ERRORS = [
    "no installed SQLAlchemy dialect for 'nonsense'",
    "is an in-memory database, lost when the job ends, so the search could never resume",
    "the mysql driver is not installed (MySQLdb)",
    "cannot create the folder of '/etc/hostname/x.db'",
]


def _overlay(tmp_path, values) -> str:
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(values))
    return str(path)


def test_defaults_and_shipped_configs_are_valid():
    for overlay in ("config/smoke.yaml", "config/demo.yaml"):
        params = load_params([ROOT / "params.yaml", ROOT / overlay])
        assert params["data"]["source"] == "synthetic"
    assert set(load_params([ROOT / "params.yaml"])["tuners"]) >= {
        "optuna_tpe",
        "kt_random",
        "kt_bayesian",
        "kt_hyperband",
    }


@pytest.mark.parametrize(("values", "key"), BAD_VALUES)
def test_bad_value_names_its_key_in_one_line(tmp_path, values, key):
    with pytest.raises(ParamsError) as caught:
        # load_params checks what every stage and the Snakefile check, pruners and storages too
        load_params([ROOT / "params.yaml", _overlay(tmp_path, values)])
    message = str(caught.value)
    assert message.startswith(f"{key}:") and "\n" not in message
    assert message.count(key.rsplit(".", 1)[-1]) == 1, message  # the key is said once


def test_unknown_tuner_is_refused_by_name():
    params = load_params([ROOT / "params.yaml"])
    with pytest.raises(ParamsError, match=r"^tuners\.kt_randon: unknown tuner"):
        stage_params(params, "tune", "kt_randon")


def test_stage_gets_only_the_sections_it_declares():
    params = load_params([ROOT / "params.yaml"])
    sections = stage_params(params, "tune", "kt_random")
    assert set(sections) == {
        "seed",
        "train",
        "tuning",
        "model",
        "search_space",
        "tuners.kt_random",
    }
    assert sections["tuners.kt_random"]["algorithm"] == "random"


@pytest.mark.parametrize(
    ("values", "key"),
    [BAD_VALUES[0], BAD_VALUES[-6], BAD_VALUES[-4]],
    ids=["schema", "pruner", "storage"],
)
def test_a_stage_script_alone_fails_before_any_work(tmp_path, values, key):
    bad = _overlay(tmp_path, values)
    out = tmp_path / "tuning"
    result = run(
        [
            sys.executable,
            "scripts/tune.py",
            "--params",
            "params.yaml",
            bad,
            "--tuner",
            key.split(".")[1],
            "--seed",
            "1",
            "--data",
            str(tmp_path / "none"),
            "--out",
            str(out),
            "--state",
            str(tmp_path / "state"),
        ],
        ROOT,
        check=False,
    )
    assert result.returncode == 2
    errors = [line for line in result.stderr.splitlines() if "ERROR" in line]
    assert len(errors) == 1 and f"params: {key}:" in errors[0]
    assert not out.exists()


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (BAD_VALUES[1][0], "search_space.learning_rate: low (0.1) is greater than high (0.01)"),
        (BAD_VALUES[-6][0], "tuners.optuna_tpe.pruner_options: ['factor'] do not apply"),
        (BAD_VALUES[-3][0], "tuners.optuna_tpe.storage: 'sqlite://' is an in-memory database"),
    ],
)
def test_snakemake_refuses_bad_params_before_any_job(project, tmp_path, values, message):
    bad = _overlay(tmp_path, values)
    result = snakemake(["-n", "--cores", "1", "--configfile", bad], project, check=False)
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert message in output
    assert "Job stats" not in output


def test_snakemake_refuses_config_on_the_command_line(project):
    result = snakemake(["-n", "--cores", "1", "--config", "seed=7"], project, check=False)
    assert result.returncode != 0
    assert "put them in an overlay file and pass --configfile" in result.stdout + result.stderr


def test_a_repetition_seed_changes_the_search_but_not_the_data():
    from bloomtune.model_settings import resolve

    params = load_params([ROOT / "params.yaml"])
    one, two = (resolve(params, "tune", "kt_random", seed=s) for s in (1, 2))
    assert one.seed == 1 and two.seed == 2
    assert one.data_seed == two.data_seed == params["seed"]  # the same validation split
    first, second = one.record(), two.record()
    assert first.pop("seed") != second.pop("seed") and first == second
    # The list is the report's alone: adding a seed changes no other stage's params.
    assert [s for s in ("tune", "best_epoch", "retrain", "evaluate") if "seeds" in
            stage_params(params, s, "kt_random")] == []  # fmt: skip
    with pytest.raises(ParamsError, match="^seeds: stage tune needs a repetition seed"):
        resolve(params, "tune", "kt_random")


@pytest.mark.parametrize(("values", "message"), zip(BAD_VALUES[-4:], STORAGE_ERRORS, strict=True))
def test_a_storage_url_is_checked_without_opening_it(tmp_path, values, message):
    with pytest.raises(ParamsError, match=re.escape(message)):
        load_params([ROOT / "params.yaml", _overlay(tmp_path, values[0])])


def test_a_good_storage_url_passes_and_opens_nothing(tmp_path):
    db = tmp_path / "not" / "yet" / "optuna.db"
    values = {"tuners": {"optuna_tpe": {"storage": f"sqlite:///{db}"}}}
    load_params([ROOT / "params.yaml", _overlay(tmp_path, values)])
    assert not (tmp_path / "not").exists()


def test_a_number_yaml_reads_as_text_is_refused_saying_how_to_write_it(tmp_path):
    # PyYAML (and Snakemake) read 1e-5 as the string "1e-5": say so, not a schema dump.
    overlay = tmp_path / "lr.yaml"
    overlay.write_text("search_space:\n  learning_rate: {type: float, low: 1e-5, high: 1.0e-3}\n")
    with pytest.raises(ParamsError) as caught:
        load_params([ROOT / "params.yaml", overlay])
    assert str(caught.value) == (
        "search_space.learning_rate.low: '1e-5' is text to YAML, not a number (an exponent "
        "needs a dot before it); write 1.0e-5"
    )


def test_an_overlay_replaces_a_dimension_given_with_its_type(project):
    # filters becomes an int range: params.yaml's `choices` must not survive the merge, in the
    # scripts' merge, in Snakemake's tracked config and in the overlay DVC runs.
    from conftest import run, snakemake

    overlay = project / "config" / "int_filters.yaml"
    overlay.write_text("search_space:\n  filters: {type: int, low: 8, high: 16}\n")
    wanted = {"type": "int", "low": 8, "high": 16}
    assert load_params([project / "params.yaml", overlay])["search_space"]["filters"] == wanted
    planned = snakemake(["-n", "--cores", "1", "--configfile", "config/int_filters.yaml"], project)
    assert "params:" not in planned.stderr  # no params error
    run([sys.executable, "-m", "bloomtune.overlay", "config/int_filters.yaml"], project)
    merged = load_params([project / "params.yaml"])["search_space"]["filters"]
    assert merged == wanted


def test_a_storage_password_never_sits_in_the_params(tmp_path, monkeypatch):
    # Params are recorded whole (best.json, .snakemake/metadata, dvc.lock): a password in the
    # URL is refused; the params name the environment variable that holds it instead.
    url = "postgresql+psycopg2://bt:hunter2@127.0.0.1:5432/db"
    with pytest.raises(ParamsError, match="^tuners.optuna_tpe.storage: the URL holds a password"):
        load_params([ROOT / "params.yaml", _overlay(tmp_path, {"tuners": {"optuna_tpe": {
            "storage": url}}})])  # fmt: skip
    entry = {"storage": "postgresql+psycopg2://bt@127.0.0.1:5432/db",
             "storage_password_env": "BT_PASSWORD"}  # fmt: skip
    monkeypatch.delenv("BT_PASSWORD", raising=False)
    with pytest.raises(ParamsError, match="variable BT_PASSWORD is not set"):
        load_params([ROOT / "params.yaml", _overlay(tmp_path, {"tuners": {"optuna_tpe": entry}})])
    monkeypatch.setenv("BT_PASSWORD", "hunter2")
    overlay = _overlay(tmp_path, {"tuners": {"optuna_tpe": entry}})
    params = load_params([ROOT / "params.yaml", overlay])
    from bloomtune.model_settings import resolve as resolve_stage
    from bloomtune.tuning.optuna_adapter import connection_url

    settings = resolve_stage(params, "tune", "optuna_tpe", seed=1)
    assert "hunter2" not in repr(params) and "hunter2" not in repr(settings)
    assert connection_url(settings) == "postgresql+psycopg2://bt:hunter2@127.0.0.1:5432/db"


@pytest.mark.parametrize(
    ("dimension", "message"),
    [
        ({"strides": {"type": "categorical", "choices": [0, 1]}},
         "search_space.strides: 0 is not a stride of at least 1"),
        ({"filters": {"type": "categorical", "choices": [-5]}},
         "search_space.filters: -5 is not a whole number of filters"),
        ({"kernel_size": {"type": "categorical", "choices": [3, 64]}},
         "search_space.kernel_size: 64 is not a kernel size from 1 to the image size "
         "(standardise.image_size 32)"),
        ({"activation": {"type": "categorical", "choices": ["relu", "bogus_act"]}},
         "search_space.activation: 'bogus_act' is not one of Keras' activations"),
    ],
)  # fmt: skip
def test_the_blog_cnn_refuses_values_every_trial_would_fail_on(tmp_path, dimension, message):
    overlay = _overlay(tmp_path, {"standardise": {"image_size": 32}, "search_space": dimension})
    with pytest.raises(ParamsError, match="^" + re.escape(message)):
        load_params([ROOT / "params.yaml", overlay])


def test_the_activations_the_check_knows_are_keras_own():
    import keras

    from bloomtune.training.families.blog_cnn import ACTIVATIONS

    for name in ACTIVATIONS:
        assert callable(keras.activations.get(name)), name
    with pytest.raises(ValueError):
        keras.activations.get("bogus_act")


def test_a_control_without_the_control_design_is_refused_not_ignored(tmp_path):
    overlay = _overlay(tmp_path, {"report": {"control": "kt_random"}})
    with pytest.raises(ParamsError, match="^report.control: 'kt_random' is used only with"):
        load_params([ROOT / "params.yaml", overlay])
    both = _overlay(tmp_path, {"report": {"control": "kt_random", "comparisons": "control"}})
    assert load_params([ROOT / "params.yaml", both])["report"]["control"] == "kt_random"


@pytest.mark.parametrize(
    ("values", "message"),
    [
        # An Optuna Hyperband whose first rung comes after the last epoch never prunes.
        ({"tuning": {"max_epochs": 2},
          "tuners": {"optuna_tpe_hyperband": {"pruner_options": {"min_resource": 5}}}},
         "tuners.optuna_tpe_hyperband.pruner_options: min_resource 5 is not below max_epochs 2"),
        # One Hyperband iteration at max_epochs 1 is one trial: it stopped at 1 of 2.
        ({"tuning": {"max_epochs": 1, "max_trials": 2},
          "tuners": {"kt_hyperband": {"hyperband_iterations": 1}}},
         "tuners.kt_hyperband.hyperband_iterations: 1 iteration(s) of Hyperband at max_epochs 1 "
         "run 1 trial(s) and 1 epoch(s), less than the budget (max_trials 2, max_total_epochs"),
        # A grid value outside its range, with the replay off (it is refused when it is on).
        ({"replay": {"tables": []}, "tabulate": {"grid": {"learning_rate": [5.0]}}},
         "tabulate.grid.learning_rate: [5.0] outside"),
        # Below the smallest model: every trial refused as too large.
        ({"tuning": {"max_model_params": 1}},
         "tuning.max_model_params: 1 is below the smallest model the search space gives "
         "(27,396 parameters at 32 px and 4 classes)"),
        # A refused alternative names what would be valid.
        ({"tuning": {"max_model_params": 0}},
         "tuning.max_model_params: 0 is not a whole number of at least 1 or 'auto'"),
        ({"search_space": {"filters": 5}},
         "search_space.filters: 5 is not null or a dimension (a mapping with type: "),
    ],
)  # fmt: skip
def test_settings_that_would_do_nothing_or_fail_every_trial_are_refused(tmp_path, values, message):
    overlay = _overlay(tmp_path, values)
    with pytest.raises(ParamsError, match="^" + re.escape(message)):
        load_params([ROOT / "params.yaml", ROOT / "config/smoke.yaml", overlay])


def test_the_hyperband_check_counts_what_keras_tuners_oracle_runs(tmp_path):
    # The light check counts an iteration's trials and epochs without importing Keras Tuner;
    # its oracle, driven to STOPPED, must run exactly those.
    import keras_tuner as kt

    from bloomtune.tuning.frameworks import hyperband_iteration

    for max_epochs, factor in [(1, 3), (2, 3), (3, 3), (10, 3), (5, 2), (8, 4)]:
        hp = kt.HyperParameters()
        hp.Float("x", 0, 1)
        oracle = kt.oracles.HyperbandOracle(
            objective=kt.Objective("score", "max"), max_epochs=max_epochs, factor=factor,
            hyperband_iterations=1, seed=1, hyperparameters=hp,
        )  # fmt: skip
        oracle._set_project_dir(str(tmp_path), f"hb_{max_epochs}_{factor}")
        trials = epochs = 0
        while (trial := oracle.create_trial("worker")).status != "STOPPED":
            values = trial.hyperparameters.values
            trials += 1
            epochs += values["tuner/epochs"] - values["tuner/initial_epoch"]
            oracle.update_trial(trial.trial_id, {"score": values["x"]}, step=0)
            trial.status = "COMPLETED"
            oracle.end_trial(trial)
        assert hyperband_iteration(max_epochs, factor) == (trials, epochs), (max_epochs, factor)
