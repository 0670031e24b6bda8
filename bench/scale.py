#!/usr/bin/env python3
"""Benchmark `auditready verify` over several files with `--jobs 1`, `--jobs 2` and a Dask LocalCluster of 2
workers (`--dask-scheduler`), in one run, printed as ratios to `--jobs 1`.

    python bench/scale.py [--files 4] [--size-mb 100] [--source LOG] [--workdir DIR] [--repeat 3] [--keep]

1. Builds --files logs of --size-mb each from a real OpenBao run (bench/run.py's builder: fresh request ids and
   times in every copy), mode 0600, and 4 canaries (absent from the logs) to look for.
2. Runs `auditready verify FILES --jobs 1` and `--jobs 2`, alternating, --repeat times each, with `sha256sum` over
   the same files, before any cluster exists (an idle LocalCluster's four processes take about 8 % of a core, which
   `--jobs 2` needs on a 2-core machine).
3. Starts a Dask LocalCluster (2 worker processes, 1 thread each, loopback, no dashboard): its start-up is not
   counted, as a cluster's would not be; each run's connection, task submission and merging are. Runs `--jobs 1`
   and `--dask-scheduler ADDRESS` alternating, so that Dask is compared with one job beside the same idle cluster.
4. Checks that all of them print the same verdicts and findings, and prints the medians (wall time, and the CPU time
   of the command with the workers it forked), MB/s, the speed-ups, and the load average before and after (on a
   machine other work shares, the speed-up is what is left free).

Not run by CI (tests/test_parallel.py runs it on a tiny size).
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from run import build, versions  # noqa: E402  (bench/run.py, beside this script)

_TIMING = re.compile(r"(?m)^\s+\S.*: \d+ lines, [\d.]+ MB in [\d.]+ s$|(?<=MB in )[\d.]+(?= s)")


def timed(cmd: list[str]) -> tuple[float, float, int]:
    """(wall seconds, CPU seconds of the process and the workers it reaped, exit status). Dask's workers are not
    its children: their CPU time is not in it."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _pid, status, usage = os.wait4(proc.pid, 0)
    return time.perf_counter() - t0, usage.ru_utime + usage.ru_stime, os.waitstatus_to_exitcode(status)


def _verdicts(out: str) -> str:
    """The output without its timings: what must be the same whichever way the files were read."""
    return _TIMING.sub("", out)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--files", type=int, default=4)
    ap.add_argument("--size-mb", type=float, default=100, help="size of each file")
    ap.add_argument("--source", type=Path, default=HERE.parent / "fixtures" / "openbao" / "clean.log",
                    help="a real OpenBao audit log to replicate (default: the recorded fixture)")
    ap.add_argument("--workdir", type=Path, help="where the built logs go (default: a temp folder)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--keep", action="store_true", help="keep the built logs")
    args = ap.parse_args()
    from distributed import LocalCluster

    work = args.workdir or Path(tempfile.mkdtemp(prefix="auditready-scale-"))
    work.mkdir(parents=True, exist_ok=True)
    canaries = work / "canaries.txt"
    canaries.write_text("".join(secrets.token_urlsafe(32) + "\n" for _ in range(4)))
    (work / "auditready.toml").write_text("require_tamper_evidence = false\nretention_days = 0\n")
    logs = []
    t0 = time.perf_counter()
    total = 0
    for i in range(args.files):
        log = work / f"audit-{i}.log"
        total += build(args.source, log, int(args.size_mb * 1e6))
        logs.append(str(log))
    mb = total / 1e6
    print(f"built {args.files} files, {mb:.1f} MB in all, in {time.perf_counter() - t0:.1f} s")
    print(versions() + f"; {os.cpu_count()} cores; load average before: {os.getloadavg()}")
    auditready = shutil.which("auditready", path=str(Path(sys.executable).parent)) or "auditready"
    base = [auditready, "verify", *logs, "--canaries", str(canaries), "--config", str(work / "auditready.toml")]
    local = {"--jobs 1": [*base, "--jobs", "1"], "--jobs 2": [*base, "--jobs", "2"]}
    outputs = {name: subprocess.run(cmd, capture_output=True, text=True, timeout=1800).stdout
               for name, cmd in local.items()}  # a first run each (not timed): the page cache
    rows: dict[str, list[tuple[float, float, int]]] = {name: [] for name in local}
    rows["sha256sum"] = []
    sha = shutil.which("sha256sum")
    for _ in range(args.repeat):  # no cluster yet: its idle processes take about 8 % of a core, which --jobs 2 needs
        for name, cmd in local.items():
            rows[name].append(timed(cmd))
        if sha:
            rows["sha256sum"].append(timed([sha, *logs]))
    beside = "--jobs 1 (cluster idle)"
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None) as cluster:
        runs = {beside: local["--jobs 1"], "dask 2 workers": [*base, "--dask-scheduler", cluster.scheduler_address]}
        outputs["dask 2 workers"] = subprocess.run(runs["dask 2 workers"], capture_output=True, text=True,
                                                   timeout=1800).stdout  # not timed: the workers' imports
        rows.update({name: [] for name in runs})
        for _ in range(args.repeat):  # Dask against one job measured beside the same idle cluster
            for name, cmd in runs.items():
                rows[name].append(timed(cmd))
    same = len({_verdicts(o) for o in outputs.values()}) == 1
    med = {}
    for name, got in rows.items():
        if not got:
            continue
        secs = statistics.median(r[0] for r in got)
        med[name] = secs
        cpu = statistics.median(r[1] for r in got)
        shown = "n/a (remote workers)" if name.startswith("dask") else f"{cpu:.2f} s"
        print(f"{name:24s} {mb / secs:8.1f} MB/s  (median of {len(got)}: {secs:.2f} s wall)  CPU {shown}  "
              f"exit {sorted({r[2] for r in got})}")
    print(f"speed-up over --jobs 1: --jobs 2 {med['--jobs 1'] / med['--jobs 2']:.2f}x, dask 2 workers "
          f"{med[beside] / med['dask 2 workers']:.2f}x (over {beside}); same verdicts and findings: "
          f"{'yes' if same else 'NO'}")
    print(f"load average after: {os.getloadavg()}")
    if not args.keep and args.workdir is None:
        shutil.rmtree(work, ignore_errors=True)
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
