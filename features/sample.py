"""Sample design: the roles of matured, labelled loans.

* ``oot`` — out of time: the newest application months (by date, never at random);
* ``test`` — a stratified random holdout of the older months, touched once, to report;
* ``validation`` — a stratified random part of the rest, for early stopping, the parameter
  search, calibration, the master-scale cut and the choice among candidates;
* ``dev`` — the remaining development rows: binning, selection and fitting.

The random holdouts are drawn by customer when the sample has a customer column: every
application of a customer falls in one of ``dev``, ``validation``, ``test``, so a repeat
applicant never sits on both sides. (Out of time is by date: a returning customer's newer
application is out of time, as it will be in production.) Which step may read which role
is :class:`models.protocol.DevelopmentProtocol`'s business.

Every feature is as of the application date (the applications table holds nothing
observed later); the sample carries ``application_month`` so later stages can slice by it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from features.errors import SampleError

SPLITS = ("dev", "validation", "test", "oot")


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
    stratified random ``test_fraction`` is held out as test, then a stratified random
    ``validation_fraction`` of what remains as validation. With ``oot_months=0`` and no
    date, a second random holdout replaces the out-of-time split. ``customer_column``
    (when the sample has it) keeps each customer's applications together.
    """

    oot_months: int = 3
    test_fraction: float = 0.3
    validation_fraction: float = 0.25
    development_start: str | None = None
    oot_start: str | None = None
    seed: int = 42
    customer_column: str | None = "customer_id"

    def __post_init__(self) -> None:
        if not 0 < self.test_fraction < 1:
            raise SampleError(f"sample.test_fraction must be in (0, 1), got {self.test_fraction}")
        if not 0 < self.validation_fraction < 1:
            raise SampleError(f"sample.validation_fraction must be in (0, 1), got {self.validation_fraction}")
        if self.oot_months < 0:
            raise SampleError(f"sample.oot_months must be >= 0, got {self.oot_months}")


def _group_codes(groups) -> np.ndarray:
    """Integer code per row, equal for rows of one group; a row without a group is its own group."""
    codes, _ = pd.factorize(pd.Series(groups), sort=True)
    codes = codes.astype(np.int64)
    missing = codes < 0
    codes[missing] = codes.max(initial=-1) + 1 + np.arange(int(missing.sum()))
    return codes


def _group_classes(target, groups: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """Each row's group code (every row its own group without ``groups``) and, per group, whether any row is bad."""
    codes = np.arange(len(target)) if groups is None else _group_codes(groups)
    group_bad = np.bincount(codes, weights=np.asarray(target), minlength=int(codes.max(initial=-1)) + 1) > 0
    return codes, group_bad


def stratified_holdout(target: np.ndarray, fraction: float, rng: np.random.Generator,
                       groups: np.ndarray | None = None) -> np.ndarray:
    """Boolean mask selecting ``fraction`` of each class, reproducibly, whole groups at a time.

    Without ``groups`` every row is its own group. A group is a "bad" group when any of its
    rows is bad; ``fraction`` of the bad groups and of the good groups are drawn, so the
    holdout keeps the bad rate up to the size of the groups.
    """
    codes, group_bad = _group_classes(target, groups)
    take = np.zeros(len(group_bad), dtype=bool)
    for cls in (False, True):
        idx = np.flatnonzero(group_bad == cls)
        n_take = int(round(fraction * len(idx)))
        take[rng.permutation(idx)[:n_take]] = True
    return take[codes]


def stratified_folds(target: np.ndarray, k: int, rng: np.random.Generator, groups: np.ndarray | None = None) -> np.ndarray:
    """Fold number (0..k-1) of each row: whole groups at a time, stratified as :func:`stratified_holdout` is.

    The bad groups and the good groups are each shuffled and dealt to the folds in turn, so
    every fold gets an equal share (up to one group) of each. One vectorised pass: a
    book's hundreds of thousands of customers take milliseconds (scikit-learn's
    ``StratifiedGroupKFold`` balances group by group in Python: minutes at that size).
    """
    codes, group_bad = _group_classes(target, groups)
    fold = np.empty(len(group_bad), dtype=int)
    for cls in (False, True):
        idx = rng.permutation(np.flatnonzero(group_bad == cls))
        fold[idx] = np.arange(len(idx)) % k
    return fold[codes]


def split_development(frame: pd.DataFrame, validation_fraction: float, seed: int,
                      customer_column: str | None = None) -> pd.DataFrame:
    """A copy of ``frame`` (with ``target``) whose ``split`` is ``dev`` (fit) or ``validation``.

    The same draw as the nightly sample's validation rows: stratified, seeded, whole
    customers at a time when ``customer_column`` is a column.
    """
    if not 0 < validation_fraction < 1:
        raise SampleError(f"sample.validation_fraction must be in (0, 1), got {validation_fraction}")
    groups = frame[customer_column].to_numpy() if customer_column and customer_column in frame.columns else None
    held = stratified_holdout(frame["target"].to_numpy(), validation_fraction, np.random.default_rng(seed), groups)
    out = frame.copy()
    out["split"] = np.where(held, "validation", "dev")
    return out


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
    groups = out[design.customer_column].to_numpy() if design.customer_column in out.columns else None
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
        split[stratified_holdout(target, design.test_fraction / 2, rng, groups)] = "oot"
    for role, fraction in (("test", design.test_fraction), ("validation", design.validation_fraction)):
        in_dev = np.flatnonzero(split == "dev")
        held = stratified_holdout(target[in_dev], fraction, rng, None if groups is None else groups[in_dev])
        split[in_dev[held]] = role
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
    carry: tuple[str, ...] | list[str] = (),
) -> tuple[pd.DataFrame, list[str]]:
    """Join labelled outcomes (bad/good) to application features and split.

    Returns the sample (``id_column``, ``application_month``, ``target``, ``split``, the
    design's customer column when the applications have it, and the features) and the list of feature names: every application column except keys,
    decision results and ``never_features`` (PII, protected attributes, the target). With
    ``performance_window``, loans of vintages that have not reached it are left out.
    ``carry``: application columns kept in the sample but never features (protected
    attributes excluded from the model, for the fairness report).
    """
    labelled = outcomes[outcomes["target"].notna()]
    if performance_window is not None and "mob_as_of" in labelled.columns:
        # Only matured vintages: in a younger vintage only the early bads are labelled yet,
        # and keeping them would inflate its bad rate.
        labelled = labelled[labelled["mob_as_of"].fillna(0) >= performance_window]
    labelled = labelled[[id_column, "application_month", "target"]]
    customer = [design.customer_column] if design.customer_column in applications.columns else []
    drop = set(never_features) | {id_column, "application_month", "target", "split", *customer}
    # dates are never features (a date is when, not who); keys and PII are dropped by name
    features = [c for c in applications.columns
                if c not in drop and not pd.api.types.is_datetime64_any_dtype(applications[c])]
    # carried, never features: protected attributes kept out of the model, for the fairness report
    carried = [c for c in dict.fromkeys(carry) if c in applications.columns and c not in {id_column, *customer, *features}]
    sample = labelled.merge(applications[[id_column, *customer, *carried, *features]], on=id_column, how="inner",
                            validate="one_to_one")
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
