#!/usr/bin/env python3
"""ABI checks of the built libtld.so.

usage: check_exports.py LIBTLD_SO VERSION_SCRIPT

Fails unless:
  - the dynamic symbols defined by the library, with their version nodes,
    are exactly the global: names of the version script (name@@NODE);
  - no exported symbol is a C++ (mangled, _Z...) symbol;
  - every defined dynamic symbol carries a version;
  - the SONAME is libtld.so.1.
"""
import re
import shutil
import subprocess
import sys


def tool(name):
    path = shutil.which(name)
    if not path:
        sys.exit(f'{name} not found in PATH')
    return path


def version_script(path):
    """{(symbol, node)} of the global: names of every version node."""
    text = open(path, encoding='utf-8').read()
    text = re.sub(r'/\*.*?\*/', '', text, flags=re.S)
    text = re.sub(r'#[^\n]*', '', text)
    wanted = set()
    nodes = set()
    for m in re.finditer(r'([A-Za-z0-9_.]+)\s*\{(.*?)\}\s*([A-Za-z0-9_.]*)\s*;', text, re.S):
        node, body = m.group(1), m.group(2)
        nodes.add(node)
        scope = None
        for item in body.split(';'):
            item = item.strip()
            mm = re.match(r'(global|local)\s*:\s*(.*)', item, re.S)
            if mm:
                scope, item = mm.group(1), mm.group(2).strip()
            if not item:
                continue
            if scope == 'global':
                if any(c in item for c in '*?['):
                    sys.exit(f'wildcard in global: section of {path}: {item!r}')
                wanted.add((item, node))
    if not wanted:
        sys.exit(f'no global: symbols found in {path}')
    return wanted, nodes


def exported(lib, nodes):
    out = subprocess.run([tool('nm'), '-D', '--defined-only', lib],
                         check=True, capture_output=True, text=True).stdout
    syms = set()
    problems = []
    for line in out.splitlines():
        parts = line.split()
        if len(parts) < 3:
            continue
        kind, full = parts[1], parts[2]
        if kind == 'A' and full in nodes:
            continue  # the version node's own definition
        name, sep, node = full.partition('@')
        hidden_default = node.startswith('@')
        node = node.lstrip('@')
        if name.startswith('_Z'):
            problems.append(f'C++ symbol exported: {full}')
        if not sep or not node:
            problems.append(f'defined symbol without a version: {full}')
            continue
        if not hidden_default:
            problems.append(f'symbol {full} is a non-default version (name@node)')
        syms.add((name, node))
    return syms, problems


def soname(lib):
    out = subprocess.run([tool('readelf'), '-d', lib],
                         check=True, capture_output=True, text=True).stdout
    m = re.search(r'\(SONAME\)\s+Library soname: \[([^\]]+)\]', out)
    return m.group(1) if m else None


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    lib, script = sys.argv[1], sys.argv[2]
    wanted, nodes = version_script(script)
    got, problems = exported(lib, nodes)
    for name, node in sorted(wanted - got):
        problems.append(f'in {script} but not exported: {name}@@{node}')
    for name, node in sorted(got - wanted):
        problems.append(f'exported but not in {script}: {name}@@{node}')
    so = soname(lib)
    if so != 'libtld.so.1':
        problems.append(f'SONAME is {so!r}, expected libtld.so.1')
    for p in problems:
        print('FAIL:', p)
    if problems:
        return 1
    print(f'{len(got)} symbols exported, all versioned as in {script}; SONAME {so}')
    for name, node in sorted(got):
        print(f'  {name}@@{node}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
