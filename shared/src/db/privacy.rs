//! Who sees which picture, as SQL: the rule of [`Visibility::sees`] on a
//! picture's row, and the statistics scopes a caller reads
//! ([`Visibility::scopes`]). Every query that answers a caller builds its
//! condition here.

use super::sql::Sql;
use crate::domain::Visibility;

/// Appends ` AND <the rule>` on the picture row `p` (nothing for a caller
/// who sees everything).
pub(super) fn push_visible<'a>(q: &mut Sql<'a>, visibility: &'a Visibility) {
    match visibility {
        Visibility::All => {}
        Visibility::Public => {
            q.push(" AND p.private = 0");
        }
        Visibility::Owner(id) => {
            q.push(" AND (p.private = 0 OR p.owner = ")
                .push_bind(id.as_str())
                .push(")");
        }
    }
}

/// Appends ` WHERE`/` AND column IN (scopes)` when the caller does not see
/// every scope; `first`: whether the statement has no `WHERE` yet. Whether
/// it still has none after.
pub(super) fn push_scopes<'a>(
    q: &mut Sql<'a>,
    column: &str,
    visibility: &'a Visibility,
    first: bool,
) -> bool {
    let Some(scopes) = visibility.scopes() else {
        return first;
    };
    q.push(if first { " WHERE " } else { " AND " })
        .push(column)
        .push(" IN (")
        .push_list(scopes)
        .push(")");
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{UserId, scope_of};
    use sqlx::{Connection, Sqlite, SqliteConnection};

    use crate::db::sql::Raw;

    /// Every owner/privacy pair against every kind of caller: the SQL picks
    /// exactly the rows `Visibility::sees` does, and the scopes a caller
    /// reads are exactly those of the pictures it sees.
    #[tokio::test]
    async fn the_sql_agrees_with_sees() {
        let mut conn = SqliteConnection::connect("sqlite::memory:").await.unwrap();
        Sql::new("CREATE TABLE pictures (id INTEGER, owner TEXT, private INTEGER, scope TEXT)")
            .execute(Raw::<Sqlite>(&mut conn))
            .await
            .unwrap();
        let owners = ["", "alice", "bob", "Alice"];
        let mut rows = Vec::new();
        for (i, owner) in owners.iter().enumerate() {
            for private in [false, true] {
                let id = (i * 2 + usize::from(private)) as i64;
                let owner_id = (!owner.is_empty()).then_some(*owner);
                rows.push((id, owner_id, private));
                Sql::new("INSERT INTO pictures VALUES (?, ?, ?, ?)")
                    .bind(id)
                    .bind(*owner)
                    .bind(i64::from(private))
                    .bind(scope_of(owner_id, private))
                    .execute(Raw::<Sqlite>(&mut conn))
                    .await
                    .unwrap();
            }
        }
        let callers = [
            Visibility::Public,
            Visibility::Owner(UserId::parse("alice").unwrap()),
            Visibility::Owner(UserId::parse("bob").unwrap()),
            Visibility::All,
        ];
        for visibility in &callers {
            let expected: Vec<i64> = rows
                .iter()
                .filter(|(_, owner, private)| visibility.sees(*owner, *private))
                .map(|(id, _, _)| *id)
                .collect();
            let mut q = Sql::new("SELECT p.id FROM pictures p WHERE 1 = 1");
            push_visible(&mut q, visibility);
            q.push(" ORDER BY p.id");
            let seen: Vec<i64> = q.scalars(Raw::<Sqlite>(&mut conn)).await.unwrap();
            assert_eq!(seen, expected, "{visibility:?}");

            // A picture without an owner is never private (its statistics
            // would count as public).
            let mut q =
                Sql::new("SELECT p.id FROM pictures p WHERE (p.owner <> '' OR p.private = 0)");
            push_scopes(&mut q, "p.scope", visibility, false);
            q.push(" ORDER BY p.id");
            let in_scope: Vec<i64> = q.scalars(Raw::<Sqlite>(&mut conn)).await.unwrap();
            let possible: Vec<i64> = rows
                .iter()
                .filter(|(id, owner, private)| {
                    expected.contains(id) && (owner.is_some() || !private)
                })
                .map(|(id, _, _)| *id)
                .collect();
            assert_eq!(in_scope, possible, "scopes of {visibility:?}");
        }
    }
}
