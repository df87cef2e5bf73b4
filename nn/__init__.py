"""Neural networks built from engine Values (Module, Neuron, Layer, MLP, losses, optimizers)."""
