"""What a hook answers: the parent's status and its desired children."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Result:
    status: dict[str, Any]
    children: list[dict[str, Any]]
    finalized: bool | None = None

    def response(self) -> dict[str, Any]:
        out: dict[str, Any] = {"status": self.status, "children": self.children}
        if self.finalized is not None:
            out["finalized"] = self.finalized
        return out
