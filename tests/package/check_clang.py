#!/usr/bin/env python3
"""The clang versions the build accepts are named alike everywhere.

usage: check_clang.py SOURCE_DIR

debian/control's Build-Depends accepts clang-N for a list of N, and every
build that compiles BPF looks for clang-N in the same order, newest first:
bpf/meson.build (libtld's own objects), examples/consumer/meson.build (the
template, after a plain clang of version 15 or later) and
tests/subproject/meson.build.in.  Fails unless the four lists are equal,
newest first, and reach down to 15 (the first release with the BTF type
tags of UPTR fields).
"""
import os
import re
import sys


def versions(text):
    return [int(v) for v in re.findall(r"clang-(\d+)", text)]


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    src = sys.argv[1]
    read = lambda rel: open(os.path.join(src, rel), encoding='utf-8').read()
    lists = {}

    control = read('debian/control')
    m = re.search(r'^Build-Depends:(.*?)(?=^\S)', control, re.M | re.S)
    deps = [d.strip() for d in m.group(1).split(',')] if m else []
    clang = [d for d in deps if re.match(r'clang-\d+', d)]
    lists['debian/control Build-Depends'] = versions(clang[0]) if len(clang) == 1 else []

    m = re.search(r"foreach v : \[([^\]]*)\]\s*\n\s*p = find_program\('clang-' \+ v",
                  read('bpf/meson.build'))
    lists['bpf/meson.build'] = [int(v) for v in re.findall(r"'(\d+)'", m.group(1))] if m else []

    m = re.search(r"foreach name : \[([^\]]*)\]", read('examples/consumer/meson.build'))
    lists['examples/consumer/meson.build'] = versions(m.group(1)) if m else []

    m = re.search(r"clang = find_program\(([^)]*)\)", read('tests/subproject/meson.build.in'))
    lists['tests/subproject/meson.build.in'] = versions(m.group(1)) if m else []

    bad = 0
    want = lists['debian/control Build-Depends']
    for where, got in lists.items():
        print(f'{where}: clang-' + ', clang-'.join(map(str, got)) if got else f'{where}: none')
        if not got:
            print(f'FAIL: {where}: no list of clang versions found')
            bad = 1
        elif got != sorted(got, reverse=True) or got[-1] != 15:
            print(f'FAIL: {where}: not newest first down to clang-15')
            bad = 1
        elif got != want:
            print(f'FAIL: {where} differs from debian/control')
            bad = 1
    if not bad:
        print('every build looks for the clang versions Build-Depends accepts')
    return bad


if __name__ == '__main__':
    sys.exit(main())
