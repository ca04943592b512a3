//! Where the CPU-heavy work of a picture runs (decoding, analysis, the
//! tagger's networks): a rayon pool, one thread per core, whose threads run
//! at a lower priority (nice 10) than the threads that answer requests. A
//! burst of queued tagging then never slows the uploads and reads that
//! arrive meanwhile: they take a core as soon as they need one, and the
//! queue gets the rest.

use std::sync::OnceLock;

/// The pool, built the first time it is needed. Its own rather than rayon's
/// global one, so nothing that touched rayon first decides its threads'
/// priority; rayon calls made inside its jobs (`join`, the JPEG decoder's)
/// run on it too.
fn pool() -> &'static rayon::ThreadPool {
    static POOL: OnceLock<rayon::ThreadPool> = OnceLock::new();
    POOL.get_or_init(|| {
        rayon::ThreadPoolBuilder::new()
            .thread_name(|i| format!("pictures-cpu-{i}"))
            .start_handler(|_| lower_priority())
            .build()
            .expect("the CPU pool's threads start")
    })
}

/// Nice 10 for the calling thread (Linux sets priorities per thread).
fn lower_priority() {
    #[cfg(target_os = "linux")]
    // SAFETY: gettid and setpriority only read their arguments; a refusal
    // (which raising one's own nice value never gets) leaves the priority as is.
    unsafe {
        let tid = libc::gettid();
        libc::setpriority(libc::PRIO_PROCESS, tid as libc::id_t, 10);
    }
}

/// The work failed to finish: it panicked (the message says where).
#[derive(Debug, thiserror::Error)]
#[error("the work panicked: {0}")]
pub struct Panicked(pub String);

/// Runs `f` on the pool and waits for it without blocking the runtime.
pub async fn run<T, F>(f: F) -> Result<T, Panicked>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    let (tx, rx) = tokio::sync::oneshot::channel();
    pool().spawn(move || {
        let done = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
        let _ = tx.send(done.map_err(|e| {
            e.downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| e.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "no message".into())
        }));
    });
    match rx.await {
        Ok(done) => done.map_err(Panicked),
        Err(_) => Err(Panicked("the pool dropped the work".into())),
    }
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn work_runs_on_a_lower_priority_thread_and_panics_are_errors() {
        let (name, nice) = super::run(|| {
            let name = std::thread::current().name().map(str::to_string);
            // SAFETY: getpriority reads the calling thread's priority.
            let nice =
                unsafe { libc::getpriority(libc::PRIO_PROCESS, libc::gettid() as libc::id_t) };
            (name, nice)
        })
        .await
        .unwrap();
        assert!(name.unwrap_or_default().starts_with("pictures-cpu-"));
        assert_eq!(nice, 10);
        let err = super::run(|| -> u8 { panic!("bad pixels") })
            .await
            .unwrap_err();
        assert!(err.to_string().contains("bad pixels"), "{err}");
    }
}
