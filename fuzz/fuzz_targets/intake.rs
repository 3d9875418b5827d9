#![no_main]
//! `cargo fuzz run intake`: see fuzz/README.md. The checks live in
//! `src/lib.rs` so that `shared/core/tests/corpus.rs` replays the committed
//! corpus through exactly the same code on stable in `cargo test`.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| ticket_bridge_fuzz::intake(data));
