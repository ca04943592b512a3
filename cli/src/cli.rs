//! The command line.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "pictures",
    version,
    about = "The command-line client of the Pictures image-tagging API.",
    after_help = "The server comes from --url, else PICTURES_URL, else the config file's `url`, \
else http://127.0.0.1:8080.\nThe key comes from --api-key, else PICTURES_API_KEY, else the \
config file's `api_key` (none: anonymous, for a server under AUTH=open).\nConfig file: \
$XDG_CONFIG_HOME/pictures/config.toml, else ~/.config/pictures/config.toml."
)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct Global {
    /// The API's base URL [env: PICTURES_URL]
    #[arg(long, global = true, value_name = "URL")]
    pub url: Option<String>,
    /// The API key sent as x-api-key [env: PICTURES_API_KEY]
    #[arg(long, global = true, value_name = "KEY")]
    pub api_key: Option<String>,
    /// Machine-readable output: one JSON document on stdout, no progress bar
    #[arg(long, global = true)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Upload every image of a folder (resumable: what is already there is skipped)
    Import(ImportArgs),
    /// List pictures by tags, dates and name
    Search(SearchArgs),
    /// Download a picture's file
    Get(GetArgs),
    /// Uploads per day, formats and cameras
    Stats,
    /// Every tag with its number of pictures and confidences
    Tags(TagsArgs),
    /// Delete pictures
    Delete(DeleteArgs),
    /// Manage your API keys
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Create an account and its first API key
    Signup(SignupArgs),
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The folder to import
    pub dir: PathBuf,
    /// Also import the folders inside it
    #[arg(short, long)]
    pub recursive: bool,
    /// Uploads at a time
    #[arg(short, long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub jobs: u16,
    /// Make the pictures private (needs an API key)
    #[arg(long)]
    pub private: bool,
    /// Keep only tags at least this confident (0..100; the server's default: 80)
    #[arg(long, value_name = "X", value_parser = confidence)]
    pub min_confidence: Option<f64>,
    /// Do not wait for the tags: the server tags the pictures later
    #[arg(long = "async")]
    pub asynchronous: bool,
}

#[derive(Debug, Args)]
pub struct SearchArgs {
    /// Pictures with all these tags (comma-separated)
    #[arg(long, value_name = "A,B")]
    pub tags: Option<String>,
    /// From this date (YYYY-MM-DD or YYYY-MM-DD HH:MM:SS, UTC)
    #[arg(long, value_name = "DATE")]
    pub from: Option<String>,
    /// Up to this date (a bare day includes all of it)
    #[arg(long, value_name = "DATE")]
    pub to: Option<String>,
    /// Names containing this (case-insensitive)
    #[arg(long, value_name = "X")]
    pub name: Option<String>,
    /// Camera ("Make - Model")
    #[arg(long)]
    pub camera: Option<String>,
    /// Format: jpeg, png, gif, webp, bmp, tiff, heic or avif
    #[arg(long)]
    pub format: Option<String>,
    /// Tagging status: tagged, pending or failed
    #[arg(long)]
    pub status: Option<String>,
    /// A dominant colour near this one (#rrggbb)
    #[arg(long, value_name = "#RRGGBB")]
    pub color: Option<String>,
    /// The picture with these bytes (SHA-256, hex)
    #[arg(long, value_name = "SHA256")]
    pub hash: Option<String>,
    /// Only my own pictures (needs an API key)
    #[arg(long)]
    pub mine: bool,
    /// Pictures per page (1..1000)
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u16).range(1..=1000))]
    pub limit: u16,
    /// Every page, not only the first
    #[arg(long)]
    pub all: bool,
}

#[derive(Debug, Args)]
pub struct GetArgs {
    /// The picture's id
    pub id: i64,
    /// Where to write the file ("-": standard output) [default: <id>.<ext>]
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct TagsArgs {
    /// Pictures from this date (YYYY-MM-DD or YYYY-MM-DD HH:MM:SS, UTC)
    #[arg(long, value_name = "DATE")]
    pub from: Option<String>,
    /// Pictures up to this date
    #[arg(long, value_name = "DATE")]
    pub to: Option<String>,
}

#[derive(Debug, Args)]
pub struct DeleteArgs {
    /// The pictures' ids
    #[arg(required = true, num_args = 1..)]
    pub ids: Vec<i64>,
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Your keys (never the keys themselves)
    List,
    /// A new key, shown once
    Create {
        /// What the key is for
        name: String,
    },
    /// Revoke a key at once
    Delete {
        /// The key's id (from `pictures keys list`)
        id: String,
    },
}

#[derive(Debug, Args)]
pub struct SignupArgs {
    /// Your email address
    #[arg(long, value_name = "E")]
    pub email: Option<String>,
}

fn confidence(s: &str) -> Result<f64, String> {
    let x: f64 = s.parse().map_err(|_| format!("{s:?} is not a number"))?;
    if (0.0..=100.0).contains(&x) {
        Ok(x)
    } else {
        Err(format!("{x} is not between 0 and 100"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("pictures").chain(args.iter().copied()))
    }

    #[test]
    fn the_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn import_arguments() {
        let cli = parse(&[
            "import",
            "photos",
            "-r",
            "--jobs",
            "2",
            "--private",
            "--min-confidence",
            "50",
            "--async",
            "--json",
            "--url",
            "http://h:1",
        ])
        .unwrap();
        assert!(cli.global.json);
        assert_eq!(cli.global.url.as_deref(), Some("http://h:1"));
        let Command::Import(a) = cli.command else {
            panic!("not import")
        };
        assert_eq!(a.dir, PathBuf::from("photos"));
        assert!(a.recursive && a.private && a.asynchronous);
        assert_eq!(a.jobs, 2);
        assert_eq!(a.min_confidence, Some(50.0));
        let Command::Import(a) = parse(&["import", "."]).unwrap().command else {
            panic!("not import")
        };
        assert_eq!((a.jobs, a.recursive, a.min_confidence), (4, false, None));
    }

    #[test]
    fn bad_values_are_refused_before_any_request() {
        assert!(parse(&["import", ".", "--min-confidence", "101"]).is_err());
        assert!(parse(&["import", ".", "--min-confidence", "x"]).is_err());
        assert!(parse(&["import", ".", "--jobs", "0"]).is_err());
        assert!(parse(&["search", "--limit", "1001"]).is_err());
        assert!(parse(&["get", "seven"]).is_err());
        assert!(parse(&["delete"]).is_err());
        assert!(parse(&["import"]).is_err());
    }

    #[test]
    fn global_options_go_before_or_after_the_command() {
        let cli = parse(&["--api-key", "k", "--json", "tags"]).unwrap();
        assert_eq!(cli.global.api_key.as_deref(), Some("k"));
        assert!(cli.global.json);
        let cli = parse(&["keys", "create", "laptop", "--api-key", "k"]).unwrap();
        assert_eq!(cli.global.api_key.as_deref(), Some("k"));
        assert!(matches!(
            cli.command,
            Command::Keys(KeysCommand::Create { ref name }) if name == "laptop"
        ));
    }

    #[test]
    fn search_and_delete_arguments() {
        let Command::Search(s) = parse(&[
            "search",
            "--tags",
            "cat,dog",
            "--from",
            "2024-01-01",
            "--all",
        ])
        .unwrap()
        .command
        else {
            panic!("not search")
        };
        assert_eq!(s.tags.as_deref(), Some("cat,dog"));
        assert_eq!(s.from.as_deref(), Some("2024-01-01"));
        assert!(s.all);
        assert_eq!(s.limit, 100);
        let Command::Delete(d) = parse(&["delete", "1", "2", "3"]).unwrap().command else {
            panic!("not delete")
        };
        assert_eq!(d.ids, [1, 2, 3]);
    }
}
