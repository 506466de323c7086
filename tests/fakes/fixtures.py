"""Pytest fixtures for the fakes; enable with ``pytest_plugins = ["tests.fakes.fixtures"]`` in a conftest."""

from __future__ import annotations

from typing import Iterator

import pytest

from .anthropic_fake import FakeAnthropic
from .gemini_fake import FakeGemini
from .openai_fake import FakeOpenAI


@pytest.fixture
def fake_openai() -> Iterator[FakeOpenAI]:
    """A started FakeOpenAI (no API key required), stopped after the test."""
    with FakeOpenAI() as server:
        yield server


@pytest.fixture
def fake_anthropic() -> Iterator[FakeAnthropic]:
    """A started FakeAnthropic (no API key required), stopped after the test."""
    with FakeAnthropic() as server:
        yield server


@pytest.fixture
def fake_gemini() -> Iterator[FakeGemini]:
    """A started FakeGemini (no API key required), stopped after the test."""
    with FakeGemini() as server:
        yield server
