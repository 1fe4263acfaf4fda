//! A vault's workflow definitions: the TOML files of `.weaver/workflows/`, read through the
//! vault's directory handle (a link there is refused like anywhere else) and validated by
//! `weaver-workflows`. Reading them opens no index, so validating is instant on any vault.
//!
//! [`Vault::run_workflow`] carries out a workflow's steps for one event, through the same
//! safe-write path as the API.

use std::path::Path;

use chrono::{DateTime, Utc};
use weaver_core::{EditOp, VaultPath};
use weaver_workflows::{
    ActorKind, Condition, DefinitionError, EventKind, Loaded, Step, StepAction, Workflow,
};

use crate::vaultfs::{FsError, VaultFs};
use crate::{AppError, Precondition, Vault, WriteMeta};

/// Where a vault keeps its workflows.
pub const WORKFLOWS_DIR: &str = ".weaver/workflows";

/// A definition larger than this is refused (a workflow is a few dozen lines).
pub const MAX_DEFINITION_BYTES: u64 = 256 * 1024;

/// Reads and validates the workflows of the vault at `root`: every `*.toml` file directly in
/// [`WORKFLOWS_DIR`], in name order. A file that cannot be read is one more error of
/// [`Loaded::errors`], never a failure of the others; only a vault folder that cannot be opened
/// is an error.
pub fn load_workflows(root: &Path) -> Result<Loaded, AppError> {
    let fs = VaultFs::open(root).map_err(|source| AppError::VaultUnreadable {
        path: root.to_path_buf(),
        source,
    })?;
    let dir = VaultPath::normalize(WORKFLOWS_DIR)?;
    let names = match fs.list_files(&dir) {
        Ok(names) => names,
        // A link or a file in place of the folder: said where it is, like a bad file.
        Err(error) => {
            return Ok(Loaded {
                workflows: Vec::new(),
                errors: vec![DefinitionError {
                    file: WORKFLOWS_DIR.to_owned(),
                    line: 1,
                    column: 1,
                    field: None,
                    message: format!("cannot list the folder: {error}"),
                }],
            });
        }
    };
    let mut files = Vec::new();
    let mut unreadable = Vec::new();
    for name in names.into_iter().filter(|n| n.ends_with(".toml")) {
        let file = format!("{WORKFLOWS_DIR}/{name}");
        let read = VaultPath::normalize(&file)
            .map_err(|e| e.to_string())
            .and_then(|path| {
                fs.read_limited(&path, MAX_DEFINITION_BYTES)
                    .map_err(|e| match e {
                        FsError::TooLarge(_) => {
                            format!("larger than {MAX_DEFINITION_BYTES} bytes")
                        }
                        other => other.to_string(),
                    })
            })
            .and_then(|bytes| String::from_utf8(bytes).map_err(|_| "not UTF-8 text".to_owned()));
        match read {
            Ok(text) => files.push((file, text)),
            Err(message) => unreadable.push(DefinitionError {
                file,
                line: 1,
                column: 1,
                field: None,
                message,
            }),
        }
    }
    let mut loaded = weaver_workflows::load(files);
    loaded.errors.extend(unreadable);
    Ok(loaded)
}

/// What a run is about: the event that started it and the note, if any.
#[derive(Debug, Clone)]
pub struct RunInput {
    /// What happened.
    pub event: EventKind,
    /// The note (for note events and manual runs on a note).
    pub note: Option<String>,
    /// The version of the note the trigger saw: the first write is made only on it (`If-Match`),
    /// so a run never overwrites a newer edit. `None`: the version read when the run starts.
    pub version: Option<String>,
    /// Who caused the event.
    pub actor: ActorKind,
}

/// How a step ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepStatus {
    /// It made its change (or found nothing to change).
    Done,
    /// Its condition did not hold, or an earlier step failed.
    Skipped,
    /// It failed; the steps after it do not run.
    Failed,
}

/// One step of a run.
#[derive(Debug, Clone)]
pub struct StepReport {
    /// The step's action (`set_frontmatter`, ...).
    pub action: &'static str,
    /// How it ended.
    pub status: StepStatus,
    /// What it did, or why not (an error's stable code first on failure: `conflict: ...`).
    pub detail: String,
    /// How long it took.
    pub duration: std::time::Duration,
}

/// A finished run.
#[derive(Debug, Clone)]
pub struct RunReport {
    /// The workflow.
    pub workflow: String,
    /// Each step, in order.
    pub steps: Vec<StepReport>,
    /// Where the note is after the run (it may have moved).
    pub note: Option<String>,
    /// Its version after the run.
    pub version: Option<String>,
}

impl RunReport {
    /// Whether no step failed.
    pub fn ok(&self) -> bool {
        self.steps.iter().all(|s| s.status != StepStatus::Failed)
    }
}

/// The action's name, as definitions spell it.
pub fn action_name(action: &StepAction) -> &'static str {
    match action {
        StepAction::SetFrontmatter(_) => "set_frontmatter",
        StepAction::DeleteFrontmatter(_) => "delete_frontmatter",
        StepAction::AddTags(_) => "add_tags",
        StepAction::RemoveTags(_) => "remove_tags",
        StepAction::MoveTo(_) => "move_to",
        StepAction::Append { .. } => "append",
        StepAction::Prepend { .. } => "prepend",
        StepAction::CreateNote { .. } => "create_note",
        StepAction::Http { .. } => "http",
    }
}

/// The note a run works on, as it is now.
struct Current {
    path: String,
    title: String,
    tags: Vec<String>,
    frontmatter: serde_json::Map<String, serde_json::Value>,
}

impl Vault {
    /// Runs `workflow`'s steps in order for `input`, through the same safe-write path as the
    /// API: each write is made only on the version the previous one left (the first on the
    /// version the trigger saw), so an edit made meanwhile by anyone else stops the run with a
    /// `conflict` instead of being overwritten. A failed step ends the run; the steps after it
    /// are reported skipped. Writes are recorded with the actor `workflow:NAME`.
    pub fn run_workflow(
        &self,
        workflow: &Workflow,
        input: &RunInput,
        now: DateTime<Utc>,
    ) -> RunReport {
        let meta = WriteMeta {
            request_id: None,
            actor: Some(format!("workflow:{}", workflow.name)),
        };
        let mut note = input.note.clone();
        let mut version = input.version.clone();
        let mut steps = Vec::with_capacity(workflow.steps.len());
        let mut failed = false;
        for step in &workflow.steps {
            let action = action_name(&step.action);
            let started = std::time::Instant::now();
            if failed {
                steps.push(StepReport {
                    action,
                    status: StepStatus::Skipped,
                    detail: "an earlier step failed".to_owned(),
                    duration: started.elapsed(),
                });
                continue;
            }
            let result = self.run_step(workflow, step, input, now, &meta, &mut note, &mut version);
            let (status, detail) = match result {
                Ok(Some(done)) => (StepStatus::Done, done),
                Ok(None) => (
                    StepStatus::Skipped,
                    "its condition does not hold".to_owned(),
                ),
                Err(error) => {
                    failed = true;
                    (
                        StepStatus::Failed,
                        format!("{}: {error}", error.code().as_str()),
                    )
                }
            };
            steps.push(StepReport {
                action,
                status,
                detail,
                duration: started.elapsed(),
            });
        }
        RunReport {
            workflow: workflow.name.clone(),
            steps,
            note,
            version,
        }
    }

    /// The note as it is now, and the version to write on (the one given, else the current).
    fn current(&self, note: Option<&str>) -> Result<(Current, String), AppError> {
        let Some(note) = note else {
            return Err(AppError::StepRefused(
                "this step works on a note, and the run has none (give one: `--note PATH`)"
                    .to_owned(),
            ));
        };
        let read = self.read_note(note)?;
        let record = read.snapshot.get(&read.path);
        let current = Current {
            path: read.path.to_string(),
            title: record.map(|r| r.note.title.clone()).unwrap_or_default(),
            tags: record
                .map(|r| r.note.tags.iter().map(|t| t.name.clone()).collect())
                .unwrap_or_default(),
            frontmatter: record
                .and_then(|r| r.note.frontmatter.clone())
                .unwrap_or_default(),
        };
        Ok((current, read.hash))
    }

    #[allow(clippy::too_many_arguments)]
    fn run_step(
        &self,
        workflow: &Workflow,
        step: &Step,
        input: &RunInput,
        now: DateTime<Utc>,
        meta: &WriteMeta,
        note: &mut Option<String>,
        version: &mut Option<String>,
    ) -> Result<Option<String>, AppError> {
        let timezone = workflow
            .trigger
            .schedule
            .as_ref()
            .map_or(chrono_tz::UTC, |s| s.timezone);
        let needs_note = !matches!(
            step.action,
            StepAction::CreateNote { .. } | StepAction::Http { .. }
        );
        let state = match note.as_deref() {
            Some(n) => Some(self.current(Some(n))?),
            None if needs_note || step.condition.is_some() => {
                return Err(self
                    .current(None)
                    .err()
                    .unwrap_or(AppError::StepRefused("this step needs a note".to_owned())));
            }
            None => None,
        };
        let vars = Vars {
            workflow: &workflow.name,
            event: input.event,
            actor: input.actor,
            now: now.with_timezone(&timezone),
            note: state.as_ref().map(|(c, _)| c),
        };
        if let Some(condition) = &step.condition
            && !holds(condition, &vars)
        {
            return Ok(None);
        }
        // The version to write on: the trigger's, then what the previous write left.
        let expected = version
            .clone()
            .or_else(|| state.as_ref().map(|(_, hash)| hash.clone()));
        let writer = self.writer(meta);
        let path = state
            .as_ref()
            .map(|(c, _)| c.path.clone())
            .unwrap_or_default();
        let patch = |ops: Vec<EditOp>, version: &mut Option<String>| -> Result<(), AppError> {
            if ops.is_empty() {
                return Ok(());
            }
            let written = writer.patch_note(&path, &ops, expected.as_deref())?;
            *version = Some(written.outcome.hash);
            Ok(())
        };
        let detail = match &step.action {
            StepAction::SetFrontmatter(pairs) => {
                let mut ops = Vec::new();
                for (key, value) in pairs {
                    let value = match value {
                        serde_json::Value::String(text) => {
                            serde_json::Value::String(render(text, &vars))
                        }
                        other => other.clone(),
                    };
                    ops.push(EditOp::SetFrontmatter {
                        key: key.clone(),
                        value,
                    });
                }
                patch(ops, version)?;
                format!("set {}", keys(pairs.iter().map(|(k, _)| k.as_str())))
            }
            StepAction::DeleteFrontmatter(names) => {
                let present: Vec<&String> = names
                    .iter()
                    .filter(|k| vars.note.is_some_and(|n| n.frontmatter.contains_key(*k)))
                    .collect();
                let ops = present
                    .iter()
                    .map(|k| EditOp::DeleteFrontmatter { key: (*k).clone() })
                    .collect();
                patch(ops, version)?;
                if present.is_empty() {
                    "none of the keys is there".to_owned()
                } else {
                    format!("deleted {}", keys(present.iter().map(|k| k.as_str())))
                }
            }
            StepAction::AddTags(add) | StepAction::RemoveTags(add) => {
                let adding = matches!(step.action, StepAction::AddTags(_));
                let fm = vars.note.map(|n| &n.frontmatter);
                let mut tags: Vec<String> = match fm.and_then(|f| f.get("tags")) {
                    Some(serde_json::Value::Array(items)) => items
                        .iter()
                        .filter_map(|v| v.as_str().map(str::to_owned))
                        .collect(),
                    Some(serde_json::Value::String(s)) => s
                        .split([',', ' '])
                        .filter(|t| !t.is_empty())
                        .map(str::to_owned)
                        .collect(),
                    _ => Vec::new(),
                };
                let before = tags.clone();
                let same = |a: &str, b: &str| {
                    a.trim_start_matches('#')
                        .eq_ignore_ascii_case(b.trim_start_matches('#'))
                };
                for tag in add {
                    let tag = render(tag, &vars);
                    if adding {
                        if !tags.iter().any(|t| same(t, &tag)) {
                            tags.push(tag);
                        }
                    } else {
                        tags.retain(|t| !same(t, &tag));
                    }
                }
                if tags == before {
                    "the tags are already so".to_owned()
                } else {
                    let ops = vec![EditOp::SetFrontmatter {
                        key: "tags".to_owned(),
                        value: serde_json::Value::from(tags.clone()),
                    }];
                    patch(ops, version)?;
                    format!("tags: {}", tags.join(", "))
                }
            }
            StepAction::Append { text, section } | StepAction::Prepend { text, section } => {
                let text = render(text, &vars);
                let appending = matches!(step.action, StepAction::Append { .. });
                let op = match (appending, section) {
                    (true, None) => EditOp::Append { text },
                    (false, None) => EditOp::Prepend { text },
                    (true, Some(heading)) => EditOp::AppendToSection {
                        heading: heading.clone(),
                        text,
                    },
                    (false, Some(heading)) => EditOp::InsertAfterHeading {
                        heading: heading.clone(),
                        text,
                    },
                };
                patch(vec![op], version)?;
                format!(
                    "{} {}",
                    if appending {
                        "appended to"
                    } else {
                        "prepended to"
                    },
                    path
                )
            }
            StepAction::MoveTo(folder) => {
                let folder = render(folder, &vars);
                let name = path.rsplit('/').next().unwrap_or(&path);
                let to = format!("{}/{name}", folder.trim_matches('/'));
                if to == path {
                    "already there".to_owned()
                } else {
                    writer.move_note(&path, &to, true, expected.as_deref())?;
                    *note = Some(to.clone());
                    let (_, hash) = self.current(Some(&to))?;
                    *version = Some(hash);
                    format!("moved to {to}")
                }
            }
            StepAction::CreateNote {
                path: target,
                text,
                template,
            } => {
                let target = render(target, &vars);
                let target = if target.ends_with(".md") {
                    target
                } else {
                    format!("{target}.md")
                };
                let body = match (text, template) {
                    (Some(text), _) => render(text, &vars),
                    (None, Some(template)) => render(&self.read_note(template)?.text(), &vars),
                    (None, None) => String::new(),
                };
                match writer.write_note(&target, body.as_bytes(), &Precondition::Absent) {
                    Ok(_) => format!("created {target}"),
                    Err(AppError::AlreadyExists(_)) => format!("{target} exists: left alone"),
                    Err(error) => return Err(error),
                }
            }
            StepAction::Http { .. } => {
                return Err(AppError::StepRefused(
                    "http steps are not run yet (the workflow runner will); the definition is valid"
                        .to_owned(),
                ));
            }
        };
        Ok(Some(detail))
    }
}

fn keys<'a>(keys: impl Iterator<Item = &'a str>) -> String {
    keys.map(|k| format!("`{k}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// What templates and conditions can see.
struct Vars<'a> {
    workflow: &'a str,
    event: EventKind,
    actor: ActorKind,
    now: DateTime<chrono_tz::Tz>,
    note: Option<&'a Current>,
}

impl Vars<'_> {
    /// A variable's value (`None` when it has none in this run).
    fn get(&self, name: &str) -> Option<serde_json::Value> {
        let text = |s: &str| Some(serde_json::Value::String(s.to_owned()));
        match name {
            "date" => text(&self.now.format("%Y-%m-%d").to_string()),
            "time" => text(&self.now.format("%H:%M").to_string()),
            "datetime" => text(&self.now.format("%Y-%m-%d %H:%M").to_string()),
            "workflow" => text(self.workflow),
            "event" => text(self.event.as_str()),
            "actor" => text(self.actor.as_str()),
            "title" => self.note.and_then(|n| text(&n.title)),
            "path" => self.note.and_then(|n| text(&n.path)),
            "folder" => self
                .note
                .and_then(|n| text(n.path.rsplit_once('/').map_or("", |(f, _)| f))),
            "stem" => self.note.and_then(|n| {
                let name = n.path.rsplit('/').next().unwrap_or(&n.path);
                text(name.strip_suffix(".md").unwrap_or(name))
            }),
            "tags" => self.note.map(|n| serde_json::Value::from(n.tags.clone())),
            other => other
                .strip_prefix("frontmatter.")
                .and_then(|key| self.note.and_then(|n| n.frontmatter.get(key).cloned())),
        }
    }
}

/// Fills a template's `{{variables}}` (validated at load: unknown ones cannot occur; one
/// without a value in this run becomes empty).
fn render(template: &str, vars: &Vars<'_>) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(rest.get(..start).unwrap_or_default());
        let after = rest.get(start + 2..).unwrap_or_default();
        let Some(end) = after.find("}}") else {
            out.push_str(rest.get(start..).unwrap_or_default());
            return out;
        };
        let name = after.get(..end).unwrap_or_default().trim();
        match vars.get(name) {
            Some(serde_json::Value::String(s)) => out.push_str(&s),
            Some(serde_json::Value::Null) | None => {}
            Some(other) => out.push_str(&other.to_string()),
        }
        rest = after.get(end + 2..).unwrap_or_default();
    }
    out.push_str(rest);
    out
}

/// Whether a step's condition holds.
fn holds(condition: &Condition, vars: &Vars<'_>) -> bool {
    let text_of = |v: &serde_json::Value| match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let equal = |a: &serde_json::Value, b: &serde_json::Value| a == b || text_of(a) == text_of(b);
    match condition {
        Condition::Equals(field, value) => vars.get(field).is_some_and(|v| equal(&v, value)),
        Condition::NotEquals(field, value) => !vars.get(field).is_some_and(|v| equal(&v, value)),
        Condition::Exists(field, exists) => {
            vars.get(field).is_some_and(|v| !v.is_null()) == *exists
        }
        Condition::Contains(field, value) => match vars.get(field) {
            Some(serde_json::Value::Array(items)) => items.iter().any(|i| equal(i, value)),
            Some(serde_json::Value::String(s)) => s.contains(&text_of(value)),
            _ => false,
        },
    }
}
