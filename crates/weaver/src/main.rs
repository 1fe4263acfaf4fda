//! `weaver`: one binary for the whole of Weave-NN's core. See `weaver --help`.

mod bench;
mod cli;
mod commands;
mod error;
mod output;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    init_tracing(&cli.global);
    let json = cli.global.json;
    match commands::run(cli) {
        Ok(code) => code,
        Err(err) => {
            if json {
                eprintln!("{}", error::json(&err));
            } else {
                eprintln!("error: {}", error::render(&err));
            }
            error::exit_code(&err)
        }
    }
}

/// Logs go to stderr (stdout carries command output, and later the MCP protocol), at the level
/// given by `--log-level` or `RUST_LOG`.
fn init_tracing(global: &cli::Global) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new(global.log_level.as_str()));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if global.log_json {
        builder.json().init();
    } else {
        use std::io::IsTerminal;
        builder
            .with_target(false)
            .with_ansi(std::io::stderr().is_terminal())
            .compact()
            .init();
    }
}
