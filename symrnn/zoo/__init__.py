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
from pathlib import Path

from symrnn.errors import SpecError, UnknownNameError
from symrnn.model.declared import Model
from symrnn.zoo.bidirectional import bidirectional, stacked_bidirectional, tagger
from symrnn.zoo.elman import elman
from symrnn.zoo.gated import gru, gru_torch, lstm
from symrnn.zoo.simple import mlp, next_word, plain, residual, scalar, vanilla

#: name -> (builder, one-line description)
MODELS: dict[str, tuple[Callable[..., Model], str]] = {
    "elman": (elman, "Elman RNN, label at the last step (question sheet, Q1)"),
    "bidirectional": (bidirectional, "bidirectional RNN, label at position i (question sheet, Q2)"),
    "stacked_bidirectional": (stacked_bidirectional, "two-level bidirectional RNN (question sheet, Q2a)"),
    "tagger": (tagger, "bidirectional RNN with a recurrence over the previous tags (question sheet, Q2b)"),
    "gru": (gru, "GRU in Collins' convention (question sheet, Q3)"),
    "gru_torch": (gru_torch, "GRU in PyTorch's convention (torch.nn.GRU)"),
    "lstm": (lstm, "LSTM, softmax cross-entropy at the last step"),
    "lstm_every": (lambda: lstm("every"), "LSTM, softmax cross-entropy summed over every step"),
    "vanilla": (vanilla, "tanh RNN, softmax cross-entropy at the last step"),
    "vanilla_every": (lambda: vanilla("every"), "tanh RNN, cross-entropy summed over every step"),
    "plain": (plain, "plain tanh RNN with a log-likelihood J"),
    "residual": (residual, "residual tanh RNN, h_t = tanh(g_t) + h_{t-1}"),
    "next_word": (next_word, "next-word tanh RNN over one-hot words"),
    "mlp": (mlp, "MLP with embed and unembed matrices, J = log p(y|s)"),
    "scalar": (scalar, "scalar linear RNN, squared error at every step"),
}

#: The zoo models whose transfer function is the abstract g (the others fix theirs).
ABSTRACT_G = ("elman", "bidirectional", "stacked_bidirectional", "tagger", "gru")


def get(name: str, **options) -> Model:
    """The zoo model ``name`` built with ``options`` (e.g. ``g="tanh"``)."""
    if name not in MODELS:
        close = difflib.get_close_matches(name, MODELS, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise UnknownNameError(f"no zoo model {name!r}{hint} (known: {', '.join(MODELS)})")
    if options and name not in ABSTRACT_G:
        raise UnknownNameError(f"zoo model {name!r} takes no options (its functions are fixed), got "
                               f"{', '.join(options)}")
    return MODELS[name][0](**options)


def is_spec(reference: str) -> bool:
    """Whether a MODEL argument names a ``.rnn`` file (else a zoo model)."""
    return reference.endswith(".rnn") or "/" in reference or Path(reference).is_file()


def resolve(reference: str, g: str | None = None) -> Model:
    """What a MODEL argument names: a zoo model or a ``.rnn`` spec, its abstract ``g`` bound to ``g``.

    Examples
    --------
    >>> resolve("elman", "tanh").functions, resolve("examples/specs/scalar.rnn").name
    (['tanh'], 'scalar')
    """
    if is_spec(reference):
        from symrnn.model.rnn_reader import load_spec

        model = load_spec(reference)
        if g:
            if "g" not in model.abstract_functions:
                raise SpecError(f"--g binds the abstract g, and {reference} does not use one")
            model = model.bind(g=g)
        return model
    if g and reference not in ABSTRACT_G:
        raise SpecError(f"--g applies to the models written with an abstract g ({', '.join(ABSTRACT_G)}); "
                        f"{reference} fixes its functions")
    return get(reference, **({"g": g} if g else {}))


__all__ = [
    "ABSTRACT_G", "MODELS", "bidirectional", "elman", "get", "gru", "gru_torch", "is_spec", "lstm", "mlp",
    "next_word", "plain", "residual", "resolve", "scalar", "stacked_bidirectional", "tagger", "vanilla",
]
