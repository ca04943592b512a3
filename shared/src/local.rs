//! The local API: every function behind one HTTP listener.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;

use crate::auth::unix_now;
use crate::domain::queue::{JobOutcome, run_job};
use crate::http::{docs_router, router};
use crate::queue::LocalQueue;
use crate::{App, Config};

/// Serves every route on `BIND` (default 127.0.0.1:8080) until Ctrl-C or
/// SIGTERM, with the tagging worker for asynchronous uploads. With an
/// argument, does one upkeep task and exits: `reconcile` sweeps orphan files
/// and expired upload slots, `backfill` fills in what rows of the original
/// assignment's app lack (the server also does it in the background),
/// `analyze` reads EXIF, colours and hashes from the files of older
/// pictures, `retag` tags every picture again.
pub async fn serve() -> ExitCode {
    crate::telemetry::init(false);
    let result = match std::env::args().nth(1).as_deref() {
        None => run().await,
        Some("reconcile") => reconcile_once().await,
        Some("backfill") => backfill_once().await,
        Some("analyze") => analyze_once().await,
        Some("retag") => retag_all().await,
        Some(other) => Err(format!(
            "unknown command {other:?}; the commands are `reconcile`, `backfill`, `analyze` and `retag`"
        )
        .into()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let config = Config::from_env()?;
    let app = App::build(&config, true).await?;
    app.start_database().await?;
    // Files left by a crash between file write and commit; never served, swept
    // in the background so a large store does not delay the listener. Then
    // the rows of the original assignment's app are brought up to speed.
    let upkeep = app.clone();
    tokio::spawn(async move {
        sweep(&upkeep, config.orphan_grace).await;
        backfill(&upkeep).await;
    });
    if let Some(queue) = app.local_queue.clone() {
        tokio::spawn(run_worker(app.clone(), queue));
    }
    let listener = TcpListener::bind(&config.bind)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", config.bind))?;
    tracing::info!(
        "Pictures listening on http://{} (database {}, images in {}, tagger {:?})",
        listener.local_addr()?,
        redact_url(&config.database_url),
        config.image_store,
        config.tagger
    );
    axum::serve(listener, local_router(app))
        .with_graceful_shutdown(shutdown())
        .await?;
    Ok(())
}

/// Every function's routes, the documentation and the health check: what
/// the local API serves.
pub fn local_router(app: std::sync::Arc<App>) -> axum::Router {
    let auth = app.auth.mode;
    router(app, None)
        .merge(docs_router(auth))
        // A connection is the local API's own (on Lambda, API Gateway's).
        .layer(axum::middleware::from_fn(crate::http::close_if_unread))
}

async fn sweep(app: &App, grace: std::time::Duration) {
    match crate::domain::reconcile(&*app.db, &*app.store, grace).await {
        Ok(report) => {
            for location in &report.removed {
                tracing::warn!(%location, "removed an orphan file (no picture refers to it)");
            }
            tracing::info!(
                checked = report.checked,
                removed = report.removed.len(),
                expired_upload_slots = report.expired_slots,
                "orphan sweep done"
            );
        }
        Err(e) => tracing::warn!(error = %e, "orphan sweep skipped"),
    }
}

async fn backfill(app: &App) {
    let started = std::time::Instant::now();
    match crate::domain::backfill(&*app.db, &*app.store).await {
        Ok(report) if report.completed > 0 => tracing::info!(
            completed = report.completed,
            missing_files = report.missing_files,
            elapsed = ?started.elapsed(),
            "older rows given their sizes and tag lists"
        ),
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e, "backfill stopped; it resumes at the next start"),
    }
}

async fn backfill_once() -> Result<(), Box<dyn std::error::Error>> {
    let config = Config::from_env()?;
    let app = App::build(&config, false).await?;
    let started = std::time::Instant::now();
    let report = crate::domain::backfill(&*app.db, &*app.store).await?;
    println!(
        "completed {} rows ({} with a missing file) in {:.1?}",
        report.completed,
        report.missing_files,
        started.elapsed()
    );
    Ok(())
}

/// Re-tags every picture (`MIN_CONFIDENCE`, default 80), resuming where an
/// interrupted run stopped.
async fn retag_all() -> Result<(), Box<dyn std::error::Error>> {
    let config = Config::from_env()?;
    let min = match std::env::var("MIN_CONFIDENCE") {
        Ok(v) if !v.is_empty() => crate::domain::Confidence::parse(&v)?,
        _ => crate::domain::Confidence::DEFAULT,
    };
    let app = App::build(&config, true).await?;
    let started = std::time::Instant::now();
    let report =
        crate::domain::retag_all(&app.ports(), min, config.tag_queue_url.is_some()).await?;
    for (id, why) in &report.skipped {
        tracing::warn!(id, why, "picture not re-tagged; its tags stay");
    }
    println!(
        "re-tagged {} pictures (resumed after id {}), skipped {}, in {:.1?}",
        report.retagged,
        report.resumed_after,
        report.skipped.len(),
        started.elapsed()
    );
    Ok(())
}

async fn analyze_once() -> Result<(), Box<dyn std::error::Error>> {
    let config = Config::from_env()?;
    let app = App::build(&config, false).await?;
    let started = std::time::Instant::now();
    let report = crate::domain::analyze_all(&*app.db, &*app.store, &app.decodes).await?;
    println!(
        "analysed {} pictures ({} with a missing or unreadable file) in {:.1?}",
        report.analyzed,
        report.unreadable,
        started.elapsed()
    );
    Ok(())
}

async fn reconcile_once() -> Result<(), Box<dyn std::error::Error>> {
    let config = Config::from_env()?;
    let app = App::build(&config, false).await?;
    let report = crate::domain::reconcile(&*app.db, &*app.store, config.orphan_grace).await?;
    println!(
        "checked {} files older than {} s, removed {} orphans and {} expired upload slots",
        report.checked,
        config.orphan_grace.as_secs(),
        report.removed.len(),
        report.expired_slots
    );
    Ok(())
}

/// `mysql://user:pass@host/db` → `mysql://user:***@host/db`.
fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let creds = &url[scheme + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

async fn shutdown() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("SIGTERM handler");
        tokio::select! { _ = ctrl_c => {}, _ = term.recv() => {} }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}

/// The worker of the local API: keeps one job more than the tagger runs in
/// parallel in flight (so a core never waits while a job reads its file or
/// writes its answer), claiming the next as soon as one ends; sleeps until
/// woken by a new upload or a second passes (retries come due). Runs until
/// the process ends.
pub async fn run_worker(app: Arc<App>, queue: Arc<LocalQueue>) {
    let parallel = 2 * std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut running = tokio::task::JoinSet::new();
    loop {
        let free = parallel - running.len();
        let claimed = if free > 0 {
            app.db
                .claim_jobs(unix_now(), app.settings.tag_lease_secs, free as u32)
                .await
        } else {
            Ok(Vec::new())
        };
        match claimed {
            Ok(jobs) if !jobs.is_empty() => {
                for job in jobs {
                    let app = app.clone();
                    // Each job runs to its end even if the worker is dropped.
                    let handle = tokio::spawn(async move {
                        match run_job(&app.ports(), &job, true).await {
                            Ok(JobOutcome::Failed(why)) => {
                                tracing::warn!(picture = job.picture_id, %why, "tagging failed for good");
                            }
                            Ok(JobOutcome::Retry(why)) => {
                                tracing::warn!(picture = job.picture_id, %why, attempt = job.attempts, "tagging will be tried again");
                            }
                            Ok(_) => {}
                            Err(e) => {
                                tracing::warn!(picture = job.picture_id, error = %e, "a tagging job could not be recorded; its lease will run out and it is tried again")
                            }
                        }
                    });
                    running.spawn(async move {
                        let _ = handle.await;
                    });
                }
            }
            Ok(_) if !running.is_empty() => {
                // Full, or nothing due: the next claim waits for a job to end.
                running.join_next().await;
            }
            Ok(_) => {
                let _ = tokio::time::timeout(Duration::from_secs(1), queue.wake.notified()).await;
            }
            Err(e) => {
                tracing::warn!(error = %e, "the tagging queue cannot be read; trying again shortly");
                tokio::time::sleep(Duration::from_secs(2)).await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn database_passwords_are_not_printed() {
        assert_eq!(
            super::redact_url("mysql://mbit:secret@db:3306/Pictures"),
            "mysql://mbit:***@db:3306/Pictures"
        );
        assert_eq!(
            super::redact_url("sqlite://data/pictures.db"),
            "sqlite://data/pictures.db"
        );
    }
}
