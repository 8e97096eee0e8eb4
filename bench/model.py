"""The trust model alone, on one core: evidence items scored per second.

    .venv/bin/python bench/model.py [--contractors 2000]

Builds contractors with a realistic mix of evidence (1 to 12 events, a third with rehabilitation
steps) and times (a) the opinion alone (`opinion`: the sums of §4) and (b) the whole assessment
(`assess`: eligibility, eligible_from, next steps, explanation), per evidence item.
"""

from __future__ import annotations

import argparse
import random
import time
from datetime import UTC, datetime, timedelta

from common import ROOT  # noqa: F401  (puts the project on the path)

from reputation.trust.model import ConductEvidence, Evidence, StepEvidence, assess, opinion
from reputation.trust.policy import Policy
from reputation.trust.taxonomy import CONDUCT_KINDS, REHABILITATION_KINDS

NOW = datetime(2026, 11, 1, tzinfo=UTC)


def contractor(rng: random.Random) -> Evidence:
    events = tuple(
        ConductEvidence(
            f"e{i}", rng.choice(sorted(CONDUCT_KINDS)), rng.randint(1, 5),
            NOW - timedelta(days=rng.uniform(0, 3000)),
        )
        for i in range(rng.randint(1, 12))
    )  # fmt: skip
    negatives = [e for e in events if e.negative]
    steps = ()
    if negatives and rng.random() < 1 / 3:
        steps = tuple(
            StepEvidence(
                f"s{i}", rng.choice(sorted(REHABILITATION_KINDS)),
                max(e.occurred_at for e in negatives) + timedelta(days=1),
                rng.choice(["pending", "verified"]), NOW - timedelta(days=1),
                rng.choice(negatives).id, rng.random() < 0.5,
            )
            for i in range(rng.randint(1, 4))
        )  # fmt: skip
    return Evidence(events, steps)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--contractors", type=int, default=2000)
    args = parser.parse_args()
    rng = random.Random(7)
    people = [contractor(rng) for _ in range(args.contractors)]
    items = sum(len(p.events) + len(p.steps) for p in people)
    policy = Policy()
    for name, score in (("opinion", opinion), ("assess", assess)):
        started = time.process_time()
        for evidence in people:
            score(evidence, NOW, policy)
        elapsed = time.process_time() - started
        print(
            f"{name:8} {items / elapsed:>10,.0f} items/s  {args.contractors / elapsed:>8,.0f} "
            f"contractors/s  ({items:,} items, {elapsed:.2f} s of CPU)"
        )


if __name__ == "__main__":
    main()
