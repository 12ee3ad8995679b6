#!/usr/bin/env python3
"""One version everywhere: fails unless every place that states the SDK's version agrees.

    python3 bindings/check-versions.py [--python PY] [--maven-repo DIR] [--root DIR]

Always compared (from the source tree under --root, default this checkout):
- Cargo: workspace.package.version in Cargo.toml, and clawlet-node's resolved version
  (`cargo metadata --no-deps`, so a crate that stops inheriting the workspace version is caught);
- Python: [project] version in bindings/python/pyproject.toml;
- Maven: <version> in bindings/kotlin/pom.xml;
- Android: VERSION_NAME in bindings/android/gradle.properties (the AAR's maven-publish version).
With --python PY (an interpreter whose environment has the `clawlet` wheel installed):
- the installed distribution's metadata version, and the library's `clawlet.version()`.
With --maven-repo DIR (written by bindings/kotlin/publish-local.sh):
- the published pom and the jar's META-INF/maven/.../pom.properties of that version.

scripts/test-bindings.sh runs it, and once more with a pyproject.toml of another version to show
that it fails. Exit status 1 lists every disagreement.
"""

import argparse
import json
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

POM_NS = {"m": "http://maven.apache.org/POM/4.0.0"}


def toml_value(path: Path, table: str, key: str) -> str:
    """`key = "value"` inside `[table]` of a simple TOML file (no tomllib before Python 3.11)."""
    current = None
    for line in path.read_text().splitlines():
        line = line.strip()
        header = re.fullmatch(r"\[([^\]]+)\]", line)
        if header:
            current = header.group(1).strip()
            continue
        m = re.fullmatch(rf'{re.escape(key)}\s*=\s*"([^"]*)"', line)
        if m and current == table:
            return m.group(1)
    raise SystemExit(f"check-versions: no {key} in [{table}] of {path}")


def pom_coordinates(path: Path):
    root = ET.parse(path).getroot()
    get = lambda k: (root.findtext(f"m:{k}", namespaces=POM_NS) or "").strip()  # noqa: E731
    return get("groupId"), get("artifactId"), get("version")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", type=Path, default=Path(__file__).resolve().parents[1])
    ap.add_argument("--pyproject", type=Path, help="instead of bindings/python/pyproject.toml")
    ap.add_argument("--python", help="an interpreter with the clawlet wheel installed")
    ap.add_argument("--maven-repo", type=Path, help="a repository publish-local.sh wrote")
    args = ap.parse_args()
    root = args.root

    found = {}  # where -> version
    found["Cargo.toml workspace.package.version"] = toml_value(root / "Cargo.toml", "workspace.package", "version")
    meta = json.loads(
        subprocess.run(
            ["cargo", "metadata", "--no-deps", "--format-version", "1", "--locked", "--offline"],
            cwd=root, check=True, capture_output=True, text=True,
        ).stdout
    )
    node = [p for p in meta["packages"] if p["name"] == "clawlet-node"]
    if len(node) != 1:
        raise SystemExit("check-versions: clawlet-node not found by cargo metadata")
    found["clawlet-node (cargo metadata)"] = node[0]["version"]
    pyproject = args.pyproject or root / "bindings/python/pyproject.toml"
    found[f"{pyproject.name} [project] version"] = toml_value(pyproject, "project", "version")
    group, artifact, pom_version = pom_coordinates(root / "bindings/kotlin/pom.xml")
    found["bindings/kotlin/pom.xml"] = pom_version
    props = (root / "bindings/android/gradle.properties").read_text()
    m = re.search(r"^VERSION_NAME=(\S+)$", props, re.M)
    found["bindings/android/gradle.properties VERSION_NAME"] = m.group(1) if m else "(missing)"

    if args.python:
        out = subprocess.run(
            [args.python, "-c",
             "import importlib.metadata as m, clawlet; print(m.version('clawlet')); print(clawlet.version())"],
            cwd="/", check=True, capture_output=True, text=True,
        ).stdout.split()
        found["installed wheel metadata"] = out[0]
        found["clawlet.version() (installed wheel's library)"] = out[1]

    if args.maven_repo:
        d = args.maven_repo / group.replace(".", "/") / artifact / pom_version
        name = f"{artifact}-{pom_version}"
        pom = d / f"{name}.pom"
        jar = d / f"{name}.jar"
        found[f"published {pom.name}"] = pom_coordinates(pom)[2] if pom.is_file() else "(missing)"
        if jar.is_file():
            with zipfile.ZipFile(jar) as z:
                text = z.read(f"META-INF/maven/{group}/{artifact}/pom.properties").decode()
            m = re.search(r"^version=(\S+)$", text, re.M)
            found[f"{jar.name} pom.properties"] = m.group(1) if m else "(missing)"
        else:
            found[f"published {jar.name}"] = "(missing)"

    reference = found["Cargo.toml workspace.package.version"]
    width = max(map(len, found))
    bad = 0
    for where, version in found.items():
        ok = version == reference
        bad += not ok
        print(f"  {where:<{width}}  {version}{'' if ok else '   <-- differs'}")
    if bad:
        print(f"check-versions: {bad} place(s) disagree with Cargo's {reference}", file=sys.stderr)
        return 1
    print(f"check-versions: all {len(found)} agree on {reference}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
