"""The compiler: the same graph, traced once, run over whole batches with numpy
(``engine.compiler.compile``: ``trace`` and ``Tape``)."""
