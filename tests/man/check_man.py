#!/usr/bin/env python3
"""Checks of the manual pages in man/.

usage: check_man.py LIBTLD_SO TLD_H VERSION MAN_DIR BUILT_DIR PAGE...
       check_man.py --installed BUILD_DIR VERSION PAGE...

PAGE... are the pages that man/meson.build installs: the copies in BUILT_DIR
(the build directory's man/) of the pages in MAN_DIR, with the project
version VERSION in their .TH line.  The first form fails unless:
  - every symbol that LIBTLD_SO exports (nm -D --defined-only), every
    function-like macro and inline function of TLD_H, and TLD_DEFINE_KEY,
    tld_key_is_err and tld_key_err_or_zero have a page NAME.3 in MAN_DIR
    (internal exports, tld_priv_*, are instead explained in the page of the
    function whose inline code calls them),
    and each of them is named in the NAME section of the page that documents
    it;
  - every page in MAN_DIR is installed, and every installed page exists;
  - every page in MAN_DIR names its release as "libtld @VERSION@" in its .TH
    line, and its copy in BUILT_DIR as "libtld VERSION";
  - every page has a .TH line for its own name and section, the sections a
    page of its section needs, and the line "Added in libtld X.Y.Z";
  - a page that uses tbl says so on its first line ('\\" t);
  - every libtld page that a page refers to as name(N) exists;
  - every `.so` alias points at an existing page;
  - every page of BUILT_DIR renders with groff -ww (and with man -l, and
    lexgrog parses its NAME section) without a single warning or error on
    stderr.

Pages are rendered from a scratch directory laid out as an installed manual
(man3/, man7/), so that `.so man3/x.3` resolves as it does once installed.

The second form installs BUILD_DIR's manual pages (meson install --tags man)
into a scratch directory and fails unless exactly the pages PAGE... were
installed, each under manN/ for its section N, every .TH line among them
names the release VERSION and no other, no page still holds the placeholder
@VERSION@, and every `.so` alias points at an installed page.
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

MACROS = ['TLD_DEFINE_KEY', 'tld_key_is_err', 'tld_key_err_or_zero']
INTERNAL_PREFIX = 'tld_priv_'
INTERNAL_DOC = {'tld_priv_data': 'tld_data.3', 'tld_priv_lookup': 'tld_data.3',
                'tld_priv_get_data': 'tld_data.3'}
PLACEHOLDER = '@VERSION@'

SECTIONS = {
    '3': ['NAME', 'LIBRARY', 'SYNOPSIS', 'DESCRIPTION', 'RETURN VALUE', 'ERRORS',
          'ATTRIBUTES', 'HISTORY', 'SEE ALSO'],
    '7': ['NAME', 'DESCRIPTION', 'ENVIRONMENT', 'HISTORY', 'SEE ALSO'],
}

problems = []


def problem(msg):
    problems.append(msg)


def verdict(checked, passed):
    """Say what was checked and each problem found; the exit status."""
    print(checked)
    if problems:
        for p in problems:
            print('FAIL:', p)
        return 1
    print(passed)
    return 0


def tool(name):
    path = shutil.which(name)
    if not path:
        sys.exit(f'check_man.py: {name} not found in PATH '
                 '(install man-db and groff-base: scripts/setup-debian.sh)')
    return path


def exported(lib):
    out = subprocess.run([tool('nm'), '-D', '--defined-only', lib],
                         check=True, capture_output=True, text=True).stdout
    names = set()
    for line in out.splitlines():
        parts = line.split()
        if len(parts) < 3:
            continue
        kind, name = parts[1], parts[2]
        if kind in 'Aa':            # version nodes such as TLD_1.0
            continue
        names.add(name.split('@', 1)[0])
    if not names:
        sys.exit(f'check_man.py: {lib} exports nothing')
    return names


def header_names(header):
    """Function-like macros and inline functions that tld.h defines."""
    text = open(header, encoding='utf-8').read()
    names = set(re.findall(r'^#define\s+([A-Za-z_]\w*)\(', text, re.M))
    names |= set(re.findall(r'^static\s+inline\s+[\w\s\*]*?\b(\w+)\s*\(', text, re.M))
    # TLD_PRIV_* / tld_priv_*: internals of the inline code, not API.
    return {n for n in names
            if n.lower().startswith('tld_') and not n.lower().startswith(INTERNAL_PREFIX)}


def read(path):
    return open(path, encoding='utf-8').read()


def so_target(text):
    m = re.match(r'\.so\s+(\S+)\s*$', text)
    return m.group(1) if m else None


def sections_of(text):
    out = []
    for m in re.finditer(r'^\.SH\s+(.*)$', text, re.M):
        out.append(m.group(1).strip().strip('"'))
    return out


def name_line(text):
    m = re.search(r'^\.SH\s+"?NAME"?\s*\n(.*?)(?=^\.SH)', text, re.M | re.S)
    return m.group(1) if m else ''


def th_release(text):
    """The release named in the .TH lines of a page (a list, one per line)."""
    return re.findall(r'^\.TH\s.*"libtld ([^"]*)"', text, re.M)


def check_source_page(path):
    """A page in man/ names its release only through the placeholder."""
    base = os.path.basename(path)
    text = read(path)
    if so_target(text):
        return
    for rel in th_release(text):
        if rel != PLACEHOLDER:
            problem(f'man/{base}: .TH line names "libtld {rel}", '
                    f'not "libtld {PLACEHOLDER}" (meson puts the project version there)')


def check_page(path, pages, version):
    base = os.path.basename(path)
    stem, _, sect = base.rpartition('.')
    text = read(path)
    target = so_target(text)
    if target:
        tpath = os.path.join(os.path.dirname(path), os.path.basename(target))
        if not re.fullmatch(r'man[1-9]/[^/]+\.[1-9]', target):
            problem(f'{base}: .so target {target!r} is not of the form manN/page.N')
        elif not os.path.exists(tpath):
            problem(f'{base}: .so target {target} does not exist in man/')
        elif not re.search(r'\b' + re.escape(stem) + r'\b', name_line(read(tpath))):
            problem(f'{base}: {target} does not name {stem} in its NAME section')
        return
    lines = text.splitlines()
    th = [l for l in lines if l.startswith('.TH ')]
    if len(th) != 1:
        problem(f'{base}: expected one .TH line, found {len(th)}')
    else:
        m = re.fullmatch(r'\.TH\s+(\S+)\s+(\S+)\s+(\d{4}-\d{2}-\d{2})\s+'
                         r'"libtld (\d+\.\d+\.\d+)"\s+"[^"]+"', th[0])
        if not m:
            problem(f'{base}: .TH line does not read: .TH name section YYYY-MM-DD '
                    f'"libtld X.Y.Z" "manual": {th[0]!r}')
        elif m.group(1) != stem or m.group(2) != sect:
            problem(f'{base}: .TH names {m.group(1)}({m.group(2)}), not {stem}({sect})')
        elif m.group(4) != version:
            problem(f'{base}: .TH names libtld {m.group(4)}, not the project version {version}')
    have = sections_of(text)
    for want in SECTIONS.get(sect, ['NAME', 'DESCRIPTION', 'SEE ALSO']):
        if want not in have:
            problem(f'{base}: no .SH {want} section')
    if not re.search(r'^Added in libtld \d+\.\d+\.\d+\.?$', text, re.M):
        problem(f'{base}: no line "Added in libtld X.Y.Z"')
    if not re.search(r'\b' + re.escape(stem) + r'\b', name_line(text)):
        problem(f'{base}: NAME section does not name {stem}')
    uses_tbl = re.search(r'^\.TS', text, re.M) is not None
    if uses_tbl and not re.match(r"'\\\" [a-z]*t", lines[0]):
        problem(f'{base}: uses tbl but its first line is not \'\\" t')
    refs = re.findall(r'^\.BR\s+(\S+)\s+\((\d)\)', text, re.M)
    refs += re.findall(r'\\fB([\w.-]+)\\f[PR]\((\d)\)', text)
    for name, s in sorted(set(refs)):
        if re.match(r'(tld_|TLD_|libtld$)', name) and f'{name}.{s}' not in pages:
            problem(f'{base}: refers to {name}({s}), which has no page in man/')


def render(tmp, rel, env):
    """Render one page; return what the tools printed on stderr."""
    page = os.path.join(tmp, rel)
    first = open(page, encoding='utf-8').readline()
    pre = []
    m = re.match(r"'\\\" ([a-z]+)", first)
    if m:
        flags = {'t': '-t', 'e': '-e', 'p': '-p', 'r': '-R', 'g': '-g'}
        pre = [flags[c] for c in m.group(1) if c in flags]
    errors = []
    runs = [
        [tool('groff'), '-s', *pre, '-man', '-Tutf8', '-ww', '-z', rel],
        [tool('man'), '--warnings=w', '-l', '-Tutf8', rel],
    ]
    if not so_target(read(page)):
        runs.append([tool('lexgrog'), rel])
    for cmd in runs:
        r = subprocess.run(cmd, cwd=tmp, env=env, capture_output=True, text=True,
                           timeout=60)
        name = os.path.basename(cmd[0])
        if r.returncode != 0:
            errors.append(f'{name} exited {r.returncode}')
        if r.stderr.strip():
            errors.append(f'{name}: {r.stderr.strip()}')
        if name == 'lexgrog' and 'parse failed' in r.stdout:
            errors.append(f'lexgrog: {r.stdout.strip()}')
        if name == 'man' and not r.stdout.strip():
            errors.append('man printed nothing')
    return errors


def check_built(argv):
    if len(argv) < 6:
        sys.exit(__doc__)
    lib, header, version, man_dir, built_dir = argv[:5]
    built = {os.path.basename(p): p for p in argv[5:]}
    installed = set(built)
    present = {f for f in os.listdir(man_dir) if re.fullmatch(r'.+\.[1-9]', f)}
    for f in sorted(present - installed):
        problem(f'man/{f} is not installed by man/meson.build')
    for f in sorted(installed - present):
        problem(f'man/meson.build installs {f}, which does not exist')
    for f, path in sorted(built.items()):
        if os.path.dirname(os.path.abspath(path)) != os.path.abspath(built_dir):
            problem(f'{f}: installed from {path}, not from the build directory {built_dir}')

    wanted = exported(lib) | header_names(header) | set(MACROS)
    # Internal entry points of inline code (tld_priv_*) are not API: the page
    # of the function they serve explains them instead of a page of their own.
    internal = {n for n in wanted if n.startswith(INTERNAL_PREFIX)}
    wanted -= internal
    for name in sorted(internal):
        page = INTERNAL_DOC.get(name, '')
        path = os.path.join(man_dir, page)
        if not page or not os.path.exists(path) or name not in read(path):
            problem(f'internal export {name} is not explained in man/{page or "?"}')
    for name in sorted(wanted):
        if f'{name}.3' not in present:
            problem(f'{name} has no page man/{name}.3')

    for f in sorted(present):
        check_source_page(os.path.join(man_dir, f))
    for f in sorted(installed & present):
        check_page(built[f], installed, version)

    env = dict(os.environ, LC_ALL='C.UTF-8', LANG='C.UTF-8', MANWIDTH='80',
               MAN_KEEP_FORMATTING='', MANPAGER='cat', PAGER='cat')
    env.pop('MANOPT', None)
    with tempfile.TemporaryDirectory(prefix='tld-man-') as tmp:
        rels = []
        for f in sorted(installed & present):
            sub = 'man' + f.rpartition('.')[2]
            os.makedirs(os.path.join(tmp, sub), exist_ok=True)
            shutil.copy(built[f], os.path.join(tmp, sub, f))
            rels.append(os.path.join(sub, f))
        for rel in rels:
            for err in render(tmp, rel, env):
                problem(f'{os.path.basename(rel)}: {err}')

    return verdict(f'{len(present)} pages, {len(wanted)} documented names checked',
                   f'all pages present, naming libtld {version}, and render without warnings')


def check_installed(argv):
    if len(argv) < 3:
        sys.exit(__doc__)
    build, version = argv[0], argv[1]
    want = {os.path.basename(p) for p in argv[2:]}
    with tempfile.TemporaryDirectory(prefix='tld-man-install-') as root:
        r = subprocess.run([tool('meson'), 'install', '-C', build, '--destdir', root,
                            '--no-rebuild', '--tags', 'man', '--quiet'],
                           capture_output=True, text=True, timeout=120)
        if r.returncode != 0:
            sys.exit(f'check_man.py: meson install --tags man failed:\n{r.stdout}{r.stderr}')
        found = {}
        for d, _, files in os.walk(root):
            for f in files:
                path = os.path.join(d, f)
                if not re.search(r'/man/man[1-9]$', d):
                    problem(f'{os.path.relpath(path, root)}: installed with the manual '
                            'pages but not in a manN/ directory')
                    continue
                if f in found:
                    problem(f'{f} installed twice')
                found[f] = path
        for f in sorted(want - set(found)):
            problem(f'{f} was not installed')
        for f in sorted(set(found) - want):
            problem(f'{f} was installed but is not a page of man/meson.build')
        for f, path in sorted(found.items()):
            sect = f.rpartition('.')[2]
            if os.path.basename(os.path.dirname(path)) != 'man' + sect:
                problem(f'{f} installed in {os.path.dirname(path)}, not in man{sect}/')
            text = read(path)
            if PLACEHOLDER in text:
                problem(f'{f}: the installed page still holds {PLACEHOLDER}')
            target = so_target(text)
            if target:
                if os.path.basename(target) not in found:
                    problem(f'{f}: .so target {target} was not installed')
                continue
            rels = th_release(text)
            if not rels:
                problem(f'{f}: the installed page has no .TH line naming a release')
            for rel in rels:
                if rel != version:
                    problem(f'{f}: the installed page names libtld {rel}, '
                            f'not the project version {version}')
    return verdict(f'{len(found)} pages installed',
                   f'every installed page names libtld {version} and no other release')


def main():
    if len(sys.argv) > 1 and sys.argv[1] == '--installed':
        return check_installed(sys.argv[2:])
    return check_built(sys.argv[1:])


if __name__ == '__main__':
    sys.exit(main())
