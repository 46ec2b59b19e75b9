"""PBT on PPO agents balancing gymnasium's CartPole-v1 (the paper's RL setting, in small).

Eight members search learning rate, entropy coefficient, clip range and GAE lambda. Each step is
one PPO update on a rollout of 1024 environment steps (16 vectorised envs x 64 steps); every 10
steps (about 10k env steps) the weak members copy strong ones and explore. The score PBT
optimises is the mean return of the member's last 10 finished training episodes (the paper's
fitness); the winner is then measured greedily on 10 fresh episodes whose seeds training never
uses (500 is the maximum).

    python examples/cartpole.py                    # population 8, 80 updates, 2 workers
    python examples/cartpole.py --exploit ttest    # the paper's t-test selection
    python examples/cartpole.py --population 4 --budget 20 --interval 5 --workers 1
"""

from __future__ import annotations

import sys
from collections import deque
from collections.abc import Mapping
from typing import Any

import _cli
import gymnasium as gym
import numpy as np
import torch
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


def make_envs() -> gym.vector.VectorEnv:
    """CartPole's own numpy-vectorised env; it resets a finished env on the next step."""
    return gym.make_vec("CartPole-v1", num_envs=ENVS, vectorization_mode="vector_entry_point")


class Runner:
    """Collects rollouts, keeping env state and finished-episode returns between updates.

    The envs reset one step after an episode ends (gymnasium's next-step autoreset): that step
    ignores its action, so it is left out of the loss, and the observation before it is the true
    final one, whose value bootstraps a time-limit truncation.
    """

    def __init__(self, envs: gym.vector.VectorEnv, seed: int, returns: list[float]) -> None:
        self.envs = envs
        self.obs, _ = envs.reset(seed=seed)
        self.was_done = np.zeros(ENVS, dtype=bool)  # the next step is an autoreset step
        self.running = np.zeros(ENVS)
        self.returns: deque[float] = deque(returns, maxlen=WINDOW)

    def score(self) -> float:
        """Mean return of the last finished episodes; 0 before the first one ends."""
        return float(np.mean(self.returns)) if self.returns else 0.0

    def collect(self, agent: Agent) -> dict[str, torch.Tensor]:
        """Play ROLLOUT steps in every env with the current policy; return (ROLLOUT, ENVS) tensors.

        Values and log-probabilities are computed afterwards, in one batch: the policy does not
        change during a rollout.
        """
        steps = []
        for _ in range(ROLLOUT):
            with torch.no_grad():
                action = agent.policy(torch.from_numpy(self.obs)).sample().numpy()
            obs, reward, terminated, truncated, _ = self.envs.step(action)
            done = terminated | truncated
            self.running += reward
            self.returns.extend(self.running[done].tolist())
            self.running[done] = 0.0
            steps.append((self.obs, action, reward, terminated, done, ~self.was_done))
            self.obs, self.was_done = obs, done
        columns = (torch.from_numpy(np.stack(column)) for column in zip(*steps, strict=True))
        obs, action, reward, terminated, done, valid = columns
        with torch.no_grad():
            # one more value than steps: the last one bootstraps the rollout's end
            value = agent.value(torch.cat([obs, torch.from_numpy(self.obs)[None]]))
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


def advantages(rollout: dict[str, torch.Tensor], gae_lambda: float) -> torch.Tensor:
    """Generalised advantage estimates, cut at episode ends, bootstrapped only on truncation."""
    values, adv = rollout["value"], torch.zeros_like(rollout["reward"])
    last = torch.zeros(ENVS)
    for t in reversed(range(ROLLOUT)):
        alive = 1.0 - rollout["terminated"][t]
        delta = rollout["reward"][t] + GAMMA * values[t + 1] * alive - values[t]
        last = delta + GAMMA * gae_lambda * (1.0 - rollout["done"][t]) * last
        adv[t] = last
    return adv


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
    for _ in range(EPOCHS):
        order = torch.randperm(size)
        for start in range(0, size, MINIBATCH):
            mb = {k: v[order[start : start + MINIBATCH]] for k, v in data.items()}
            dist = agent.policy(mb["obs"])
            ratio = torch.exp(dist.log_prob(mb["action"]) - mb["logp"])
            adv_mb = (mb["adv"] - mb["adv"].mean()) / (mb["adv"].std() + 1e-8)
            clipped = torch.clamp(ratio, 1.0 - params["clip"], 1.0 + params["clip"])
            policy_loss = -torch.min(ratio * adv_mb, clipped * adv_mb).mean()
            value_loss = 0.5 * (agent.value(mb["obs"]) - mb["target"]).pow(2).mean()
            loss = policy_loss + value_loss - params["ent_coef"] * dist.entropy().mean()
            opt.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(agent.parameters(), MAX_GRAD_NORM)
            opt.step()


def checkpoint(
    agent: Agent, opt: torch.optim.Optimizer, step: int, runner: Runner
) -> dict[str, Any]:
    """The training state, with the recent returns so that the score survives a restart."""
    return ptorch.state(agent, opt, step=step, extra={"returns": list(runner.returns)})


def train(member: pop.Member) -> None:
    """One member: PPO from its checkpoint (or scratch) to its budget, one step = one update."""
    # Seeded first: the initial weights, and each generation's draws, depend only on the
    # member and its generation (a resumed member then restores its own stream).
    ptorch.seed_everything(ptorch.member_seed(member.id, member.generation))
    torch.set_num_threads(1)  # one core per worker process
    agent = Agent()
    # fused: one kernel for all parameters, several times faster than the loop on small nets
    opt = torch.optim.Adam(agent.parameters(), lr=member.params["lr"], eps=1e-5, fused=True)
    step, returns = 0, []
    if member.checkpoint is not None:
        own = member.checkpoint.member == member.id
        saved = member.checkpoint.load()
        step = ptorch.restore(saved, agent, opt, params=member.params, rng=own)
        returns = saved["extra"]["returns"]
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


def test_score(result: pop.Population) -> float:
    """Mean greedy return of the best member over 10 held-out episodes (at most 500)."""
    best = result.best
    assert best is not None and best.checkpoint is not None
    agent = Agent()
    ptorch.restore(best.checkpoint, agent, rng=False)
    return float(np.mean([greedy_return(agent, seed) for seed in TEST_SEEDS]))


def main(argv: list[str] | None = None) -> int:
    args = _cli.parse(argv, __doc__, "cartpole", SETTINGS, "PPO updates", exploit_choice=True)
    chosen = pop.TTestExploit() if args.exploit == "ttest" else exploit()
    result = _cli.run(train, SPACE, args, exploit=chosen, direction=DIRECTION)
    best = result.best
    assert best is not None
    _cli.summarize(
        result,
        args,
        f"population {args.population}, {args.budget} updates of {ENVS * ROLLOUT} env steps, "
        f"{args.workers} workers: best validation return {best.score:.1f} (member {best.id}), "
        f"median member {_cli.median_score(result):.1f}, "
        f"held-out greedy return of the best {test_score(result):.1f}",
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
