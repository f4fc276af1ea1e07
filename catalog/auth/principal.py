"""A caller and its grants. A grant is a permission over some warehouses, optionally narrowed
to namespaces (and everything under them)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import IntEnum


class Permission(IntEnum):
    """Ordered: a higher permission includes the lower ones."""

    READ = 1
    WRITE = 2
    ADMIN = 3

    @classmethod
    def parse(cls, text: str) -> Permission:
        names = {"read-only": cls.READ, "read-write": cls.WRITE, "admin": cls.ADMIN}
        try:
            return names[text]
        except KeyError as error:
            raise ValueError(f"permission must be one of {sorted(names)}") from error

    @property
    def wire(self) -> str:
        return {Permission.READ: "read-only", Permission.WRITE: "read-write"}.get(self, "admin")


@dataclass(frozen=True)
class Grant:
    permission: Permission
    warehouses: tuple[str, ...] | None = None  # None: every warehouse
    namespaces: tuple[tuple[str, ...], ...] | None = None  # None: every namespace

    def covers_warehouse(self, warehouse: str) -> bool:
        return self.warehouses is None or warehouse in self.warehouses

    def covers_namespace(self, namespace: Sequence[str]) -> bool:
        if self.namespaces is None:
            return True
        levels = tuple(namespace)
        return any(levels[: len(scope)] == scope for scope in self.namespaces)

    def leads_to(self, namespace: Sequence[str]) -> bool:
        """An ancestor of a granted namespace: visible in listings, so clients can navigate."""
        if self.namespaces is None:
            return True
        levels = tuple(namespace)
        return any(scope[: len(levels)] == levels for scope in self.namespaces)


@dataclass(frozen=True)
class Principal:
    id: str
    name: str
    grants: tuple[Grant, ...] = field(default_factory=tuple)
    source: str = "token"

    @property
    def is_admin(self) -> bool:
        return any(g.permission >= Permission.ADMIN for g in self.grants)

    def may(self, permission: Permission, warehouse: str, namespace: Sequence[str] = ()) -> bool:
        for grant in self.grants:
            if grant.permission >= Permission.ADMIN:
                return True
            if (
                grant.permission >= permission
                and grant.covers_warehouse(warehouse)
                and grant.covers_namespace(namespace)
            ):
                return True
        return False

    def may_enter_warehouse(self, warehouse: str) -> bool:
        return any(
            g.permission >= Permission.ADMIN or g.covers_warehouse(warehouse) for g in self.grants
        )

    def may_see_namespace(self, warehouse: str, namespace: Sequence[str]) -> bool:
        return any(
            g.permission >= Permission.ADMIN
            or (
                g.covers_warehouse(warehouse)
                and (g.covers_namespace(namespace) or g.leads_to(namespace))
            )
            for g in self.grants
        )

    def highest(self, warehouse: str, namespace: Sequence[str]) -> Permission | None:
        allowed = [p for p in Permission if self.may(p, warehouse, namespace)]
        return max(allowed) if allowed else None


ANONYMOUS_ADMIN = Principal(
    "anonymous", "anonymous (--no-auth)", (Grant(Permission.ADMIN),), "none"
)
