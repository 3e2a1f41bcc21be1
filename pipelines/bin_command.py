"""``creditpipe bin``: read → outcomes → development sample → binning → selection, and nothing else.

The modeler's loop on bins: no data contracts, no models, no Dagster run, no MLflow. Each
stage calls the library functions its asset calls, so the bins are the nightly job's bins
for the same config. Writes to ``--output``:

* ``bins/<variable>.csv`` — the binning table in use (for a variable with fixed splits,
  followed by the optimiser's own table, column ``binning`` says which);
* ``plots/<variable>.png`` — share and bad rate per bin;
* ``splits.csv`` — per variable the splits, where they come from, the optimiser's splits;
* ``selection.csv`` — IV, WOE correlation, VIF, CSI development vs out-of-time, selected,
  and the reason for every dropped variable;
* ``timings.csv`` — seconds per stage (also printed).
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from features.binning import WoeBinner
from features.selection import SelectionRules, select_features
from pipelines.config import PortfolioConfig, TableSource


@dataclass
class StageTimer:
    """Wall seconds per stage, in order."""

    seconds: dict[str, float] = field(default_factory=dict)

    def run(self, name: str, fn, *args, **kwargs):
        start = time.perf_counter()
        out = fn(*args, **kwargs)
        self.seconds[name] = time.perf_counter() - start
        return out

    def table(self) -> pd.DataFrame:
        t = pd.DataFrame({"stage": list(self.seconds), "seconds": [round(s, 3) for s in self.seconds.values()]})
        return pd.concat([t, pd.DataFrame({"stage": ["total"], "seconds": [round(sum(self.seconds.values()), 3)]})],
                         ignore_index=True)


def read_book(cfg: PortfolioConfig) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Applications and performance as the ingest assets read them (PII masked on read)."""
    from features.pii import mask_pii
    from pipelines.assets.ingest import pii_salt
    from pipelines.resources import WarehouseResource
    from pipelines.sources import pii_columns, read_applications, read_performance

    warehouse = WarehouseResource(url=cfg.source.url if cfg.source.kind == "warehouse" else "duckdb:///.data/warehouse.duckdb")
    applications = mask_pii(read_applications(cfg, warehouse), pii_columns(cfg), pii_salt())
    performance = mask_pii(read_performance(cfg, warehouse), pii_columns(cfg, "performance"), pii_salt())
    return applications, performance


def derive_outcomes(cfg: PortfolioConfig, applications: pd.DataFrame, performance: pd.DataFrame) -> pd.DataFrame:
    """Outcome per application, as the ``loan_outcomes`` asset derives it."""
    from features import outcomes as oc
    from features.flat_table import flat_table_outcomes

    src = cfg.source
    if isinstance(src, TableSource):
        return flat_table_outcomes(applications, src.target, src.bad_values, id="application_id",
                                   date="application_date" if src.date else None)
    return oc.derive_outcomes(applications, performance, cfg.bad_definition.build(), as_of=src.as_of)


def development_sample(cfg: PortfolioConfig, applications: pd.DataFrame, outcomes: pd.DataFrame):
    """The modeling sample (dev / validation / test / oot) as the ``modeling_sample`` asset builds it."""
    from features.sample import SampleDesign, build_modeling_sample
    from pipelines.assets.modeling import never_features

    return build_modeling_sample(applications, outcomes, SampleDesign(**cfg.sample.model_dump()),
                                 never_features=never_features(cfg),
                                 performance_window=None if isinstance(cfg.source, TableSource)
                                 else cfg.bad_definition.performance_window)


def selection(cfg: PortfolioConfig, binner: WoeBinner, dev: pd.DataFrame, oot: pd.DataFrame) -> pd.DataFrame:
    """Selection on the development rows; CSI of each variable between development and out-of-time (no target read)."""
    iv = binner.summary().set_index("name")["iv"]
    csi = binner.stability(dev, oot) if len(oot) else None
    return select_features(iv, binner.transform(dev), SelectionRules(**cfg.selection.model_dump()), csi=csi)


def safe_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name)[:100] or "variable"


def write_outputs(binner: WoeBinner, selected: pd.DataFrame, out: Path) -> None:
    from models.plots import binning_plot

    (out / "bins").mkdir(parents=True, exist_ok=True)
    (out / "plots").mkdir(parents=True, exist_ok=True)
    for name in binner.variables_:
        table = binner.binning_table(name).assign(binning="in use")
        optimal = binner.optimal_table(name)
        if optimal is not None:
            table = pd.concat([table.assign(binning="fixed (config)"), optimal.assign(binning="optimal (reference)")],
                              ignore_index=True)
        table.insert(0, "variable", name)
        table.to_csv(out / "bins" / f"{safe_name(name)}.csv", index=False)
        (out / "plots" / f"{safe_name(name)}.png").write_bytes(binning_plot(binner.binning_table(name), name))
    binner.splits_table().to_csv(out / "splits.csv", index=False)
    selected.to_csv(out / "selection.csv", index=False)


def run_bin(cfg: PortfolioConfig, output: str | Path, echo=print) -> dict:
    """The whole command; returns the stage timings, the selection table and the output directory."""
    from pipelines.estimators import fit_binner

    out = Path(output)
    out.mkdir(parents=True, exist_ok=True)
    timer = StageTimer()
    applications, performance = timer.run("read", read_book, cfg)
    outcomes = timer.run("outcomes", derive_outcomes, cfg, applications, performance)
    sample, features = timer.run("development sample", development_sample, cfg, applications, outcomes)
    dev, oot = sample[sample["split"] == "dev"], sample[sample["split"] == "oot"]
    echo(f"development rows {len(dev):,} ({int(dev['target'].sum()):,} bad), out-of-time rows {len(oot):,}, "
         f"{len(features)} candidate features")
    binner = timer.run("binning", fit_binner, cfg, dev, features)
    selected = timer.run("selection", selection, cfg, binner, dev, oot)
    timer.run("write tables and plots", write_outputs, binner, selected, out)
    timings = timer.table()
    timings.to_csv(out / "timings.csv", index=False)
    with pd.option_context("display.width", 200, "display.max_colwidth", 90):
        echo(selected[["variable", "iv", "selected", "reason"]].to_string(index=False))
        echo("\nstage timings (seconds):\n" + timings.to_string(index=False))
    echo(f"\n{int(selected['selected'].sum())} of {len(selected)} variables selected; binning tables, plots, "
         f"splits.csv and selection.csv in {out}")
    return {"timings": timings, "selection": selected, "output": out, "binner": binner}
