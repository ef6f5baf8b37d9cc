"""What the storage operator knows: the latest body of every object it plans from, by kind and key."""

from __future__ import annotations

from controllers.storage_plan import Key, Obj, key_of

from .resources import RESOURCES


def _version(obj: Obj) -> int:
    text = str(obj["metadata"].get("resourceVersion") or "0")
    return int(text) if text.isdigit() else 0


class StorageWorld:
    def __init__(self) -> None:
        self.objects: dict[str, dict[Key, Obj]] = {kind: {} for kind in RESOURCES}

    def upsert(self, obj: Obj) -> None:
        """Keep obj unless a newer body of it is kept."""
        table = self.objects[str(obj["kind"])]
        key = key_of(obj)
        old = table.get(key)
        same = old is not None and old["metadata"].get("uid") == obj["metadata"].get("uid")
        if not (same and old is not None and _version(old) > _version(obj)):
            table[key] = obj

    def remove(self, kind: str, key: Key, uid: str | None = None) -> None:
        old = self.objects[kind].get(key)
        if old is not None and (uid is None or old["metadata"].get("uid") == uid):
            del self.objects[kind][key]
