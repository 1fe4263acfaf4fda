//! Choosing the vault (`--vault`, `WEAVER_VAULT`, the current folder) and the errors for a bad
//! one; the shape of errors on stderr.

use serde_json::Value;

use crate::cli::support::{Run, TestVault, weaver};

#[test]
fn missing_folder_is_vault_not_found() {
    let scratch = tempfile::tempdir().unwrap();
    let missing = scratch.path().join("no-such-vault");
    let mut cmd = weaver();
    cmd.current_dir(scratch.path())
        .arg("--vault")
        .arg(&missing)
        .args(["--no-cache", "stats"]);
    let run = Run::of(&mut cmd).exit(2);
    assert!(run.stdout.is_empty(), "{}", run.stdout);
    let line = run.one_stderr_line();
    assert!(line.starts_with("error: [vault_not_found] "), "{line}");
    assert!(line.contains("no-such-vault"), "{line}");
    assert!(!missing.exists(), "the missing vault was created");

    let mut cmd = weaver();
    cmd.current_dir(scratch.path())
        .arg("--vault")
        .arg(&missing)
        .args(["--no-cache", "--json", "stats"]);
    let run = Run::of(&mut cmd).exit(2);
    assert!(run.stdout.is_empty());
    let body: Value = serde_json::from_str(run.one_stderr_line()).unwrap();
    assert_eq!(body["code"], "vault_not_found");
    assert!(body["message"].as_str().unwrap().contains("no-such-vault"));
    assert_eq!(body.as_object().unwrap().len(), 2, "{body}");
}

#[test]
fn missing_folder_fails_every_command_the_same_way() {
    let scratch = tempfile::tempdir().unwrap();
    let missing = scratch.path().join("gone");
    for args in [
        &["index"][..],
        &["search", "x"],
        &["note", "x"],
        &["graph", "orphans"],
        &["tags"],
        &["check"],
    ] {
        let mut cmd = weaver();
        cmd.current_dir(scratch.path())
            .arg("--vault")
            .arg(&missing)
            .args(args);
        let run = Run::of(&mut cmd).exit(2);
        assert!(
            run.one_stderr_line()
                .starts_with("error: [vault_not_found] "),
            "{args:?}: {}",
            run.stderr
        );
    }
    assert!(!missing.exists());
}

#[test]
fn a_file_is_not_a_vault() {
    let vault = TestVault::demo();
    let mut cmd = weaver();
    cmd.current_dir(vault.scratch())
        .arg("--vault")
        .arg(vault.path("Welcome.md"))
        .args(["--no-cache", "stats"]);
    let run = Run::of(&mut cmd).exit(2);
    let line = run.one_stderr_line();
    assert!(
        line.starts_with("error: [vault_not_a_directory] "),
        "{line}"
    );
    assert!(line.contains("Welcome.md"), "{line}");

    let mut cmd = weaver();
    cmd.current_dir(vault.scratch())
        .arg("--vault")
        .arg(vault.path("Welcome.md"))
        .args(["--json", "stats"]);
    let run = Run::of(&mut cmd).exit(2);
    let body: Value = serde_json::from_str(run.one_stderr_line()).unwrap();
    assert_eq!(body["code"], "vault_not_a_directory");
}

#[test]
fn weaver_vault_environment_variable_names_the_vault() {
    let vault = TestVault::demo();
    let elsewhere = tempfile::tempdir().unwrap();
    let mut cmd = weaver();
    cmd.current_dir(elsewhere.path())
        .env("WEAVER_VAULT", vault.root())
        .args(["--no-cache", "--json", "stats"]);
    let stats = Run::of(&mut cmd).success().json();
    assert_eq!(stats["notes"], 9);

    // The flag wins over the variable.
    let mut cmd = weaver();
    cmd.current_dir(elsewhere.path())
        .env("WEAVER_VAULT", elsewhere.path().join("missing"))
        .arg("--vault")
        .arg(vault.root())
        .args(["--no-cache", "--json", "stats"]);
    assert_eq!(Run::of(&mut cmd).success().json()["notes"], 9);
}

#[test]
fn the_current_folder_is_the_default_vault() {
    let vault = TestVault::demo();
    let mut cmd = weaver();
    cmd.current_dir(vault.root())
        .args(["--no-cache", "--json", "stats"]);
    let stats = Run::of(&mut cmd).success().json();
    assert_eq!(stats["notes"], 9);

    // From a subfolder, only that folder is the vault.
    let mut cmd = weaver();
    cmd.current_dir(vault.path("Concepts"))
        .args(["--no-cache", "--json", "stats"]);
    assert_eq!(Run::of(&mut cmd).success().json()["notes"], 3);

    // With the cache, it lands in the current folder's `.weaver/`.
    let mut cmd = weaver();
    cmd.current_dir(vault.root()).args(["--json", "index"]);
    let report = Run::of(&mut cmd).success().json();
    assert_eq!(report["notes"], 9);
    assert!(vault.path(".weaver/cache.sqlite").is_file());
}

#[test]
fn a_relative_vault_path_is_resolved_from_the_current_folder() {
    let vault = TestVault::demo();
    let mut cmd = weaver();
    cmd.current_dir(vault.scratch())
        .args(["--vault", "vault", "--no-cache", "--json", "stats"]);
    assert_eq!(Run::of(&mut cmd).success().json()["notes"], 9);
}

#[test]
fn usage_errors_exit_two() {
    let vault = TestVault::demo();
    let run = vault.run(&["no-such-command"]).exit(2);
    assert!(run.stdout.is_empty());
    assert!(run.stderr.contains("no-such-command"), "{}", run.stderr);
    vault.run(&["search", "x", "--limit", "many"]).exit(2);
    vault.run(&["graph", "neighbors"]).exit(2);
}

/// A cache that cannot be made where it is asked for is kept in memory, with a warning naming
/// the place; the file in the way is left alone.
#[test]
fn a_cache_dir_that_is_a_file_is_kept_in_memory() {
    let vault = TestVault::demo();
    let file = vault.scratch().join("not-a-folder");
    std::fs::write(&file, "x").unwrap();
    let mut cmd = vault.cmd();
    cmd.arg("--cache-dir").arg(&file).args(["--json", "stats"]);
    let run = Run::of(&mut cmd).success();
    assert_eq!(run.json()["notes"], 9);
    let line = run.one_stderr_line();
    assert!(
        line.contains("WARN") && line.contains("indexing into memory"),
        "{line}"
    );
    assert!(line.contains("not-a-folder"), "{line}");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "x");
}

#[test]
fn version_and_help() {
    let mut cmd = weaver();
    cmd.arg("--version");
    let run = Run::of(&mut cmd).success();
    assert_eq!(
        run.stdout,
        format!("weaver {}\n", env!("CARGO_PKG_VERSION"))
    );
    let mut cmd = weaver();
    cmd.arg("--help");
    let run = Run::of(&mut cmd).success();
    for command in [
        "index", "search", "note", "graph", "tags", "stats", "check", "bench",
    ] {
        assert!(run.stdout.contains(command), "{command}: {}", run.stdout);
    }
}

/// The vault options are global (before or after the command), but the commands that open no
/// vault leave them out of their help.
#[test]
fn vault_options_are_offered_only_where_a_vault_is_opened() {
    let help = |args: &[&str]| {
        let mut cmd = weaver();
        cmd.args(args).arg("--help");
        Run::of(&mut cmd).exit(0).stdout
    };
    // An option is offered when a line of the help starts with it (`--vaults` is not `--vault`).
    let offers = |text: &str, option: &str| {
        text.lines().any(|line| {
            line.trim_start()
                .strip_prefix(option)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with([' ', '<', ',']))
        })
    };
    for args in [&["search"][..], &["serve"], &["mcp"], &["graph", "orphans"]] {
        let text = help(args);
        for option in ["--vault", "--cache-dir", "--ignore"] {
            assert!(
                offers(&text, option),
                "{args:?} --help lacks {option}:\n{text}"
            );
        }
    }
    for args in [
        &["gateway"][..],
        &["gateway", "keys", "create"],
        &["keys", "create"],
    ] {
        let text = help(args);
        for option in [
            "--vault",
            "--cache-dir",
            "--no-cache",
            "--ignore",
            "--max-file-bytes",
        ] {
            assert!(
                !offers(&text, option),
                "{args:?} --help offers {option}:\n{text}"
            );
        }
        assert!(
            offers(&text, "--json"),
            "{args:?} --help lacks --json:\n{text}"
        );
    }
    // Both places still parse.
    let vault = TestVault::demo();
    let mut cmd = weaver();
    cmd.arg("--vault")
        .arg(vault.root())
        .args(["--no-cache", "stats"]);
    Run::of(&mut cmd).exit(0);
    let mut cmd = weaver();
    cmd.args(["stats", "--no-cache", "--vault"])
        .arg(vault.root());
    Run::of(&mut cmd).exit(0);
}
