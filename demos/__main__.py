"""``python -m demos`` lists the demos."""

print("glassgrad demos:")
print("  python -m demos.digits        train a network of Values to read handwritten digits")
print("  python -m demos.walkthrough   one neuron, forward and backward step by step")
