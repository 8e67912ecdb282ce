"""What a daily report covers and when its alarms fire: one typed model, shared by the library and the command."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field


class ReportOptions(BaseModel):
    """The report's window, segments and alarm thresholds.

    A label-mix alarm needs both a significant chi-square test and a material PSI: at hundreds of thousands of
    judgments a day every small wobble is significant, and on a few dozen a large PSI is noise.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    since: date | None = Field(None, description="First day of the window (default: 29 days before the last).")
    until: date | None = Field(None, description="The day the alarms check (default: the last day with judgments).")
    by: tuple[str, ...] = Field((), description="Pair columns to segment by (query_source, locale ...).")
    reference_days: int = Field(7, ge=1, description="Days before the last one that form the reference window.")
    judge: str | None = Field(None, description="The judge spec to report on (default: the last day's busiest).")
    scheme: str | None = Field(None, description="The label scheme (default: the window's most judged).")
    chi2_p: float = Field(0.001, gt=0, lt=1, description="A label-mix alarm needs a chi-square p-value below this.")
    psi: float = Field(0.1, gt=0, description="... and a population stability index at or above this.")
    min_pairs: int = Field(100, ge=1, description="Judgments a segment needs on the last day to be tested.")
    min_labelled: int = Field(30, ge=2, description="Pairs people labelled below which agreement is not shown.")
    min_queries: int = Field(10, ge=2, description="Queries each side of an alpha check needs: a query bootstrap "
                                                   "over fewer gives intervals too narrow to trust.")
    bootstrap: int = Field(500, ge=50, description="Query-bootstrap resamples for alpha's intervals.")
    confidence: float = Field(0.95, gt=0.5, lt=1, description="Coverage of the intervals shown.")
    alarm_confidence: float = Field(0.99, gt=0.5, lt=1, description="An alpha alarm needs the interval of alpha's "
                                                                    "fall at this coverage to lie above zero.")
    seed: int = Field(0, description="Seeds the bootstrap, so a report is reproducible.")
