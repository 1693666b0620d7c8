"""Compact sets of IMAP UIDs: stored and exchanged as sequence-set text ("1:5,7,9:12"), never a row per
message. Pure, so it is unit-tested on its own."""

from __future__ import annotations

from collections.abc import Iterable, Iterator


class UidSet:
    """An immutable set of positive integers kept as sorted, non-overlapping, non-adjacent ranges."""

    __slots__ = ("_ranges",)

    def __init__(self, ranges: Iterable[tuple[int, int]] = ()) -> None:
        merged: list[tuple[int, int]] = []
        for start, end in sorted(ranges):
            if start > end or start < 1:
                raise ValueError(f"bad UID range {start}:{end}")
            if merged and start <= merged[-1][1] + 1:
                merged[-1] = (merged[-1][0], max(merged[-1][1], end))
            else:
                merged.append((start, end))
        self._ranges: tuple[tuple[int, int], ...] = tuple(merged)

    @classmethod
    def of(cls, uids: Iterable[int]) -> UidSet:
        return cls((uid, uid) for uid in uids)

    @classmethod
    def parse(cls, text: str | None) -> UidSet:
        """From IMAP sequence-set text; `*` is not allowed in a stored set."""
        if not text:
            return cls()
        ranges: list[tuple[int, int]] = []
        for part in text.split(","):
            first, _, last = part.strip().partition(":")
            a, b = int(first), int(last or first)
            ranges.append((min(a, b), max(a, b)))
        return cls(ranges)

    def __str__(self) -> str:
        return ",".join(f"{a}" if a == b else f"{a}:{b}" for a, b in self._ranges)

    def __repr__(self) -> str:
        return f"UidSet({str(self)!r})"

    def __iter__(self) -> Iterator[int]:
        for start, end in self._ranges:
            yield from range(start, end + 1)

    def __len__(self) -> int:
        return sum(end - start + 1 for start, end in self._ranges)

    def __bool__(self) -> bool:
        return bool(self._ranges)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, UidSet) and self._ranges == other._ranges

    def __hash__(self) -> int:
        return hash(self._ranges)

    def __contains__(self, uid: object) -> bool:
        if not isinstance(uid, int):
            return False
        lo, hi = 0, len(self._ranges)
        while lo < hi:
            mid = (lo + hi) // 2
            start, end = self._ranges[mid]
            if uid < start:
                hi = mid
            elif uid > end:
                lo = mid + 1
            else:
                return True
        return False

    @property
    def ranges(self) -> tuple[tuple[int, int], ...]:
        return self._ranges

    @property
    def max(self) -> int | None:
        return self._ranges[-1][1] if self._ranges else None

    def union(self, other: UidSet) -> UidSet:
        return UidSet(self._ranges + other._ranges)

    def difference(self, other: UidSet) -> UidSet:
        """Members of self not in other, computed on ranges (no per-UID loop)."""
        result: list[tuple[int, int]] = []
        others = other._ranges
        j = 0
        for start, end in self._ranges:
            cursor = start
            while j < len(others) and others[j][1] < cursor:
                j += 1
            k = j
            while k < len(others) and others[k][0] <= end:
                o_start, o_end = others[k]
                if o_start > cursor:
                    result.append((cursor, o_start - 1))
                cursor = max(cursor, o_end + 1)
                if cursor > end:
                    break
                k += 1
            if cursor <= end:
                result.append((cursor, end))
        return UidSet(result)

    def intersection(self, other: UidSet) -> UidSet:
        return self.difference(self.difference(other))
