//! A migration cut off after any statement (of a seed database, or of a
//! new one) finishes at the next start, ending as if made in one go.

use super::*;

async fn cut_at_every_statement(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let rows = seed_rows(20, &dir.path().join("Images"));
    let sql = insert_sql(&rows);
    // The reference: the same database migrated in one go.
    let reference = Seeded::create(backend, dir.path(), &sql).await;
    reference.open().migrate().await.unwrap();
    let (want_schema, want_data) = (schema_of(&reference).await, data_of(&reference).await);
    assert!(
        want_schema.iter().any(|c| c.contains("CASCADE")),
        "{want_schema:?}"
    );
    reference.drop_database();

    let mut cuts = 0;
    for n in 1.. {
        let seeded = Seeded::create(backend, dir.path(), &sql).await;
        let finished = seeded.migrate_cut_after(n).await;
        if !finished {
            cuts += 1;
            // The next start, a new process, finishes the job.
            seeded
                .open()
                .migrate()
                .await
                .unwrap_or_else(|e| panic!("after a cut at statement {n}: {e}"));
        }
        assert_eq!(
            schema_of(&seeded).await,
            want_schema,
            "cut at statement {n}"
        );
        assert_eq!(data_of(&seeded).await, want_data, "cut at statement {n}");
        seeded.drop_database();
        if finished {
            break;
        }
    }
    assert!(cuts >= 10, "only {cuts} statements");
}

/// A new database, cut at every statement, ends as if made in one go.
async fn cut_fresh(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    for n in 1.. {
        let seeded = Seeded::empty(backend, dir.path()).await;
        let finished = seeded.migrate_cut_after(n).await;
        if !finished {
            seeded.open().migrate().await.unwrap();
        }
        let steps = seeded.strings("SELECT name FROM schema_steps").await;
        assert_eq!(steps.len(), 14, "cut at {n}");
        let schema = schema_of(&seeded).await;
        assert!(
            schema.iter().any(|c| c.contains("tags_day_stats")),
            "cut at {n}: {schema:?}"
        );
        seeded.drop_database();
        if finished {
            break;
        }
    }
}

// A cut at every statement means a migration from scratch per statement:
// the longest tests of the run, so the two paths run apart, side by side.
#[tokio::test]
async fn mysql_migration_cut_after_any_statement_finishes_at_the_next_start() {
    cut_at_every_statement(Backend::MySql).await;
}

#[tokio::test]
async fn mysql_fresh_migration_cut_after_any_statement_finishes_at_the_next_start() {
    cut_fresh(Backend::MySql).await;
}

#[tokio::test]
async fn sqlite_migration_cut_after_any_statement_finishes_at_the_next_start() {
    cut_at_every_statement(Backend::Sqlite).await;
    cut_fresh(Backend::Sqlite).await;
}
