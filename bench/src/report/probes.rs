//! Probes of the artifacts and the machine: deployment sizes (zipped the
//! way Lambda sees them), the latest criterion results and what the run ran
//! on. Nothing here times anything.

use std::path::Path;
use std::process::Command;

use serde_json::{Value, json};

use crate::Opts;

/// Zips the artifacts as they would be deployed (see `bench/zipsize.py`).
pub fn sizes(o: &Opts) -> Result<Value, String> {
    let mut pairs = vec![format!("rust-host={}", o.notifier.display())];
    let arm = o.root.join("target/lambda/notifier/bootstrap");
    let has_arm = is_aarch64_elf(&arm);
    if has_arm {
        pairs.push(format!("rust-arm64={}", arm.display()));
    }
    // `make test` builds the arm64 artifact; one older than the notifier's
    // sources says nothing about the current code's size, so the table
    // flags it.
    let stale = has_arm && modified(&arm) < newest_source(&o.root);
    if stale {
        eprintln!(
            "bench: {} is older than the notifier's sources; `cargo lambda build --release --arm64 --bin notifier` refreshes it",
            arm.display()
        );
    }
    pairs.push(format!("python={}", o.package.display()));
    let with_boto = o.package.with_file_name(format!(
        "{}-with-boto3",
        o.package
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("python-package")
    ));
    if with_boto.is_dir() {
        pairs.push(format!("python-with-boto3={}", with_boto.display()));
    }
    for (name, dir) in [
        ("node", o.node_package.with_file_name("node-package")),
        ("node-with-sdk", o.node_package.clone()),
    ] {
        if dir.is_dir() {
            pairs.push(format!("{name}={}", dir.display()));
        }
    }
    let out = Command::new("python3")
        .arg(o.root.join("bench/zipsize.py"))
        .arg(o.out.join("zips"))
        .args(&pairs)
        .output()
        .map_err(|e| format!("zipsize.py: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "zipsize.py failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    let mut v: Value = serde_json::from_slice(&out.stdout)
        .map_err(|e| format!("zipsize.py printed no JSON: {e}"))?;
    if let Some(m) = v.as_object_mut() {
        m.insert("rust-arm64-stale".to_owned(), Value::Bool(stale));
    }
    Ok(v)
}

fn modified(p: &Path) -> Option<std::time::SystemTime> {
    std::fs::metadata(p).and_then(|m| m.modified()).ok()
}

/// The latest change to anything the notifier binary is built from.
fn newest_source(root: &Path) -> Option<std::time::SystemTime> {
    let mut newest = None;
    let mut dirs = vec![
        root.join("shared/core/src"),
        root.join("shared/http/src"),
        root.join("shared/aws/src"),
        root.join("shared/outseta/src"),
        root.join("functions/notifier/src"),
    ];
    for f in [
        "Cargo.toml",
        "Cargo.lock",
        "shared/core/Cargo.toml",
        "shared/http/Cargo.toml",
        "shared/aws/Cargo.toml",
        "shared/outseta/Cargo.toml",
        "functions/notifier/Cargo.toml",
    ] {
        newest = newest.max(modified(&root.join(f)));
    }
    // Bounded: five source trees, a few dozen files.
    while let Some(dir) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                dirs.push(p);
            } else {
                newest = newest.max(modified(&p));
            }
        }
    }
    newest
}

fn is_aarch64_elf(p: &Path) -> bool {
    let Ok(b) = std::fs::read(p) else {
        return false;
    };
    // ELF magic, then e_machine at offset 18 (little endian): 0xB7 is AArch64.
    b.len() > 20 && &b[..4] == b"\x7fELF" && b[18] == 0xB7 && b[19] == 0
}

/// The latest `cargo bench -p ticket-bridge` results, if it has run.
pub fn criterion(root: &Path) -> Value {
    let base = root.join("target/criterion");
    let mut out = serde_json::Map::new();
    for group in [
        "pipeline",
        "render",
        "parse",
        "render-scaling",
        "parse-scaling",
    ] {
        let Ok(dir) = std::fs::read_dir(base.join(group)) else {
            continue;
        };
        let mut names: Vec<String> = dir
            .filter_map(|e| {
                e.ok()
                    .and_then(|e| e.file_name().to_str().map(str::to_owned))
            })
            .filter(|n| n != "report")
            .collect();
        names.sort();
        for name in names {
            let p = base.join(group).join(&name).join("new/estimates.json");
            let Some(v) = std::fs::read(&p)
                .ok()
                .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
            else {
                continue;
            };
            let est = |k: &str| {
                v.get(k)
                    .and_then(|e| e.get("point_estimate"))
                    .and_then(Value::as_f64)
            };
            out.insert(
                format!("{group}/{name}"),
                json!({"mean_ns": est("mean"), "median_ns": est("median")}),
            );
        }
    }
    Value::Object(out)
}

pub fn machine(o: &Opts) -> Value {
    let read = |p: &str| std::fs::read_to_string(p).unwrap_or_default();
    let cpu = read("/proc/cpuinfo")
        .lines()
        .find_map(|l| {
            l.strip_prefix("model name")
                .map(|v| v.trim_start_matches([' ', '\t', ':']).to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".to_owned());
    let mem_kb: u64 = read("/proc/meminfo")
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0);
    let version = |cmd: &Path, arg: &str| {
        Command::new(cmd)
            .arg(arg)
            .output()
            .map(|o| {
                String::from_utf8_lossy(if o.stdout.is_empty() {
                    &o.stderr
                } else {
                    &o.stdout
                })
                .trim()
                .to_owned()
            })
            .unwrap_or_default()
    };
    json!({
        "cpu": cpu,
        "cores": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
        "memory_gib": (mem_kb as f64 / 1024.0 / 1024.0).round(),
        "kernel": read("/proc/sys/kernel/osrelease").trim(),
        "rustc": version(Path::new("rustc"), "--version"),
        "python": version(&o.python, "--version"),
        "node": version(&o.node, "--version"),
        "date": time::OffsetDateTime::now_utc()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default(),
    })
}

/// The last `bench/make-test-fresh-clone.sh` run, if any: how long `make
/// test` took on a fresh clone, and of which commit.
pub fn make_test(root: &Path) -> Value {
    std::fs::read(root.join("target/bench/make-test.json"))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or(Value::Null)
}

/// The commit the sources are at (with "-dirty" when they differ from it).
pub fn commit(root: &Path) -> String {
    let git = |args: &[&str]| {
        Command::new("git")
            .current_dir(root)
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
    };
    let head = git(&["rev-parse", "--short", "HEAD"]).unwrap_or_else(|| "unknown".to_owned());
    match git(&["status", "--porcelain", "--untracked-files=no"]) {
        Some(s) if !s.is_empty() => format!("{head}-dirty"),
        _ => head,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_arm64_elf_only() {
        let dir = std::env::temp_dir().join(format!("bench-elf-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut arm = b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0\x02\0\xb7\0".to_vec();
        arm.extend([0u8; 16]);
        let mut x86 = arm.clone();
        x86[18] = 0x3e;
        std::fs::write(dir.join("arm"), &arm).unwrap();
        std::fs::write(dir.join("x86"), &x86).unwrap();
        assert!(is_aarch64_elf(&dir.join("arm")));
        assert!(!is_aarch64_elf(&dir.join("x86")));
        assert!(!is_aarch64_elf(&dir.join("missing")));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
