//! Every edit operation on any note: `apply_edits` never panics, and an edit that succeeds
//! changed no byte outside its target (checked per operation from the note's own parse);
//! otherwise it was refused. A sequence of edits is all or nothing: it succeeds exactly when
//! each step does, with the same text.
#![no_main]

use libfuzzer_sys::fuzz_target;
use weaver_core::apply_edits;
use weaver_fuzz::{check_edit, note_path, op_specs, parse, split};

fuzz_target!(|data: &[u8]| {
    let (choices, note) = split(data);
    let src = String::from_utf8_lossy(note).into_owned();
    let specs = op_specs(choices, 4);
    let path = note_path();
    let mut text = src.clone();
    let mut ops = Vec::new();
    let mut all_ok = true;
    for spec in &specs {
        let note = parse(&text);
        let op = spec.resolve(&text, &note);
        let result = apply_edits(&path, &text, std::slice::from_ref(&op));
        ops.push(op);
        match result {
            Ok(out) => {
                check_edit(&text, &note, ops.last().expect("pushed"), &out);
                text = out;
            }
            Err(_) => {
                all_ok = false;
                break;
            }
        }
    }
    // All or nothing: the whole sequence gives the step-by-step text, or is refused.
    match apply_edits(&path, &src, &ops) {
        Ok(out) => assert!(
            all_ok && out == text,
            "sequence differs from its steps: {ops:?}"
        ),
        Err(err) => assert!(
            !all_ok,
            "sequence refused ({err}) although every step succeeded: {ops:?}"
        ),
    }
});
