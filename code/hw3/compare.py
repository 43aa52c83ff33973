"""The one place where the book's comparative words are chosen: from two samples, the difference
`a - b`, a confidence interval for it, and the word it supports.

Two designs:

- `seeds(a, b)`: independent samples, e.g. one value per seed of two configurations. The interval is
  Welch's t interval for the difference of means (unequal variances, Welch-Satterthwaite degrees of
  freedom). A side with fewer than two values has no spread: the word is "not ranked (one seed)".
- `paired(a, b)`: the same examples scored twice, e.g. per-review correctness of two models on the same
  test reviews, or per-seed values that share a seed. The interval is the t interval of the mean of the
  per-example differences; for 0/1 outcomes `p_value` is McNemar's exact test on the discordant pairs.

The word depends only on where the interval lies: entirely above 0 -> "higher", entirely below ->
"lower", straddling 0 -> "no clear difference". A chapter maps "higher"/"lower" to its own domain words
with `Comparison.say(...)` (for FID, lower is better: `c.say(higher="worse", lower="better")`), so no
other module decides a comparison.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import special  # t and binomial distributions, without scipy.stats' import cost

HIGHER, LOWER, SAME, UNRANKED = "higher", "lower", "no clear difference", "not ranked (one seed)"
LEVEL = 0.95  # the confidence level of every interval the book prints


def level_text(level: float = LEVEL) -> str:
    """The level as prose prints it: 0.95 -> '95%'."""
    return f"{100 * level:g}%"


@dataclass(frozen=True)
class Comparison:
    """a - b with its interval. `a_minus_b` is the difference of means (paired: the mean difference)."""

    a_minus_b: float
    low: float  # the interval's ends, on a - b
    high: float
    level: float  # e.g. 0.95
    word: str  # HIGHER, LOWER, SAME or UNRANKED: a compared with b
    method: str  # how the interval was computed, for captions
    n_a: int
    n_b: int
    p_value: float = math.nan

    @property
    def level_text(self) -> str:
        return level_text(self.level)

    @property
    def clear(self) -> bool:
        return self.word in (HIGHER, LOWER)

    def say(self, higher: str = HIGHER, lower: str = LOWER, same: str = SAME, unranked: str = UNRANKED) -> str:
        """The word in the chapter's terms, e.g. `say(higher="better", lower="worse")` for accuracy."""
        return {HIGHER: higher, LOWER: lower, SAME: same, UNRANKED: unranked}[self.word]

    def interval(self, scale: float = 1.0, digits: int = 2) -> str:
        """'[-0.71, -0.47]' (times `scale`, e.g. 100 for percentage points)."""
        return f"[{self.low * scale:+.{digits}f}, {self.high * scale:+.{digits}f}]"

    def flipped(self) -> Comparison:
        """The same comparison read as b - a."""
        word = {HIGHER: LOWER, LOWER: HIGHER}.get(self.word, self.word)
        return Comparison(-self.a_minus_b, -self.high, -self.low, self.level, word, self.method,
                          self.n_b, self.n_a, self.p_value)


def _t_quantile(q: float, df: float) -> float:
    return float(special.stdtrit(df, q))


def _t_two_sided(t: float, df: float) -> float:
    return float(2 * special.stdtr(df, -abs(t)))


def _mcnemar_exact(n01: int, n10: int) -> float:
    """Two-sided exact binomial test of n01 successes in n01 + n10 trials at p = 1/2 (McNemar's exact test)."""
    n, k = n01 + n10, min(n01, n10)
    if n == 0:
        return 1.0
    return float(min(1.0, 2 * special.bdtr(k, n, 0.5)))


def _word(low: float, high: float) -> str:
    if low > 0:
        return HIGHER
    if high < 0:
        return LOWER
    return SAME


def _values(x: Sequence[float] | np.ndarray) -> np.ndarray:
    v = np.asarray(x, dtype=float).ravel()
    if v.size == 0:
        raise ValueError("a comparison needs at least one value on each side")
    if not np.isfinite(v).all():
        raise ValueError("a comparison got a non-finite value")
    return v


def seeds(a: Sequence[float], b: Sequence[float], level: float = LEVEL) -> Comparison:
    """Independent samples (one value per seed): Welch's t interval for mean(a) - mean(b)."""
    a, b = _values(a), _values(b)
    diff = float(a.mean() - b.mean())
    if len(a) < 2 or len(b) < 2:
        return Comparison(diff, math.nan, math.nan, level, UNRANKED, "one seed: no interval", len(a), len(b))
    va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
    se = math.sqrt(va + vb)
    if se == 0:  # identical values within each side: the difference is exact
        return Comparison(diff, diff, diff, level, _word(diff, diff), "Welch t interval over seeds",
                          len(a), len(b), 0.0 if diff else 1.0)
    df = (va + vb) ** 2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1))
    half = _t_quantile(0.5 + level / 2, df) * se
    p = _t_two_sided(abs(diff) / se, df)
    return Comparison(diff, diff - half, diff + half, level, _word(diff - half, diff + half),
                      "Welch t interval over seeds", len(a), len(b), p)


def paired(a: Sequence[float], b: Sequence[float], level: float = LEVEL) -> Comparison:
    """The same examples (or seeds) measured twice: t interval of the mean of a_i - b_i; for 0/1
    outcomes also McNemar's exact p-value."""
    a, b = _values(a), _values(b)
    if a.shape != b.shape:
        raise ValueError(f"paired samples differ in length: {a.size} and {b.size}")
    d = a - b
    diff = float(d.mean())
    if len(d) < 2:
        return Comparison(diff, math.nan, math.nan, level, UNRANKED, "one pair: no interval", 1, 1)
    se = float(d.std(ddof=1) / math.sqrt(len(d)))
    p = math.nan
    binary = np.isin(a, (0, 1)).all() and np.isin(b, (0, 1)).all()
    if binary:
        n01, n10 = int(((a == 1) & (b == 0)).sum()), int(((a == 0) & (b == 1)).sum())
        p = _mcnemar_exact(n01, n10)
    method = "paired t interval over examples" + ("; McNemar's exact test" if binary else "")
    if se == 0:
        return Comparison(diff, diff, diff, level, _word(diff, diff), method, len(a), len(b), p)
    half = _t_quantile(0.5 + level / 2, len(d) - 1) * se
    if not binary:
        p = _t_two_sided(abs(diff) / se, len(d) - 1)
    return Comparison(diff, diff - half, diff + half, level, _word(diff - half, diff + half), method,
                      len(a), len(b), p)
