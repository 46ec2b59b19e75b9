"""Helpers shared by the benchmarks: timing statistics, tables, JSON results, and processes that
end with the benchmark."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import platform
import signal
import sqlite3
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import populace as pop
from populace.controller import MemberState, decision_to_dict

RESULTS = Path(__file__).parent / "results"


def summary_ms(samples_ns: list[int]) -> dict[str, float]:
    """Median, p99 and mean of nanosecond samples, in milliseconds."""
    ordered = sorted(samples_ns)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return {
        "n": len(ordered),
        "median_ms": statistics.median(ordered) / 1e6,
        "p99_ms": p99 / 1e6,
        "mean_ms": statistics.fmean(ordered) / 1e6,
    }


def table(title: str, header: list[str], rows: list[list[Any]]) -> str:
    """A plain text table."""
    cells = [header] + [[f"{c:.4g}" if isinstance(c, float) else str(c) for c in r] for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    lines = [title, "  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True))]
    lines += ["  ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)) for row in cells[1:]]
    return "\n".join(lines)


def write_results(name: str, data: dict[str, Any], folder: Path = RESULTS) -> Path:
    """Write ``data`` with machine facts to ``<folder>/<name>.json`` (benchmarks/results/)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.json"
    payload = {
        "benchmark": name,
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "processor": platform.processor() or platform.machine(),
        },
        **data,
    }
    path.write_text(json.dumps(payload, indent=1))
    return path


# Processes: the fault and soak benchmarks start a driver (``populace run``) and kill its
# workers; whatever way the benchmark ends, none of them may outlive it.


def process_facts(pid: int) -> tuple[str, int, int, int] | None:
    """State, parent, process group and session of ``pid`` from /proc (Linux); None if gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    state, parent, group, session = stat[stat.rindex(")") + 2 :].split()[:4]
    return state, int(parent), int(group), int(session)


def alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie has exited: it only waits to be reaped)."""
    facts = process_facts(pid)
    return facts is not None and facts[0] not in ("Z", "X")


def group_processes(group: int) -> list[int]:
    """The live processes of process group ``group``."""
    pids = [int(p.name) for p in Path("/proc").iterdir() if p.name.isdigit()]
    return [p for p in pids if (f := process_facts(p)) and f[2] == group and alive(p)]


def children(pid: int) -> list[int]:
    """The worker processes ``pid`` spawned (Linux), not multiprocessing's resource tracker.

    Each thread lists the children it started: a worker restarted by the driver's supervisor
    thread is not the main thread's.
    """
    pids = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(FileNotFoundError, ProcessLookupError):
            pids += [int(c) for c in (task / "children").read_text().split()]
    workers = []
    for child in pids:
        with contextlib.suppress(FileNotFoundError, ProcessLookupError):
            if b"spawn_main" in Path(f"/proc/{child}/cmdline").read_bytes():
                workers.append(child)
    return workers


class ProcessGroups:
    """Starts commands each in a process group of its own, and ends every group on exit.

    A driver's workers are in its group and stay there when the driver is killed alone, so
    ending the group ends the workers it orphaned too. The groups stay in this process's session:
    whoever ends that session (a test's timeout) ends them even if this process was SIGKILLed.
    """

    def __init__(self, grace: float = 5.0) -> None:
        self.grace = grace
        self.groups: list[int] = []

    def __enter__(self) -> ProcessGroups:
        return self

    def __exit__(self, *exc: object) -> None:
        self.end()

    def start(self, command: list[str], **options: Any) -> subprocess.Popen[bytes]:
        """``subprocess.Popen(command, **options)`` as the leader of a new process group."""
        if sys.version_info >= (3, 11):
            options["process_group"] = 0
        else:
            options["preexec_fn"] = os.setpgrp
        process = subprocess.Popen(command, **options)
        self.groups.append(process.pid)
        return process

    def end(self) -> None:
        """SIGTERM every group, SIGKILL what is left after ``grace`` seconds; wait for them."""
        for sig, wait in ((signal.SIGTERM, self.grace), (signal.SIGKILL, 60.0)):
            for group in self.groups:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(group, sig)
            deadline = time.monotonic() + wait
            while any(map(group_processes, self.groups)) and time.monotonic() < deadline:
                time.sleep(0.05)
        for group in self.groups:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(group, os.WNOHANG)  # the leaders are our children: reap them


def _interrupt_once(signum: int, frame: object) -> None:
    # Later signals must not cut the cleanup short; a handler (not SIG_IGN) is not inherited by
    # the processes started meanwhile.
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: None)
    if signum == signal.SIGINT:
        raise KeyboardInterrupt
    raise SystemExit(128 + signum)


def exit_cleanly_on_signals() -> None:
    """Make SIGTERM and SIGINT unwind the main thread (``finally`` blocks and context managers
    run: process groups end, the PostgreSQL server stops) instead of killing it at once."""
    signal.signal(signal.SIGTERM, _interrupt_once)
    signal.signal(signal.SIGINT, _interrupt_once)


# A population trained under faults: what was stored meanwhile, what is left at the end, and
# what the storage says about a run that did not finish.


class Monitor:
    """Polls the stored results every ``every`` seconds: every key seen, and the keys that
    vanished between two polls (results dropped by a rewind), split into ready points' and the
    others."""

    def __init__(self, url: str, name: str, every: float = 0.2) -> None:
        self.population = pop.load(url, name)
        self.every = every
        self.seen: dict[tuple[int, int, int], bool] = {}
        self.dropped = Counter[str]()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)

    def __enter__(self) -> Monitor:
        self._thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, *exc: object) -> None:
        self._stop.set()
        # Interrupted, do not wait for a poll that may be retrying through a lost database: the
        # cleanup after it (ending the driver, stopping the server) must run now.
        self._thread.join(timeout=None if kind is None else 0.5)

    def _poll(self) -> None:
        storage = self.population.storage
        previous: dict[tuple[int, int, int], bool] = {}
        while not self._stop.wait(self.every):
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


def count_losses(population: pop.Population, monitor: Monitor) -> dict[str, Any]:
    """What the stored population says at the end, against what the monitor saw meanwhile."""
    storage = population.storage
    results = storage.results(population.id)
    decisions = storage.decisions(population.id)
    members = storage.members(population.id)
    final = {(r.member, r.generation, r.step) for r in results}
    gone = [key for key in monitor.seen if key not in final]
    return {
        "members": len(members),
        "finished": sum(m.state == MemberState.FINISHED for m in members),
        "failed": sum(m.state == MemberState.FAILED for m in members),
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
    }


def _fields(record: Any) -> dict[str, Any]:
    """A storage record as JSON-able data."""
    data = {f.name: getattr(record, f.name) for f in dataclasses.fields(record)}
    return {k: dict(v) if isinstance(v, Mapping) else v for k, v in data.items()}


def member_facts(member: Any, decisions: list[Any], results: list[Any]) -> dict[str, Any]:
    """A member's row (step, last_decision_step, generation, checkpoint_step, lease...), the
    decisions stored for it in its generation, its last results, and a note when it is ready
    at a step whose decision is stored already: one it should apply, not wait for."""
    mine = [d for d in decisions if d.member == member.id and d.generation == member.generation]
    facts = {
        **_fields(member),
        "decisions_in_generation": [
            {**_fields(d), "decision": decision_to_dict(d.decision)} for d in mine
        ],
        "last_results": [
            {"generation": r.generation, "step": r.step, "ready": r.ready, "owner": r.owner}
            for r in results
            if r.member == member.id
        ][-5:],
    }
    ready = member.state == MemberState.RUNNING and member.last_decision_step < member.step
    if ready and any(d.step == member.step for d in mine):
        facts["note"] = (
            f"ready at step {member.step} of generation {member.generation}, whose decision is "
            "stored already"
        )
    return facts


def diagnose(url: str, name: str, log: Path) -> dict[str, Any]:
    """What the storage says about a run that did not finish (call it once its processes are
    gone): each member not finished, the workers, the end of the driver's log ``log``. A SQLite
    database is copied next to the log, to be opened with ``pop.load``."""
    try:
        population = pop.load(url, name)
        storage = population.storage
        members = storage.members(population.id)
        decisions = storage.decisions(population.id)
        results = storage.results(population.id)
        workers = [_fields(w) for w in storage.workers(population.id)]
    except pop.PopulaceError as exc:
        return {"error": f"cannot read the population: {exc}"}
    diagnosis: dict[str, Any] = {
        "members_not_finished": [
            member_facts(m, decisions, results) for m in members if m.state != MemberState.FINISHED
        ],
        "workers": workers,
        "driver_log_tail": log.read_text(errors="replace").splitlines()[-30:],
    }
    if url.startswith("sqlite:///"):
        kept = log.with_name(f"{log.stem}-hung-{int(time.time())}.db")
        with sqlite3.connect(url.removeprefix("sqlite:///")) as source, sqlite3.connect(kept) as to:
            source.backup(to)
        diagnosis["database_copy"] = str(kept)
    return diagnosis


def print_diagnosis(diagnosis: dict[str, Any]) -> None:
    """The diagnosis of a run that did not finish, a few lines per member."""
    if "error" in diagnosis:
        print(diagnosis["error"])
        return
    for m in diagnosis["members_not_finished"]:
        print(
            f"member {m['id']}: {m['state']}, step {m['step']}, last decision at "
            f"{m['last_decision_step']}, generation {m['generation']} (from step "
            f"{m['start_step']}, parent {m['parent_member']}), checkpoint at "
            f"{m['checkpoint_step']}, lease {m['lease_owner']}, failures {m['failures']}"
        )
        for d in m["decisions_in_generation"]:
            decision = {k: v for k, v in d["decision"].items() if k != "reason"}
            print(f"  decision stored at step {d['step']}: {decision}")
        ends = [
            f"{r['generation']}/{r['step']}{'*' if r['ready'] else ''}" for r in m["last_results"]
        ]
        print(f"  last results (generation/step, * at a ready point): {' '.join(ends)}")
        if "note" in m:
            print(f"  NOTE: {m['note']}")
    print(f"workers: {[(w['pid'], w['stopped_at'] is not None) for w in diagnosis['workers']]}")
    print("driver log:", *diagnosis["driver_log_tail"][-10:], sep="\n  ")
    if "database_copy" in diagnosis:
        print(f"database copied to {diagnosis['database_copy']}")
