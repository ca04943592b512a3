//! Sign-up, keys, tokens and conflicts.

use super::*;

both_backends! {
    // Sign-up, keys, tokens and conflicts.
    async fn users_and_keys(backend) {
        let t = TestApp::start_with(backend, options("open")).await;
        // Self sign-up under AUTH=open: an account and its first key, shown once.
        let r = t.client.post(format!("{}/users", t.url)).send().await.unwrap();
        let me = json_of(r, 201).await;
        let key = me["api_key"].as_str().unwrap().to_string();
        assert!(key.len() >= 40);
        assert_eq!(me["image_upload_count"], 0);
        let cred = Cred::Key(key.clone());
        let listed = json_of(get(&t, "/users/me/keys", &cred).await, 200).await;
        assert_eq!(listed.as_array().unwrap().len(), 1);
        assert!(listed[0].get("key").is_none(), "never the key again: {listed}");
        assert!(!listed.to_string().contains(&key));
        // Uploads count.
        upload(&t, &cred, &fixture("rocket.jpg"), "").await;
        assert_eq!(json_of(get(&t, "/users/me", &cred).await, 200).await["image_upload_count"], 1);
        // A user cannot create users; an admin creating a taken email gets 409.
        let r = send(&t, reqwest::Method::POST, "/users", &cred, Some(json!({"email": "x@example.org"}))).await;
        assert_error(r, 403, "forbidden").await;
        user(&t, "x@example.org").await;
        let r = send(&t, reqwest::Method::POST, "/users", &Cred::Key(ADMIN.into()), Some(json!({"email": "X@example.org"}))).await;
        let body = assert_error(r, 409, "conflict").await;
        assert!(body["detail"].is_string());
        // A token creates its own user once; the second time is a conflict.
        let tok = Cred::Bearer(token(json!({"user_id": "73578802-dfea", "email": "t@example.org", "exp": now() + 600}), JWT_SECRET));
        let r = send(&t, reqwest::Method::POST, "/users", &tok, None).await;
        let made = json_of(r, 201).await;
        // The token's user, in the tokens' namespace (no JWT_ISSUER: none named).
        assert_eq!((made["id"].clone(), made["email"].clone()), (json!("jwt::73578802-dfea"), json!("t@example.org")));
        assert!(made.get("api_key").is_none(), "a token's user signs in with tokens");
        assert_error(send(&t, reqwest::Method::POST, "/users", &tok, None).await, 409, "conflict").await;
        // An admin is not a user.
        assert_error(get(&t, "/users/me", &Cred::Key(ADMIN.into())).await, 403, "forbidden").await;
        // Malformed authorization headers.
        let r = t.client.get(format!("{}/tags", t.url)).header("authorization", "Basic abc").send().await.unwrap();
        assert_error(r, 401, "unauthorized").await;
        let r = t.client.get(format!("{}/tags", t.url)).header("x-api-key", "").send().await.unwrap();
        assert_error(r, 401, "unauthorized").await;
    }
}
