"""``python -m demos`` lists the demos."""

print("glassgrad demos:")
print("  python -m demos.walkthrough   one neuron, forward and backward step by step")
