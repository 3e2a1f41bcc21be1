"""Raw files score exactly as training read them: the fitted input reader is part of the registered model.

A lender-style raw extract is written from German Credit (Hofmann 1994, UCI, CC BY 4.0)
with its numbers as people write them: ``duration2`` as ``"24 months"``, ``amount5`` with
a thousands separator (``"1,169.00"``), ``installment8`` as a percent (``"43.7%"``),
``employ7`` as ``"10+ years"`` style lengths, and a new decimal-comma column
(``monthly_eur``: amount / duration, ``"1.234,56"``). ``creditpipe run`` trains on it
(the last three application months held out of time), then ``creditpipe score`` scores
the held-out raw rows: PDs and scores equal the pipeline's own out-of-time scores, by id.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from mlflow import MlflowClient

from features.errors import SourceError
from features.feature_domain import FeatureDomain
from features.input_reader import InputReader, infer_types
from features.number_text import NumberFormat, read_numbers
from features.table_files import iter_table_chunks, read_flat_table, table_columns
from tests.conftest import DATASETS, isolated_env, read_summary, run_creditpipe

pytestmark = pytest.mark.slow  # a module of full runs / big fits: handed out first under xdist

EMPLOYMENT_YEARS = {"A71": "0 years", "A72": "1 year", "A73": "4 years", "A74": "7 years", "A75": "10+ years"}
MONTHS = 20  # application months 2020-01 .. 2021-08; the last 3 are out of time


def _comma_decimal(x: float) -> str:
    whole, frac = f"{x:,.2f}".split(".")
    return whole.replace(",", ".") + "," + frac


def raw_extract(german: pd.DataFrame) -> pd.DataFrame:
    """German Credit as a lender's raw text extract (every value a string, as a CSV holds it)."""
    g = german.reset_index(drop=True)
    month = (np.arange(len(g)) * MONTHS // len(g)).astype(int)
    raw = pd.DataFrame({
        "loan_ref": (100_000 + np.arange(len(g))).astype(str),
        "opened": [f"{2020 + (m // 12)}-{m % 12 + 1:02d}-15" for m in month],
    })
    for col in g.columns:
        raw[col] = g[col].astype(str)
    raw["duration2"] = [f"{v} months" for v in g["duration2"]]
    raw["amount5"] = [f"{v:,.2f}" for v in g["amount5"].astype(float)]
    raw["installment8"] = [f"{v * 10 + 3.7:.1f}%" for v in g["installment8"]]
    raw["employ7"] = g["employ7"].map(EMPLOYMENT_YEARS)
    raw["monthly_eur"] = [_comma_decimal(a / d) for a, d in zip(g["amount5"].astype(float), g["duration2"])]
    return raw


# --------------------------------------------------------------------------- the reader on its own (fast)


def test_reader_reads_the_unit_strings_as_numbers(german, tmp_path):
    path = tmp_path / "raw.csv"
    raw_extract(german).to_csv(path, index=False)
    raw = read_flat_table(path)
    reader = InputReader(exclude=["opened"]).fit(raw)
    typed = reader.transform(raw)
    g = german.reset_index(drop=True)
    assert typed["duration2"].tolist() == g["duration2"].tolist()
    np.testing.assert_array_equal(typed["amount5"].to_numpy(), g["amount5"].to_numpy(dtype=float))
    np.testing.assert_allclose(typed["installment8"], (g["installment8"] * 10 + 3.7) / 100, rtol=0, atol=1e-12)
    assert typed["employ7"].tolist() == g["employ7"].map({"A71": 0, "A72": 1, "A73": 4, "A74": 7, "A75": 10}).tolist()
    np.testing.assert_allclose(typed["monthly_eur"], np.round(g["amount5"] / g["duration2"], 2), rtol=0, atol=1e-9)
    rules = reader.types_table_.set_index("column")["rule"]
    assert "unit 'month'" in rules["duration2"] and "percent" in rules["installment8"]
    assert "decimal comma" in rules["monthly_eur"] and "'N+'" in rules["employ7"]
    assert reader.columns_["monthly_eur"].number_format == NumberFormat(plain=False, decimal=",", percent=False, unit=None)


def test_transform_reproduces_fit_transform_on_the_public_datasets(german):
    for frame in (read_flat_table(DATASETS / "german_credit.csv"), read_flat_table(DATASETS / "taiwan_credit_card_default.csv")):
        reader = InputReader()
        typed = reader.fit_transform(frame)
        pd.testing.assert_frame_equal(reader.transform(frame), typed)
        pd.testing.assert_frame_equal(infer_types(frame)[0], typed)


def test_scoring_chunks_read_as_training_read_the_file(german, tmp_path):
    path = tmp_path / "raw.csv"
    raw_extract(german).to_csv(path, index=False)
    whole = read_flat_table(path)
    cols = ["loan_ref", "duration2", "monthly_eur", "checkingstatus1"]
    chunks = list(iter_table_chunks(path, cols, chunk_rows=300))
    assert [len(c) for c in chunks] == [300, 300, 300, 100]
    pd.testing.assert_frame_equal(pd.concat(chunks, ignore_index=True), whole[cols], check_dtype=False)
    assert table_columns(path) == list(whole.columns)
    parquet = tmp_path / "raw.parquet"
    whole.to_parquet(parquet)
    pd.testing.assert_frame_equal(pd.concat(iter_table_chunks(parquet, cols, 999), ignore_index=True), whole[cols],
                                  check_dtype=False)


def test_new_values_are_read_under_the_fitted_format_never_reguessed():
    fmt = NumberFormat(plain=False, decimal=",", percent=False, unit="eur")
    got = read_numbers(["1.234,5", "12,5 EUR", "1.5", "3 USD", "7%"], fmt)
    np.testing.assert_array_equal(got[:2], [1234.5, 12.5])
    assert np.isnan(got[2:]).all()  # the other decimal mark, another unit, a percent: not this column's numbers
    reader = InputReader().fit(pd.DataFrame({"term": ["36 months", "60 months"], "grade": ["A", "b"]}))
    with pytest.raises(SourceError, match=r"x\.csv: column 'term' is numeric .* \['3 years'\].*unit 'month'"):
        reader.transform(pd.DataFrame({"term": ["3 years"], "grade": ["A"]}), table="x.csv")
    lenient = InputReader(types={"term": "numeric"}).fit(pd.DataFrame({"term": ["36", "n.a."]}))
    typed, report = lenient.read(pd.DataFrame({"term": ["12", "unknown"]}))
    assert typed["term"].tolist()[0] == 12 and np.isnan(typed["term"].tolist()[1])
    assert report.counts == {"term": {"unreadable": 1}}


def test_categories_normalised_by_case_and_blanks_only_when_unambiguous():
    reader = InputReader().fit(pd.DataFrame({"housing": ["Own", "Rent", "own", "Free"], "region": ["North", "South", "North", "East"]}))
    typed, report = reader.read(pd.DataFrame({"housing": [" Rent ", "RENT", "OWN", "Castle"],
                                              "region": ["  north", "SOUTH  EAST", "East", None]}))
    # 'OWN' matches both 'Own' and 'own': ambiguous, kept as a new category
    assert typed["housing"].tolist() == ["Rent", "Rent", "OWN", "Castle"]
    assert typed["region"].tolist()[:3] == ["North", "SOUTH  EAST", "East"] and pd.isna(typed["region"].iloc[3])
    assert report.counts == {"housing": {"normalised": 1, "new_category": 2}, "region": {"normalised": 1, "new_category": 1}}
    assert report.examples["housing.new_category"] == ["OWN", "Castle"]


def test_missing_columns_are_named_and_extra_columns_ignored():
    reader = InputReader().fit(pd.DataFrame({"a": ["1", "2"], "b": ["x", "y"]}))
    with pytest.raises(SourceError, match=r"scores\.csv: required column\(s\) missing: \['b'\]"):
        reader.transform(pd.DataFrame({"a": ["1"]}), table="scores.csv")
    out = reader.transform(pd.DataFrame({"a": ["3"], "b": ["x"], "zzz": [1]}))
    assert list(out.columns) == ["a", "b"]


def test_feature_domain_counts_values_development_never_saw():
    dev = pd.DataFrame({"age": [20.0, 30.0, np.nan], "housing": ["own", "rent", None]})
    domain = FeatureDomain().fit(dev)
    assert domain.ranges_ == {"age": (20.0, 30.0)} and domain.categories_ == {"housing": ["own", "rent"]}
    new = pd.DataFrame({"age": [19.0, 20.0, 31.0, 45.0, np.nan], "housing": ["own", "castle", None, "hut", "rent"]})
    assert domain.check(new) == {"age": {"below_range": 1, "above_range": 2}, "housing": {"unseen_category": 2}}
    as_category = new.assign(housing=new["housing"].astype("category"))
    assert domain.check(as_category) == domain.check(new)


# --------------------------------------------------------------------------- end to end (creditpipe run + score)


@pytest.fixture(scope="session")
def raw_job(german, tmp_path_factory):
    """`creditpipe run` on the raw extract: the last 3 application months held out of time."""
    tmp = tmp_path_factory.mktemp("raw_scoring")
    raw = raw_extract(german)
    raw.to_csv(tmp / "raw_extract.csv", index=False)
    (tmp / "portfolio.yaml").write_text(
        "portfolio: raw_german\n"
        "source:\n  kind: table\n  path: raw_extract.csv\n  target: GoodCredit\n  bad_values: [2]\n"
        "  id: loan_ref\n  date: opened\n"
        "sample:\n  oot_months: 3\n"
        "models:\n  xgboost: {n_search: 2}\n")
    env = isolated_env(tmp)
    proc = run_creditpipe(["run", "--config", "portfolio.yaml", "--workdir", "work"], env, cwd=tmp)
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = read_summary(tmp / "work")
    client = MlflowClient(env["MLFLOW_TRACKING_URI"])
    oot = pd.read_csv(client.download_artifacts(summary["mlflow_run_id"], "report/oot_scores.csv", str(tmp)))
    assert summary["model_version"], summary  # registered (champion or challenger: the gates decide, not this test)
    cand = client.get_model_version(summary["model_name"], summary["model_version"]).tags["candidate"]
    return tmp, env, summary, raw, oot, cand


def _uri(summary: dict) -> str:
    return f"models:/{summary['model_name']}/{summary['model_version']}"


def _score(raw_job, frame: pd.DataFrame, name: str):
    tmp, env, summary, *_ = raw_job
    src, dst = tmp / f"{name}.csv", tmp / f"{name}_scored.csv"
    frame.to_csv(src, index=False)
    proc = run_creditpipe(["score", "--model", _uri(summary), "--input", src.name,
                           "--output", dst.name, "--quiet", "--chunk-rows", "64"], env, cwd=tmp)
    if proc.returncode != 0:
        return proc, None, None
    return proc, pd.read_csv(dst), json.loads((tmp / f"{name}_scored.csv.summary.json").read_text())


@pytest.fixture(scope="session")
def held_back(raw_job):
    _, _, _, raw, oot, _ = raw_job
    rows = raw[raw["loan_ref"].astype(int).isin(oot["application_id"])].assign(notes="an extra column")
    proc, out, summary = _score(raw_job, rows, "held_back")
    assert proc.returncode == 0, proc.stderr[-3000:]
    return rows, proc, out, summary


def test_raw_held_back_rows_score_exactly_as_the_pipeline_scored_them(raw_job, held_back):
    *_, oot, cand = raw_job
    rows, proc, out, summary = held_back
    assert len(oot) == len(rows) > 100  # three months out of time
    assert list(out.columns[:4]) == ["loan_ref", "pd", "score", "grade"] and out.columns[-1] == "model_version"
    assert (out["loan_ref"].astype(str).to_numpy() == rows["loan_ref"].to_numpy()).all()  # input order kept
    merged = oot.merge(out, left_on="application_id", right_on="loan_ref", how="left", validate="one_to_one")
    np.testing.assert_array_equal(merged["pd"].to_numpy(), merged[f"pd_{cand}"].to_numpy())
    np.testing.assert_array_equal(merged["score"].to_numpy(), merged[f"score_{cand}"].to_numpy())
    assert summary["rows"] == len(rows) and summary["extra_columns_ignored"] == ["opened", "GoodCredit", "notes"]
    assert 0 < summary["cpu_seconds"] and 0 < summary["seconds"]  # what benchmarks/score.py reports
    assert {k: v for k, v in summary["totals"].items() if k not in ("missing", "below_range", "above_range")} == \
        {"unreadable": 0, "normalised": 0, "new_category": 0, "unseen_category": 0}
    assert "scoring summary" in proc.stdout and "extra columns ignored: opened, GoodCredit, notes" in proc.stdout


def test_unseen_category_out_of_range_and_case_variants(raw_job, held_back):
    _, _, base_out, _ = held_back
    base = held_back[0].drop(columns="notes").head(5).reset_index(drop=True)
    dev_max_duration = int(german_dev_max(raw_job, "duration2"))
    cases = {
        "unseen": base.assign(checkingstatus1="A99"),          # a code the lender never used in training
        "blank": base.assign(checkingstatus1=""),              # the same rows with the category missing
        "huge": base.assign(duration2="999 months"),           # far above the development range
        "at_max": base.assign(duration2=f"{dev_max_duration} months"),
        "case": base.assign(checkingstatus1=base["checkingstatus1"].str.lower() + "  "),
    }
    frame = pd.concat([c.assign(loan_ref=f"{k}-" + c["loan_ref"]) for k, c in cases.items()], ignore_index=True)
    proc, out, found = _score(raw_job, frame, "edge_cases")
    assert proc.returncode == 0, proc.stderr[-3000:]
    pd_of = {k: out.loc[out["loan_ref"].str.startswith(f"{k}-"), "pd"].to_numpy() for k in cases}
    original = base_out.set_index(base_out["loan_ref"].astype(str)).loc[base["loan_ref"], "pd"].to_numpy()
    np.testing.assert_array_equal(pd_of["case"], original)          # case and blanks normalised to the training code
    np.testing.assert_array_equal(pd_of["unseen"], pd_of["blank"])  # unknown category = the model's missing treatment
    np.testing.assert_array_equal(pd_of["huge"], pd_of["at_max"])   # beyond the range = the end bin / leaf
    counts = found["features"]
    assert counts["checkingstatus1"]["new_category"] == 5 and counts["checkingstatus1"]["unseen_category"] == 5
    assert counts["checkingstatus1"]["normalised"] == 5 and counts["checkingstatus1"]["missing"] == 5
    assert counts["duration2"]["above_range"] == 5
    assert found["examples"]["checkingstatus1.new_category"] == ["A99"]


def german_dev_max(raw_job, column: str) -> float:
    """The development maximum the registered model recorded (its FeatureDomain)."""
    import mlflow

    tmp, env, summary, *_ = raw_job
    mlflow.set_tracking_uri(env["MLFLOW_TRACKING_URI"])
    model = mlflow.pyfunc.load_model(_uri(summary))
    return model.unwrap_python_model().pipeline.domain.ranges_[column][1]


def test_missing_column_stops_before_any_row_is_written(raw_job, held_back):
    tmp = raw_job[0]
    proc, _, _ = _score(raw_job, held_back[0].drop(columns=["duration2", "notes"]), "no_duration")
    assert proc.returncode != 0 and "Traceback" not in proc.stderr
    assert "no_duration.csv" in proc.stderr and "['duration2']" in proc.stderr and "missing" in proc.stderr
    assert not (tmp / "no_duration_scored.csv").exists() and not (tmp / "no_duration_scored.csv.partial").exists()


def test_a_value_in_another_format_is_a_clear_error(raw_job, held_back):
    tmp = raw_job[0]
    rows = held_back[0].copy()
    rows.loc[rows.index[-1], "duration2"] = "2 years"  # the last chunk: earlier chunks were scored, nothing kept
    proc, _, _ = _score(raw_job, rows, "wrong_unit")
    assert proc.returncode != 0 and "Traceback" not in proc.stderr
    assert "duration2" in proc.stderr and "2 years" in proc.stderr and "month" in proc.stderr
    assert not (tmp / "wrong_unit_scored.csv").exists() and not (tmp / "wrong_unit_scored.csv.partial").exists()


def test_the_warehouse_reader_reads_a_csv_export_as_the_typed_table(tmp_path):
    """The demo book's reader (typed source): a CSV export of the table reads back to the values training used."""
    from features.demo_book import generate_loan_book
    from features.loan_book import NON_FEATURE_COLUMNS

    apps, _ = generate_loan_book(n_applications=3000, months=12, seed=3)
    features = [c for c in apps.columns if c not in NON_FEATURE_COLUMNS]
    reader = InputReader(parse_text=False).fit(apps[features])
    kinds = reader.types_table_.set_index("column")["inferred"]
    assert kinds["housing"] == "categorical" and kinds["monthly_income"] == "numeric"
    path = tmp_path / "export.csv"
    apps.to_csv(path, index=False)
    from_csv = pd.concat(iter_table_chunks(path, features, 1000), ignore_index=True)
    read, report = reader.read(from_csv, features, category_dtype=True)
    assert report.counts == {}
    for col in features:
        if kinds[col] == "numeric":
            np.testing.assert_array_equal(read[col].to_numpy(dtype=float), apps[col].to_numpy(dtype=float, na_value=np.nan))
        else:
            assert read[col].astype(object).where(read[col].notna(), None).tolist() == \
                apps[col].astype(object).where(apps[col].notna(), None).tolist()
