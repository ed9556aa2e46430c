#!/usr/bin/env python3
"""Paired, alternating CPU-time comparison of two builds (or two commands) on a shared machine.

  bench/ab-cpu.py RUNS 'A command' 'B command' [--pre 'command run before each run, untimed']

Each round runs A and B once, alternating which goes first; before each run the --pre command (e.g. deleting the
last output, then sync) runs outside the timing. Prints, for each, the median and mean of wall time and of CPU
time (user+sys of the child, from wait4's rusage), and the ratios B/A of the medians. CPU time, unlike wall time,
hardly moves with other load on the machine.
"""
import os, shlex, statistics, subprocess, sys, time

def run(cmd):
    t = time.perf_counter()
    p = subprocess.Popen(cmd, shell=True, stdout=subprocess.DEVNULL)
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t
    if os.waitstatus_to_exitcode(status) not in (0, 2, 3):  # check exits 2/3 on findings
        sys.exit("failed: " + cmd)
    return wall, ru.ru_utime + ru.ru_stime

def main():
    args = sys.argv[1:]
    pre = None
    if "--pre" in args:
        i = args.index("--pre"); pre = args[i + 1]; del args[i:i + 2]
    runs, a, b = int(args[0]), args[1], args[2]
    res = {"A": [], "B": []}
    def one(k, c):
        if pre:
            subprocess.run(pre, shell=True, check=True)
        res[k].append(run(c))
    one("A", a); one("B", b)  # warm-up
    res = {"A": [], "B": []}
    for i in range(runs):
        order = [("A", a), ("B", b)] if i % 2 == 0 else [("B", b), ("A", a)]
        for k, c in order:
            one(k, c)
    med = {}
    for k in "AB":
        w = [x[0] * 1e3 for x in res[k]]; u = [x[1] * 1e3 for x in res[k]]
        med[k] = (statistics.median(w), statistics.median(u))
        print("%s: wall median %6.0f ms (mean %6.0f)  cpu median %6.0f ms (mean %6.0f, min %6.0f)"
              % (k, med[k][0], statistics.mean(w), med[k][1], statistics.mean(u), min(u)))
    print("B/A: wall %.2f  cpu %.2f" % (med["B"][0] / med["A"][0], med["B"][1] / med["A"][1]))

main()
