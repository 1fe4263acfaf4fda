//! Command-line interface definition.

use std::path::PathBuf;

use clap::{Args, CommandFactory as _, FromArgMatches as _, Parser, Subcommand, ValueEnum};

/// Weaver: a fast, exact knowledge graph over a folder of Markdown notes (an Obsidian vault).
#[derive(Debug, Parser)]
#[command(name = "weaver", version, about, propagate_version = true)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

/// The ids of the options that name a vault and its cache: global, so that both
/// `weaver --vault V search` and `weaver search --vault V` work, but meaningless to the commands
/// that open no vault, whose help leaves them out.
const VAULT_OPTIONS: [&str; 6] = [
    "vault",
    "cache_dir",
    "no_cache",
    "ignore",
    "max_file_bytes",
    "model_dir",
];

/// The commands that open no vault.
const VAULTLESS: [&str; 3] = ["gateway", "keys", "model"];

/// Parses the process's arguments (exits with clap's message and code on an error or `--help`).
pub fn parse() -> Cli {
    let command = Cli::command();
    // A subcommand that has its own copy of a global option does not get the parent's: the
    // vaultless commands get hidden copies (global too, so their subcommands inherit them), and
    // the options still parse there, as everywhere, but their help leaves them out.
    let hidden: Vec<clap::Arg> = command
        .get_arguments()
        .filter(|arg| VAULT_OPTIONS.contains(&arg.get_id().as_str()))
        .map(|arg| arg.clone().hide(true))
        .collect();
    let command = VAULTLESS.iter().fold(command, |command, name| {
        command.mut_subcommand(name, |sub| sub.args(hidden.iter().cloned()))
    });
    let matches = command.get_matches();
    Cli::from_arg_matches(&matches).unwrap_or_else(|err| err.exit())
}

/// Options shared by every command.
#[derive(Debug, Args)]
pub struct Global {
    /// The vault folder [default: the current folder]
    #[arg(long, global = true, env = "WEAVER_VAULT")]
    pub vault: Option<PathBuf>,
    /// Where to keep the cache and search index [default: VAULT/.weaver]
    #[arg(long, global = true, env = "WEAVER_CACHE_DIR")]
    pub cache_dir: Option<PathBuf>,
    /// Keep the cache in memory only: nothing is written next to the vault
    #[arg(long, global = true)]
    pub no_cache: bool,
    /// Extra gitignore-style pattern of files to leave out (repeatable)
    #[arg(long = "ignore", global = true, value_name = "PATTERN")]
    pub ignore: Vec<String>,
    /// Files larger than this many bytes are not parsed
    #[arg(long, global = true, default_value_t = weaver_core::ParseOptions::DEFAULT_MAX_FILE_BYTES)]
    pub max_file_bytes: u64,
    /// Embedding model folder for semantic search (`search --mode`, `similar`, `weaver mcp`)
    /// [default: the model `weaver model download` fetched, when there is one]
    #[arg(long, global = true, env = "WEAVER_MODEL_DIR", value_name = "DIR")]
    pub model_dir: Option<PathBuf>,
    /// Print machine-readable JSON on stdout
    #[arg(long, global = true)]
    pub json: bool,
    /// Log filter (error, warn, info, debug, trace, or a tracing directive) [default: warn;
    /// `serve`: the config's `log.level`]; RUST_LOG wins, except for `serve`
    #[arg(long, global = true, env = "WEAVER_LOG")]
    pub log_level: Option<String>,
    /// Log as JSON lines
    #[arg(long, global = true)]
    pub log_json: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Index the vault (incrementally) and print a summary; --watch keeps it live
    Index(IndexArgs),
    /// Search with filters: by words (default), by meaning or both (--mode)
    Search(SearchArgs),
    /// Notes nearest in meaning to a note that it does not link to yet (needs a model)
    Similar(SimilarArgs),
    /// Notes that name a note (title, alias, file name) without linking to it
    Mentions(MentionsArgs),
    /// The embedding model for semantic search
    #[command(subcommand)]
    Model(ModelCommand),
    /// Show one note: metadata, outline, links and backlinks
    Note(NoteArgs),
    /// Graph queries
    #[command(subcommand)]
    Graph(GraphCommand),
    /// Tags with note counts (nested tags count towards their parents)
    Tags,
    /// Vault statistics
    Stats,
    /// Report broken links, broken anchors and malformed notes; exits 1 when there are any
    Check(CheckArgs),
    /// Generate test vaults and measure performance
    #[command(subcommand)]
    Bench(crate::bench::BenchCommand),
    /// Serve one or more vaults over HTTP: REST API, live events, health and metrics
    Serve(ServeArgs),
    /// Serve the vault to AI agents over the Model Context Protocol (stdio, or --http)
    Mcp(weaver_mcp::cli::McpArgs),
    /// API keys for remote access
    #[command(subcommand)]
    Keys(KeysCommand),
    /// The authenticated front door: /api to `weaver serve`, /mcp to `weaver mcp --http`, with
    /// API keys or JWTs, per-vault roles, rate limits and TLS; `keys` manages its API keys
    Gateway(weaver_gateway::cli::GatewayArgs),
    /// Cluster mode's database: import a folder as a vault, export a vault to a folder, list
    /// the vaults
    #[command(subcommand)]
    Cluster(ClusterCommand),
    /// Mirror a real folder and a cluster vault both ways (exactly one per vault: it waits for
    /// the vault's lock); external edits become log entries, cluster writes land in the folder,
    /// and when both sides changed a file the folder's version is kept as a conflict copy
    Bridge(BridgeArgs),
    /// Workflows: automation on vault events (`.weaver/workflows/*.toml`)
    #[command(subcommand)]
    Workflows(WorkflowsCommand),
}

/// `weaver workflows`.
#[derive(Debug, Subcommand)]
pub enum WorkflowsCommand {
    /// Check workflow definitions: the vault's `.weaver/workflows/*.toml`, or the files and
    /// folders given; prints each workflow, or each problem as FILE:LINE:COLUMN; exits 1 when
    /// there are any
    Validate {
        /// Definition files, or folders of them (`*.toml`) [default: the vault's]
        paths: Vec<PathBuf>,
    },
    /// Run one of the vault's workflows now (it must have `manual` in its trigger's `on`),
    /// on a note if given; prints each step's outcome; exits 1 when a step failed
    Run {
        /// The workflow's name
        name: String,
        /// The note to run it on (path or name)
        #[arg(long)]
        note: Option<String>,
    },
}

/// `weaver bridge`.
#[derive(Debug, Args)]
pub struct BridgeArgs {
    /// The folder to mirror (a new vault is imported from it)
    pub dir: PathBuf,
    #[command(flatten)]
    pub db: ClusterDb,
    /// The vault's name in the cluster
    #[arg(long, default_value = "default")]
    pub name: String,
    /// Address for /livez, /readyz and /metrics
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:3002")]
    pub listen: std::net::SocketAddr,
    /// Milliseconds between mirror cycles
    #[arg(long, value_name = "MS", default_value_t = 1000)]
    pub interval_ms: u64,
    /// Where to keep the bridge's index of the folder [default: in memory]
    #[arg(long = "bridge-cache-dir", value_name = "PATH")]
    pub cache_dir: Option<PathBuf>,
}

/// `weaver cluster`.
#[derive(Debug, Subcommand)]
pub enum ClusterCommand {
    /// Import the folder DIR as a vault (a new vault, or one log entry with the differences,
    /// which every replica follows)
    Import {
        /// The vault folder
        dir: PathBuf,
        #[command(flatten)]
        db: ClusterDb,
        /// The vault's name
        #[arg(long, default_value = "default")]
        name: String,
    },
    /// Write every file of a vault into DIR (new or empty)
    Export {
        /// The folder to write
        dir: PathBuf,
        #[command(flatten)]
        db: ClusterDb,
        /// The vault's name
        #[arg(long, default_value = "default")]
        name: String,
    },
    /// The vaults in the database with their log heads
    List {
        #[command(flatten)]
        db: ClusterDb,
    },
}

/// Where the cluster's database is.
#[derive(Debug, Args)]
pub struct ClusterDb {
    /// A libpq URL, such as postgresql://weaver@db/weaver (several hosts allowed)
    #[arg(
        long,
        env = "WEAVER__CLUSTER__POSTGRES_URL",
        value_name = "URL",
        hide_env_values = true
    )]
    pub postgres_url: String,
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Create a key: prints the key (once; give it to the client) and its hash (for the config)
    Create,
}

/// `weaver serve`. Settings are layered: defaults, the config file, `WEAVER__SECTION__KEY`
/// environment variables, then these flags. `--vault PATH` (global) serves that one folder as
/// the vault `default`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// TOML configuration file [default: ./weaver.toml when it exists]
    #[arg(long, env = "WEAVER_CONFIG", value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// Address to listen on, such as 0.0.0.0:3000 in a container [default: 127.0.0.1:3000]
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<std::net::SocketAddr>,
}

#[derive(Debug, Args)]
pub struct IndexArgs {
    /// Keep watching the vault and update the index as files change (Ctrl-C to stop)
    #[arg(long)]
    pub watch: bool,
}

#[derive(Debug, Args)]
pub struct SearchArgs {
    /// Query: words (any may match, best first), +required, "exact phrases", prefix*, -excluded
    #[arg(default_value = "")]
    pub query: String,
    /// Only notes with this tag or a tag nested below it (repeatable)
    #[arg(long = "tag", value_name = "TAG")]
    pub tags: Vec<String>,
    /// Only notes in this folder or below
    #[arg(long)]
    pub folder: Option<String>,
    /// Only notes whose frontmatter has KEY:VALUE (repeatable; as the REST API's `field=`)
    #[arg(long = "field", value_name = "KEY:VALUE")]
    pub fields: Vec<String>,
    /// Only notes modified on or after this date (YYYY-MM-DD or RFC 3339)
    #[arg(long)]
    pub after: Option<String>,
    /// Only notes modified before this date (YYYY-MM-DD or RFC 3339)
    #[arg(long)]
    pub before: Option<String>,
    /// Results per page
    #[arg(long, default_value_t = 10)]
    pub limit: usize,
    /// Results to skip
    #[arg(long, default_value_t = 0)]
    pub offset: usize,
    /// keyword (BM25 over the words), semantic (meaning; needs a model) or hybrid (both).
    /// A first semantic search embeds the vault (cached for the next ones)
    #[arg(long, value_enum, default_value_t = ModeArg::Keyword)]
    pub mode: ModeArg,
}

/// `--mode` of `weaver search`.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ModeArg {
    Keyword,
    Semantic,
    Hybrid,
}

impl From<ModeArg> for weaver_app::SearchMode {
    fn from(mode: ModeArg) -> Self {
        match mode {
            ModeArg::Keyword => Self::Keyword,
            ModeArg::Semantic => Self::Semantic,
            ModeArg::Hybrid => Self::Hybrid,
        }
    }
}

#[derive(Debug, Args)]
pub struct SimilarArgs {
    /// Path (`Projects/Plan.md`), path without `.md`, or note name
    pub note: String,
    /// How many notes
    #[arg(long, default_value_t = 10)]
    pub limit: usize,
}

#[derive(Debug, Args)]
pub struct MentionsArgs {
    /// Path (`Projects/Plan.md`), path without `.md`, or note name
    pub note: String,
    #[command(flatten)]
    pub page: PageArgs,
}

#[derive(Debug, Subcommand)]
pub enum ModelCommand {
    /// Download all-MiniLM-L6-v2 (90 MB, Apache-2.0) from the Hugging Face hub, checking
    /// every file against its pinned SHA-256, into DIR [default: where the commands look]
    Download {
        /// Where to put the model
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
        /// The hub (or a mirror of its layout)
        #[arg(long, value_name = "URL", default_value = crate::model::HUB)]
        hub_url: String,
    },
    /// Where the model is looked for, and whether it loads
    Status,
}

#[derive(Debug, Args)]
pub struct NoteArgs {
    /// Path (`Projects/Plan.md`), path without `.md`, or note name
    pub note: String,
    /// Also print the raw Markdown
    #[arg(long)]
    pub content: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum DirectionArg {
    Out,
    In,
    Both,
}

impl From<DirectionArg> for weaver_core::Direction {
    fn from(d: DirectionArg) -> Self {
        match d {
            DirectionArg::Out => Self::Out,
            DirectionArg::In => Self::In,
            DirectionArg::Both => Self::Both,
        }
    }
}

#[derive(Debug, Args)]
pub struct PageArgs {
    /// Items per page
    #[arg(long, default_value_t = 50)]
    pub limit: usize,
    /// Items to skip
    #[arg(long, default_value_t = 0)]
    pub offset: usize,
}

impl From<&PageArgs> for weaver_app::Page {
    fn from(p: &PageArgs) -> Self {
        Self {
            limit: p.limit,
            offset: p.offset,
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum GraphCommand {
    /// Notes within --depth hops of a note
    Neighbors {
        note: String,
        #[arg(long, default_value_t = 1)]
        depth: u32,
        #[arg(long, value_enum, default_value_t = DirectionArg::Both)]
        direction: DirectionArg,
        #[command(flatten)]
        page: PageArgs,
    },
    /// A shortest chain of links between two notes
    Path {
        from: String,
        to: String,
        #[arg(long, value_enum, default_value_t = DirectionArg::Both)]
        direction: DirectionArg,
    },
    /// Links to a note, with the linking line
    Backlinks {
        note: String,
        #[command(flatten)]
        page: PageArgs,
    },
    /// Links from a note and where they resolve
    Links { note: String },
    /// Notes with no links in or out
    Orphans {
        #[command(flatten)]
        page: PageArgs,
    },
    /// Links that point at nothing
    Unresolved {
        #[command(flatten)]
        page: PageArgs,
    },
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Do not count unresolved embeds of attachments (images etc.) as problems
    #[arg(long)]
    pub ignore_missing_attachments: bool,
}
