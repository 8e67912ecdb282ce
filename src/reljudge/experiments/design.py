"""How an experiment's queries were drawn (strata, weights, shares, inclusion probabilities): what both the
analytic estimator (effects.py) and the bootstrap (bootstrap.py) read."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class Design:
    """How the measured queries were drawn, aligned with their values.

    Attributes:
        strata: stratum names.
        codes: each query's stratum, an index into `strata`.
        weights: w_i, each query's weight in its stratum's mean.
        shares: W_h, each stratum's share of the target; they sum to 1.
        probability: pi_i, each query's inclusion probability (0 where unknown: no finite-population correction).
    """

    strata: tuple[str, ...]
    codes: np.ndarray
    weights: np.ndarray
    shares: np.ndarray
    probability: np.ndarray

    @property
    def counts(self) -> np.ndarray:
        return np.bincount(self.codes, minlength=len(self.strata))


def design_from_sample(sample: pd.DataFrame) -> Design:
    """The design of a sample read by `read_sample`: shares from its stratum_share column, else from the weights.

    Shares that do not sum to 1 (a sample cut down to fewer strata) are re-normalised.
    """
    codes, names = pd.factorize(sample["stratum"].to_numpy(), sort=True)
    weights = sample["weight"].to_numpy(float)
    given = sample.groupby("stratum")["stratum_share"].first().reindex(names).to_numpy(float)
    shares = given if not np.isnan(given).any() else np.bincount(codes, weights, len(names))
    return Design(tuple(map(str, names)), codes, weights, shares / shares.sum(),
                  np.nan_to_num(sample["inclusion_prob"].to_numpy(float)))
