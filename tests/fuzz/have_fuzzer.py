#!/usr/bin/env python3
"""Exit 0 if CXX links a libFuzzer target with ASan and UBSan.  usage: CXX SRC"""
import subprocess, sys, tempfile, os
cxx, src = sys.argv[1], sys.argv[2]
with tempfile.TemporaryDirectory() as d:
    r = subprocess.run([cxx, '-fsanitize=fuzzer,address,undefined', src, '-o', os.path.join(d, 'probe')],
                       capture_output=True, text=True)
    if r.returncode:
        print(r.stderr[-2000:])
    sys.exit(r.returncode)
