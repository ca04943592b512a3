//! One route of the API: what a resource module declares beside its
//! handlers, and [`super::routes::ROUTES`] gathers.

use axum::routing::MethodRouter;
use std::sync::Arc;

use crate::App;

/// One route: its method and path, the function that serves it, and its
/// handler. Each resource module declares its own (`ROUTES` beside its
/// handlers); [`ROUTES`] is their union.
#[derive(Clone, Copy)]
pub struct Route {
    pub method: &'static str,
    pub path: &'static str,
    pub function: &'static str,
    handler: fn() -> MethodRouter<Arc<App>>,
}

impl Route {
    /// Its handler, as a method router of the app.
    pub(super) fn handler(&self) -> MethodRouter<Arc<App>> {
        (self.handler)()
    }

    pub(super) const fn new(
        method: &'static str,
        path: &'static str,
        function: &'static str,
        handler: fn() -> MethodRouter<Arc<App>>,
    ) -> Self {
        Route {
            method,
            path,
            function,
            handler,
        }
    }
}

impl std::fmt::Debug for Route {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {} ({})", self.method, self.path, self.function)
    }
}
