//! The definition format, its validation and trigger matching.

use std::collections::BTreeMap;
use std::ops::Range;
use std::str::FromStr as _;

use chrono::{DateTime, Utc};
use globset::{Glob, GlobSet, GlobSetBuilder};
use serde::Deserialize;
use toml::Spanned;

/// A schedule must fire at least once within this many years of being loaded, else it is
/// refused as one that never fires (`0 0 30 2 *`, the 30th of February).
pub const SCHEDULE_HORIZON_YEARS: i64 = 8;

/// Variables a template may name as `{{name}}` (and `{{frontmatter.KEY}}`): the run's date and
/// time in the workflow's time zone, the note's title, path, folder and file stem, the event,
/// who caused it, and the workflow's name.
pub const TEMPLATE_VARIABLES: &[&str] = &[
    "date", "time", "datetime", "title", "path", "folder", "stem", "event", "actor", "workflow",
];

/// Fields a step's condition may test.
const CONDITION_FIELDS: &[&str] = &["path", "title", "tags", "event", "actor"];

/// What happened to trigger a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventKind {
    /// A note appeared.
    Created,
    /// A note's content changed.
    Updated,
    /// A note went away.
    Deleted,
    /// A note was renamed or moved.
    Moved,
    /// The trigger's cron schedule fired.
    Schedule,
    /// Someone asked (REST, MCP, CLI).
    Manual,
    /// An incoming webhook with the right secret.
    Webhook,
}

impl EventKind {
    /// The name used in definitions and on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Created => "created",
            Self::Updated => "updated",
            Self::Deleted => "deleted",
            Self::Moved => "moved",
            Self::Schedule => "schedule",
            Self::Manual => "manual",
            Self::Webhook => "webhook",
        }
    }

    const ALL: [Self; 7] = [
        Self::Created,
        Self::Updated,
        Self::Deleted,
        Self::Moved,
        Self::Schedule,
        Self::Manual,
        Self::Webhook,
    ];

    fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == name)
    }

    /// Whether the event is about one note (so note filters apply).
    pub fn is_note_event(self) -> bool {
        matches!(
            self,
            Self::Created | Self::Updated | Self::Deleted | Self::Moved
        )
    }
}

/// Who made a change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ActorKind {
    /// A person, through the API or the web UI.
    Human,
    /// An AI agent (an MCP client or an agent's API key).
    Agent,
    /// Another program editing the files (Obsidian, an editor, sync).
    External,
    /// A workflow's step.
    Workflow,
}

impl ActorKind {
    /// The name used in definitions and on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Human => "human",
            Self::Agent => "agent",
            Self::External => "external",
            Self::Workflow => "workflow",
        }
    }

    fn parse(name: &str) -> Option<Self> {
        [Self::Human, Self::Agent, Self::External, Self::Workflow]
            .into_iter()
            .find(|k| k.as_str() == name)
    }
}

/// One problem in a definition, where it is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}:{column}: {}{message}", field.as_deref().map(|f| format!("`{f}`: ")).unwrap_or_default())]
pub struct DefinitionError {
    /// The file (as the caller named it).
    pub file: String,
    /// Line, from 1 (1 when the whole file is at fault).
    pub line: usize,
    /// Column in characters, from 1.
    pub column: usize,
    /// The field, dotted (`steps[2].add_tags`), when one is at fault.
    pub field: Option<String>,
    /// What is wrong.
    pub message: String,
}

/// When a scheduled workflow runs.
#[derive(Debug, Clone)]
pub struct Schedule {
    /// The cron expression as written (five fields, or six with seconds).
    pub expression: String,
    /// The time zone it is read in (`UTC` unless given).
    pub timezone: chrono_tz::Tz,
    cron: croner::Cron,
}

impl Schedule {
    /// The first time strictly after `after` at which it fires; `None` when it never does
    /// again.
    pub fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let local = after.with_timezone(&self.timezone);
        self.cron
            .find_next_occurrence(&local, false)
            .ok()
            .map(|t| t.with_timezone(&Utc))
    }
}

/// What starts a workflow, and which note events it cares about.
#[derive(Debug, Clone)]
pub struct Trigger {
    /// The events (at least one).
    pub on: Vec<EventKind>,
    /// Path globs as written (any may match); empty for every path.
    pub paths: Vec<String>,
    globs: Option<GlobSet>,
    /// The note must have one of these tags (without `#`, compared case-insensitively);
    /// empty for any.
    pub tags: Vec<String>,
    /// Frontmatter keys the note must have with exactly these values.
    pub frontmatter: Vec<(String, serde_json::Value)>,
    /// Who may cause the event; empty for anyone.
    pub actors: Vec<ActorKind>,
    /// For `schedule`.
    pub schedule: Option<Schedule>,
    /// For `webhook`: the file holding the shared secret.
    pub secret_file: Option<String>,
}

/// A comparison a step's `if` makes before it runs (the step is skipped when it fails).
#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    /// The field equals the value.
    Equals(String, serde_json::Value),
    /// The field differs from the value (or is absent).
    NotEquals(String, serde_json::Value),
    /// The field is present (`true`) or absent (`false`).
    Exists(String, bool),
    /// The field (a list, or text) contains the value.
    Contains(String, serde_json::Value),
}

/// What a step does. Every write goes through the vault's safe-write path with the version
/// the trigger saw.
#[derive(Debug, Clone, PartialEq)]
pub enum StepAction {
    /// Sets frontmatter keys (string values are templates).
    SetFrontmatter(Vec<(String, serde_json::Value)>),
    /// Deletes frontmatter keys.
    DeleteFrontmatter(Vec<String>),
    /// Adds tags (to the frontmatter's `tags`).
    AddTags(Vec<String>),
    /// Removes tags.
    RemoveTags(Vec<String>),
    /// Moves the note into a folder (a template), links rewritten.
    MoveTo(String),
    /// Appends text (a template) to the note, or to a section's end.
    Append {
        /// The text.
        text: String,
        /// The heading whose section gets it, if any.
        section: Option<String>,
    },
    /// Prepends text (a template) to the note's body (after its frontmatter), or to a
    /// section's start.
    Prepend {
        /// The text.
        text: String,
        /// The heading whose section gets it, if any.
        section: Option<String>,
    },
    /// Creates a note at `path` (a template) from a template note or text; an existing note is
    /// left alone.
    CreateNote {
        /// Where (a template).
        path: String,
        /// The content (a template), when no template note is named.
        text: Option<String>,
        /// A note of the vault whose content is the template.
        template: Option<String>,
    },
    /// An outgoing HTTP call.
    Http {
        /// The URL (a template).
        url: String,
        /// `GET`, `POST`, `PUT`, `PATCH` or `DELETE`.
        method: String,
        /// Header names and the files their secret values are read from at run time.
        headers_from_files: Vec<(String, String)>,
        /// The body (a template).
        body: Option<String>,
        /// How long to wait for the answer.
        timeout_ms: u64,
    },
}

/// One step of a workflow.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    /// Its name, for run histories.
    pub name: Option<String>,
    /// It runs only when this holds.
    pub condition: Option<Condition>,
    /// How long it may take.
    pub timeout_ms: Option<u64>,
    /// What it does.
    pub action: StepAction,
}

/// A validated workflow.
#[derive(Debug, Clone)]
pub struct Workflow {
    /// Unique among the loaded workflows (`[a-z0-9_-]`, from the file name when not given).
    pub name: String,
    /// The file it came from.
    pub file: String,
    /// What it is for.
    pub description: Option<String>,
    /// Disabled workflows are listed but never run.
    pub enabled: bool,
    /// How many of its runs may run at once (1 unless given).
    pub concurrency: u32,
    /// What starts it.
    pub trigger: Trigger,
    /// What it does, in order.
    pub steps: Vec<Step>,
}

/// A note event, as a trigger sees it.
#[derive(Debug, Clone, Copy)]
pub struct NoteEvent<'a> {
    /// What happened.
    pub kind: EventKind,
    /// The note's path (its new path for a move).
    pub path: &'a str,
    /// Its tags (with or without `#`).
    pub tags: &'a [String],
    /// Its frontmatter.
    pub frontmatter: &'a serde_json::Map<String, serde_json::Value>,
    /// Who caused it.
    pub actor: ActorKind,
    /// The workflow whose step made the change, if one did.
    pub workflow: Option<&'a str>,
}

impl Workflow {
    /// Whether `event` starts this workflow. A workflow's own writes never start it again
    /// (loop protection; a chain through other workflows is capped by the runner).
    pub fn matches(&self, event: &NoteEvent<'_>) -> bool {
        let trigger = &self.trigger;
        if !self.enabled
            || !trigger.on.contains(&event.kind)
            || event.workflow == Some(self.name.as_str())
        {
            return false;
        }
        if let Some(globs) = &trigger.globs
            && !globs.is_match(event.path)
        {
            return false;
        }
        if !trigger.tags.is_empty() {
            let has = |wanted: &String| {
                event
                    .tags
                    .iter()
                    .any(|t| t.trim_start_matches('#').eq_ignore_ascii_case(wanted))
            };
            if !trigger.tags.iter().any(has) {
                return false;
            }
        }
        if !trigger
            .frontmatter
            .iter()
            .all(|(key, value)| event.frontmatter.get(key) == Some(value))
        {
            return false;
        }
        trigger.actors.is_empty() || trigger.actors.contains(&event.actor)
    }
}

/// Workflows loaded from several files, and the problems of those that could not be.
#[derive(Debug, Default)]
pub struct Loaded {
    /// The valid workflows, in file order.
    pub workflows: Vec<Workflow>,
    /// Every problem found; a file with any has no workflow loaded.
    pub errors: Vec<DefinitionError>,
}

/// Loads `(file name, text)` pairs: each file is parsed on its own (one bad file leaves the
/// others loaded), and a name used twice is refused in the later file.
pub fn load<I, F, T>(files: I) -> Loaded
where
    I: IntoIterator<Item = (F, T)>,
    F: AsRef<str>,
    T: AsRef<str>,
{
    let mut loaded = Loaded::default();
    for (file, text) in files {
        match parse(file.as_ref(), text.as_ref()) {
            Ok(workflow) => {
                if let Some(first) = loaded.workflows.iter().find(|w| w.name == workflow.name) {
                    loaded.errors.push(DefinitionError {
                        file: workflow.file.clone(),
                        line: 1,
                        column: 1,
                        field: Some("name".to_owned()),
                        message: format!(
                            "the name `{}` is already used by {}",
                            workflow.name, first.file
                        ),
                    });
                } else {
                    loaded.workflows.push(workflow);
                }
            }
            Err(errors) => loaded.errors.extend(errors),
        }
    }
    loaded
}

// --- The file format, as read (spans kept for errors). ---

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWorkflow {
    name: Option<Spanned<String>>,
    description: Option<String>,
    enabled: Option<bool>,
    concurrency: Option<Spanned<u32>>,
    trigger: Spanned<RawTrigger>,
    #[serde(default)]
    steps: Vec<Spanned<RawStep>>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    fn into_vec(self) -> Vec<String> {
        match self {
            Self::One(one) => vec![one],
            Self::Many(many) => many,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTrigger {
    on: Spanned<Vec<Spanned<String>>>,
    path: Option<Spanned<OneOrMany>>,
    tags: Option<Vec<String>>,
    frontmatter: Option<toml::Table>,
    actor: Option<Vec<Spanned<String>>>,
    schedule: Option<Spanned<String>>,
    timezone: Option<Spanned<String>>,
    secret_file: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStep {
    name: Option<String>,
    #[serde(rename = "if")]
    condition: Option<Spanned<toml::Table>>,
    timeout_ms: Option<u64>,
    set_frontmatter: Option<Spanned<toml::Table>>,
    delete_frontmatter: Option<Spanned<OneOrMany>>,
    add_tags: Option<Spanned<OneOrMany>>,
    remove_tags: Option<Spanned<OneOrMany>>,
    move_to: Option<Spanned<String>>,
    append: Option<Spanned<RawText>>,
    prepend: Option<Spanned<RawText>>,
    create_note: Option<Spanned<RawCreate>>,
    http: Option<Spanned<RawHttp>>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RawText {
    Text(String),
    Full {
        text: String,
        section: Option<String>,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCreate {
    path: String,
    text: Option<String>,
    template: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHttp {
    url: String,
    method: Option<String>,
    #[serde(default)]
    headers_from_files: BTreeMap<String, String>,
    body: Option<String>,
    timeout_ms: Option<u64>,
}

/// The longest an HTTP step may wait (and its default).
const HTTP_TIMEOUT_MAX_MS: u64 = 60_000;
const HTTP_TIMEOUT_DEFAULT_MS: u64 = 10_000;

/// Collects a file's problems with their places.
struct Problems<'a> {
    file: &'a str,
    text: &'a str,
    errors: Vec<DefinitionError>,
}

impl Problems<'_> {
    fn at(&mut self, span: Range<usize>, field: impl Into<String>, message: impl Into<String>) {
        let (line, column) = line_column(self.text, span.start);
        self.errors.push(DefinitionError {
            file: self.file.to_owned(),
            line,
            column,
            field: Some(field.into()),
            message: message.into(),
        });
    }
}

/// 1-based line and column (in characters) of byte `offset` of `text`.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let column = before
        .rsplit_once('\n')
        .map_or(before, |(_, last)| last)
        .chars()
        .count()
        + 1;
    (line, column)
}

/// Parses and validates one workflow file: the workflow, or every problem found in it.
pub fn parse(file: &str, text: &str) -> Result<Workflow, Vec<DefinitionError>> {
    let raw: RawWorkflow = toml::from_str(text).map_err(|error| {
        let (line, column) = error
            .span()
            .map_or((1, 1), |span| line_column(text, span.start));
        vec![DefinitionError {
            file: file.to_owned(),
            line,
            column,
            field: None,
            message: error.message().trim().to_owned(),
        }]
    })?;
    let mut problems = Problems {
        file,
        text,
        errors: Vec::new(),
    };
    let name = match raw.name {
        Some(name) => {
            let span = name.span();
            let name = name.into_inner();
            if !valid_name(&name) {
                problems.at(
                    span,
                    "name",
                    format!("`{name}`: a name is 1-64 of a-z, 0-9, `-` and `_`"),
                );
            }
            name
        }
        None => {
            let stem = file
                .rsplit(['/', '\\'])
                .next()
                .unwrap_or(file)
                .trim_end_matches(".toml")
                .to_ascii_lowercase();
            if !valid_name(&stem) {
                problems.at(
                    0..0,
                    "name",
                    format!("no `name`, and the file name `{stem}` is not one (1-64 of a-z, 0-9, `-` and `_`)"),
                );
            }
            stem
        }
    };
    let concurrency = match raw.concurrency {
        Some(c) if *c.get_ref() == 0 => {
            problems.at(c.span(), "concurrency", "must be at least 1");
            1
        }
        Some(c) => c.into_inner(),
        None => 1,
    };
    let trigger = trigger(&mut problems, raw.trigger);
    let steps: Vec<Step> = raw
        .steps
        .into_iter()
        .enumerate()
        .filter_map(|(i, step)| self::step(&mut problems, i, step))
        .collect();
    if steps.is_empty() && problems.errors.is_empty() {
        problems.at(0..0, "steps", "a workflow needs at least one `[[steps]]`");
    }
    if !problems.errors.is_empty() {
        return Err(problems.errors);
    }
    Ok(Workflow {
        name,
        file: file.to_owned(),
        description: raw.description,
        enabled: raw.enabled.unwrap_or(true),
        concurrency,
        trigger,
        steps,
    })
}

fn valid_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

fn trigger(problems: &mut Problems<'_>, raw: Spanned<RawTrigger>) -> Trigger {
    let trigger_span = raw.span();
    let raw = raw.into_inner();
    let on_span = raw.on.span();
    let mut on = Vec::new();
    for kind in raw.on.into_inner() {
        let span = kind.span();
        match EventKind::parse(kind.get_ref()) {
            Some(kind) if !on.contains(&kind) => on.push(kind),
            Some(_) => {}
            None => problems.at(
                span,
                "trigger.on",
                format!(
                    "unknown event `{}`; one of created, updated, deleted, moved, schedule, manual, webhook",
                    kind.get_ref()
                ),
            ),
        }
    }
    if on.is_empty() && problems.errors.is_empty() {
        problems.at(on_span, "trigger.on", "at least one event is needed");
    }
    let (paths, globs) = match raw.path {
        Some(path) => {
            let span = path.span();
            let paths = path.into_inner().into_vec();
            let mut builder = GlobSetBuilder::new();
            for pattern in &paths {
                match Glob::new(pattern) {
                    Ok(glob) => {
                        builder.add(glob);
                    }
                    Err(error) => problems.at(
                        span.clone(),
                        "trigger.path",
                        format!("`{pattern}`: {}", error.kind()),
                    ),
                }
            }
            let globs = builder.build().ok();
            (paths, globs)
        }
        None => (Vec::new(), None),
    };
    let note_filters = globs.is_some()
        || raw.tags.as_ref().is_some_and(|t| !t.is_empty())
        || raw.frontmatter.as_ref().is_some_and(|f| !f.is_empty())
        || raw.actor.as_ref().is_some_and(|a| !a.is_empty());
    if note_filters && !on.is_empty() && !on.iter().any(|k| k.is_note_event()) {
        problems.at(
            trigger_span.clone(),
            "trigger",
            "`path`, `tags`, `frontmatter` and `actor` filter note events (created, updated, deleted, moved), and `on` has none",
        );
    }
    let mut actors = Vec::new();
    for actor in raw.actor.unwrap_or_default() {
        match ActorKind::parse(actor.get_ref()) {
            Some(kind) => actors.push(kind),
            None => problems.at(
                actor.span(),
                "trigger.actor",
                format!(
                    "unknown actor `{}`; one of human, agent, external, workflow",
                    actor.get_ref()
                ),
            ),
        }
    }
    let timezone = match &raw.timezone {
        Some(tz) => match chrono_tz::Tz::from_str(tz.get_ref()) {
            Ok(tz) => tz,
            Err(_) => {
                problems.at(
                    tz.span(),
                    "trigger.timezone",
                    format!(
                        "unknown time zone `{}` (an IANA name such as `Europe/Paris`)",
                        tz.get_ref()
                    ),
                );
                chrono_tz::UTC
            }
        },
        None => chrono_tz::UTC,
    };
    let schedule = match (&raw.schedule, on.contains(&EventKind::Schedule)) {
        (Some(expression), true) => schedule(problems, expression, timezone),
        (None, true) => {
            problems.at(
                trigger_span.clone(),
                "trigger.schedule",
                "`on` has `schedule`: a cron expression is needed (`schedule = \"0 9 * * MON\"`)",
            );
            None
        }
        (Some(expression), false) => {
            problems.at(
                expression.span(),
                "trigger.schedule",
                "a schedule without `schedule` in `on` would never run",
            );
            None
        }
        (None, false) => None,
    };
    let secret_file = raw.secret_file.as_ref().map(|s| s.get_ref().clone());
    if on.contains(&EventKind::Webhook) && secret_file.as_deref().is_none_or(str::is_empty) {
        problems.at(
            trigger_span,
            "trigger.secret_file",
            "`on` has `webhook`: a `secret_file` holding the shared secret is needed",
        );
    }
    let frontmatter = raw
        .frontmatter
        .unwrap_or_default()
        .into_iter()
        .map(|(k, v)| (k, json(v)))
        .collect();
    Trigger {
        on,
        paths,
        globs,
        tags: raw
            .tags
            .unwrap_or_default()
            .into_iter()
            .map(|t| t.trim_start_matches('#').to_owned())
            .collect(),
        frontmatter,
        actors,
        schedule,
        secret_file,
    }
}

fn schedule(
    problems: &mut Problems<'_>,
    expression: &Spanned<String>,
    timezone: chrono_tz::Tz,
) -> Option<Schedule> {
    let text = expression.get_ref().trim();
    // Five fields, or six with seconds first (croner's default parser).
    let cron = match croner::Cron::from_str(text) {
        Ok(cron) => cron,
        Err(error) => {
            problems.at(
                expression.span(),
                "trigger.schedule",
                format!("`{text}`: {error}"),
            );
            return None;
        }
    };
    let schedule = Schedule {
        expression: text.to_owned(),
        timezone,
        cron,
    };
    let now = Utc::now();
    let fires = schedule
        .next_after(now)
        .is_some_and(|next| next - now <= chrono::Duration::days(366 * SCHEDULE_HORIZON_YEARS));
    if !fires {
        problems.at(
            expression.span(),
            "trigger.schedule",
            format!("`{text}` never fires (not within {SCHEDULE_HORIZON_YEARS} years)"),
        );
        return None;
    }
    Some(schedule)
}

fn step(problems: &mut Problems<'_>, index: usize, raw: Spanned<RawStep>) -> Option<Step> {
    let span = raw.span();
    let raw = raw.into_inner();
    let at = |name: &str| format!("steps[{index}].{name}");
    let mut actions: Vec<(StepAction, Range<usize>, &str)> = Vec::new();
    let mut templates: Vec<(String, Range<usize>, String)> = Vec::new();
    if let Some(set) = raw.set_frontmatter {
        let s = set.span();
        let pairs: Vec<(String, serde_json::Value)> = set
            .into_inner()
            .into_iter()
            .map(|(k, v)| (k, json(v)))
            .collect();
        for (key, value) in &pairs {
            if let serde_json::Value::String(text) = value {
                templates.push((text.clone(), s.clone(), at("set_frontmatter")));
            }
            if key.trim().is_empty() {
                problems.at(s.clone(), at("set_frontmatter"), "an empty key");
            }
        }
        if pairs.is_empty() {
            problems.at(s.clone(), at("set_frontmatter"), "no key to set");
        }
        actions.push((StepAction::SetFrontmatter(pairs), s, "set_frontmatter"));
    }
    for (field, value, make) in [
        (
            "delete_frontmatter",
            raw.delete_frontmatter,
            StepAction::DeleteFrontmatter as fn(Vec<String>) -> StepAction,
        ),
        ("add_tags", raw.add_tags, StepAction::AddTags),
        ("remove_tags", raw.remove_tags, StepAction::RemoveTags),
    ] {
        if let Some(value) = value {
            let s = value.span();
            let items: Vec<String> = value
                .into_inner()
                .into_vec()
                .into_iter()
                .map(|t| t.trim().trim_start_matches('#').to_owned())
                .collect();
            if items.is_empty() || items.iter().any(String::is_empty) {
                problems.at(s.clone(), at(field), "a list of non-empty names is needed");
            }
            if field != "delete_frontmatter"
                && let Some(bad) = items.iter().find(|t| t.chars().any(char::is_whitespace))
            {
                problems.at(
                    s.clone(),
                    at(field),
                    format!("`{bad}`: a tag has no spaces"),
                );
            }
            actions.push((make(items), s, field));
        }
    }
    if let Some(folder) = raw.move_to {
        let s = folder.span();
        let folder = folder.into_inner();
        if folder.trim_matches('/').is_empty() || folder.split('/').any(|c| c == "..") {
            problems.at(
                s.clone(),
                at("move_to"),
                format!("`{folder}`: a folder of the vault is needed"),
            );
        }
        templates.push((folder.clone(), s.clone(), at("move_to")));
        actions.push((StepAction::MoveTo(folder), s, "move_to"));
    }
    for (field, value) in [("append", raw.append), ("prepend", raw.prepend)] {
        if let Some(value) = value {
            let s = value.span();
            let (text, section) = match value.into_inner() {
                RawText::Text(text) => (text, None),
                RawText::Full { text, section } => (text, section),
            };
            templates.push((text.clone(), s.clone(), at(field)));
            let action = if field == "append" {
                StepAction::Append { text, section }
            } else {
                StepAction::Prepend { text, section }
            };
            actions.push((action, s, field));
        }
    }
    if let Some(create) = raw.create_note {
        let s = create.span();
        let create = create.into_inner();
        if create.text.is_some() == create.template.is_some() {
            problems.at(
                s.clone(),
                at("create_note"),
                "exactly one of `text` and `template` is needed",
            );
        }
        templates.push((create.path.clone(), s.clone(), at("create_note.path")));
        if let Some(text) = &create.text {
            templates.push((text.clone(), s.clone(), at("create_note.text")));
        }
        actions.push((
            StepAction::CreateNote {
                path: create.path,
                text: create.text,
                template: create.template,
            },
            s,
            "create_note",
        ));
    }
    if let Some(http) = raw.http {
        let s = http.span();
        let http = http.into_inner();
        let method = http
            .method
            .unwrap_or_else(|| "POST".to_owned())
            .to_ascii_uppercase();
        if !["GET", "POST", "PUT", "PATCH", "DELETE"].contains(&method.as_str()) {
            problems.at(
                s.clone(),
                at("http.method"),
                format!("`{method}`: one of GET, POST, PUT, PATCH, DELETE"),
            );
        }
        if !(http.url.starts_with("http://") || http.url.starts_with("https://")) {
            problems.at(
                s.clone(),
                at("http.url"),
                format!("`{}`: an http:// or https:// URL is needed", http.url),
            );
        }
        let timeout_ms = http.timeout_ms.unwrap_or(HTTP_TIMEOUT_DEFAULT_MS);
        if timeout_ms == 0 || timeout_ms > HTTP_TIMEOUT_MAX_MS {
            problems.at(
                s.clone(),
                at("http.timeout_ms"),
                format!("{timeout_ms}: from 1 to {HTTP_TIMEOUT_MAX_MS}"),
            );
        }
        templates.push((http.url.clone(), s.clone(), at("http.url")));
        if let Some(body) = &http.body {
            templates.push((body.clone(), s.clone(), at("http.body")));
        }
        actions.push((
            StepAction::Http {
                url: http.url,
                method,
                headers_from_files: http.headers_from_files.into_iter().collect(),
                body: http.body,
                timeout_ms,
            },
            s,
            "http",
        ));
    }
    for (text, s, field) in templates {
        if let Err(message) = check_template(&text) {
            problems.at(s, field, message);
        }
    }
    let condition = raw.condition.and_then(|c| {
        let s = c.span();
        condition(c.into_inner())
            .map_err(|message| problems.at(s, at("if"), message))
            .ok()
    });
    if raw.timeout_ms == Some(0) {
        problems.at(span.clone(), at("timeout_ms"), "must be at least 1");
    }
    let mut actions = actions.into_iter();
    let Some((action, _, _)) = actions.next() else {
        problems.at(
            span,
            format!("steps[{index}]"),
            "no action; one of set_frontmatter, delete_frontmatter, add_tags, remove_tags, move_to, append, prepend, create_note, http",
        );
        return None;
    };
    if let Some((_, s, second)) = actions.next() {
        problems.at(
            s,
            at(second),
            "one action per step: put it in a `[[steps]]` of its own",
        );
    }
    Some(Step {
        name: raw.name,
        condition,
        timeout_ms: raw.timeout_ms,
        action,
    })
}

/// Checks that every `{{variable}}` of a template is known and every `{{` is closed.
fn check_template(text: &str) -> Result<(), String> {
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        let after = rest.get(start + 2..).unwrap_or_default();
        let Some(end) = after.find("}}") else {
            return Err(format!("`{{{{` without `}}}}` in `{text}`"));
        };
        let name = after.get(..end).unwrap_or_default().trim();
        let known = TEMPLATE_VARIABLES.contains(&name)
            || name
                .strip_prefix("frontmatter.")
                .is_some_and(|key| !key.is_empty());
        if !known {
            return Err(format!(
                "unknown variable `{{{{{name}}}}}`; known: {}, frontmatter.KEY",
                TEMPLATE_VARIABLES.join(", ")
            ));
        }
        rest = after.get(end + 2..).unwrap_or_default();
    }
    Ok(())
}

/// Reads `if = { field = "...", equals = ... }` (or `not_equals`, `exists`, `contains`).
fn condition(table: toml::Table) -> Result<Condition, String> {
    let mut field = None;
    let mut test = Vec::new();
    for (key, value) in table {
        match key.as_str() {
            "field" => match value {
                toml::Value::String(f) => field = Some(f),
                _ => return Err("`field` is a string".to_owned()),
            },
            "equals" | "not_equals" | "exists" | "contains" => test.push((key, value)),
            other => {
                return Err(format!(
                    "unknown key `{other}`; a condition has `field` and one of equals, not_equals, exists, contains"
                ));
            }
        }
    }
    let field = field.ok_or("a condition needs `field`")?;
    let known = CONDITION_FIELDS.contains(&field.as_str())
        || field
            .strip_prefix("frontmatter.")
            .is_some_and(|k| !k.is_empty());
    if !known {
        return Err(format!(
            "unknown field `{field}`; one of {}, frontmatter.KEY",
            CONDITION_FIELDS.join(", ")
        ));
    }
    let mut test = test.into_iter();
    let (Some((op, value)), None) = (test.next(), test.next()) else {
        return Err("exactly one of equals, not_equals, exists, contains".to_owned());
    };
    Ok(match op.as_str() {
        "equals" => Condition::Equals(field, json(value)),
        "not_equals" => Condition::NotEquals(field, json(value)),
        "contains" => Condition::Contains(field, json(value)),
        _ => match value {
            toml::Value::Boolean(b) => Condition::Exists(field, b),
            _ => return Err("`exists` is true or false".to_owned()),
        },
    })
}

/// A TOML value as JSON (dates as their text).
fn json(value: toml::Value) -> serde_json::Value {
    match value {
        toml::Value::String(s) => serde_json::Value::String(s),
        toml::Value::Integer(i) => serde_json::Value::from(i),
        toml::Value::Float(f) => serde_json::Value::from(f),
        toml::Value::Boolean(b) => serde_json::Value::Bool(b),
        toml::Value::Datetime(d) => serde_json::Value::String(d.to_string()),
        toml::Value::Array(a) => serde_json::Value::Array(a.into_iter().map(json).collect()),
        toml::Value::Table(t) => {
            serde_json::Value::Object(t.into_iter().map(|(k, v)| (k, json(v))).collect())
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]
mod tests {
    use super::*;
    use chrono::TimeZone as _;

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

    fn errors(text: &str) -> Vec<DefinitionError> {
        parse("wf.toml", text).unwrap_err()
    }

    fn event<'a>(
        kind: EventKind,
        path: &'a str,
        tags: &'a [String],
        frontmatter: &'a serde_json::Map<String, serde_json::Value>,
    ) -> NoteEvent<'a> {
        NoteEvent {
            kind,
            path,
            tags,
            frontmatter,
            actor: ActorKind::Human,
            workflow: None,
        }
    }

    #[test]
    fn the_issue_example_loads_as_written_and_matches_inbox_notes() {
        let workflow = parse(".weaver/workflows/inbox.toml", INBOX).unwrap();
        assert_eq!(workflow.name, "inbox");
        assert_eq!(workflow.trigger.on, [EventKind::Created]);
        assert_eq!(
            workflow.steps[0].action,
            StepAction::SetFrontmatter(vec![("status".into(), "inbox".into())])
        );
        assert_eq!(
            workflow.steps[1].action,
            StepAction::AddTags(vec!["inbox".into()])
        );
        let fm = serde_json::Map::new();
        let created = event(EventKind::Created, "Inbox/idea.md", &[], &fm);
        assert!(workflow.matches(&created));
        assert!(workflow.matches(&NoteEvent {
            path: "Inbox/deep/er.md",
            ..created
        }));
        assert!(!workflow.matches(&NoteEvent {
            path: "Projects/idea.md",
            ..created
        }));
        assert!(!workflow.matches(&NoteEvent {
            kind: EventKind::Updated,
            ..created
        }));
        // Its own writes never start it again; another workflow's do.
        assert!(!workflow.matches(&NoteEvent {
            workflow: Some("inbox"),
            actor: ActorKind::Workflow,
            ..created
        }));
        assert!(workflow.matches(&NoteEvent {
            workflow: Some("other"),
            actor: ActorKind::Workflow,
            ..created
        }));
    }

    #[test]
    fn tag_frontmatter_and_actor_filters() {
        let workflow = parse(
            "triage.toml",
            r##"
[trigger]
on = ["updated", "created"]
tags = ["#Todo"]
frontmatter = { status = "draft" }
actor = ["agent", "external"]
[[steps]]
if = { field = "frontmatter.owner", exists = false }
set_frontmatter = { owner = "{{actor}}", seen = "{{date}}" }
"##,
        )
        .unwrap();
        assert_eq!(workflow.name, "triage");
        let tags = vec!["todo".to_owned(), "x".to_owned()];
        let mut fm = serde_json::Map::new();
        fm.insert("status".into(), "draft".into());
        let base = NoteEvent {
            actor: ActorKind::Agent,
            ..event(EventKind::Updated, "a.md", &tags, &fm)
        };
        assert!(workflow.matches(&base));
        assert!(!workflow.matches(&NoteEvent {
            actor: ActorKind::Human,
            ..base
        }));
        assert!(!workflow.matches(&NoteEvent { tags: &[], ..base }));
        let other = serde_json::Map::new();
        assert!(!workflow.matches(&NoteEvent {
            frontmatter: &other,
            ..base
        }));
        assert_eq!(
            workflow.steps[0].condition,
            Some(Condition::Exists("frontmatter.owner".into(), false))
        );
    }

    #[test]
    fn a_syntax_error_names_its_line_and_column() {
        let found = errors("name = \"x\"\n[trigger\non = [\"created\"]\n");
        assert_eq!(found.len(), 1);
        assert_eq!((found[0].file.as_str(), found[0].line), ("wf.toml", 2));
        assert!(
            found[0].to_string().starts_with("wf.toml:2:"),
            "{}",
            found[0]
        );
    }

    #[test]
    fn unknown_step_types_and_keys_are_refused_where_they_are() {
        let found = errors(
            "[trigger]\non = [\"created\"]\n[[steps]]\nadd_tags = [\"a\"]\n[[steps]]\nexplode = true\n",
        );
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(
            found[0].message.contains("unknown field `explode`"),
            "{found:?}"
        );
        assert_eq!(found[0].line, 6);
        let found =
            errors("[trigger]\non = [\"created\"]\nwhen = 1\n[[steps]]\nadd_tags = [\"a\"]\n");
        assert!(
            found[0].message.contains("unknown field `when`"),
            "{found:?}"
        );
    }

    #[test]
    fn every_problem_of_a_file_is_reported_with_its_field() {
        let found = errors(
            r#"name = "Bad Name"
concurrency = 0
[trigger]
on = ["created", "exploded", "schedule", "webhook"]
path = "Inbox/[unclosed"
actor = ["robot"]
timezone = "Mars/Olympus"
[[steps]]
move_to = "../outside"
[[steps]]
append = "Hello {{nobody}}"
[[steps]]
add_tags = ["a"]
remove_tags = ["b"]
[[steps]]
name = "nothing"
[[steps]]
http = { url = "ftp://x", method = "BREW", timeout_ms = 0 }
[[steps]]
create_note = { path = "Daily/{{date}}.md" }
[[steps]]
if = { field = "colour", equals = "red" }
add_tags = ["c"]
"#,
        );
        let fields: Vec<&str> = found.iter().filter_map(|e| e.field.as_deref()).collect();
        for expected in [
            "name",
            "concurrency",
            "trigger.on",
            "trigger.path",
            "trigger.actor",
            "trigger.timezone",
            "trigger.schedule",
            "trigger.secret_file",
            "steps[0].move_to",
            "steps[1].append",
            "steps[2].remove_tags",
            "steps[3]",
            "steps[4].http.method",
            "steps[4].http.url",
            "steps[4].http.timeout_ms",
            "steps[5].create_note",
            "steps[6].if",
        ] {
            assert!(
                fields.contains(&expected),
                "no error for {expected}: {found:#?}"
            );
        }
        let on = found
            .iter()
            .find(|e| e.field.as_deref() == Some("trigger.on"))
            .unwrap();
        assert_eq!((on.line, on.column), (4, 18), "{on}");
        assert!(on.message.contains("`exploded`"));
        let unknown = found
            .iter()
            .find(|e| e.field.as_deref() == Some("steps[1].append"))
            .unwrap();
        assert!(unknown.message.contains("{{nobody}}"), "{unknown}");
        assert_eq!(unknown.line, 11);
    }

    #[test]
    fn schedules_parse_in_their_time_zone_and_one_that_never_fires_is_refused() {
        let workflow = parse(
            "weekly.toml",
            "[trigger]\non = [\"schedule\"]\nschedule = \"0 9 * * MON\"\ntimezone = \"Europe/Paris\"\n[[steps]]\ncreate_note = { path = \"Weekly/{{date}}.md\", text = \"# Week of {{date}}\" }\n",
        )
        .unwrap();
        let schedule = workflow.trigger.schedule.as_ref().unwrap();
        // Sunday 2026-03-29 is the day Paris moves to summer time (UTC+2).
        let sunday = Utc.with_ymd_and_hms(2026, 3, 29, 12, 0, 0).unwrap();
        let next = schedule.next_after(sunday).unwrap();
        assert_eq!(next, Utc.with_ymd_and_hms(2026, 3, 30, 7, 0, 0).unwrap());
        // And in winter (UTC+1).
        let winter = Utc.with_ymd_and_hms(2026, 12, 6, 12, 0, 0).unwrap();
        assert_eq!(
            schedule.next_after(winter).unwrap(),
            Utc.with_ymd_and_hms(2026, 12, 7, 8, 0, 0).unwrap()
        );

        let never = errors(
            "[trigger]\non = [\"schedule\"]\nschedule = \"0 0 30 2 *\"\n[[steps]]\nadd_tags = [\"x\"]\n",
        );
        assert!(never[0].message.contains("never fires"), "{never:?}");
        assert_eq!(never[0].line, 3);
        let bad = errors(
            "[trigger]\non = [\"schedule\"]\nschedule = \"61 * * * *\"\n[[steps]]\nadd_tags = [\"x\"]\n",
        );
        assert_eq!(bad[0].field.as_deref(), Some("trigger.schedule"), "{bad:?}");
        let filters = errors(
            "[trigger]\non = [\"schedule\"]\nschedule = \"@daily\"\npath = \"a/**\"\n[[steps]]\nadd_tags = [\"x\"]\n",
        );
        assert_eq!(filters[0].field.as_deref(), Some("trigger"), "{filters:?}");
    }

    #[test]
    fn a_file_without_steps_or_events_is_refused() {
        let none = errors("[trigger]\non = [\"manual\"]\n");
        assert_eq!(none[0].field.as_deref(), Some("steps"));
        let empty = errors("[trigger]\non = []\n[[steps]]\nadd_tags = [\"x\"]\n");
        assert_eq!(empty[0].field.as_deref(), Some("trigger.on"));
    }

    #[test]
    fn loading_keeps_good_files_beside_bad_ones_and_refuses_a_name_twice() {
        let loaded = load([
            ("a.toml", INBOX),
            ("b.toml", "[trigger\n"),
            ("c.toml", INBOX),
            (
                "manual.toml",
                "[trigger]\non = [\"manual\"]\n[[steps]]\nappend = { text = \"- {{datetime}} ran\", section = \"Log\" }\n",
            ),
        ]);
        let names: Vec<&str> = loaded.workflows.iter().map(|w| w.name.as_str()).collect();
        assert_eq!(names, ["inbox", "manual"]);
        let files: Vec<&str> = loaded.errors.iter().map(|e| e.file.as_str()).collect();
        assert_eq!(files, ["b.toml", "c.toml"]);
        assert!(loaded.errors[1].message.contains("already used by a.toml"));
    }

    #[test]
    fn templates_know_their_variables() {
        assert!(check_template("{{date}} {{ title }} {{frontmatter.status}}").is_ok());
        assert!(check_template("no variables").is_ok());
        assert!(
            check_template("{{unknown}}")
                .unwrap_err()
                .contains("{{unknown}}")
        );
        assert!(check_template("{{date").is_err());
        assert!(check_template("{{frontmatter.}}").is_err());
    }
}
