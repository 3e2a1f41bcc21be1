import json

import numpy as np
import pandas as pd

from models.report import Section, Table, render_report, write_json


def test_report_escapes_data_and_embeds_plots():
    evil = "<script>alert(1)</script>"
    section = Section("Data", "data", paragraphs=[f"value {evil}"],
                      tables=[Table("t", pd.DataFrame({"category": [evil], "share": [0.123456]}))],
                      plots=[("a plot", b"\x89PNG fake")])
    html = render_report("title", "sub", [("AUC", 0.81234)], [section])
    assert evil not in html and "&lt;script&gt;" in html
    assert "data:image/png;base64," in html
    assert "0.8123" in html and "0.1235" in html


def test_metrics_json_is_strict_json(tmp_path):
    path = write_json(tmp_path / "m.json", {"a": np.float64(0.5), "b": float("nan"), "c": pd.DataFrame({"x": [1]}),
                                            "d": np.int64(3), "e": pd.Timestamp("2024-01-01")})
    data = json.loads(path.read_text())
    assert data == {"a": 0.5, "b": None, "c": [{"x": 1}], "d": 3, "e": "2024-01-01"}
