"""A read-only view of ASGI request headers: lowercase names, repeated values kept."""

from __future__ import annotations

from collections.abc import Iterable, Iterator


class Headers:
    __slots__ = ("_items",)

    def __init__(self, raw: Iterable[tuple[bytes, bytes]]) -> None:
        self._items: dict[str, list[str]] = {}
        for name, value in raw:
            self._items.setdefault(name.decode("latin-1").lower(), []).append(
                value.decode("latin-1")
            )

    def get(self, name: str, default: str | None = None) -> str | None:
        values = self._items.get(name)
        if values is None:
            return default
        return ",".join(values)

    def get_all(self, name: str) -> list[str]:
        return self._items.get(name, [])

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def items(self) -> Iterator[tuple[str, list[str]]]:
        return iter(self._items.items())
