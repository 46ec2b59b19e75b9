"""``train`` defined where worker processes cannot import it (a notebook cell in a real Jupyter
kernel, the script that was run, a lambda, a closure) reaches them by value; what cannot be
pickled is named, with the fix that fits where ``train`` lives."""

from __future__ import annotations

import inspect
import os
import sys
import textwrap
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import nbformat
import pytest
from _jupyter import ROOT, execute, install_kernel
from _subprocess import run

import populace as pop

from .workloads import wait_for_both_workers

SETTINGS: dict[str, Any] = dict(population=4, budget=20, interval=5, workers=2, progress=False)


# The same, for a notebook or a script to define.
BOTH_WORKERS = "import os, time\nfrom pathlib import Path\n\n\n" + inspect.getsource(
    wait_for_both_workers
)


def _worker_pids(url: str, name: str) -> set[int]:
    """The processes that reported results of population ``name``, from the stored owners
    (``host:pid:random``); also checks that the population finished."""
    population = pop.load(url, name)
    finished = [("finished", SETTINGS["budget"])] * SETTINGS["population"]
    assert [(m.state, m.step) for m in population.members()] == finished
    return {int(str(r.owner).split(":")[1]) for r in population.results()}


@pytest.fixture
def kernel_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    install_kernel(tmp_path, monkeypatch)


@pytest.mark.slow
@pytest.mark.usefixtures("kernel_dirs")
def test_a_train_defined_in_a_notebook_trains_in_worker_processes(tmp_path: Path) -> None:
    (tmp_path / "scoring.py").write_text("def score(x):\n    return -abs(1.0 - x)\n")
    url = f"sqlite:///{tmp_path / 'runs.db'}"
    cells = [
        "import populace as pop\nimport scoring  # a module next to the notebook",
        BOTH_WORKERS + f"\nARRIVALS = {str(tmp_path / 'arrivals')!r}\nSTEP = 0.01",
        textwrap.dedent("""
            def train(member):
                wait_for_both_workers(ARRIVALS)
                state = member.checkpoint.load() if member.checkpoint is not None else {"x": 0.0}
                x = state["x"]
                for step in range(member.step + 1, member.budget + 1):
                    x += member.params["lr"] + STEP
                    member.report(step, scoring.score(x), checkpoint={"x": x})
        """),
        textwrap.dedent(f"""
            space = pop.SearchSpace(lr=pop.Uniform(0.01, 0.1))
            result = pop.run(train, space, storage={url!r}, name="notebook", **{SETTINGS!r})
            os.getpid()
        """),
        # Where it still fails, the hint speaks of the notebook.
        textwrap.dedent(f"""
            log = open("log.txt", "w")

            def leaky(member):
                log.write(f"{{member.id}}\\n")
                train(member)

            try:
                pop.run(leaky, space, storage={url!r}, name="leaky", **{SETTINGS!r})
            except pop.ConfigurationError as exc:
                message = str(exc)
            else:
                raise AssertionError("an open file reached the worker processes")
            assert "train is defined in this notebook" in message, message
            assert "`log` (a _io.TextIOWrapper)" in message, message
            assert "a .py module that the notebook imports" in message, message
        """),
    ]
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    execute(notebook, tmp_path)
    kernel = int(notebook.cells[3].outputs[0]["data"]["text/plain"])
    pids = _worker_pids(url, "notebook")
    assert kernel in pids and len(pids) == 2  # the kernel's own worker and a spawned one


SCRIPT = """
import sys
sys.path.insert(0, {root!r})
import populace as pop
{both_workers}
OFFSET = 0.01

def climb(member):
    state = member.checkpoint.load() if member.checkpoint is not None else {{"x": 0.0}}
    x = state["x"]
    for step in range(member.step + 1, member.budget + 1):
        x += member.params["lr"] + OFFSET
        member.report(step, -abs(1.0 - x), checkpoint={{"x": x}})
"""

TRAIN = """
def train(member):
    wait_for_both_workers("arrivals")
    climb(member)
"""


@pytest.mark.slow
@pytest.mark.parametrize("where", ["at module level", "under the main guard"])
def test_a_train_defined_in_the_script_that_was_run_trains_in_worker_processes(
    tmp_path: Path, where: str
) -> None:
    # Spawned workers import the script as __mp_main__, where a train under the guard is missing.
    train = TRAIN if where == "at module level" else ""
    guarded = textwrap.indent(TRAIN, "    ") if where == "under the main guard" else ""
    script = tmp_path / "script.py"
    script.write_text(
        SCRIPT.format(root=str(ROOT), both_workers=BOTH_WORKERS)
        + train
        + "\nif __name__ == '__main__':\n"
        + guarded
        + "    space = pop.SearchSpace(lr=pop.Uniform(0.01, 0.1))\n"
        + f"    pop.run(train, space, storage='sqlite:///runs.db', name='script', **{SETTINGS!r})\n"
    )
    done = run([sys.executable, str(script)], cwd=tmp_path, timeout=120)
    assert done.returncode == 0, done.stderr
    pids = _worker_pids(f"sqlite:///{tmp_path / 'runs.db'}", "script")
    assert len(pids) == 2


def _climb_from(start: float, arrivals: Path) -> Callable[[pop.Member], None]:
    def train(member: pop.Member) -> None:
        wait_for_both_workers(arrivals)  # by name: this module is importable
        state: Any = member.checkpoint.load() if member.checkpoint is not None else {"x": start}
        x = state["x"]
        for step in range(member.step + 1, member.budget + 1):
            x += member.params["lr"]
            member.report(step, -abs(1.0 - x), checkpoint={"x": x})

    return train


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["lambda", "closure"])
def test_a_lambda_or_a_closure_trains_in_worker_processes(tmp_path: Path, kind: str) -> None:
    closure = _climb_from(0.0, tmp_path / "arrivals")
    train = closure if kind == "closure" else lambda member: closure(member)
    url = f"sqlite:///{tmp_path / 'runs.db'}"
    space = pop.SearchSpace(lr=pop.Uniform(0.01, 0.1))
    pop.run(train, space, storage=url, name=kind, **SETTINGS)
    pids = _worker_pids(url, kind)
    assert os.getpid() in pids and len(pids) == 2


def test_a_train_that_uses_what_cannot_be_pickled_names_it_and_the_fix(tmp_path: Path) -> None:
    lock = threading.Lock()

    def helper() -> None:
        with lock:
            pass

    def train(member: pop.Member) -> None:
        helper()

    space = pop.SearchSpace(lr=pop.Uniform(0.01, 0.1))
    with pytest.raises(pop.ConfigurationError) as raised:
        pop.run(train, space, storage=f"sqlite:///{tmp_path / 'runs.db'}", **SETTINGS)
    message = str(raised.value)
    assert "is a lambda or a nested function, so worker processes receive it by value" in message
    assert "`lock` (a _thread.lock, used by `helper`) cannot be pickled" in message
    assert "Create `lock` inside train" in message
    assert "make train a function at module level" in message


def test_a_script_whose_train_uses_a_connection_is_told_to_move_it(tmp_path: Path) -> None:
    script = tmp_path / "script.py"
    script.write_text(
        SCRIPT.format(root=str(ROOT), both_workers="")
        + textwrap.dedent(f"""
            import sqlite3
            connection = sqlite3.connect(":memory:")

            def train(member):
                connection.execute("select 1")
                climb(member)

            if __name__ == "__main__":
                space = pop.SearchSpace(lr=pop.Uniform(0.01, 0.1))
                pop.run(train, space, storage="sqlite:///runs.db", **{SETTINGS!r})
        """)
    )
    done = run([sys.executable, str(script)], cwd=tmp_path, timeout=120)
    assert done.returncode == 1
    assert "train is defined in the script that was run" in done.stderr
    assert "`connection` (a sqlite3.Connection) cannot be pickled" in done.stderr
    assert "Create `connection` inside train" in done.stderr
    assert "a .py module that the script imports" in done.stderr


@pytest.mark.slow
@pytest.mark.usefixtures("kernel_dirs")
def test_a_run_in_a_notebook_shows_its_progress_in_the_cell(tmp_path: Path) -> None:
    cells = [
        textwrap.dedent("""
            import time
            import populace as pop

            def train(member):
                for step in range(member.step + 1, member.budget + 1):
                    time.sleep(0.05)  # long enough for the display to be updated in place
                    member.report(step, float(step), checkpoint={})

            space = pop.SearchSpace(lr=pop.Uniform(0.01, 0.1))
            result = pop.run(train, space, population=2, budget=20, interval=5, storage="memory")
        """)
    ]
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    execute(notebook, tmp_path)
    outputs = notebook.cells[0].outputs
    shown = [o for o in outputs if o["output_type"] == "display_data"]
    assert len(shown) == 1, outputs  # one line, updated in place: not one line per refresh
    line = shown[0]["data"]["text/html"]
    assert '<progress value="1.0000"' in line
    assert "PBT train (2 members): 40/40 steps (100%)" in line and "2/2 done" in line
    assert not [o for o in outputs if o.get("name") == "stderr"]  # no terminal bar escaped
