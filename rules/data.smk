# The data: the images fetched and verified, standardised, and a backbone's pretrained weights.


rule download:
    input:
        CODE["download"],
    output:
        **outputs("download"),
    log:
        log_of("download"),
    benchmark:
        benchmark_of("download")
    conda:
        ENV
    resources:
        **needs("download"),
    params:
        files=PARAMS,
        tracked=tracked("download"),
    shell:
        shell_of("download")


rule standardise:
    input:
        CODE["standardise"],
        **inputs("standardise"),
    output:
        **outputs("standardise"),
    log:
        log_of("standardise"),
    benchmark:
        benchmark_of("standardise")
    conda:
        ENV
    threads: os.cpu_count()
    resources:
        **needs("standardise"),
    params:
        files=PARAMS,
        tracked=tracked("standardise"),
    shell:
        shell_of("standardise")


# A pretrained backbone's weights are data: fetched once and verified (a model without them
# writes only data/weights/weights.json).
rule weights:
    input:
        CODE["weights"],
    output:
        **outputs("weights"),
    log:
        log_of("weights"),
    benchmark:
        benchmark_of("weights")
    conda:
        ENV
    resources:
        **needs("download"),
    params:
        files=PARAMS,
        tracked=tracked("weights"),
    shell:
        shell_of("weights")
