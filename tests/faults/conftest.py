"""Fixtures of the fault suites: a fake clock shared by client and server."""

from __future__ import annotations

import pytest

from tests.fakes import FakeTime


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()
