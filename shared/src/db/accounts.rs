//! Users, their API keys, and the service's own settings, in both dialects.

use async_trait::async_trait;
use sqlx::Row;

use super::sql::{MySqlDatabase, SqliteDatabase};
use super::{Accounts, DbError};
use crate::domain::{Account, KeyInfo, KeyOwner};

macro_rules! accounts {
    ($adapter:ty, $insert_ignore:literal) => {
        #[async_trait]
        impl Accounts for $adapter {
            async fn create_user(&self, account: &Account) -> Result<bool, DbError> {
                self.ready().await?;
                let result = sqlx::query(
                    "INSERT INTO users (id, email, image_upload_count, created) VALUES (?, ?, 0, ?)",
                )
                .bind(&account.id)
                .bind(&account.email)
                .bind(&account.created)
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
                let row = sqlx::query(
                    "SELECT id, email, image_upload_count, created FROM users WHERE id = ?",
                )
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
                Ok(match row {
                    Some(r) => Some(Account {
                        id: r.try_get(0)?,
                        email: r.try_get(1)?,
                        image_upload_count: r.try_get(2)?,
                        created: r.try_get(3)?,
                    }),
                    None => None,
                })
            }

            async fn close_account(&self, id: &str, now: &str) -> Result<Vec<String>, DbError> {
                self.ready().await?;
                let mut tx = self.pool.begin().await?;
                let slots: Vec<String> = sqlx::query_scalar("SELECT location FROM upload_slots WHERE owner = ?")
                    .bind(id)
                    .fetch_all(&mut *tx)
                    .await?;
                for statement in [
                    "DELETE FROM api_keys WHERE user_id = ?",
                    "DELETE FROM upload_links WHERE owner = ?",
                    "DELETE FROM upload_slots WHERE owner = ?",
                    "DELETE FROM users WHERE id = ?",
                ] {
                    sqlx::query(statement).bind(id).execute(&mut *tx).await?;
                }
                sqlx::query(concat!($insert_ignore, " INTO closed_accounts (id, closed) VALUES (?, ?)"))
                    .bind(id)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(slots)
            }

            async fn closed_accounts(&self) -> Result<Vec<String>, DbError> {
                self.ready().await?;
                Ok(sqlx::query_scalar("SELECT id FROM closed_accounts ORDER BY closed")
                    .fetch_all(&self.pool)
                    .await?)
            }

            async fn forget_closed_account(&self, id: &str) -> Result<(), DbError> {
                self.ready().await?;
                sqlx::query("DELETE FROM closed_accounts WHERE id = ?")
                    .bind(id)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn user_ids(&self) -> Result<Vec<String>, DbError> {
                self.ready().await?;
                Ok(sqlx::query_scalar(
                    "SELECT id FROM users UNION SELECT owner FROM pictures WHERE owner <> '' \
                     UNION SELECT owner FROM upload_links WHERE owner <> '' \
                     UNION SELECT owner FROM upload_slots WHERE owner <> ''",
                )
                .fetch_all(&self.pool)
                .await?)
            }

            async fn rename_user(&self, from: &str, to: &str) -> Result<(), DbError> {
                self.ready().await?;
                let mut tx = self.pool.begin().await?;
                let email: Option<Option<String>> = sqlx::query_scalar("SELECT email FROM users WHERE id = ?")
                    .bind(from)
                    .fetch_optional(&mut *tx)
                    .await?;
                // The new row first (the keys' foreign key must always name a
                // user), without the email, which stays unique.
                sqlx::query(
                    "INSERT INTO users (id, email, image_upload_count, created) \
                     SELECT ?, NULL, image_upload_count, created FROM users WHERE id = ?",
                )
                .bind(to)
                .bind(from)
                .execute(&mut *tx)
                .await?;
                for statement in [
                    "UPDATE api_keys SET user_id = ? WHERE user_id = ?",
                    "DELETE FROM users WHERE id = ?",
                    "UPDATE pictures SET owner = ? WHERE owner = ?",
                    "UPDATE tags SET scope = ? WHERE scope = ?",
                    "UPDATE tag_totals SET scope = ? WHERE scope = ?",
                    "UPDATE tag_days SET scope = ? WHERE scope = ?",
                    "UPDATE picture_stats SET scope = ? WHERE scope = ?",
                    "UPDATE upload_links SET owner = ? WHERE owner = ?",
                    "UPDATE upload_slots SET owner = ? WHERE owner = ?",
                ] {
                    let q = sqlx::query(statement);
                    let q = match statement.starts_with("DELETE") {
                        true => q.bind(from),
                        false => q.bind(to).bind(from),
                    };
                    q.execute(&mut *tx).await?;
                }
                if let Some(Some(email)) = email {
                    sqlx::query("UPDATE users SET email = ? WHERE id = ?")
                        .bind(email)
                        .bind(to)
                        .execute(&mut *tx)
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
                let done = sqlx::query(
                    "INSERT INTO api_keys (user_id, name, key_hash, created) VALUES (?, ?, ?, ?)",
                )
                .bind(user)
                .bind(name)
                .bind(hash)
                .bind(created)
                .execute(&self.pool)
                .await?;
                Ok(Self::insert_id(&done))
            }

            async fn keys(&self, user: &str) -> Result<Vec<KeyInfo>, DbError> {
                self.ready().await?;
                let rows = sqlx::query(
                    "SELECT id, name, created, last_used FROM api_keys WHERE user_id = ? ORDER BY id",
                )
                .bind(user)
                .fetch_all(&self.pool)
                .await?;
                rows.iter()
                    .map(|r| {
                        Ok(KeyInfo {
                            id: r.try_get(0)?,
                            name: r.try_get(1)?,
                            created: r.try_get(2)?,
                            last_used: r.try_get(3)?,
                        })
                    })
                    .collect::<Result<_, sqlx::Error>>()
                    .map_err(DbError::from)
            }

            async fn delete_key(&self, user: &str, id: i64) -> Result<bool, DbError> {
                self.ready().await?;
                let done = sqlx::query("DELETE FROM api_keys WHERE user_id = ? AND id = ?")
                    .bind(user)
                    .bind(id)
                    .execute(&self.pool)
                    .await?;
                Ok(done.rows_affected() > 0)
            }

            async fn key_owner(&self, hash: &str) -> Result<Option<KeyOwner>, DbError> {
                self.ready().await?;
                let row = sqlx::query(
                    "SELECT k.id, k.key_hash, k.user_id, u.email, k.last_used FROM api_keys k \
                     JOIN users u ON u.id = k.user_id WHERE k.key_hash = ?",
                )
                .bind(hash)
                .fetch_optional(&self.pool)
                .await?;
                Ok(match row {
                    Some(r) => Some(KeyOwner {
                        key_id: r.try_get(0)?,
                        key_hash: r.try_get(1)?,
                        user_id: r.try_get(2)?,
                        email: r.try_get(3)?,
                        last_used: r.try_get(4)?,
                    }),
                    None => None,
                })
            }

            async fn touch_key(&self, id: i64, now: &str) -> Result<(), DbError> {
                self.ready().await?;
                sqlx::query("UPDATE api_keys SET last_used = ? WHERE id = ?")
                    .bind(now)
                    .bind(id)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn setting_or_insert(&self, name: &str, value: &str) -> Result<String, DbError> {
                self.ready().await?;
                // Two processes starting at once both insert; the first one wins for both.
                sqlx::query(concat!($insert_ignore, " INTO settings (name, value) VALUES (?, ?)"))
                    .bind(name)
                    .bind(value)
                    .execute(&self.pool)
                    .await?;
                Ok(sqlx::query_scalar("SELECT value FROM settings WHERE name = ?")
                    .bind(name)
                    .fetch_one(&self.pool)
                    .await?)
            }
        }
    };
}

accounts!(SqliteDatabase, "INSERT OR IGNORE");
accounts!(MySqlDatabase, "INSERT IGNORE");
