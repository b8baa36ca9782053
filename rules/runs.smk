# One chain per tuner and repetition seed: tune, the best epoch count, retrain, evaluate.


# Training jobs take every core by default: they then run one at a time, so each tuner's time is
# measured on the same idle machine. resources.training_threads lets several run at once. A tuner
# with `workers: N` runs N trials at once in its tune job, which asks for N times the threads,
# memory and GPUs (Snakemake caps threads at --cores; each worker gets its share).
rule tune:
    input:
        CODE["tune"],
        **inputs("tune"),
    output:
        **outputs("tune"),
    log:
        log_of("tune"),
    benchmark:
        benchmark_of("tune")
    conda:
        ENV
    threads: lambda wildcards: TRAINING_THREADS * workers(wildcards.tuner)
    resources:
        **per_worker(needs("training")),
    params:
        files=PARAMS,
        tracked=tracked("tune"),
    shell:
        shell_of("tune")


rule best_epoch:
    input:
        CODE["best_epoch"],
        **inputs("best_epoch"),
    output:
        **outputs("best_epoch"),
    log:
        log_of("best_epoch"),
    benchmark:
        benchmark_of("best_epoch")
    conda:
        ENV
    threads: TRAINING_THREADS
    resources:
        **needs("training"),
    params:
        files=PARAMS,
        tracked=tracked("best_epoch"),
    shell:
        shell_of("best_epoch")


rule retrain:
    input:
        CODE["retrain"],
        **inputs("retrain"),
    output:
        **outputs("retrain"),
    log:
        log_of("retrain"),
    benchmark:
        benchmark_of("retrain")
    conda:
        ENV
    threads: TRAINING_THREADS
    resources:
        **needs("training"),
    params:
        files=PARAMS,
        tracked=tracked("retrain"),
    shell:
        shell_of("retrain")


rule evaluate:
    input:
        CODE["evaluate"],
        **inputs("evaluate"),
    output:
        **outputs("evaluate"),
    log:
        log_of("evaluate"),
    benchmark:
        benchmark_of("evaluate")
    conda:
        ENV
    threads: TRAINING_THREADS
    resources:
        **needs("training"),
    params:
        files=PARAMS,
        tracked=tracked("evaluate"),
    shell:
        shell_of("evaluate")
