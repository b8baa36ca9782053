"""A stage's console shows bloomtune's lines only; what the libraries print goes to its log."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from conftest import ROOT, tool_env

# A stage as run_stage sets it up, then what the libraries do: a Python warning, a line written
# straight to file descriptor 2 by native code (TensorFlow's C++ log does this), and a worker
# process, started as the tune job starts its workers, that logs one line and warns.
STAGE = textwrap.dedent("""
    import logging, multiprocessing, os, sys, warnings
    from bloomtune.console import setup_logging

    def worker(log_file):
        setup_logging(log_file, append=True, tag="worker 1")
        logging.getLogger("bloomtune").info("a worker's trial line")
        warnings.warn("a worker's library warning")

    if __name__ == "__main__":
        setup_logging(sys.argv[1])
        log = logging.getLogger("bloomtune")
        log.info("a stage line")
        warnings.warn("a library warning")
        os.write(2, b"E0000 00:00:1796145897.516502 10201 node_def_util.cc:682] a C++ line\\n")
        process = multiprocessing.get_context("spawn").Process(target=worker, args=(sys.argv[1],))
        process.start()
        process.join(60)
        log.info("stage done")
""")


def test_the_console_has_bloomtunes_lines_and_the_log_has_the_rest(tmp_path):
    script, log = tmp_path / "stage.py", tmp_path / "logs" / "stage.log"
    script.write_text(STAGE)
    result = subprocess.run([sys.executable, str(script), str(log)], cwd=ROOT, env=tool_env(),
                            capture_output=True, text=True, timeout=120)  # fmt: skip
    assert result.returncode == 0, result.stderr
    console = result.stderr.splitlines()
    assert [line.split(": ", 1)[1] for line in console] == [
        "a stage line",
        "a worker's trial line",
        "stage done",
        f"3 library lines (TensorFlow's C++ log: 1, Python warnings: 2) are in {log}",
    ], console
    assert "[worker 1]" in console[1]
    kept = log.read_text()
    for line in ("a stage line", "a C++ line", "UserWarning: a library warning",
                 "a worker's trial line", "UserWarning: a worker's library warning"):  # fmt: skip
        assert line in kept, line
