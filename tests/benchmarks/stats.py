"""Latency summaries: percentiles from the raw samples, computed where the samples are taken so
that only a few numbers cross a process boundary."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class Latency:
    """Milliseconds; `count` samples. Nearest-rank percentiles: no interpolation to argue about."""

    count: int
    mean: float
    p50: float
    p90: float
    p99: float
    max: float

    @classmethod
    def of_ns(cls, samples_ns: Sequence[int]) -> Latency:
        if not samples_ns:
            return cls(0, 0.0, 0.0, 0.0, 0.0, 0.0)
        ordered = sorted(samples_ns)
        n = len(ordered)

        def rank(q: float) -> float:
            return ordered[min(n - 1, int(q * n))] / 1e6

        return cls(n, sum(ordered) / n / 1e6, rank(0.50), rank(0.90), rank(0.99), ordered[-1] / 1e6)

    @classmethod
    def of_seconds(cls, samples_s: Sequence[float]) -> Latency:
        return cls.of_ns([int(s * 1e9) for s in samples_s])

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Latency:
        return cls(**data)


@dataclass(frozen=True)
class CommitResult:
    """Appends that landed, how often a writer lost the race, and what each landed append cost
    (`append`, from the first attempt to success, refreshes included) and each try (`attempt`)."""

    appends: int
    conflicts: int
    errors: int
    seconds: float
    append: Latency
    attempt: Latency
    client_cpu: float | None = None
    server_cpu: float | None = None

    @property
    def rate(self) -> float:
        return self.appends / self.seconds if self.seconds > 0 else 0.0

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["rate"] = self.rate
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CommitResult:
        data = {k: v for k, v in data.items() if k != "rate"}
        data["append"] = Latency.from_json(data["append"])
        data["attempt"] = Latency.from_json(data["attempt"])
        return cls(**data)
