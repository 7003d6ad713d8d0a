"""CPU the embedded stack spends with nothing flowing: ClaimFlow processes and, with --postgres, the server's.

`uv run python bench/e2e/idle_cpu.py [--postgres URL]`: starts the stack as bench_cycle.py does (same tuning), lets
it settle 10 s, then reads every process's CPU time over 20 s. PostgreSQL's figure counts every server process on
the machine, so run it on an otherwise idle server.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from bench_cycle import cpu_seconds, process_cpu, tuned_runtime


def postgres_cpu() -> float:
    """CPU seconds of every process named ``postgres``."""
    total = 0.0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            if Path(f"/proc/{entry}/comm").read_text().strip() == "postgres":
                total += cpu_seconds(int(entry))
        except (OSError, ValueError):
            continue  # the process ended meanwhile
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", metavar="URL", help="run every service on this PostgreSQL server")
    parser.add_argument("--seconds", type=float, default=20.0)
    arguments = parser.parse_args()
    runtime = tuned_runtime("claimflow-bench-idle-", arguments.postgres)
    try:
        runtime.prepare()
        runtime.start()
        runtime.wait_ready(within=180.0)
        time.sleep(10.0)  # start-up work (migrations, first looks) out of the window
        before, server_before, started = process_cpu(runtime), postgres_cpu(), time.monotonic()
        time.sleep(arguments.seconds)  # the window measured
        after, server_after = process_cpu(runtime), postgres_cpu()
        wall = time.monotonic() - started
    finally:
        runtime.stop()
        runtime.drop_databases()
    spent = {label: used - before.get(label, 0.0) for label, used in after.items()}
    print(f"idle embedded stack ({'SQLite' if arguments.postgres is None else 'PostgreSQL'}), {wall:.0f} s")
    print(f"ClaimFlow processes: {1000 * sum(spent.values()) / wall:.1f} ms CPU per second")
    if arguments.postgres:
        print(f"PostgreSQL server processes: {1000 * (server_after - server_before) / wall:.1f} ms CPU per second")
    for label, used in sorted(spent.items(), key=lambda item: -item[1]):
        print(f"  {label}: {1000 * used / wall:.1f}")


if __name__ == "__main__":
    main()
