"""``python -m demos`` lists the demos (from the table ``glassgrad --help`` reads)."""

from demos.command import demos_list

print(demos_list())
