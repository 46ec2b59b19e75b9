"""PBT on PPO agents balancing gymnasium's CartPole-v1 (the paper's RL setting, in small).

Eight members search learning rate, entropy coefficient, clip range and GAE lambda. Each step is
one PPO update on a rollout of 1024 environment steps (16 vectorised envs x 64 steps); every 10
steps (about 10k env steps) the weak members copy strong ones and explore. The score PBT
optimises is the mean return of the member's last 10 finished training episodes (the paper's
fitness); the winner is then measured greedily on 10 fresh episodes whose seeds training never
uses (500 is the maximum).

The same PPO trains one member at a time with ``train(member)`` (the serial or processes
executor) or every member at once with ``train_batch(batch)`` (K actors and K critics stacked
on a leading member axis, K x 16 CartPoles stepped as one numpy-vectorised env, ``VectorAdam``
with each member's own learning rate: the vectorized executor, one process).

    python examples/cartpole.py                    # population 8, 80 updates, 2 workers
    python examples/cartpole.py --executor vectorized   # population 8, one process
    python examples/cartpole.py --exploit ttest    # the paper's t-test selection
    python examples/cartpole.py --executor serial --population 4 --budget 20 --interval 5
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import _cli
import gymnasium as gym
import numpy as np
import torch
from _slices import load_optimizer
from torch import nn
from torch.distributions import Categorical

import populace as pop
import populace.torch as ptorch

SPACE = pop.SearchSpace(
    lr=pop.LogUniform(1e-4, 3e-3),
    ent_coef=pop.LogUniform(1e-4, 3e-2),
    clip=pop.Uniform(0.1, 0.3),
    gae_lambda=pop.Uniform(0.8, 0.99),
)
DIRECTION = "maximize"
# One step = one PPO update on ENVS * ROLLOUT = 1024 env steps: 80 steps is about 82k env steps.
SETTINGS = {"population": 8, "budget": 80, "interval": 10}
QUICK = {"population": 4, "budget": 6, "interval": 3}

ENVS = 16  # vectorised environments per member
ROLLOUT = 64  # steps per environment per update
GAMMA = 0.99
EPOCHS = 4  # passes over each rollout
MINIBATCH = 256
MAX_GRAD_NORM = 0.5
ADAM_EPS = 1e-5
WINDOW = 10  # finished episodes in the score
# Training seeds its envs below 2**31 (see train); the held-out episodes start above.
TEST_SEEDS = range(2**31, 2**31 + 10)


def mlp(out: int, gain: float) -> nn.Sequential:
    """A 4 -> 64 -> 64 -> ``out`` tanh MLP, orthogonally initialised as PPO usually is."""
    net = nn.Sequential(
        nn.Linear(4, 64), nn.Tanh(), nn.Linear(64, 64), nn.Tanh(), nn.Linear(64, out)
    )
    linears = [m for m in net if isinstance(m, nn.Linear)]
    for layer in linears:
        nn.init.orthogonal_(layer.weight, gain=np.sqrt(2))
        nn.init.zeros_(layer.bias)
    nn.init.orthogonal_(linears[-1].weight, gain=gain)
    return net


class Agent(nn.Module):
    """Separate actor (two action logits) and critic (state value) networks."""

    def __init__(self) -> None:
        super().__init__()
        self.actor = mlp(2, gain=0.01)  # near-uniform initial policy
        self.critic = mlp(1, gain=1.0)

    def policy(self, obs: torch.Tensor) -> Categorical:
        return Categorical(logits=self.actor(obs), validate_args=False)

    def value(self, obs: torch.Tensor) -> torch.Tensor:
        return self.critic(obs).squeeze(-1)


class StackedAgent:
    """K agents as one, with :class:`Agent`'s ``policy`` and ``value``: the actors and the critics
    stacked (``ptorch.stack_modules``: each layer one batched matrix product).

    Observations carry the member axis third from last, [..., K, N, 4]: one env step's
    [K, ENVS, 4], a rollout's [ROLLOUT, K, ENVS, 4], a minibatch's [K, B, 4]; the outputs have
    it second from last ([..., K, N]).
    """

    def __init__(self, agents: Sequence[Agent]) -> None:
        self.actor = ptorch.stack_modules([agent.actor for agent in agents])
        self.critic = ptorch.stack_modules([agent.critic for agent in agents])

    def to(self, device: torch.device | str) -> StackedAgent:
        self.actor.to(device)
        self.critic.to(device)
        return self

    def parameters(self) -> list[torch.Tensor]:
        """The stacked parameters ([K, ...] each) in the order of ``Agent.parameters()``."""
        return [*self.actor.parameters(), *self.critic.parameters()]

    def policy(self, obs: torch.Tensor) -> Categorical:
        return Categorical(logits=_per_member(self.actor, obs), validate_args=False)

    def value(self, obs: torch.Tensor) -> torch.Tensor:
        return _per_member(self.critic, obs).squeeze(-1)

    def state_dict(self) -> dict[str, torch.Tensor]:
        """``Agent.state_dict()``'s keys, each mapped to the live stacked tensor [K, ...]."""
        return {
            f"{part}.{key}": value
            for part, stack in (("actor", self.actor), ("critic", self.critic))
            for key, value in stack.state_dict().items()
        }

    def load_state_dict(self, state: Mapping[str, torch.Tensor]) -> None:
        """Copy a stacked :meth:`state_dict` (every tensor [K, ...]) into the stacks in place."""
        for part, stack in (("actor", self.actor), ("critic", self.critic)):
            prefix = f"{part}."
            stack.load_state_dict(
                {k[len(prefix) :]: v for k, v in state.items() if k.startswith(prefix)}
            )


def _per_member(stack: ptorch.StackedModule, obs: torch.Tensor) -> torch.Tensor:
    """``stack`` on observations [..., K, N, 4], each member on its own slice: [..., K, N, out]."""
    return stack(obs.movedim(-3, 0), per_member=True).movedim(0, -3)


def make_envs(num_envs: int = ENVS) -> gym.vector.VectorEnv:
    """CartPole's own numpy-vectorised env; it resets a finished env on the next step."""
    return gym.make_vec("CartPole-v1", num_envs=num_envs, vectorization_mode="vector_entry_point")


class Runner:
    """Collects rollouts, keeping env state and finished-episode returns between updates.

    For one member (``members`` None: arrays [ENVS]) or for K stacked ones (``members=K``: the
    envs are K * ENVS, arrays [K, ENVS]). The envs reset one step after an episode ends
    (gymnasium's next-step autoreset): that step ignores its action, so it is left out of the
    loss, and the observation before it is the true final one, whose value bootstraps a
    time-limit truncation.

    ``window`` holds the returns of the last WINDOW finished episodes, oldest first, NaN before
    there are that many: [WINDOW], or [K, WINDOW] (live: :func:`train_batch` hands it to the
    runtime with the weights, so an exploit copies the parent's window into the child's slot).
    """

    def __init__(
        self,
        envs: gym.vector.VectorEnv,
        seed: int,
        returns: Sequence[float] = (),
        members: int | None = None,
        device: torch.device | str = "cpu",
    ) -> None:
        self.envs = envs
        self.device = device
        lead = () if members is None else (members,)
        self.shape = (*lead, ENVS)
        obs, _ = envs.reset(seed=seed)
        self.obs = obs.reshape(*self.shape, -1)
        self.was_done = np.zeros(self.shape, dtype=bool)  # the next step is an autoreset step
        self.running = np.zeros(self.shape)
        self.window = torch.full((*lead, WINDOW), float("nan"), dtype=torch.float64)
        self._rows = self.window.numpy().reshape(-1, WINDOW)  # the same memory, by member
        self._push(0, np.asarray(returns, dtype=np.float64))

    def scores(self) -> torch.Tensor:
        """Mean return of the last finished episodes (0 before the first one ends): [K] float64
        for K members, a 0-d tensor for one."""
        finished = ~np.isnan(self._rows)
        count = finished.sum(1)
        total = np.where(finished, self._rows, 0.0).sum(1)
        means = np.where(count > 0, total / np.maximum(count, 1), 0.0)
        return torch.from_numpy(means).reshape(self.window.shape[:-1])

    def score(self) -> float:
        """One member's score (see :meth:`scores`)."""
        return float(self.scores())

    def returns(self) -> list[float]:
        """One member's window as a list (what :func:`checkpoint` saves)."""
        return saved_returns(self.window)

    def _push(self, row: int, returns: np.ndarray) -> None:
        self._rows[row] = np.concatenate([self._rows[row], returns])[-WINDOW:]

    def collect(
        self, agent: Agent | StackedAgent, generator: torch.Generator | None = None
    ) -> dict[str, torch.Tensor]:
        """Play ROLLOUT steps in every env with the current policy; return (ROLLOUT, *shape)
        tensors, actions drawn with ``generator`` (the global RNG if None).

        Values and log-probabilities are computed afterwards, in one batch: the policy does not
        change during a rollout.
        """
        steps = []
        for _ in range(ROLLOUT):
            with torch.no_grad():
                dist = agent.policy(torch.from_numpy(self.obs).to(self.device))
                drawn = dist.sample() if generator is None else sample(dist, generator)
                action = drawn.cpu().numpy()
            obs, reward, terminated, truncated, _ = self.envs.step(action.reshape(-1))
            obs = obs.reshape(*self.shape, -1)
            reward, terminated, truncated = (
                a.reshape(self.shape) for a in (reward, terminated, truncated)
            )
            done = terminated | truncated
            self.running += reward
            by_member = done.reshape(len(self._rows), ENVS)
            for row in np.flatnonzero(by_member.any(1)):
                self._push(int(row), self.running.reshape(by_member.shape)[row, by_member[row]])
            self.running[done] = 0.0
            steps.append((self.obs, action, reward, terminated, done, ~self.was_done))
            self.obs, self.was_done = obs, done
        columns = (
            torch.from_numpy(np.stack(column)).to(self.device)
            for column in zip(*steps, strict=True)
        )
        obs, action, reward, terminated, done, valid = columns
        with torch.no_grad():
            # one more value than steps: the last one bootstraps the rollout's end
            last = torch.from_numpy(self.obs).to(self.device)
            value = agent.value(torch.cat([obs, last[None]]))
            logp = agent.policy(obs).log_prob(action)
        return {
            "obs": obs,
            "action": action,
            "logp": logp,
            "value": value,
            "reward": reward,
            "terminated": terminated.float(),
            "done": done.float(),
            "valid": valid,
        }


def sample(dist: Categorical, generator: torch.Generator) -> torch.Tensor:
    """One action per distribution of ``dist``, drawn with ``generator``."""
    probs = dist.probs
    flat = torch.multinomial(probs.reshape(-1, probs.shape[-1]), 1, generator=generator)
    return flat.view(probs.shape[:-1])


def saved_returns(returns: Sequence[float] | torch.Tensor) -> list[float]:
    """A checkpoint's window as a list: :func:`train` saves a list, a member's slice of
    :func:`train_batch`'s state a [WINDOW] tensor padded with NaN."""
    values = returns.tolist() if isinstance(returns, torch.Tensor) else list(returns)
    return [float(r) for r in values if not np.isnan(r)]


def advantages(rollout: dict[str, torch.Tensor], gae_lambda: float | torch.Tensor) -> torch.Tensor:
    """Generalised advantage estimates, cut at episode ends, bootstrapped only on truncation.

    Tensors [ROLLOUT + (1 for values), ...]; ``gae_lambda`` a float, or a tensor broadcast over
    one step's [...] (each member's own: [K, 1] for K members' [K, ENVS]).
    """
    values, adv = rollout["value"], torch.zeros_like(rollout["reward"])
    last = torch.zeros_like(rollout["reward"][0])
    decay = GAMMA * gae_lambda  # computed in float64, then cast, as a Python float would be
    if isinstance(decay, torch.Tensor):
        decay = decay.to(adv.dtype)
    for t in reversed(range(ROLLOUT)):
        alive = 1.0 - rollout["terminated"][t]
        delta = rollout["reward"][t] + GAMMA * values[t + 1] * alive - values[t]
        last = delta + decay * (1.0 - rollout["done"][t]) * last
        adv[t] = last
    return adv


def _mean(x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    """Mean over the last axis, of the entries where ``mask`` is 1 if given."""
    if mask is None:
        return x.mean(-1)
    return (x * mask).sum(-1) / mask.sum(-1).clamp_min(1)


def _normalized(adv: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    """Advantages less their mean, over their (unbiased) std, per minibatch (per member)."""
    if mask is None:
        return (adv - adv.mean()) / (adv.std() + 1e-8)
    n = mask.sum(-1, keepdim=True)
    mean = (adv * mask).sum(-1, keepdim=True) / n.clamp_min(1)
    var = ((adv - mean).square() * mask).sum(-1, keepdim=True) / (n - 1).clamp_min(1)
    return (adv - mean) / (var.sqrt() + 1e-8)


def ppo_loss(
    agent: Agent | StackedAgent,
    mb: Mapping[str, torch.Tensor],
    low: float | torch.Tensor,
    high: float | torch.Tensor,
    ent_coef: float | torch.Tensor,
    mask: torch.Tensor | None = None,
) -> torch.Tensor:
    """PPO's loss on a minibatch: clipped objective (ratio clamped to [low, high]), value loss,
    entropy bonus.

    One agent's minibatch [B] gives a scalar. K stacked members' minibatches [K, B], ``mask``
    [K, B] marking the real entries (members have minibatches of different sizes), give each
    member's loss [K]: ``low`` and ``high`` [K, 1], ``ent_coef`` [K].
    """
    dist = agent.policy(mb["obs"])
    ratio = torch.exp(dist.log_prob(mb["action"]) - mb["logp"])
    adv = _normalized(mb["adv"], mask)
    clipped = torch.clamp(ratio, low, high)  # type: ignore[arg-type]  # floats or tensors
    policy_loss = -_mean(torch.min(ratio * adv, clipped * adv), mask)
    value_loss = 0.5 * _mean((agent.value(mb["obs"]) - mb["target"]).pow(2), mask)
    return policy_loss + value_loss - ent_coef * _mean(dist.entropy(), mask)


def update(
    agent: Agent,
    opt: torch.optim.Optimizer,
    rollout: dict[str, torch.Tensor],
    params: Mapping[str, float],
) -> None:
    """PPO: EPOCHS passes of minibatches over the valid steps, clipped objective plus losses."""
    adv = advantages(rollout, params["gae_lambda"])
    valid = rollout["valid"].flatten()
    data = {
        "obs": rollout["obs"].flatten(0, 1)[valid],
        "action": rollout["action"].flatten()[valid],
        "logp": rollout["logp"].flatten()[valid],
        "adv": adv.flatten()[valid],
        "target": (adv + rollout["value"][:-1]).flatten()[valid],
    }
    size = len(data["obs"])
    low, high = 1.0 - params["clip"], 1.0 + params["clip"]
    for _ in range(EPOCHS):
        order = torch.randperm(size)
        for start in range(0, size, MINIBATCH):
            mb = {k: v[order[start : start + MINIBATCH]] for k, v in data.items()}
            loss = ppo_loss(agent, mb, low, high, params["ent_coef"])
            opt.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(agent.parameters(), MAX_GRAD_NORM)
            opt.step()


def update_stacked(
    agent: StackedAgent,
    opt: torch.optim.Optimizer,
    rollout: dict[str, torch.Tensor],
    params: Mapping[str, torch.Tensor],
    generators: Sequence[torch.Generator],
) -> None:
    """:func:`update` for K stacked members: rollout tensors [ROLLOUT, K, ENVS], ``params`` [K]
    tensors (each member's own lambda, clip and entropy coefficient), member k's minibatch
    orders drawn with ``generators[k]`` (one generator may serve several).

    Member k goes through exactly the minibatches :func:`update` would give it (its own valid
    steps, in its own order); the loss is the sum of the members' mean losses (they share no
    parameter, so each gets the gradient it would get alone), each member's gradient is clipped
    to its own norm, and a member with fewer valid steps, whose epoch has ended, takes no
    optimizer step while the others finish theirs.
    """
    adv = advantages(rollout, params["gae_lambda"].view(-1, 1))

    def by_member(x: torch.Tensor) -> torch.Tensor:  # [ROLLOUT, K, ENVS, ...] -> [K, N, ...]
        return x.transpose(0, 1).flatten(1, 2)

    data = {
        "obs": by_member(rollout["obs"]),
        "action": by_member(rollout["action"]),
        "logp": by_member(rollout["logp"]),
        "adv": by_member(adv),
        "target": by_member(adv + rollout["value"][:-1]),
    }
    dtype, size = adv.dtype, len(generators)
    low = (1.0 - params["clip"]).to(dtype).view(-1, 1)  # float64 arithmetic, as in update
    high = (1.0 + params["clip"]).to(dtype).view(-1, 1)
    ent_coef = params["ent_coef"].to(dtype)
    valid = [row.nonzero().squeeze(1) for row in by_member(rollout["valid"])]
    rows = torch.arange(size, device=adv.device).unsqueeze(1)
    for _ in range(EPOCHS):
        orders = [
            steps[torch.randperm(len(steps), generator=g, device=g.device).to(steps.device)]
            for steps, g in zip(valid, generators, strict=True)
        ]
        order = nn.utils.rnn.pad_sequence(orders, batch_first=True)  # [K, longest], 0-padded
        lengths = torch.tensor([len(o) for o in orders], device=order.device)
        mask = torch.arange(order.shape[1], device=order.device) < lengths.unsqueeze(1)
        for start in range(0, order.shape[1], MINIBATCH):
            index, real = order[:, start : start + MINIBATCH], mask[:, start : start + MINIBATCH]
            mb = {k: v[rows, index] for k, v in data.items()}
            loss = ppo_loss(agent, mb, low, high, ent_coef, real.to(dtype)).sum()
            opt.zero_grad()
            loss.backward()
            clip_grad_norms(agent.parameters(), MAX_GRAD_NORM)
            step_members(opt, real.any(1))


@torch.no_grad()
def clip_grad_norms(params: Iterable[torch.Tensor], max_norm: float) -> torch.Tensor:
    """``nn.utils.clip_grad_norm_`` for each member of stacked parameters: member k's norm is
    over its slices of every gradient, and only its slices are scaled. Returns the [K] norms."""
    grads = [p.grad for p in params if p.grad is not None]
    norms = torch.stack([torch.linalg.vector_norm(g.flatten(1), dim=1) for g in grads])
    total = torch.linalg.vector_norm(norms, dim=0)
    coef = torch.clamp(max_norm / (total + 1e-6), max=1.0)
    for g in grads:
        g.mul_(coef.view(-1, *(1,) * (g.dim() - 1)))
    return total


@torch.no_grad()
def step_members(opt: torch.optim.Optimizer, active: torch.Tensor) -> None:
    """``opt.step()`` for the members where ``active`` [K] is true; the others keep their
    parameters and optimizer state (step counts and moments) as they were."""
    if bool(active.all()):
        opt.step()
        return
    idle = ~active
    params = [p for group in opt.param_groups for p in group["params"]]
    kept = [
        (p[idle].clone(), {k: v[idle.to(v.device)].clone() for k, v in opt.state[p].items()})
        for p in params
    ]
    opt.step()
    for p, (value, state) in zip(params, kept, strict=True):
        p[idle] = value
        for name, tensor in opt.state[p].items():  # state created by this step starts at 0
            tensor[idle.to(tensor.device)] = state.get(name, 0)


def optimizer(agent: Agent, lr: float) -> torch.optim.Adam:
    """One member's Adam."""
    # fused: one kernel for all parameters, several times faster than the loop on small nets
    return torch.optim.Adam(agent.parameters(), lr=lr, eps=ADAM_EPS, fused=True)


def vector_optimizer(agent: StackedAgent, lr: torch.Tensor) -> ptorch.VectorAdam:
    """K members' Adams in one: ``lr`` [K] float64, read at every step (``batch.params["lr"]``,
    which the runtime writes explored values into, is passed as it is)."""
    return ptorch.VectorAdam(agent.parameters(), lr=lr, eps=ADAM_EPS)


def checkpoint(
    agent: Agent, opt: torch.optim.Optimizer, step: int, runner: Runner
) -> dict[str, Any]:
    """The training state, with the recent returns so that the score survives a restart."""
    return ptorch.state(agent, opt, step=step, extra={"returns": runner.returns()})


def train(member: pop.Member) -> None:
    """One member: PPO from its checkpoint (or scratch) to its budget, one step = one update.

    The checkpoint may also be a member's slice of :func:`train_batch`'s state.
    """
    # Seeded first: the initial weights, and each generation's draws, depend only on the
    # member and its generation (a resumed member then restores its own stream).
    ptorch.seed_everything(ptorch.member_seed(member.id, member.generation))
    torch.set_num_threads(1)  # one core per worker process
    agent = Agent()
    opt = optimizer(agent, member.params["lr"])
    step, returns = 0, []
    if member.checkpoint is not None:
        own = member.checkpoint.member == member.id
        saved = member.checkpoint.load()
        assert isinstance(saved, Mapping)
        step = ptorch.restore(saved, agent, rng=own)  # a slice has no RNG state
        load_optimizer(opt, saved["optimizer"])  # with the member's (explored) lr
        returns = saved_returns(saved["extra"]["returns"])
    # Env state does not survive a restart: reset with a seed drawn from the stream just set, so
    # that it follows from the member's id and generation and a resumed member does not replay
    # the episodes it started with.
    runner = Runner(make_envs(), int(torch.randint(2**31, ())), returns)
    while step < member.budget:
        update(agent, opt, runner.collect(agent), member.params)
        step += 1
        # report calls the lambda at once, and only at ready points: late binding is right
        state = lambda: checkpoint(agent, opt, step, runner)  # noqa: B023, E731
        member.report(step, runner.score(), checkpoint=state)


def train_batch(batch: pop.Batch) -> None:
    """Every member at once: stacked agents, K x ENVS envs, ``VectorAdam``, one report a step.

    The same PPO per member as :func:`train` (rollout, epochs, minibatches, clipping, each
    member's own params) and the same initial weights and score; the actions, env seeds and
    minibatch orders differ (one stream for the shard). The state has :func:`checkpoint`'s
    layout with a leading [K] axis (``model`` with ``Agent``'s keys, ``optimizer``, ``step``,
    and the windows of returns [K, WINDOW] padded with NaN, no RNG state), so a member's slice
    loads wherever a checkpoint of :func:`train` does (:func:`test_score`, :func:`train`).
    """
    agents = []
    for member in batch.members:
        torch.manual_seed(ptorch.member_seed(member, 0))  # the serial path's initial weights
        agents.append(Agent())
    device = batch.device
    agent = StackedAgent(agents).to(device)
    opt = vector_optimizer(agent, batch.params["lr"])
    # One stream for the shard, not in the checkpoint: a resumed shard (or one regrouped after
    # members finished) draws from a seed of its members and its step.
    draws_seed, env_seed = np.random.SeedSequence([*batch.members, batch.step]).generate_state(2)
    draws = torch.Generator(device=device).manual_seed(int(draws_seed))
    runner = Runner(
        make_envs(batch.size * ENVS), int(env_seed) % 2**31, members=batch.size, device=device
    )
    if batch.checkpoint is not None:
        # the explored values stay: the optimizer's [K] lr is batch.params["lr"], left alone
        agent.load_state_dict(batch.checkpoint["model"])
        opt.load_state_dict(batch.checkpoint["optimizer"])
        runner.window.copy_(batch.checkpoint["extra"]["returns"])
    # The envs' state is in no checkpoint (as in train, which resets its envs when it resumes):
    # a resumed shard starts new episodes. After an exploit the child keeps its own envs and
    # their episodes in flight (train's child resets them), and its window is its parent's.
    generators = [draws] * batch.size
    step = batch.step

    def state() -> dict[str, Any]:
        # The live tensors, built at ready points only: an exploit copies slices in place.
        return {
            "model": agent.state_dict(),
            "optimizer": opt.state_dict(),
            "scheduler": None,
            "step": step,
            "rng": None,
            "extra": {"returns": runner.window},
        }

    for step in range(batch.step + 1, batch.budget + 1):
        update_stacked(agent, opt, runner.collect(agent, draws), batch.params, generators)
        batch.report(step, runner.scores(), state=state)


def exploit() -> object:
    """Truncation: the bottom quarter copies the top quarter (the paper's most robust rule)."""
    return pop.TruncationExploit()


def greedy_return(agent: Agent, seed: int) -> float:
    """Return of one episode played with the most likely action at every step."""
    env = gym.make("CartPole-v1")
    obs, _ = env.reset(seed=seed)
    total, done = 0.0, False
    while not done:
        with torch.no_grad():
            action = int(agent.actor(torch.from_numpy(obs)).argmax())
        obs, reward, terminated, truncated, _ = env.step(action)
        total += float(reward)
        done = terminated or truncated
    env.close()
    return total


def load_agent(saved: object) -> Agent:
    """The agent of a checkpoint (a handle or what it loads to): :func:`train`'s, or a member's
    slice of :func:`train_batch`'s state, whose ``model`` is an ordinary ``Agent`` state dict."""
    agent = Agent()
    ptorch.restore(saved, agent, rng=False)
    return agent


def test_score(result: pop.Population) -> float:
    """Mean greedy return of the best member over 10 held-out episodes (at most 500)."""
    best = result.best
    assert best is not None and best.checkpoint is not None
    agent = load_agent(best.checkpoint)
    return float(np.mean([greedy_return(agent, seed) for seed in TEST_SEEDS]))


def main(argv: list[str] | None = None) -> int:
    args = _cli.parse(
        argv,
        __doc__,
        "cartpole",
        SETTINGS,
        "PPO updates",
        exploit_choice=True,
        executor_choice=True,
    )
    chosen = pop.TTestExploit() if args.exploit == "ttest" else exploit()
    result = _cli.run(train, SPACE, args, train_batch, exploit=chosen, direction=DIRECTION)
    best = result.best
    assert best is not None
    _cli.summarize(
        result,
        args,
        f"population {args.population}, {args.budget} updates of {ENVS * ROLLOUT} env steps, "
        f"{args.executor} executor, {args.workers} workers: best validation return "
        f"{best.score:.1f} (member {best.id}), median member {_cli.median_score(result):.1f}, "
        f"held-out greedy return of the best {test_score(result):.1f}",
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
