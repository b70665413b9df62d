#!/usr/bin/env python3
"""Checks the CI workflows of ci/github/ and ci/gitlab/ where actionlint is not at hand
(its PyPI package downloads the binary from GitHub when it builds, so it does not install
offline): the YAML parses; GitHub jobs and steps have the keys Actions knows, `needs`
names jobs, every `${{ }}` reads a context that exists there (needs.J.outputs.O declared
by J, steps.ID declared before, matrix only under a strategy, inputs declared by
workflow_dispatch); GitLab jobs name declared stages and existing jobs; every ci/fleet/
script a step runs exists and is executable; run blocks and the scripts pass shellcheck
when it is installed. Prints "FILE: where: what" per problem, exits 1 on any.
usage: lint_workflows.py ROOT FILE..."""
import os
import re
import shutil
import subprocess
import sys
import tempfile

import yaml

problems = []


def bad(path, where, what):
    problems.append(f"{path}: {where}: {what}")


JOB_KEYS = {"name", "needs", "runs-on", "permissions", "environment", "concurrency",
            "outputs", "env", "defaults", "if", "steps", "timeout-minutes", "strategy",
            "continue-on-error", "container", "services", "uses", "with", "secrets"}
STEP_KEYS = {"name", "id", "if", "uses", "run", "with", "env", "shell", "working-directory",
             "continue-on-error", "timeout-minutes"}
TOP_KEYS = {"name", "run-name", "on", "permissions", "env", "defaults", "concurrency", "jobs"}
CONTEXTS = {"github", "env", "vars", "secrets", "inputs", "needs", "matrix", "steps",
            "strategy", "runner", "job"}
FUNCS = {"fromJSON", "toJSON", "format", "contains", "startsWith", "endsWith", "join",
         "hashFiles", "always", "success", "failure", "cancelled"}
EXPR = re.compile(r"\$\{\{(.*?)\}\}", re.S)


def strings(node):
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for k, v in node.items():
            yield from strings(k)
            yield from strings(v)
    elif isinstance(node, list):
        for v in node:
            yield from strings(v)


def scripts_of(root, path, where, text):
    for m in re.finditer(r"(ci/fleet/[A-Za-z0-9_.-]+\.sh)", text):
        f = os.path.join(root, m.group(1))
        if not os.path.isfile(f):
            bad(path, where, f"runs {m.group(1)}, which does not exist")
        elif not os.access(f, os.X_OK):
            bad(path, where, f"runs {m.group(1)}, which is not executable")


def shellcheck(path, where, script):
    if not shutil.which("shellcheck"):
        return
    body = EXPR.sub("x", script)
    with tempfile.NamedTemporaryFile("w", suffix=".sh", delete=False) as f:
        f.write("#!/usr/bin/env bash\n" + body + "\n")
    r = subprocess.run(["shellcheck", "-f", "gcc", f.name], capture_output=True, text=True)
    os.unlink(f.name)
    if r.returncode:
        bad(path, where, "shellcheck: " + (r.stdout + r.stderr).strip().replace(f.name, "run"))


def check_expr(path, where, text, ctx):
    if text.count("${{") != len(EXPR.findall(text)):
        bad(path, where, f"an unclosed ${{{{ in {text!r}")
    for e in EXPR.findall(text):
        e = re.sub(r"'[^']*'", "''", e)
        for m in re.finditer(r"\b([A-Za-z_][A-Za-z0-9_-]*)((?:\.[A-Za-z_*][A-Za-z0-9_-]*)*)", e):
            head, rest = m.group(1), m.group(2).split(".")[1:]
            if head in FUNCS and e[m.end():m.end() + 1] == "(":
                continue
            if head in ("true", "false", "null"):
                continue
            if m.start() and e[m.start() - 1] == ".":
                continue
            if head not in CONTEXTS:
                bad(path, where, f"${{{{ {e.strip()} }}}} reads \"{head}\", not a context")
                continue
            if head == "needs":
                if not rest or rest[0] not in ctx["needs"]:
                    bad(path, where, f"reads needs.{'.'.join(rest)} but the job needs "
                        f"{sorted(ctx['needs'])}")
                elif len(rest) >= 3 and rest[1] == "outputs" and \
                        rest[2] not in ctx["outputs"].get(rest[0], {}):
                    bad(path, where, f"reads needs.{rest[0]}.outputs.{rest[2]}, which job "
                        f"{rest[0]} does not declare")
            elif head == "steps":
                if not rest or rest[0] not in ctx["steps"]:
                    bad(path, where, f"reads steps.{'.'.join(rest)}: no earlier step has id "
                        f"{rest[0] if rest else ''!r}")
            elif head == "matrix" and not ctx["matrix"]:
                bad(path, where, "reads matrix outside a job with strategy.matrix")
            elif head == "inputs" and rest and rest[0] not in ctx["inputs"]:
                bad(path, where, f"reads inputs.{rest[0]}, which workflow_dispatch does not declare")


def github(root, path):
    doc = yaml.safe_load(open(path))
    if not isinstance(doc, dict):
        return bad(path, "top", "not a mapping")
    on = doc.get("on", doc.get(True))  # YAML 1.1 reads a bare `on` as true
    for k in doc:
        if k is not True and k not in TOP_KEYS:
            bad(path, "top", f"unknown key {k!r}")
    if not isinstance(on, dict):
        bad(path, "on", "no triggers")
        on = {}
    inputs = set(((on.get("workflow_dispatch") or {}).get("inputs") or {}).keys())
    jobs = doc.get("jobs") or {}
    if not jobs:
        bad(path, "jobs", "no jobs")
    outputs = {j: (spec.get("outputs") or {}) for j, spec in jobs.items()}
    for j, spec in jobs.items():
        where = f"job {j}"
        for k in spec:
            if k not in JOB_KEYS:
                bad(path, where, f"unknown key {k!r}")
        needs = spec.get("needs") or []
        needs = [needs] if isinstance(needs, str) else needs
        for n in needs:
            if n not in jobs:
                bad(path, where, f"needs {n!r}, which is no job")
        if "runs-on" not in spec and "uses" not in spec:
            bad(path, where, "no runs-on")
        ctx = {"needs": set(needs), "outputs": outputs, "steps": set(), "inputs": inputs,
               "matrix": bool((spec.get("strategy") or {}).get("matrix"))}
        for k, v in spec.items():
            if k != "steps" and k != "outputs":
                for s in strings(v):
                    check_expr(path, f"{where}: {k}", s, ctx)
        steps = spec.get("steps") or []
        ids = set()
        for i, step in enumerate(steps, 1):
            sw = f"{where}: step {i} ({step.get('name') or step.get('uses') or step.get('id')})"
            for k in step:
                if k not in STEP_KEYS:
                    bad(path, sw, f"unknown key {k!r}")
            if ("run" in step) == ("uses" in step):
                bad(path, sw, "needs exactly one of run and uses")
            ctx["steps"] = set(ids)
            for s in strings(step):
                check_expr(path, sw, s, ctx)
            if "run" in step:
                scripts_of(root, path, sw, step["run"])
                shellcheck(path, sw, step["run"])
            if "id" in step:
                ids.add(step["id"])
        ctx["steps"] = ids
        for s in strings(spec.get("outputs") or {}):
            check_expr(path, f"{where}: outputs", s, ctx)


GITLAB_RESERVED = {"stages", "variables", "default", "include", "workflow", "image",
                   "services", "before_script", "after_script", "cache"}


def gitlab(root, path):
    doc = yaml.safe_load(open(path))
    stages = doc.get("stages") or ["build", "test", "deploy"]
    jobs = {k: v for k, v in doc.items() if k not in GITLAB_RESERVED and not k.startswith(".")}
    for j, spec in jobs.items():
        where = f"job {j}"
        if not isinstance(spec, dict) or "script" not in spec:
            bad(path, where, "no script")
            continue
        if spec.get("stage", "test") not in stages:
            bad(path, where, f"stage {spec.get('stage')!r} is not in stages {stages}")
        for n in spec.get("needs") or []:
            if (n if isinstance(n, str) else n.get("job")) not in jobs:
                bad(path, where, f"needs {n!r}, which is no job")
        for k in ("before_script", "script", "after_script"):
            for line in spec.get(k) or []:
                scripts_of(root, path, f"{where}: {k}", line)
                shellcheck(path, f"{where}: {k}", line)
    for line in (doc.get("default") or {}).get("before_script") or []:
        scripts_of(root, path, "default: before_script", line)


def main():
    root, files = sys.argv[1], sys.argv[2:]
    for f in files:
        try:
            (gitlab if "gitlab" in os.path.basename(f) else github)(root, f)
        except yaml.YAMLError as e:
            bad(f, "yaml", str(e).replace("\n", " "))
    fleet = os.path.abspath(os.path.join(root, "ci", "fleet"))
    if shutil.which("shellcheck") and os.path.isdir(fleet):
        sh = sorted(os.path.join(fleet, n) for n in os.listdir(fleet) if n.endswith(".sh"))
        r = subprocess.run(["shellcheck", "-x", "-P", "SCRIPTDIR", "-f", "gcc", *sh], capture_output=True,
                           text=True, cwd=fleet)
        if r.returncode:
            bad("ci/fleet", "shellcheck", (r.stdout + r.stderr).strip())
    for p in problems:
        print(p)
    print(f"lint_workflows: {len(files)} file(s), {len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
