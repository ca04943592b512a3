//! What `GET /stats` and near-duplicate searches read, in both dialects.

use async_trait::async_trait;
use sqlx::{QueryBuilder, Row};
use std::collections::HashMap;

use super::sql::{MySqlDatabase, PICTURE_COLUMNS, SqliteDatabase};
use super::{Analysis, DbError};
use crate::domain::{Picture, PictureStats, Visibility};

macro_rules! analysis {
    ($adapter:ty, $db:ty) => {
        #[async_trait]
        impl Analysis for $adapter {
            async fn picture_stats(
                &self,
                visibility: &Visibility,
            ) -> Result<PictureStats, DbError> {
                self.ready().await?;
                let mut q = QueryBuilder::<$db>::new("SELECT kind, value, n FROM picture_stats");
                if let Some(scopes) = visibility.scopes() {
                    q.push(" WHERE scope IN (");
                    let mut list = q.separated(", ");
                    for scope in scopes {
                        list.push_bind(scope.to_string());
                    }
                    q.push(")");
                }
                let rows = q.build().fetch_all(&self.pool).await?;
                let mut stats = PictureStats::default();
                // Several scopes may count the same day, format or camera.
                let mut merged: HashMap<(String, String), i64> = HashMap::new();
                for r in rows {
                    let key = (r.try_get::<String, _>(0)?, r.try_get::<String, _>(1)?);
                    *merged.entry(key).or_default() += r.try_get::<i64, _>(2)?;
                }
                for ((kind, value), n) in merged {
                    match kind.as_str() {
                        "day" => stats.days.push((value, n)),
                        "format" => stats.formats.push((value, n)),
                        "camera" => stats.cameras.push((value, n)),
                        _ => {}
                    }
                }
                Ok(stats)
            }

            async fn hash_candidates(
                &self,
                band: usize,
                values: &[i64],
            ) -> Result<Vec<(i64, u64)>, DbError> {
                self.ready().await?;
                let mut out = Vec::new();
                for chunk in values.chunks(500) {
                    let mut q = QueryBuilder::<$db>::new(format!(
                        "SELECT id, phash FROM pictures WHERE ph{} IN (",
                        band.min(3)
                    ));
                    let mut list = q.separated(", ");
                    for v in chunk {
                        list.push_bind(*v);
                    }
                    q.push(")");
                    for r in q.build().fetch_all(&self.pool).await? {
                        out.push((r.try_get::<i64, _>(0)?, r.try_get::<i64, _>(1)? as u64));
                    }
                }
                Ok(out)
            }

            async fn visible_pictures(
                &self,
                ids: &[i64],
                visibility: &Visibility,
            ) -> Result<Vec<Picture>, DbError> {
                self.ready().await?;
                if ids.is_empty() {
                    return Ok(Vec::new());
                }
                let mut q = QueryBuilder::<$db>::new(format!(
                    "SELECT {PICTURE_COLUMNS} FROM pictures p WHERE p.id IN ("
                ));
                let mut list = q.separated(", ");
                for id in ids {
                    list.push_bind(*id);
                }
                q.push(")");
                match visibility {
                    Visibility::All => {}
                    Visibility::Public => {
                        q.push(" AND p.private = 0");
                    }
                    Visibility::Owner(id) => {
                        q.push(" AND (p.private = 0 OR p.owner = ");
                        q.push_bind(id.as_str().to_string());
                        q.push(")");
                    }
                }
                let rows = q.build().fetch_all(&self.pool).await?;
                let mut pictures = Self::pictures_from(&rows)?;
                self.fill_tags(&mut pictures).await?;
                let mut by_id: HashMap<i64, Picture> =
                    pictures.into_iter().map(|(p, _)| (p.id, p)).collect();
                Ok(ids.iter().filter_map(|id| by_id.remove(id)).collect())
            }
        }
    };
}

analysis!(SqliteDatabase, sqlx::Sqlite);
analysis!(MySqlDatabase, sqlx::MySql);
