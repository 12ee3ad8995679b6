#!/usr/bin/env python3
"""Parses the hand-written Swift (the XCTests, Package.swift, examples/ios) with tree-sitter-swift
and fails on any syntax error. There is no Swift compiler on the Linux CI machine, so this is the
only check those files get here: syntax, not types (names were checked by hand against the
generated bindings/swift/Sources/Clawlet/Clawlet.swift, which is itself skipped: the grammar does
not know attributes such as @_documentation that it uses).

Run by bindings/check-mobile-targets.sh in a venv under ~/.cache/clawlet/swift-syntax with
tree-sitter==0.26.1 and tree-sitter-swift==0.7.4 from PyPI.
"""
import sys
from pathlib import Path

import tree_sitter_swift
from tree_sitter import Language, Parser

ROOT = Path(__file__).resolve().parents[2]
FILES = sorted(
    [ROOT / "bindings/apple/Package.swift"]
    + list((ROOT / "bindings/apple/Tests").rglob("*.swift"))
    + list((ROOT / "examples/ios").rglob("*.swift"))
    # The hand-written helpers shipped beside the generated Clawlet.swift.
    + [p for p in (ROOT / "bindings/swift/Sources/Clawlet").glob("*.swift") if p.name != "Clawlet.swift"]
)


def errors(tree):
    stack = [tree.root_node]
    while stack:
        node = stack.pop()
        if node.is_error or node.is_missing:
            yield node
            continue
        stack.extend(node.children)


def main():
    parser = Parser(Language(tree_sitter_swift.language()))
    bad = 0
    for path in FILES:
        source = path.read_bytes()
        lines = source.split(b"\n")
        for node in errors(parser.parse(source)):
            row, col = node.start_point
            what = f"missing {node.type}" if node.is_missing else "syntax error"
            text = lines[row].decode(errors="replace").strip()[:100]
            print(f"{path.relative_to(ROOT)}:{row + 1}:{col + 1}: {what}: {text}", file=sys.stderr)
            bad += 1
    if bad or not FILES:
        print(f"error: {bad} Swift syntax errors in {len(FILES)} files", file=sys.stderr)
        return 1
    print(f"==> {len(FILES)} Swift files parse (tree-sitter-swift)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
