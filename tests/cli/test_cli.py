"""The ``populace`` command for real: a subprocess per call, a SQLite file, a toy training file."""

from __future__ import annotations

import csv
import importlib.util
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from _subprocess import run

TOY = '''
import os, time

def train(member):
    """Walk x toward 1 at the member's rate (a step takes $STEP_SECONDS, default 0); the score
    is minus the distance left."""
    state = member.checkpoint.load() if member.checkpoint is not None else {"x": 0.0, "step": 0}
    x, step = state["x"], state["step"]
    while step < member.budget:
        step += 1
        time.sleep(float(os.environ.get("STEP_SECONDS", "0")))
        x += member.params["lr"] * (1.0 - x)
        member.report(step, -abs(1.0 - x), checkpoint={"x": x, "step": step})
'''
SPACE = {"lr": {"type": "LogUniform", "low": 1e-3, "high": 0.5}}
SETTINGS = ["--population", "4", "--budget", "20", "--interval", "5", "--seed", "3"]
COMMANDS = ["run", "resume", "worker", "status", "show", "best", "export", "plot", "dashboard"]
PASSWORD = "s3cret-pw"


def populace(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run ``python -m populace.cli`` with stdout a pipe (not a terminal), colour forced on."""
    command = [sys.executable, "-m", "populace.cli", *args]
    return run(command, cwd=cwd, timeout=120, env={**os.environ, "FORCE_COLOR": "1"})


def ok(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A working directory holding the training module ``cli_toy.py``."""
    path = tmp_path_factory.mktemp("cli")
    (path / "cli_toy.py").write_text(TOY)
    return path


@pytest.fixture(scope="module")
def trained(folder: Path) -> tuple[str, str]:
    """Population ``train`` trained by ``populace run`` with flags; its storage URL and output."""
    url = f"sqlite:///{folder / 'runs.db'}"
    done = populace(
        "run",
        "cli_toy:train",
        *SETTINGS,
        "--storage",
        url,
        "--space",
        json.dumps(SPACE),
        cwd=folder,
    )
    return url, ok(done)


def export_json(url: str, folder: Path, out: Path) -> dict:
    ok(
        populace(
            "export", "--storage", url, "train", "--format", "json", "--out", str(out), cwd=folder
        )
    )
    return json.loads((out / "train.json").read_text())


def test_run_with_flags_prints_the_best_member(trained: tuple[str, str]) -> None:
    url, out = trained
    assert f"population 'train' in {url}" in out
    assert "best member: " in out and "score: " in out and "at step 20" in out
    assert "params: lr=" in out
    assert "schedule:\n  from step 0: lr=" in out
    assert "checkpoint: sha256:" in out and "checkpoint file: " in out


def test_run_with_a_toml_config_file_and_a_flag_over_it(folder: Path) -> None:
    config = folder / "pbt.toml"
    config.write_text(
        textwrap.dedent(
            f"""
            population = 4
            budget = 20
            interval = 5
            storage = "sqlite:///{folder / "toml.db"}"
            name = "from-toml"
            direction = "maximize"
            exploit = "TournamentExploit"

            [explore]
            type = "PerturbExplore"
            factors = [0.5, 2.0]

            [space.lr]
            type = "Uniform"
            low = 0.01
            high = 0.3
            """
        )
    )
    ok(
        populace(
            "run",
            f"{folder / 'cli_toy.py'}:train",
            "--config",
            str(config),
            "--population",
            "3",
            "--quiet",
            cwd=folder,
        )
    )
    status = ok(populace("status", "--storage", f"sqlite:///{folder / 'toml.db'}", cwd=folder))
    row = next(row for row in map(str.split, status.splitlines()) if row[0] == "from-toml")
    assert row[:5] == ["from-toml", "3", "0", "3", "0"]


@pytest.mark.skipif(importlib.util.find_spec("yaml") is None, reason="PyYAML not installed")
def test_run_with_a_yaml_config_file(folder: Path) -> None:
    config = folder / "pbt.yaml"
    storage = f"sqlite:///{folder / 'yaml.db'}"
    config.write_text(json.dumps({"budget": 10, "interval": 5, "population": 2, "space": SPACE}))
    ok(populace("run", "cli_toy:train", "--config", str(config), "--storage", storage, cwd=folder))
    assert "train" in ok(populace("status", "--storage", storage, cwd=folder))


@pytest.mark.skipif(importlib.util.find_spec("yaml") is not None, reason="PyYAML installed")
def test_a_yaml_config_file_without_pyyaml_says_what_to_install(folder: Path) -> None:
    config = folder / "pbt.yaml"
    config.write_text("budget: 10\n")
    done = populace("run", "cli_toy:train", "--config", str(config), cwd=folder)
    assert done.returncode == 1
    assert done.stderr == "error: reading YAML needs PyYAML: pip install pyyaml\n"


def test_an_unknown_config_setting_is_named(folder: Path) -> None:
    config = folder / "typo.toml"
    config.write_text("budgett = 10\n")
    done = populace("run", "cli_toy:train", "--config", str(config), cwd=folder)
    assert done.returncode == 1
    assert done.stderr.startswith("error: unknown settings ['budgett'] in config file")


def test_status_lists_populations_in_plain_text(trained: tuple[str, str], folder: Path) -> None:
    out = ok(populace("status", "--storage", trained[0], cwd=folder))
    assert "\x1b[" not in out
    lines = out.splitlines()
    assert lines[0] == f"populations in {trained[0]}"
    assert lines[1].split() == [
        "population",
        "members",
        "running",
        "finished",
        "failed",
        "best",
        "score",
    ]
    assert lines[2].split()[:5] == ["train", "4", "0", "4", "0"]


def test_status_of_a_population_lists_its_members(trained: tuple[str, str], folder: Path) -> None:
    out = ok(populace("status", "--storage", trained[0], "train", cwd=folder))
    assert "\x1b[" not in out
    header, *rows = out.splitlines()[1:]
    assert header.split() == [
        "member",
        "state",
        "step",
        "generation",
        "score",
        "params",
        "parent",
        "lease",
        "owner",
    ]
    assert [row.split()[:3] for row in rows] == [[str(i), "finished", "20"] for i in range(4)]
    assert all("lr=" in row for row in rows)
    copied = [row for row in rows if row.split()[3] != "0"]
    assert copied and all("(step " in row for row in copied)  # exploited: parent and step


def test_best_as_text_and_as_json(trained: tuple[str, str], folder: Path) -> None:
    text = ok(populace("best", "--storage", trained[0], "train", cwd=folder))
    data = json.loads(ok(populace("best", "--storage", trained[0], "train", "--json", cwd=folder)))
    assert data["population"] == "train" and data["step"] == 20
    assert f"best member: {data['member']} " in text
    assert set(data["params"]) == {"lr"}
    assert data["schedule"][0]["step"] == 0
    assert len(text.split("schedule:\n")[1].split("checkpoint:")[0].splitlines()) == len(
        data["schedule"]
    )
    checkpoint = data["checkpoint"]
    assert Path(checkpoint["path"]).is_file()
    assert Path(checkpoint["path"]).parent.name == checkpoint["ref"][7:9]
    assert f"checkpoint file: {checkpoint['path']}" in text


def test_export_csv_and_json(trained: tuple[str, str], folder: Path, tmp_path: Path) -> None:
    out = ok(
        populace("export", "--storage", trained[0], "train", "--out", str(tmp_path), cwd=folder)
    )
    tables = ["members", "results", "decisions", "lineage"]
    paths = [tmp_path / f"train-{table}.csv" for table in tables]
    assert out.split() == [str(p) for p in paths]
    rows = {t: list(csv.DictReader(p.open())) for t, p in zip(tables, paths, strict=True)}
    assert len(rows["members"]) == 4
    assert len(rows["results"]) >= 4 * 20
    data = export_json(trained[0], folder, tmp_path / "json")
    assert len(data["members"]) == 4
    assert len(data["results"]) == len(rows["results"])
    assert len(data["decisions"]) == len(rows["decisions"])


@pytest.mark.skipif(importlib.util.find_spec("pyarrow") is not None, reason="pyarrow installed")
def test_parquet_export_without_pyarrow_says_what_to_install(
    trained: tuple[str, str], folder: Path, tmp_path: Path
) -> None:
    done = populace(
        "export",
        "--storage",
        trained[0],
        "train",
        "--format",
        "parquet",
        "--out",
        str(tmp_path),
        cwd=folder,
    )
    assert done.returncode == 1
    assert "pip install pyarrow" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.skipif(importlib.util.find_spec("pyarrow") is None, reason="pyarrow not installed")
def test_parquet_export(trained: tuple[str, str], folder: Path, tmp_path: Path) -> None:
    ok(
        populace(
            "export",
            "--storage",
            trained[0],
            "train",
            "--format",
            "parquet",
            "--out",
            str(tmp_path),
            cwd=folder,
        )
    )
    assert (tmp_path / "train-results.parquet").is_file()


def test_resume_of_a_finished_population_trains_no_further(
    trained: tuple[str, str], folder: Path, tmp_path: Path
) -> None:
    before = export_json(trained[0], folder, tmp_path / "before")
    out = ok(populace("resume", "--storage", trained[0], "train", "cli_toy:train", cwd=folder))
    assert "best member: " in out
    after = export_json(trained[0], folder, tmp_path / "after")
    assert after["results"] == before["results"]
    assert after["decisions"] == before["decisions"]


@pytest.mark.parametrize(
    ("target", "named"),
    [
        ("no_such_module:train", "no module named 'no_such_module'"),
        ("cli_toy:no_such_function", "no function 'no_such_function'"),
        ("missing/toy.py:train", "no file 'missing/toy.py'"),
        ("cli_toy", "is not module:function or path/to/file.py:function"),
    ],
)
def test_a_bad_target_is_a_usage_error_and_stores_nothing(
    folder: Path, tmp_path: Path, target: str, named: str
) -> None:
    database = tmp_path / "never.db"
    done = populace(
        "run",
        target,
        *SETTINGS,
        "--storage",
        f"sqlite:///{database}",
        "--space",
        json.dumps(SPACE),
        cwd=folder,
    )
    assert done.returncode == 2
    assert named in done.stderr and "Traceback" not in done.stderr
    assert not database.exists()


def test_an_unknown_population_lists_the_known_ones(trained: tuple[str, str], folder: Path) -> None:
    done = populace("best", "--storage", trained[0], "nope", cwd=folder)
    assert done.returncode == 1
    assert done.stderr.startswith("error: no population named 'nope'")
    assert "['train']" in done.stderr and "Traceback" not in done.stderr


def test_a_missing_database_file_is_reported_not_created(folder: Path, tmp_path: Path) -> None:
    database = tmp_path / "absent.db"
    done = populace("status", "--storage", f"sqlite:///{database}", cwd=folder)
    assert done.returncode == 1 and "does not exist" in done.stderr
    assert not database.exists()


@pytest.mark.parametrize("command", ["run", "status"])
def test_a_password_in_the_storage_url_is_never_printed(folder: Path, command: str) -> None:
    url = f"postgresql://bob:{PASSWORD}@127.0.0.1:9/pbt"
    extra = ["cli_toy:train", *SETTINGS, "--space", json.dumps(SPACE)] if command == "run" else []
    done = populace(command, *extra, "--storage", url, cwd=folder)
    assert done.returncode == 1
    assert done.stderr.startswith("error: cannot open storage postgresql://bob:***@127.0.0.1:9/pbt")
    assert PASSWORD not in done.stdout + done.stderr


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_documents_itself(folder: Path, command: str) -> None:
    out = ok(populace(command, "--help", cwd=folder))
    assert out.startswith(f"Usage: populace {command} [OPTIONS]")


def test_the_console_script_is_installed() -> None:
    script = Path(sys.executable).with_name("populace")
    assert script.is_file(), "install populace (pip install -e .) to get the console script"
    done = run([str(script), "--help"], timeout=60)
    assert all(f"  {command} " in ok(done) for command in COMMANDS)
    version = run([str(script), "--version"], timeout=60)
    assert ok(version).strip() == "populace, version 0.1.0"
