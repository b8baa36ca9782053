# Tabulate once, replay many (bloomtune/replay): only with replay.tables [grid].


# Each shard trains every N-th grid configuration; its journal lives in results/state (no
# orchestrator deletes it), so a killed shard resumes.
rule tabulate:
    input:
        CODE["tabulate"],
        **inputs("tabulate"),
    output:
        **outputs("tabulate"),
    log:
        log_of("tabulate"),
    benchmark:
        benchmark_of("tabulate")
    conda:
        ENV
    threads: TRAINING_THREADS
    resources:
        **needs("training"),
    params:
        files=PARAMS,
        tracked=tracked("tabulate"),
    shell:
        shell_of("tabulate")


rule table:
    input:
        CODE["table"],
        **inputs("table"),
    output:
        **outputs("table"),
    log:
        log_of("table"),
    benchmark:
        benchmark_of("table")
    conda:
        ENV
    resources:
        **needs("report"),
    params:
        files=PARAMS,
        tracked=tracked("table"),
    shell:
        shell_of("table")


# One job per tuner replays every replay seed in one process: a search takes milliseconds to
# seconds, a process start (Keras Tuner imports TensorFlow) about five.
rule replay:
    input:
        CODE["replay"],
        **inputs("replay"),
    output:
        **outputs("replay"),
    log:
        log_of("replay"),
    benchmark:
        benchmark_of("replay")
    conda:
        ENV
    resources:
        **needs("report"),
    params:
        files=PARAMS,
        tracked=tracked("replay"),
    shell:
        shell_of("replay")


rule replay_report:
    input:
        CODE["replay_report"],
        **inputs("replay_report"),
    output:
        **outputs("replay_report"),
    log:
        log_of("replay_report"),
    benchmark:
        benchmark_of("replay_report")
    conda:
        ENV
    resources:
        **needs("report"),
    params:
        files=PARAMS,
        tracked=tracked("replay_report"),
    shell:
        shell_of("replay_report")
