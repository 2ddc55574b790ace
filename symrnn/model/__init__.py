"""Stage 1: declaring a model. The Python builder API and the frozen Model."""

from symrnn.model.builder import (
    LS,
    ModelBuilder,
    Term,
    concat,
    exp,
    g,
    identity,
    inner,
    log,
    mean,
    relu,
    sigmoid,
    softmax,
    sqnorm,
    sqrt,
    sum_components,
    tanh,
    transfer,
)
from symrnn.model.declared import Apply, Definition, Kind, Loop, Model, Ref, VarDecl

__all__ = [
    "LS", "Apply", "Definition", "Kind", "Loop", "Model", "ModelBuilder", "Ref", "Term",
    "VarDecl", "concat", "exp", "g", "identity", "inner", "log", "mean", "relu", "sigmoid", "softmax", "sqnorm", "sqrt",
    "sum_components", "tanh", "transfer",
]
