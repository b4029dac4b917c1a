"""Runs the seed's simulate() from the textbook text itself, with arrivals(t) replaced by a file of
per-second counts, and prints (total, late, ready). Nothing of the seed is copied into this repository."""
import sys
text = open(sys.argv[1], encoding="utf-8").read()
begin = text.index("def simulate(")
end = text.index("return total, late, ready", begin) + len("return total, late, ready")
counts = [int(line) for line in open(sys.argv[2])]
scope = {"HORIZON": len(counts), "CAP_PER_REP": 30, "T_LOAD": 25, "W_SLO": 2, "N_BASE": 2,
         "arrivals": lambda t: counts[t]}
exec("from collections import deque\n" + text[begin:end], scope)
print(scope["simulate"](0, True))
