//! The gateway's command line: `weaver gateway [--config PATH] [--listen ADDR]` and
//! `weaver gateway keys create|list|revoke`. The `weaver` binary flattens [`GatewayArgs`] into
//! its own parser and calls [`crate::command`].

use std::path::PathBuf;

use clap::{Args, Subcommand};

/// `weaver gateway`. Settings are layered: defaults, the config file,
/// `WEAVER_GATEWAY__SECTION__KEY` environment variables, then `--listen`.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct GatewayArgs {
    /// TOML configuration file [default: ./gateway.toml when it exists]
    #[arg(long, env = "WEAVER_GATEWAY_CONFIG", value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// Address to listen on, such as 0.0.0.0:8080 in a container [default: 127.0.0.1:8080]
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<std::net::SocketAddr>,
    #[command(subcommand)]
    pub command: Option<GatewayCommand>,
}

/// The subcommands of `weaver gateway`.
#[derive(Debug, Subcommand)]
pub enum GatewayCommand {
    /// The gateway's API keys
    #[command(subcommand)]
    Keys(GatewayKeysCommand),
}

/// `weaver gateway keys ...`.
#[derive(Debug, Subcommand)]
pub enum GatewayKeysCommand {
    /// Create a key for one holder: prints the key once; with --file, adds its hash to that keys
    /// file, otherwise prints the entry to add
    Create {
        /// Who holds it (A-Z, a-z, 0-9, `.`, `_`, `-`): shown in logs and metrics
        #[arg(long)]
        name: String,
        /// What it may do
        #[arg(long, value_enum, default_value_t = crate::auth::Role::Read)]
        role: crate::auth::Role,
        /// The vaults it may reach (comma-separated or repeated; `*` for every vault)
        #[arg(long, value_name = "NAMES", required = true, value_delimiter = ',')]
        vaults: Vec<String>,
        /// The keys file to add it to (created if missing; the gateway's `auth.api_keys_file`)
        #[arg(long, value_name = "PATH")]
        file: Option<PathBuf>,
    },
    /// List the keys of a keys file (names, roles, vaults; never hashes)
    List {
        /// The keys file
        #[arg(long, value_name = "PATH")]
        file: PathBuf,
    },
    /// Remove a key from a keys file; a running gateway stops accepting it on reload
    Revoke {
        /// The key's name
        name: String,
        /// The keys file
        #[arg(long, value_name = "PATH")]
        file: PathBuf,
    },
}

/// What the binary's global options say to the gateway's commands.
#[derive(Debug, Clone, Default)]
pub struct Output {
    /// `--json`: machine-readable stdout.
    pub json: bool,
    /// `--log-level` (the config's `log.level` otherwise).
    pub log_level: Option<String>,
    /// `--log-json`.
    pub log_json: bool,
}
