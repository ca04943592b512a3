//! Bad input, a test per case: each gets its status and JSON error, and
//! leaves nothing stored (no row, no file, nothing staged at ImageKit).

use crate::common::*;
use serde_json::json;

async fn post_raw(
    t: &TestApp,
    query: &str,
    content_type: Option<&str>,
    body: Vec<u8>,
) -> reqwest::Response {
    let mut r = t.client.post(format!("{}/images{query}", t.url)).body(body);
    if let Some(ct) = content_type {
        r = r.header("content-type", ct);
    }
    r.send().await.unwrap()
}

/// A POST that must be refused with `status`/`code` before anything is tagged or stored.
macro_rules! refused_upload {
    ($($name:ident: $query:expr, $content_type:expr, $body:expr => $status:expr, $code:expr;)*) => {$(
        #[tokio::test]
        async fn $name() {
            let t = TestApp::start_with(Backend::Sqlite, Options { max_body_bytes: Some(200_000), ..Options::default() }).await;
            let body: Vec<u8> = $body;
            let r = post_raw(&t, $query, $content_type, body).await;
            assert_error(r, $status, $code).await;
            t.assert_nothing_stored().await;
            assert_eq!(t.cloud.counts(), (0, 0, 0), "the tagger was never called");
        }
    )*};
}

fn json_body(v: serde_json::Value) -> Vec<u8> {
    serde_json::to_vec(&v).unwrap()
}

const JSON: Option<&str> = Some("application/json");

refused_upload! {
    invalid_json: "", JSON, b"{\"data\": ".to_vec() => 400, "invalid_json";
    not_an_object: "", JSON, json_body(json!(["data"])) => 400, "invalid_body";
    no_data_field: "", JSON, json_body(json!({"image": "abc"})) => 400, "missing_data";
    data_not_a_string: "", JSON, json_body(json!({"data": 12345})) => 400, "invalid_body";
    data_not_base64: "", JSON, json_body(json!({"data": "this is *not* base64!"})) => 400, "invalid_base64";
    empty_data: "", JSON, json_body(json!({"data": ""})) => 400, "empty_data";
    text_file: "", JSON, json_body(json!({"data": b64(b"just some text\nin a file\n")})) => 400, "not_an_image";
    pdf_file: "", JSON, json_body(json!({"data": b64(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n")})) => 400, "not_an_image";
    truncated_jpeg: "", JSON, json_body(json!({"data": b64(&fixture("rocket.jpg")[..40])})) => 400, "invalid_image";
    declares_60000_by_60000: "", JSON, json_body(json!({"data": b64(&png_declaring(60_000, 60_000))})) => 400, "image_too_large";
    body_over_the_limit: "", JSON, json_body(json!({"data": b64(&fixture("chelsea.png"))})) => 413, "body_too_large";
    text_content_type: "", Some("text/plain"), json_body(json!({"data": b64(&fixture("rocket.jpg"))})) => 415, "unsupported_media_type";
    form_content_type: "", Some("application/x-www-form-urlencoded"), b"data=abc".to_vec() => 415, "unsupported_media_type";
    no_content_type: "", None, json_body(json!({"data": b64(&fixture("rocket.jpg"))})) => 415, "unsupported_media_type";
    min_confidence_abc: "?min_confidence=abc", JSON, json_body(json!({"data": b64(&fixture("rocket.jpg"))})) => 400, "invalid_min_confidence";
    min_confidence_negative: "?min_confidence=-1", JSON, json_body(json!({"data": b64(&fixture("rocket.jpg"))})) => 400, "invalid_min_confidence";
    min_confidence_over_100: "?min_confidence=101", JSON, json_body(json!({"data": b64(&fixture("rocket.jpg"))})) => 400, "invalid_min_confidence";
    unknown_parameter: "?min_confidense=50", JSON, json_body(json!({"data": b64(&fixture("rocket.jpg"))})) => 400, "unknown_parameter";
}

#[tokio::test]
async fn body_over_the_limit_without_content_length() {
    // A chunked body declares no length; the limit still holds while reading.
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let t = TestApp::start_with(
        Backend::Sqlite,
        Options {
            max_body_bytes: Some(100_000),
            ..Options::default()
        },
    )
    .await;
    let body = json_body(json!({"data": b64(&fixture("chelsea.png"))}));
    let mut conn = tokio::net::TcpStream::connect(t.url.trim_start_matches("http://"))
        .await
        .unwrap();
    let head = "POST /images HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n\
                Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n";
    conn.write_all(head.as_bytes()).await.unwrap();
    for chunk in body.chunks(16 * 1024) {
        // The server may answer and close before the whole body is sent.
        if conn
            .write_all(format!("{:x}\r\n", chunk.len()).as_bytes())
            .await
            .is_err()
            || conn.write_all(chunk).await.is_err()
            || conn.write_all(b"\r\n").await.is_err()
        {
            break;
        }
    }
    let _ = conn.write_all(b"0\r\n\r\n").await;
    let mut answer = String::new();
    let _ = conn.read_to_string(&mut answer).await;
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains("\"error\":\"body_too_large\""), "{answer}");
    t.assert_nothing_stored().await;
}

/// A GET that must be refused with `status`/`code`.
macro_rules! refused_get {
    ($($name:ident: $path:expr => $status:expr, $code:expr;)*) => {$(
        #[tokio::test]
        async fn $name() {
            let t = TestApp::start(Backend::Sqlite).await;
            assert_error(t.get($path).await, $status, $code).await;
        }
    )*};
}

refused_get! {
    tags_naming_no_tag: "/images?tags=,," => 400, "invalid_tags";
    tags_only_blanks: "/images?tags=%20,%20" => 400, "invalid_tags";
    month_13: "/images?min_date=2024-13-01" => 400, "invalid_date";
    day_32: "/images?max_date=2024-01-32" => 400, "invalid_date";
    iso_t_separator: "/images?min_date=2024-01-01T10:00:00" => 400, "invalid_date";
    negative_year: "/images?min_date=-024-01-01" => 400, "invalid_date";
    five_digit_year: "/tags?max_date=10000-01-01" => 400, "invalid_date";
    tags_month_13: "/tags?min_date=2024-13-01" => 400, "invalid_date";
    limit_zero: "/images?limit=0" => 400, "invalid_limit";
    limit_too_big: "/images?limit=1001" => 400, "invalid_limit";
    after_negative: "/images?after=-1" => 400, "invalid_after";
    repeated_parameter: "/images?limit=1&limit=2" => 400, "repeated_parameter";
    unknown_search_parameter: "/images?tag=cat" => 400, "unknown_parameter";
    unknown_stats_parameter: "/tags?tags=cat" => 400, "unknown_parameter";
    id_abc: "/images/abc" => 400, "invalid_id";
    id_zero: "/images/0" => 400, "invalid_id";
    id_negative: "/images/-1" => 400, "invalid_id";
    id_fraction: "/images/1.5" => 400, "invalid_id";
    id_alias_abc: "/image/abc" => 400, "invalid_id";
    id_beyond_any_picture: "/images/99999999999" => 404, "not_found";
    unknown_route: "/pictures" => 404, "not_found";
    unknown_nested_route: "/images/1/tags" => 404, "not_found";
}

#[tokio::test]
async fn max_date_before_min_date_is_an_empty_list() {
    let t = TestApp::start(Backend::Sqlite).await;
    assert_eq!(t.post_image(&fixture("rocket.jpg"), "").await.status(), 201);
    assert_eq!(
        t.get_json("/images?min_date=2030-01-01&max_date=2020-01-01")
            .await,
        json!([])
    );
    assert_eq!(
        t.get_json("/tags?min_date=2030-01-01&max_date=2020-01-01")
            .await,
        json!([])
    );
}

#[tokio::test]
async fn wrong_methods() {
    let t = TestApp::start(Backend::Sqlite).await;
    for (method, path) in [
        (reqwest::Method::PUT, "/images/1"),
        (reqwest::Method::PUT, "/images"),
        (reqwest::Method::POST, "/tags"),
        (reqwest::Method::POST, "/images/1"),
        (reqwest::Method::PATCH, "/image"),
    ] {
        let r = t
            .client
            .request(method.clone(), format!("{}{path}", t.url))
            .send()
            .await
            .unwrap();
        assert_error(r, 405, "method_not_allowed").await;
    }
}
