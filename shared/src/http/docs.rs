//! The API description (`openapi.yaml`) served by the local API as
//! `GET /openapi.json`, and a small page that renders it at `GET /docs`.

use crate::auth::AuthMode;
use axum::Router;
use axum::http::header;
use axum::response::{Html, IntoResponse};
use axum::routing::get;
use std::sync::OnceLock;

/// The repository's `openapi.yaml`, compiled in.
pub const OPENAPI_YAML: &str = include_str!("../../../openapi.yaml");

/// The description as JSON, converted once.
pub fn openapi_json() -> &'static str {
    static JSON: OnceLock<String> = OnceLock::new();
    JSON.get_or_init(|| {
        let value: serde_json::Value =
            serde_yaml::from_str(OPENAPI_YAML).expect("openapi.yaml is valid YAML (tested)");
        serde_json::to_string(&value).expect("JSON")
    })
}

/// `/openapi.json`, `/docs` and `/health`, merged into the local API's
/// router; they answer without credentials, whatever `AUTH` says. `/health`
/// also says whether the service needs credentials (`auth`), so a client
/// knows before it asks.
pub fn docs_router<S: Clone + Send + Sync + 'static>(auth: AuthMode) -> Router<S> {
    let health: &'static str = match auth {
        AuthMode::Open => "{\"status\":\"ok\",\"auth\":\"open\"}",
        AuthMode::Required => "{\"status\":\"ok\",\"auth\":\"required\"}",
    };
    Router::new()
        .route(
            "/health",
            get(move || async move { ([(header::CONTENT_TYPE, "application/json")], health) }),
        )
        .route(
            "/openapi.json",
            get(|| async { ([(header::CONTENT_TYPE, "application/json")], openapi_json()) }),
        )
        .route("/docs", get(|| async { Html(DOCS_PAGE).into_response() }))
}

/// Renders /openapi.json with a few lines of script: no external assets, so
/// it works offline and on a private network.
const DOCS_PAGE: &str = r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Pictures API</title>
<style>
body { font: 15px/1.5 system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem; color: #222; }
h2 { border-bottom: 1px solid #ddd; }
.op { margin: 1rem 0; padding: .5rem 1rem; border-left: 4px solid #4a7; background: #f7f7f7; }
.post { border-color: #47a; }
code, pre { font-family: ui-monospace, monospace; }
.method { font-weight: bold; text-transform: uppercase; margin-right: .5rem; }
table { border-collapse: collapse; } td, th { padding: .1rem .6rem; text-align: left; vertical-align: top; }
</style>
</head>
<body>
<h1 id="title">Pictures API</h1>
<p><a href="/openapi.json">openapi.json</a> (OpenAPI 3.1)</p>
<div id="intro"></div>
<div id="ops"></div>
<script>
const text = (tag, content, cls) => { const e = document.createElement(tag); e.textContent = content; if (cls) e.className = cls; return e; };
const resolve = (spec, obj) => {
  while (obj && obj.$ref) obj = obj.$ref.slice(2).split('/').reduce((o, k) => o[k], spec);
  return obj;
};
fetch('/openapi.json').then(r => r.json()).then(spec => {
  document.getElementById('title').textContent = `${spec.info.title} ${spec.info.version}`;
  document.getElementById('intro').append(text('pre', spec.info.description));
  const ops = document.getElementById('ops');
  for (const [path, item] of Object.entries(spec.paths)) {
    for (const [method, op] of Object.entries(item)) {
      const div = document.createElement('div');
      div.className = `op ${method}`;
      const head = document.createElement('h3');
      head.append(text('span', method, 'method'), text('code', path));
      div.append(head, text('p', op.summary || ''));
      if (op.description) div.append(text('p', op.description));
      const params = (op.parameters || []).map(p => resolve(spec, p));
      if (params.length) {
        const table = document.createElement('table');
        table.append(...params.map(p => {
          const tr = document.createElement('tr');
          const schema = resolve(spec, p.schema) || {};
          tr.append(text('td', `${p.name} (${p.in})`), text('td', schema.type || ''), text('td', p.description || ''));
          return tr;
        }));
        div.append(table);
      }
      const codes = Object.entries(op.responses).map(([code, r]) => `${code} ${resolve(spec, r).description}`);
      div.append(text('pre', codes.join('\n')));
      ops.append(div);
    }
  }
});
</script>
</body>
</html>
"#;
