//! The arguments of `weaver mcp` (the binary's CLI flattens them in).

use clap::Args;

/// `weaver mcp`: stdio for desktop agents (stdout carries only protocol messages; logs go to
/// stderr), or Streamable HTTP with `--http`.
#[derive(Debug, Args)]
pub struct McpArgs {
    /// Hide and refuse the write tools
    #[arg(long)]
    pub read_only: bool,
    /// Serve Streamable HTTP at /mcp instead of stdio
    #[arg(long)]
    pub http: bool,
    /// Address for --http
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:3001")]
    pub listen: std::net::SocketAddr,
    /// Host header accepted by --http (repeatable; DNS-rebinding protection) [default: loopback]
    #[arg(long = "allowed-host", value_name = "HOST")]
    pub allowed_hosts: Vec<String>,
    /// Browser Origin accepted by --http (repeatable) [default: not checked]
    #[arg(long = "allowed-origin", value_name = "ORIGIN")]
    pub allowed_origins: Vec<String>,
    /// The vault's name, as tools and resource URIs show it [default: default]; with
    /// --upstream, the upstream vault served at /mcp and over stdio [default: the upstream's
    /// vault `default`, else its only vault]
    #[arg(long)]
    pub name: Option<String>,
    /// Open no vault here: serve the vaults of the `weaver serve` at URL through its REST API
    /// (/mcp/{vault} is its vault {vault}); --vault and the cache options are ignored
    #[arg(long, value_name = "URL", env = "WEAVER_MCP_UPSTREAM")]
    pub upstream: Option<String>,
    /// With --http, require `Authorization: Bearer KEY` for a key with this hash (repeatable;
    /// from `weaver keys create`)
    #[arg(
        long = "api-key-hash",
        value_name = "HASH",
        env = "WEAVER_MCP_API_KEY_HASHES",
        value_delimiter = ','
    )]
    pub api_key_hashes: Vec<String>,
    /// With --http, larger request bodies are refused
    #[arg(long, value_name = "BYTES", default_value_t = crate::DEFAULT_MAX_BODY_BYTES)]
    pub max_body_bytes: u64,
}
