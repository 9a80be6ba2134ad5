"""Credentials and region from botocore's provider chain, never blocking the event loop.

botocore's chain (env, shared files, assume-role, SSO, container, IMDS) and its
refreshes do blocking I/O, so both run in a worker thread (where botocore.session is
imported, keeping `import aiokinesis` light); the frozen keys are
cached and the refresh check runs at most once a second on the hot path.
A client's sessions (Kinesis, and DynamoDB for its leases) share one CredentialSource and one
RegionSource, so the chain and the configured region are resolved once for all of them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ._signing import FrozenCredentials
from .errors import ClientError

if TYPE_CHECKING:
    from botocore.credentials import Credentials


class NoCredentialsError(ClientError):
    """No credentials were given and botocore's provider chain found none."""


class CredentialSource:
    """Hands out current credentials; refreshes temporary ones in a thread, one refresh at a time."""

    def __init__(
        self,
        *,
        access_key_id: str | None,
        secret_access_key: str | None,
        session_token: str | None,
        profile: str | None,
        clock: Callable[[], float],
    ) -> None:
        if (access_key_id is None) != (secret_access_key is None):
            raise ClientError("aws_access_key_id and aws_secret_access_key must be given together")
        self._profile = profile
        self._clock = clock
        self._source: Credentials | None = None
        self._frozen: FrozenCredentials | None = None
        if access_key_id is not None and secret_access_key is not None:
            self._frozen = FrozenCredentials(access_key_id, secret_access_key, session_token)
        self._checked_at = float("-inf")
        self._lock = asyncio.Lock()

    def __repr__(self) -> str:
        return f"CredentialSource(profile={self._profile!r})"

    def current(self) -> FrozenCredentials | None:
        """The credentials at hand if they need no refresh, without an await (the hot path's); else
        None: then `refreshed()` fetches them."""
        frozen = self._frozen
        if frozen is not None and (self._source is None or not self._refresh_due()):
            return frozen
        return None

    async def get(self) -> FrozenCredentials:
        return self.current() or await self.refreshed()

    async def refreshed(self) -> FrozenCredentials:
        """The credentials resolved or refreshed now (in a thread), unless another task just did."""
        frozen = self._frozen
        async with self._lock:
            if self._frozen is frozen:  # no other task refreshed while this one waited
                self._frozen = await asyncio.to_thread(self._load)
            current = self._frozen
        assert current is not None
        return current

    def _refresh_due(self) -> bool:
        source = self._source
        refresh_needed = getattr(source, "refresh_needed", None)  # RefreshableCredentials only
        if refresh_needed is None:
            return False
        now = self._clock()
        if now - self._checked_at < 1.0:
            return False
        self._checked_at = now
        return bool(refresh_needed())

    def _load(self) -> FrozenCredentials:
        """Runs in a worker thread: resolve the chain once, then freeze (refreshing if due)."""
        if self._source is None:
            import botocore.session  # noqa: PLC0415 - heavy; only ever needed in this thread

            found = botocore.session.Session(profile=self._profile).get_credentials()
            if found is None:
                raise NoCredentialsError(
                    "no AWS credentials: pass aws_access_key_id/aws_secret_access_key, a profile, "
                    "or configure botocore's chain (AWS_ACCESS_KEY_ID, ~/.aws/credentials, SSO, IMDS...)"
                )
            self._source = found
        # botocore's ReadOnlyCredentials (access_key, secret_key, token, ...) shows its secret in its repr:
        # it is unpacked in place, never kept in a local that an error report would record.
        return FrozenCredentials(*self._source.get_frozen_credentials()[:3])


class RegionSource:
    """The region given, or botocore's configured one, looked up once (in a thread) for every sharer."""

    def __init__(self, region: str | None, profile: str | None) -> None:
        self._region = region
        self._profile = profile
        self._resolved = region is not None
        self._lock = asyncio.Lock()

    @property
    def known(self) -> str | None:
        """The region if already resolved; None otherwise (or if none is configured)."""
        return self._region

    async def get(self) -> str | None:
        if self._resolved:
            return self._region
        async with self._lock:
            if not self._resolved:
                self._region = await asyncio.to_thread(configured_region, self._profile)
                self._resolved = True
        return self._region


def configured_region(profile: str | None) -> str | None:
    """The region botocore's configuration names (AWS_REGION, AWS_DEFAULT_REGION, the profile)."""
    import botocore.session  # noqa: PLC0415 - heavy; called in a worker thread

    region: Any = botocore.session.Session(profile=profile).get_config_variable("region")
    return str(region) if region else None
