"""Account settings (DescribeAccountSettings, UpdateAccountSettings): the minimum throughput billing
commitment of the account in each region, on the backend's clock.

AWS's documentation: a commitment lasts at least 24 hours; disabling it earlier schedules the end
for the earliest allowed time (status ENABLED_UNTIL_EARLIEST_ALLOWED_END), and enabling it again
before then cancels that. UpdateAccountSettings answers with the settings it leaves.

Choices where it is silent: an account that never enabled a commitment is answered without one
(as kinesis-mock answers); one that ended reports DISABLED with when it started and ended; the
commitment does not gate warm throughput here (AWS says UpdateStreamWarmThroughput needs it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ._state import BackendState, Json, validation_error

COMMITMENT_HOURS = 24
"""AWS: the minimum duration of a throughput billing commitment."""


@dataclass(slots=True)
class Commitment:
    started: float
    earliest_end: float
    ends: float | None = None
    """When it ends (a disable was asked for); in the future while ENABLED_UNTIL_EARLIEST_ALLOWED_END."""

    def describe(self, now: float) -> Json:
        if self.ends is not None and now >= self.ends:
            return {"Status": "DISABLED", "StartedAt": self.started, "EndedAt": self.ends}
        status = "ENABLED" if self.ends is None else "ENABLED_UNTIL_EARLIEST_ALLOWED_END"
        return {"Status": status, "StartedAt": self.started, "EarliestAllowedEndAt": self.earliest_end}


class AccountOperations(BackendState):
    """The account's settings in each region."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self._commitments: dict[str, Commitment] = {}
        """By region: the latest commitment there (ended or not)."""

    def _settings(self) -> Json:
        commitment = self._commitments.get(self.region)
        if commitment is None:
            return {}
        return {"MinimumThroughputBillingCommitment": commitment.describe(self.clock())}

    def DescribeAccountSettings(self, request: Json) -> Json:
        return self._settings()

    def UpdateAccountSettings(self, request: Json) -> Json:
        wanted = (request.get("MinimumThroughputBillingCommitment") or {}).get("Status")
        if wanted not in ("ENABLED", "DISABLED"):  # direct calls: the model checks requests
            constraint = "Member must satisfy enum value set: [ENABLED, DISABLED]"
            raise validation_error("minimumThroughputBillingCommitment.status", wanted, constraint)
        now = self.clock()
        commitment = self._commitments.get(self.region)
        ended = commitment is None or (commitment.ends is not None and now >= commitment.ends)
        if wanted == "ENABLED":
            if ended:
                self._commitments[self.region] = Commitment(now, now + COMMITMENT_HOURS * 3600.0)
            elif commitment is not None:
                commitment.ends = None  # cancels a scheduled end
        elif not ended and commitment is not None and commitment.ends is None:
            commitment.ends = max(now, commitment.earliest_end)
        return self._settings()
