#!/usr/bin/env python3
"""Zips notifier bootstraps as Lambda expects them, for the npm package.

    python3 scripts/package_notifier.py --profile release arm64=PATH [x86_64=PATH]

Each PATH is a `bootstrap` built by `cargo lambda build --bin notifier` for
that architecture. Writes infra/assets/notifier-<arch>.zip (one file named
`bootstrap` at the root, mode 0755, fixed timestamp, so the same binary gives
the same zip and the same SHA-256), infra/assets/SHA256SUMS (`sha256sum -c`
format) and infra/assets/BUILD.json (profile, architectures, commit), and
removes any other notifier zip: the folder holds exactly what the sums list.
Refuses a bootstrap whose ELF header names the other architecture.
"""

import argparse
import hashlib
import json
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ASSETS = ROOT / "infra" / "assets"
ELF_MACHINES = {62: "x86_64", 183: "arm64"}
ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)


def elf_architecture(path: Path) -> str | None:
    with path.open("rb") as f:
        head = f.read(20)
    if len(head) < 20 or head[:4] != b"\x7fELF":
        return None
    machine = int.from_bytes(head[18:20], "big" if head[5] == 2 else "little")
    return ELF_MACHINES.get(machine)


def write_zip(bootstrap: Path, target: Path) -> None:
    info = zipfile.ZipInfo("bootstrap", date_time=ZIP_EPOCH)
    info.create_system = 3  # Unix, so Lambda reads the mode bits below
    info.external_attr = (0o100755 << 16) & 0xFFFFFFFF
    info.compress_type = zipfile.ZIP_DEFLATED
    with zipfile.ZipFile(target, "w") as zf:
        zf.writestr(info, bootstrap.read_bytes(), compresslevel=9)


def commit() -> str:
    run = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True, text=True, check=False)
    dirty = subprocess.run(
        ["git", "-C", str(ROOT), "status", "--porcelain", "--", "shared", "functions", "Cargo.toml", "Cargo.lock"],
        capture_output=True,
        text=True,
        check=False,
    )
    sha = run.stdout.strip() if run.returncode == 0 else "unknown"
    return f"{sha}+dirty" if dirty.stdout.strip() else sha


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profile", required=True, help="release (make dist) or check (make test's relaxed build)")
    parser.add_argument("builds", nargs="+", metavar="ARCH=BOOTSTRAP")
    args = parser.parse_args()

    builds: dict[str, Path] = {}
    for item in args.builds:
        arch, _, path = item.partition("=")
        if arch not in ELF_MACHINES.values() or not path:
            parser.error(f"expected arm64=PATH or x86_64=PATH, got {item!r}")
        bootstrap = Path(path)
        if not bootstrap.is_file():
            parser.error(f"{bootstrap}: no such file")
        built_for = elf_architecture(bootstrap)
        if built_for != arch:
            parser.error(f"{bootstrap} is built for {built_for or 'no known architecture'}, not {arch}")
        builds[arch] = bootstrap

    ASSETS.mkdir(parents=True, exist_ok=True)
    for stale in ASSETS.glob("notifier-*.zip"):
        stale.unlink()
    lines = []
    for arch in sorted(builds):
        target = ASSETS / f"notifier-{arch}.zip"
        write_zip(builds[arch], target)
        digest = hashlib.sha256(target.read_bytes()).hexdigest()
        lines.append(f"{digest}  {target.name}\n")
        print(f"{target.relative_to(ROOT)}: {target.stat().st_size} bytes, sha256 {digest}")
    (ASSETS / "SHA256SUMS").write_text("".join(lines))
    build = {"profile": args.profile, "architectures": sorted(builds), "commit": commit()}
    (ASSETS / "BUILD.json").write_text(json.dumps(build, indent=2) + "\n")
    print(f"{(ASSETS / 'SHA256SUMS').relative_to(ROOT)}, BUILD.json: {json.dumps(build)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
