"""Reading given numbers (a JSON values file) into the arrays of a compiled gradient.

The file maps each parameter, input and label, by display name (``w_{x}``, ``h_0``) or
identifier (``w_x``), to its value: a number for a scalar, a list for a vector, a list of
rows for a matrix, and for an input sequence a list over ``t``. Numbers may be JSON
numbers or strings (``"0.1"``, ``"1/10"``); in exact mode they are read as exact
rationals. ``n`` (and ``i``) may be given; otherwise ``n`` is the inputs' length.

Example (seed 003)::

    {"n": 2, "values": {"w_x": "0.1", "w_h": 1, "w_y": 2, "h_0": 1,
                        "x": [10, 10], "y": [3, 3]}}
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from symrnn.errors import NumericError
from symrnn.model.declared import Kind, Model
from symrnn.numeric.exact import to_fraction
from symrnn.operations.symbols import canonical


def _column(value, exact: bool):
    convert = to_fraction if exact else float
    if isinstance(value, list) and value and isinstance(value[0], list):
        return [[convert(v) for v in row] for row in value]
    if isinstance(value, list):
        return [[convert(v)] for v in value]
    return [[convert(value)]]


def read_values(model: Model, path: str | Path, exact: bool = False) -> dict:
    """``{"params", "inputs", "labels", "n", "i"}`` for :class:`~symrnn.numeric.engine.CompiledGradient`."""
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise NumericError(f"{path}: cannot read the values: {e}") from None
    if not isinstance(data, dict) or not isinstance(data.get("values"), dict):
        raise NumericError(f'{path}: expected {{"n": N, "values": {{"name": value, ...}}}}')
    names = {}
    for v in model.variables:
        if v.kind in (Kind.PARAMETER, Kind.INPUT, Kind.LABEL):
            names[v.name] = v
            names[canonical(v.latex.replace("{t}", "t"))] = v
            names[canonical(v.latex)] = v
    dtype = object if exact else float
    out = {"params": {}, "inputs": {}, "labels": {}, "n": data.get("n"), "i": data.get("i")}
    for key, value in data["values"].items():
        decl = names.get(key) or names.get(canonical(key))
        if decl is None:
            known = ", ".join(sorted(v.name for v in set(names.values())))
            raise NumericError(f"{path}: {key!r} is not a parameter, input or label of {model.name} (known: {known})")
        if decl.kind is Kind.LABEL:
            out["labels"][decl.name] = np.array([int(value)])
        elif decl.kind is Kind.PARAMETER:
            out["params"][decl.name] = np.array(_column(value, exact), dtype=dtype)
        elif decl.timed:
            if not isinstance(value, list):
                raise NumericError(f"{path}: the input {decl.latex} is a sequence: give a list over t")
            out["inputs"][decl.name] = np.array([_column(v, exact) for v in value], dtype=dtype)  # (n, size, 1)
        else:
            out["inputs"][decl.name] = np.array(_column(value, exact), dtype=dtype)
    missing = [v.latex for v in model.variables if v.kind in (Kind.PARAMETER, Kind.INPUT)
               and v.name not in out["params"] and v.name not in out["inputs"]]
    if missing:
        raise NumericError(f"{path}: no value for {', '.join(missing)}")
    return out
