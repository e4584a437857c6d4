"""Sustained live criteria: fail only after N breaching polls in a row, recover after M good."""

from checklists.core.observations import sustained
from checklists.engine.thresholds import parse_threshold

LIMIT = parse_threshold("max<45 over 5m")


def test_a_single_breach_does_not_fail_yet():
    assert sustained((30, 40, 48), LIMIT, 3, 2) == ((1, 3), None)
    assert sustained((30, 48, 49), LIMIT, 3, 2) == ((2, 3), None)


def test_three_breaches_in_a_row_fail_and_one_good_poll_does_not_recover():
    assert sustained((48, 49, 50), LIMIT, 3, 2) == (None, None)  # failing: the engine says fail
    assert sustained((48, 49, 50, 40), LIMIT, 3, 2) == (None, (1, 2))
    assert sustained((48, 49, 50, 40, 41), LIMIT, 3, 2) == (None, None)  # recovered


def test_a_good_poll_resets_the_count_of_breaches():
    assert sustained((48, 49, 40, 50), LIMIT, 3, 2) == ((1, 3), None)


def test_polls_without_data_are_skipped_and_a_missing_last_value_decides_nothing():
    assert sustained((48, None, 49), LIMIT, 3, 2) == ((2, 3), None)
    assert sustained((48, 49, None), LIMIT, 3, 2) == (None, None)
