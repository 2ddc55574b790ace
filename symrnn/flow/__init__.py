"""The gradient's flow through time: norms measured with the compiled gradient (:mod:`.measure`),
the textbook bound (:mod:`.bound`), and the figure (:mod:`.plot`)."""

from symrnn.flow.bound import Bound, recurrence_bound
from symrnn.flow.measure import Curve, finite_difference_check, measure, recurrent_weights

__all__ = ["Bound", "Curve", "finite_difference_check", "measure", "recurrence_bound", "recurrent_weights"]
