//! The sizes an occurrence is cut to (fingerprints and coalescing decisions
//! are tabled beside their modules). What the stores do is the conformance
//! suite's (`conformance::incidents`), run on every adapter.

use super::*;

#[test]
fn occurrences_are_cut_to_the_sizes_kept() {
    let o = Occurrence::new(&"é".repeat(400), 5, Some(&"r".repeat(500)));
    assert!(o.execution.len() <= EXECUTION_MAX);
    assert_eq!(
        o.reason.as_ref().map(|r| r.chars().count()),
        Some(REASON_MAX)
    );
    assert_eq!(Occurrence::new("", 5, None).execution, "unknown");
    let json = serde_json::to_string(&o).unwrap();
    assert_eq!(serde_json::from_str::<Occurrence>(&json).unwrap(), o);
}
