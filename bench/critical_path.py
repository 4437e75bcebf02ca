"""A command's wall time on an otherwise idle machine, estimated on a busy one.

    python bench/critical_path.py [--cores 2] -- ingest run CORPUS --out DIR --no-progress

Runs the command and, every 10 ms, reads each thread of its process tree from
/proc: the nanoseconds it ran and waited in the run queue (`schedstat`), and each
process's RSS. Per interval, the tree's CPU work is divided by how many of its threads
wanted a core then (ran or waited for one most of the interval), at most `--cores`;
an interval in which none wanted one (the disk, a sleep) counts at its length. The sum
is the wall the command would take with the cores to itself: what a run's structure
costs (a core idle while one process works alone), apart from how loaded the machine
is. Printed: the wall, that estimate, the CPU, the CPU spent while only one thread
wanted a core ("serial"), and the tree's peak RSS by process.

On a shared machine the estimate moves by a few tenths of a second between runs of
one command (how the load interleaves with the threads changes which of them wait);
compare commands in alternating runs, several of each.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import time
from dataclasses import dataclass, field

INTERVAL_SECONDS = 0.01
# A thread that ran or waited for a core this share of an interval wanted one.
WANTING_SHARE = 0.4


@dataclass
class Estimate:
    wall: float = 0.0
    quiet_wall: float = 0.0
    cpu: float = 0.0
    serial_cpu: float = 0.0
    peak_rss: int = 0
    peak_by_process: dict[int, int] = field(default_factory=dict)


def tree(root: int) -> list[int]:
    """`root` and its descendants."""
    found, i = [root], 0
    while i < len(found):
        try:
            for tid in os.listdir(f"/proc/{found[i]}/task"):
                try:
                    with open(f"/proc/{found[i]}/task/{tid}/children") as children:
                        found += [int(c) for c in children.read().split()]
                except OSError:
                    pass
        except OSError:
            pass
        i += 1
    return found


def _read(path: str) -> str | None:
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return None


def measure(command: list[str], cores: int) -> Estimate:
    result = Estimate()
    seen: dict[tuple[int, str], tuple[int, int]] = {}
    started = previous = time.perf_counter()
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL)
    while proc.poll() is None:
        now = time.perf_counter()
        length = (now - previous) * 1e9
        ran_ns, wanting, rss = 0, 0, {}
        for pid in tree(proc.pid):
            statm = _read(f"/proc/{pid}/statm")
            if statm:
                rss[pid] = int(statm.split()[1]) * os.sysconf("SC_PAGE_SIZE")
            try:
                threads = os.listdir(f"/proc/{pid}/task")
            except OSError:
                continue
            for tid in threads:
                stat = _read(f"/proc/{pid}/task/{tid}/schedstat")
                if not stat:
                    continue
                run, wait = map(int, stat.split()[:2])
                run_before, wait_before = seen.get((pid, tid), (0, 0))
                seen[(pid, tid)] = (run, wait)
                ran_ns += run - run_before
                if (run - run_before) + (wait - wait_before) > WANTING_SHARE * length:
                    wanting += 1
        cpu = ran_ns / 1e9
        result.cpu += cpu
        result.quiet_wall += cpu / min(wanting, cores) if wanting else max(cpu, length / 1e9)
        if wanting == 1:
            result.serial_cpu += cpu
        if sum(rss.values()) > result.peak_rss:
            result.peak_rss, result.peak_by_process = sum(rss.values()), rss
        previous = now
        time.sleep(INTERVAL_SECONDS)
    result.wall = time.perf_counter() - started
    if proc.returncode:
        raise SystemExit(f"{' '.join(command)} exited with status {proc.returncode}")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cores", type=int, default=2, help="cores of the idle machine (default 2)")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="the command, after --")
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("no command given")
    load = os.getloadavg()[0]
    e = measure(command, args.cores)
    mib = 1 << 20
    by_process = ", ".join(f"{pid} {rss / mib:.0f}" for pid, rss in e.peak_by_process.items())
    print(f"load {load:.2f}  wall {e.wall:.2f} s  estimated on {args.cores} idle cores {e.quiet_wall:.2f} s  "
          f"cpu {e.cpu:.2f} s  serial cpu {e.serial_cpu:.2f} s  peak {e.peak_rss / mib:.0f} MiB ({by_process})")


if __name__ == "__main__":
    main()
