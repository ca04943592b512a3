//! The `Accounts` port: users, their API keys, and the service's own settings.

use async_trait::async_trait;

use super::sql::Sql;
use super::{Accounts, DbError, Dialect, SqlDatabase};
use crate::domain::{Account, KeyInfo, KeyOwner};

#[derive(sqlx::FromRow)]
struct AccountRow {
    id: String,
    email: Option<String>,
    image_upload_count: i64,
    created: String,
}

#[derive(sqlx::FromRow)]
struct KeyRow {
    id: i64,
    name: String,
    created: String,
    last_used: Option<String>,
}

#[derive(sqlx::FromRow)]
struct KeyOwnerRow {
    id: i64,
    key_hash: String,
    user_id: String,
    email: Option<String>,
    last_used: Option<String>,
}

impl From<AccountRow> for Account {
    fn from(r: AccountRow) -> Self {
        Account {
            id: r.id,
            email: r.email,
            image_upload_count: r.image_upload_count,
            created: r.created,
        }
    }
}

impl From<KeyRow> for KeyInfo {
    fn from(r: KeyRow) -> Self {
        KeyInfo {
            id: r.id,
            name: r.name,
            created: r.created,
            last_used: r.last_used,
        }
    }
}

impl From<KeyOwnerRow> for KeyOwner {
    fn from(r: KeyOwnerRow) -> Self {
        KeyOwner {
            key_id: r.id,
            key_hash: r.key_hash,
            user_id: r.user_id,
            email: r.email,
            last_used: r.last_used,
        }
    }
}

/// What `rename_user` moves from one id to the other, after the new user row.
const RENAMED: &[&str] = &[
    "UPDATE api_keys SET user_id = ? WHERE user_id = ?",
    "DELETE FROM users WHERE id = ?",
    "UPDATE pictures SET owner = ? WHERE owner = ?",
    "UPDATE tags SET scope = ? WHERE scope = ?",
    "UPDATE tag_totals SET scope = ? WHERE scope = ?",
    "UPDATE tag_days SET scope = ? WHERE scope = ?",
    "UPDATE picture_stats SET scope = ? WHERE scope = ?",
    "UPDATE upload_links SET owner = ? WHERE owner = ?",
    "UPDATE upload_slots SET owner = ? WHERE owner = ?",
];

#[async_trait]
impl<DB: Dialect> Accounts for SqlDatabase<DB> {
    async fn create_user(&self, account: &Account) -> Result<bool, DbError> {
        self.ready().await?;
        let result = Sql::new(
            "INSERT INTO users (id, email, image_upload_count, created) VALUES (?, ?, 0, ?)",
        )
        .bind(account.id.as_str())
        .bind(account.email.as_deref())
        .bind(account.created.as_str())
        .execute(&self.pool)
        .await;
        match result {
            Ok(_) => Ok(true),
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    async fn account(&self, id: &str) -> Result<Option<Account>, DbError> {
        self.ready().await?;
        let row: Option<AccountRow> =
            Sql::new("SELECT id, email, image_upload_count, created FROM users WHERE id = ?")
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.map(Account::from))
    }

    async fn close_account(&self, id: &str, now: &str) -> Result<Vec<String>, DbError> {
        self.ready().await?;
        let mut tx = self.pool.begin().await?;
        let slots: Vec<String> = Sql::new("SELECT location FROM upload_slots WHERE owner = ?")
            .bind(id)
            .scalars(&mut tx)
            .await?;
        for statement in [
            "DELETE FROM api_keys WHERE user_id = ?",
            "DELETE FROM upload_links WHERE owner = ?",
            "DELETE FROM upload_slots WHERE owner = ?",
            "DELETE FROM users WHERE id = ?",
        ] {
            Sql::new(statement).bind(id).execute(&mut tx).await?;
        }
        Sql::new(format!(
            "{} INTO closed_accounts (id, closed) VALUES (?, ?)",
            DB::INSERT_IGNORE
        ))
        .bind(id)
        .bind(now)
        .execute(&mut tx)
        .await?;
        tx.commit().await?;
        Ok(slots)
    }

    async fn closed_accounts(&self) -> Result<Vec<String>, DbError> {
        self.ready().await?;
        Ok(Sql::new("SELECT id FROM closed_accounts ORDER BY closed")
            .scalars(&self.pool)
            .await?)
    }

    async fn forget_closed_account(&self, id: &str) -> Result<(), DbError> {
        self.ready().await?;
        Sql::new("DELETE FROM closed_accounts WHERE id = ?")
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn user_ids(&self) -> Result<Vec<String>, DbError> {
        self.ready().await?;
        Ok(Sql::new(
            "SELECT id FROM users UNION SELECT owner FROM pictures WHERE owner <> '' \
             UNION SELECT owner FROM upload_links WHERE owner <> '' \
             UNION SELECT owner FROM upload_slots WHERE owner <> ''",
        )
        .scalars(&self.pool)
        .await?)
    }

    async fn rename_user(&self, from: &str, to: &str) -> Result<(), DbError> {
        self.ready().await?;
        let mut tx = self.pool.begin().await?;
        let email: Option<Option<String>> = Sql::new("SELECT email FROM users WHERE id = ?")
            .bind(from)
            .scalar_optional(&mut tx)
            .await?;
        // The new row first (the keys' foreign key must always name a
        // user), without the email, which stays unique.
        Sql::new(
            "INSERT INTO users (id, email, image_upload_count, created) \
             SELECT ?, NULL, image_upload_count, created FROM users WHERE id = ?",
        )
        .bind(to)
        .bind(from)
        .execute(&mut tx)
        .await?;
        for statement in RENAMED {
            let q = Sql::new(*statement);
            let q = match statement.starts_with("DELETE") {
                true => q.bind(from),
                false => q.bind(to).bind(from),
            };
            q.execute(&mut tx).await?;
        }
        if let Some(Some(email)) = email {
            Sql::new("UPDATE users SET email = ? WHERE id = ?")
                .bind(email)
                .bind(to)
                .execute(&mut tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn create_key(
        &self,
        user: &str,
        name: &str,
        hash: &str,
        created: &str,
    ) -> Result<i64, DbError> {
        self.ready().await?;
        let done =
            Sql::new("INSERT INTO api_keys (user_id, name, key_hash, created) VALUES (?, ?, ?, ?)")
                .bind(user)
                .bind(name)
                .bind(hash)
                .bind(created)
                .execute(&self.pool)
                .await?;
        Ok(done.insert_id)
    }

    async fn keys(&self, user: &str) -> Result<Vec<KeyInfo>, DbError> {
        self.ready().await?;
        let rows: Vec<KeyRow> = Sql::new(
            "SELECT id, name, created, last_used FROM api_keys WHERE user_id = ? ORDER BY id",
        )
        .bind(user)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(KeyInfo::from).collect())
    }

    async fn delete_key(&self, user: &str, id: i64) -> Result<bool, DbError> {
        self.ready().await?;
        let done = Sql::new("DELETE FROM api_keys WHERE user_id = ? AND id = ?")
            .bind(user)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected > 0)
    }

    async fn key_owner(&self, hash: &str) -> Result<Option<KeyOwner>, DbError> {
        self.ready().await?;
        let row: Option<KeyOwnerRow> = Sql::new(
            "SELECT k.id, k.key_hash, k.user_id, u.email, k.last_used FROM api_keys k \
             JOIN users u ON u.id = k.user_id WHERE k.key_hash = ?",
        )
        .bind(hash)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(KeyOwner::from))
    }

    async fn touch_key(&self, id: i64, now: &str) -> Result<(), DbError> {
        self.ready().await?;
        Sql::new("UPDATE api_keys SET last_used = ? WHERE id = ?")
            .bind(now)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn setting_or_insert(&self, name: &str, value: &str) -> Result<String, DbError> {
        self.ready().await?;
        // Two processes starting at once both insert; the first one wins for both.
        Sql::new(format!(
            "{} INTO settings (name, value) VALUES (?, ?)",
            DB::INSERT_IGNORE
        ))
        .bind(name)
        .bind(value)
        .execute(&self.pool)
        .await?;
        Ok(Sql::new("SELECT value FROM settings WHERE name = ?")
            .bind(name)
            .scalar(&self.pool)
            .await?)
    }
}
