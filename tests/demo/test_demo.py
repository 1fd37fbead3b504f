"""Tests for the built-in demo data (foldwise.demo)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import make_column_transformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler
from threadpoolctl import threadpool_limits

from foldwise.demo import (
    BUILTIN_DATASETS,
    HIGH_CARDINALITY_COLUMN,
    LEAKY_COLUMN,
    NEAR_CONSTANT_COLUMN,
    TEXT_NUMBER_COLUMN,
    WEAK_SEGMENT,
    generate_churn,
    load_sklearn_dataset,
    write_builtin_datasets,
)

ROWS = 3000
TARGET = BUILTIN_DATASETS["churn"]


@pytest.fixture(scope="module")
def churn() -> pd.DataFrame:
    return generate_churn(ROWS, 7)


def _y(frame: pd.DataFrame) -> np.ndarray:
    return (frame[TARGET] == "Yes").to_numpy()


def _auc(y: np.ndarray, x: pd.Series) -> float:
    """Single-feature ROC-AUC, direction-free, NaN filled with a value below the range."""
    filled = x.fillna(x.min() - 1).to_numpy(dtype=float)
    auc = roc_auc_score(y, filled)
    return max(auc, 1.0 - auc)


def test_same_seed_gives_identical_frame() -> None:
    pd.testing.assert_frame_equal(generate_churn(1000, 3), generate_churn(1000, 3))


def test_different_seed_gives_different_frame() -> None:
    assert not generate_churn(1000, 3).equals(generate_churn(1000, 4))


@pytest.mark.parametrize("rows", [100, 999, ROWS])
def test_row_count_is_exact(rows: int) -> None:
    assert len(generate_churn(rows, 0)) == rows


def test_too_few_rows_is_rejected() -> None:
    with pytest.raises(ValueError, match="rows"):
        generate_churn(10, 0)


def test_target_labels_and_positive_rate(churn: pd.DataFrame) -> None:
    assert set(churn[TARGET].unique()) == {"Yes", "No"}
    assert 0.10 <= _y(churn).mean() <= 0.20


def test_leaky_column_nearly_reveals_the_target(churn: pd.DataFrame) -> None:
    assert _auc(_y(churn), churn[LEAKY_COLUMN]) >= 0.95


def test_no_legit_numeric_column_is_near_perfect(churn: pd.DataFrame) -> None:
    y = _y(churn)
    numeric = churn.select_dtypes("number").drop(columns=[LEAKY_COLUMN])
    assert len(numeric.columns) >= 5
    aucs = {c: _auc(y, numeric[c]) for c in numeric.columns}
    assert max(aucs.values()) < 0.80, aucs


def test_low_cardinality_categoricals_are_not_near_perfect(churn: pd.DataFrame) -> None:
    y = _y(churn)
    for col in ("plan", "contract_type", "payment_method", "region"):
        rate = pd.Series(y).groupby(churn[col].to_numpy()).mean()
        assert _auc(y, churn[col].map(rate)) < 0.80, col


def test_planted_weak_segment_is_a_coin_flip(churn: pd.DataFrame) -> None:
    y = _y(churn)
    weak = np.ones(len(churn), dtype=bool)
    for column, value in WEAK_SEGMENT.items():
        weak &= (churn[column] == value).to_numpy()
    assert 0.03 <= weak.mean() <= 0.08
    assert 0.4 <= y[weak].mean() <= 0.6
    # no column explains it: inside the slice churn is independent of the contract type,
    # the strongest driver elsewhere
    from scipy.stats import chi2_contingency

    table = pd.crosstab(churn.loc[weak, "contract_type"], y[weak])
    assert chi2_contingency(table).pvalue > 0.01


def test_duplicates_are_exact_and_few(churn: pd.DataFrame) -> None:
    n_dup = int(churn.duplicated().sum())
    assert 0.001 * ROWS <= n_dup <= 0.003 * ROWS
    assert churn["customer_id"].duplicated().sum() == n_dup
    assert churn.drop_duplicates()["customer_id"].is_unique


def test_customer_id_format(churn: pd.DataFrame) -> None:
    assert churn["customer_id"].str.fullmatch(r"C\d{7}").all()


def test_near_constant_column(churn: pd.DataFrame) -> None:
    shares = churn[NEAR_CONSTANT_COLUMN].value_counts(normalize=True)
    assert shares.iloc[0] >= 0.99
    assert len(shares) >= 2


def test_high_cardinality_column(churn: pd.DataFrame) -> None:
    counts = churn[HIGH_CARDINALITY_COLUMN].value_counts()
    assert len(counts) >= 200
    assert counts.iloc[0] >= 10 * counts.iloc[-1]  # Zipf-like, not uniform


def test_text_number_column_is_text_with_blanks(churn: pd.DataFrame) -> None:
    col = churn[TEXT_NUMBER_COLUMN]
    assert not pd.api.types.is_numeric_dtype(col)
    assert (col == " ").any()
    assert (col.str.startswith(" ") & (col.str.strip() != "")).any()
    as_number = pd.to_numeric(col.str.strip().replace("", np.nan), errors="coerce")
    assert as_number.notna().mean() > 0.9
    assert (as_number.isna() == (col.str.strip() == "")).all()


def test_boolean_like_text_columns(churn: pd.DataFrame) -> None:
    assert set(churn["paperless_billing"].unique()) == {"yes", "no"}
    assert set(churn["has_partner"].unique()) == {"true", "false"}


def test_missing_at_random_and_missing_for_a_reason(churn: pd.DataFrame) -> None:
    y = pd.Series(_y(churn))
    assert 0.03 <= churn["age"].isna().mean() <= 0.08
    survey_missing = churn["satisfaction_score"].isna().to_numpy()
    assert survey_missing.mean() > 0.2
    assert y[survey_missing].mean() > 1.2 * y[~survey_missing].mean()


def test_signup_dates_are_iso_and_span_two_years(churn: pd.DataFrame) -> None:
    assert churn["signup_date"].str.fullmatch(r"\d{4}-\d{2}-\d{2}").all()
    dates = pd.to_datetime(churn["signup_date"], format="%Y-%m-%d")
    assert (dates.max() - dates.min()).days >= 730


def test_newer_customers_drift_to_premium(churn: pd.DataFrame) -> None:
    year = pd.to_datetime(churn["signup_date"]).dt.year
    premium = (churn["plan"] == "premium").groupby(year).mean()
    assert premium.iloc[-1] > premium.iloc[0] + 0.05


@pytest.mark.parametrize(
    ("name", "target", "labels"),
    [
        ("breast_cancer", "diagnosis", {"malignant", "benign"}),
        ("wine", "cultivar", {"class_0", "class_1", "class_2"}),
        ("diabetes", "progression", None),
    ],
)
def test_sklearn_datasets(name: str, target: str, labels: set[str] | None) -> None:
    frame = load_sklearn_dataset(name)
    assert BUILTIN_DATASETS[name] == target
    assert frame.columns[-1] == target
    assert all(c.replace("_", "").isalnum() and c == c.lower() for c in frame.columns)
    if labels is None:
        assert frame[target].dtype == np.float64
    else:
        assert set(frame[target].unique()) == labels
        assert not pd.api.types.is_numeric_dtype(frame[target])
    assert frame.notna().all().all()


def test_unknown_sklearn_dataset_is_rejected() -> None:
    with pytest.raises(ValueError, match="iris"):
        load_sklearn_dataset("iris")


def test_write_builtin_datasets(tmp_path) -> None:
    out = tmp_path / "data" / "builtin"
    paths = write_builtin_datasets(out, 1000, 5)
    assert set(paths) == set(BUILTIN_DATASETS)
    assert {p.name for p in out.iterdir()} == {f"{name}.csv" for name in BUILTIN_DATASETS}
    for name, path in paths.items():
        assert path == out / f"{name}.csv"
        assert BUILTIN_DATASETS[name] in pd.read_csv(path).columns

    expected = generate_churn(1000, 5)
    raw = pd.read_csv(paths["churn"], dtype=str, keep_default_na=False)
    assert len(pd.read_csv(paths["churn"])) == len(raw) == 1000
    assert raw[TEXT_NUMBER_COLUMN].tolist() == expected[TEXT_NUMBER_COLUMN].tolist()
    assert (raw["age"] == "").sum() == expected["age"].isna().sum()
    assert not raw["age"].str.endswith(".0").any()
    assert len(pd.read_csv(paths["wine"])) == 178


def _gap(rows: int, seed: int) -> float:
    frame = generate_churn(rows, seed)
    y = _y(frame)
    x = frame.drop(columns=[TARGET, "customer_id", "signup_date", LEAKY_COLUMN])
    x[TEXT_NUMBER_COLUMN] = pd.to_numeric(x[TEXT_NUMBER_COLUMN].str.strip(), errors="coerce")
    cat = [c for c in x.columns if not pd.api.types.is_numeric_dtype(x[c])]
    num = [c for c in x.columns if c not in cat]
    hgb = make_pipeline(
        make_column_transformer(
            (OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1), cat),
            remainder="passthrough",
        ),
        HistGradientBoostingClassifier(random_state=0),
    )
    logistic = make_pipeline(
        make_column_transformer(
            (OneHotEncoder(handle_unknown="ignore", min_frequency=20), cat),
            (make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), num),
        ),
        LogisticRegression(max_iter=2000),
    )
    cv = StratifiedKFold(3, shuffle=True, random_state=0)
    # One thread: on a busy machine OpenMP spin-waiting makes HGB ~20x slower, not faster.
    with threadpool_limits(limits=1):
        auc_hgb = cross_val_score(hgb, x, y, cv=cv, scoring="roc_auc").mean()
        auc_logistic = cross_val_score(logistic, x, y, cv=cv, scoring="roc_auc").mean()
    return float(auc_hgb - auc_logistic)


@pytest.mark.parametrize("seed", [0, 1])
def test_boosted_trees_beat_logistic_regression(seed: int) -> None:
    assert _gap(6000, seed) >= 0.02
