#!/usr/bin/env python3
"""Fail unless every Catch2 TEST_CASE of an executable is registered as a
meson test and every registered name is a TEST_CASE of that executable.

usage: check_registered.py EXE NAME...
"""
import subprocess
import sys
import xml.etree.ElementTree as ET


def main():
    exe, registered = sys.argv[1], set(sys.argv[2:])
    # "*" and "[.]" together list ordinary and hidden test cases.
    out = subprocess.run([exe, '--list-tests', '--reporter', 'xml', '*,[.]'],
                         check=False, capture_output=True, text=True)
    if out.returncode not in (0,) and not out.stdout.strip():
        print(f'{exe} --list-tests failed ({out.returncode}): {out.stderr}')
        return 1
    root = ET.fromstring(out.stdout)
    listed = {e.text.strip() for e in root.iter('Name') if e.text}
    ok = True
    for name in sorted(listed - registered):
        print(f'TEST_CASE not registered in the meson.build of its suite: {name!r}')
        ok = False
    for name in sorted(registered - listed):
        print(f'registered in meson.build but no such TEST_CASE in {exe}: {name!r}')
        ok = False
    if ok:
        print(f'{len(listed)} test cases of {exe}, all registered')
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
