"""Normalisation details the hand-computed metric cases do not cover."""

from __future__ import annotations

import pytest

from tingwu_nb.research.metrics import score
from tingwu_nb.research.normalize import normalize


@pytest.mark.parametrize("typed", ["don\u2019t", "don\u02bct", "don\u2032t", "Don't"])
def test_every_apostrophe_inside_a_word_is_the_ascii_one(typed: str) -> None:
    assert normalize(f"{typed} stop", "en") == "don't stop"
    assert score("don't stop", f"{typed} stop", "en").error_rate == 0


def test_quotes_around_words_are_still_punctuation() -> None:
    assert normalize("\u2018yes\u2019 she said", "en") == "yes she said"
    assert normalize("l\u2019homme", "fr") == "l'homme"
