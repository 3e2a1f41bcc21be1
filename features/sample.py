"""Sample design: development / test / out-of-time split of matured, labelled loans.

Every feature is as of the application date (the applications table holds nothing
observed later); the sample carries ``application_month`` so later stages can slice by it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from features.errors import SampleError

SPLITS = ("dev", "test", "oot")


@dataclass(frozen=True)
class ModelingSample:
    """What the ``modeling_sample`` asset passes on.

    ``sample``: one row per labelled loan (id, ``application_month``, ``target``, ``split``,
    features); ``features``: the candidate feature names; ``summary``: rows, bads and bad
    rate per split (and per split and month), as :func:`sample_summary` returns it.
    """

    sample: pd.DataFrame
    features: list[str]
    summary: pd.DataFrame

    def split(self, name: str) -> pd.DataFrame:
        """The rows of one split (``dev``, ``test``, ``oot``)."""
        return self.sample[self.sample["split"] == name]


@dataclass(frozen=True)
class SampleDesign:
    """How labelled loans are split.

    ``oot_months`` most recent labelled application months are out of time (unless
    ``oot_start`` names the first OOT month); the rest is development, from which a
    stratified random ``test_fraction`` is held out as test. With ``oot_months=0`` and no
    date, a second random holdout replaces the out-of-time split.
    """

    oot_months: int = 3
    test_fraction: float = 0.3
    development_start: str | None = None
    oot_start: str | None = None
    seed: int = 42

    def __post_init__(self) -> None:
        if not 0 < self.test_fraction < 1:
            raise SampleError(f"sample.test_fraction must be in (0, 1), got {self.test_fraction}")
        if self.oot_months < 0:
            raise SampleError(f"sample.oot_months must be >= 0, got {self.oot_months}")


def _stratified_holdout(target: np.ndarray, fraction: float, rng: np.random.Generator) -> np.ndarray:
    """Boolean mask selecting ``fraction`` of each class, reproducibly."""
    mask = np.zeros(len(target), dtype=bool)
    for cls in (0, 1):
        idx = np.flatnonzero(target == cls)
        n_take = int(round(fraction * len(idx)))
        mask[rng.permutation(idx)[:n_take]] = True
    return mask


def split_sample(labelled: pd.DataFrame, design: SampleDesign, date_column: str = "application_month") -> pd.DataFrame:
    """Assign each labelled row (``target`` 0/1) to ``dev``, ``test`` or ``oot``.

    ``labelled`` must be sorted deterministically (by key) for the split to be
    reproducible; a ``split`` column is added to a copy. Without ``date_column`` (or with
    ``oot_months == 0``) the OOT split becomes a second random stratified holdout.
    """
    if "target" not in labelled.columns:
        raise SampleError("modeling_sample: column 'target' is missing")
    if labelled.empty:
        raise SampleError("modeling_sample: no labelled loans (every loan is immature, indeterminate or rejected)")
    has_dates = date_column in labelled.columns and labelled[date_column].notna().all()
    out = labelled.copy()
    if has_dates and design.development_start:
        out = out[pd.to_datetime(out[date_column]) >= pd.Timestamp(design.development_start)]
    target = out["target"].to_numpy()
    rng = np.random.default_rng(design.seed)
    split = np.full(len(out), "dev", dtype=object)
    if has_dates and (design.oot_months > 0 or design.oot_start):
        months = pd.to_datetime(out[date_column]).dt.to_period("M")
        if design.oot_start:
            oot = (months >= pd.Period(design.oot_start, "M")).to_numpy()
        else:
            oot_months = np.sort(months.unique())[-design.oot_months :]
            oot = months.isin(oot_months).to_numpy()
        if oot.all():
            raise SampleError(
                f"modeling_sample: the out-of-time window covers every labelled month; "
                f"lower sample.oot_months (now {design.oot_months})"
            )
        split[oot] = "oot"
    else:
        # No dates: the "out of time" sample is a second random holdout, said so in the report.
        split[_stratified_holdout(target, design.test_fraction / 2, rng)] = "oot"
    in_dev = split == "dev"
    test_mask = np.zeros(len(out), dtype=bool)
    test_mask[np.flatnonzero(in_dev)] = _stratified_holdout(target[in_dev], design.test_fraction, rng)
    split[test_mask] = "test"
    out["split"] = split
    for name in SPLITS:
        part = target[split == name]
        if len(part) == 0 or part.min() == part.max():
            raise SampleError(
                f"modeling_sample: split '{name}' has {len(part)} rows and {int(part.sum()) if len(part) else 0} bads;"
                " each split needs goods and bads (widen the windows or lower sample.oot_months)"
            )
    return out


def sample_summary(sample: pd.DataFrame, date_column: str | None = "application_month") -> pd.DataFrame:
    """Rows, bads and bad rate per split and, when dated, per split and month."""
    frames = []
    keys = ["split"] + ([date_column] if date_column and date_column in sample.columns else [])
    for by in (["split"], keys) if len(keys) > 1 else (["split"],):
        g = sample.groupby(by, observed=True)["target"].agg(rows="size", bads="sum").reset_index()
        g["bad_rate"] = g["bads"] / g["rows"]
        frames.append(g)
    out = pd.concat(frames, ignore_index=True)
    out["split"] = pd.Categorical(out["split"], SPLITS, ordered=True)
    sort = ["split"] + ([date_column] if date_column in out.columns else [])
    return out.sort_values(sort, na_position="first").reset_index(drop=True)


def build_modeling_sample(
    applications: pd.DataFrame,
    outcomes: pd.DataFrame,
    design: SampleDesign,
    *,
    id_column: str = "application_id",
    never_features: tuple[str, ...] | list[str] = (),
    performance_window: int | None = None,
) -> tuple[pd.DataFrame, list[str]]:
    """Join labelled outcomes (bad/good) to application features and split.

    Returns the sample (``id_column``, ``application_month``, ``target``, ``split`` and the
    features) and the list of feature names: every application column except keys,
    decision results and ``never_features`` (PII, protected attributes, the target). With
    ``performance_window``, loans of vintages that have not reached it are left out.
    """
    labelled = outcomes[outcomes["target"].notna()]
    if performance_window is not None and "mob_as_of" in labelled.columns:
        # Only matured vintages: in a younger vintage only the early bads are labelled yet,
        # and keeping them would inflate its bad rate.
        labelled = labelled[labelled["mob_as_of"].fillna(0) >= performance_window]
    labelled = labelled[[id_column, "application_month", "target"]]
    drop = set(never_features) | {id_column, "application_month", "target", "split"}
    # dates are never features (a date is when, not who); keys and PII are dropped by name
    features = [c for c in applications.columns
                if c not in drop and not pd.api.types.is_datetime64_any_dtype(applications[c])]
    sample = labelled.merge(applications[[id_column, *features]], on=id_column, how="inner", validate="one_to_one")
    sample["target"] = sample["target"].astype(int)
    sample = sample.sort_values(id_column, kind="stable").reset_index(drop=True)
    return split_sample(sample, design), features


def newest_applications(applications: pd.DataFrame, months: int, date_column: str = "application_date") -> pd.DataFrame:
    """Applications (accepted and rejected) of the newest ``months`` application months (all when undated)."""
    if date_column not in applications.columns:
        return applications
    month = pd.to_datetime(applications[date_column]).dt.to_period("M")
    keep = month.isin(np.sort(month.unique())[-months:])
    return applications[keep.to_numpy()]
