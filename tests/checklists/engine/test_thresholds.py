import pytest

from checklists.engine.thresholds import ThresholdError, parse_threshold


@pytest.mark.parametrize(
    ("text", "aggregate", "op", "value", "window", "relative"),
    [
        ("p(95)<400", "p(95)", "<", 400, None, False),
        ("p(99.9) <= 1500", "p(99.9)", "<=", 1500, None, False),
        ("rate<0.01", "rate", "<", 0.01, None, False),
        ("rate<1%", "rate", "<", 0.01, None, False),
        ("count==0", "count", "==", 0, None, False),
        ("max<45 over 5m", "max", "<", 45, 300, False),
        ("sum<=10 over 5m", "sum", "<=", 10, 300, False),
        ("avg<0.4", "avg", "<", 0.4, None, False),
        ("value>0.95", "value", ">", 0.95, None, False),
        ("p(95)<=+10%", "p(95)", "<=", 10, None, True),
        ("avg>=-5%", "avg", ">=", -5, None, True),
    ],
)
def test_it_parses_k6_syntax_and_extensions(text, aggregate, op, value, window, relative):
    t = parse_threshold(text)
    assert (t.aggregate, t.op, t.window_s, t.relative) == (aggregate, op, window, relative)
    assert t.value == pytest.approx(value)


@pytest.mark.parametrize(
    "text", ["", "p95<400", "rate", "rate<", "median<4", "p(150)<3", "rate<0.01 over 5x", "<4"]
)
def test_it_refuses_what_does_not_parse(text):
    with pytest.raises(ThresholdError):
        parse_threshold(text)


def test_it_judges_values_against_the_bound():
    assert parse_threshold("rate<0.01").holds(0.009) is True
    assert parse_threshold("rate<0.01").holds(0.021) is False
    assert parse_threshold("count==0").holds(0) is True
    assert parse_threshold("p(95)<=+10%").holds(440, baseline=400) is True
    assert parse_threshold("p(95)<=+10%").holds(441, baseline=400) is False
    assert parse_threshold("p(95)<=+10%").holds(441) is None  # no baseline: cannot judge
