//! Workflow definitions: what runs when the vault changes, on a schedule, by hand or on a
//! webhook, and the built-in steps it runs.
//!
//! A workflow is a TOML file (`.weaver/workflows/*.toml` in a vault, or the service config):
//!
//! ```toml
//! name = "inbox"
//! [trigger]
//! on = ["created"]          # created | updated | deleted | moved | schedule | manual | webhook
//! path = "Inbox/**"         # glob on the vault path
//! [[steps]]
//! set_frontmatter = { status = "inbox" }
//! [[steps]]
//! add_tags = ["inbox"]
//! ```
//!
//! [`parse`] turns one file's text into a [`Workflow`] or into every [`DefinitionError`] found
//! in it, each naming the file, line, column and field; [`load`] does it for a set of files,
//! so one bad file never hides the others. Everything a run could only discover later is
//! checked here: globs compile, cron expressions parse and fire at least once within
//! [`SCHEDULE_HORIZON_YEARS`], time zones exist, templates name known variables, a webhook has
//! a secret, each step has exactly one action. Matching a note event against a trigger is
//! [`Workflow::matches`].
//!
//! No IO and no async here: the app reads the files through the vault's directory handle and
//! runs the steps through its safe-write path.

mod def;

pub use def::{
    ActorKind, Condition, DefinitionError, EventKind, Loaded, NoteEvent, SCHEDULE_HORIZON_YEARS,
    Schedule, Step, StepAction, TEMPLATE_VARIABLES, Trigger, Workflow, load, parse,
};

/// The stable error code of an invalid definition (REST, MCP and the CLI).
pub const INVALID_CODE: &str = "workflow_invalid";
