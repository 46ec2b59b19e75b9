"""Fault injection: kill workers, the driver and the database under a running population, corrupt a
checkpoint, and count what was lost.

    python benchmarks/faults.py              # writes benchmarks/results/faults.json
    python benchmarks/faults.py --quick      # a shorter run (for CI)
    python benchmarks/faults.py --quick --repeat 20   # → benchmarks/results/faults-repeat.json

For each backend (SQLite, and PostgreSQL on a server this script starts on loopback), a driver
(``populace run --workers 8``: itself and 7 worker processes) trains 16 members of a training
function that sleeps 50 ms a step. Meanwhile this script:
- SIGKILLs a random worker process every few seconds (the driver restarts it);
- SIGKILLs the driver once and starts it again with the same command (it resumes; the workers
  it had spawned keep working meanwhile);
- restarts PostgreSQL once (a fast shutdown, as ``pg_ctl restart -m fast``: every connection is
  cut);
- overwrites a few bytes of one member's latest checkpoint blob.
The one-off faults happen at set fractions of the training (15 %, 30 %, 50 %), so every run has each
of them however fast the machine is. A monitor polls the stored results every 0.2 s. Reported per
backend: members finished; results lost for good (seen stored, absent at the end); results dropped
and trained again (a killed worker's interval in flight, or the steps after a damaged checkpoint: a
ready point's result dropped means more than the interval in flight was lost); duplicate results or
decisions; member generations whose steps were stored out of order (two trainers at once); and the
time each fault took to recover from (until the member the killed process held stored a result
again; for the database restart, until any result was stored again).

A run that is not done after ``--run-timeout`` seconds is stopped and diagnosed: the stored row
of each member not finished, its decisions in its generation and its last results, the workers,
the end of the driver's log, and (SQLite) a copy of the database. ``--repeat N`` runs the mode N
times with seeds seed..seed+N-1 (the seed of the faults and of the population) and counts hangs,
failed checks and wall times.

Every driver runs in a process group of its own, which ends with the run (its workers, and the
workers of a killed driver, with it); SIGTERM and SIGINT end this script the same way, stopping
the PostgreSQL server. The groups and the server stay in this script's session, so whoever ends
that session after a SIGKILL of this script ends them all.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from _postgres import PostgresServer, postgres_server

import populace as pop
from populace.controller import MemberState

from _common import (
    Monitor,
    ProcessGroups,
    alive,
    children,
    count_losses,
    diagnose,
    exit_cleanly_on_signals,
    print_diagnosis,
    table,
    write_results,
)

HERE = Path(__file__).parent
NAME = "faults"
SPACE = {"lr": {"type": "LogUniform", "low": 1e-3, "high": 1.0}}


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
        if m.state == MemberState.RUNNING and m.checkpoint is not None
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


class Hung(Exception):
    """The run did not finish within its time limit."""


class DriverFailing(Exception):
    """The driver keeps exiting before the population is done."""


class Driver:
    """The ``populace run`` process under test, started (again) in a process group of its own:
    ending the groups ends it, its workers, and the workers a killed driver left behind."""

    def __init__(
        self, groups: ProcessGroups, command: list[str], env: dict[str, str], log: Any
    ) -> None:
        self.groups, self.command, self.env, self.log = groups, command, env, log
        self.process = self._start()
        self.orphans: list[int] = []

    def _start(self) -> subprocess.Popen[bytes]:
        return self.groups.start(self.command, env=self.env, stdout=self.log, stderr=self.log)

    def workers(self) -> list[int]:
        """The live worker processes: this driver's and those a killed driver left running."""
        return [p for p in children(self.process.pid) + self.orphans if alive(p)]

    def kill_and_restart(self) -> None:
        """SIGKILL the driver alone (its workers carry on) and start the same command again."""
        self.orphans += children(self.process.pid)
        self.process.kill()
        self.process.wait()
        self.process = self._start()

    def restart(self) -> None:
        self.process = self._start()


def wait_for_population(url: str, driver: Driver, deadline: float) -> pop.Population:
    """The population the driver creates, once it has stored a result.

    Raises:
        Hung: if no result is stored by ``deadline``.
        DriverFailing: if the driver exits first.
    """
    while time.time() < deadline:
        if driver.process.poll() is not None:
            raise DriverFailing(
                f"the driver exited ({driver.process.returncode}) before storing a result; see "
                f"{driver.log.name}"
            )
        with contextlib.suppress(pop.StorageError):
            population = pop.load(url, NAME)
            if population.storage.results(population.id):
                return population
        time.sleep(0.2)
    raise Hung("the driver stored no result")


def trained_fraction(population: pop.Population, budget: int) -> float:
    """How far the population is: the members' steps over their budget, 1.0 once every member
    has finished or failed. Faults are scheduled on it, not on the clock, so that each one
    happens in every run however fast the machine is."""
    members = population.storage.members(population.id)
    if all(m.state != MemberState.RUNNING for m in members):
        return 1.0
    return min(0.999, sum(min(m.step, budget) for m in members) / (budget * len(members)))


def inject_faults(
    population: pop.Population,
    driver: Driver,
    server: PostgresServer | None,
    settings: dict[str, Any],
    rng: random.Random,
    started: float,
    deadline: float,
) -> list[dict[str, Any]]:
    """Inject the faults on schedule until every member has finished; returns what was done.

    Raises:
        Hung: if the population is not done by ``deadline``.
        DriverFailing: if the driver exits early a fourth time.
    """
    faults: list[dict[str, Any]] = []
    schedule = dict(settings["schedule"])
    next_kill = time.time() + settings["kill_every"]
    while (progress := trained_fraction(population, settings["budget"])) < 1.0:
        if time.time() > deadline:
            raise Hung(f"not done after {deadline - started:.0f} s")
        if "corrupt" in schedule and progress >= schedule["corrupt"]:
            del schedule["corrupt"]
            faults.append({"fault": "corrupt checkpoint", "at": time.time(),
                           **corrupt_latest_checkpoint(population, rng)})  # fmt: skip
        if "driver" in schedule and progress >= schedule["driver"]:
            del schedule["driver"]
            member = leased_member(population, driver.process.pid)
            driver.kill_and_restart()
            faults.append({"fault": "SIGKILL driver", "at": time.time(), "member": member})
        if server is not None and "database" in schedule and progress >= schedule["database"]:
            del schedule["database"]
            at = time.time()
            server.restart()
            faults.append({"fault": "restart PostgreSQL", "at": at,
                           "down_s": time.time() - at, "member": None})  # fmt: skip
        if time.time() >= next_kill:
            next_kill += settings["kill_every"]
            workers = driver.workers()
            if workers:
                victim = rng.choice(workers)
                member = leased_member(population, victim)
                os.kill(victim, signal.SIGKILL)
                faults.append({"fault": "SIGKILL worker", "at": time.time(), "member": member})
        if driver.process.poll() is not None and not population.done:
            if sum(f["fault"] == "driver exited early" for f in faults) >= 3:
                raise DriverFailing(f"the driver keeps failing; see {driver.log.name}")
            faults.append({"fault": "driver exited early", "at": time.time(),
                           "code": driver.process.returncode, "member": None})  # fmt: skip
            driver.restart()
        time.sleep(0.1)
    return faults


def run_backend(
    backend: str,
    url: str,
    server: PostgresServer | None,
    settings: dict[str, Any],
    seed: int,
    timeout: float,
    folder: Path,
) -> dict[str, Any]:
    """One run: train the population under faults and count what was lost.

    Returns:
        The figures; or, if the run did not finish within ``timeout`` seconds, ``hung: True``
        and a diagnosis of the members that were not finished.
    """
    rng = random.Random(seed)
    env = {**os.environ, "POPULACE_NOOP_STEP_SECONDS": str(settings["step_seconds"])}
    driver_command = [
        sys.executable, "-m", "populace.cli", "run", f"{HERE / '_noop.py'}:train",
        "--space", json.dumps(SPACE), "--population", str(settings["population"]),
        "--budget", str(settings["budget"]), "--interval", "10", "--workers", "8",
        "--storage", url, "--checkpoints", str(folder / "checkpoints"), "--name", NAME,
        "--seed", str(seed), "--quiet",
    ]  # fmt: skip
    log_path = Path(tempfile.gettempdir()) / f"populace-faults-{backend}.log"
    started = time.time()
    deadline = started + timeout
    with open(log_path, "w") as log, ProcessGroups() as groups:
        driver = Driver(groups, driver_command, env, log)
        try:
            population = wait_for_population(url, driver, deadline)
            with Monitor(url, NAME) as monitor:
                faults = inject_faults(population, driver, server, settings, rng, started, deadline)
                finished_at = time.time()
            driver.process.wait(timeout=max(1.0, deadline - time.time()))
        except (Hung, subprocess.TimeoutExpired) as exc:
            groups.end()
            return {"backend": backend, "hung": True, "reason": str(exc),
                    "wall_s": time.time() - started,
                    "diagnosis": diagnose(url, NAME, log_path)}  # fmt: skip
    return {
        "backend": backend,
        **count_losses(population, monitor),
        "out_of_order": out_of_order(population.storage.results(population.id)),
        "wall_s": finished_at - started,
        "faults": [timed(population, fault, started) for fault in faults],
        "driver_exit_code": driver.process.returncode,
    }


def timed(population: pop.Population, fault: dict[str, Any], started: float) -> dict[str, Any]:
    """The fault with the time it took to recover from, and its time relative to the start."""
    if "member" in fault:
        fault = {**fault, "recovery_s": recovery_s(population, fault["member"], fault["at"])}
    return {**fault, "at": round(fault["at"] - started, 2)}


@contextlib.contextmanager
def backend_url(backend: str, folder: Path) -> Iterator[tuple[str, PostgresServer | None]]:
    if backend == "sqlite":
        yield f"sqlite:///{folder / 'faults.db'}", None
    else:
        with postgres_server() as server:
            yield server.url, server


def settings_for(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "population": 16,
        "budget": args.budget or (60 if args.quick else 200),
        "step_seconds": 0.05,
        "kill_every": 3.0,
        # The fraction of the training done at which each fault is injected.
        "schedule": {"corrupt": 0.15, "driver": 0.3, "database": 0.5},
    }


def one_run(backend: str, args: argparse.Namespace, seed: int) -> dict[str, Any]:
    """One run on ``backend`` with storage (and a PostgreSQL server) of its own."""
    settings, timeout = settings_for(args), args.run_timeout
    with tempfile.TemporaryDirectory() as tmp, backend_url(backend, Path(tmp)) as (url, server):
        return run_backend(backend, url, server, settings, seed, timeout, Path(tmp))


def problems(row: dict[str, Any]) -> list[str]:
    """What went wrong in a run that finished: the checks the fault test asserts."""
    checks = {
        "members not finished": row["finished"] != row["members"],
        "members failed": row["failed"] > 0,
        "ready results lost": row["lost_ready_results"] > 0,
        "duplicate results": row["duplicate_results"] > 0,
        "duplicate decisions": row["duplicate_decisions"] > 0,
        "steps out of order": row["out_of_order"] > 0,
        "driver failed": row["driver_exit_code"] != 0,
    }
    return [name for name, failed in checks.items() if failed]


def once(args: argparse.Namespace) -> None:
    rows = []
    for backend in args.backends:
        try:
            row = one_run(backend, args, args.seed)
        except DriverFailing as exc:
            raise SystemExit(str(exc)) from None
        if row.get("hung"):
            print_diagnosis(row["diagnosis"])
            raise SystemExit(f"{backend}: the run hung ({row['reason']}); diagnosis above")
        print(json.dumps(row, indent=1), flush=True)
        rows.append(row)
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


def repeated_run(backend: str, args: argparse.Namespace, seed: int) -> dict[str, Any]:
    """One run of a repeat: its outcome (ok, failed, hang, error), wall time and evidence."""
    started = time.time()
    try:
        row = one_run(backend, args, seed)
    except (DriverFailing, pop.PopulaceError, OSError, RuntimeError) as exc:
        return {"seed": seed, "backend": backend, "outcome": "error", "error": repr(exc),
                "wall_s": time.time() - started}  # fmt: skip
    if row.get("hung"):
        return {"seed": seed, "backend": backend, "outcome": "hang", **row}
    found = problems(row)
    return {"seed": seed, "backend": backend, "outcome": "failed" if found else "ok",
            "problems": found, **row}  # fmt: skip


def repeat_summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    walls = [r["wall_s"] for r in runs]
    outcomes = Counter(r["outcome"] for r in runs)
    return {
        "runs": len(runs),
        "ok": outcomes["ok"],
        "hangs": outcomes["hang"],
        "failures": outcomes["failed"],
        "errors": outcomes["error"],
        "wall_s_median": statistics.median(walls),
        "wall_s_max": max(walls),
    }


def repeat(args: argparse.Namespace) -> None:
    """Run the mode ``args.repeat`` times (seeds seed..seed+N-1) and summarise every outcome."""
    runs = []
    for seed in range(args.seed, args.seed + args.repeat):
        for backend in args.backends:
            run = repeated_run(backend, args, seed)
            runs.append(run)
            print(f"seed {seed} {backend}: {run['outcome']} in {run['wall_s']:.1f} s "
                  f"{run.get('problems') or run.get('reason') or run.get('error') or ''}",
                  flush=True)  # fmt: skip
            if run["outcome"] == "hang":
                print_diagnosis(run["diagnosis"])
    summary = {backend: repeat_summary([r for r in runs if r["backend"] == backend])
               for backend in args.backends}  # fmt: skip
    summary["all"] = repeat_summary(runs)
    columns = ["runs", "ok", "hangs", "failures", "errors", "wall_s_median", "wall_s_max"]
    print(table("faults, repeated", ["backend", *columns],
                [[name, *(s[c] for c in columns)] for name, s in summary.items()]))  # fmt: skip
    out = write_results(
        "faults-repeat",
        {"quick": args.quick, "repeat": args.repeat, "seed": args.seed,
         "run_timeout_s": args.run_timeout, "summary": summary, "runs": runs},
        *([args.out] if args.out else []),
    )  # fmt: skip
    print(f"wrote {out}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a shorter run (for CI)")
    parser.add_argument("--backends", nargs="+", default=["sqlite", "postgresql"])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeat", type=int, metavar="N", help="run N times, seeds seed..seed+N-1")
    parser.add_argument("--run-timeout", type=float, default=300.0, metavar="SECONDS",
                        help="stop a run after this long and diagnose it as hung")  # fmt: skip
    parser.add_argument("--budget", type=int, help="steps per member (overrides the mode's)")
    parser.add_argument("--out", type=Path, help="folder of the results")
    args = parser.parse_args()
    exit_cleanly_on_signals()
    if args.repeat:
        repeat(args)
    else:
        once(args)


if __name__ == "__main__":
    main()
