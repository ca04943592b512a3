//! `pictures`: the command-line client of the Pictures API. It talks HTTP
//! only and shares no code with the server.

mod api;
mod cli;
mod commands;
mod config;
mod error;
mod import;
mod output;
mod wire;

use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser as _;

use crate::cli::{Cli, Command};
use crate::error::Result;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let json = cli.global.json;
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("pictures: cannot start: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => {
            if json {
                output::json(&e.to_json());
            }
            eprintln!("pictures: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<ExitCode> {
    let env = |name: &str| std::env::var(name).ok();
    let settings = config::resolve(
        cli.global.url.as_deref(),
        cli.global.api_key.as_deref(),
        &env,
        || match config::config_path(&env) {
            Some(path) => config::load(&path),
            None => Ok(config::ConfigFile::default()),
        },
    )?;
    let api = Arc::new(api::Api::new(&settings.url, settings.api_key)?);
    let json = cli.global.json;
    match &cli.command {
        Command::Import(a) => import::run(api, a, json).await,
        Command::Search(a) => commands::search(&api, a, json).await,
        Command::Get(a) => commands::get(&api, a, json).await,
        Command::Stats => commands::stats(&api, json).await,
        Command::Tags(a) => commands::tags(&api, a, json).await,
        Command::Delete(a) => commands::delete(&api, a, json).await,
        Command::Keys(k) => commands::keys(&api, k, json).await,
        Command::Signup(a) => commands::signup(&api, a, json).await,
    }
}
