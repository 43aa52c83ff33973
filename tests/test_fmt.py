"""Numbers and words as the chapters print them (hw3.fmt)."""

from hw3 import fmt


def test_numbers():
    assert fmt.pct(0.1234) == "12.3%" and fmt.pct(0.1234, 2) == "12.34%"
    assert fmt.num(0.12345) == "0.12" and fmt.num(2, 1) == "2.0"
    assert fmt.points(0.0123) == "+1.23" and fmt.points(-0.05, 1) == "-5.0"
    assert fmt.fid(264.61) == "264.6" and fmt.fid(1.634) == "1.63"
    assert fmt.accuracy(0.89123, 0.0021, 3) == "89.12 ± 0.21%" and fmt.accuracy(0.8887, 0.0, 1) == "88.87%"
    assert fmt.sci(3.2e-5) == "3.2 × 10^-5^"


def test_words():
    assert fmt.word(3) == "three" and fmt.word(12) == "12"
    assert fmt.and_list(["a"]) == "a" and fmt.and_list(["a", "b", "c"]) == "a, b and c"
    assert fmt.name_list(["x", "y"]) == "x, y" and fmt.name_list([], empty="No run") == "No run"
    assert fmt.italic_list(["x"]) == "x", "plain text: inline output is not parsed as Markdown"
    assert fmt.capitalized("dropout") == "Dropout"


def test_tex_numbers_for_math():
    from hw3.fmt import TeX, tex

    assert tex(100) == "100" and tex(0.5) == "0.5" and tex(1.3862944, 2) == "1.39" and tex(60000) == "60\\,000"
    assert isinstance(tex(1.0), TeX) and tex(1.39, 2)._repr_markdown_() == "1.39", "inserted unescaped by Quarto"
