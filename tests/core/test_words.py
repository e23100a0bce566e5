"""Durations in words, for mails and pages: plural-aware, never "0 minutes"."""

from __future__ import annotations

import pytest

from authkeeper.core.words import duration


@pytest.mark.parametrize(
    ("seconds", "words"),
    [
        (1, "1 second"),
        (30, "30 seconds"),
        (59, "59 seconds"),
        (60, "1 minute"),
        (61, "1 minute 1 second"),
        (90, "1 minute 30 seconds"),
        (120, "2 minutes"),
        (300, "5 minutes"),
        (3599, "59 minutes 59 seconds"),
        (3600, "1 hour"),
        (5400, "1 hour 30 minutes"),
        (7200, "2 hours"),
        (7260, "2 hours 1 minute"),
        (86400, "1 day"),
        (90000, "1 day 1 hour"),
        (7 * 86400, "7 days"),
        (0, "0 seconds"),
    ],
)
def test_duration(seconds: int, words: str) -> None:
    assert duration(seconds) == words


def test_duration_keeps_the_two_largest_units() -> None:
    assert duration(86400 + 3600 + 61) == "1 day 1 hour"
    assert duration(3600 + 61) == "1 hour 1 minute"
