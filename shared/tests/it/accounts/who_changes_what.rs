//! Who changes what: changing and deleting a picture (the owner or an
//! admin; others get the 404 of nothing), anonymous pictures (admins
//! only), and deleting an account with all it owns.

use super::*;

async fn changes(w: Privacy) {
    let n = w.everyone().len() as i64;
    let Privacy {
        t,
        required,
        alice,
        bob,
        admin,
        p,
        q,
        anonymous,
        missing,
        ..
    } = w;
    // Changing and deleting: the owner or an admin; others get the 404 of nothing.
    for (cred, status) in [(&bob, 404), (&Cred::None, if required { 401 } else { 404 })] {
        for (method, path, body) in [
            (
                reqwest::Method::PATCH,
                format!("/images/{p}"),
                Some(json!({"private": false})),
            ),
            (reqwest::Method::DELETE, format!("/images/{p}"), None),
            (reqwest::Method::POST, format!("/images/{p}/retag"), None),
        ] {
            let r = send(&t, method.clone(), &path, cred, body).await;
            assert_eq!(r.status(), status, "{method} {path}");
        }
        let r = send(
            &t,
            reqwest::Method::DELETE,
            "/images",
            cred,
            Some(json!({"ids": [p]})),
        )
        .await;
        if status == 404 {
            assert_eq!(
                json_of(r, 200).await,
                json!({"deleted": [], "not_found": [p]})
            );
        } else {
            assert_eq!(r.status(), status, "DELETE /images");
        }
    }
    // Alice makes it public: Bob sees it, and the statistics follow.
    let changed = json_of(
        send(
            &t,
            reqwest::Method::PATCH,
            &format!("/images/{p}"),
            &alice,
            Some(json!({"private": false, "name": "cat.png", "add_tags": ["whiskers"]})),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(
        (changed["private"].clone(), changed["name"].clone()),
        (json!(false), json!("cat.png"))
    );
    assert_eq!(get(&t, &format!("/images/{p}"), &bob).await.status(), 200);
    assert_eq!(tag_count(&t, &bob, "rocket").await, n);
    assert_eq!(tag_count(&t, &bob, "whiskers").await, 1);
    // Private again, then deleted by the admin: row, tags, statistics and file go.
    json_of(
        send(
            &t,
            reqwest::Method::PATCH,
            &format!("/images/{p}"),
            &alice,
            Some(json!({"private": true})),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(tag_count(&t, &bob, "whiskers").await, 0);
    let files_before = t.files().iter().filter(|f| f.is_file()).count();
    assert_eq!(
        send(
            &t,
            reqwest::Method::DELETE,
            &format!("/images/{p}"),
            &admin,
            None
        )
        .await
        .status(),
        204
    );
    assert_eq!(get(&t, &format!("/images/{p}"), &alice).await.status(), 404);
    assert_eq!(
        t.files().iter().filter(|f| f.is_file()).count(),
        files_before - 1
    );
    assert_eq!(tag_count(&t, &admin, "rocket").await, n - 1);
    assert_eq!(tag_count(&t, &admin, "whiskers").await, 0);

    // Anonymous pictures: only an admin may delete them.
    if let Some(anon) = anonymous {
        assert_eq!(
            send(
                &t,
                reqwest::Method::DELETE,
                &format!("/images/{anon}"),
                &alice,
                None
            )
            .await
            .status(),
            404
        );
        let r = send(
            &t,
            reqwest::Method::DELETE,
            "/images",
            &admin,
            Some(json!({"ids": [anon, missing]})),
        )
        .await;
        assert_eq!(
            json_of(r, 200).await,
            json!({"deleted": [anon], "not_found": [missing]})
        );
    }

    // Deleting the account: its pictures, keys and statistics go; the key stops working.
    assert_eq!(
        send(&t, reqwest::Method::DELETE, "/users/me", &alice, None)
            .await
            .status(),
        204
    );
    assert_error(get(&t, "/users/me", &alice).await, 401, "unauthorized").await;
    assert_eq!(get(&t, &format!("/images/{q}"), &admin).await.status(), 404);
    let left = json_of(get(&t, "/images", &admin).await, 200).await;
    assert_eq!(ids(&left), Vec::<i64>::new());
    assert_eq!(
        json_of(get(&t, "/tags", &admin).await, 200).await,
        json!([])
    );
    assert_eq!(t.row_counts().await, (0, 0));
    assert!(t.files().iter().all(|f| !f.is_file()), "{:?}", t.files());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_sqlite() {
    changes(privacy(Backend::Sqlite, "open").await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_mariadb() {
    changes(privacy(Backend::MySql, "open").await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn required_sqlite() {
    changes(privacy(Backend::Sqlite, "required").await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn required_mariadb() {
    changes(privacy(Backend::MySql, "required").await).await;
}
