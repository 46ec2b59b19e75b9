"""The digits CNN of examples/digits.py, instrumented to measure time inside user code.

Each process appends what it measured to a JSON-lines file in ``$POPULACE_BENCH_DIR``: time
spent in user code (``train`` minus ``report``), every report's duration (split by whether a
decision was due), restart latencies after exploits, when each ``train`` call started, how long
importing the training code took in this process, and its peak RSS.
"""

from __future__ import annotations

import time

IMPORT_STARTED = time.time()  # a spawned worker imports this module (and torch) to unpickle train

import importlib  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import resource  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

import populace as pop  # noqa: E402
from populace.runtime._member import Restart  # noqa: E402

sys.path.insert(0, str(Path(__file__).parents[1] / "examples"))
digits = importlib.import_module("digits")
IMPORT_SECONDS = time.time() - IMPORT_STARTED

_last_unwind: list[float] = []


def _log(record: dict) -> None:
    folder = os.environ.get("POPULACE_BENCH_DIR")
    if folder:
        with open(Path(folder) / f"{os.getpid()}.jsonl", "a") as handle:
            handle.write(json.dumps(record) + "\n")


def train(member: pop.Member) -> None:
    """digits.train, timing user code and populace's own calls separately."""
    started_at = time.time()
    start = time.perf_counter()
    restart_latency = start - _last_unwind.pop() if _last_unwind else None
    inside: list[float] = []
    quiet: list[float] = []
    exploit_report: list[float] = []
    report = member.report

    def timed(step: int, score: float, checkpoint: object = None) -> None:
        t0 = time.perf_counter()
        due = member.step < step and (step % member.interval == 0 or step >= member.budget)
        try:
            report(step, score, checkpoint)
        except Restart:
            exploit_report.append(time.perf_counter() - t0)
            raise
        finally:
            spent = time.perf_counter() - t0
            inside.append(spent)
            if not due:
                quiet.append(spent)

    member.report = timed  # type: ignore[method-assign]
    try:
        digits.train(member)
    finally:
        end = time.perf_counter()
        unwound = bool(exploit_report)
        if unwound:
            _last_unwind.append(end)
        _log(
            {
                "busy": end - start - sum(inside),
                "started_at": started_at,
                "import_s": IMPORT_SECONDS,
                "quiet_reports": quiet,
                "exploit_report": exploit_report,
                "restart_latency": restart_latency,
                "rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
            }
        )


def plain(population: int, budget: int, seed: int) -> float:
    """The same members trained one after another with no framework; returns busy seconds."""
    import numpy as np
    import torch

    torch.set_num_threads(1)
    rng = np.random.default_rng(seed)
    data = digits.splits()
    x, y = data["train"]
    loss_fn = torch.nn.CrossEntropyLoss()
    start = time.perf_counter()
    for _ in range(population):
        params = digits.SPACE.sample(rng)
        net = digits.model()
        opt = torch.optim.SGD(
            net.parameters(),
            lr=params["lr"],
            momentum=params["momentum"],
            weight_decay=params["weight_decay"],
        )
        for _epoch in range(budget):
            net.train()
            order = torch.randperm(len(x))
            for first in range(0, len(x), params["batch_size"]):
                batch = order[first : first + params["batch_size"]]
                opt.zero_grad()
                loss_fn(net(x[batch]), y[batch]).backward()
                opt.step()
            digits.accuracy(net, data["val"])
    return time.perf_counter() - start
