use tracing_subscriber::EnvFilter;

/// Logs to stderr, filtered by `RUST_LOG` (default `info`). Lambda adds its
/// own timestamps, so there the lines carry none.
pub(crate) fn init(on_lambda: bool) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false);
    let _ = if on_lambda {
        builder.without_time().with_ansi(false).try_init()
    } else {
        builder.try_init()
    };
}
