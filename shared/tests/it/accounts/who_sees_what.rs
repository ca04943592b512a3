//! Who sees what: every route that names a picture, the signed view URL,
//! listings, statistics and counts. A private picture of Alice's is never
//! visible to Bob, and Bob cannot tell it exists.

use super::*;

async fn sees(w: Privacy) {
    let Privacy {
        t,
        required,
        alice,
        bob,
        admin,
        alice_token,
        refused,
        private,
        p,
        q,
        anonymous,
        missing,
        ..
    } = w;
    // Every route that names a picture: Alice and the admin see hers; Bob and
    // anonymous callers get exactly what an id naming nothing gets.
    let view_url = private["view_url"].as_str().unwrap().to_string();
    let routes: [&str; 7] = [
        "/images/{}",
        "/image/{}",
        "/images/{}/file",
        "/images/{}/thumbnail?size=64",
        "/images/{}/colors?k=2",
        "/images/{}/palette.png?k=2",
        "/images/{}/similar",
    ];
    for route in &routes {
        let at = |id: i64| route.replace("{}", &id.to_string());
        for (who, cred) in [("alice", &alice), ("admin", &admin)] {
            assert_eq!(get(&t, &at(p), cred).await.status(), 200, "{who} {}", at(p));
        }
        let anon_status = if required { 401 } else { 404 };
        for (who, cred, status) in [
            ("bob", &bob, 404),
            ("a token naming alice's id", &alice_token, 404),
            ("anonymous", &Cred::None, anon_status),
        ] {
            let seen = get(&t, &at(p), cred).await;
            let none = get(&t, &at(missing), cred).await;
            assert_eq!(
                (seen.status().as_u16(), none.status().as_u16()),
                (status, status),
                "{who} {}",
                at(p)
            );
            let (seen, none): (Value, Value) =
                (seen.json().await.unwrap(), none.json().await.unwrap());
            assert_eq!(
                seen["error"],
                none["error"],
                "{who} cannot tell {} exists",
                at(p)
            );
            assert_eq!(
                seen["message"]
                    .as_str()
                    .unwrap()
                    .replace(&p.to_string(), "N"),
                none["message"]
                    .as_str()
                    .unwrap()
                    .replace(&missing.to_string(), "N"),
                "{who}"
            );
        }
        for (what, cred) in &refused {
            let r = get(&t, &at(p), cred).await;
            assert_error(r, 401, "unauthorized").await;
            let _ = what;
        }
        // Her public picture: everyone who may call sees it.
        assert_eq!(get(&t, &at(q), &bob).await.status(), 200, "{}", at(q));
        assert_eq!(
            get(&t, &at(q), &Cred::None).await.status(),
            if required { 401 } else { 200 },
            "{}",
            at(q)
        );
    }

    // The signed view URL lets anyone fetch the file, and only that file, until it expires.
    let r = get(&t, &view_url, &Cred::None).await;
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.bytes().await.unwrap().as_ref(),
        fixture("chelsea.png").as_slice()
    );
    let tampered = view_url.replace(&format!("/images/{p}/"), &format!("/images/{q}/"));
    assert_error(get(&t, &tampered, &Cred::None).await, 403, "bad_signature").await;
    let mut sig = view_url.clone();
    let last = sig.pop().unwrap();
    sig.push(if last == '0' { '1' } else { '0' });
    assert_error(get(&t, &sig, &Cred::None).await, 403, "bad_signature").await;
    let signer = t.app.signer().await.unwrap();
    let old = now() - 10;
    let picture = t.app.db.picture(p).await.unwrap().unwrap();
    let expired = pictures::domain::files::signed_view_url(signer, &picture, old);
    assert_error(get(&t, &expired, &Cred::None).await, 403, "url_expired").await;
    // ETag and 304.
    let r = get(&t, &view_url, &Cred::None).await;
    let etag = r.headers()["etag"].to_str().unwrap().to_string();
    assert_eq!(etag, format!("\"{}\"", private["hash"].as_str().unwrap()));
    let r = t
        .client
        .get(format!("{}{view_url}", t.url))
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 304);

    // Listings, statistics and counts: Bob never meets Alice's private picture.
    let everyone: Vec<i64> = [Some(p), Some(q), anonymous]
        .into_iter()
        .flatten()
        .collect();
    let visible_to_bob: Vec<i64> = [Some(q), anonymous].into_iter().flatten().collect();
    assert_eq!(
        ids(&json_of(get(&t, "/images", &alice).await, 200).await),
        everyone
    );
    assert_eq!(
        ids(&json_of(get(&t, "/images", &admin).await, 200).await),
        everyone
    );
    assert_eq!(
        ids(&json_of(get(&t, "/images", &bob).await, 200).await),
        visible_to_bob
    );
    assert_eq!(
        ids(&json_of(get(&t, "/images?tags=rocket", &bob).await, 200).await),
        visible_to_bob
    );
    let hash = private["hash"].as_str().unwrap();
    assert_eq!(
        ids(&json_of(get(&t, &format!("/images?hash={hash}"), &bob).await, 200).await),
        Vec::<i64>::new()
    );
    assert_eq!(
        ids(&json_of(get(&t, &format!("/images?hash={hash}"), &alice).await, 200).await),
        vec![p]
    );
    assert_eq!(
        ids(&json_of(get(&t, "/images?owner=me", &alice).await, 200).await),
        vec![p, q]
    );
    assert_eq!(
        ids(&json_of(get(&t, "/images?owner=me", &bob).await, 200).await),
        Vec::<i64>::new()
    );
    let n = everyone.len() as i64;
    assert_eq!(tag_count(&t, &alice, "rocket").await, n);
    assert_eq!(tag_count(&t, &admin, "rocket").await, n);
    assert_eq!(tag_count(&t, &bob, "rocket").await, n - 1);
    let today = chrono::Utc::now().format("%Y-%m-%d").to_string();
    let uploads = |stats: &Value| stats["uploads_per_day"][0]["count"].as_i64().unwrap();
    assert_eq!(
        uploads(&json_of(get(&t, "/stats", &alice).await, 200).await),
        n
    );
    assert_eq!(
        uploads(&json_of(get(&t, "/stats", &bob).await, 200).await),
        n - 1
    );
    assert_eq!(
        json_of(get(&t, "/stats", &bob).await, 200).await["uploads_per_day"][0]["date"],
        today
    );
    // GPS and the like are the owner's: the picture object still has the field.
    assert!(
        json_of(get(&t, &format!("/images/{q}"), &bob).await, 200)
            .await
            .get("gps")
            .is_some()
    );
    // Routes that need no credentials answer without them, whatever AUTH says.
    for path in ["/health", "/openapi.json", "/docs"] {
        assert_eq!(get(&t, path, &Cred::None).await.status(), 200, "{path}");
    }
    // Bad credentials are refused on every route, even where none are needed.
    for (_, cred) in &refused {
        assert_error(get(&t, "/tags", cred).await, 401, "unauthorized").await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_sqlite() {
    sees(privacy(Backend::Sqlite, "open").await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_mariadb() {
    sees(privacy(Backend::MySql, "open").await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn required_sqlite() {
    sees(privacy(Backend::Sqlite, "required").await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn required_mariadb() {
    sees(privacy(Backend::MySql, "required").await).await;
}
