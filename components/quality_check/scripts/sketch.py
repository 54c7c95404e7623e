"""Mergeable summaries of a numeric feature, fed in blocks: moments and a KLL quantile sketch.

Each holds a bounded amount whatever the number of values, so the analyzer streams its input:
the moments are exact (count, sum, min, max; the variance merged block by block with Chan's
formula), the KLL sketch approximates the distribution. Both depend only on the values and the
blocks they come in, so a run is byte-identical to the last; the analyzer feeds every feature in
blocks of KLL_K values.
"""

from __future__ import annotations

import math

import numpy as np

KLL_K = 2048  # items a KLL sketch keeps at its top level; below this the sketch is exact
KLL_C = 0.64  # capacity ratio between adjacent levels (Deequ's shrinking factor)
KLL_MIN_WIDTH = 8  # the smallest capacity of a level (as Apache DataSketches)
KLL_SEED = 0  # the compactions' coin flips: seeded, so a run repeats itself


class KllSketch:
    """A KLL quantile sketch (Karnin, Lang, Liberty 2016): level h holds items of weight 2**h.

    A level over its capacity is compacted: sorted, one item kept when their number is odd, and
    every other item promoted to the next level, starting at a random offset (0 or 1). Each
    compaction moves any rank by at most the level's weight, with random sign, which is what
    bounds the error (README: about 0.2% of the count at k 2048). Nothing is compacted below k
    values: level 0 is then the data, sorted. Two sketches merge level by level.
    """

    def __init__(self, k: int = KLL_K, c: float = KLL_C, seed: int = KLL_SEED) -> None:
        self.k, self.c = k, c
        self.levels: list[np.ndarray] = [np.empty(0)]
        self.random = np.random.default_rng(seed)

    @property
    def count(self) -> float:
        return float(sum(len(level) * 2.0**h for h, level in enumerate(self.levels)))

    def capacity(self, level: int) -> int:
        depth = len(self.levels) - 1 - level
        return max(KLL_MIN_WIDTH, math.ceil(self.k * self.c**depth))

    def update(self, values: np.ndarray) -> None:
        self.levels[0] = np.concatenate([self.levels[0], np.asarray(values, dtype=float)])
        self._compress()

    def merge(self, other: KllSketch) -> None:
        for h, level in enumerate(other.levels):
            if h == len(self.levels):
                self.levels.append(np.empty(0))
            self.levels[h] = np.concatenate([self.levels[h], level])
        self._compress()

    def _compress(self) -> None:
        while True:
            full = next(
                (h for h, items in enumerate(self.levels) if len(items) > self.capacity(h)), None
            )
            if full is None:
                return
            items = np.sort(self.levels[full], kind="stable")
            keep = len(items) % 2  # an odd item stays where it is
            offset = int(self.random.integers(2))
            self.levels[full] = items[:keep]
            if full + 1 == len(self.levels):
                self.levels.append(np.empty(0))
            self.levels[full + 1] = np.concatenate(
                [self.levels[full + 1], items[keep + offset :: 2]]
            )

    def data(self) -> list[list[float]]:
        """The levels, each sorted: statistics.json's `sketch.data`."""
        return [np.sort(level).tolist() for level in self.levels]

    def weighted_items(self) -> tuple[np.ndarray, np.ndarray]:
        values = np.concatenate(self.levels)
        weights = np.concatenate([np.full(len(lv), 2.0**h) for h, lv in enumerate(self.levels)])
        return values, weights


class Moments:
    """Count, sum, mean, population variance, min and max of the values fed in blocks."""

    def __init__(self) -> None:
        self.count = 0
        self.total = 0.0
        self.mean = 0.0
        self.m2 = 0.0  # sum of squared deviations from the mean
        self.low, self.high = math.inf, -math.inf

    def update(self, values: np.ndarray) -> None:
        size = len(values)
        if not size:
            return
        total = float(values.sum())
        mean = total / size
        m2 = float(((values - mean) ** 2).sum())
        if self.count:  # Chan, Golub, LeVeque: the two blocks' deviations merged
            delta = mean - self.mean
            merged = self.count + size
            m2 = self.m2 + m2 + delta * delta * self.count * size / merged
        self.count += size
        self.total += total
        self.mean = self.total / self.count
        self.m2 = m2
        self.low, self.high = (
            min(self.low, float(values.min())),
            max(self.high, float(values.max())),
        )

    @property
    def std_dev(self) -> float:
        return math.sqrt(self.m2 / self.count) if self.count else 0.0
