"""features.flat_table: reading a lender's flat extract, typing its columns, outcomes from its target.

Real data: German Credit (Hofmann 1994) and Default of Credit Card Clients (Yeh & Lien
2009), UCI Machine Learning Repository, CC BY 4.0.
"""

from __future__ import annotations

import hashlib
import math
import os

import numpy as np
import pandas as pd
import pytest

from features.errors import ConfigError, SourceError
from features.flat_table import (
    OUTCOME_COLUMNS,
    TYPES_TABLE_COLUMNS,
    flat_table_outcomes,
    infer_types,
    is_pii_name,
    parse_number_text,
    read_flat_table,
)
from tests.conftest import DATASETS

GERMAN = DATASETS / "german_credit.csv"
TAIWAN = DATASETS / "taiwan_credit_card_default.csv"
GERMAN_NUMERIC = ["duration2", "amount5", "installment8", "residence11", "age13", "cards16", "liable18"]


@pytest.fixture(scope="module")
def german_raw() -> pd.DataFrame:
    return read_flat_table(GERMAN)


@pytest.fixture(scope="module")
def taiwan_raw() -> pd.DataFrame:
    return read_flat_table(TAIWAN)


def _write(tmp_path, name: str, content: str | bytes):
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    return path


def _types(frame: pd.DataFrame, **kw) -> dict[str, dict]:
    return infer_types(frame, **kw)[1].set_index("column").to_dict("index")


# --------------------------------------------------------------------------- reading


def test_reads_the_public_datasets_as_text(german_raw, taiwan_raw):
    assert german_raw.shape == (1000, 21) and taiwan_raw.shape == (30000, 25)
    assert german_raw.columns[0] == "GoodCredit" and "ID" in taiwan_raw.columns
    assert all(pd.api.types.is_string_dtype(t) for t in german_raw.dtypes)  # nothing guessed at read time
    assert german_raw.loc[0, "checkingstatus1"] == "A11" and german_raw.loc[0, "duration2"] == "6"


@pytest.mark.parametrize(
    "name, content",
    [
        ("comma.csv", "id,amount,city\n1,\"1,200.50\",Köln\n2,3,Paris\n"),
        ("semicolon.csv", "id;amount;city\n1;1200,5;Köln\n2;3;Paris\n"),
        ("tab.tsv", "id\tamount\tcity\n1\t1200.5\tKöln\n2\t3\tParis\n"),
        ("bom.txt", "\ufeffid,amount,city\n1,1200.5,Köln\n2,3,Paris\n"),
        ("crlf.csv", "id,amount,city\r\n1,1200.5,Köln\r\n2,3,Paris\r\n"),
        ("blank_lines.csv", "id,amount,city\n\n1,1200.5,Köln\n\n2,3,Paris\n\n"),
    ],
)
def test_delimiters_and_encodings(tmp_path, name, content):
    frame = read_flat_table(_write(tmp_path, name, content))
    assert list(frame.columns) == ["id", "amount", "city"]
    assert frame["city"].tolist() == ["Köln", "Paris"]
    typed, _ = infer_types(frame)
    assert typed["amount"].tolist() == [1200.5, 3.0]


def test_quoted_fields_missing_tokens_and_padded_header(tmp_path):
    path = _write(tmp_path, "q.csv", ' id , note ,x\n1,"line one\nline two",NA\n2,"a, b",\n3,"say ""hi""",NULL\n')
    frame = read_flat_table(path)
    assert list(frame.columns) == ["id", "note", "x"]
    assert frame["note"].tolist() == ["line one\nline two", "a, b", 'say "hi"']
    assert frame["x"].isna().all()


def test_leading_zeros_survive_reading(tmp_path):
    frame = read_flat_table(_write(tmp_path, "z.csv", "branch,n\n007,1\n010,2\n"))
    assert frame["branch"].tolist() == ["007", "010"]
    assert _types(frame)["branch"]["inferred"] == "categorical"


def test_parquet_keeps_its_dtypes(tmp_path):
    source = pd.DataFrame({"id": [1, 2, 3], "amount": [1.5, None, 3.0], "grade": ["A", "B", None],
                           "when": pd.to_datetime(["2024-01-05", "2024-02-10", "2024-03-15"])})
    path = tmp_path / "t.parquet"
    source.to_parquet(path)
    frame = read_flat_table(path)
    pd.testing.assert_frame_equal(frame, source, check_dtype=False)
    assert frame["id"].dtype == np.int64 and pd.api.types.is_datetime64_any_dtype(frame["when"].dtype)


def test_the_raw_file_is_never_modified(tmp_path):
    path = _write(tmp_path, "raw.csv", "id;rate;amount\n1;12,5%;EUR 1.200\n2;3%;EUR 15\n")
    before = (hashlib.sha256(path.read_bytes()).hexdigest(), os.stat(path).st_mtime_ns)
    typed, _ = infer_types(read_flat_table(path))
    flat_table_outcomes(typed.assign(t=[1, 0]), "t", [1], id="id")
    assert (hashlib.sha256(path.read_bytes()).hexdigest(), os.stat(path).st_mtime_ns) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["raw.csv"]


def test_an_explicit_encoding_is_honoured(tmp_path):
    path = _write(tmp_path, "cp.csv", "id,city\n1,Zürich\n".encode("cp1252"))
    assert read_flat_table(path, encoding="cp1252")["city"].tolist() == ["Zürich"]


@pytest.mark.parametrize(
    "name, content, message",
    [
        ("missing.csv", None, r"missing\.csv does not exist"),
        ("empty.csv", b"", r"empty\.csv is empty \(0 bytes\)"),
        ("blank.csv", "\n\n   \n", r"blank\.csv is empty \(only blank lines\)"),
        ("header.csv", "a,b,c\n", r"header\.csv has a header \(3 columns\) but no data rows"),
        ("header_crlf.csv", "a;b;c\r\n\r\n", r"header_crlf\.csv has a header \(3 columns\) but no data rows"),
        ("ragged.csv", "a,b,c\n1,2,3\n4,5,6,7\n8,9,1\n", r"ragged\.csv: line 3 has 4 fields, more than the header's 3; the rows are ragged"),
        ("short.csv", "a,b,c\n1,2,3\n4,5\n8,9,1\n", r"short\.csv: line 3 has 2 fields, fewer than the header's 3; the rows are ragged"),
        ("truncated.csv", "a,b,c\n1,2,3\n4,5,6\n7,8", r"truncated\.csv: line 4 has 2 fields.*looks truncated"),
        ("open_quote.csv", 'a,b\n1,"never closed\n2,3\n', r"open_quote\.csv: malformed CSV at line 3.*quote"),
        ("latin1.csv", b"id,city\n1,Z\xfcrich\n", r"latin1\.csv is not valid UTF-8: byte offset 11 \(line 2\) holds b'\\xfc'"),
        ("cut_utf8.csv", "id,city\n1,Köln".encode()[:-3], r"cut_utf8\.csv is not valid UTF-8: byte offset 11 \(line 2\)"),
        ("pipes.csv", "a|b|c\n1|2|3\n", r"pipes\.csv: the header 'a\|b\|c' splits into a single column"),
        ("dupes.csv", "a,b,a\n1,2,3\n", r"dupes\.csv: duplicated column name\(s\) \['a'\]"),
        ("unnamed.csv", ",a,b\n0,1,2\n", r"unnamed\.csv: column\(s\) at position \[1\] have an empty header name"),
        ("sheet.xlsx", "a,b\n1,2\n", r"sheet\.xlsx: unsupported file type '\.xlsx'"),
        ("broken.parquet", "not parquet at all", r"broken\.parquet is not a readable Parquet file"),
        ("nothing.parquet", b"", r"nothing\.parquet is empty \(0 bytes\)"),
    ],
)
def test_bad_files_are_source_errors_naming_file_and_problem(tmp_path, name, content, message):
    path = tmp_path / name if content is None else _write(tmp_path, name, content)
    with pytest.raises(SourceError, match=message):
        read_flat_table(path)


def test_a_directory_and_a_parquet_without_rows_are_source_errors(tmp_path):
    with pytest.raises(SourceError, match="is not a file"):
        read_flat_table(tmp_path)
    path = tmp_path / "no_rows.parquet"
    pd.DataFrame({"a": pd.Series([], dtype="int64")}).to_parquet(path)
    with pytest.raises(SourceError, match=r"no_rows\.parquet has columns but no rows"):
        read_flat_table(path)


# --------------------------------------------------------------------------- inference rules


@pytest.mark.parametrize(
    "values, expected, rule",
    [
        (["12", "-3.5", "1e3", None], [12, -3.5, 1000, None], "plain"),
        (["12.5%", "3%", "100 %"], [0.125, 0.03, 1.0], "percent read as a fraction"),
        (["1,234,567", "12", "1,200.50"], [1234567, 12, 1200.5], "thousands separator ','"),
        (["1 234", "12 345 678", "5"], [1234, 12345678, 5], "thousands separator space"),
        (["1\u00a0234", "99"], [1234, 99], "thousands separator no-break space"),
        (["1'234'000", "7"], [1234000, 7], "thousands separator apostrophe"),
        (["12 months", "1 month", "36 months"], [12, 1, 36], "unit 'month' dropped"),
        (["EUR 1,200", "EUR 15"], [1200, 15], "unit 'eur' dropped"),
        (["1200 EUR", "3 EUR"], [1200, 3], "unit 'eur' dropped"),
        (["$1,200", "-$50", "$0.99"], [1200, -50, 0.99], "unit '$' dropped"),
        (["1.200,50 €", "3,5 €"], [1200.5, 3.5], "decimal comma; thousands separator '.'"),
        (["12,5", "3", "0,25"], [12.5, 3, 0.25], "decimal comma"),
        (["1.234.567", "1.234"], [1234567, 1234], "decimal comma; thousands separator '.'"),
        (["1 234,56", "7,5"], [1234.56, 7.5], "decimal comma; thousands separator space"),
        (["1,234", "5,678"], [1234, 5678], "thousands separator ','"),  # no value proves a decimal comma
        (["1.234", "5.5"], [1.234, 5.5], "plain"),
    ],
)
def test_numbers_written_as_text(values, expected, rule):
    frame = pd.DataFrame({"x": pd.Series(values, dtype="str")})
    typed, table = infer_types(frame)
    row = table.iloc[0]
    assert row["inferred"] == "numeric", row["rule"]
    assert rule in row["rule"]
    got = typed["x"].tolist()
    assert all((math.isnan(g) if e is None else g == pytest.approx(e)) for g, e in zip(got, expected)), got


@pytest.mark.parametrize(
    "values, reason",
    [
        (["A11", "A12", "A14"], "3 of 3 distinct values are not numbers"),
        (["12,5", "1,234.5"], "mixed decimal marks"),
        (["12 months", "2 years"], "mixed units (month, year)"),
        (["12%", "15"], "some values carry '%' and others do not"),
        (["007", "123"], "leading zeros are codes"),
        (["Type 1", "Type 2"], "not numbers"),  # a word before the number is not a currency code
        (["1", "2", "unknown"], "1 of 3 distinct values are not numbers; override to numeric"),
        (["12 2024", "5"], "not numbers"),  # not a thousands grouping
        (["yes", "no"], "not numbers"),
    ],
)
def test_text_that_stays_categorical(values, reason):
    frame = pd.DataFrame({"x": pd.Series(values, dtype="str")})
    typed, table = infer_types(frame)
    assert table.loc[0, "inferred"] == "categorical"
    assert reason in table.loc[0, "rule"]
    assert typed["x"].tolist() == values


def test_text_is_stripped_and_blank_is_missing():
    frame = pd.DataFrame({"n": pd.Series([" 12 ", "  ", None, "3"], dtype="str"),
                          "c": pd.Series([" A ", "", "B", None], dtype="object")})
    typed, _ = infer_types(frame)
    assert typed["n"].tolist()[0] == 12 and typed["n"].isna().tolist() == [False, True, True, False]
    assert typed["c"].tolist()[0] == "A" and typed["c"].isna().tolist() == [False, True, False, True]


def test_numeric_dtypes_and_result_dtypes():
    frame = pd.DataFrame({
        "i": [1, 2, 3], "f": [0.5, 1.0, np.nan], "b": [True, False, True],
        "nullable": pd.array([1, None, 3], dtype="Int32"), "whole_text": pd.Series(["1", "2", "3"], dtype="str"),
        "text_with_gap": pd.Series(["1", None, "3"], dtype="str"),
        "when": pd.to_datetime(["2024-01-01", "2024-02-01", "2024-03-01"]),
        "cat": pd.Categorical(["x", "y", "x"]),
    })
    typed, table = infer_types(frame)
    kinds = table.set_index("column")["inferred"].to_dict()
    assert kinds == {"i": "numeric", "f": "numeric", "b": "numeric", "nullable": "numeric", "whole_text": "numeric",
                     "text_with_gap": "numeric", "when": "datetime", "cat": "categorical"}
    assert typed["i"].dtype == np.int64 and typed["whole_text"].dtype == np.int64  # whole numbers, none missing
    assert typed["f"].dtype == np.float64 and typed["text_with_gap"].dtype == np.float64
    assert typed["nullable"].dtype == np.float64 and typed["b"].tolist() == [1, 0, 1]
    assert pd.api.types.is_datetime64_any_dtype(typed["when"].dtype)
    assert list(table.columns) == list(TYPES_TABLE_COLUMNS)
    assert table["source_dtype"].tolist()[:3] == ["int64", "float64", "bool"]


def test_few_distinct_integers_stay_numeric_unless_overridden():
    frame = pd.DataFrame({"grade": [1, 2, 3, 2, 1, 3], "score": [0.1, 0.2, 0.3, 0.4, 0.5, 0.6]})
    typed, table = infer_types(frame)
    rules = table.set_index("column")["rule"]
    assert table.loc[0, "inferred"] == "numeric" and "few distinct integers (3)" in rules["grade"]
    assert "few distinct" not in rules["score"]
    typed, table = infer_types(frame, overrides={"grade": "categorical"})
    assert typed["grade"].tolist() == ["1", "2", "3", "2", "1", "3"]
    assert table.loc[0, "inferred"] == "categorical" and table.loc[0, "rule"].startswith("override categorical")


def test_overrides_and_exclusions():
    frame = pd.DataFrame({"mostly": pd.Series(["1", "2", "unknown", "4"], dtype="str"),
                          "num_text": pd.Series(["1", "2", "3", "4"], dtype="str"),
                          "SEX": [1, 2, 1, 2], "code": pd.Series(["A", "B", "A", "B"], dtype="str")})
    typed, table = infer_types(frame, overrides={"mostly": "numeric", "num_text": "categorical"}, exclude=["SEX"])
    t = table.set_index("column")
    assert typed["mostly"].tolist()[:2] == [1.0, 2.0] and math.isnan(typed["mostly"][2])
    assert "1 value(s) that are not numbers read as missing (e.g. 'unknown')" in t.loc["mostly", "rule"]
    assert t.loc["mostly", "rule"].startswith("override numeric")
    assert typed["num_text"].tolist() == ["1", "2", "3", "4"] and "would read as numbers" in t.loc["num_text", "rule"]
    assert t.loc["SEX", "inferred"] == "excluded" and typed["SEX"] is not frame["SEX"]
    pd.testing.assert_series_equal(typed["SEX"], frame["SEX"])


@pytest.mark.parametrize(
    "kw, error, message",
    [
        ({"overrides": {"EDUCATON": "categorical"}}, ConfigError, r"source\.types: column 'EDUCATON' is not in the table \(did you mean 'EDUCATION'\?\)"),
        ({"exclude": ["GENDER"]}, ConfigError, r"source\.exclude: column 'GENDER' is not in the table"),
        ({"overrides": {"EDUCATION": "ordinal"}}, ConfigError, r"column 'EDUCATION' has type 'ordinal'; use 'numeric' or 'categorical'"),
        ({"overrides": {"EDUCATION": "numeric"}, "exclude": ["EDUCATION"]}, ConfigError, r"'EDUCATION' is also in source\.exclude"),
        ({"overrides": {"code": "numeric"}}, ConfigError, r"column 'code' is declared numeric but cannot be read as numbers: none of its values"),
        ({"overrides": {"term": "numeric"}}, ConfigError, r"column 'term' is declared numeric .*mixed units \(month, year\)"),
        ({"overrides": {"when": "numeric"}}, ConfigError, r"column 'when' holds dates and cannot be numeric"),
    ],
)
def test_override_errors_name_the_column(kw, error, message):
    frame = pd.DataFrame({"EDUCATION": [1, 2], "code": pd.Series(["A11", "A12"], dtype="str"),
                          "term": pd.Series(["12 months", "1 year"], dtype="str"),
                          "when": pd.to_datetime(["2024-01-01", "2024-02-01"])})
    with pytest.raises(error, match=message):
        infer_types(frame, **kw)


def test_pii_columns_never_show_raw_values():
    secrets = {"full_name": ["Ada Lovelace", "Alan Turing"], "email": ["ada@example.com", "alan@example.org"],
               "phone": ["+44 20 7946 0000", "+44 20 7946 0001"], "national_id": ["AB123456C", "XY654321Z"],
               "customerName": ["Grace Hopper", "Edsger Dijkstra"], "mobile_no": ["0044123", "0044999"],
               "contact": ["ada@example.com", "alan@example.org"]}  # an e-mail in any column is hidden too
    frame = pd.DataFrame({k: pd.Series(v, dtype="str") for k, v in secrets.items()} | {"ok": ["A11", "A12"]})
    typed, table = infer_types(frame)
    text = table.to_csv()
    for values in secrets.values():
        for v in values:
            assert v not in text
    assert table.set_index("column").loc["ok", "example"] == "A11"
    assert typed["full_name"].tolist() == secrets["full_name"]  # the data itself is untouched


@pytest.mark.parametrize("name", ["full_name", "first_name", "Surname", "email", "e_mail", "EmailAddress", "phone",
                                  "phone_number", "mobile", "tel", "national_id", "NationalID", "ssn", "passport_no",
                                  "date_of_birth", "dob", "home_address", "iban"])
def test_pii_names(name):
    assert is_pii_name(name)


@pytest.mark.parametrize("name", ["amount5", "tele19", "duration2", "EDUCATION", "PAY_0", "bureau_score", "term_months",
                                  "installment8", "status"])
def test_not_pii_names(name):
    assert not is_pii_name(name)


def test_parse_number_text_is_the_rule_engine():
    assert parse_number_text(["12,5", "3"]) == ({"12,5": 12.5, "3": 3.0}, "text: numbers with decimal comma")
    assert parse_number_text(["A11"])[0] is None
    assert parse_number_text([]) == ({}, "all values missing")


# --------------------------------------------------------------------------- real datasets


def test_german_codes_categorical_counts_numeric(german_raw):
    typed, table = infer_types(german_raw)
    kinds = table.set_index("column")["inferred"]
    assert sorted(kinds[kinds == "numeric"].index) == sorted([*GERMAN_NUMERIC, "GoodCredit"])
    assert (kinds[[c for c in german_raw.columns if c not in [*GERMAN_NUMERIC, "GoodCredit"]]] == "categorical").all()
    assert typed["duration2"].dtype == np.int64 and typed["duration2"].head(3).tolist() == [6, 48, 12]
    assert typed["checkingstatus1"].head(2).tolist() == ["A11", "A12"]
    # the same as pandas' own reading of the numeric columns
    reference = pd.read_csv(GERMAN)
    pd.testing.assert_frame_equal(typed[GERMAN_NUMERIC], reference[GERMAN_NUMERIC])


def test_taiwan_all_numeric_education_overridable(taiwan_raw):
    typed, table = infer_types(taiwan_raw, exclude=["SEX", "MARRIAGE", "AGE"])
    t = table.set_index("column")
    assert set(t["inferred"]) == {"numeric", "excluded"}
    assert t.loc[["SEX", "MARRIAGE", "AGE"], "inferred"].eq("excluded").all()
    assert "few distinct integers (7)" in t.loc["EDUCATION", "rule"]
    # the same numbers as pandas' own reading; LIMIT_BAL holds "5.00E+05": whole numbers, so int64 here
    assert typed["LIMIT_BAL"].dtype == np.int64 and typed.loc[6, "LIMIT_BAL"] == 500_000
    pd.testing.assert_frame_equal(typed.drop(columns=["SEX", "MARRIAGE", "AGE"]),
                                  pd.read_csv(TAIWAN).drop(columns=["SEX", "MARRIAGE", "AGE"]), check_dtype=False)
    typed, table = infer_types(taiwan_raw, overrides={"EDUCATION": "categorical"})
    assert sorted(typed["EDUCATION"].unique()) == ["0", "1", "2", "3", "4", "5", "6"]


def test_inference_is_deterministic(german_raw):
    a = infer_types(german_raw)
    b = infer_types(german_raw.copy())
    pd.testing.assert_frame_equal(a[0], b[0])
    pd.testing.assert_frame_equal(a[1], b[1])
    shuffled = infer_types(german_raw.sample(frac=1, random_state=1))
    pd.testing.assert_frame_equal(shuffled[1].drop(columns="example"), a[1].drop(columns="example"))


def test_input_frame_is_not_modified(german_raw):
    before = german_raw.copy()
    infer_types(german_raw, overrides={"duration2": "categorical"})
    pd.testing.assert_frame_equal(german_raw, before)


# --------------------------------------------------------------------------- outcomes


def _warehouse_outcome_dtypes() -> dict[str, str]:
    from features.demo_book import generate_loan_book
    from features.outcomes import BadDefinition, derive_outcomes

    apps, perf = generate_loan_book(n_applications=300, months=12, seed=5)
    out = derive_outcomes(apps, perf, BadDefinition())
    return {c: str(out[c].dtype) for c in OUTCOME_COLUMNS}


def test_german_outcomes(german_raw):
    typed, _ = infer_types(german_raw)
    out = flat_table_outcomes(typed, "GoodCredit", [2])
    assert list(out.columns) == list(OUTCOME_COLUMNS)
    assert {c: str(out[c].dtype) for c in OUTCOME_COLUMNS} == _warehouse_outcome_dtypes()
    assert len(out) == 1000 and out["target"].sum() == 300 and out["target"].mean() == pytest.approx(0.30)
    assert out["application_id"].tolist() == list(range(1000))
    assert out["application_month"].isna().all() and out["mob_as_of"].isna().all()
    assert set(out["decision"]) == {"approved"}
    assert (out["outcome"] == np.where(out["target"] == 1, "bad", "good")).all()
    # the raw text target and text bad values give the same outcomes
    pd.testing.assert_frame_equal(flat_table_outcomes(german_raw, "GoodCredit", ["2"]), out)
    pd.testing.assert_frame_equal(flat_table_outcomes(german_raw, "GoodCredit", [2.0]), out)


def test_taiwan_outcomes(taiwan_raw):
    typed, _ = infer_types(taiwan_raw, exclude=["SEX", "MARRIAGE", "AGE"])
    out = flat_table_outcomes(typed, "default_next_month", [1], id="ID")
    assert out["target"].sum() == 6636 and round(out["target"].mean(), 4) == 0.2212
    assert out["application_id"].dtype == np.int64 and out["application_id"].tolist() == typed["ID"].tolist()
    again = flat_table_outcomes(typed, "default_next_month", [1], id="ID")
    pd.testing.assert_frame_equal(out, again)
    pd.testing.assert_frame_equal(flat_table_outcomes(taiwan_raw, "default_next_month", [1], id="ID"), out)


def test_text_targets_ids_and_dates():
    frame = pd.DataFrame({"status": [" bad", "good", "good", "bad "], "ref": ["L-01", "L-02", "L-03", "L-04"],
                          "opened": ["2024-01-31", "2024-02-01", "2024-02-29 13:45:00", "2024-03-01"]})
    out = flat_table_outcomes(frame, "status", ["bad"], id="ref", date="opened")
    assert out["target"].tolist() == [1, 0, 0, 1]
    assert out["application_id"].tolist() == ["L-01", "L-02", "L-03", "L-04"]
    assert out["application_month"].dt.strftime("%Y-%m-%d").tolist() == ["2024-01-01", "2024-02-01", "2024-02-01", "2024-03-01"]
    assert str(out["application_month"].dtype) == "datetime64[ms]"


@pytest.mark.parametrize(
    "dates, months",
    [
        (["2024-01", "2024-12"], ["2024-01", "2024-12"]),
        (["20240115", "20241231"], ["2024-01", "2024-12"]),
        (["15.01.2024", "31.12.2024"], ["2024-01", "2024-12"]),
        (["15/01/2024", "31/12/2024"], ["2024-01", "2024-12"]),  # day first: only one reading works
        (["01/15/2024", "12/31/2024"], ["2024-01", "2024-12"]),  # month first
        (["03/03/2024", "12/12/2024"], ["2024-03", "2024-12"]),  # both readings, same months
        (pd.to_datetime(["2024-01-15", "2024-12-31"]), ["2024-01", "2024-12"]),
        (pd.to_datetime(["2024-01-31 23:30", "2024-12-01 00:00"]).tz_localize("Europe/Berlin"), ["2024-01", "2024-12"]),
        ([202401, 202412], ["2024-01", "2024-12"]),
    ],
)
def test_date_formats(dates, months):
    out = flat_table_outcomes(pd.DataFrame({"t": [1, 0], "d": dates}), "t", [1], date="d")
    assert out["application_month"].dt.strftime("%Y-%m").tolist() == months


@pytest.mark.parametrize(
    "frame, kw, message",
    [
        (pd.DataFrame({"t": [1, None, 0, None]}), {}, r"target column 't' has 2 missing value\(s\) \(rows \[1, 3\]\)"),
        (pd.DataFrame({"t": ["1", " ", "0"]}), {}, r"target column 't' has 1 missing value"),
        (pd.DataFrame({"t": [0, 1, 0]}), {"bad_values": [2]}, r"target column 't': none of the bad values \[2\] occurs; its values are \[0, 1\]"),
        (pd.DataFrame({"t": ["good", "bad"]}), {"bad_values": ["BAD"]}, r"none of the bad values \['BAD'\] occurs"),
        (pd.DataFrame({"t": [0, 1, 2]}), {"bad_values": [2]}, r"target column 't' has 2 values besides the bad values \[2\]: \[0, 1\]"),
        (pd.DataFrame({"t": [1, 1]}), {}, r"target column 't': every row is bad"),
        (pd.DataFrame({"x": [1, 0]}), {}, r"target column 't' is missing"),
        (pd.DataFrame({"t": [1, 0], "id": [5, 5]}), {"id": "id"}, r"id column 'id' has 1 duplicated value\(s\) \(e\.g\. \[5\]\)"),
        (pd.DataFrame({"t": [1, 0], "id": [5, None]}), {"id": "id"}, r"id column 'id' has 1 missing value"),
        (pd.DataFrame({"t": [1, 0]}), {"id": "ID"}, r"id column 'ID' is missing"),
        (pd.DataFrame({"t": [1, 0], "d": ["2024-01-01", None]}), {"date": "d"}, r"date column 'd' has 1 missing value"),
        (pd.DataFrame({"t": [1, 0], "d": ["2024-01-01", "soon"]}), {"date": "d"}, r"date column 'd': 1 distinct value\(s\) are not dates.*'soon'"),
        (pd.DataFrame({"t": [1, 0], "d": ["03/04/2024", "05/06/2024"]}), {"date": "d"}, r"date column 'd' is ambiguous"),
    ],
)
def test_outcome_errors_name_the_column(frame, kw, message):
    kw = {"bad_values": [1]} | kw
    with pytest.raises(SourceError, match=message):
        flat_table_outcomes(frame, "t", **kw)
