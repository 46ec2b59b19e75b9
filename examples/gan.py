"""PBT on a small GAN learning a 2-D mixture of 8 Gaussians (the paper's GAN setting, in small).

The data are 8 Gaussians (sigma 0.02) evenly spaced on a circle of radius 2, sampled on the fly.
A generator and a discriminator (two hidden layers of 64 units) are trained with the
non-saturating GAN loss and Adam; eight members search the generator's and the discriminator's
learning rates and Adam's beta1. One step is 100 generator updates (each after one
discriminator update); every 10 steps a member meets a random other member and copies its
generator, discriminator and hyperparameters if that one scores higher (binary tournament), then
perturbs them by x0.5 or x2, as the paper did for GANs.

The same GAN trains one member at a time with ``train(member)`` (the serial or processes
executor) or every member at once with ``train_batch(batch)`` (K generators and K
discriminators stacked on a leading member axis, ``VectorAdam`` with each member's own rates and
beta1: the vectorized executor, one process).

The score is an Inception-score analogue on 2000 generated samples: a fixed classifier (the
posterior of the true mixture) labels each sample, and IS = exp(E_x KL(p(y|x) || p(y))) is 8
when every mode gets the same share of sharp samples and 1 when all samples are at one mode (or
nowhere near a mode). The winner is then scored on 10,000 fresh samples, with the number of
modes it covers and its fraction of good samples.

    python examples/gan.py                         # population 8, 50 steps, 2 workers
    python examples/gan.py --executor vectorized   # population 8, one process
    python examples/gan.py --executor serial --population 4 --budget 10 --interval 5
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Mapping
from typing import Any

import _cli
import numpy as np
import torch
from _slices import load_optimizer
from torch import nn
from torch.nn import functional as F

import populace as pop
import populace.torch as ptorch

SPACE = pop.SearchSpace(
    g_lr=pop.LogUniform(1e-5, 1e-2),
    d_lr=pop.LogUniform(1e-5, 1e-2),
    beta1=pop.Uniform(0.0, 0.9),
)
DIRECTION = "maximize"
# One step = UPDATES generator updates: 50 steps is 5000 updates, ready every 1000.
SETTINGS = {"population": 8, "budget": 50, "interval": 10}
QUICK = {"population": 4, "budget": 4, "interval": 2}

N_MODES = 8
RADIUS = 2.0
SIGMA = 0.02
LATENT = 8  # noise dimensions fed to the generator
HIDDEN = 64  # 128 units cost about 20 % more and did no better in 5000-update trials
BATCH = 64
UPDATES = 100  # generator updates per step
GOOD = 3.0  # a sample within GOOD * SIGMA of a mode is a good sample of that mode
COVERED = 20  # good samples a mode needs to count as covered
# The classifier calls a sample further than REJECT * SIGMA from every mode unplaceable; 4e-6
# of the true samples are that far out.
REJECT = 5.0
VALIDATION_SEED, TEST_SEED = 0, 1  # noise of the validation and test samples
VALIDATION_SAMPLES, TEST_SAMPLES = 2000, 10_000

MODES = RADIUS * torch.tensor(
    [[math.cos(a), math.sin(a)] for a in np.linspace(0.0, 2 * math.pi, N_MODES, endpoint=False)],
    dtype=torch.float32,
)


def real_samples(
    n: int, generator: torch.Generator | None = None, members: int | None = None
) -> torch.Tensor:
    """``n`` points of the true mixture: a uniformly chosen mode plus Gaussian noise.

    [n, 2], or [members, n, 2] with ``members``; on the device of ``generator`` (the global CPU
    RNG if None).
    """
    shape = (n,) if members is None else (members, n)
    device = None if generator is None else generator.device
    modes = torch.randint(N_MODES, shape, generator=generator, device=device)
    noise = torch.randn(*shape, 2, generator=generator, device=device)
    return MODES.to(noise.device)[modes] + SIGMA * noise


def class_probabilities(x: torch.Tensor) -> torch.Tensor:
    """p(y|x) of the fixed classifier: the true mixture's posterior over the modes.

    The softmax runs over the negative squared distances to the modes scaled by the mode sigma,
    plus a reject class at ``REJECT`` sigmas whose mass is spread evenly over the modes: without
    it a blob around the origin would be split into eight confident classes and score 8.
    """
    logits = -torch.cdist(x.double(), MODES.double()).square() / (2 * SIGMA**2)
    reject = torch.full((len(x), 1), -(REJECT**2) / 2, dtype=torch.float64)
    p = torch.softmax(torch.cat([logits, reject], 1), 1)
    return p[:, :N_MODES] + p[:, N_MODES:] / N_MODES


def inception_score(x: torch.Tensor) -> float:
    """exp(E_x KL(p(y|x) || p(y))): from 1 (one mode, or no sharp sample) to 8 (all, evenly)."""
    p = class_probabilities(x)
    log_p = torch.log(p.clamp_min(1e-300))
    kl = (p * (log_p - torch.log(p.mean(0).clamp_min(1e-300)))).sum(1)
    return float(torch.exp(kl.mean()))


def inception_scores(samples: torch.Tensor) -> torch.Tensor:
    """:func:`inception_score` of each member's samples: [K] float64 for samples [K, N, 2]."""
    return torch.tensor([inception_score(x) for x in samples.cpu()], dtype=torch.float64)


def good_per_mode(x: torch.Tensor) -> torch.Tensor:
    """How many samples lie within ``GOOD`` sigmas of each mode."""
    nearest = torch.cdist(x, MODES).min(1)
    good = nearest.values < GOOD * SIGMA
    return torch.bincount(nearest.indices[good], minlength=N_MODES)


def modes_covered(x: torch.Tensor) -> int:
    """Modes with at least ``COVERED`` good samples."""
    return int((good_per_mode(x) >= COVERED).sum())


def fraction_good(x: torch.Tensor) -> float:
    """Share of the samples within ``GOOD`` sigmas of a mode."""
    return float(good_per_mode(x).sum()) / len(x)


def mlp(inputs: int, outputs: int) -> nn.Sequential:
    """``inputs`` -> HIDDEN -> HIDDEN -> ``outputs`` with ReLUs."""
    return nn.Sequential(
        nn.Linear(inputs, HIDDEN),
        nn.ReLU(),
        nn.Linear(HIDDEN, HIDDEN),
        nn.ReLU(),
        nn.Linear(HIDDEN, outputs),
    )


class GAN(nn.Module):
    """Generator (noise -> point) and discriminator (point -> logit of being real) together.

    One module so that a checkpoint and an exploit always carry both.
    """

    def __init__(self) -> None:
        super().__init__()
        self.generator = mlp(LATENT, 2)
        self.discriminator = mlp(2, 1)

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """``n`` generated points, from noise drawn with ``generator`` (the global RNG if None)."""
        return self.generator(torch.randn(n, LATENT, generator=generator))


def optimizers(gan: GAN, params: Mapping[str, float]) -> tuple[torch.optim.Adam, torch.optim.Adam]:
    """Adam for the generator and for the discriminator, with their own learning rates."""
    betas = (params["beta1"], 0.999)
    # fused: one kernel for all parameters, several times faster than the loop on small nets
    return (
        torch.optim.Adam(gan.generator.parameters(), lr=params["g_lr"], betas=betas, fused=True),
        torch.optim.Adam(
            gan.discriminator.parameters(), lr=params["d_lr"], betas=betas, fused=True
        ),
    )


def vector_optimizers(
    generators: ptorch.StackedModule,
    discriminators: ptorch.StackedModule,
    params: Mapping[str, Any],
) -> tuple[ptorch.VectorAdam, ptorch.VectorAdam]:
    """:func:`optimizers` for K stacked GANs: ``params`` holds each value as a [K] tensor.

    The optimizers read the tensors at every step (``batch.params``: the runtime writes the
    explored values into them), so they are passed as they are, not copied.
    """
    betas = (params["beta1"], 0.999)
    return (
        ptorch.VectorAdam(generators.parameters(), lr=params["g_lr"], betas=betas),
        ptorch.VectorAdam(discriminators.parameters(), lr=params["d_lr"], betas=betas),
    )


Forward = Callable[[torch.Tensor], torch.Tensor]


def update_on(
    generate: Forward,
    discriminate: Forward,
    opt_g: torch.optim.Optimizer,
    opt_d: torch.optim.Optimizer,
    noise: torch.Tensor,
    real: torch.Tensor,
) -> None:
    """One discriminator update, then one generator update, with the non-saturating loss.

    ``noise`` [B, LATENT] and ``real`` [B, 2] for one GAN, or [K, B, ...] for K stacked ones
    (``generate`` and ``discriminate`` then take a batch per member). With K members each loss
    is the sum of the members' mean losses: they share no parameter, so each member's gradient
    is the one it would get alone.
    """
    n = real.shape[-2]
    fake = generate(noise)
    logits = discriminate(torch.cat([real, fake.detach()], -2))
    # softplus(-l) = -log sigmoid(l): real points labelled 1, generated ones 0
    d_loss = _mean(F.softplus(-logits[..., :n, :])) + _mean(F.softplus(logits[..., n:, :]))
    opt_d.zero_grad()
    d_loss.backward()
    opt_d.step()
    g_loss = _mean(F.softplus(-discriminate(fake)))  # the generator wants "real"
    opt_g.zero_grad()
    g_loss.backward()
    opt_g.step()


def _mean(losses: torch.Tensor) -> torch.Tensor:
    """Each member's mean over its [B, 1] losses, summed over the members (if stacked)."""
    return losses.mean((-2, -1)).sum()


def update(gan: GAN, opt_g: torch.optim.Optimizer, opt_d: torch.optim.Optimizer) -> None:
    """:func:`update_on` one GAN, with noise and real points from the global RNG."""
    noise = torch.randn(BATCH, LATENT)
    update_on(gan.generator, gan.discriminator, opt_g, opt_d, noise, real_samples(BATCH))


def evaluate(gan: GAN, n: int, seed: int) -> torch.Tensor:
    """``n`` samples of the generator from noise with a fixed seed (the global RNG is untouched)."""
    with torch.no_grad():
        return gan.sample(n, torch.Generator().manual_seed(seed))


def checkpoint(
    gan: GAN, opt_g: torch.optim.Optimizer, opt_d: torch.optim.Optimizer, step: int
) -> dict[str, Any]:
    """The training state: both networks, both optimizers and the RNG states."""
    return ptorch.state(gan, opt_g, step=step, extra={"opt_d": opt_d.state_dict()})


def train(member: pop.Member) -> None:
    """One member: train from its checkpoint (or scratch) to its budget, one step = 100 updates."""
    # Seeded first: the initial weights, and each generation's noise and data, depend only on
    # the member and its generation (a resumed member then restores its own stream).
    ptorch.seed_everything(ptorch.member_seed(member.id, member.generation))
    torch.set_num_threads(1)  # one core per worker process
    gan = GAN()
    opt_g, opt_d = optimizers(gan, member.params)
    step = 0
    if member.checkpoint is not None:
        own = member.checkpoint.member == member.id
        saved = member.checkpoint.load()
        if isinstance(saved, Mapping) and "g" in saved:  # a slice of train_batch's state
            load_slice(saved, gan, opt_g, opt_d)
            step = member.checkpoint.step
        else:
            step = ptorch.restore(saved, gan, opt_g, rng=own)
            opt_d.load_state_dict(saved["extra"]["opt_d"])  # type: ignore[index]
        # explored values win over the restored ones
        ptorch.apply_params(opt_g, member.params, {"g_lr": "lr"})
        ptorch.apply_params(opt_d, member.params, {"d_lr": "lr"})
    while step < member.budget:
        for _ in range(UPDATES):
            update(gan, opt_g, opt_d)
        step += 1
        score = inception_score(evaluate(gan, VALIDATION_SAMPLES, VALIDATION_SEED))
        # report calls the lambda at once, and only at ready points: late binding is right
        state = lambda: checkpoint(gan, opt_g, opt_d, step)  # noqa: B023, E731
        member.report(step, score, checkpoint=state)


def train_batch(batch: pop.Batch) -> None:
    """Every member at once: stacked generators and discriminators, ``VectorAdam``, one report.

    The same updates per step and the same score as :func:`train`, and the same initial weights;
    the noise and the real points differ from the serial path's (one stream for the shard, all
    members' batches drawn at once).
    """
    gans = []
    for member in batch.members:
        torch.manual_seed(ptorch.member_seed(member, 0))  # the serial path's initial weights
        gans.append(GAN())
    device = batch.device
    generators = ptorch.stack_modules([gan.generator for gan in gans]).to(device)
    discriminators = ptorch.stack_modules([gan.discriminator for gan in gans]).to(device)
    opt_g, opt_d = vector_optimizers(generators, discriminators, batch.params)
    if batch.checkpoint is not None:
        # the explored values stay: the optimizers' [K] params are batch.params, left alone
        generators.load_state_dict(batch.checkpoint["g"])
        discriminators.load_state_dict(batch.checkpoint["d"])
        opt_g.load_state_dict(batch.checkpoint["opt_g"])
        opt_d.load_state_dict(batch.checkpoint["opt_d"])
    # The noise and real points differ from the serial path's (which draws each member's from
    # the global RNG seeded per member and generation): one stream for the shard, every
    # member's batch drawn at once. Not in the checkpoint: a resumed shard (or one regrouped
    # after members finished) draws from a seed of its members and its step.
    seed = np.random.SeedSequence([*batch.members, batch.step]).generate_state(1)[0]
    draws = torch.Generator(device=device).manual_seed(int(seed))
    validation = torch.randn(
        VALIDATION_SAMPLES, LATENT, generator=torch.Generator().manual_seed(VALIDATION_SEED)
    ).to(device)  # the noise evaluate() draws: every member is scored on the same noise

    def generate(noise: torch.Tensor) -> torch.Tensor:
        return generators(noise, per_member=True)

    def discriminate(x: torch.Tensor) -> torch.Tensor:
        return discriminators(x, per_member=True)

    def state() -> dict[str, Any]:
        # The live tensors, built at ready points only: an exploit copies slices in place.
        return {
            "g": generators.state_dict(),
            "d": discriminators.state_dict(),
            "opt_g": opt_g.state_dict(),
            "opt_d": opt_d.state_dict(),
        }

    for step in range(batch.step + 1, batch.budget + 1):
        for _ in range(UPDATES):
            noise = torch.randn(batch.size, BATCH, LATENT, generator=draws, device=device)
            real = real_samples(BATCH, draws, members=batch.size)
            update_on(generate, discriminate, opt_g, opt_d, noise, real)
        with torch.no_grad():
            scores = inception_scores(generators(validation))
        batch.report(step, scores, state=state)


def exploit() -> pop.TournamentExploit:
    """Binary tournament: meet one random member and copy it if it scores higher (paper, GANs)."""
    return pop.TournamentExploit()


def explore() -> pop.PerturbExplore:
    """Multiply every hyperparameter by 0.5 or 2 (the paper's GAN perturbation)."""
    return pop.PerturbExplore(factors=(0.5, 2.0))


def load_slice(
    saved: Mapping[str, Any],
    gan: GAN,
    opt_g: torch.optim.Optimizer | None = None,
    opt_d: torch.optim.Optimizer | None = None,
) -> None:
    """Load one member's slice of :func:`train_batch`'s state into an ordinary GAN and, if
    given, its ``torch.optim.Adam`` optimizers (:func:`optimizers`).

    ``g`` and ``d`` are ordinary state dicts. ``opt_g`` and ``opt_d`` hold the optimizers'
    tensors as ``torch.optim.Adam`` keeps them (per parameter ``step``, ``exp_avg`` and
    ``exp_avg_sq``); their hyperparameters, 0-d tensors in the slice, are left as the
    optimizers have them (the member's params, which :func:`train` writes anyway).
    """
    gan.generator.load_state_dict(saved["g"])
    gan.discriminator.load_state_dict(saved["d"])
    for opt, key in ((opt_g, "opt_g"), (opt_d, "opt_d")):
        if opt is not None:
            load_optimizer(opt, saved[key])


def load_gan(saved: Mapping[str, Any]) -> GAN:
    """The GAN of a loaded checkpoint: saved by :func:`train` (``ptorch.state``) or a member's
    slice of :func:`train_batch`'s state (``g`` and ``d``)."""
    gan = GAN()
    if "g" in saved:
        load_slice(saved, gan)
    else:
        ptorch.restore(saved, gan, rng=False)
    return gan


def best_samples(result: pop.Population) -> torch.Tensor:
    """``TEST_SAMPLES`` samples of the best member's generator, from noise training never drew."""
    best = result.best
    assert best is not None and best.checkpoint is not None
    gan = load_gan(best.checkpoint.load())  # type: ignore[arg-type]
    return evaluate(gan, TEST_SAMPLES, TEST_SEED)


def test_score(result: pop.Population) -> float:
    """IS analogue of the best member on 10,000 fresh samples (1 to 8)."""
    return inception_score(best_samples(result))


def main(argv: list[str] | None = None) -> int:
    unit = f"steps of {UPDATES} G updates"
    args = _cli.parse(argv, __doc__, "gan", SETTINGS, unit, executor_choice=True)
    result = _cli.run(
        train,
        SPACE,
        args,
        train_batch,
        exploit=exploit(),
        explore=explore(),
        direction=DIRECTION,
    )
    best = result.best
    assert best is not None
    test = best_samples(result)
    _cli.summarize(
        result,
        args,
        f"population {args.population}, {args.budget * UPDATES} generator updates, "
        f"{args.executor} executor, {args.workers} workers: best validation IS {best.score:.3f} "
        f"(member {best.id}), median member {_cli.median_score(result):.3f}, held-out IS of "
        f"the best {inception_score(test):.3f} ({modes_covered(test)}/{N_MODES} modes covered, "
        f"{fraction_good(test):.1%} good samples)",
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
