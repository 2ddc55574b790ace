"""THE registry of local rules: per primitive and argument, a Jacobian and a VJP.

Like autograd's ``defvjp`` and JAX's ``defjvp``: a primitive registers, for each
argument it can be differentiated in, two symbolic rules

``jacobian(args, out)``
    the Jacobian of the output with respect to that argument, numerator layout
    (rows index the output, columns the argument; a matrix argument enters
    through ``vec``, its columns stacked);
``vjp(v, args, out)``
    the vector-Jacobian product ``J^T v`` for a cotangent ``v`` shaped like the
    output, returned shaped like the argument (a matrix for a matrix argument).

``args`` are the symbolic values of the arguments and ``out`` that of the
output, so a rule may read the output (``tanh``'s is ``1 - out \\odot out``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from symrnn.errors import UnknownRuleError

#: Argument key of a rule that holds for every argument of a variadic primitive.
ANY = "*"


@dataclass(frozen=True)
class Rule:
    """The two local rules of one primitive with respect to one argument."""

    jacobian: Callable
    vjp: Callable


_RULES: dict[object, dict[object, Rule]] = {}


def defrule(primitive, argnum, *, jacobian: Callable, vjp: Callable) -> None:
    """Register the Jacobian and VJP of ``primitive`` in argument ``argnum``.

    Examples
    --------
    >>> from symrnn.operations.primitives import NEG
    >>> get_rule(NEG, 0).jacobian((None,), None)
    -1
    """
    _RULES.setdefault(primitive, {})[argnum] = Rule(jacobian, vjp)


def get_rule(primitive, argnum: int) -> Rule:
    """The rule of ``primitive`` in argument ``argnum``; raises UnknownRuleError."""
    rules = _RULES.get(primitive, {})
    rule = rules.get(argnum) or rules.get(ANY)
    if rule is None:
        raise UnknownRuleError(
            f"no local rule for primitive {getattr(primitive, 'name', primitive)!r} "
            f"with respect to argument {argnum}; register one with defrule()"
        )
    return rule


def registered() -> Iterator[tuple[object, object, Rule]]:
    """Every (primitive, argnum, rule) in the registry, in registration order."""
    for primitive, rules in _RULES.items():
        for argnum, rule in rules.items():
            yield primitive, argnum, rule
