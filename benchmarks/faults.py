"""Fault injection: kill workers, the driver and the database under a running population, corrupt a
checkpoint, and count what was lost.

    python benchmarks/faults.py              # writes benchmarks/results/faults.json
    python benchmarks/faults.py --quick      # a shorter run (for CI)

For each backend (SQLite, and PostgreSQL on a server this script starts on loopback), a driver
(``populace run --workers 8``: itself and 7 worker processes) trains 16 members of a training
function that sleeps 50 ms a step. Meanwhile this script:
- SIGKILLs a random worker process every few seconds (the driver restarts it);
- SIGKILLs the driver once and starts it again with the same command (it resumes; the workers
  it had spawned keep working meanwhile);
- restarts PostgreSQL once (``pg_ctl restart -m fast``: every connection is cut);
- overwrites a few bytes of one member's latest checkpoint blob.
A monitor polls the stored results every 0.2 s. Reported per backend: members finished; results
lost for good (seen stored, absent at the end); results dropped and trained again (a killed
worker's interval in flight, or the steps after a damaged checkpoint: a ready point's result
dropped means more than the interval in flight was lost); duplicate results or decisions; member
generations whose steps were stored out of order (two trainers at once); and the time each fault
took to recover from (until the member the killed process held stored a result again; for the
database restart, until any result was stored again).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from _postgres import PostgresServer, postgres_server

import populace as pop

from _common import table, write_results

HERE = Path(__file__).parent
NAME = "faults"
SPACE = {"lr": {"type": "LogUniform", "low": 1e-3, "high": 1.0}}


class Monitor:
    """Polls the stored results: every key seen, and the keys that vanished between two polls
    (results dropped by a rewind), split into ready points' and the others."""

    def __init__(self, url: str, name: str) -> None:
        self.population = pop.load(url, name)
        self.seen: dict[tuple[int, int, int], bool] = {}
        self.dropped = Counter[str]()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)

    def __enter__(self) -> Monitor:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _poll(self) -> None:
        storage = self.population.storage
        previous: dict[tuple[int, int, int], bool] = {}
        while not self._stop.wait(0.2):
            try:
                now = {(r.member, r.generation, r.step): r.ready for r in storage.results(
                    self.population.id
                )}  # fmt: skip
            except pop.StorageError:  # the database is restarting
                continue
            for key, ready in previous.items():
                if key not in now:
                    self.dropped["ready" if ready else "between ready points"] += 1
            self.seen.update(now)
            previous = now


def children(pid: int) -> list[int]:
    """The worker processes ``pid`` spawned (Linux), not multiprocessing's resource tracker."""
    try:
        pids = [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except (FileNotFoundError, ProcessLookupError):
        return []
    workers = []
    for child in pids:
        with contextlib.suppress(FileNotFoundError):
            if b"spawn_main" in Path(f"/proc/{child}/cmdline").read_bytes():
                workers.append(child)
    return workers


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split()[2]
    except FileNotFoundError:
        return False
    return state != "Z"


def leased_member(population: pop.Population, pid: int) -> int | None:
    """The member a process holds the lease of, if any (owners are ``host:pid:random``)."""
    for m in population.storage.members(population.id):
        if m.lease_owner is not None and m.lease_owner.split(":")[1] == str(pid):
            return m.id
    return None


def corrupt_latest_checkpoint(population: pop.Population, rng: random.Random) -> dict[str, Any]:
    """Overwrite 16 bytes in the middle of a running member's latest checkpoint blob."""
    candidates = [
        m
        for m in population.storage.members(population.id)
        if m.state == "running" and m.checkpoint is not None
    ]
    member = rng.choice(candidates)
    path = Path(population.checkpoints.location(member.checkpoint))  # type: ignore[arg-type]
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 16] = bytes(16)
    path.write_bytes(bytes(data))
    return {"member": member.id, "step": member.checkpoint_step, "ref": member.checkpoint}


def recovery_s(population: pop.Population, member: int | None, after: float) -> float | None:
    """Seconds from ``after`` to the first result ``member`` (any member if None) stored later."""
    times = [
        r.created_at
        for r in population.storage.results(population.id)
        if r.created_at > after and (member is None or r.member == member)
    ]
    return min(times) - after if times else None


def out_of_order(results: list[Any]) -> int:
    """Member generations whose stored steps do not rise with time: two trainers at once."""
    by_member: dict[tuple[int, int], list[int]] = defaultdict(list)
    for r in sorted(results, key=lambda r: (r.created_at, r.id)):
        by_member[(r.member, r.generation)].append(r.step)
    return sum(steps != sorted(set(steps)) for steps in by_member.values())


def run_backend(
    backend: str, url: str, server: PostgresServer | None, settings: dict[str, Any], seed: int
) -> dict[str, Any]:
    rng = random.Random(seed)
    env = {**os.environ, "POPULACE_NOOP_STEP_SECONDS": str(settings["step_seconds"])}
    driver_command = [
        sys.executable, "-m", "populace.cli", "run", f"{HERE / '_noop.py'}:train",
        "--space", json.dumps(SPACE), "--population", str(settings["population"]),
        "--budget", str(settings["budget"]), "--interval", "10", "--workers", "8",
        "--storage", url, "--name", NAME, "--quiet",
    ]  # fmt: skip
    log = open(Path(tempfile.gettempdir()) / f"populace-faults-{backend}.log", "w")  # noqa: SIM115

    def start_driver() -> subprocess.Popen:
        return subprocess.Popen(driver_command, env=env, stdout=log, stderr=log)

    started = time.time()
    driver = start_driver()
    while True:  # the driver creates the population
        with contextlib.suppress(pop.StorageError):
            population = pop.load(url, NAME)
            if population.storage.results(population.id):
                break
        time.sleep(0.2)
    faults: list[dict[str, Any]] = []
    orphans: list[int] = []
    schedule = settings["schedule"]
    with Monitor(url, NAME) as monitor:
        next_kill = time.time() + settings["kill_every"]
        while not population.done:
            now = time.time() - started
            if "corrupt" in schedule and now >= schedule["corrupt"]:
                del schedule["corrupt"]
                faults.append({"fault": "corrupt checkpoint", "at": time.time(),
                               **corrupt_latest_checkpoint(population, rng)})  # fmt: skip
            if "driver" in schedule and now >= schedule["driver"]:
                del schedule["driver"]
                orphans += children(driver.pid)
                member = leased_member(population, driver.pid)
                driver.kill()
                driver.wait()
                faults.append({"fault": "SIGKILL driver", "at": time.time(), "member": member})
                driver = start_driver()
            if server is not None and "database" in schedule and now >= schedule["database"]:
                del schedule["database"]
                at = time.time()
                server.restart()
                faults.append({"fault": "restart PostgreSQL", "at": at,
                               "down_s": time.time() - at, "member": None})  # fmt: skip
            if time.time() >= next_kill:
                next_kill += settings["kill_every"]
                workers = [p for p in children(driver.pid) + orphans if alive(p)]
                if workers:
                    victim = rng.choice(workers)
                    member = leased_member(population, victim)
                    os.kill(victim, signal.SIGKILL)
                    faults.append({"fault": "SIGKILL worker", "at": time.time(), "member": member})
            if driver.poll() is not None and not population.done:
                if sum(f["fault"] == "driver exited early" for f in faults) >= 3:
                    raise SystemExit(f"the driver keeps failing; see {log.name}")
                faults.append({"fault": "driver exited early", "at": time.time(),
                               "code": driver.returncode, "member": None})  # fmt: skip
                driver = start_driver()
            time.sleep(0.1)
        finished_at = time.time()
    driver.wait(timeout=120)
    for pid in orphans:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    log.close()
    storage = population.storage
    results = storage.results(population.id)
    decisions = storage.decisions(population.id)
    members = storage.members(population.id)
    final = {(r.member, r.generation, r.step) for r in results}
    gone = [key for key in monitor.seen if key not in final]
    for fault in faults:
        if "member" in fault:
            fault["recovery_s"] = recovery_s(population, fault["member"], fault["at"])
        fault["at"] = round(fault["at"] - started, 2)
    return {
        "backend": backend,
        "members": len(members),
        "finished": sum(m.state == "finished" for m in members),
        "failed": sum(m.state == "failed" for m in members),
        "failures_recorded": sum(m.failures for m in members),
        "results": len(results),
        "lost_ready_results": sum(monitor.seen[key] for key in gone),
        "lost_in_flight_results": sum(not monitor.seen[key] for key in gone),
        "dropped_ready_results": monitor.dropped["ready"],
        "dropped_in_flight_results": monitor.dropped["between ready points"],
        "duplicate_results": sum(
            n - 1 for n in Counter((r.member, r.generation, r.step) for r in results).values()
        ),
        "duplicate_decisions": sum(
            n - 1 for n in Counter((d.member, d.generation, d.step) for d in decisions).values()
        ),
        "out_of_order": out_of_order(results),
        "wall_s": finished_at - started,
        "faults": faults,
        "driver_exit_code": driver.returncode,
    }


@contextlib.contextmanager
def backend_url(backend: str, folder: Path) -> Iterator[tuple[str, PostgresServer | None]]:
    if backend == "sqlite":
        yield f"sqlite:///{folder / 'faults.db'}", None
    else:
        with postgres_server() as server:
            yield server.url, server


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a shorter run (for CI)")
    parser.add_argument("--backends", nargs="+", default=["sqlite", "postgresql"])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, help="folder of the results")
    args = parser.parse_args()
    rows = []
    for backend in args.backends:
        settings: dict[str, Any] = {
            "population": 16,
            "budget": 60 if args.quick else 200,
            "step_seconds": 0.05,
            "kill_every": 3.0,
            "schedule": {"corrupt": 4.0, "driver": 6.0, "database": 9.0}
            if args.quick
            else {"corrupt": 8.0, "driver": 15.0, "database": 25.0},
        }
        with tempfile.TemporaryDirectory() as tmp, backend_url(backend, Path(tmp)) as (url, server):
            row = run_backend(backend, url, server, settings, args.seed)
        rows.append(row)
        print(json.dumps(row, indent=1), flush=True)
    columns = ["backend", "finished", "failed", "lost_ready_results",
               "dropped_ready_results", "dropped_in_flight_results", "duplicate_results",
               "duplicate_decisions", "out_of_order", "wall_s"]  # fmt: skip
    print(table("faults", columns, [[r[c] for c in columns] for r in rows]))
    recoveries = [
        [r["backend"], f["fault"], f["at"], f.get("recovery_s")] for r in rows for f in r["faults"]
    ]
    print(table("recovery", ["backend", "fault", "at s", "recovery s"], recoveries))
    out = write_results(
        "faults", {"quick": args.quick, "rows": rows}, *([args.out] if args.out else [])
    )
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
