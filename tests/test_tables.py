"""hw3.tables: DataFrames as Markdown pipe tables for both formats, on known values."""

import math

import pandas as pd

from hw3 import tables


def test_numbers_are_formatted_once():
    df = pd.DataFrame({"n": [60000, 3], "acc (%)": [89.1234, math.nan], "ok": [True, False]},
                      index=pd.Index(["a", "b"], name="model"))
    t = tables.show(df, digits=1)
    assert t.header == ["model", "n", "acc (%)", "ok"], "the index is the first column, headed by its name"
    body = t.markdown.strip().split("\n")[2:]
    assert [c.strip() for c in body[0].split("|")[1:-1]] == ["a", "60,000", "89.1", "yes"]
    assert [c.strip() for c in body[1].split("|")[1:-1]] == ["b", "3", tables.MISSING, "no"]
    assert tables.show(df, digits={"acc (%)": 3}).markdown.count("89.123") == 1


def test_text_is_escaped_never_cut_and_has_no_entities():
    long = "A review that goes on " * 30
    df = pd.DataFrame({"model": ["Dai & Le (2015): LSTM", "x | y *z* $5 @key <br />"], "text": [long, "ok"]})
    t = tables.show(df, index=False)
    assert "Dai \\& Le (2015)" in t.markdown and "&amp;" not in t.markdown
    assert "x \\| y \\*z\\* \\$5 \\@key \\<br /\\>" in t.markdown
    assert long.strip() in t.markdown.replace("\\", ""), "long text is kept whole"
    assert tables.problems(t.markdown) == []
    assert tables.problems("| a |\n|---|\n| cut here … |") and tables.problems("| Dai &amp; Le |")


def test_no_break_space_keeps_a_value_on_one_line():
    t = tables.show(pd.DataFrame({"acc": ["89.92\u00a0±\u00a00.05"], "x": ["a " * 60]}), index=False)
    widths = [len(part) for part in t.markdown.split("\n")[1].strip("|").split("|")]
    assert widths[0] >= len("89.92 ± 0.05"), "the column is at least as wide as its unbreakable value"


def test_widths_share_the_budget_but_never_go_below_the_longest_word():
    header = ["run", "change", "FID"]
    body = [["theory-regularization/default", "a long explanation of what changed " * 3, "264.6 ± 12.5"]]
    pad = tables.PAD
    widths = tables.column_widths(header, body, budget=70)
    assert widths[0] == len("theory-regularization/default") + pad, "a long word is never cut"
    assert widths[2] == len("264.6 ± 12.5") + pad, "a short value stays on one line"
    assert widths[1] > len("explanation") + pad and abs(sum(widths) - 70) <= 1, "the rest goes to the text"
    narrow = tables.column_widths(header, body, budget=30)
    assert narrow == [len("theory-regularization/default") + pad, len("explanation") + pad, len("264.6 ± 12.5") + pad]
    assert tables.column_widths(["a", "b"], [["1", "2"]]) == [tables.MIN_WIDTH + pad] * 2, "a small table: natural"


def test_a_markdown_table_is_what_the_cell_shows():
    t = tables.show(pd.DataFrame({"a": [1]}), index=False)
    assert t._repr_markdown_() == t.markdown and t.markdown.startswith("|")
    assert not hasattr(t, "_repr_html_"), "one representation: Pandoc lays the table out for each format"


def test_numbers_align_right_in_every_table_even_when_formatted_as_text():
    df = pd.DataFrame({"model": ["attention", "baseline"], "accuracy": ["89.12 ± 0.21%", "88.87%"],
                       "FID": ["264.6", "1.63"], "wall": ["7 min", "31 min"], "when": ["2026-11-30", "2026-12-01"],
                       "note": ["3 seeds", "one seed"]})
    seps = tables.show(df, index=False).markdown.split("\n")[1].strip("|").split("|")
    right = [s.endswith(":") and not s.startswith(":") for s in seps]
    assert right == [False, True, True, True, False, False]
    assert tables.numeric_text(["1,234", "−0.5", tables.MISSING]) and not tables.numeric_text(["v2", "3"])
