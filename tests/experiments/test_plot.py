from __future__ import annotations

import pytest

from reljudge.errors import ReljudgeError
from reljudge.experiments.plot import effects_figure, write_figure

REPORT = {"n_queries": 40, "p_value": 0.01, "effect": 0.05, "ci_low": 0.01, "ci_high": 0.09, "alpha": 0.05,
          "per_stratum": [{"stratum": "head", "n": 20, "p_adjusted": 0.02, "effect": 0.07, "ci_low": 0.01,
                           "ci_high": 0.13},
                          {"stratum": "tail", "n": 20, "p_adjusted": 0.4, "effect": 0.02, "ci_low": -0.04,
                           "ci_high": 0.08}]}


def test_the_forest_plot_has_a_row_per_stratum_and_the_overall_one_and_renders_to_png(tmp_path):
    spec = effects_figure(REPORT, title="ndcg@10")
    rows = [row["row"] for row in next(iter(spec["datasets"].values()))]
    assert rows == ["overall (n=40, p=0.01)", "head (n=20, BH p=0.02)", "tail (n=20, BH p=0.4)"]
    png = write_figure(spec, tmp_path / "effects.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 2000


def test_another_suffix_is_refused(tmp_path):
    with pytest.raises(ReljudgeError, match="use .html or .png"):
        write_figure(effects_figure(REPORT), tmp_path / "effects.svg")
