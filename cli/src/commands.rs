//! Every command but `import`.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use base64::Engine as _;
use serde_json::{Value, json};

use crate::api::{self, Api};
use crate::cli::{DeleteArgs, GetArgs, KeysCommand, SearchArgs, SignupArgs, TagsArgs};
use crate::config;
use crate::error::{Error, Result};
use crate::import::sha256_hex;
use crate::output::{self, cell, table, truncate};
use crate::wire;

fn typed<T: serde::de::DeserializeOwned>(v: &Value) -> Result<T> {
    serde_json::from_value(v.clone()).map_err(|e| {
        Error::local(
            "bad_answer",
            format!("the server answered something unexpected: {e}"),
        )
    })
}

/// With `--json`, the server's answer printed as it came and `None`: the
/// command is done; else the answer as the command's own view of it.
fn answer<T: serde::de::DeserializeOwned>(v: &Value, json: bool) -> Result<Option<T>> {
    if json {
        output::json(v);
        return Ok(None);
    }
    typed(v).map(Some)
}

/// The `GET /images` query of the search's filters.
pub fn search_query(a: &SearchArgs) -> String {
    let mut q: Vec<(&str, String)> = Vec::new();
    let mut add = |k, v: &Option<String>| {
        if let Some(v) = v {
            q.push((k, v.clone()));
        }
    };
    add("tags", &a.tags);
    add("min_date", &a.from);
    add("max_date", &a.to);
    add("name", &a.name);
    add("camera", &a.camera);
    add("format", &a.format);
    add("status", &a.status);
    add("color", &a.color);
    add("hash", &a.hash);
    if a.mine {
        q.push(("owner", "me".into()));
    }
    q.push(("limit", a.limit.to_string()));
    api::query_string(&q)
}

pub async fn search(api: &Api, a: &SearchArgs, json: bool) -> Result<ExitCode> {
    let mut query = search_query(a);
    let mut pictures = Vec::new();
    let more = loop {
        let page = api.search(&query).await?;
        pictures.extend(page.pictures);
        match page.next {
            Some(next) if a.all => query = next,
            next => break next.is_some(),
        }
    };
    if json {
        output::json(&Value::Array(pictures));
        return Ok(ExitCode::SUCCESS);
    }
    if pictures.is_empty() {
        println!("No pictures.");
        return Ok(ExitCode::SUCCESS);
    }
    let mut rows = Vec::new();
    for v in &pictures {
        let p: wire::Picture = typed(v)?;
        let dims = match (p.width, p.height) {
            (Some(w), Some(h)) => format!("{w}x{h}"),
            _ => "-".into(),
        };
        let mut tags: Vec<String> = p
            .tags
            .iter()
            .take(4)
            .map(|t| format!("{} {}", t.tag, output::confidence(t.confidence)))
            .collect();
        if p.tags.len() > 4 {
            tags.push(format!("+{}", p.tags.len() - 4));
        }
        if p.status.as_deref().is_some_and(|s| s != "tagged") {
            tags.insert(0, format!("[{}]", p.status.as_deref().unwrap_or_default()));
        }
        rows.push(vec![
            p.id.to_string(),
            p.date,
            output::bytes((p.size * 1024.0).round() as u64),
            p.format.unwrap_or_else(|| "-".into()),
            dims,
            truncate(p.name.as_deref().unwrap_or("-"), 32),
            tags.join(", "),
        ]);
    }
    print!(
        "{}",
        table(
            &["ID", "DATE", "SIZE", "FORMAT", "PIXELS", "NAME", "TAGS"],
            &rows,
            &[0, 2, 4]
        )
    );
    let n = pictures.len();
    if more {
        eprintln!("{n} pictures shown; there are more: --all lists every page.");
    } else {
        eprintln!("{n} picture{}.", if n == 1 { "" } else { "s" });
    }
    Ok(ExitCode::SUCCESS)
}

/// The file name extension of a format the API names.
pub fn extension(format: &str) -> &str {
    match format {
        "jpeg" => "jpg",
        "tiff" => "tif",
        other => other,
    }
}

pub async fn get(api: &Api, a: &GetArgs, json: bool) -> Result<ExitCode> {
    let mut picture = api.picture(a.id).await?;
    let p: wire::Picture = typed(&picture)?;
    let mut bytes = match &p.data {
        Some(data) => base64::engine::general_purpose::STANDARD
            .decode(data.trim())
            .map_err(|e| {
                Error::local(
                    "bad_answer",
                    format!("the picture's data is not base64: {e}"),
                )
            })?,
        // Too large to travel inside JSON: the file route (maybe S3) has it.
        None => api.file(a.id).await?.0,
    };
    if let Some(hash) = &p.hash
        && !hash.eq_ignore_ascii_case(&sha256_hex(&bytes))
    {
        // Everyone but its owner (and admins) gets the file without its
        // location, whose hash is not the original's: the file route's
        // entity tag says when that is what came.
        let (file, etag) = api.file(a.id).await?;
        if etag.as_deref() != Some(format!("\"{}-nogps\"", hash.to_ascii_lowercase()).as_str()) {
            return Err(Error::local(
                "corrupt_download",
                format!(
                    "picture {}: the bytes received do not match its SHA-256",
                    a.id
                ),
            ));
        }
        eprintln!(
            "picture {}: served without its location (only its owner gets the original)",
            a.id
        );
        bytes = file;
    }
    let target = a.output.clone().unwrap_or_else(|| {
        let ext = extension(p.format.as_deref().unwrap_or("bin"));
        PathBuf::from(format!("{}.{ext}", p.id))
    });
    let to_stdout = target.as_os_str() == "-";
    if to_stdout {
        let mut out = std::io::stdout().lock();
        out.write_all(&bytes)
            .and_then(|_| out.flush())
            .map_err(|e| Error::local("io_error", format!("standard output: {e}")))?;
    } else {
        std::fs::write(&target, &bytes).map_err(|e| Error::io(&target, &e))?;
    }
    if let Some(obj) = picture.as_object_mut() {
        obj.remove("data");
    }
    if json && !to_stdout {
        output::json(&json!({
            "file": target.display().to_string(),
            "bytes": bytes.len(),
            "picture": picture,
        }));
    } else if !to_stdout {
        println!(
            "Wrote picture {} ({}, {}) to {}",
            p.id,
            p.format.as_deref().unwrap_or("unknown format"),
            output::bytes(bytes.len() as u64),
            target.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn stats(api: &Api, json: bool) -> Result<ExitCode> {
    let v = api.stats().await?;
    let Some(s) = answer::<wire::Stats>(&v, json)? else {
        return Ok(ExitCode::SUCCESS);
    };
    println!(
        "Most popular format: {}",
        s.most_popular_format.as_deref().unwrap_or("-")
    );
    let section = |title: &str, headers: &[&str], rows: Vec<Vec<String>>| {
        println!("\n{title}");
        if rows.is_empty() {
            println!("  (none)");
        } else {
            for line in table(headers, &rows, &[1]).lines() {
                println!("  {line}");
            }
        }
    };
    section(
        "Formats:",
        &["FORMAT", "PICTURES"],
        s.formats
            .iter()
            .map(|f| vec![f.format.clone(), f.count.to_string()])
            .collect(),
    );
    section(
        "Uploads per day (last 30 days with uploads):",
        &["DATE", "UPLOADS"],
        s.uploads_per_day
            .iter()
            .map(|d| vec![d.date.clone(), d.count.to_string()])
            .collect(),
    );
    section(
        "Top camera models:",
        &["CAMERA", "PICTURES"],
        s.top_camera_models
            .iter()
            .map(|c| vec![c.camera.clone(), c.count.to_string()])
            .collect(),
    );
    Ok(ExitCode::SUCCESS)
}

pub async fn tags(api: &Api, a: &TagsArgs, json: bool) -> Result<ExitCode> {
    let v = api.tags(a.from.as_deref(), a.to.as_deref()).await?;
    let Some(tags) = answer::<Vec<wire::TagStats>>(&v, json)? else {
        return Ok(ExitCode::SUCCESS);
    };
    if tags.is_empty() {
        println!("No tags.");
        return Ok(ExitCode::SUCCESS);
    }
    let rows: Vec<Vec<String>> = tags
        .iter()
        .map(|t| {
            vec![
                t.tag.clone(),
                t.n_images.to_string(),
                output::confidence(t.min_confidence),
                output::confidence(t.max_confidence),
                output::confidence(t.mean_confidence),
            ]
        })
        .collect();
    print!(
        "{}",
        table(
            &["TAG", "PICTURES", "MIN", "MAX", "MEAN"],
            &rows,
            &[1, 2, 3, 4]
        )
    );
    Ok(ExitCode::SUCCESS)
}

pub async fn delete(api: &Api, a: &DeleteArgs, json: bool) -> Result<ExitCode> {
    let mut report = wire::Deleted::default();
    if let [id] = a.ids[..] {
        // One picture: its own route, and the server's own 404 message.
        match api.delete(id).await {
            Ok(()) => report.deleted.push(id),
            Err(e) if e.status() == Some(404) && json => report.not_found.push(id),
            Err(e) => return Err(e),
        }
    } else {
        for chunk in a.ids.chunks(1000) {
            let r = api.delete_many(chunk).await?;
            report.deleted.extend(r.deleted);
            report.not_found.extend(r.not_found);
        }
    }
    if json {
        output::json(&serde_json::to_value(&report).unwrap_or_default());
    } else {
        let list = |ids: &[i64]| {
            ids.iter()
                .map(i64::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        };
        if !report.deleted.is_empty() {
            println!("Deleted: {}", list(&report.deleted));
        }
        if !report.not_found.is_empty() {
            eprintln!(
                "Not found (or not yours to delete): {}",
                list(&report.not_found)
            );
        }
    }
    Ok(if report.not_found.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

pub async fn keys(api: &Api, command: &KeysCommand, json: bool) -> Result<ExitCode> {
    match command {
        KeysCommand::List => {
            let v = api.keys().await?;
            let Some(keys) = answer::<Vec<wire::Key>>(&v, json)? else {
                return Ok(ExitCode::SUCCESS);
            };
            let rows: Vec<Vec<String>> = keys
                .iter()
                .map(|k| {
                    vec![
                        cell(Some(&k.id)),
                        k.name.clone().unwrap_or_else(|| "-".into()),
                        k.created.clone().unwrap_or_else(|| "-".into()),
                        k.last_used.clone().unwrap_or_else(|| "never".into()),
                    ]
                })
                .collect();
            print!(
                "{}",
                table(&["ID", "NAME", "CREATED", "LAST USED"], &rows, &[])
            );
        }
        KeysCommand::Create { name } => {
            let v = api.create_key(name).await?;
            let Some(k) = answer::<wire::NewKey>(&v, json)? else {
                return Ok(ExitCode::SUCCESS);
            };
            println!(
                "New key {} ({}): shown only this once, save it now:",
                cell(Some(&k.id)),
                k.name.as_deref().unwrap_or(name)
            );
            println!("  {}", k.key);
        }
        KeysCommand::Delete { id } => {
            api.delete_key(id).await?;
            if json {
                output::json(&json!({ "deleted": id }));
            } else {
                println!("Deleted key {id}: it no longer works.");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn signup(api: &Api, a: &SignupArgs, json: bool) -> Result<ExitCode> {
    let v = api.signup(a.email.as_deref()).await?;
    let Some(u) = answer::<wire::User>(&v, json)? else {
        return Ok(ExitCode::SUCCESS);
    };
    let who = match &u.email {
        Some(e) => format!("{} ({e})", cell(Some(&u.id))),
        None => cell(Some(&u.id)),
    };
    println!("Signed up: user {who}.");
    match u.api_key {
        Some(key) => {
            let file = config::config_path(&|k| std::env::var(k).ok())
                .map(|p| p.display().to_string())
                .unwrap_or_else(|| "~/.config/pictures/config.toml".into());
            println!("Your API key, shown only this once:\n  {key}");
            println!("Save it now, for instance:");
            println!("  export {}={key}", config::KEY_VAR);
            println!("or in {file}:");
            println!("  api_key = \"{key}\"");
        }
        None => println!("No API key was issued: sign in as your token says."),
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::Cli;
    use clap::Parser as _;

    #[test]
    fn search_filters_become_the_query() {
        let cli = Cli::try_parse_from([
            "pictures",
            "search",
            "--tags",
            "cat, dog",
            "--from",
            "2024-01-01",
            "--to",
            "2024-01-31 12:00:00",
            "--name",
            "x&y",
            "--mine",
            "--color",
            "#00ff00",
        ])
        .unwrap();
        let crate::cli::Command::Search(a) = cli.command else {
            panic!()
        };
        assert_eq!(
            search_query(&a),
            "tags=cat%2C+dog&min_date=2024-01-01&max_date=2024-01-31+12%3A00%3A00\
             &name=x%26y&color=%2300ff00&owner=me&limit=100"
        );
    }

    #[test]
    fn extensions_from_formats() {
        assert_eq!(extension("jpeg"), "jpg");
        assert_eq!(extension("png"), "png");
        assert_eq!(extension("tiff"), "tif");
    }
}
