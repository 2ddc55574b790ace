"""The algebra helpers the derivations are built with (symrnn.operations.algebra)."""

def test_a_term_met_twice_is_written_once_doubled():
    """The product rule on (a - mu) * (a - mu) gives one term twice: printed 2 X, not X + X."""
    import sympy as sp

    from symrnn.operations import algebra as al
    from symrnn.operations.symbols import Var

    m = sp.Symbol("m")
    x, y = Var("x", None, m, 1, "x"), Var("y", None, m, 1, "y")
    term = al.hadamard(x, y)
    assert al.add(term, x, term) == sp.MatAdd(sp.MatMul(2, term), x, evaluate=False)
    assert al.add(x, y) == sp.MatAdd(x, y, evaluate=False)  # the order given, nothing merged
