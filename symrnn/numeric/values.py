"""Reading given numbers (a JSON values file) into the arrays of a compiled gradient.

The file maps each parameter, input and label, by display name (``w_{x}``, ``h_0``) or
identifier (``w_x``), to its value: a number for a scalar, a list for a vector, a list of
rows for a matrix, and for an input sequence a list over ``t``. Numbers may be JSON
numbers or strings (``"0.1"``, ``"1/10"``); in exact mode they are read as exact
rationals. ``n`` (and ``i``) may be given; otherwise ``n`` is the inputs' length.

Example (the scalar linear RNN)::

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


def number(value, exact: bool):
    """One given number: exact (a Fraction) or a float64; NumericError for anything else.

    Examples
    --------
    >>> number("1/10", exact=False), number("1/10", exact=True)
    (0.1, Fraction(1, 10))
    """
    exact_value = to_fraction(value)
    if exact:
        return exact_value
    try:
        return float(exact_value)
    except OverflowError:
        raise NumericError(f"{str(value)[:40]!r} is beyond float64's range") from None


def _column(value, exact: bool):
    """A scalar, a vector (a list) or a matrix (a list of equal rows) as a list of rows."""
    if isinstance(value, list) and value and all(isinstance(row, list) for row in value):
        if len({len(row) for row in value}) != 1 or any(isinstance(v, list) for row in value for v in row):
            raise NumericError("a matrix is a list of rows of equal length, of numbers")
        return [[number(v, exact) for v in row] for row in value]
    if isinstance(value, list):
        if any(isinstance(v, list) for v in value):
            raise NumericError("a vector is a list of numbers (a matrix, a list of rows of equal length)")
        return [[number(v, exact)] for v in value]
    return [[number(value, exact)]]


def _label(value) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise NumericError(f"a label is a whole number, got {value!r}")
    try:
        return int(value)
    except ValueError:
        raise NumericError(f"a label is a whole number, got {value!r}") from None


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
    for key in ("n", "i"):
        value = data.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 10**6):
            raise NumericError(f"{path}: {key} must be a whole number in 1..1000000, got {value!r}")
    dtype = object if exact else float
    out = {"params": {}, "inputs": {}, "labels": {}, "n": data.get("n"), "i": data.get("i")}
    for key, value in data["values"].items():
        decl = names.get(key) or names.get(canonical(key))
        if decl is None:
            known = ", ".join(sorted(v.name for v in set(names.values())))
            raise NumericError(f"{path}: {key!r} is not a parameter, input or label of {model.name} (known: {known})")
        try:
            out_value = _read(decl, value, exact, dtype, path)
        except NumericError as e:
            raise NumericError(f"{path}: {key}: {e}") from None
        out[{Kind.LABEL: "labels", Kind.PARAMETER: "params"}.get(decl.kind, "inputs")][decl.name] = out_value
    missing = [v.latex for v in model.variables if v.kind in (Kind.PARAMETER, Kind.INPUT)
               and v.name not in out["params"] and v.name not in out["inputs"]]
    if missing:
        raise NumericError(f"{path}: no value for {', '.join(missing)}")
    return out


def _read(decl, value, exact: bool, dtype, path):
    if decl.kind is Kind.LABEL and decl.timed:  # a label per step: a list over t, (n, 1)
        if not isinstance(value, list):
            raise NumericError(f"the label {decl.display('t')} is one per step: give a list over t")
        return np.array([[_label(v)] for v in value])
    if decl.kind is Kind.LABEL:
        return np.array([_label(value)])
    if decl.kind is Kind.PARAMETER or not decl.timed:
        return np.array(_column(value, exact), dtype=dtype)
    if not isinstance(value, list):
        raise NumericError(f"the input {decl.latex} is a sequence: give a list over t")
    steps = [_column(v, exact) for v in value]
    if len({len(s) for s in steps}) > 1:
        raise NumericError(f"the input {decl.latex}: every step must have the same size")
    return np.array(steps, dtype=dtype)  # (n, size, 1)
