#!/usr/bin/env python3
"""Lists otpkit's public API (every item reachable from the crate root, with --all-features)
from rustdoc's JSON output, one `kind path` per line, sorted.

  .ci/public_api.py target/doc/otpkit.json            # print the list
  .ci/public_api.py target/doc/otpkit.json --check docs/public-api.txt

With --check it fails (exit 1) and prints the difference when the list is not the committed
one: an item added to the public surface must be added to docs/public-api.txt on purpose.
"""
import json
import sys


def public_items(doc):
    index = doc["index"]
    out, seen = set(), set()

    def kind_of(item):
        return next(iter(item["inner"]))

    def walk(module_id, prefix):
        module = index.get(str(module_id))
        if module is None:
            return
        for child in module["inner"]["module"]["items"]:
            item = index.get(str(child))
            if item is None:
                continue
            kind = kind_of(item)
            if kind == "use":
                use = item["inner"]["use"]
                target = index.get(str(use.get("id")))
                if target is None:
                    continue
                path, kind, child = f"{prefix}::{use['name']}", kind_of(target), use["id"]
            else:
                path = f"{prefix}::{item['name']}"
            if item.get("attrs") and any("doc(hidden)" in str(a) for a in item["attrs"]):
                continue
            out.add(f"{kind} {path}")
            if kind == "module" and str(child) not in seen:
                seen.add(str(child))
                walk(child, path)

    walk(doc["root"], "otpkit")
    return sorted(out)


def main():
    doc = json.load(open(sys.argv[1]))
    items = public_items(doc)
    if len(sys.argv) == 4 and sys.argv[2] == "--check":
        expected = [l for l in open(sys.argv[3]).read().splitlines() if l.strip()]
        added = sorted(set(items) - set(expected))
        removed = sorted(set(expected) - set(items))
        if added or removed:
            for line in added:
                print(f"+ {line}")
            for line in removed:
                print(f"- {line}")
            print(f"the public API differs from {sys.argv[3]} (+ new, - gone)")
            return 1
        print(f"public API: {len(items)} items, as listed in {sys.argv[3]}")
        return 0
    print("\n".join(items))
    return 0


if __name__ == "__main__":
    sys.exit(main())
