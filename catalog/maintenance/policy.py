"""Maintenance policy: what is stored, what table properties may say, and the effective result.

The effective policy of a table is built in layers, each overriding the one before:

    MaintenancePolicy() defaults ← warehouse policy ← table policy (both stored in the catalog,
    set by admins) ← table properties (`icefloe.maintenance.<key>`, and Iceberg's standard
    `write.target-file-size-bytes`)

Settings use one flat vocabulary everywhere (API bodies, `icefloe maintain policy --set`,
table properties without the prefix): `compaction.enabled`, `expiration.retain-last`, …
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from catalog.exceptions import BadRequest
from catalog.maintenance.jobs import MaintenancePolicy

PROPERTY_PREFIX = "icefloe.maintenance."
ICEBERG_TARGET_FILE_SIZE = "write.target-file-size-bytes"
SHORT_GRACE_FLAG = "orphans.allow-short-grace-period"
GRACE_FLOOR = timedelta(days=1)
DEFAULT_MIN_SMALL_FILES = 5
DEFAULT_ORPHANS_INTERVAL = timedelta(days=1)
_HOUR_SECONDS = 3600
MAX_FILE_SIZE = 1 << 40  # 1 TiB: far above any sensible file, far below what breaks JSON
MAX_COUNT = 1_000_000
MAX_DAYS = 36_500


class PolicySettings(BaseModel):
    """Maintenance settings of a warehouse or a table; a key left out is inherited."""

    model_config = ConfigDict(extra="forbid", populate_by_name=False, allow_inf_nan=False)

    compaction_enabled: bool | None = Field(default=None, alias="compaction.enabled")
    target_file_size_bytes: int | None = Field(
        default=None,
        alias="compaction.target-file-size-bytes",
        gt=0,
        le=MAX_FILE_SIZE,
        description="Size compaction aims for (default 128 MiB).",
    )
    small_file_threshold_bytes: int | None = Field(
        default=None,
        alias="compaction.small-file-threshold-bytes",
        gt=0,
        le=MAX_FILE_SIZE,
        description="Files below this are rewritten (default 75% of the target).",
    )
    min_small_files: int | None = Field(
        default=None,
        alias="compaction.min-small-files",
        ge=2,
        le=MAX_COUNT,
        description="The scheduler compacts a table once its current snapshot holds this many "
        "files below the threshold (default 5).",
    )
    expiration_enabled: bool | None = Field(default=None, alias="expiration.enabled")
    older_than_days: float | None = Field(
        default=None,
        alias="expiration.older-than-days",
        ge=0,
        le=MAX_DAYS,
        description="Default 7.",
    )
    retain_last: int | None = Field(
        default=None, alias="expiration.retain-last", ge=1, le=MAX_COUNT, description="Default 10."
    )
    orphans_enabled: bool | None = Field(default=None, alias="orphans.enabled")
    grace_period_hours: float | None = Field(
        default=None,
        alias="orphans.grace-period-hours",
        ge=0,
        le=MAX_DAYS * 24,
        description="Files younger than this are never removed (default 24; below 24 only "
        "with orphans.allow-short-grace-period).",
    )
    allow_short_grace_period: bool | None = Field(
        default=None,
        alias=SHORT_GRACE_FLAG,
        description="Lets the grace period go below one day. Honoured only in a policy set "
        "by an admin, never from table properties.",
    )

    def explicit(self) -> dict[str, Any]:
        """The keys that were set, by their wire names."""
        return self.model_dump(by_alias=True, exclude_none=True)


SETTING_KEYS: tuple[str, ...] = tuple(
    str(info.alias) for info in PolicySettings.model_fields.values()
)


def _describe(error: ValidationError) -> str:
    parts = []
    for item in error.errors():
        where = ".".join(str(p) for p in item["loc"]) or "settings"
        parts.append(f"{where}: {item['msg']}")
    return "; ".join(parts)


def parse_settings(raw: dict[str, Any]) -> PolicySettings:
    """Validate settings from an API body or the CLI (strings are accepted: "true", "5")."""
    unknown = sorted(set(raw) - set(SETTING_KEYS))
    if unknown:
        raise BadRequest(
            f"Unknown maintenance setting(s) {', '.join(unknown)}; known: {', '.join(SETTING_KEYS)}"
        )
    try:
        return PolicySettings.model_validate(raw)
    except ValidationError as error:
        raise BadRequest(f"Invalid maintenance policy: {_describe(error)}") from error


def settings_from_properties(
    properties: dict[str, str],
) -> tuple[dict[str, Any], dict[str, str], dict[str, str]]:
    """(valid settings, ignored property → reason, setting → property) from a table's
    properties.

    A bad property cannot be refused (it was set by an ordinary table commit), so it is left
    out and reported instead. `icefloe.maintenance.compaction.target-file-size-bytes` wins
    over Iceberg's `write.target-file-size-bytes`.
    """
    found: dict[str, tuple[str, str]] = {}  # setting -> (property, value)
    ignored: dict[str, str] = {}
    if ICEBERG_TARGET_FILE_SIZE in properties:
        found["compaction.target-file-size-bytes"] = (
            ICEBERG_TARGET_FILE_SIZE,
            properties[ICEBERG_TARGET_FILE_SIZE],
        )
    for name, value in sorted(properties.items()):
        if not name.startswith(PROPERTY_PREFIX):
            continue
        key = name[len(PROPERTY_PREFIX) :]
        if key == SHORT_GRACE_FLAG:
            ignored[name] = "only an admin policy may shorten the orphan grace period"
        elif key not in SETTING_KEYS:
            ignored[name] = "unknown maintenance setting"
        else:
            found[key] = (name, value)
    valid: dict[str, Any] = {}
    for key, (name, value) in found.items():
        try:
            valid.update(PolicySettings.model_validate({key: value}).explicit())
        except ValidationError as error:
            ignored[name] = _describe(error)
    grace = valid.get("orphans.grace-period-hours")
    if grace is not None and timedelta(hours=grace) < GRACE_FLOOR:
        del valid["orphans.grace-period-hours"]
        ignored[found["orphans.grace-period-hours"][0]] = (
            "a table property cannot shorten the orphan grace period below 24 hours"
        )
    return valid, ignored, {key: name for key, (name, _) in found.items()}


@dataclass(frozen=True)
class EffectivePolicy:
    """What the engine is told (`job`), plus what the scheduler decides with."""

    job: MaintenancePolicy
    min_small_files: int
    orphans_interval: timedelta
    settings: dict[str, Any]
    sources: dict[str, str]
    ignored: dict[str, str] = field(default_factory=dict)


def _defaults() -> dict[str, Any]:
    base = MaintenancePolicy()
    return {
        "compaction.enabled": base.compaction_enabled,
        "compaction.target-file-size-bytes": base.target_file_size_bytes,
        "compaction.small-file-threshold-bytes": None,
        "compaction.min-small-files": DEFAULT_MIN_SMALL_FILES,
        "expiration.enabled": base.expiration_enabled,
        "expiration.older-than-days": base.expire_older_than.total_seconds() / 86400,
        "expiration.retain-last": base.retain_last,
        "orphans.enabled": base.orphans_enabled,
        "orphans.grace-period-hours": base.orphan_grace.total_seconds() / _HOUR_SECONDS,
        SHORT_GRACE_FLAG: False,
    }


def check(policy: EffectivePolicy) -> None:
    """The rules a combination of layers must keep; a PUT that breaks one is refused."""
    settings = policy.settings
    if policy.job.small_file_threshold_bytes > policy.job.target_file_size_bytes:
        raise BadRequest(
            "Invalid maintenance policy: compaction.small-file-threshold-bytes "
            f"({policy.job.small_file_threshold_bytes}) is above "
            f"compaction.target-file-size-bytes ({policy.job.target_file_size_bytes})"
        )
    if policy.job.orphan_grace < GRACE_FLOOR and not settings[SHORT_GRACE_FLAG]:
        raise BadRequest(
            "Invalid maintenance policy: orphans.grace-period-hours is "
            f"{settings['orphans.grace-period-hours']}, below the 24-hour floor; files that "
            "writers have not committed yet could be deleted. Set "
            f"{SHORT_GRACE_FLAG}=true to allow it"
        )


def _layered(*layers: tuple[str, dict[str, Any]]) -> tuple[dict[str, Any], dict[str, str]]:
    settings = _defaults()
    sources = dict.fromkeys(settings, "default")
    for source, layer in layers:
        for key, value in layer.items():
            if key in settings:
                settings[key] = value
                sources[key] = source
    return settings, sources


def check_stored(warehouse: dict[str, Any] | None, table: dict[str, Any] | None) -> None:
    """Refuse (400) stored settings whose combination breaks a rule."""
    check(_build(*_layered(("warehouse", warehouse or {}), ("table", table or {})), {}))


def resolve(
    warehouse: dict[str, Any] | None,
    table: dict[str, Any] | None,
    properties: dict[str, str] | None,
) -> EffectivePolicy:
    """Layer the stored settings and the table's properties over the defaults.

    Table properties that would break a rule together (a threshold above the target) are
    ignored and reported, so a table commit can never weaken what an admin set. Stored
    settings that no longer combine (the warehouse dropped the short-grace flag a table relied
    on) fall back to the safe defaults for the settings concerned.
    """
    from_properties, ignored, names = settings_from_properties(properties or {})
    stored = (("warehouse", warehouse or {}), ("table", table or {}))
    policy = _build(*_layered(*stored, ("properties", from_properties)), ignored)
    try:
        check(policy)
        return policy
    except BadRequest as error:
        for key in from_properties:
            ignored[names[key]] = error.message
    policy = _build(*_layered(*stored), ignored)
    try:
        check(policy)
        return policy
    except BadRequest as error:
        ignored["policy"] = error.message + " (using the defaults for these settings)"
    safe = (
        "safety",
        {"compaction.small-file-threshold-bytes": None, "orphans.grace-period-hours": 24},
    )
    return _build(*_layered(*stored, safe), ignored)


def _build(
    settings: dict[str, Any], sources: dict[str, str], ignored: dict[str, str]
) -> EffectivePolicy:
    target = int(settings["compaction.target-file-size-bytes"])
    threshold = settings["compaction.small-file-threshold-bytes"]
    if threshold is None:
        threshold = min(MaintenancePolicy().small_file_threshold_bytes, target * 3 // 4)
    settings = {**settings, "compaction.small-file-threshold-bytes": int(threshold)}
    job = MaintenancePolicy(
        compaction_enabled=bool(settings["compaction.enabled"]),
        target_file_size_bytes=target,
        small_file_threshold_bytes=int(threshold),
        expiration_enabled=bool(settings["expiration.enabled"]),
        expire_older_than=timedelta(days=float(settings["expiration.older-than-days"])),
        retain_last=int(settings["expiration.retain-last"]),
        orphans_enabled=bool(settings["orphans.enabled"]),
        orphan_grace=timedelta(hours=float(settings["orphans.grace-period-hours"])),
    )
    return EffectivePolicy(
        job=job,
        min_small_files=int(settings["compaction.min-small-files"]),
        orphans_interval=DEFAULT_ORPHANS_INTERVAL,
        settings=settings,
        sources=sources,
        ignored=dict(ignored),
    )
