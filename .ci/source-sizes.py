#!/usr/bin/env python3
"""Fails when a source file under src/ is over 600 lines or a function is over 80 lines
(ARCHITECTURE.md: files named for their concept, functions short enough to read).
A function is counted from its `fn` line to the line that closes its body, found by
brace depth with strings, chars and comments skipped. Usage: source-sizes.py SRC_DIR"""
import os, re, sys

MAX_FILE, MAX_FN = 600, 80
src = sys.argv[1] if len(sys.argv) > 1 else "src"
bad = []

def code_only(line, state):
    """The line with comments, strings and char literals blanked; `state` carries an open
    block comment across lines."""
    out, i, n = [], 0, len(line)
    while i < n:
        if state["block"]:
            j = line.find("*/", i)
            if j < 0:
                return "".join(out)
            state["block"], i = False, j + 2
            continue
        c = line[i]
        if line.startswith("//", i):
            break
        if line.startswith("/*", i):
            state["block"], i = True, i + 2
            continue
        if c == '"':
            j = i + 1
            while j < n and line[j] != '"':
                j += 2 if line[j] == "\\" else 1
            i = j + 1
            continue
        if c == "'" and re.match(r"'(\\.|[^\\'])'", line[i:]):
            i += len(re.match(r"'(\\.|[^\\'])'", line[i:]).group(0))
            continue
        out.append(c)
        i += 1
    return "".join(out)

for root, _, files in os.walk(src):
    for f in sorted(files):
        if not f.endswith(".rs"):
            continue
        path = os.path.join(root, f)
        lines = open(path, encoding="utf-8").read().split("\n")
        if len(lines) > MAX_FILE:
            bad.append(f"{path}: {len(lines)} lines (at most {MAX_FILE})")
        state, stack, depth = {"block": False}, [], 0
        for no, line in enumerate(lines, 1):
            code = code_only(line, state)
            m = re.search(r"\bfn\s+([A-Za-z_][A-Za-z0-9_]*)", code)
            if m and not code.rstrip().endswith(";"):
                stack.append((m.group(1), no, depth))
            for ch in code:
                if ch == "{":
                    depth += 1
                elif ch == "}":
                    depth -= 1
                    if stack and depth == stack[-1][2] and no > stack[-1][1] - 1:
                        name, start, _ = stack.pop()
                        if no - start + 1 > MAX_FN:
                            bad.append(f"{path}:{start}: fn {name} is {no - start + 1} lines (at most {MAX_FN})")
for b in bad:
    print(b)
print(f"{len(bad)} oversized" if bad else "source sizes ok")
sys.exit(1 if bad else 0)
