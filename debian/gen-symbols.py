#!/usr/bin/env python3
"""Write debian/libtld1.symbols from src/libtld.map.

Each version node of the map is preceded by a comment naming the release
that introduced it, e.g. `/* released in 0.1.0 */`; every symbol of the node
(and the node itself) gets that release as its minimal version.

    gen-symbols.py SRC_DIR [--check]

--check compares with the committed file instead of writing it.
"""
import re
import sys


def symbols_file(map_text):
    lines = ["libtld.so.1 libtld1 #MINVER#", "* Build-Depends-Package: libtld-dev"]
    entries = []
    for m in re.finditer(r"/\*\s*released in ([0-9.]+)\s*\*/\s*(TLD_[0-9.]+)\s*\{(.*?)\}",
                         map_text, re.S):
        release, node, body = m.groups()
        glob = re.search(r"global:(.*?)(local:|$)", body, re.S)
        names = re.findall(r"([A-Za-z_][A-Za-z0-9_]*)\s*;", glob.group(1) if glob else "")
        entries.append(f" {node}@{node} {release}")
        entries += [f" {n}@{node} {release}" for n in names]
    if not entries:
        sys.exit("no '/* released in X */ NODE { ... }' blocks in libtld.map")
    return "\n".join(lines + sorted(entries)) + "\n"


def main():
    src = sys.argv[1]
    want = symbols_file(open(f"{src}/src/libtld.map").read())
    path = f"{src}/debian/libtld1.symbols"
    if "--check" in sys.argv[2:]:
        have = open(path).read()
        if have != want:
            sys.exit("debian/libtld1.symbols is out of step with src/libtld.map: "
                     "run debian/gen-symbols.py .")
        return
    open(path, "w").write(want)


main()
