//! Command dispatch: open the vault, call one `weaver-app` function, print the answer.

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use weaver_app::{CancellationToken, Progress, SearchQuery, Vault, VaultOptions, WatchOptions};

use crate::cli::{Cli, Command, Global, GraphCommand, SearchArgs};
use crate::output::{self, Out};
use weaver_api::dates::parse_date;

/// `weaver cluster ...`.
fn cluster(out: &Out, cmd: crate::cli::ClusterCommand) -> anyhow::Result<ExitCode> {
    use crate::cli::ClusterCommand;
    match cmd {
        ClusterCommand::Import { dir, db, name } => {
            let report = weaver_cluster::files::import(&db.postgres_url, &dir, &name)?;
            if out.json {
                println!("{}", serde_json::to_string(&report)?);
            } else {
                println!(
                    "vault `{}`: {} added, {} changed, {} removed, {} unchanged{}",
                    report.vault,
                    report.added,
                    report.changed,
                    report.removed,
                    report.unchanged,
                    report
                        .seq
                        .map(|s| format!(" (log entry {s})"))
                        .unwrap_or_default()
                );
            }
        }
        ClusterCommand::Export { dir, db, name } => {
            let report = weaver_cluster::files::export(&db.postgres_url, &dir, &name)?;
            if out.json {
                println!("{}", serde_json::to_string(&report)?);
            } else {
                println!(
                    "vault `{}`: {} files written to {} (log entry {})",
                    report.vault,
                    report.files,
                    dir.display(),
                    report.seq
                );
            }
        }
        ClusterCommand::List { db } => {
            let vaults = weaver_cluster::files::list(&db.postgres_url)?;
            if out.json {
                let list: Vec<_> = vaults
                    .iter()
                    .map(|(name, head)| serde_json::json!({"name": name, "head": head}))
                    .collect();
                println!("{}", serde_json::Value::Array(list));
            } else {
                for (name, head) in vaults {
                    println!("{name}\t{head}");
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Runs one command; `Ok` carries the exit status (1 when `check` finds problems).
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let out = Out {
        json: cli.global.json,
    };
    match cli.command {
        Command::Bench(cmd) => return crate::bench::run(&cli.global, cmd),
        Command::Workflows(crate::cli::WorkflowsCommand::Validate { paths }) => {
            return crate::workflows::validate(&cli.global, &paths);
        }
        Command::Workflows(crate::cli::WorkflowsCommand::Run { name, note }) => {
            return crate::workflows::run(&cli.global, &name, note);
        }
        Command::Serve(args) => {
            let global = &cli.global;
            if global.no_cache {
                anyhow::bail!(
                    "`--no-cache` is not supported by `weaver serve`: set a vault's `cache_dir` \
                     instead"
                );
            }
            let overrides = weaver_server::config::Overrides {
                listen: args.listen,
                vault: global.vault.clone(),
                cache_dir: global.cache_dir.clone(),
                ignore: global.ignore.clone(),
                max_file_bytes: Some(global.max_file_bytes),
                log_level: global.log_level.clone(),
                log_json: global.log_json,
            };
            return weaver_server::command(args.config, overrides);
        }
        Command::Mcp(args) => {
            let model_dir = cli.global.model_dir.clone();
            return weaver_mcp::command(
                &|| vault_options(&cli.global),
                &|| weaver_app::SemanticModel::choose(model_dir.clone()),
                &args,
            );
        }
        Command::Model(crate::cli::ModelCommand::Download { dir, hub_url }) => {
            crate::model::download(dir, &hub_url, cli.global.json)?;
        }
        Command::Model(crate::cli::ModelCommand::Status) => {
            return crate::model::status(cli.global.model_dir.clone(), cli.global.json);
        }
        Command::Similar(args) => {
            let (vault, _) = open_vault(&cli.global, false)?;
            let vault = embedded(&cli.global, vault)?;
            out.similar(&vault.similar(&args.note, args.limit)?);
        }
        Command::Mentions(args) => {
            let (vault, _) = open_vault(&cli.global, false)?;
            let path = vault.snapshot().find_note(&args.note)?.path.to_string();
            let page =
                vault.unlinked_mentions(&path, (&args.page).into(), &CancellationToken::new())?;
            out.mentions(&path, &page);
        }
        Command::Gateway(args) => {
            let output = weaver_gateway::cli::Output {
                json: cli.global.json,
                log_level: cli.global.log_level.clone(),
                log_json: cli.global.log_json,
            };
            return weaver_gateway::command(&output, &args);
        }
        Command::Cluster(cmd) => return cluster(&out, cmd),
        Command::Bridge(args) => return crate::bridge::command(args),
        Command::Keys(crate::cli::KeysCommand::Create) => {
            let key = weaver_service::keys::generate()?;
            let hash = weaver_service::keys::hash(&key);
            if cli.global.json {
                println!("{}", serde_json::json!({ "key": key, "hash": hash }));
            } else {
                println!("key:  {key}");
                println!("hash: {hash}");
                eprintln!(
                    "Give the key to the client (it is not stored anywhere); put the hash in the \
                     configuration, e.g. `[mcp] api_key_hashes = [\"{hash}\"]`."
                );
            }
        }
        Command::Index(args) => {
            let (vault, report) = open_vault(&cli.global, true)?;
            out.index_report(&report);
            if args.watch {
                watch_forever(vault, out)?;
            }
        }
        Command::Search(args) => {
            let (vault, _) = open_vault(&cli.global, false)?;
            let query = search_query(&args)?;
            let mode = weaver_app::SearchMode::from(args.mode);
            let vault = if mode == weaver_app::SearchMode::Keyword {
                Arc::new(vault)
            } else {
                embedded(&cli.global, vault)?
            };
            out.search(&vault.find(&query, Some(mode))?);
        }
        Command::Note(args) => {
            let (vault, _) = open_vault(&cli.global, false)?;
            let read = vault.read_note(&args.note)?;
            let details = read.details(&CancellationToken::new())?;
            let content = args.content.then(|| read.text());
            out.note(&details, content.as_deref());
        }
        Command::Graph(cmd) => {
            let (vault, _) = open_vault(&cli.global, false)?;
            let snapshot = vault.snapshot();
            match cmd {
                GraphCommand::Neighbors {
                    note,
                    depth,
                    direction,
                    page,
                } => {
                    let path = snapshot.find_note(&note)?.path.to_string();
                    out.neighbors(
                        &path,
                        &snapshot.neighbors(&path, depth, direction.into(), (&page).into())?,
                    );
                }
                GraphCommand::Path {
                    from,
                    to,
                    direction,
                } => out.path(
                    snapshot
                        .shortest_path(&from, &to, direction.into())?
                        .as_deref(),
                ),
                GraphCommand::Backlinks { note, page } => {
                    let path = snapshot.find_note(&note)?.path.to_string();
                    out.backlinks(
                        &path,
                        &snapshot.backlinks(&path, (&page).into(), &CancellationToken::new())?,
                    );
                }
                GraphCommand::Links { note } => {
                    let path = snapshot.find_note(&note)?.path.to_string();
                    out.links(&path, &snapshot.outgoing(&path)?);
                }
                GraphCommand::Orphans { page } => out.orphans(&snapshot.orphans((&page).into())),
                GraphCommand::Unresolved { page } => {
                    out.unresolved(&snapshot.unresolved((&page).into()));
                }
            }
        }
        Command::Tags => {
            let (vault, _) = open_vault(&cli.global, false)?;
            out.tags(&vault.snapshot().tags());
        }
        Command::Stats => {
            let (vault, _) = open_vault(&cli.global, false)?;
            out.stats(&vault.snapshot().stats());
        }
        Command::Check(args) => {
            let (vault, _) = open_vault(&cli.global, false)?;
            let snapshot = vault.snapshot();
            let mut problems = snapshot.check();
            if args.ignore_missing_attachments {
                problems.retain(|p| !output::is_missing_attachment(p));
            }
            out.problems(&problems);
            if !problems.is_empty() {
                return Ok(ExitCode::from(1));
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The vault folder: `--vault`, `WEAVER_VAULT`, or the current folder.
pub fn vault_options(global: &Global) -> anyhow::Result<VaultOptions> {
    let root = match &global.vault {
        Some(v) => v.clone(),
        None => std::env::current_dir().context("cannot read the current folder")?,
    };
    let mut options = VaultOptions::new(root);
    options.cache_dir = global.cache_dir.clone();
    options.in_memory = global.no_cache;
    options.max_file_bytes = global.max_file_bytes;
    options.ignore = global.ignore.clone();
    Ok(options)
}

/// Opens (and incrementally indexes) the vault, with a progress bar on stderr when it is a
/// terminal and `show_progress` is set.
pub fn open_vault(
    global: &Global,
    show_progress: bool,
) -> anyhow::Result<(Vault, weaver_app::OpenReport)> {
    let options = vault_options(global)?;
    let bar = if show_progress && !global.json {
        ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr())
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template("{spinner} {msg} [{bar:30}] {pos}/{len} notes ({per_sec})")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    let progress = |p: Progress| match p {
        Progress::Scanning => bar.set_message("scanning"),
        Progress::Parsing { done, total } => {
            bar.set_message("parsing");
            bar.set_length(total as u64);
            bar.set_position(done as u64);
        }
        Progress::Writing => {
            bar.set_position(bar.length().unwrap_or(0));
            bar.set_message("writing");
        }
    };
    let opened = Vault::open(&options, &progress);
    bar.finish_and_clear();
    let (vault, report) = opened?;
    tracing::info!(root = %vault.root().display(), cache = ?vault.cache_dir(), "vault open");
    Ok((vault, report))
}

/// How long the CLI waits for the model to load.
const MODEL_LOAD_WAIT: std::time::Duration = std::time::Duration::from_secs(120);

/// `vault` with semantic search on and every note embedded (a progress bar on stderr while the
/// model works; embeddings are cached, so a second run computes only what changed). Fails,
/// saying why, when there is no model or it does not load.
fn embedded(global: &Global, vault: Vault) -> anyhow::Result<Arc<Vault>> {
    let model = weaver_app::SemanticModel::choose(global.model_dir.clone());
    match model.wait(MODEL_LOAD_WAIT) {
        weaver_app::ModelState::Ready(_) => {}
        weaver_app::ModelState::Off(why) => {
            anyhow::bail!(
                "semantic search needs an embedding model: {why}; run `weaver model download` or pass --model-dir"
            )
        }
        weaver_app::ModelState::Failed(error) => {
            anyhow::bail!("the embedding model does not load: {error}")
        }
        weaver_app::ModelState::Loading => anyhow::bail!("the embedding model is still loading"),
    }
    let vault = Arc::new(vault);
    model.attach(&vault);
    let bar = if global.json {
        ProgressBar::hidden()
    } else {
        ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr())
    };
    bar.set_style(
        ProgressStyle::with_template("{spinner} embedding [{bar:30}] {pos}/{len} notes ({eta})")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    loop {
        let Some(status) = vault.semantic_status() else {
            anyhow::bail!("semantic search did not start");
        };
        bar.set_length(status.notes as u64);
        bar.set_position(status.embedded_notes as u64);
        if status.complete() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    bar.finish_and_clear();
    Ok(vault)
}

fn watch_forever(vault: Vault, out: Out) -> anyhow::Result<()> {
    let vault = Arc::new(vault);
    let handle = weaver_app::watch(Arc::clone(&vault), WatchOptions::default(), move |report| {
        out.sync_report(report);
    })?;
    eprintln!("watching {} (Ctrl-C to stop)", vault.root().display());
    let _handle = handle;
    // The watcher works on its own threads; this one only waits. Ctrl-C ends the process, which
    // is safe: every cache write is a transaction and the search index commits atomically.
    loop {
        std::thread::park();
    }
}

fn search_query(args: &SearchArgs) -> anyhow::Result<SearchQuery> {
    let fields = weaver_api::dto::parse_fields(&args.fields)
        .map_err(|f| anyhow::anyhow!("invalid --field `{f}`: expected KEY:VALUE"))?;
    Ok(SearchQuery {
        text: args.query.clone(),
        tags: args.tags.clone(),
        folder: args.folder.clone(),
        fields,
        modified_after: args.after.as_deref().map(parse_date).transpose()?,
        modified_before: args.before.as_deref().map(parse_date).transpose()?,
        limit: args.limit,
        offset: args.offset,
    })
}
