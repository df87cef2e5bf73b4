"""``python -m demos`` lists the demos."""

print("glassgrad demos:")
print("  python -m demos.digits        train a network of Values to read handwritten digits")
print("  python -m demos.how_it_works  the four steps of backprop drawn from a real network")
print("  python -m demos.walkthrough   one neuron, forward and backward step by step")
