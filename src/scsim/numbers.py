"""Numbers for people: counts with thousands separators, rates without e-notation."""

from __future__ import annotations

SCALES = ((1e12, "trillion"), (1e9, "billion"), (1e6, "million"))


def count(n: float | int | None) -> str:
    """A count in full: 1,409,778,724 (never 1.41e+09)."""
    if n is None:
        return "n/a"
    return f"{round(n):,}"


def rate(x: float | None) -> str:
    """A rate per 100,000 or similar: whole numbers from 100 on, 3 significant digits below."""
    if x is None:
        return "n/a"
    if abs(x) >= 100:
        return f"{x:,.0f}"
    if x == 0:
        return "0"
    return f"{x:.3g}" if abs(x) >= 1e-3 else f"{x:.2e}".replace("e-0", "e-")


def large(x: float | None) -> str:
    """A large quantity in words: 1.53 billion, 23.5 million, 12,345."""
    if x is None:
        return "n/a"
    for scale, word in SCALES:
        if abs(x) >= scale:
            return f"{x / scale:.3g} {word}"
    return f"{x:,.0f}"


def per_million(p: float) -> str:
    """A daily probability as events per million citizen-days."""
    return rate(p * 1e6)
