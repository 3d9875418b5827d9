#!/usr/bin/env python3
"""Deployment sizes, measured the way Lambda sees them: as .zip archives.

Usage: zipsize.py OUTDIR NAME=PATH...   A file is zipped as `bootstrap` (what
`cargo lambda build --output-format zip` produces); a directory is zipped
with everything in it except bytecode caches and our install stamps.
Prints {"NAME": {"zip": bytes, "unzipped": bytes}} as JSON.
"""

import json
import os
import sys
import zipfile


def zip_one(out, name, path):
    dest = os.path.join(out, f"{name}.zip")
    unzipped = 0
    with zipfile.ZipFile(dest, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        if os.path.isfile(path):
            info = zipfile.ZipInfo("bootstrap")
            info.external_attr = 0o755 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            with open(path, "rb") as f:
                data = f.read()
            z.writestr(info, data, compresslevel=9)
            unzipped = len(data)
        else:
            for base, dirs, files in os.walk(path):
                dirs[:] = sorted(d for d in dirs if d != "__pycache__")
                for fn in sorted(files):
                    if fn.endswith(".pyc") or fn == ".stamp":
                        continue
                    full = os.path.join(base, fn)
                    z.write(full, os.path.relpath(full, path))
                    unzipped += os.path.getsize(full)
    return {"zip": os.path.getsize(dest), "unzipped": unzipped}


def main():
    out, pairs = sys.argv[1], sys.argv[2:]
    os.makedirs(out, exist_ok=True)
    result = {}
    for pair in pairs:
        name, _, path = pair.partition("=")
        result[name] = zip_one(out, name, path)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
