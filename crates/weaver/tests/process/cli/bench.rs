//! `weaver bench gen`: the deterministic vault generator, and the binary on what it generates.

use crate::cli::support::{Run, markdown_files, tree, weaver};

/// Runs `weaver bench gen --notes <notes> --seed <seed> --out <out>` and returns the run.
fn generate(notes: usize, seed: u64, out: &std::path::Path) -> Run {
    let mut cmd = weaver();
    cmd.current_dir(out.parent().unwrap())
        .args(["bench", "gen", "--notes", &notes.to_string()])
        .args(["--seed", &seed.to_string()])
        .arg("--out")
        .arg(out);
    Run::of(&mut cmd)
}

/// The number of broken links from the generator's summary line, `... (N broken) ...`.
fn broken_links(summary: &str) -> u64 {
    let (_, after) = summary.split_once('(').unwrap();
    let (count, _) = after.split_once(" broken)").unwrap();
    count.parse().unwrap()
}

#[test]
fn generated_vaults_are_deterministic_and_index_cleanly() {
    let scratch = tempfile::tempdir().unwrap();
    let first = scratch.path().join("first");
    let second = scratch.path().join("second");

    let run = generate(200, 7, &first).success();
    assert!(run.stdout.is_empty(), "{}", run.stdout);
    let summary = run.one_stderr_line().to_owned();
    assert!(summary.starts_with("generated 200 notes, "), "{summary}");
    let broken = broken_links(&summary);
    assert!(broken > 0, "{summary}");

    let notes = markdown_files(&first);
    assert!(notes.len() >= 200, "{} notes", notes.len());
    // Notes are spread over folders, not all at the root.
    assert!(notes.iter().any(|p| p.contains('/')));

    generate(200, 7, &second).success();
    assert!(tree(&first) == tree(&second), "same seed, different vaults");

    // Another seed gives another vault.
    let third = scratch.path().join("third");
    generate(200, 8, &third).success();
    assert!(tree(&first) != tree(&third), "different seeds, same vault");

    // The binary indexes the generated vault and finds exactly the planted broken links.
    let mut cmd = weaver();
    cmd.current_dir(scratch.path())
        .arg("--vault")
        .arg(&first)
        .args(["--no-cache", "--json", "index"]);
    let report = Run::of(&mut cmd).success().json();
    assert_eq!(report["notes"], notes.len());
    assert_eq!(report["sync"]["parsed"], notes.len());

    let mut cmd = weaver();
    cmd.current_dir(scratch.path())
        .arg("--vault")
        .arg(&first)
        .args(["--no-cache", "--json", "check"]);
    let problems = Run::of(&mut cmd).exit(1).json();
    let unresolved = problems["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["code"] == "unresolved_link")
        .count() as u64;
    assert_eq!(unresolved, broken);

    let mut cmd = weaver();
    cmd.current_dir(scratch.path())
        .arg("--vault")
        .arg(&first)
        .args(["--no-cache", "--json", "stats"]);
    let stats = Run::of(&mut cmd).success().json();
    assert_eq!(stats["unresolved_links"], broken);
    assert_eq!(
        stats["links"].as_u64().unwrap(),
        stats["resolved_links"].as_u64().unwrap() + broken
    );
}

#[test]
fn generating_into_a_non_empty_folder_is_refused() {
    let scratch = tempfile::tempdir().unwrap();
    let out = scratch.path().join("busy");
    std::fs::create_dir(&out).unwrap();
    std::fs::write(out.join("keep.md"), "# Keep me\n").unwrap();
    let run = generate(10, 1, &out).exit(2);
    assert!(
        run.one_stderr_line().contains("not empty"),
        "{}",
        run.stderr
    );
    assert_eq!(markdown_files(&out), ["keep.md"]);
}
