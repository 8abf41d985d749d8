#!/usr/bin/env python3
"""The places that name a release agree with each other.

    check_release.py SOURCE_DIR

- the project version in meson.build is the newest entry of CHANGELOG.md
  and the upstream part of the newest debian/changelog entry;
- src/libtld.map has one node per release that added symbols, each marked
  with the release that introduced it, none newer than the project version,
  each inheriting the one before;
- debian/libtld1.symbols is what debian/gen-symbols.py makes of the map;
- every exported name is mentioned in CHANGELOG.md;
- the Rust crate (bindings/rust/Cargo.toml, and its entry in Cargo.lock)
  has the project version;
- the oldest libtld the crate's build script accepts (MIN_VERSION and the
  node named beside it in bindings/rust/build.rs) is the release of the
  newest node among the functions bindings/rust/src/sys.rs declares, each
  of them exported.
"""
import re
import subprocess
import sys

src = sys.argv[1]
problems = []


def vtuple(v):
    return tuple(int(x) for x in v.split("."))


meson = open(f"{src}/meson.build").read()
version = re.search(r"^\s*version:\s*'([0-9.]+)'", meson, re.M).group(1)

changelog = open(f"{src}/CHANGELOG.md").read()
entries = re.findall(r"^## ([0-9.]+)", changelog, re.M)
if not entries or entries[0] != version:
    problems.append(f"CHANGELOG.md's newest entry is {entries[:1]}, the project is {version}")

deb = open(f"{src}/debian/changelog").readline()
m = re.match(r"libtld \(([0-9.]+)-[^)]+\)", deb)
if not m or m.group(1) != version:
    problems.append(f"debian/changelog starts with '{deb.strip()}', the project is {version}")

mapfile = open(f"{src}/src/libtld.map").read()
nodes = re.findall(r"/\*\s*released in ([0-9.]+)\s*\*/\s*(TLD_[0-9.]+)\s*\{.*?\}\s*([A-Z_0-9.]*)\s*;",
                   mapfile, re.S)
all_nodes = re.findall(r"(TLD_[0-9.]+)\s*\{", mapfile)
if len(nodes) != len(all_nodes):
    problems.append("every version node of src/libtld.map needs a '/* released in X */' comment")
for i, (release, node, parent) in enumerate(nodes):
    if vtuple(release) > vtuple(version):
        problems.append(f"{node} is marked as released in {release}, after {version}")
    want_parent = nodes[i - 1][1] if i else ""
    if parent != want_parent:
        problems.append(f"{node} inherits '{parent}', expected '{want_parent}'")
names = re.findall(r"^\s*(tld_[a-z_]+);", mapfile, re.M)
for n in names:
    if n not in changelog:
        problems.append(f"{n} is exported but CHANGELOG.md never mentions it")

cargo = open(f"{src}/bindings/rust/Cargo.toml").read()
m = re.search(r'^\[package\][^\[]*?^version\s*=\s*"([^"]+)"', cargo, re.M | re.S)
if not m or m.group(1) != version:
    problems.append(f"bindings/rust/Cargo.toml has version {m and m.group(1)}, the project is {version}")
lock = open(f"{src}/bindings/rust/Cargo.lock").read()
m = re.search(r'^name = "tld"\nversion = "([^"]+)"', lock, re.M)
if not m or m.group(1) != version:
    problems.append(f"bindings/rust/Cargo.lock has tld {m and m.group(1)}, the project is {version}")

node_of = {}
for release, node, body in re.findall(
        r"/\*\s*released in ([0-9.]+)\s*\*/\s*(TLD_[0-9.]+)\s*\{(.*?)\}", mapfile, re.S):
    for n in re.findall(r"^\s*(tld_[a-z_]+);", body, re.M):
        node_of[n] = (release, node)
sys_rs = open(f"{src}/bindings/rust/src/sys.rs").read()
declared = [n for block in re.findall(r'extern "C" \{(.*?)\n\}', sys_rs, re.S)
            for n in re.findall(r"\bfn (tld_[a-z_0-9]+)\s*\(", block)]
if not declared:
    problems.append("bindings/rust/src/sys.rs declares no function of libtld")
for n in declared:
    if n not in node_of:
        problems.append(f"bindings/rust/src/sys.rs declares {n}, which libtld.map does not export")
used = [node_of[n] for n in declared if n in node_of]
if used:
    need, need_node = max(used, key=lambda rn: vtuple(rn[0]))
    build_rs = open(f"{src}/bindings/rust/build.rs").read()
    m = re.search(r"\(ABI (TLD_[0-9.]+)\)\.\s*const MIN_VERSION: &str = \"([0-9.]+)\";", build_rs)
    if not m:
        problems.append("bindings/rust/build.rs: no '(ABI TLD_X).' comment before const MIN_VERSION")
    elif (m.group(2), m.group(1)) != (need, need_node):
        problems.append(f"bindings/rust/build.rs asks for libtld {m.group(2)} (ABI {m.group(1)}), "
                        f"but sys.rs declares a function of {need_node}, released in {need}")

r = subprocess.run([sys.executable, f"{src}/debian/gen-symbols.py", src, "--check"],
                   capture_output=True, text=True)
if r.returncode:
    problems.append(r.stderr.strip() or r.stdout.strip())

for p in problems:
    print("FAIL:", p)
if problems:
    sys.exit(1)
print(f"release {version}: CHANGELOG.md, debian/changelog, libtld.map, the symbols file and the Rust crate agree")
