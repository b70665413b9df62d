#!/usr/bin/env python3
"""Benchmark: `ptbuild plan` of a generated 100-recipe x 4-toolchain x 3-Python matrix.

Prints figures, asserts nothing about speed (targets: under 0.2 s wall, see README).
usage: plan_bench.py PTBUILD [RUNS]
"""
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

RECIPES = 100
TOOLCHAINS = ["cpu", "cuda-a", "cuda-b", "cuda-c"]
PYTHONS = ["3.10", "3.11", "3.12"]


def generate(root):
    os.makedirs(f"{root}/recipes/sets")
    os.makedirs(f"{root}/toolchains")
    for i in range(RECIPES):
        deps = sorted({f"r{j:03d}" for j in (i - 1, i // 2, i // 3) if 0 <= j < i})
        patches = []
        if i % 10 == 0:
            os.makedirs(f"{root}/patches/r{i:03d}")
            for k in range(3):
                with open(f"{root}/patches/r{i:03d}/{k:04d}.patch", "w") as f:
                    f.write(f"--- a/f{k}\n+++ b/f{k}\n@@ -1 +1 @@\n-a\n+b{i}\n")
            patches = [{"series": f"patches/r{i:03d}/*.patch"}]
        recipe = {
            "name": f"r{i:03d}",
            "version": f"1.{i}.0",
            "builder": "pytorch" if i == 0 else "cpp_extension",
            "source": {"git": f"https://example.invalid/r{i:03d}.git", "ref": f"v1.{i}.0"},
            "depends": deps,
            "build_requires": ["setuptools>=70", "ninja"],
            "env": {"FORCE_CUDA": "${cuda.enabled}", "TORCH_CUDA_ARCH_LIST": "${cuda.arch_list}",
                    "EXTRA": f"value-{i}"},
            "patches": patches,
            "local_version": "pt${dep.r000.version_short}${toolchain.tag}" if deps else "x",
        }
        if i == 0:
            recipe["env"] = {"BUILD_TEST": "0", "USE_DISTRIBUTED": "1"}
            recipe["depends"] = []
            recipe["local_version"] = "x"
        elif "r000" not in deps:
            recipe["local_version"] = "${toolchain.tag}"
        with open(f"{root}/recipes/r{i:03d}.json", "w") as f:
            f.write("// generated\n" + json.dumps(recipe, indent=2))
    for t in TOOLCHAINS:
        tc = {"name": t, "tag": t.replace("-", "")}
        if t != "cpu":
            tc["cuda"] = {"version": "13.0", "home": "/usr/local/cuda", "arch_list": "8.0;9.0;12.0+PTX"}
            tc["nccl"] = {"system": True}
        with open(f"{root}/toolchains/{t}.json", "w") as f:
            json.dump(tc, f)
    with open(f"{root}/recipes/sets/default.json", "w") as f:
        json.dump({"targets": [f"r{i:03d}" for i in range(RECIPES)],
                   "toolchains": TOOLCHAINS, "python": PYTHONS}, f)


def main():
    ptbuild = os.path.abspath(sys.argv[1])
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 10
    root = tempfile.mkdtemp(prefix="ptbuild-bench-")
    try:
        generate(root)
        cmd = [ptbuild, "-C", root, "plan", "--json"]
        first = subprocess.run(cmd, capture_output=True, text=True)
        if first.returncode != 0:
            sys.stderr.write(first.stderr)
            sys.exit(f"plan failed with exit {first.returncode}")
        variants = len(json.loads(first.stdout)["variants"])
        times = []
        for _ in range(runs):
            t0 = time.perf_counter()
            subprocess.run(cmd, capture_output=True, check=True)
            times.append(time.perf_counter() - t0)
        peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        print(f"plan bench: {RECIPES} recipes x {len(TOOLCHAINS)} toolchains x "
              f"{len(PYTHONS)} Pythons = {variants} variants")
        print(f"  wall: median {statistics.median(times):.3f} s, min {min(times):.3f} s, "
              f"max {max(times):.3f} s over {runs} runs (target: under 0.2 s)")
        print(f"  peak RSS of the largest child: {peak_kib / 1024:.1f} MiB")
    finally:
        shutil.rmtree(root)


if __name__ == "__main__":
    main()
