//! Refused requests: the errors of every endpoint, a body over the limit,
//! and SQL in a parameter, which stays data.

use super::*;

contract_tests! {
    async fn sql_is_data(backend) {
        let t = TestApp::start(backend).await;
        let id = seed(&t, "2024-01-10 08:00:00", &[("cat' or '1'='1", 90.0), ("cat", 95.0)]).await;
        for q in [
            "/images?tags=cat'%20OR%20'1'='1",
            "/images?tags=x')%20OR%201=1%20--%20",
            "/images?tags=cat;DROP%20TABLE%20pictures",
        ] {
            let got = t.get_json(q).await;
            let expected: Vec<i64> = if q.contains("OR%20'1'='1") { vec![id] } else { vec![] };
            assert_eq!(ids(&got), expected, "{q}");
        }
        assert_error(t.get("/images?min_date=2024-01-01'%20OR%201=1").await, 400, "invalid_date").await;
        assert_error(t.get("/images?limit=1;DROP%20TABLE%20tags").await, 400, "invalid_limit").await;
        assert_error(t.get("/images?after=0%20OR%201=1").await, 400, "invalid_after").await;
        assert_error(t.get("/images/1%20OR%201=1").await, 400, "invalid_id").await;
        assert_error(t.get("/tags?max_date=x'%20UNION%20SELECT").await, 400, "invalid_date").await;
        assert_error(t.post_image(&fixture("rocket.jpg"), "?min_confidence=0%20OR%201=1").await, 400, "invalid_min_confidence").await;
        // Everything is still there.
        assert_eq!(t.row_counts().await, (1, 2));
    }

    async fn errors_of_every_endpoint(backend) {
        let t = TestApp::start(backend).await;
        let post = |content_type: &'static str, body: Vec<u8>| {
            t.client.post(format!("{}/images", t.url)).header("content-type", content_type).body(body).send()
        };
        // A small image: a large body the server refuses unread can race the client's sending of it.
        let gif = serde_json::to_vec(&serde_json::json!({"data": b64(&fixture("no_time_for_that_tiny.gif"))})).unwrap();
        assert_error(post("text/plain", gif).await.unwrap(), 415, "unsupported_media_type").await;
        assert_error(post("application/json", b"{\"data\": ".to_vec()).await.unwrap(), 400, "invalid_json").await;
        assert_error(post("application/json", b"{\"image\": \"x\"}".to_vec()).await.unwrap(), 400, "missing_data").await;
        assert_error(post("application/json", b"{\"data\": \"*not base64*\"}".to_vec()).await.unwrap(), 400, "invalid_base64").await;
        // Not UTF-8: refused as JSON, never patched into something that parses.
        // (cargo lambda watch answers a 500 of its own instead: tests/emulator.rs.)
        if !backend.emulator {
            assert_error(post("application/json", b"{\"data\": \"R0lG\xff\"}".to_vec()).await.unwrap(), 400, "invalid_json").await;
        }
        assert_error(t.post_image(b"just some text", "").await, 400, "not_an_image").await;
        assert_error(t.post_image(&fixture("rocket.jpg"), "?min_confidence=101").await, 400, "invalid_min_confidence").await;
        assert_error(t.get("/images?limit=0").await, 400, "invalid_limit").await;
        assert_error(t.get("/images?tag=cat").await, 400, "unknown_parameter").await;
        assert_error(t.get("/images?limit=1&limit=2").await, 400, "repeated_parameter").await;
        assert_error(t.get("/image/abc").await, 400, "invalid_id").await;
        assert_error(t.get("/images/0").await, 400, "invalid_id").await;
        assert_error(t.get("/images/99999999999").await, 404, "not_found").await;
        assert_error(t.get("/tags?min_date=2024-13-01").await, 400, "invalid_date").await;
        assert_error(t.get("/images/1?x=1").await, 400, "unknown_parameter").await;
        t.assert_nothing_stored().await;
    }

    // The limit is the serving process's: MAX_BODY_BYTES locally, Lambda's
    // 6 MiB less 64 KiB in a function (the emulator sets AWS_LAMBDA_RUNTIME_API).
    async fn a_body_over_the_limit_is_413(backend) {
        // Locally a small limit: a server that refuses a body by its length
        // closes the connection, and a client still writing megabytes then
        // sees a broken pipe instead of the answer. The emulator reads the
        // whole body before the function sees it.
        let options = Options { max_body_bytes: (!backend.emulator).then_some(1024), ..Options::default() };
        let t = TestApp::start_with(backend, options).await;
        let limit = if backend.emulator { pictures::config::LAMBDA_MAX_BODY_BYTES } else { t.app.max_body_bytes };
        for (size, status, code) in [(limit + 1, 413, "body_too_large"), (limit, 400, "invalid_base64")] {
            // Valid JSON of exactly `size` bytes whose `data` is not base64.
            let body = format!("{{\"data\":\"{}\"}}", "!".repeat(size - 11));
            let r = t.client.post(format!("{}/images", t.url)).header("content-type", "application/json").body(body).send().await.unwrap();
            assert_error(r, status, code).await;
        }
        t.assert_nothing_stored().await;
    }
}
