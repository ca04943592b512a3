//! The `get-tags` binary under a loopback Lambda Runtime API, started while
//! its database is unreachable: it must not crash, answer 503 while the
//! database is away, and answer 200 once it is back, without a restart.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use sqlx::Connection;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Mutex, mpsc};

/// The Lambda Runtime API's two calls that matter: hand out the next event,
/// take the function's answer.
struct Runtime {
    events: Mutex<mpsc::Receiver<String>>,
    answers: mpsc::Sender<serde_json::Value>,
}

async fn next(State(rt): State<Arc<Runtime>>) -> impl IntoResponse {
    let event = rt.events.lock().await.recv().await.unwrap_or_default();
    let mut headers = HeaderMap::new();
    headers.insert(
        "lambda-runtime-aws-request-id",
        "8476a536-e9f4-11e8-9739-2dfe598c3fcd".parse().unwrap(),
    );
    let deadline = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis()
        + 30_000;
    headers.insert(
        "lambda-runtime-deadline-ms",
        deadline.to_string().parse().unwrap(),
    );
    headers.insert(
        "lambda-runtime-invoked-function-arn",
        "arn:aws:lambda:eu-west-1:123456789012:function:get-tags"
            .parse()
            .unwrap(),
    );
    headers.insert("content-type", "application/json".parse().unwrap());
    (headers, event)
}

async fn answer(
    State(rt): State<Arc<Runtime>>,
    Path(_id): Path<String>,
    body: String,
) -> StatusCode {
    let answer = serde_json::from_str(&body).unwrap_or(serde_json::Value::String(body));
    rt.answers.send(answer).await.unwrap();
    StatusCode::ACCEPTED
}

async fn error(State(rt): State<Arc<Runtime>>, body: String) -> StatusCode {
    rt.answers
        .send(serde_json::json!({ "runtime_error": body }))
        .await
        .unwrap();
    StatusCode::ACCEPTED
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Forwards every connection on `port` to the MySQL server: the database
/// "comes back" when this starts.
async fn forward(port: u16, to: String) {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .unwrap();
    tokio::spawn(async move {
        while let Ok((mut client, _)) = listener.accept().await {
            let to = to.clone();
            tokio::spawn(async move {
                if let Ok(mut server) = tokio::net::TcpStream::connect(to).await {
                    let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                }
            });
        }
    });
}

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_down_at_cold_start_gives_503_until_it_is_back() {
    let server =
        std::env::var("TEST_MYSQL_URL").unwrap_or_else(|_| "mysql://root@127.0.0.1:3306".into());
    let name = format!("pictures_cold{}", std::process::id());
    let mut admin = sqlx::MySqlConnection::connect(&server)
        .await
        .expect("MariaDB/MySQL must run for the tests (make test starts it)");
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS {name}; CREATE DATABASE {name}"
    )))
    .execute(&mut admin)
    .await
    .unwrap();
    let mysql_addr = server
        .trim_start_matches("mysql://")
        .rsplit('@')
        .next()
        .unwrap()
        .to_string();
    let user = server
        .trim_start_matches("mysql://")
        .split('@')
        .next()
        .unwrap()
        .to_string();

    let (event_tx, event_rx) = mpsc::channel(4);
    let (answer_tx, mut answer_rx) = mpsc::channel(4);
    let runtime = Arc::new(Runtime {
        events: Mutex::new(event_rx),
        answers: answer_tx,
    });
    let api = Router::new()
        .route("/2018-06-01/runtime/invocation/next", get(next))
        .route("/2018-06-01/runtime/invocation/{id}/response", post(answer))
        .route("/2018-06-01/runtime/invocation/{id}/error", post(error))
        .route("/2018-06-01/runtime/init/error", post(error))
        .with_state(runtime);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let runtime_api = listener.local_addr().unwrap().to_string();
    tokio::spawn(async move { axum::serve(listener, api).await.unwrap() });

    // Nothing listens on the database port yet.
    let db_port = free_port();
    let mut function = Killed(
        Command::new(env!("CARGO_BIN_EXE_get-tags"))
            .env("AWS_LAMBDA_RUNTIME_API", &runtime_api)
            .env("AWS_LAMBDA_FUNCTION_NAME", "get-tags")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_LOG_STREAM_NAME", "test")
            .env("AWS_LAMBDA_LOG_GROUP_NAME", "test")
            .env(
                "DATABASE_URL",
                format!("mysql://{user}@127.0.0.1:{db_port}/{name}"),
            )
            .env("DB_TIMEOUT_SECS", "1")
            .env("CREDENTIALS_FILE", "/nonexistent/credentials.json")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let event = include_str!("../events/all.json").to_string();
    let invoke = async |answers: &mut mpsc::Receiver<serde_json::Value>| {
        event_tx.send(event.clone()).await.unwrap();
        tokio::time::timeout(Duration::from_secs(20), answers.recv())
            .await
            .expect("the function answers")
            .unwrap()
    };

    for _ in 0..2 {
        let answer = invoke(&mut answer_rx).await;
        assert_eq!(answer["statusCode"], 503, "{answer}");
        let body: serde_json::Value =
            serde_json::from_str(answer["body"].as_str().unwrap()).unwrap();
        assert_eq!(body["error"], "database_unavailable", "{body}");
        assert!(function.0.try_wait().unwrap().is_none(), "still running");
    }

    forward(db_port, mysql_addr).await;
    let answer = invoke(&mut answer_rx).await;
    assert_eq!(answer["statusCode"], 200, "{answer}");
    assert_eq!(answer["body"], "[]");
    assert!(function.0.try_wait().unwrap().is_none(), "the same process");

    let tables: Vec<(String,)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT table_name FROM information_schema.tables \
         WHERE table_schema = '{name}' AND table_name = 'pictures'"
    )))
    .fetch_all(&mut admin)
    .await
    .unwrap();
    assert_eq!(tables.len(), 1, "migrated once the database came back");
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("DROP DATABASE {name}")))
        .execute(&mut admin)
        .await
        .unwrap();
}
