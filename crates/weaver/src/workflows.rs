//! `weaver workflows ...`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use weaver_api::dto::WorkflowList;

use crate::cli::Global;

/// `weaver workflows validate [PATHS]`: the vault's definitions (read through its directory
/// handle), or the files and folders named.
pub fn validate(global: &Global, paths: &[PathBuf]) -> anyhow::Result<ExitCode> {
    let loaded = if paths.is_empty() {
        let options = crate::commands::vault_options(global)?;
        weaver_app::load_workflows(&options.root)?
    } else {
        weaver_workflows::load(read_files(paths)?)
    };
    let list = weaver_app::dto::workflow_list(&loaded);
    if global.json {
        println!("{}", serde_json::to_string(&list)?);
    } else {
        print(&list);
    }
    Ok(if list.errors.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// The named files, and the `*.toml` files directly in the named folders, in name order.
fn read_files(paths: &[PathBuf]) -> anyhow::Result<Vec<(String, String)>> {
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            let mut inside: Vec<PathBuf> = fs_err::read_dir(path)?
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.is_file() && p.extension().is_some_and(|e| e == "toml"))
                .collect();
            inside.sort();
            for file in inside {
                files.push(read(&file)?);
            }
        } else {
            files.push(read(path)?);
        }
    }
    Ok(files)
}

fn read(path: &Path) -> anyhow::Result<(String, String)> {
    let meta = fs_err::metadata(path)?;
    if meta.len() > weaver_app::MAX_DEFINITION_BYTES {
        anyhow::bail!(
            "{}: larger than {} bytes",
            path.display(),
            weaver_app::MAX_DEFINITION_BYTES
        );
    }
    let text = fs_err::read_to_string(path)
        .with_context(|| format!("{} is not UTF-8 text", path.display()))?;
    Ok((path.display().to_string(), text))
}

fn print(list: &WorkflowList) {
    for w in &list.workflows {
        let on = w.on.join(", ");
        let paths = if w.paths.is_empty() {
            String::new()
        } else {
            format!(" on {}", w.paths.join(", "))
        };
        let schedule = w
            .schedule
            .as_deref()
            .map(|s| format!(" at {s}"))
            .unwrap_or_default();
        let state = if w.enabled { "" } else { " (disabled)" };
        println!(
            "ok    {}{state}: {on}{paths}{schedule}; {} step{}: {} ({})",
            w.name,
            w.steps.len(),
            if w.steps.len() == 1 { "" } else { "s" },
            w.steps.join(", "),
            w.file
        );
    }
    for e in &list.errors {
        let field = e
            .field
            .as_deref()
            .map(|f| format!("`{f}`: "))
            .unwrap_or_default();
        println!(
            "error {}:{}:{}: {field}{} [{}]",
            e.file, e.line, e.column, e.message, e.code
        );
    }
    if list.workflows.is_empty() && list.errors.is_empty() {
        println!("no workflows");
    }
}

/// `weaver workflows run NAME [--note PATH]`: a manual run of one of the vault's workflows.
pub fn run(global: &Global, name: &str, note: Option<String>) -> anyhow::Result<ExitCode> {
    let options = crate::commands::vault_options(global)?;
    let loaded = weaver_app::load_workflows(&options.root)?;
    let Some(workflow) = loaded.workflows.iter().find(|w| w.name == name) else {
        let problem = loaded
            .errors
            .iter()
            .find(|e| e.file.ends_with(&format!("/{name}.toml")))
            .map(|e| format!(" ({e})"))
            .unwrap_or_default();
        anyhow::bail!("no valid workflow named `{name}` in the vault{problem}");
    };
    if !workflow
        .trigger
        .on
        .contains(&weaver_workflows::EventKind::Manual)
    {
        anyhow::bail!(
            "workflow `{name}` cannot be run by hand: add \"manual\" to its trigger's `on` ({})",
            workflow.file
        );
    }
    let (vault, _) = crate::commands::open_vault(global, false)?;
    let input = weaver_app::RunInput {
        event: weaver_workflows::EventKind::Manual,
        note,
        version: None,
        actor: weaver_workflows::ActorKind::Human,
    };
    let report = vault.run_workflow(workflow, &input, chrono::Utc::now());
    if global.json {
        let steps: Vec<serde_json::Value> = report
            .steps
            .iter()
            .map(|s| {
                serde_json::json!({
                    "action": s.action,
                    "status": status(s.status),
                    "detail": s.detail,
                    "duration_ms": s.duration.as_secs_f64() * 1000.0,
                })
            })
            .collect();
        println!(
            "{}",
            serde_json::json!({
                "workflow": report.workflow,
                "ok": report.ok(),
                "note": report.note,
                "version": report.version,
                "steps": steps,
            })
        );
    } else {
        for (i, s) in report.steps.iter().enumerate() {
            println!(
                "{:<7} {} {}: {}",
                status(s.status),
                i + 1,
                s.action,
                s.detail
            );
        }
    }
    Ok(if report.ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn status(status: weaver_app::StepStatus) -> &'static str {
    match status {
        weaver_app::StepStatus::Done => "done",
        weaver_app::StepStatus::Skipped => "skipped",
        weaver_app::StepStatus::Failed => "failed",
    }
}
