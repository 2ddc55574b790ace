"""Stage 3: Model x n -> networkx.DiGraph, edge Jacobians, pruning to a cone."""

from symrnn.graph.node import Node
from symrnn.graph.unroll import cone, edge_jacobian, edge_template, find_node, unroll

__all__ = ["Node", "cone", "edge_jacobian", "edge_template", "find_node", "unroll"]
