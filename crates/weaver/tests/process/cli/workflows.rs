//! `weaver workflows validate`: the vault's `.weaver/workflows/*.toml` or named files, each
//! workflow or each problem with its place, exit 1 on any problem.

use crate::cli::support::TestVault;

const INBOX: &str = r#"# .weaver/workflows/inbox.toml
name = "inbox"
[trigger]
on = ["created"]          # created | updated | deleted | moved | schedule | manual | webhook
path = "Inbox/**"         # glob on the vault path
[[steps]]
set_frontmatter = { status = "inbox" }
[[steps]]
add_tags = ["inbox"]
"#;

const WEEKLY: &str = r##"[trigger]
on = ["schedule"]
schedule = "0 9 * * MON"
timezone = "Europe/Paris"
[[steps]]
create_note = { path = "Weekly/{{date}}.md", text = "# Week of {{date}}" }
"##;

#[test]
fn the_vaults_workflows_are_listed_and_the_issue_example_is_valid() {
    let vault = TestVault::with_files(&[
        ("Welcome.md", "# Welcome\n"),
        (".weaver/workflows/inbox.toml", INBOX),
        (".weaver/workflows/weekly.toml", WEEKLY),
        (".weaver/workflows/notes.txt", "not a workflow"),
    ]);
    let text = vault.run(&["workflows", "validate"]).success();
    assert!(
        text.stdout.contains(
            "ok    inbox: created on Inbox/**; 2 steps: set_frontmatter, add_tags (.weaver/workflows/inbox.toml)"
        ),
        "{}",
        text.stdout
    );
    assert!(
        text.stdout
            .contains("ok    weekly: schedule at 0 9 * * MON (Europe/Paris); 1 step: create_note"),
        "{}",
        text.stdout
    );
    let json = vault.json(&["workflows", "validate"]);
    assert_eq!(json["workflows"][0]["name"], "inbox");
    assert_eq!(json["workflows"][0]["on"][0], "created");
    assert_eq!(json["workflows"][0]["paths"][0], "Inbox/**");
    assert_eq!(json["workflows"].as_array().unwrap().len(), 2);
    assert_eq!(json["errors"].as_array().unwrap().len(), 0);
}

#[test]
fn problems_name_file_line_and_field_and_exit_1_while_good_files_still_load() {
    let vault = TestVault::with_files(&[
        ("Welcome.md", "# Welcome\n"),
        (".weaver/workflows/inbox.toml", INBOX),
        (
            ".weaver/workflows/broken.toml",
            "[trigger]\non = [\"created\"]\n[[steps]]\nexplode = true\n",
        ),
        (
            ".weaver/workflows/cron.toml",
            "[trigger]\non = [\"schedule\"]\nschedule = \"0 0 30 2 *\"\n[[steps]]\nadd_tags = [\"x\"]\n",
        ),
    ]);
    let run = vault.run(&["workflows", "validate"]).exit(1);
    assert!(
        run.stdout
            .contains("error .weaver/workflows/broken.toml:4:1: unknown field `explode`"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains(
            "error .weaver/workflows/cron.toml:3:12: `trigger.schedule`: `0 0 30 2 *` never fires"
        ),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("ok    inbox:"), "{}", run.stdout);
    let json = vault
        .run(&["--json", "workflows", "validate"])
        .exit(1)
        .json();
    assert_eq!(json["workflows"].as_array().unwrap().len(), 1);
    let errors = json["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 2);
    assert!(errors.iter().all(|e| e["code"] == "workflow_invalid"));
    assert_eq!(errors[1]["field"], "trigger.schedule");
    assert_eq!(errors[1]["line"], 3);
}

#[test]
fn a_linked_workflows_folder_is_refused_not_followed() {
    let vault = TestVault::with_files(&[("Welcome.md", "# Welcome\n")]);
    let outside = vault.scratch().join("outside");
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::write(outside.join("evil.toml"), INBOX).unwrap();
    std::fs::create_dir_all(vault.path(".weaver")).unwrap();
    std::os::unix::fs::symlink(&outside, vault.path(".weaver/workflows")).unwrap();
    let json = vault
        .run(&["--json", "workflows", "validate"])
        .exit(1)
        .json();
    assert_eq!(json["workflows"].as_array().unwrap().len(), 0);
    let message = json["errors"][0]["message"].as_str().unwrap();
    assert!(message.contains("symbolic link"), "{message}");
}

#[test]
fn named_files_and_folders_are_validated_and_a_vault_without_workflows_has_none() {
    let vault = TestVault::with_files(&[("Welcome.md", "# Welcome\n")]);
    let run = vault.run(&["workflows", "validate"]).success();
    assert_eq!(run.stdout.trim(), "no workflows");
    let dir = vault.scratch().join("defs");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("inbox.toml"), INBOX).unwrap();
    std::fs::write(dir.join("weekly.toml"), WEEKLY).unwrap();
    let json = vault.json(&["workflows", "validate", dir.to_str().unwrap()]);
    assert_eq!(json["workflows"].as_array().unwrap().len(), 2);
    let file = dir.join("inbox.toml");
    let json = vault.json(&["workflows", "validate", file.to_str().unwrap()]);
    assert_eq!(json["workflows"][0]["file"], file.to_str().unwrap());
}

#[test]
fn a_manual_run_changes_the_note_and_reports_each_step() {
    let vault = TestVault::with_files(&[
        ("Inbox/Idea.md", "# Idea\n"),
        (
            ".weaver/workflows/triage.toml",
            "[trigger]\non = [\"manual\"]\n[[steps]]\nset_frontmatter = { status = \"triaged\" }\n[[steps]]\nif = { field = \"frontmatter.status\", equals = \"draft\" }\nadd_tags = [\"never\"]\n",
        ),
        (".weaver/workflows/inbox.toml", INBOX),
    ]);
    let run = vault
        .run(&["workflows", "run", "triage", "--note", "Idea"])
        .success();
    assert!(
        run.stdout
            .contains("done    1 set_frontmatter: set `status`"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("skipped 2 add_tags"), "{}", run.stdout);
    assert_eq!(
        std::fs::read_to_string(vault.path("Inbox/Idea.md")).unwrap(),
        "---\nstatus: triaged\n---\n# Idea\n"
    );
    // A step that needs a note, without one: exit 1, the file untouched.
    let json = vault
        .run(&["--json", "workflows", "run", "triage"])
        .exit(1)
        .json();
    assert_eq!(json["ok"], false);
    assert_eq!(json["steps"][0]["status"], "failed");
    // Only workflows with a manual trigger run by hand; unknown names are refused.
    let refused = vault
        .run(&["workflows", "run", "inbox", "--note", "Idea"])
        .exit(2);
    assert!(
        refused.stderr.contains("cannot be run by hand"),
        "{}",
        refused.stderr
    );
    let unknown = vault.run(&["workflows", "run", "nope"]).exit(2);
    assert!(
        unknown.stderr.contains("no valid workflow named `nope`"),
        "{}",
        unknown.stderr
    );
}
