//! Workflow runs on real files (`Vault::run_workflow`): the issue's example as written, writes
//! only on the version the trigger saw, templates, conditions, moves with links rewritten, and
//! notes created from templates.

use chrono::TimeZone as _;
use weaver_app::{RunInput, StepStatus};
use weaver_workflows::{ActorKind, EventKind, parse};

use crate::fixture::{open_in_memory, vault, write};

const INBOX: &str = r#"name = "inbox"
[trigger]
on = ["created"]          # created | updated | deleted | moved | schedule | manual | webhook
path = "Inbox/**"         # glob on the vault path
[[steps]]
set_frontmatter = { status = "inbox" }
[[steps]]
add_tags = ["inbox"]
"#;

fn created(note: &str, version: Option<String>) -> RunInput {
    RunInput {
        event: EventKind::Created,
        note: Some(note.to_owned()),
        version,
        actor: ActorKind::External,
    }
}

fn now() -> chrono::DateTime<chrono::Utc> {
    chrono::Utc
        .with_ymd_and_hms(2026, 12, 7, 23, 30, 0)
        .unwrap()
}

#[test]
fn the_issue_example_sets_status_and_tag_on_a_new_inbox_note() {
    let dir = vault("//- Inbox/Idea.md\n# Idea\nA thought.\n//- Plan.md\nSee [[Idea]].\n");
    let vault = open_in_memory(dir.path());
    let workflow = parse("inbox.toml", INBOX).unwrap();
    let version = vault.read_note("Inbox/Idea.md").unwrap().hash;
    let report = vault.run_workflow(&workflow, &created("Inbox/Idea.md", Some(version)), now());
    assert!(report.ok(), "{report:?}");
    let statuses: Vec<StepStatus> = report.steps.iter().map(|s| s.status).collect();
    assert_eq!(statuses, [StepStatus::Done, StepStatus::Done]);
    let text = std::fs::read_to_string(dir.path().join("Inbox/Idea.md")).unwrap();
    assert_eq!(
        text, "---\nstatus: inbox\ntags: [\"inbox\"]\n---\n# Idea\nA thought.\n",
        "{text}"
    );
    let after = vault.read_note("Inbox/Idea.md").unwrap();
    assert_eq!(report.version.as_deref(), Some(after.hash.as_str()));
    // Run again: nothing left to change, the file stays byte for byte.
    let again = vault.run_workflow(&workflow, &created("Inbox/Idea.md", None), now());
    assert!(again.ok(), "{again:?}");
    assert_eq!(
        std::fs::read_to_string(dir.path().join("Inbox/Idea.md")).unwrap(),
        text
    );
    assert!(again.steps[1].detail.contains("already"), "{again:?}");
}

#[test]
fn a_note_edited_since_the_trigger_is_never_overwritten() {
    let dir = vault("//- Inbox/Idea.md\n# Idea\n");
    let vault = open_in_memory(dir.path());
    let workflow = parse("inbox.toml", INBOX).unwrap();
    let seen = vault.read_note("Inbox/Idea.md").unwrap().hash;
    // Obsidian saves the note after the event and before the run.
    write(dir.path(), "Inbox/Idea.md", "# Idea\nTyped in Obsidian.\n");
    let report = vault.run_workflow(&workflow, &created("Inbox/Idea.md", Some(seen)), now());
    assert!(!report.ok());
    assert_eq!(report.steps[0].status, StepStatus::Failed);
    assert!(
        report.steps[0].detail.starts_with("conflict:"),
        "{report:?}"
    );
    assert_eq!(report.steps[1].status, StepStatus::Skipped);
    assert_eq!(
        std::fs::read_to_string(dir.path().join("Inbox/Idea.md")).unwrap(),
        "# Idea\nTyped in Obsidian.\n"
    );
}

#[test]
fn conditions_templates_moves_and_notes_from_templates() {
    let dir = vault(
        "//- Inbox/Done thing.md\n---\nstatus: done\n---\n# Done thing\n## Log\n- made\n//- Index.md\n- [[Inbox/Done thing]]\n//- Templates/Daily.md\n# {{date}}\nFrom {{workflow}}.\n",
    );
    let vault = open_in_memory(dir.path());
    let workflow = parse(
        "archive.toml",
        r#"
[trigger]
on = ["updated", "manual"]
timezone = "Europe/Paris"
[[steps]]
if = { field = "frontmatter.status", equals = "draft" }
add_tags = ["never"]
[[steps]]
if = { field = "frontmatter.status", equals = "done" }
append = { text = "- archived by {{workflow}} on {{date}} ({{title}})", section = "Log" }
[[steps]]
move_to = "Archive/{{frontmatter.status}}"
[[steps]]
create_note = { path = "Daily/{{date}}", template = "Templates/Daily.md" }
[[steps]]
create_note = { path = "Daily/{{date}}", text = "second" }
"#,
    )
    .unwrap();
    // Manual runs need no schedule: the time zone is UTC unless scheduled.
    let input = RunInput {
        event: EventKind::Manual,
        note: Some("Inbox/Done thing.md".to_owned()),
        version: None,
        actor: ActorKind::Human,
    };
    let report = vault.run_workflow(&workflow, &input, now());
    assert!(report.ok(), "{report:#?}");
    let statuses: Vec<StepStatus> = report.steps.iter().map(|s| s.status).collect();
    assert_eq!(
        statuses,
        [
            StepStatus::Skipped,
            StepStatus::Done,
            StepStatus::Done,
            StepStatus::Done,
            StepStatus::Done
        ]
    );
    assert_eq!(report.note.as_deref(), Some("Archive/done/Done thing.md"));
    let moved = std::fs::read_to_string(dir.path().join("Archive/done/Done thing.md")).unwrap();
    assert_eq!(
        moved,
        "---\nstatus: done\n---\n# Done thing\n## Log\n- made\n- archived by archive on 2026-12-07 (Done thing)\n"
    );
    assert!(!dir.path().join("Inbox/Done thing.md").exists());
    // The link to it was rewritten by the move.
    let index = std::fs::read_to_string(dir.path().join("Index.md")).unwrap();
    assert!(index.contains("[[Archive/done/Done thing]]"), "{index}");
    let daily = std::fs::read_to_string(dir.path().join("Daily/2026-12-07.md")).unwrap();
    assert_eq!(daily, "# 2026-12-07\nFrom archive.\n");
    assert!(report.steps[4].detail.contains("left alone"), "{report:#?}");
}

#[test]
fn a_note_step_without_a_note_fails_with_a_clear_error() {
    let dir = vault("//- A.md\n# A\n");
    let vault = open_in_memory(dir.path());
    let workflow = parse(
        "m.toml",
        "[trigger]\non = [\"manual\"]\n[[steps]]\nadd_tags = [\"x\"]\n[[steps]]\nappend = \"y\"\n",
    )
    .unwrap();
    let input = RunInput {
        event: EventKind::Manual,
        note: None,
        version: None,
        actor: ActorKind::Human,
    };
    let report = vault.run_workflow(&workflow, &input, now());
    assert_eq!(report.steps[0].status, StepStatus::Failed);
    assert!(report.steps[0].detail.contains("--note"), "{report:?}");
    assert_eq!(report.steps[1].status, StepStatus::Skipped);
    assert_eq!(
        std::fs::read_to_string(dir.path().join("A.md")).unwrap(),
        "# A\n"
    );
}
