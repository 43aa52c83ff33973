import math

import numpy as np
import pytest

from hw3 import compare


def test_seeds_clearly_higher_lower_and_overlapping():
    a, b = [0.90, 0.91, 0.92], [0.80, 0.81, 0.82]
    c = compare.seeds(a, b)
    assert c.word == compare.HIGHER and c.low > 0 and math.isclose(c.a_minus_b, 0.10)
    assert c.say(higher="better", lower="worse") == "better"
    assert compare.seeds(b, a).word == compare.LOWER
    overlap = compare.seeds([0.80, 0.90, 0.85], [0.82, 0.88, 0.86])
    assert overlap.word == compare.SAME and overlap.low < 0 < overlap.high
    assert overlap.say(same="no clear difference") == "no clear difference"


def test_sign_flip_is_symmetric():
    rng = np.random.default_rng(0)
    a, b = rng.normal(1.0, 0.1, 5), rng.normal(0.0, 0.1, 4)
    ab, ba = compare.seeds(a, b), compare.seeds(b, a)
    assert ab.word == compare.HIGHER and ba.word == compare.LOWER
    assert math.isclose(ab.a_minus_b, -ba.a_minus_b) and math.isclose(ab.low, -ba.high)
    f = ab.flipped()
    assert f.word == ba.word and math.isclose(f.low, ba.low)


def test_fid_direction_lower_is_better():
    c = compare.seeds([50, 52, 51], [260, 270, 265])  # variant FID minus spec FID
    assert c.word == compare.LOWER and c.say(higher="worse", lower="better") == "better"


def test_one_seed_is_not_ranked():
    c = compare.seeds([74.0], [88.0, 90.0, 85.0])
    assert c.word == compare.UNRANKED and math.isnan(c.low) and not c.clear


def test_paired_per_example_outcomes():
    rng = np.random.default_rng(1)
    truth = rng.random(20_000) < 0.9
    better = truth.astype(int)
    worse = better.copy()
    flip = rng.choice(len(worse), 600, replace=False)
    worse[flip] = 0  # b gets 600 more examples wrong
    c = compare.paired(better, worse)
    assert c.word == compare.HIGHER and c.p_value < 1e-6 and "McNemar" in c.method
    same = compare.paired(better, np.roll(better, 1))
    assert same.word == compare.SAME


def test_paired_needs_equal_lengths_and_finite_values():
    with pytest.raises(ValueError):
        compare.paired([1, 0, 1], [1, 0])
    with pytest.raises(ValueError):
        compare.seeds([1.0, math.nan], [1.0, 2.0])


def test_identical_samples_have_no_difference():
    c = compare.seeds([1.0, 1.0, 1.0], [1.0, 1.0, 1.0])
    assert c.word == compare.SAME and c.a_minus_b == 0


def test_distributions_match_scipy_stats():
    from scipy import stats

    assert compare._t_quantile(0.975, 4.3) == pytest.approx(stats.t.ppf(0.975, 4.3))
    assert compare._t_two_sided(2.1, 7) == pytest.approx(2 * stats.t.sf(2.1, 7))
    for n01, n10 in ((12, 30), (30, 12), (5, 5), (0, 9), (410, 520)):
        assert compare._mcnemar_exact(n01, n10) == pytest.approx(stats.binomtest(n01, n01 + n10, 0.5).pvalue)


def test_the_level_is_printed_from_the_comparison():
    assert compare.level_text() == "95%" and compare.level_text(0.9) == "90%"
    c = compare.seeds([1.0, 1.1, 1.2], [0.0, 0.1, 0.2], level=0.99)
    assert c.level == 0.99 and c.level_text == "99%"
    assert compare.paired([1, 0, 1], [0, 0, 1]).level_text == compare.level_text(compare.LEVEL)
