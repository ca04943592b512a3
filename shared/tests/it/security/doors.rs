//! The doors an attacker tries one at a time: view links, files with
//! their place, closed accounts, bombs and floods, older databases, the
//! sweep.

use super::*;

both_backends! {
    // A view link works while whoever could have made it still sees the
    // picture: one made while it was public stops the moment it turns
    // private; its owner's keeps working; a deleted picture's link names
    // nothing. Files of private pictures are never for a shared cache.
    async fn view_links_end_with_privacy(backend) {
        let t = open_app(backend, &[]).await;
        let (_, a) = key_user(&t, "a@example.org").await;
        let picture = json_of(
            request(&t, "POST", "/images", &a).json(&json!({"data": b64(&fixture("coffee.png"))})).send().await.unwrap(),
            201,
        )
        .await;
        let id = picture["id"].as_i64().unwrap();
        let public_link = json_of(t.get(&format!("/images/{id}?data=false")).await, 200).await["view_url"].as_str().unwrap().to_string();
        let fetch = |link: String| {
            let t = &t;
            async move {
                let r = t.get(&link).await;
                let cache = r.headers().get("cache-control").map(|v| v.to_str().unwrap().to_string());
                (r.status().as_u16(), cache)
            }
        };
        let thumb = |link: &str| link.replace("/file?", "/thumbnail?") + "&size=64";
        let (status, cache) = fetch(public_link.clone()).await;
        assert_eq!((status, cache.as_deref()), (200, Some("public, no-cache")));
        assert_eq!(fetch(thumb(&public_link)).await.0, 200);
        // Private: the link anyone could have made stops at once.
        json_of(request(&t, "PATCH", &format!("/images/{id}"), &a).json(&json!({"private": true})).send().await.unwrap(), 200).await;
        assert_eq!(fetch(public_link.clone()).await.0, 404);
        assert_eq!(fetch(thumb(&public_link)).await.0, 404);
        // The owner's own link (a share) works, and is never publicly cacheable.
        let owners_link = json_of(request(&t, "GET", &format!("/images/{id}?data=false"), &a).send().await.unwrap(), 200).await["view_url"].as_str().unwrap().to_string();
        assert_ne!(owners_link, public_link);
        let (status, cache) = fetch(owners_link.clone()).await;
        assert_eq!((status, cache.as_deref()), (200, Some("private, no-cache")));
        let r = request(&t, "GET", &format!("/images/{id}/file"), &a).send().await.unwrap();
        assert_eq!(r.headers()["cache-control"], "private, no-cache");
        // An altered link is still refused as one.
        let altered = owners_link.replace("sig=", "sig=0");
        assert_error(t.get(&altered).await, 403, "bad_signature").await;
        // Public again: both work; deleted: neither.
        json_of(request(&t, "PATCH", &format!("/images/{id}"), &a).json(&json!({"private": false})).send().await.unwrap(), 200).await;
        assert_eq!(fetch(public_link.clone()).await.0, 200);
        assert_eq!(fetch(owners_link.clone()).await.0, 200);
        assert_eq!(request(&t, "DELETE", &format!("/images/{id}"), &a).send().await.unwrap().status(), 204);
        assert_eq!(fetch(public_link).await.0, 404);
        assert_eq!(fetch(owners_link).await.0, 404);
    }

    // Anyone but the owner and admins gets a file without the place it was
    // taken, through every route that serves its bytes; the owner gets it
    // byte for byte.
    async fn files_lose_their_place_for_others(backend) {
        let t = open_app(backend, &[]).await;
        let (_, a) = key_user(&t, "a@example.org").await;
        let (_, b) = key_user(&t, "b@example.org").await;
        let original = exif_fixture("south_west.jpg");
        assert!(exif_of(&original).gps.is_some(), "the fixture has a place");
        let picture = json_of(
            request(&t, "POST", "/images", &a).json(&json!({"data": b64(&original)})).send().await.unwrap(),
            201,
        )
        .await;
        let (id, hash) = (picture["id"].as_i64().unwrap(), picture["hash"].as_str().unwrap().to_string());
        let view = picture["view_url"].as_str().unwrap().to_string();
        let bytes = |cred: Cred, path: String| {
            let t = &t;
            async move {
                let r = request(t, "GET", &path, &cred).send().await.unwrap();
                assert_eq!(r.status(), 200, "{path}");
                let etag = r.headers()["etag"].to_str().unwrap().to_string();
                (r.bytes().await.unwrap().to_vec(), etag)
            }
        };
        let data = |cred: Cred| {
            let t = &t;
            async move {
                let body = json_of(request(t, "GET", &format!("/images/{id}"), &cred).send().await.unwrap(), 200).await;
                base64::Engine::decode(&base64::engine::general_purpose::STANDARD, body["data"].as_str().unwrap()).unwrap()
            }
        };
        let (mine, my_etag) = bytes(a.clone(), format!("/images/{id}/file")).await;
        assert_eq!(mine, original, "the owner gets the original");
        assert_eq!(data(a.clone()).await, original);
        assert_eq!(bytes(Cred::Key(ADMIN.into()), format!("/images/{id}/file")).await.0, original);
        for (who, cred) in [("anonymous", Cred::None), ("another user", b.clone())] {
            for path in [format!("/images/{id}/file"), view.clone(), format!("/api/images/{hash}")] {
                let (theirs, etag) = bytes(cred.clone(), path.clone()).await;
                assert_ne!(etag, my_etag, "{who} {path}: another entity");
                assert_eq!(theirs.len(), original.len(), "{who} {path}: nothing re-encoded");
                let exif = exif_of(&theirs);
                assert_eq!(exif.gps, None, "{who} {path}");
                assert_eq!(exif.camera, exif_of(&original).camera, "{who} {path}: the rest stays");
                image::load_from_memory(&theirs).expect("still a picture");
            }
            assert_eq!(exif_of(&data(cred).await).gps, None, "{who}: data");
        }
        // The JSON never showed them the place either.
        let seen = json_of(t.get(&format!("/images/{id}?data=false")).await, 200).await;
        assert_eq!(seen["gps"], Value::Null);
    }

    // Closing an account ends every door it had: keys, upload links and
    // presigned slots stop at once; what arrives afterwards is refused and
    // stores nothing; the slots' objects are gone.
    async fn account_deletion_ends_every_door(backend) {
        let t = open_app(backend, &[]).await;
        let (a_id, a) = key_user(&t, "a@example.org").await;
        let link = json_of(request(&t, "POST", "/upload-links", &a).json(&json!({"expiry": 3600})).send().await.unwrap(), 201).await;
        let link = link["upload_id"].as_str().unwrap().to_string();
        let slots = json_of(request(&t, "POST", "/upload-urls", &a).json(&json!({"count": 2})).send().await.unwrap(), 200).await;
        let urls: Vec<String> = slots["image_upload_urls"].as_array().unwrap().iter().map(|s| s["url"].as_str().unwrap().to_string()).collect();
        // One slot has its object already.
        let r = t.client.put(format!("{}{}", t.url, urls[0])).body(distinct_png(1)).send().await.unwrap();
        assert_eq!(r.status(), 200);
        json_of(request(&t, "POST", "/images", &a).json(&json!({"data": b64(&distinct_png(2))})).send().await.unwrap(), 201).await;
        assert_eq!(request(&t, "DELETE", "/users/me", &a).send().await.unwrap().status(), 204);
        let (pictures, _) = t.row_counts().await;
        assert_eq!(pictures, 0, "the account's pictures are gone");
        let uploads = t.images.join("uploads");
        let left: Vec<_> = std::fs::read_dir(&uploads).map(|d| d.flatten().collect()).unwrap_or_default();
        assert!(left.is_empty(), "slot objects left: {left:?}");
        // Every door is shut, and nothing gets in.
        assert_error(request(&t, "GET", "/users/me", &a).send().await.unwrap(), 401, "unauthorized").await;
        for url in &urls {
            let r = t.client.put(format!("{}{url}", t.url)).body(distinct_png(3)).send().await.unwrap();
            assert_eq!(r.status(), 404, "{url}");
        }
        let form = form_with("late.png", "image_files", distinct_png(4));
        let r = t.client.post(format!("{}/uploads/{link}", t.url)).multipart(form).send().await.unwrap();
        assert_error(r, 404, "not_found").await;
        let form = form_with("late.png", "image_files", distinct_png(5));
        let r = t.client.post(format!("{}/api/upload-images/{link}", t.url)).multipart(form).send().await.unwrap();
        assert_error(r, 404, "not_found").await;
        let (pictures, _) = t.row_counts().await;
        assert_eq!(pictures, 0, "nothing stored for {a_id} afterwards");
        assert!(std::fs::read_dir(&uploads).map(|d| d.count()).unwrap_or(0) == 0);
    }

    // Decompression bombs and floods get a clear answer at once and store
    // nothing: an image whose pixels could never fit the decode budget is a
    // 413 (on every route that decodes, and when queued for later), one whose
    // header lies about pixels it does not have a 400, lists past their
    // bounds a 400 before they are read, and a budget held by others a 503
    // with Retry-After.
    async fn bombs_and_floods_get_a_clear_answer(backend) {
        let t = open_app(backend, &[("DECODE_WAIT_MS", "200")]).await;
        let gif_bomb = gif_declaring(10_000, 10_000);
        assert!(gif_bomb.len() < 64, "a bomb is tiny: {} bytes", gif_bomb.len());
        for query in ["", "?async=true"] {
            let r = t.post_image(&gif_bomb, query).await;
            assert_error(r, 413, "decode_too_large").await;
        }
        let form = form_with("bomb.gif", "image", gif_bomb.clone());
        assert_error(t.client.post(format!("{}/colors", t.url)).multipart(form).send().await.unwrap(), 413, "decode_too_large").await;
        let form = form_with("bomb.gif", "image", gif_bomb.clone());
        assert_error(t.client.post(format!("{}/prominent-colors", t.url)).multipart(form).send().await.unwrap(), 413, "decode_too_large").await;
        let form = form_with("bomb.gif", "image_files", gif_bomb.clone());
        let answer = json_of(t.client.post(format!("{}/images", t.url)).multipart(form).send().await.unwrap(), 200).await;
        assert_eq!(answer["errors"]["bomb.gif"]["error"], "decode_too_large", "{answer}");
        // A PNG declaring 96 megapixels of RGB it does not hold: more than the budget.
        assert_error(t.post_image(&png_declaring(12_000, 8_000), "").await, 413, "decode_too_large").await;
        // Within the budget, the lie is found by decoding: no pixels.
        assert_error(t.post_image(&png_declaring(4_000, 3_000), "").await, 400, "invalid_image").await;
        // JPEGs declaring 96 megapixels and holding none: refused as what they
        // are, baseline or progressive, before a buffer is made for them.
        for progressive in [false, true] {
            assert_error(t.post_image(&jpeg_declaring(60_000, 1_600, progressive), "").await, 400, "invalid_image").await;
        }
        // Beyond 100 megapixels the header alone is refused.
        assert_error(t.post_image(&png_declaring(20_000, 20_000), "").await, 400, "image_too_large").await;
        t.assert_nothing_stored().await;

        // Floods: a 200,000-tag body, a 16,500-tag search, refused unread.
        let many: Vec<String> = (0..200_000).map(|i| format!("t{i}")).collect();
        let r = t.client.post(format!("{}/images", t.url))
            .json(&json!({"data": b64(&distinct_png(1)), "tags": many}))
            .send().await.unwrap();
        assert_error(r, 400, "invalid_tags").await;
        // 16,500 tags in a URL under the HTTP stack's 64 KiB: short names.
        let tags = (0..16_500).map(|i| format!("t{}", i % 10)).collect::<Vec<_>>().join(",");
        assert_error(t.get(&format!("/images?tags={tags}")).await, 400, "invalid_tags").await;
        assert_error(t.get(&format!("/images?tags={}", ",".repeat(100))).await, 400, "invalid_tags").await;
        let r = t.client.patch(format!("{}/images/1", t.url)).json(&json!({"add_tags": (0..300).map(|i| format!("t{i}")).collect::<Vec<_>>()})).send().await.unwrap();
        assert_error(r, 400, "invalid_tags").await;
        t.assert_nothing_stored().await;

        // The budget held by other decodes: 503 with Retry-After, then room again.
        let held = t.app.decodes.reserve(t.app.decodes.total_bytes()).await.unwrap();
        let form = form_with("small.png", "image", distinct_png(2));
        let r = t.client.post(format!("{}/colors", t.url)).multipart(form).send().await.unwrap();
        assert_eq!(r.headers().get("retry-after").map(|v| v.to_str().unwrap()), Some("1"));
        assert_error(r, 503, "too_busy").await;
        assert_error(t.post_image(&distinct_png(3), "").await, 503, "too_busy").await;
        t.assert_nothing_stored().await;
        drop(held);
        let form = form_with("small.png", "image", distinct_png(2));
        json_of(t.client.post(format!("{}/colors", t.url)).multipart(form).send().await.unwrap(), 200).await;
        json_of(t.post_image(&distinct_png(3), "").await, 201).await;
    }

    // A database of an older release: ids compared by the server's default
    // collation (MySQL), and a token's user keyed by the token's subject as it
    // came. The next start converts the columns and moves that user into the
    // tokens' namespace: the user keeps their pictures, a token differing
    // only in case gets none of them.
    async fn older_databases_are_brought_up_to_date(backend) {
        let vars = [("JWT_ISSUER", ISSUER), ("JWT_AUDIENCE", AUDIENCE)];
        let old = open_app(backend, &vars).await;
        let alice = Cred::Bearer(token_for("alice"));
        let made = json_of(
            request(&old, "POST", "/images?private=true", &alice).json(&json!({"data": b64(&distinct_png(1))})).send().await.unwrap(),
            201,
        )
        .await;
        let id = made["id"].as_i64().unwrap();
        let new_id = made["owner"].as_str().unwrap().to_string();
        json_of(request(&old, "POST", "/users", &alice).send().await.unwrap(), 201).await;
        // As the older release left it: the subject itself as the user's id.
        let mut undo = vec![
            "DELETE FROM schema_steps WHERE name = 'token_users_namespaced'".to_string(),
        ];
        for (table, column) in [("users", "id"), ("pictures", "owner"), ("tags", "scope"), ("tag_totals", "scope"), ("tag_days", "scope"), ("picture_stats", "scope")] {
            undo.push(format!("UPDATE {table} SET {column} = 'alice' WHERE {column} = '{new_id}'"));
        }
        if backend == Backend::MySql {
            undo.push("DELETE FROM schema_steps WHERE name = '0012_bytewise_ids'".into());
            undo.push("ALTER TABLE api_keys DROP FOREIGN KEY api_keys_user_fk".into());
            for (table, column, null) in [
                ("users", "id", "NOT NULL"), ("api_keys", "user_id", "NOT NULL"), ("pictures", "owner", "NOT NULL DEFAULT ''"),
                ("tags", "scope", "NOT NULL DEFAULT ''"), ("tag_totals", "scope", "NOT NULL"), ("tag_days", "scope", "NOT NULL"),
                ("picture_stats", "scope", "NOT NULL"), ("upload_links", "owner", "NOT NULL"), ("upload_slots", "owner", "NOT NULL"),
            ] {
                undo.push(format!("ALTER TABLE {table} MODIFY {column} VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci {null}"));
            }
            undo.push("ALTER TABLE api_keys ADD CONSTRAINT api_keys_user_fk FOREIGN KEY (user_id) REFERENCES users(id) ON DELETE CASCADE".into());
        }
        for statement in &undo {
            old.execute(statement).await;
        }
        // The next release starts on it.
        let mut options = vec![
            ("AUTH".to_string(), "open".to_string()),
            ("JWT_SECRET".to_string(), JWT_SECRET.to_string()),
            ("JWT_ISSUER".to_string(), ISSUER.to_string()),
            ("JWT_AUDIENCE".to_string(), AUDIENCE.to_string()),
        ];
        options.push(("API_KEYS".to_string(), ADMIN.to_string()));
        let t = TestApp::start_with(backend, Options { database_url: Some(old.database_url.clone()), vars: options, ..Options::default() }).await;
        let mine = json_of(request(&t, "GET", &format!("/images/{id}?data=false"), &alice).send().await.unwrap(), 200).await;
        assert_eq!(mine["owner"], new_id.as_str(), "moved into the tokens' namespace");
        let me = json_of(request(&t, "GET", "/users/me", &alice).send().await.unwrap(), 200).await;
        assert_eq!(me["id"], new_id.as_str());
        for other in ["Alice", "ALICE"] {
            let cred = Cred::Bearer(token_for(other));
            assert_error(request(&t, "GET", &format!("/images/{id}"), &cred).send().await.unwrap(), 404, "not_found").await;
            let summary = json_of(request(&t, "GET", "/api/v1/images/private/summary", &cred).send().await.unwrap(), 200).await;
            assert_eq!(summary["images"], json!([]), "{other}");
            assert_error(request(&t, "GET", "/users/me", &cred).send().await.unwrap(), 404, "not_found").await;
        }
        if backend == Backend::MySql {
            use sqlx::Connection;
            let mut c = sqlx::MySqlConnection::connect(&t.database_url).await.unwrap();
            let loose: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM information_schema.columns WHERE table_schema = DATABASE() \
                 AND column_name IN ('id', 'owner', 'scope', 'user_id') AND table_name IN \
                 ('users', 'api_keys', 'pictures', 'tags', 'tag_totals', 'tag_days', 'picture_stats', 'upload_links', 'upload_slots') \
                 AND collation_name NOT IN ('utf8mb4_nopad_bin', 'utf8mb4_0900_bin')",
            )
            .fetch_one(&mut c)
            .await
            .unwrap();
            assert_eq!(loose, 0, "every id column compares byte for byte");
        }
    }

    // The sweep sees every file the service writes, at every depth, and
    // removes what no row refers to: a thumbnail written after its picture
    // was deleted, an object at a slot that no longer exists, a partial write.
    async fn the_sweep_finds_orphans_at_every_depth(backend) {
        let t = open_app(backend, &[]).await;
        let kept = json_of(t.post_image(&distinct_png(1), "").await, 201).await["id"].as_i64().unwrap();
        assert_eq!(t.get(&format!("/images/{kept}/thumbnail?size=64")).await.status(), 200);
        let stem = "0123456789abcdef0123456789abcdef";
        let gone = t.images.join(format!("{stem}.png"));
        // A thumbnail of a picture that is gone: its file and row went while it was made.
        t.app.store.put_derived(&gone.display().to_string(), "t64.jpg", b"thumb").await.unwrap();
        std::fs::create_dir_all(t.images.join("uploads")).unwrap();
        std::fs::write(t.images.join("uploads").join(stem), b"slot object").unwrap();
        std::fs::write(t.images.join("derived").join(stem).join(format!(".tmp-{stem}.part")), b"half").unwrap();
        let report = pictures::domain::reconcile(&*t.app.db, &*t.app.store, std::time::Duration::ZERO).await.unwrap();
        assert_eq!(report.removed.len(), 3, "{:?}", report.removed);
        assert!(!t.images.join("derived").join(stem).join("t64.jpg").exists());
        assert!(!t.images.join("uploads").join(stem).exists());
        // What rows refer to stays: the kept picture and its thumbnail.
        assert_eq!(t.get(&format!("/images/{kept}/file")).await.status(), 200);
        let derived: Vec<_> = std::fs::read_dir(t.images.join("derived")).unwrap().flatten().collect();
        assert_eq!(derived.len(), 1, "the kept picture's folder only");
    }
}
