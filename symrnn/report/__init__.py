"""Solution sheets: a model's declaration, graph, gradients, check and flow, as HTML and PDF (:mod:`.sheet`)."""
