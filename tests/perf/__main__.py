"""`make bench` (`python -m tests.perf`): the performance table at province scale.

Builds (or reuses) the scale district in PostgreSQL `mp_perf`, starts the app under gunicorn
with Redis db 7, and prints every figure as a ratio against a ceiling measured in the same
run, interleaved A/B/A/B, median of --runs runs with the spread. See docs/performance.md.
"""
import argparse
import os
import platform
import signal
import sys
import time
import traceback
from pathlib import Path

from tests.perf import benchmarks
from tests.perf.database import prepare
from tests.perf.measure import Row, Table
from tests.perf.servers import ROOT, app_env

FULL = {"households": 100_000, "cooperatives": 5_000, "products": 50_000, "orders": 1_000_000}
SMALL = {"households": 3_000, "cooperatives": 150, "products": 1_500, "orders": 30_000}


def parse():
    parser = argparse.ArgumentParser(prog="python -m tests.perf", description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="a small district (a quick check of the harness)")
    for name, default in FULL.items():
        parser.add_argument(f"--{name}", type=int, default=None, help=f"default {default:,}")
    parser.add_argument("--runs", type=int, default=5, help="interleaved A/B pairs per figure (≥5)")
    parser.add_argument("--seconds", type=float, default=3.0, help="length of one throughput run")
    parser.add_argument("--connections", type=int, default=16, help="closed-model clients")
    parser.add_argument("--rebuild", action="store_true", help="seed the database again even if it matches")
    parser.add_argument("--only", default="", help="comma-separated benchmark names")
    parser.add_argument("--database-url", default=os.environ.get(
        "PERF_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1/mp_perf"))
    parser.add_argument("--redis-url", default=os.environ.get("PERF_REDIS_URL", "redis://127.0.0.1:6379/7"))
    return parser.parse_args()


def machine():
    cpu = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    memory = int(Path("/proc/meminfo").read_text().split()[1]) // 1024
    load = os.getloadavg()
    return (f"{os.cpu_count()} cores ({cpu}), {memory:,} MB RAM, {platform.system()} {platform.release()}, "
            f"Python {platform.python_version()}; load average at start {load[0]:.2f}")


def main():
    # Stopped with SIGTERM, unwind so every server started here is stopped too.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    options = parse()
    sizes = dict(SMALL if options.small else FULL)
    sizes.update({name: getattr(options, name) for name in FULL if getattr(options, name) is not None})
    run_dir = ROOT / "instance" / "perf"
    run_dir.mkdir(parents=True, exist_ok=True)
    env = app_env(options.database_url, options.redis_url, UPLOAD_DIR=str(run_dir / "uploads"),
                  MAIL_LOG_PATH=str(run_dir / "mail.log"))
    print(f"machine: {machine()}")
    print("the load generator runs on the SAME machine as the servers (it takes CPU from them; the ratios "
          "share that cost, absolute rates do not mean much)")
    print(f"command: {' '.join(['python -m tests.perf', *sys.argv[1:]])}")
    started = time.perf_counter()
    seed_seconds = prepare(options.database_url, sizes, env)
    context = benchmarks.Context(options=options, sizes=sizes, env=env, run_dir=run_dir, table=Table(),
                                 seed_seconds=seed_seconds)
    only = {name.strip() for name in options.only.split(",") if name.strip()}
    for name, benchmark in benchmarks.ALL:
        if only and name not in only:
            continue
        print(f"\n== {name}", flush=True)
        try:
            benchmark(context)
        except Exception as error:  # one broken benchmark must not lose the others' figures
            traceback.print_exc()
            context.table.add(Row(name, f"FAILED: {type(error).__name__}: {str(error)[:120]}", "", "FAILED"))
    print(f"\nmachine: {machine()}")
    print("load generator: tests/perf/load.py on the same machine as the servers")
    print("district: " + ", ".join(f"{value:,} {name}" for name, value in sizes.items())
          + (f" (seeded in {seed_seconds:.0f} s)" if seed_seconds else " (reused)"))
    print(f"runs: median of {options.runs} interleaved pairs of {options.seconds:g} s, spread lowest–highest; "
          f"{options.connections} closed-model connections")
    print(context.table.render())
    print(f"total {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
