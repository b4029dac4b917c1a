"""Writes a seeded per-second trace: a daily cycle around a mean rate, Gaussian noise, and a
two-minute triple-rate burst at 09:00 every day. Output: one count per line, and a CSV for import."""
import math, random, sys
days, rps, txt, csv = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3], sys.argv[4]
rng = random.Random(42)
start = 1767571200  # 2026-01-05T00:00:00Z, a Monday
with open(txt, "w") as counts, open(csv, "w") as table:
    table.write("timestamp,requests\n")
    for t in range(days * 86400):
        second_of_day = t % 86400
        mean = rps * (1 + 0.35 * math.sin(2 * math.pi * second_of_day / 86400))
        if second_of_day // 3600 == 9 and second_of_day % 3600 < 120:
            mean *= 3
        n = max(0, int(round(rng.gauss(mean, math.sqrt(mean)))))
        counts.write(f"{n}\n")
        table.write(f"{start + t},{n}\n")
