//! Fuzzes the parser: no input may panic it, and whatever parses must round-trip through the
//! printer and lint without panicking.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(diagram) = eerd::parse(&text) {
        let _ = eerd::lint(&diagram);
        let _ = eerd::compact(&diagram);
        let printed = eerd::print(&diagram);
        let again = eerd::parse(&printed).expect("printed diagrams parse");
        assert_eq!(again, diagram, "round trip changed the diagram");
    }
});
