"""What a job may use of the machine: threads, GPUs, memory, and its CPU's kernels."""

from __future__ import annotations

import fcntl
import os
import tempfile
from pathlib import Path

from bloomtune.errors import UserError


def thread_budget() -> int:
    """Threads this job may use: what the orchestrator granted (Snakemake sets OMP_NUM_THREADS
    to the rule's threads), else every core."""
    granted = os.environ.get("OMP_NUM_THREADS", "")
    if granted.isdigit() and int(granted) > 0:
        return int(granted)
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


GPU_SLOTS = Path(tempfile.gettempdir()) / "bloomtune-gpus"  # one lock per device, machine-wide


_held_gpus: list = []  # the claimed devices' locks, held for this process's life


def gpu_count() -> int:
    """The machine's NVIDIA GPUs, from the driver, without starting TensorFlow."""
    return len(list(Path("/proc/driver/nvidia/gpus").glob("*")))


def claim_gpus(count: int, slots: Path = GPU_SLOTS) -> list[str]:
    """Give this process `count` GPUs of its own and show it only those (CUDA_VISIBLE_DEVICES,
    before TensorFlow starts): the scheduler's where it chose (Slurm sets the variable), else
    free devices, each claimed by a lock that its process holds until it ends, so two jobs side
    by side never share a device and neither takes every device's memory. Returns the devices."""
    if count <= 0:
        return []
    if "CUDA_VISIBLE_DEVICES" in os.environ:  # chosen by Slurm, or by this job's supervisor
        shown = os.environ["CUDA_VISIBLE_DEVICES"]
        devices = [d for d in shown.split(",") if d.strip()]
        # CUDA stops at the first invalid entry: "-1" (or nothing) hides every device.
        if not devices or devices[0].strip().startswith("-"):
            raise UserError(
                f"resources.gpus: this job needs {count} GPU(s) and CUDA_VISIBLE_DEVICES="
                f"{shown!r} hides every GPU, so it would train on the CPU; unset it, or set "
                "resources.gpus: 0 to train on the CPU"
            )
        return devices
    machine = gpu_count()
    if machine == 0:
        raise UserError(
            f"resources.gpus: this job needs {count} GPU(s) and this machine has none (no "
            "NVIDIA devices in /proc/driver/nvidia/gpus); set resources.gpus: 0 to train on "
            "the CPU"
        )
    slots.mkdir(parents=True, exist_ok=True)
    claimed = []
    for device in range(machine):
        fh = open(slots / f"gpu{device}.lock", "a")  # noqa: SIM115 (held for the process's life)
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.close()
            continue
        _held_gpus.append(fh)
        claimed.append(str(device))
        if len(claimed) == count:
            break
    if len(claimed) < count:
        raise UserError(
            f"resources.gpus: this job needs {count} GPU(s) and {len(claimed)} of the machine's "
            f"{machine} are free (others are held by bloomtune jobs, see {slots})"
        )
    os.environ["CUDA_VISIBLE_DEVICES"] = ",".join(claimed)
    return claimed


def configure_tensorflow(threads: int) -> None:
    """Size TensorFlow's thread pools to the budget and quieten its start-up chatter.

    Must run before TensorFlow creates its first op."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(1 if threads <= 2 else 2)
    # Same params, same numbers: deterministic kernels cost little for this small CNN.
    tf.config.experimental.enable_op_determinism()
    for gpu in tf.config.list_physical_devices("GPU"):  # what it uses, not all of it at once
        tf.config.experimental.set_memory_growth(gpu, True)
    tf.get_logger().setLevel("ERROR")


def available_memory() -> int:
    """Bytes available to new allocations (MemAvailable), or all physical memory if unknown."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def job_memory() -> int:
    """Bytes this job is given: the machine's memory (MemTotal), or its cgroup's limit where
    lower (a Slurm job, a container). Not what is free now, which changes with what else runs."""
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    for path in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            text = Path(path).read_text().strip()
        except OSError:
            continue
        if text.isdigit():
            total = min(total, int(text))
    return total


def peak_rss_mb() -> float:
    """This process's peak resident memory so far, MB (what Snakemake's benchmark calls max_rss;
    memory-mapped image pages it has read count)."""
    import resource

    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


# The widest instruction set a CPU offers, by its /proc/cpuinfo flag: oneDNN picks its kernels
# by it at run time (ONEDNN_MAX_CPU_ISA caps the choice), so it can change the last bits.
INSTRUCTION_SETS = [("amx_tile", "AMX"), ("avx512f", "AVX-512"), ("avx2", "AVX2"),
                    ("avx", "AVX"), ("sse4_2", "SSE4.2")]  # fmt: skip


def cpu_info() -> tuple[str | None, set[str], int]:
    """The CPU's model name (None if unknown), its flags and its logical cores, from
    /proc/cpuinfo (one entry per logical core)."""
    names, flags = [], set()
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                key, _, value = line.partition(":")
                if key.strip() == "model name":
                    names.append(value.strip())
                elif key.strip() == "flags" and not flags:
                    flags = set(value.split())
    except OSError:
        pass
    return (names[0] if names else None), flags, len(names)


def cpu_kernels() -> dict:
    """What a training process's numbers depend on beyond params: the CPU, the widest
    instruction set it offers, whether TensorFlow's oneDNN kernels are on (its default on x86;
    TF_ENABLE_ONEDNN_OPTS=0 turns them off), any cap on their instruction set, and the threads
    the job was given."""
    model, flags, _ = cpu_info()
    model = model or "unknown"
    widest = next((name for flag, name in INSTRUCTION_SETS if flag in flags), "unknown")
    onednn = os.environ.get("TF_ENABLE_ONEDNN_OPTS", "1").strip().lower() not in ("0", "false")
    return {
        "cpu": model,
        "instruction_set": widest,
        "onednn": onednn,
        "onednn_max_isa": os.environ.get("ONEDNN_MAX_CPU_ISA") or None,
        "threads": thread_budget(),
    }


def describe_kernels(kernels: dict) -> str:
    """cpu_kernels() in a few words, for the report."""
    if not kernels.get("onednn"):
        return "Eigen kernels (oneDNN off)"
    cap = f", capped at {kernels['onednn_max_isa']}" if kernels.get("onednn_max_isa") else ""
    return f"oneDNN kernels on {kernels['instruction_set']}{cap}"
