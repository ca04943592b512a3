//! The local API: every function behind one HTTP listener.

use std::process::ExitCode;
use tokio::net::TcpListener;

use crate::http::router;
use crate::{App, Config};

/// Serves every route on `BIND` (default 127.0.0.1:8080) until Ctrl-C or SIGTERM.
pub async fn serve() -> ExitCode {
    crate::telemetry::init(false);
    match run().await {
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
    app.warm_up().await;
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
    axum::serve(listener, router(app, None))
        .with_graceful_shutdown(shutdown())
        .await?;
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
