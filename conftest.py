"""Fixtures every test shares, wherever it lives."""

import pytest
from django.utils import translation


@pytest.fixture(autouse=True)
def _japanese_by_default():
    """Each test starts in Japanese, whatever language an earlier request activated."""
    translation.activate("ja")
    yield
    translation.activate("ja")
