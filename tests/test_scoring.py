"""`creditpipe score` and the registered pyfunc model, in fresh processes, against the pipeline's own scores."""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pytest
from mlflow import MlflowClient

from tests.conftest import run_creditpipe

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def scored(demo_job, small_book):
    tmp, env, [(summary, _), _] = demo_job
    with duckdb.connect(str(small_book), read_only=True) as con:
        apps = con.execute("select * from applications").df()
    # shuffled rows, an extra column and the raw PII columns: all must be handled
    apps = apps.sample(frac=1.0, random_state=3).reset_index(drop=True).assign(target_hint=1)
    src = tmp / "to_score.csv"
    apps.to_csv(src, index=False)
    out = tmp / "scored.csv"
    proc = run_creditpipe(["score", "--model", f"models:/{summary['model_name']}@champion", "--input", str(src),
                           "--output", str(out), "--chunk-rows", "5000"], env, cwd=tmp)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return tmp, env, summary, apps, pd.read_csv(out), proc


def test_output_columns_and_order(scored):
    _, _, summary, apps, out, proc = scored
    reasons = [c for c in out.columns if c.startswith("reason_")]
    assert list(out.columns) == ["application_id", "pd", "score", "grade", *reasons, "model_version"]
    assert len(reasons) == 4
    assert (out["application_id"].to_numpy() == apps["application_id"].to_numpy()).all()  # input order kept
    assert (out["model_version"].astype(str) == summary["champion_version"]).all()
    assert out["pd"].between(0, 1).all() and out["grade"].between(1, 10).all()
    assert "scored 20,000 applications" in proc.stdout


def test_fresh_process_reproduces_the_pipeline_oot_scores_exactly(scored):
    _, env, summary, _, out, _ = scored
    client = MlflowClient(env["MLFLOW_TRACKING_URI"])
    path = client.download_artifacts(summary["mlflow_run_id"], "report/oot_scores.csv")
    pipeline = pd.read_csv(path)
    cand = client.get_model_version(summary["model_name"], summary["champion_version"]).tags["candidate"]
    merged = pipeline.merge(out, on="application_id", how="left", validate="one_to_one")
    assert len(merged) == len(pipeline) > 0
    np.testing.assert_array_equal(merged["score"].to_numpy(), merged[f"score_{cand}"].to_numpy())
    np.testing.assert_allclose(merged["pd"].to_numpy(), merged[f"pd_{cand}"].to_numpy(), rtol=0, atol=1e-12)


def test_reason_codes_name_model_features_never_pii(scored):
    *_, out, _ = scored
    reasons = pd.unique(out.filter(like="reason_").to_numpy().ravel())
    named = {r for r in reasons if isinstance(r, str)}
    assert named and not named & {"full_name", "national_id", "phone", "email"}


def test_missing_column_is_a_clear_error_and_nothing_is_written(scored):
    tmp, env, summary, apps, _, _ = scored
    src = tmp / "broken.csv"
    apps.drop(columns=["bureau_score"]).head(100).to_csv(src, index=False)
    dst = tmp / "never.csv"
    proc = run_creditpipe(["score", "--model", f"models:/{summary['model_name']}@champion", "--input", str(src),
                           "--output", str(dst), "--quiet"], env, cwd=tmp)
    assert proc.returncode != 0
    assert "bureau_score" in proc.stderr and "missing" in proc.stderr and "Traceback" not in proc.stderr
    assert not dst.exists()


def test_wrong_type_is_a_clear_error(scored):
    tmp, env, summary, apps, _, _ = scored
    src = tmp / "wrongtype.parquet"
    bad = apps.head(100).copy()
    bad["monthly_income"] = "a lot"
    bad.to_parquet(src)
    proc = run_creditpipe(["score", "--model", f"models:/{summary['model_name']}@champion", "--input", str(src),
                           "--output", str(tmp / "never.parquet"), "--quiet"], env, cwd=tmp)
    assert proc.returncode != 0 and "monthly_income" in proc.stderr and "numeric" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_fast_reason_ranking_equals_a_row_by_row_reference():
    """rank_reasons (argmax passes) against a plain per-row sort by (-value, name): ties, NaN, zeros, few features."""
    from models.reason_codes import rank_reasons

    rng = np.random.default_rng(5)
    for trial in range(12):
        n_feat = int(rng.integers(1, 9))
        names = [f"v{j}" for j in rng.permutation(12)[:n_feat]]
        values = rng.choice([-1.0, 0.0, -0.0, 0.25, 0.25, 1.0, np.nan, 2.0], size=(300, n_feat))
        if trial % 4 == 0:
            values = rng.normal(size=(300, n_feat))
        top_n = int(rng.integers(1, 6))
        got = rank_reasons(values, names, top_n, {names[0]: "first feature"}, with_values=True)
        for i, row in enumerate(values):
            ranked = sorted((-x, name) for x, name in zip(row, names) if not np.isnan(x) and x > 0)[:top_n]
            want = [("first feature" if name == names[0] else name) for _, name in ranked]
            want += [None] * (top_n - len(want))
            assert got.iloc[i][[f"reason_{j + 1}" for j in range(top_n)]].tolist() == want
            vals = [-x for x, _ in ranked] + [np.nan] * (top_n - len(ranked))
            np.testing.assert_array_equal(got.iloc[i][[f"value_{j + 1}" for j in range(top_n)]].to_numpy(dtype=float), vals)
