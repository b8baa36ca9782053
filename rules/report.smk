# The comparison's report: statistics, figures and pages over every run.


rule report:
    input:
        CODE["report"],
        **inputs("report"),
    output:
        **outputs("report"),
    log:
        log_of("report"),
    benchmark:
        benchmark_of("report")
    conda:
        ENV
    resources:
        **needs("report"),
    params:
        files=PARAMS,
        tracked=tracked("report"),
    shell:
        shell_of("report")
