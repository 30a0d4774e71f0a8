"""Printing graphs: debugprint, pp, pydotprint (being written)."""

from typing import Any


def pp(var: Any) -> str:
    return repr(var)
