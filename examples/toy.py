"""The PBT paper's toy example (Jaderberg et al. 2017, Figure 2) through populace's public API.

Two members maximise Q(θ) = 1.2 − (θ₀² + θ₁²) but can only follow the gradient of the surrogate
Q̂(θ|h) = 1.2 − (h₀θ₀² + h₁θ₁²), where h = (h₀, h₁) ∈ [0, 1]² are the hyperparameters. Each
member starts at θ = (0.9, 0.9) with h drawn at random. Four arms are compared: PBT (exploit and
explore), explore only, exploit only, and no interaction (independent training, like a grid or
random search). The script prints the median best Q over seeds and writes a figure like the
paper's: θ trajectories on Q's contours and Q over steps.

    python examples/toy.py                   # 20 seeds, figure in examples/out/toy.png
    python examples/toy.py --seeds 5 --no-plot
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

import populace as pop

LR = 0.01
BUDGET = 100
INTERVAL = 4
THETA0 = (0.9, 0.9)
SPACE = pop.SearchSpace(h0=pop.Uniform(0.0, 1.0), h1=pop.Uniform(0.0, 1.0))

ARMS = {  # PBT with populace's defaults, and the paper's three ablations
    "PBT": dict(exploit=pop.TruncationExploit(), explore=pop.PerturbOrResampleExplore()),
    "explore only": dict(
        exploit=pop.NoExploit(explore=True), explore=pop.PerturbOrResampleExplore()
    ),
    "exploit only": dict(exploit=pop.TruncationExploit(), explore=pop.NoExplore()),
    "no interaction": dict(exploit=pop.NoExploit(), explore=pop.NoExplore()),
}


def q(theta: np.ndarray) -> float:
    """The true objective."""
    return float(1.2 - np.sum(theta**2))


def make_train(trace: list[tuple[int, int, float, float]] | None = None):
    """A training function; ``trace`` collects (member, step, θ₀, θ₁) for the figure."""

    def train(member: pop.Member) -> None:
        if member.checkpoint is not None:
            state = member.checkpoint.load()
            theta, step = np.array(state["theta"]), int(state["step"])
        else:
            theta, step = np.array(THETA0), 0
        if trace is not None:
            trace.append((member.id, step, *theta))
        h = np.array([member.params["h0"], member.params["h1"]])
        while step < member.budget:
            theta = theta - LR * 2.0 * h * theta  # gradient ascent on the surrogate Q̂
            step += 1
            if trace is not None:
                trace.append((member.id, step, *theta))
            member.report(step, q(theta), checkpoint={"theta": theta, "step": step})

    return train


def run_arm(arm: str, seed: int, trace: list | None = None) -> pop.Population:
    return pop.run(
        make_train(trace),
        SPACE,
        population=2,
        budget=BUDGET,
        interval=INTERVAL,
        storage="memory",
        name=f"toy-{arm}-{seed}",
        seed=seed,
        progress=False,
        **ARMS[arm],
    )


def best_q_by_step(result: pop.Population) -> dict[int, float]:
    """Best Q across members at each step (the population's best-so-far curve)."""
    best: dict[int, float] = defaultdict(lambda: -np.inf)
    for r in result.results():
        best[r.step] = max(best[r.step], r.score)
    return dict(best)


def plot(traces: dict[str, list], curves: dict[str, dict[int, float]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, len(traces), figsize=(4 * len(traces), 7.5))
    grid = np.linspace(-0.05, 1.0, 200)
    x, y = np.meshgrid(grid, grid)
    for col, (arm, trace) in enumerate(traces.items()):
        ax = axes[0, col]
        ax.contour(x, y, 1.2 - x**2 - y**2, levels=12, cmap="viridis", linewidths=0.7)
        for member, colour in ((0, "tab:red"), (1, "tab:blue")):
            points = [(t0, t1) for m, _s, t0, t1 in trace if m == member]
            ax.plot(*zip(*points, strict=True), ".", ms=2.5, color=colour, label=f"member {member}")
        ax.set_title(arm)
        ax.set_xlabel("θ₀")
        ax.set_ylabel("θ₁")
        ax.set_aspect("equal")
        ax.legend(loc="upper left", fontsize=7)
        steps = sorted(curves[arm])
        axes[1, col].plot(steps, [curves[arm][s] for s in steps], color="black")
        axes[1, col].set_ylim(-0.45, 1.25)
        axes[1, col].axhline(1.1715, color="grey", lw=0.6, ls="--")
        axes[1, col].set_xlabel("step")
        axes[1, col].set_ylabel("best Q")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "out" / "toy.png")
    parser.add_argument("--json", type=Path, help="also write the figures as JSON here")
    parser.add_argument("--no-plot", action="store_true")
    args = parser.parse_args(argv)

    checkpoints = (25, 50, 100)
    summary: dict[str, dict[str, float]] = {}
    traces: dict[str, list] = {}
    curves: dict[str, dict[int, float]] = {}
    print(
        f"toy PBT: population 2, lr {LR}, interval {INTERVAL}, budget {BUDGET}, "
        f"{args.seeds} seeds; median best Q"
    )
    print(f"{'arm':<16}" + "".join(f"{'step ' + str(s):>11}" for s in checkpoints))
    for arm in ARMS:
        per_step: dict[int, list[float]] = defaultdict(list)
        for seed in range(args.seeds):
            trace: list | None = [] if seed == 0 else None
            curve = best_q_by_step(run_arm(arm, seed, trace))
            if seed == 0:
                traces[arm], curves[arm] = trace or [], curve
            for s in checkpoints:
                per_step[s].append(curve[s])
        summary[arm] = {f"step_{s}": statistics.median(per_step[s]) for s in checkpoints}
        print(f"{arm:<16}" + "".join(f"{summary[arm][f'step_{s}']:>11.4f}" for s in checkpoints))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"seeds": args.seeds, "median_best_q": summary}, indent=1))
    if not args.no_plot:
        plot(traces, curves, args.out)
        print(f"figure written to {args.out}")
    target = 1.13
    ok = summary["PBT"]["step_100"] >= target
    print(
        f"PBT median best Q at step 100: {summary['PBT']['step_100']:.4f} "
        f"({'meets' if ok else 'misses'} the target {target}; optimum in the box 1.1715)"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
