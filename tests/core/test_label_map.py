"""`data.label_map`: census-style test labels (`>50K.`) mapped by init, applied by prepare."""

import pandas as pd
import pytest

from foldwise.errors import FoldwiseError
from foldwise.init.params_file import default_params_text
from foldwise.label_map import apply_label_map, suggest_label_map
from foldwise.model_settings import load_config
from foldwise.prepare import prepare_tables
from tests.init.test_init import init, root, write  # noqa: F401  (root is a fixture)
from tests.support.realistic_tables import profile_table

CENSUS = (">50K", "<=50K")


def census_pair(root):  # noqa: F811
    """A census-like training table and a test table whose labels end in a dot."""
    train = profile_table(400, seed=31, labels=("<=50K", ">50K"))
    test = profile_table(120, seed=32, labels=("<=50K", ">50K"))
    test["target"] = test["target"] + "."
    test.loc[test.index[:3], "target"] = " " + test["target"].iloc[:3] + " "
    return write(root, train), write(root, test, "test.csv")


def test_init_writes_and_prints_the_map_and_prepare_scores_every_test_row(root):  # noqa: F811
    source, test = census_pair(root)
    result = init(root, source, test_source=test, positive=">50K")
    config = load_config(root / "params.yaml")
    assert config.data.label_map == {"<=50K.": "<=50K", ">50K.": ">50K"}
    assert config.problem.positive_label == ">50K"
    lines = "\n".join(result.lines)
    assert "test labels renamed (data.label_map): '<=50K.' -> '<=50K', '>50K.' -> '>50K'" in lines
    text = (root / "params.yaml").read_text()
    assert 'label_map: {"<=50K.": "<=50K", ">50K.": ">50K"}' in text

    prepared = prepare_tables(config, root)
    assert len(prepared.test) == 120
    assert set(prepared.test["target"]) == {">50K", "<=50K"}
    assert prepared.problem.encode(prepared.test["target"]).min() >= 0
    assert prepared.schema["label_map"] == config.data.label_map
    assert prepared.schema["cleaning"]["labels_mapped"] == {"source": 0, "test_source": 120}


def test_an_unmappable_test_label_still_fails_with_one_line(root):  # noqa: F811
    source = write(root, profile_table(300, seed=33, labels=("<=50K", ">50K")))
    other = profile_table(100, seed=34, labels=("<=50K.", "unknown"))
    test = write(root, other, "test.csv")
    with pytest.raises(FoldwiseError) as info:
        init(root, source, test_source=test, positive=">50K")
    message = str(info.value)
    assert "\n" not in message
    assert "label(s) 'unknown' that data/raw/table.csv does not have" in message
    assert (root / "params.yaml").read_text() == default_params_text()


def test_prepare_refuses_a_test_label_the_map_does_not_cover(root):  # noqa: F811
    source, test = census_pair(root)
    init(root, source, test_source=test, positive=">50K")
    text = (root / "params.yaml").read_text()
    text = text.replace('"<=50K.": "<=50K", ', "")
    (root / "params.yaml").write_text(text)
    config = load_config(root / "params.yaml")
    with pytest.raises(FoldwiseError, match=r"label\(s\) '<=50K.' were not seen in training"):
        prepare_tables(config, root)


@pytest.mark.parametrize(
    ("mapping", "message"),
    [
        ({"a": "a"}, "maps 'a' to itself"),
        ({"a": "b", "b": "c"}, "renamed once"),
        ({" a": "b"}, "without surrounding spaces"),
        ({"a": " "}, "must not be empty"),
    ],
)
def test_bad_maps_are_refused(root, mapping, message):  # noqa: F811
    text = default_params_text().replace("label_map: {}", f"label_map: {mapping!r}")
    (root / "params.yaml").write_text(text)
    with pytest.raises(FoldwiseError, match=message):
        load_config(root / "params.yaml")


def test_suggestions_only_for_one_clear_match():
    assert suggest_label_map(["Yes", "No"], ["yes", "NO!", "No"]) == {"NO!": "No", "yes": "Yes"}
    assert suggest_label_map(["a", "A"], ["a.", "b"]) == {}  # two training labels match
    assert suggest_label_map([0, 1], [0.0, 1.0]) == {}  # the same labels already
    values, n = apply_label_map(pd.Series([" x. ", "x", None]), {"x.": "x"})
    assert values.tolist()[:2] == ["x", "x"]
    assert pd.isna(values.iloc[2])
    assert n == 1


def test_init_detects_a_semicolon_file_with_decimal_commas(root):  # noqa: F811
    """A European CSV: `;` separator and decimal commas are written, printed and read right."""
    frame = profile_table(300, seed=35)
    balance = pd.Series(range(300), dtype="float64") * 3.37 + 0.5
    frame["balance"] = [f"{v:.2f}".replace(".", ",") for v in balance]
    frame.to_csv(root / "data" / "raw" / "bank.csv", index=False, sep=";")
    result = init(root, "data/raw/bank.csv")
    config = load_config(root / "params.yaml")
    assert config.data.csv_separator == ";"
    assert config.data.decimal == ","
    lines = "\n".join(result.lines)
    assert "reading: csv_separator ';' (detected in the file), decimal ','" in lines
    assert "'balance' read as numbers only with a decimal comma" in lines
    prepared = prepare_tables(config, root)
    assert prepared.schema["columns"]["balance"] == "numeric"
    read = pd.concat([prepared.train, prepared.test])["balance"].sort_values().to_numpy()
    assert read == pytest.approx(balance.round(2).to_numpy())


def test_init_keeps_the_dot_when_the_data_does_not_say_otherwise(root):  # noqa: F811
    frame = profile_table(200, seed=36)
    frame["ratio"] = [f"{v / 7:.3f}" for v in range(200)]
    frame.to_csv(root / "data" / "raw" / "t.csv", index=False, sep=";")
    result = init(root, "data/raw/t.csv")
    config = load_config(root / "params.yaml")
    assert (config.data.csv_separator, config.data.decimal) == (";", ".")
    assert "decimal '.'" in "\n".join(result.lines)
