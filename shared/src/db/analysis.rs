//! The `Analysis` port: what `GET /stats` and near-duplicate searches read.

use async_trait::async_trait;
use std::collections::HashMap;

use super::privacy::{push_scopes, push_visible};
use super::rows::PICTURE_COLUMNS;
use super::sql::Sql;
use super::{Analysis, DbError, Dialect, SqlDatabase};
use crate::domain::{Picture, PictureStats, Visibility};

#[derive(sqlx::FromRow)]
struct StatRow {
    kind: String,
    value: String,
    n: i64,
}

#[derive(sqlx::FromRow)]
struct HashRow {
    id: i64,
    phash: i64,
}

#[async_trait]
impl<DB: Dialect> Analysis for SqlDatabase<DB> {
    async fn picture_stats(&self, visibility: &Visibility) -> Result<PictureStats, DbError> {
        self.ready().await?;
        let mut q = Sql::new("SELECT kind, value, n FROM picture_stats");
        push_scopes(&mut q, "scope", visibility, true);
        let rows: Vec<StatRow> = q.fetch_all(&self.pool).await?;
        // Several scopes may count the same day, format or camera.
        let mut merged: HashMap<(String, String), i64> = HashMap::new();
        for r in rows {
            *merged.entry((r.kind, r.value)).or_default() += r.n;
        }
        let mut stats = PictureStats::default();
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
            let mut q = Sql::new(format!(
                "SELECT id, phash FROM pictures WHERE ph{} IN (",
                band.min(3)
            ));
            q.push_list(chunk.iter().copied()).push(")");
            let rows: Vec<HashRow> = q.fetch_all(&self.pool).await?;
            out.extend(rows.into_iter().map(|r| (r.id, r.phash as u64)));
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
        let mut q = Sql::new(format!(
            "SELECT {PICTURE_COLUMNS} FROM pictures p WHERE p.id IN ("
        ));
        q.push_list(ids.iter().copied()).push(")");
        push_visible(&mut q, visibility);
        let rows = q.fetch_all(&self.pool).await?;
        let mut by_id: HashMap<i64, Picture> = self
            .pictures_of(rows, false)
            .await?
            .into_iter()
            .map(|p| (p.id, p))
            .collect();
        Ok(ids.iter().filter_map(|id| by_id.remove(id)).collect())
    }
}
