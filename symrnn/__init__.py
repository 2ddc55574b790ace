"""symrnn: derive, draw and verify the gradients of recurrent networks.

Declare a recurrence as a handout writes it, unroll it into a computational
graph, list the paths from a parameter to the loss, print the gradient as a
sum over paths of products of edge Jacobians in LaTeX, draw the graph with the
paths highlighted, and prove every printed formula numerically.

Examples
--------
>>> from symrnn import zoo, pathsum, latex
>>> ps = pathsum(zoo.elman(), "W^{hx}", 3)
>>> len(ps.paths)
3
"""

from symrnn import zoo
from symrnn.codegen import codegen
from symrnn.derive import ClosedForm, Factor, PathSum, Recursion, closed_form, pathsum, recursion
from symrnn.derive.equations import Layout
from symrnn.derive.sensitivity import EdgeSensitivity, sensitivity
from symrnn.errors import (
    NumericError,
    RenderError,
    ShapeError,
    SpecError,
    SymRNNError,
    UnknownNameError,
    UnknownRuleError,
)
from symrnn.grade.check import grade
from symrnn.graph import Node, cone, edge_jacobian, find_node, unroll
from symrnn.model import LS, Model, ModelBuilder, concat, g, identity, inner, relu, sigmoid, sqnorm, tanh, transfer
from symrnn.model.builder import softmax
from symrnn.model.rnn_reader import load_spec, parse_spec
from symrnn.numeric import check_model, evaluate_pathsum, finite_differences, forward, random_point
from symrnn.numeric.engine import CompiledGradient
from symrnn.numeric.exact import ExactArrays
from symrnn.numeric.gradcheck import Form
from symrnn.paths import count_paths, iter_paths
from symrnn.render.dot import Drawing, draw, graph_dot, render_graph
from symrnn.render.latex import latex
from symrnn.version import __version__  # noqa: F401  (symrnn.__version__, not a name of the API)

__all__ = [
    "LS", "ClosedForm", "CompiledGradient", "Drawing", "EdgeSensitivity", "ExactArrays", "Factor", "Form", "Layout",
    "Model", "ModelBuilder", "Node", "NumericError", "PathSum", "Recursion", "RenderError", "ShapeError",
    "SpecError", "SymRNNError", "UnknownNameError", "UnknownRuleError", "check_model", "closed_form", "codegen",
    "concat", "cone", "count_paths", "draw", "edge_jacobian", "evaluate_pathsum", "find_node", "finite_differences",
    "forward", "g", "grade", "graph_dot", "identity", "inner", "iter_paths", "latex", "load_spec", "parse_spec",
    "pathsum", "random_point", "recursion", "relu", "render_graph", "sensitivity", "sigmoid", "softmax", "sqnorm",
    "tanh", "transfer", "unroll", "zoo",
]
