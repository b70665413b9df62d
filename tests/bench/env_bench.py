#!/usr/bin/env python3
"""Benchmark: `ptbuild plan` of one recipe whose "env" map has 100,000 entries in no order.

Prints figures, asserts nothing about speed (issue 14, item 8: it took 12-20 s when the JSON
reader's duplicate check and the env insertions were quadratic; linear now).
Such an environment (about 3 MiB) is more than the kernel passes under the default 8 MiB
stack limit (ARG_MAX 2 MiB), so plan refuses it; the timed runs raise the stack limit of
ptbuild (RLIMIT_STACK 64 MiB: ARG_MAX 6 MiB) so the whole plan runs, and one more run
times the refusal under this process's own limit.
usage: env_bench.py PTBUILD [ENTRIES [RUNS]]
"""
import json
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time


def generate(root, entries):
    os.makedirs(f"{root}/recipes/sets")
    os.makedirs(f"{root}/toolchains")
    names = [f"VAR_{i:06d}" for i in range(entries)]
    random.Random(1).shuffle(names)
    recipe = {
        "name": "big", "version": "1.0",
        "source": {"git": "https://example.invalid/big.git", "ref": "v1"},
        "build": ["${python}", "setup.py", "bdist_wheel", "-d", "${out}"],
        "env": {n: f"value-{n}" for n in names},
    }
    with open(f"{root}/recipes/big.json", "w") as f:
        json.dump(recipe, f, indent=2)
    with open(f"{root}/toolchains/cpu.json", "w") as f:
        json.dump({"name": "cpu", "tag": "cpu"}, f)
    with open(f"{root}/recipes/sets/default.json", "w") as f:
        json.dump({"targets": ["big"], "toolchains": ["cpu"], "python": ["3.11"]}, f)


def big_stack():
    soft, hard = resource.getrlimit(resource.RLIMIT_STACK)
    want = 64 << 20
    if hard != resource.RLIM_INFINITY and hard < want:
        want = hard
    resource.setrlimit(resource.RLIMIT_STACK, (want, hard))


def timed(cmd, **kw):
    t0 = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True, **kw)
    return time.perf_counter() - t0, r


def main():
    ptbuild = os.path.abspath(sys.argv[1])
    entries = int(sys.argv[2]) if len(sys.argv) > 2 else 100000
    runs = int(sys.argv[3]) if len(sys.argv) > 3 else 5
    root = tempfile.mkdtemp(prefix="ptbuild-env-bench-")
    try:
        generate(root, entries)
        size = os.path.getsize(f"{root}/recipes/big.json")
        cmd = [ptbuild, "-C", root, "plan"]
        times = []
        for _ in range(runs):
            t, r = timed(cmd, preexec_fn=big_stack)
            if r.returncode != 0:
                sys.stderr.write(r.stderr[-2000:])
                sys.exit(f"plan failed with exit {r.returncode}")
            times.append(t)
        refused, r = timed(cmd)
        print(f"env bench: 1 recipe with {entries} env entries ({size / 2**20:.1f} MiB of JSON)")
        print(f"  plan (RLIMIT_STACK 64 MiB): median {statistics.median(times):.3f} s, "
              f"min {min(times):.3f} s, max {max(times):.3f} s over {runs} runs")
        verdict = ("refused, exit 2 (over ARG_MAX)" if r.returncode == 2
                   else f"exit {r.returncode}")
        print(f"  plan (this process's stack limit, ARG_MAX {os.sysconf('SC_ARG_MAX')} B): "
              f"{refused:.3f} s, {verdict}")
    finally:
        shutil.rmtree(root)


if __name__ == "__main__":
    main()
