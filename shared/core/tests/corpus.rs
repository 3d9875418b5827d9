//! Replays the committed fuzz corpus (`fuzz/corpus/<target>/*`) through the
//! same harness functions the fuzz targets call, on stable, in `cargo test`.
//!
//! Fuzzing needs a nightly-flagged toolchain and minutes per target; this
//! needs neither, so every input the fuzzer ever found interesting (and
//! every reproducer kept in `fuzz/artifacts-keep/`) stays a regression test
//! that cannot rot when the library changes.

use std::fs;
use std::path::{Path, PathBuf};

#[path = "../../../fuzz/src/lib.rs"]
#[allow(dead_code)]
mod harness;

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz")
}

/// Every file in `dir`, sorted so a failure names the same file each run.
fn files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .map(|e| e.expect("a readable corpus entry").path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

/// One fuzz target's harness function.
type Check = fn(&[u8]);

/// Runs `check` on every input in `inputs`, naming the file if it panics.
fn replay_files(target: &str, inputs: &[PathBuf], check: Check) {
    for path in inputs {
        let data = fs::read(path).expect("a readable corpus file");
        if let Err(panic) = std::panic::catch_unwind(|| check(&data)) {
            let msg = panic
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| panic.downcast_ref::<&str>().copied())
                .unwrap_or("(non-string panic)");
            panic!("{target}: {} failed: {msg}", path.display());
        }
    }
}

/// Replays one target's corpus; returns how many inputs it had.
fn replay(target: &str, check: Check) -> usize {
    let inputs = files(&fuzz_dir().join("corpus").join(target));
    replay_files(target, &inputs, check);
    inputs.len()
}

#[test]
fn intake_corpus_replays_clean() {
    let n = replay("intake", harness::intake);
    assert!(
        n >= 10,
        "only {n} intake inputs: is fuzz/corpus/intake there?"
    );
}

#[test]
fn decode_corpus_replays_clean() {
    let n = replay("decode", harness::decode);
    assert!(
        n >= 10,
        "only {n} decode inputs: is fuzz/corpus/decode there?"
    );
}

#[test]
fn render_corpus_replays_clean() {
    let n = replay("render", harness::render);
    assert!(
        n >= 10,
        "only {n} render inputs: is fuzz/corpus/render there?"
    );
}

/// The harness's own escape check must reject what it is there to catch,
/// or a green replay would prove nothing.
#[test]
fn the_escape_check_catches_raw_markup() {
    assert!(harness::check_html("<p>a &amp; b</p><a href=\"x?a=1&amp;b=2\">l</a>").is_ok());
    for bad in [
        "<p><x-canary></p>",
        "a & b",
        "say \"hi\"",
        "it's",
        "1 > 0",
        "<a href=\"x\" onclick=\"y\">l</a>",
        "<p",
        "<p><strong>a</p>",
        "<td>x",
        "</td>",
    ] {
        assert!(harness::check_html(bad).is_err(), "accepted {bad:?}");
    }
}

/// Reproducers of what the fuzzers found, kept as `artifacts-keep/<target>-*`,
/// replayed like the corpus so a fixed bug stays fixed. `render-link-href-cut*`:
/// a link target longer than its cap used to get the truncation note, markup
/// included, inside the `href` attribute (`html::Html::link`).
#[test]
fn kept_reproducers_replay_clean() {
    let kept = files(&fuzz_dir().join("artifacts-keep"));
    let targets: [(&str, Check); 3] = [
        ("intake", harness::intake),
        ("decode", harness::decode),
        ("render", harness::render),
    ];
    for (target, check) in targets {
        let prefix = format!("{target}-");
        let mine: Vec<PathBuf> = kept
            .iter()
            .filter(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with(&prefix))
            })
            .cloned()
            .collect();
        replay_files(target, &mine, check);
    }
    assert!(
        !kept.is_empty(),
        "no kept reproducers in fuzz/artifacts-keep"
    );
}
