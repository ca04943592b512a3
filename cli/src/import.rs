//! `pictures import DIR`: every image of a folder, a few at a time, each
//! first looked up by its SHA-256 so that a second run sends no bytes again.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::api::{Api, UploadOptions, Uploaded};
use crate::cli::ImportArgs;
use crate::error::{Error, Result};
use crate::output;

/// The extensions looked at; anything else in the folder is ignored.
pub const EXTENSIONS: [&str; 11] = [
    "jpg", "jpeg", "png", "gif", "webp", "bmp", "tif", "tiff", "heic", "heif", "avif",
];

/// The image files, the number of other files, and the folders that could
/// not be read (name, reason).
pub type Scan = (Vec<Candidate>, usize, Vec<(String, String)>);

/// A file to import.
#[derive(Debug, Clone)]
pub struct Candidate {
    pub path: PathBuf,
    /// Its path under the imported folder, as printed.
    pub rel: String,
    pub size: u64,
}

/// What became of one file.
#[derive(Debug, Clone)]
pub enum Outcome {
    New(i64),
    AlreadyThere(i64),
    Failed { code: String, message: String },
}

/// The folder's image files (by extension; dot files and folders are
/// skipped), sorted by path, the number of other files, and the folders
/// that could not be read.
pub fn scan(dir: &Path, recursive: bool) -> Result<Scan> {
    let meta = std::fs::metadata(dir).map_err(|e| Error::io(dir, &e))?;
    if !meta.is_dir() {
        return Err(Error::local(
            "not_a_folder",
            format!("{} is not a folder", dir.display()),
        ));
    }
    let mut found = Vec::new();
    let mut ignored = 0;
    let mut unreadable = Vec::new();
    let mut folders = vec![dir.to_path_buf()];
    while let Some(folder) = folders.pop() {
        let entries = match std::fs::read_dir(&folder) {
            Ok(entries) => entries,
            Err(e) if folder == dir => return Err(Error::io(dir, &e)),
            Err(e) => {
                unreadable.push((relative(dir, &folder), e.to_string()));
                continue;
            }
        };
        for entry in entries {
            let entry = match entry {
                Ok(entry) => entry,
                Err(e) => {
                    unreadable.push((relative(dir, &folder), e.to_string()));
                    continue;
                }
            };
            let path = entry.path();
            if entry.file_name().to_string_lossy().starts_with('.') {
                continue;
            }
            // Follows symbolic links to files; never into linked folders (no loops).
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            if kind.is_dir() {
                if recursive {
                    folders.push(path);
                }
                continue;
            }
            let Ok(meta) = std::fs::metadata(&path) else {
                continue;
            };
            if !meta.is_file() {
                continue;
            }
            if has_image_extension(&path) {
                found.push(Candidate {
                    rel: relative(dir, &path),
                    path,
                    size: meta.len(),
                });
            } else {
                ignored += 1;
            }
        }
    }
    found.sort_by(|a, b| a.rel.cmp(&b.rel));
    Ok((found, ignored, unreadable))
}

fn relative(dir: &Path, path: &Path) -> String {
    path.strip_prefix(dir)
        .unwrap_or(path)
        .to_string_lossy()
        .into_owned()
}

pub fn has_image_extension(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
}

/// The format the first bytes announce, if any the API takes.
pub fn sniff(bytes: &[u8]) -> Option<&'static str> {
    let starts = |m: &[u8]| bytes.starts_with(m);
    if starts(&[0xFF, 0xD8, 0xFF]) {
        Some("jpeg")
    } else if starts(b"\x89PNG\r\n\x1a\n") {
        Some("png")
    } else if starts(b"GIF87a") || starts(b"GIF89a") {
        Some("gif")
    } else if bytes.len() >= 12 && starts(b"RIFF") && &bytes[8..12] == b"WEBP" {
        Some("webp")
    } else if starts(b"BM") && bytes.len() >= 26 {
        Some("bmp")
    } else if starts(b"II*\0") || starts(b"MM\0*") || starts(b"II+\0") || starts(b"MM\0+") {
        Some("tiff")
    } else {
        heif_brand(bytes)
    }
}

/// HEIC or AVIF, from the brands of an ISO BMFF `ftyp` box (the API reads
/// the container itself and says which it is).
fn heif_brand(bytes: &[u8]) -> Option<&'static str> {
    if bytes.get(4..8) != Some(b"ftyp") {
        return None;
    }
    let size = u32::from_be_bytes(bytes.get(..4)?.try_into().ok()?) as usize;
    let brands = bytes.get(8..size.clamp(8, bytes.len().min(256)))?;
    let has = |names: &[&[u8; 4]]| {
        brands
            .chunks_exact(4)
            .any(|b| names.iter().any(|n| &n[..] == b))
    };
    if has(&[b"avif", b"avis"]) {
        Some("avif")
    } else if has(&[
        b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1",
    ]) {
        Some("heic")
    } else {
        None
    }
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// One file: read, sniffed, looked up by hash, uploaded when new. `Err` is
/// an error that stops the whole import (the server is down, the key refused).
async fn import_one(api: &Api, c: &Candidate, options: &UploadOptions) -> Result<Outcome> {
    let failed = |code: &str, message: String| {
        Ok(Outcome::Failed {
            code: code.into(),
            message,
        })
    };
    let bytes = match tokio::fs::read(&c.path).await {
        Ok(bytes) => bytes,
        Err(e) => return failed("io_error", format!("cannot read it: {e}")),
    };
    if sniff(&bytes).is_none() {
        return failed(
            "not_an_image",
            "not an image: its bytes are not those of a JPEG, PNG, GIF, WebP, BMP or TIFF file"
                .into(),
        );
    }
    let (bytes, hash) = tokio::task::spawn_blocking(move || {
        let hash = sha256_hex(&bytes);
        (bytes, hash)
    })
    .await
    .map_err(|e| Error::local("internal", e.to_string()))?;
    let server_error = |e: Error| -> Result<Outcome> {
        if e.is_fatal() {
            return Err(e);
        }
        let message = match e.status() {
            Some(413) => format!(
                "too large for the server ({}): {}",
                output::bytes(c.size),
                e.message()
            ),
            _ => e.message(),
        };
        failed(e.code(), message)
    };
    match api.find_by_hash(&hash).await {
        Ok(Some(p)) => return Ok(Outcome::AlreadyThere(id_of(&p))),
        Ok(None) => {}
        Err(e) => return server_error(e),
    }
    let name = c.path.file_name().and_then(|n| n.to_str());
    match api.upload(&bytes, name, options).await {
        Ok(Uploaded::New(p)) => Ok(Outcome::New(id_of(&p))),
        Ok(Uploaded::Existing(p)) => Ok(Outcome::AlreadyThere(id_of(&p))),
        Err(e) => server_error(e),
    }
}

fn id_of(picture: &Value) -> i64 {
    picture["id"].as_i64().unwrap_or(0)
}

#[derive(Default)]
struct Counts {
    new: AtomicUsize,
    already: AtomicUsize,
    failed: AtomicUsize,
    done: AtomicUsize,
    bytes: AtomicU64,
}

pub async fn run(api: Arc<Api>, args: &ImportArgs, json: bool) -> Result<ExitCode> {
    let (candidates, ignored, unreadable) = scan(&args.dir, args.recursive)?;
    // One request before the files: a server that is down or a refused key
    // is one error, not one per file.
    api.find_by_hash(&"0".repeat(64)).await?;

    let total_bytes: u64 = candidates.iter().map(|c| c.size).sum();
    let total = candidates.len();
    let options = UploadOptions {
        min_confidence: args.min_confidence,
        private: args.private,
        asynchronous: args.asynchronous,
    };
    let bar = progress_bar(json, total_bytes);
    let started = Instant::now();
    let counts = Arc::new(Counts::default());
    let results: Arc<Mutex<Vec<Option<Outcome>>>> = Arc::new(Mutex::new(vec![None; total]));
    let stop: Arc<Mutex<Option<Error>>> = Arc::new(Mutex::new(None));
    let next = Arc::new(AtomicUsize::new(0));
    let candidates = Arc::new(candidates);

    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..usize::from(args.jobs).min(total.max(1)) {
        let (api, candidates, options) = (api.clone(), candidates.clone(), options.clone());
        let (counts, results, stop, next, bar) = (
            counts.clone(),
            results.clone(),
            stop.clone(),
            next.clone(),
            bar.clone(),
        );
        workers.spawn(async move {
            loop {
                if stop.lock().unwrap().is_some() {
                    return;
                }
                let i = next.fetch_add(1, Ordering::SeqCst);
                let Some(c) = candidates.get(i) else { return };
                let outcome = match import_one(&api, c, &options).await {
                    Ok(outcome) => outcome,
                    Err(e) => {
                        stop.lock().unwrap().get_or_insert(e);
                        return;
                    }
                };
                match outcome {
                    Outcome::New(_) => &counts.new,
                    Outcome::AlreadyThere(_) => &counts.already,
                    Outcome::Failed { .. } => &counts.failed,
                }
                .fetch_add(1, Ordering::SeqCst);
                results.lock().unwrap()[i] = Some(outcome);
                let done = counts.done.fetch_add(1, Ordering::SeqCst) + 1;
                counts.bytes.fetch_add(c.size, Ordering::SeqCst);
                bar.inc(c.size);
                bar.set_message(progress_message(&counts, done, total, started.elapsed()));
            }
        });
    }
    while let Some(joined) = workers.join_next().await {
        joined.map_err(|e| Error::local("internal", format!("an import task failed: {e}")))?;
    }
    bar.finish_and_clear();

    let elapsed = started.elapsed();
    let results = results.lock().unwrap().clone();
    let stopped = stop.lock().unwrap().take();
    let summary = Summary {
        dir: &args.dir,
        candidates: &candidates,
        results: &results,
        ignored,
        unreadable: &unreadable,
        elapsed,
        bytes: counts.bytes.load(Ordering::SeqCst),
        stopped: stopped.as_ref(),
    };
    if json {
        output::json(&summary.to_json());
    } else {
        print!("{}", summary.to_text());
    }
    if let Some(e) = stopped {
        return Err(e);
    }
    let failed = summary.failed().count() + unreadable.len();
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn progress_bar(json: bool, total_bytes: u64) -> ProgressBar {
    if json {
        return ProgressBar::hidden();
    }
    // Hidden by indicatif itself when stderr is not a terminal.
    let bar = ProgressBar::with_draw_target(Some(total_bytes), ProgressDrawTarget::stderr());
    let style = ProgressStyle::with_template(
        "{spinner} [{elapsed_precise}] {wide_bar} {binary_bytes}/{binary_total_bytes} \
         ({binary_bytes_per_sec}, ETA {eta}) {msg}",
    )
    .expect("a valid template");
    bar.set_style(style);
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

fn progress_message(counts: &Counts, done: usize, total: usize, elapsed: Duration) -> String {
    let rate = done as f64 / elapsed.as_secs_f64().max(0.001);
    let failed = counts.failed.load(Ordering::SeqCst);
    let mut msg = format!("{done}/{total} files, {rate:.1}/s");
    if failed > 0 {
        msg.push_str(&format!(", {failed} failed"));
    }
    msg
}

struct Summary<'a> {
    dir: &'a Path,
    candidates: &'a [Candidate],
    results: &'a [Option<Outcome>],
    ignored: usize,
    unreadable: &'a [(String, String)],
    elapsed: Duration,
    bytes: u64,
    stopped: Option<&'a Error>,
}

impl Summary<'_> {
    fn pairs(&self) -> impl Iterator<Item = (&Candidate, Option<&Outcome>)> {
        self.candidates
            .iter()
            .zip(self.results.iter().map(Option::as_ref))
    }

    fn count(&self, f: impl Fn(&Outcome) -> bool) -> usize {
        self.pairs().filter(|(_, o)| o.is_some_and(&f)).count()
    }

    fn failed(&self) -> impl Iterator<Item = (&Candidate, &str, &str)> {
        self.pairs().filter_map(|(c, o)| match o {
            Some(Outcome::Failed { code, message }) => Some((c, code.as_str(), message.as_str())),
            _ => None,
        })
    }

    fn not_attempted(&self) -> usize {
        self.pairs().filter(|(_, o)| o.is_none()).count()
    }

    fn new_ones(&self) -> usize {
        self.count(|o| matches!(o, Outcome::New(_)))
    }

    fn already(&self) -> usize {
        self.count(|o| matches!(o, Outcome::AlreadyThere(_)))
    }

    fn rate(&self) -> f64 {
        let done = self.candidates.len() - self.not_attempted();
        done as f64 / self.elapsed.as_secs_f64().max(0.001)
    }

    fn to_json(&self) -> Value {
        let files: Vec<Value> = self
            .pairs()
            .map(|(c, o)| {
                let mut v = json!({ "file": c.rel, "bytes": c.size });
                match o {
                    Some(Outcome::New(id)) => {
                        v["result"] = "new".into();
                        v["id"] = (*id).into();
                    }
                    Some(Outcome::AlreadyThere(id)) => {
                        v["result"] = "already_there".into();
                        v["id"] = (*id).into();
                    }
                    Some(Outcome::Failed { code, message }) => {
                        v["result"] = "failed".into();
                        v["error"] = code.as_str().into();
                        v["message"] = message.as_str().into();
                    }
                    None => v["result"] = "not_attempted".into(),
                }
                v
            })
            .collect();
        let unreadable: Vec<Value> = self
            .unreadable
            .iter()
            .map(|(f, m)| json!({ "folder": f, "message": m }))
            .collect();
        let mut v = json!({
            "dir": self.dir.display().to_string(),
            "new": self.new_ones(),
            "already_there": self.already(),
            "failed": self.failed().count(),
            "not_attempted": self.not_attempted(),
            "ignored": self.ignored,
            "bytes": self.bytes,
            "elapsed_secs": (self.elapsed.as_secs_f64() * 1000.0).round() / 1000.0,
            "files_per_sec": (self.rate() * 100.0).round() / 100.0,
            "files": files,
            "unreadable_folders": unreadable,
        });
        if let Some(e) = self.stopped {
            v["stopped"] = e.to_json();
        }
        v
    }

    fn to_text(&self) -> String {
        let secs = self.elapsed.as_secs_f64();
        let mut out = format!(
            "Imported {}: {} image files, {} in {secs:.1} s ({:.1} files/s, {}/s)\n",
            self.dir.display(),
            self.candidates.len(),
            output::bytes(self.bytes),
            self.rate(),
            output::bytes((self.bytes as f64 / secs.max(0.001)) as u64),
        );
        let mut rows = vec![
            vec!["new".to_string(), self.new_ones().to_string()],
            vec!["already there".into(), self.already().to_string()],
            vec!["failed".into(), self.failed().count().to_string()],
        ];
        if self.not_attempted() > 0 {
            rows.push(vec![
                "not attempted".into(),
                self.not_attempted().to_string(),
            ]);
        }
        for line in output::table(&["", ""], &rows, &[1]).lines().skip(1) {
            out.push_str(&format!("  {line}\n"));
        }
        if self.ignored > 0 {
            out.push_str(&format!(
                "  ({} other file{} ignored: not {})\n",
                self.ignored,
                if self.ignored == 1 { "" } else { "s" },
                EXTENSIONS.join("/")
            ));
        }
        let failures: Vec<_> = self.failed().collect();
        if !failures.is_empty() || !self.unreadable.is_empty() {
            out.push_str("Failures:\n");
            for (c, _, message) in failures {
                out.push_str(&format!("  {}: {message}\n", c.rel));
            }
            for (folder, message) in self.unreadable {
                out.push_str(&format!("  {folder}/: cannot read the folder: {message}\n"));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn magic_bytes() {
        assert_eq!(sniff(&[0xFF, 0xD8, 0xFF, 0xE0, 0, 0]), Some("jpeg"));
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\n...."), Some("png"));
        assert_eq!(sniff(b"GIF89a...."), Some("gif"));
        assert_eq!(sniff(b"RIFF\0\0\0\0WEBPVP8 "), Some("webp"));
        assert_eq!(sniff(b"RIFF\0\0\0\0WAVEfmt "), None);
        assert_eq!(sniff(b"II*\0\x08\0\0\0"), Some("tiff"));
        assert_eq!(sniff(b"MM\0*\0\0\0\x08"), Some("tiff"));
        assert_eq!(sniff(b"BM"), None);
        assert_eq!(sniff(b"\0\0\0\x18ftypheic\0\0\0\0mif1heic"), Some("heic"));
        assert_eq!(
            sniff(b"\0\0\0\x1cftypavif\0\0\0\0avifmif1miaf"),
            Some("avif")
        );
        assert_eq!(sniff(b"\0\0\0\x18ftypisom\0\0\0\0isommp42"), None);
        assert_eq!(sniff(b"hello, I am not a JPEG"), None);
        assert_eq!(sniff(b""), None);
    }

    #[test]
    fn extensions() {
        for name in [
            "a.jpg", "a.JPEG", "b.png", "c.Gif", "d.webp", "e.bmp", "f.tif", "g.TIFF", "h.heic",
            "i.HEIF", "j.avif",
        ] {
            assert!(has_image_extension(Path::new(name)), "{name}");
        }
        for name in ["README.md", "a.jpg.txt", "noext", "x.mov", ".jpg"] {
            assert!(!has_image_extension(Path::new(name)), "{name}");
        }
    }

    #[test]
    fn hashes_are_lowercase_hex() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn scanning_finds_images_by_extension_sorted() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        for name in [
            "b.png",
            "a.JPG",
            "notes.txt",
            ".hidden.jpg",
            "sub/c.gif",
            "sub/deeper/d.tif",
        ] {
            let path = d.join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, b"x").unwrap();
        }
        let (found, ignored, unreadable) = scan(d, false).unwrap();
        let names: Vec<_> = found.iter().map(|c| c.rel.as_str()).collect();
        assert_eq!(names, ["a.JPG", "b.png"]);
        assert_eq!((ignored, unreadable.len()), (1, 0));
        let (found, _, _) = scan(d, true).unwrap();
        let names: Vec<_> = found.iter().map(|c| c.rel.as_str()).collect();
        assert_eq!(names, ["a.JPG", "b.png", "sub/c.gif", "sub/deeper/d.tif"]);
        assert!(scan(&d.join("missing"), false).is_err());
        assert!(scan(&d.join("b.png"), false).is_err());
    }
}
