"""Ready models: the seeds' models and the classic cells, by name.

Examples
--------
>>> from symrnn import zoo
>>> zoo.get("elman").name
'elman'
"""

from __future__ import annotations

import difflib
from collections.abc import Callable

from symrnn.errors import UnknownNameError
from symrnn.spec.model import Model
from symrnn.zoo.elman import elman

#: name -> (builder, one-line description)
MODELS: dict[str, tuple[Callable[..., Model], str]] = {
    "elman": (elman, "Elman RNN, label at the last step (question sheet, Q1)"),
}


def get(name: str, **options) -> Model:
    """The zoo model ``name`` built with ``options`` (e.g. ``g="tanh"``)."""
    if name not in MODELS:
        close = difflib.get_close_matches(name, MODELS, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise UnknownNameError(f"no zoo model {name!r}{hint} (known: {', '.join(MODELS)})")
    return MODELS[name][0](**options)


__all__ = ["MODELS", "elman", "get"]
