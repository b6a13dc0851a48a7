"""Memory figures and the CPU of the benchmark processes (imported by the scripts beside it)."""
import resource


def rss_mib() -> float:
    """This process's resident memory now, in MiB."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * 4096 / 2**20


def peak_rss_mib() -> float:
    """This process's own peak resident memory: VmHWM (``ru_maxrss`` would carry the parent's peak across the
    fork and exec that start a spawned process)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def cpu_name() -> str:
    """The CPU's model name from /proc/cpuinfo ("?" where there is none)."""
    with open("/proc/cpuinfo") as cpuinfo:
        return next((line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name")), "?")
