//! `weaver`: one binary for the whole of Weave-NN's core. See `weaver --help`.

mod bench;
mod bench_semantic;
mod bridge;
mod cli;
mod commands;
mod error;
mod model;
mod output;
mod workflows;

use std::process::ExitCode;

use weaver_service::{logging, telemetry};

fn main() -> ExitCode {
    let cli = cli::parse();
    // `serve` starts logging itself once its configuration (which sets the level and the trace
    // endpoint) is loaded.
    let mut _telemetry = None;
    // So does `gateway` (but not `gateway keys`).
    let configures_logging = match &cli.command {
        cli::Command::Serve(_) => true,
        cli::Command::Gateway(args) => args.command.is_none(),
        _ => false,
    };
    if !configures_logging {
        let tracer = match telemetry::endpoint(None).map(|e| telemetry::provider(&e)) {
            Some(Ok((guard, tracer))) => {
                _telemetry = Some(guard);
                Some(tracer)
            }
            Some(Err(err)) => {
                eprintln!("warning: {err:#}; traces are not exported");
                None
            }
            None => None,
        };
        // A service logs what it does (`info`); a command only its warnings.
        let level = match (&cli.command, cli.global.log_level.as_deref()) {
            (cli::Command::Bridge(_), None) => Some("info"),
            (_, level) => level,
        };
        logging::init(&logging::cli_filter(level), cli.global.log_json, tracer);
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
