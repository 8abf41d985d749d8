#!/usr/bin/env python3
"""Parse one JSON document from standard input, strictly, and print each of
its values on a line of its own: the path, a space, the type, and for
scalars a space and the value written as JSON (strings as UTF-8, not
escaped to ASCII).  Paths are like .threads[0].tid; the root is "".

    .threads array 3
    .threads[0] object 4
    .threads[0].tid number 4242
    .threads[0].comm string "worker"

Exits 1 with a message on standard error when the input is not valid JSON
(NaN, Infinity, duplicate keys, trailing data, bad UTF-8 included)."""
import json
import sys


def no_constant(name):
    raise ValueError(f'not JSON: {name}')


def no_duplicates(pairs):
    seen = {}
    for k, v in pairs:
        if k in seen:
            raise ValueError(f'duplicate key {k!r}')
        seen[k] = v
    return seen


def walk(path, v, out):
    if isinstance(v, dict):
        out.append(f'{path} object {len(v)}')
        for k, x in v.items():
            walk(f'{path}.{k}', x, out)
    elif isinstance(v, list):
        out.append(f'{path} array {len(v)}')
        for i, x in enumerate(v):
            walk(f'{path}[{i}]', x, out)
    else:
        kind = ('null' if v is None else 'bool' if isinstance(v, bool)
                else 'number' if isinstance(v, (int, float)) else 'string')
        out.append(f'{path} {kind} {json.dumps(v, ensure_ascii=False)}')


def main():
    raw = sys.stdin.buffer.read()
    try:
        doc = json.loads(raw.decode('utf-8'), parse_constant=no_constant,
                         object_pairs_hook=no_duplicates)
    except (UnicodeDecodeError, ValueError) as e:
        print(f'invalid JSON: {e}', file=sys.stderr)
        return 1
    out = []
    walk('', doc, out)
    sys.stdout.buffer.write(('\n'.join(out) + '\n').encode('utf-8'))
    return 0


if __name__ == '__main__':
    sys.exit(main())
