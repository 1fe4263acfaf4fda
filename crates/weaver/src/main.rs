//! `weaver`: one binary for the whole of Weave-NN's core. See `weaver --help`.

mod bench;
mod cli;
mod commands;
mod config;
mod dates;
mod error;
mod keys;
mod logging;
mod mcp;
mod mcp_command;
mod output;
mod serve;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    // `serve` starts logging itself once its configuration (which sets the level) is loaded.
    if !matches!(cli.command, cli::Command::Serve(_)) {
        logging::init(&logging::cli_filter(&cli.global), cli.global.log_json);
    }
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
