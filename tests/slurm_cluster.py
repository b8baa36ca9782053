"""A throwaway one-node Slurm cluster on localhost (Debian's Slurm 22.05), for the cluster test.

The daemons run from a temporary folder (state, spool, logs, pids) on free ports, started and
stopped by pid; every wait has a timeout. Slurm's job steps read the default
/etc/slurm/slurm.conf (the executor plugin's srun drops SLURM_CONF), so the cluster writes it
there and removes it after, and refuses to run where one already exists: that machine has a real
cluster."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
from conftest import free_port

SYSTEM_CONF = Path("/etc/slurm/slurm.conf")
MARK = "# bloomtune test cluster"
DAEMONS = ("slurmctld", "slurmd", "sinfo", "sbatch", "squeue")


def why_not() -> str | None:
    """Why this machine cannot host the test cluster, or None."""
    missing = [d for d in DAEMONS if not shutil.which(d)]
    if missing:
        return (
            f"Slurm is not installed ({', '.join(missing)} missing; apt-get install "
            "slurmctld slurmd slurm-client munge: .ci/run does)"
        )
    if os.geteuid() != 0:
        return "the test cluster's daemons run as root"
    if SYSTEM_CONF.exists() and MARK not in SYSTEM_CONF.read_text():
        return f"{SYSTEM_CONF} exists: this machine has a real Slurm cluster, not touched"
    return None


def _conf(folder: Path) -> str:
    host = socket.gethostname().split(".")[0]
    return f"""{MARK}
ClusterName=bloomtune
SlurmctldHost={host}(127.0.0.1)
SlurmctldPort={free_port()}
SlurmdPort={free_port()}
SlurmUser=root
SlurmdUser=root
AuthType=auth/none
CredType=cred/none
StateSaveLocation={folder}/state
SlurmdSpoolDir={folder}/spool
SlurmctldPidFile={folder}/slurmctld.pid
SlurmdPidFile={folder}/slurmd.pid
SlurmctldLogFile={folder}/slurmctld.log
SlurmdLogFile={folder}/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
MpiDefault=none
ReturnToService=2
MinJobAge=600
NodeName=localhost NodeAddr=127.0.0.1 CPUs={os.cpu_count()} RealMemory=4000 State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=60 State=UP
"""


def _wait(check, what: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.5)
    raise TimeoutError(f"the test cluster: {what} within {timeout:.0f} s")


@contextmanager
def one_node_cluster(folder: Path):
    """Start slurmctld and slurmd, wait for an idle node, yield the partition's name; stop both."""
    if reason := why_not():
        pytest.skip(reason)
    for sub in ("state", "spool"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    SYSTEM_CONF.parent.mkdir(parents=True, exist_ok=True)
    SYSTEM_CONF.write_text(_conf(folder))
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLURM_")}
    daemons = []
    try:
        for command in (["slurmctld", "-D", "-i"], ["slurmd", "-D", "-N", "localhost"]):
            log = open(folder / f"{command[0]}.out", "w")  # noqa: SIM115 (closed with the daemon)
            daemons.append((subprocess.Popen(command, env=env, stdout=log, stderr=log), log))

        def idle() -> bool:
            shown = subprocess.run(["sinfo", "-h", "-o", "%t"], env=env, capture_output=True,
                                   text=True, timeout=10)  # fmt: skip
            return shown.stdout.strip() == "idle"

        _wait(idle, "no idle node", 60)
        yield "debug"
    finally:
        subprocess.run(
            ["scancel", "--full", "-u", "root"], env=env, capture_output=True, timeout=10
        )
        for process, log in reversed(daemons):
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
            log.close()
        SYSTEM_CONF.unlink(missing_ok=True)
