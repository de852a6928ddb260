"""Small, dependency-free significance tests for "does this value fail more than the rest?".

Pure Python on purpose: the report must not pull scipy into the studio for three formulas.
"""

from __future__ import annotations

import math


def _log_comb(n: int, k: int) -> float:
    return math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)


def fisher_greater(x1: int, n1: int, x2: int, n2: int) -> float:
    """One-sided Fisher exact test: p-value of seeing >= x1 events in group 1 given the margins."""
    total, events = n1 + n2, x1 + x2
    if n1 == 0 or n2 == 0 or events == 0:
        return 1.0
    hi = min(n1, events)
    lo = max(0, events - n2)
    log_denom = _log_comb(total, n1)

    def pmf(k: int) -> float:
        return math.exp(_log_comb(events, k) + _log_comb(total - events, n1 - k) - log_denom)

    mode = int((n1 + 1) * (events + 1) / (total + 2))
    p = 0.0
    for k in range(max(x1, lo), hi + 1):
        term = pmf(k)
        p += term
        if k > mode and term < p * 1e-12:  # past the mode the tail only shrinks
            break
    return min(1.0, p)


def greater_p(x1: int, n1: int, x2: int, n2: int) -> float:
    """p-value that group 1's event rate is higher: Fisher exact (the z-test flags too often in the tails)."""
    return fisher_greater(x1, n1, x2, n2)


def holm(pvalues: list[float]) -> list[float]:
    """Holm-Bonferroni adjusted p-values (family-wise error control, in the input order)."""
    m = len(pvalues)
    order = sorted(range(m), key=lambda i: pvalues[i])
    adjusted = [1.0] * m
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * pvalues[i]))
        adjusted[i] = running
    return adjusted


def sign_test_greater(wins: int, losses: int) -> float:
    """One-sided exact binomial (sign) test on discordant pairs: p that wins > losses by chance."""
    n = wins + losses
    if n == 0:
        return 1.0
    log_half = n * math.log(0.5)
    return min(1.0, sum(math.exp(_log_comb(n, k) + log_half) for k in range(wins, n + 1)))
