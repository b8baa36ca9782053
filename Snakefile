"""bloomtune: which hyperparameter optimiser tunes the CNN best, for a given budget?

Every rule's command, inputs, outputs and log come from one table (bloomtune/stages.py), from
which dvc.yaml is generated; tests/test_dag.py holds the two DAGs equal."""


configfile: "params.yaml"


include: "rules/common.smk"


report: "report/workflow.rst"


rule all:
    input:
        targets(),


include: "rules/data.smk"
include: "rules/runs.smk"
include: "rules/report.smk"
include: "rules/replay.smk"
