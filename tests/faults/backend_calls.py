"""Operations called on the test server's Backend directly, as a request reaches them: checked
against the model first (a receive answers at once: no long poll)."""

from __future__ import annotations

from typing import Any

import pytest

from aiokinesis.testing import ApiError, Backend


def call(backend: Backend, operation: str, **request: Any) -> Any:
    handler = backend.operation(operation)
    assert handler is not None
    return handler(request)


def refusal(backend: Backend, operation: str, **request: Any) -> ApiError:
    """The error `operation` answers `request` with (it must refuse)."""
    with pytest.raises(ApiError) as caught:
        call(backend, operation, **request)
    return caught.value
