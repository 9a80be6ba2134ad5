"""botocore's SigV4Auth at a chosen moment: the reference our signer's headers are compared with."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import botocore.auth
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"


def freeze_botocore_clock(monkeypatch: pytest.MonkeyPatch, now: dt.datetime) -> None:
    """SigV4Auth reads the time through `botocore.auth.get_current_datetime` where botocore has it; older
    ones (the declared floor, 1.34.0) call `datetime.datetime.utcnow()` in botocore.auth. Either way a
    naive UTC datetime; were neither hook read, the signature would carry today's date and not match."""
    naive = now.astimezone(dt.UTC).replace(tzinfo=None)
    if hasattr(botocore.auth, "get_current_datetime"):
        monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda: naive)
        return

    class Frozen(dt.datetime):
        @classmethod
        def utcnow(cls) -> Frozen:
            return cls.combine(naive.date(), naive.time())

    monkeypatch.setattr(botocore.auth, "datetime", SimpleNamespace(datetime=Frozen))


def botocore_headers(
    signing_name: str,
    content_type: str,
    url: str,
    region: str,
    target: str,
    body: bytes,
    token: str | None,
    now: dt.datetime,
    monkeypatch: pytest.MonkeyPatch,
) -> dict[str, str]:
    """The headers botocore signs a JSON-protocol POST with, at `now`."""
    freeze_botocore_clock(monkeypatch, now)
    request = AWSRequest(
        method="POST", url=url, data=body, headers={"Content-Type": content_type, "X-Amz-Target": target}
    )
    SigV4Auth(Credentials("AKIDEXAMPLE", SECRET, token), signing_name, region).add_auth(request)
    return dict(request.headers.items())
