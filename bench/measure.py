"""Run one command and report the resources of that process alone, as JSON.

``python -S bench/measure.py RESULT.json TIMEOUT -- CMD...`` starts CMD (stdin, stdout
and stderr inherited), waits for it, and writes its exit code, wall seconds, CPU seconds
and peak RSS to RESULT.json; it exits 0 unless it could not run CMD at all.

Why a launcher: Linux counts in a process's peak RSS the address space it had *before*
``exec``, that is a copy of its parent at fork time. Started straight from the bench
(which holds the sandbox's ground truth), every contender would report at least the
bench's own size. Started from this small, stdlib-only process, the figure is the
contender's own (a contender smaller than this launcher, ~10 MB, would read as 10 MB).
"""

import json
import os
import signal
import sys
import time


def main(argv: list[str]) -> int:
    result, timeout, separator, *cmd = argv
    if separator != "--" or not cmd:
        print("usage: measure.py RESULT.json TIMEOUT -- CMD...", file=sys.stderr)
        return 2
    start = time.perf_counter()
    pid = os.posix_spawnp(cmd[0], cmd, os.environ)
    signal.signal(signal.SIGALRM, lambda *_: os.kill(pid, signal.SIGKILL))
    signal.setitimer(signal.ITIMER_REAL, float(timeout))
    _, status, usage = os.wait4(pid, 0)
    signal.setitimer(signal.ITIMER_REAL, 0)
    wall = time.perf_counter() - start
    with open(result, "w", encoding="utf-8") as out:
        json.dump(
            {
                "exit_code": os.waitstatus_to_exitcode(status),
                "wall": wall,
                "cpu": usage.ru_utime + usage.ru_stime,
                "peak_rss_kb": usage.ru_maxrss,
            },
            out,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
