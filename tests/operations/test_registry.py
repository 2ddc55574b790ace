"""Every rule in THE registry, checked numerically.

For each primitive and argument: the symbolic Jacobian, evaluated, against
central differences of the primitive's numeric value; and the VJP against
the Jacobian (J^T v, reshaped like the argument).
"""

import numpy as np
import pytest

from symrnn.errors import UnknownRuleError
from symrnn.numeric.printers import evaluate
from symrnn.operations import primitives as P
from symrnn.operations.registry import ANY, get_rule, registered
from symrnn.operations.symbols import J, Label, Var

BINDINGS = (("g", "sigmoid"),)  # the abstract g is checked as sigmoid
INDEX = 3  # the value of the second time index j
POSITIVE = {"log", "sqrt", "reciprocal", "divide"}  # defined (or smooth) for positive arguments only


def _case(prim, rng, scalar_divisor=False):
    """Symbolic and numeric arguments that fit ``prim``."""
    r, c = 4, 3
    if prim is P.DIVIDE:
        shapes = [(r, 1), (1, 1) if scalar_divisor else (r, 1)]
    elif prim.name.startswith("broadcast "):
        shapes = [(1, 1)]
    elif prim is P.MATVEC:
        shapes = [(r, c), (c, 1)]
    elif prim is P.ADD:
        shapes = [(r, 1)] * 3
    elif prim is P.PICK:
        shapes = [(r, 1)]
    elif prim is P.SCALAR_TIMES:  # a weight times a vector: \alpha_{t,j} h_j
        shapes = [(1, 1), (r, 1)]
    elif prim is P.CONCAT:
        shapes = [(k + 1, 1) for k in range(P.MAX_CONCAT)]
    elif prim in (P.HADAMARD, P.INNER):
        shapes = [(r, 1), (r, 1)]
    else:
        shapes = [(r, 1)]
    syms = [Var(f"a{i}", None, *s, f"a_{i}") for i, s in enumerate(shapes)]
    vals = [rng.standard_normal(s) for s in shapes]
    if prim.function in POSITIVE or prim is P.DIVIDE:
        vals[-1] = np.abs(vals[-1]) + 0.5
    if prim is P.PICK:
        syms.append(Label("y"))
        vals.append(3)
    return syms, vals


def _numeric(prim, args):
    if prim.over is not None or prim.inner is not None:  # a sum over time or j: one term of it is the identity
        return args[0]
    return prim.numeric(np, args, {**dict(BINDINGS), P.SIZES: {"m": 4, "n": 3}, P.INDEX: INDEX})


def _numeric_jacobian(prim, vals, argnum, step=1e-6):
    base = np.asarray(vals[argnum], float)
    flat = base.reshape(-1, order="F")
    columns = []
    for k in range(flat.size):
        plus, minus = flat.copy(), flat.copy()
        plus[k] += step
        minus[k] -= step
        args_p = list(vals)
        args_m = list(vals)
        args_p[argnum] = plus.reshape(base.shape, order="F")
        args_m[argnum] = minus.reshape(base.shape, order="F")
        out_p = _numeric(prim, args_p)
        out_m = _numeric(prim, args_m)
        columns.append(((out_p - out_m) / (2 * step)).reshape(-1, order="F"))
    return np.stack(columns, axis=1)


CASES = [(prim, argnum) for prim, argnum, _ in registered()]


def test_registry_has_every_primitive_of_q1():
    names = {prim.name for prim, _ in CASES}
    assert {"matvec", "add", "neg", "LS", "pick", "tanh", "sigmoid", "relu", "identity", "g"} <= names
    assert {"CONCAT", "hadamard", "one_minus", "inner", "sqnorm", "sum", "softmax"} <= names


@pytest.mark.parametrize("prim,argnum", CASES + [(P.DIVIDE, "scalar 0"), (P.DIVIDE, "scalar 1")],
                         ids=[f"{p.name}-{a}" for p, a in CASES] + ["divide by a number-0", "divide by a number-1"])
def test_rule_against_central_differences_and_vjp(prim, argnum):
    rng = np.random.default_rng(7)
    scalar = isinstance(argnum, str) and argnum.startswith("scalar")
    syms, vals = _case(prim, rng, scalar)
    argnum = int(argnum.split()[-1]) if scalar else argnum
    argnums = range(len(syms) - len(prim.nondiff)) if argnum == ANY else [argnum]
    out_val = _numeric(prim, vals)
    out_sym = Var("out", None, *out_val.shape, "o")
    env = {s: v for s, v in zip(syms, vals, strict=True)}
    env[out_sym] = out_val
    env[J] = INDEX  # the second time index j, where a rule reads it (\alpha_{t,j})
    for i in argnums:
        rule = get_rule(prim, i)
        jac_sym = rule.jacobian(tuple(syms), out_sym)
        shape = (out_val.size, np.size(vals[i]))
        jac = evaluate(jac_sym, env, np, BINDINGS, shape)
        expected = _numeric_jacobian(prim, vals, i)
        assert jac.shape == expected.shape
        np.testing.assert_allclose(jac, expected, rtol=1e-6, atol=1e-8)
        # the VJP is J^T v, shaped like the argument (columns stacked for a matrix)
        v_sym = Var("v", None, *out_val.shape, "v")
        v_val = rng.standard_normal(out_val.shape)
        vjp = evaluate(rule.vjp(v_sym, tuple(syms), out_sym), {**env, v_sym: v_val}, np, BINDINGS,
                       np.shape(vals[i]))
        np.testing.assert_allclose(np.asarray(vjp).reshape(-1, order="F"), jac.T @ v_val.reshape(-1),
                                   rtol=1e-10, atol=1e-12)


def test_missing_rule_names_primitive_and_argument():
    with pytest.raises(UnknownRuleError, match=r"'pick' with respect to argument 1"):
        get_rule(P.PICK, 1)

