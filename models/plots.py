"""Report plots as PNG bytes (matplotlib, Agg backend: no display needed)."""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from scipy import stats  # noqa: E402
from sklearn.metrics import roc_curve  # noqa: E402


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buf, format="png", dpi=96)
    plt.close(fig)
    return buf.getvalue()


def roc_plot(curves: dict[str, tuple[np.ndarray, np.ndarray]], title: str = "ROC") -> bytes:
    """``curves``: label → (y_true, pd)."""
    fig, ax = plt.subplots(figsize=(5, 4.2))
    for label, (y, p) in curves.items():
        fpr, tpr, _ = roc_curve(y, p)
        ax.plot(fpr, tpr, label=label)
    ax.plot([0, 1], [0, 1], ls=":", color="grey")
    ax.set(xlabel="false positive rate (goods)", ylabel="true positive rate (bads)", title=title)
    ax.legend(loc="lower right", fontsize=8)
    return _png(fig)


def ks_plot(y: np.ndarray, score: np.ndarray, ks: float, ks_score: float, label: str, title: str = "KS") -> bytes:
    """Cumulative shares of bads and goods by score (higher = safer).

    The marker and its label show the numbers of record (``ks`` and ``ks_score`` as the
    metrics hold them, ``label`` their text as the report prints them): the plot never
    computes a KS of its own.
    """
    order = np.argsort(score, kind="stable")
    s, yy = np.asarray(score, dtype=float)[order], np.asarray(y)[order]
    cum_bad = np.cumsum(yy) / max(yy.sum(), 1)
    cum_good = np.cumsum(1 - yy) / max((1 - yy).sum(), 1)
    # the curves just below the KS score: riskier applicants score lower, so the gap is at "score < ks_score"
    i = max(int(np.searchsorted(s, ks_score, side="left")) - 1, 0)
    fig, ax = plt.subplots(figsize=(5, 4.2))
    ax.plot(s, cum_bad, label="bads")
    ax.plot(s, cum_good, label="goods")
    ax.vlines(ks_score, cum_good[i], cum_bad[i], color="k", ls="--", label=label)
    ax.set(xlabel="score", ylabel="cumulative share", title=title)
    ax.legend(fontsize=8)
    return _png(fig)


def distribution_plot(samples: dict[str, np.ndarray], xlabel: str = "score", title: str = "Score distribution") -> bytes:
    fig, ax = plt.subplots(figsize=(5.5, 4))
    allv = np.concatenate([np.asarray(v, dtype=float) for v in samples.values()])
    bins = np.histogram_bin_edges(allv[np.isfinite(allv)], bins=30)
    for label, v in samples.items():
        ax.hist(v, bins=bins, density=True, histtype="step", lw=1.6, label=label)
    ax.set(xlabel=xlabel, ylabel="density", title=title)
    ax.legend(fontsize=8)
    return _png(fig)


def line_plot(table: pd.DataFrame, x: str, y: str, group: str | None, title: str, ylabel: str, max_groups: int = 40) -> bytes:
    fig, ax = plt.subplots(figsize=(7, 4.2))
    if group:
        groups = list(table[group].drop_duplicates())[:max_groups]
        cmap = plt.get_cmap("viridis", max(len(groups), 2))
        for i, g in enumerate(groups):
            part = table[table[group] == g]
            ax.plot(part[x], part[y], color=cmap(i), lw=1, label=str(g)[:10] if i % max(1, len(groups) // 8) == 0 else None)
        ax.legend(fontsize=7, title=group, ncols=2)
    else:
        ax.plot(table[x], table[y], marker="o")
    ax.set(xlabel=x, ylabel=ylabel, title=title)
    return _png(fig)


def heatmap_plot(matrix: pd.DataFrame, title: str, fmt: str = "{:.1%}") -> bytes:
    fig, ax = plt.subplots(figsize=(6.5, 5))
    ax.imshow(matrix.to_numpy(dtype=float), cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(matrix.shape[1]), [str(c) for c in matrix.columns], rotation=45, ha="right")
    ax.set_yticks(range(matrix.shape[0]), [str(r) for r in matrix.index])
    for i in range(matrix.shape[0]):
        for j in range(matrix.shape[1]):
            v = matrix.iat[i, j]
            if pd.notna(v):
                ax.text(j, i, fmt.format(v), ha="center", va="center", fontsize=7, color="k" if v < 0.6 else "w")
    ax.set(xlabel="to", ylabel="from", title=title)
    return _png(fig)


def bar_plot(labels, values, title: str, ylabel: str, line: tuple[list, str] | None = None) -> bytes:
    fig, ax = plt.subplots(figsize=(6, 3.6))
    ax.bar([str(v) for v in labels], values, color="#4c78a8")
    ax.set(title=title, ylabel=ylabel)
    ax.tick_params(axis="x", rotation=45, labelsize=7)
    if line is not None:
        ax2 = ax.twinx()
        ax2.plot([str(v) for v in labels], line[0], color="#e45756", marker="o")
        ax2.set_ylabel(line[1])
    return _png(fig)


def calibration_plot(table: pd.DataFrame, title: str) -> bytes:
    """Predicted (mean PD) vs observed default rate per grade, log scale."""
    fig, ax = plt.subplots(figsize=(5.5, 4.2))
    ax.plot(table["grade"], table["mean_pd"], marker="o", label="predicted (mean PD)")
    # observed rate with its Jeffreys 95% interval; a grade without defaults has no point on a log
    # axis, so it shows the interval's upper bound (a line to zero would read as a failure)
    g, n, d, obs = (table[c].to_numpy(dtype=float) for c in ("grade", "n", "defaults", "observed_dr"))
    lo, hi = stats.beta.ppf(0.025, d + 0.5, n - d + 0.5), stats.beta.ppf(0.975, d + 0.5, n - d + 0.5)
    some = d > 0
    ax.errorbar(g[some], obs[some], yerr=[obs[some] - lo[some], hi[some] - obs[some]], fmt="s", capsize=3,
                label="observed default rate (Jeffreys 95%)")
    if (~some).any():
        ax.scatter(g[~some], hi[~some], marker="v", color="grey", label="no default: 95% upper bound")
    ax.set_yscale("log")
    ax.set(xlabel="grade (1 = safest)", ylabel="default rate", title=title)
    ax.legend(fontsize=8)
    return _png(fig)


def binning_plot(table: pd.DataFrame, name: str) -> bytes:
    """Share of loans (bars) and bad rate (line) per bin."""
    t = table[table["count"] > 0]
    return bar_plot([str(b)[:18] for b in t["bin"]], t["share"], f"{name}: share and bad rate by bin", "share",
                    (list(t["bad_rate"]), "bad rate"))


def hbar_plot(labels, values, title: str, xlabel: str) -> bytes:
    fig, ax = plt.subplots(figsize=(6, max(2.5, 0.28 * len(labels) + 1)))
    ax.barh([str(v) for v in labels][::-1], list(values)[::-1], color="#4c78a8")
    ax.set(title=title, xlabel=xlabel)
    ax.tick_params(axis="y", labelsize=8)
    return _png(fig)
