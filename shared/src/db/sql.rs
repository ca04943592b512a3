//! Statements as the adapter writes them: SQL text with `?` placeholders
//! (the same on SQLite and MySQL) and the values bound to them, run on the
//! pool, in a transaction or on a connection of its own, and read into row
//! structs by column name.
//!
//! The sqlx bounds both drivers meet are said here once ([`Rows`],
//! [`AddArg`], and [`Dialect`]'s own); the code that uses these types is
//! generic over `DB: Dialect` with no further bounds.

use std::borrow::Cow;
use std::future::Future;
use std::ops::DerefMut;

use sqlx::error::BoxDynError;
use sqlx::mysql::MySqlRow;
use sqlx::pool::PoolConnection;
use sqlx::sqlite::SqliteRow;
use sqlx::{Arguments, AssertSqlSafe, Encode, Executor, FromRow, Pool, Transaction, Type};

use super::DbError;
use super::steps::Step;
use sqlx::{Connection, IntoArguments};
use std::time::Duration;

/// A value bound to a `?`, of one of the four kinds the schema stores
/// (`None`: NULL of that kind).
#[derive(Debug, Clone, PartialEq)]
pub enum Arg<'a> {
    Int(Option<i64>),
    /// `FLOAT` columns (confidences, colour fractions), bound as such.
    Float(Option<f32>),
    Double(Option<f64>),
    Text(Option<Cow<'a, str>>),
}

/// A Rust value that binds as an [`Arg`], alone or as an `Option`.
pub trait Scalar<'a>: Sized {
    fn arg(value: Option<Self>) -> Arg<'a>;
}

impl<'a> Scalar<'a> for i64 {
    fn arg(value: Option<Self>) -> Arg<'a> {
        Arg::Int(value)
    }
}

impl<'a> Scalar<'a> for f32 {
    fn arg(value: Option<Self>) -> Arg<'a> {
        Arg::Float(value)
    }
}

impl<'a> Scalar<'a> for f64 {
    fn arg(value: Option<Self>) -> Arg<'a> {
        Arg::Double(value)
    }
}

impl<'a> Scalar<'a> for &'a str {
    fn arg(value: Option<Self>) -> Arg<'a> {
        Arg::Text(value.map(Cow::Borrowed))
    }
}

impl<'a> Scalar<'a> for &'a String {
    fn arg(value: Option<Self>) -> Arg<'a> {
        Arg::Text(value.map(|s| Cow::Borrowed(s.as_str())))
    }
}

impl<'a> Scalar<'a> for String {
    fn arg(value: Option<Self>) -> Arg<'a> {
        Arg::Text(value.map(Cow::Owned))
    }
}

impl<'a, T: Scalar<'a>> From<T> for Arg<'a> {
    fn from(value: T) -> Self {
        T::arg(Some(value))
    }
}

impl<'a, T: Scalar<'a>> From<Option<T>> for Arg<'a> {
    fn from(value: Option<T>) -> Self {
        T::arg(value)
    }
}

/// Driver arguments that take an [`Arg`]: the value types both drivers
/// encode, said once.
pub trait AddArg {
    fn add_arg(&mut self, arg: Arg<'_>) -> Result<(), BoxDynError>;
}

impl<A: Arguments> AddArg for A
where
    Option<i64>: for<'q> Encode<'q, A::Database> + Type<A::Database>,
    Option<f32>: for<'q> Encode<'q, A::Database> + Type<A::Database>,
    Option<f64>: for<'q> Encode<'q, A::Database> + Type<A::Database>,
    for<'s> Option<Cow<'s, str>>: Encode<'s, A::Database> + Type<A::Database>,
{
    fn add_arg(&mut self, arg: Arg<'_>) -> Result<(), BoxDynError> {
        match arg {
            Arg::Int(v) => self.add(v),
            Arg::Float(v) => self.add(v),
            Arg::Double(v) => self.add(v),
            Arg::Text(v) => self.add(v),
        }
    }
}

/// A row struct (or a tuple of columns) that both drivers' rows decode into.
pub trait Rows:
    for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, MySqlRow> + Send + Unpin
{
}

impl<T> Rows for T where
    T: for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, MySqlRow> + Send + Unpin
{
}

/// What a write did.
#[derive(Debug, Clone, Copy)]
pub struct Done {
    pub rows_affected: u64,
    /// The id of the row an `INSERT` created.
    pub insert_id: i64,
}

impl Done {
    pub fn new(rows_affected: u64, insert_id: i64) -> Self {
        Done {
            rows_affected,
            insert_id,
        }
    }
}

/// A driver's connection, as statements run on it.
pub trait Executes<DB: sqlx::Database>: Send {
    fn executor(&mut self) -> impl Executor<'_, Database = DB>;
}

impl<C: Send, DB: sqlx::Database> Executes<DB> for C
where
    for<'c> &'c mut C: Executor<'c, Database = DB>,
{
    fn executor(&mut self) -> impl Executor<'_, Database = DB> {
        self
    }
}

/// Where a statement runs: a connection of the pool (taken for the one
/// statement), a transaction, or a connection of its own ([`Raw`]).
pub trait On<DB: Dialect>: Send {
    type Connection: DerefMut<Target = DB::Connection> + Send;
    fn connection(self) -> impl Future<Output = Result<Self::Connection, sqlx::Error>> + Send;
}

impl<DB: Dialect> On<DB> for &Pool<DB> {
    type Connection = PoolConnection<DB>;
    fn connection(self) -> impl Future<Output = Result<Self::Connection, sqlx::Error>> + Send {
        self.acquire()
    }
}

impl<'t, DB: Dialect> On<DB> for &'t mut Transaction<'_, DB> {
    type Connection = &'t mut DB::Connection;
    fn connection(self) -> impl Future<Output = Result<Self::Connection, sqlx::Error>> + Send {
        std::future::ready(Ok(&mut **self))
    }
}

/// A connection outside the pool (the migrations').
pub struct Raw<'c, DB: Dialect>(pub &'c mut DB::Connection);

impl<'c, DB: Dialect> On<DB> for Raw<'c, DB> {
    type Connection = &'c mut DB::Connection;
    fn connection(self) -> impl Future<Output = Result<Self::Connection, sqlx::Error>> + Send {
        std::future::ready(Ok(self.0))
    }
}

/// One statement and its values.
#[derive(Debug, Clone)]
pub struct Sql<'a> {
    text: Cow<'static, str>,
    args: Vec<Arg<'a>>,
}

impl<'a> Sql<'a> {
    pub fn new(text: impl Into<Cow<'static, str>>) -> Self {
        Sql {
            text: text.into(),
            args: Vec::new(),
        }
    }

    /// Binds the next `?` of the text.
    pub fn bind(mut self, value: impl Into<Arg<'a>>) -> Self {
        self.args.push(value.into());
        self
    }

    /// Binds the next `?`s of the text, in order.
    pub fn bind_all(mut self, values: impl IntoIterator<Item = Arg<'a>>) -> Self {
        self.args.extend(values);
        self
    }

    pub fn push(&mut self, text: &str) -> &mut Self {
        self.text.to_mut().push_str(text);
        self
    }

    /// Appends a `?` bound to `value`.
    pub fn push_bind(&mut self, value: impl Into<Arg<'a>>) -> &mut Self {
        self.push("?");
        self.args.push(value.into());
        self
    }

    /// Appends `?, ?, ...`, one for each value.
    pub fn push_list<T: Into<Arg<'a>>>(
        &mut self,
        values: impl IntoIterator<Item = T>,
    ) -> &mut Self {
        for (i, value) in values.into_iter().enumerate() {
            self.push(if i == 0 { "?" } else { ", ?" });
            self.args.push(value.into());
        }
        self
    }

    /// Appends `VALUES (?, ...), (?, ...)`: the `N` values `row` gives for each item.
    pub fn push_values<T, const N: usize>(
        &mut self,
        items: impl IntoIterator<Item = T>,
        mut row: impl FnMut(T) -> [Arg<'a>; N],
    ) -> &mut Self {
        self.push("VALUES ");
        for (i, item) in items.into_iter().enumerate() {
            self.push(if i == 0 { "(" } else { ", (" });
            self.push_list(row(item));
            self.push(")");
        }
        self
    }

    #[cfg(test)]
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The statement as sqlx runs it, and the connection it runs on.
    async fn prepare<DB: Dialect, O: On<DB>>(
        self,
        on: O,
    ) -> Result<
        (
            sqlx::query::Query<'static, DB, DB::Arguments>,
            O::Connection,
        ),
        sqlx::Error,
    > {
        let mut arguments = DB::Arguments::default();
        for arg in self.args {
            arguments.add_arg(arg).map_err(sqlx::Error::Encode)?;
        }
        let query = sqlx::query_with(AssertSqlSafe(self.text), arguments);
        Ok((query, on.connection().await?))
    }

    pub async fn execute<DB: Dialect>(self, on: impl On<DB>) -> Result<Done, sqlx::Error> {
        let (query, mut conn) = self.prepare(on).await?;
        let result = Executes::<DB>::executor(&mut *conn).execute(query).await?;
        Ok(DB::done(&result))
    }

    pub async fn fetch_all<DB: Dialect, T: Rows>(
        self,
        on: impl On<DB>,
    ) -> Result<Vec<T>, sqlx::Error> {
        let (query, mut conn) = self.prepare(on).await?;
        let rows = Executes::<DB>::executor(&mut *conn)
            .fetch_all(query)
            .await?;
        rows.iter().map(DB::decode).collect()
    }

    pub async fn fetch_optional<DB: Dialect, T: Rows>(
        self,
        on: impl On<DB>,
    ) -> Result<Option<T>, sqlx::Error> {
        let (query, mut conn) = self.prepare(on).await?;
        match Executes::<DB>::executor(&mut *conn)
            .fetch_optional(query)
            .await?
        {
            Some(row) => DB::decode(&row).map(Some),
            None => Ok(None),
        }
    }

    pub async fn fetch_one<DB: Dialect, T: Rows>(self, on: impl On<DB>) -> Result<T, sqlx::Error> {
        self.fetch_optional(on)
            .await?
            .ok_or(sqlx::Error::RowNotFound)
    }

    /// The first column of every row.
    pub async fn scalars<DB: Dialect, T>(self, on: impl On<DB>) -> Result<Vec<T>, sqlx::Error>
    where
        (T,): Rows,
    {
        let rows: Vec<(T,)> = self.fetch_all(on).await?;
        Ok(rows.into_iter().map(|(v,)| v).collect())
    }

    /// The first column of the first row, if there is one.
    pub async fn scalar_optional<DB: Dialect, T>(
        self,
        on: impl On<DB>,
    ) -> Result<Option<T>, sqlx::Error>
    where
        (T,): Rows,
    {
        Ok(self.fetch_optional::<DB, (T,)>(on).await?.map(|(v,)| v))
    }

    /// The first column of the one row.
    pub async fn scalar<DB: Dialect, T>(self, on: impl On<DB>) -> Result<T, sqlx::Error>
    where
        (T,): Rows,
    {
        Ok(self.fetch_one::<DB, (T,)>(on).await?.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders() {
        let mut q = Sql::new("INSERT INTO t (a, b) ");
        q.push_values([(1i64, "x"), (2, "y")], |(n, s)| [n.into(), s.into()]);
        assert_eq!(q.text(), "INSERT INTO t (a, b) VALUES (?, ?), (?, ?)");
        let mut q = Sql::new("SELECT 1 FROM t WHERE a IN (");
        q.push_list([1i64, 2, 3])
            .push(") AND b = ")
            .push_bind(None::<&str>);
        assert_eq!(q.text(), "SELECT 1 FROM t WHERE a IN (?, ?, ?) AND b = ?");
        assert_eq!(q.args.len(), 4);
        assert_eq!(q.args[3], Arg::Text(None));
    }
}

/// The options a connection of the dialect opens with.
pub type ConnectOptions<DB> = <<DB as sqlx::Database>::Connection as Connection>::Options;

/// How the dialect learns whether one kind of migration condition holds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Check {
    /// `SELECT COUNT(*)` with the table (`table`), the table and the name,
    /// or (`type`) those and the type as `?`; it holds when the count is not 0.
    Count(&'static str),
    /// It always holds here.
    Always,
}

pub trait Dialect:
    sqlx::Database<Connection: Executes<Self>, Arguments: IntoArguments<Self> + AddArg> + Sized
{
    /// An `INSERT` that skips the rows a unique key already holds.
    const INSERT_IGNORE: &'static str;
    /// Appended to a comparison of text that ignores case.
    const IGNORING_CASE: &'static str;
    /// The smaller and the larger of two values.
    const LEAST: &'static str;
    const GREATEST: &'static str;
    /// Starts the update clause of an upsert whose unique key is `keys`.
    fn on_conflict(keys: &str) -> String;
    /// The value the insert brought for `column`, within that clause.
    fn inserted(column: &str) -> String;

    /// The connect options of a `DATABASE_URL`.
    fn options(url: &str, timeout: Duration) -> Result<ConnectOptions<Self>, DbError>;

    /// A migration step's SQL in this dialect.
    fn step_sql(step: &Step) -> &'static str;
    /// Whether a step runs inside a transaction (DDL is transactional).
    const TRANSACTIONAL: bool;
    /// The catalog query of a migration condition's kind (`None`: unknown).
    fn check(kind: &str) -> Option<Check>;
    /// The names of the foreign keys on (table, column) that do not cascade,
    /// and of all of them; `None` where constraints are not dropped but the
    /// tables rebuilt.
    const RESTRICT_FKS: Option<&'static str>;
    const FKS: Option<&'static str>;
    /// What `{bytewise}` in a step stands for on this server.
    fn bytewise(
        conn: &mut Self::Connection,
    ) -> impl Future<Output = Result<&'static str, sqlx::Error>> + Send;
    /// Before the steps run (on their own connection).
    fn begin_migration(
        conn: &mut Self::Connection,
    ) -> impl Future<Output = Result<(), DbError>> + Send;
    /// After them, whatever they did; the migration's outcome.
    fn end_migration(
        conn: &mut Self::Connection,
        steps: Result<(), DbError>,
    ) -> impl Future<Output = Result<(), DbError>> + Send;

    fn decode<T: Rows>(row: &Self::Row) -> Result<T, sqlx::Error>;
    fn done(result: &Self::QueryResult) -> Done;
}

/// Runs SQL as it is (no placeholders, several statements allowed).
pub(super) async fn execute<DB: Dialect>(
    conn: &mut DB::Connection,
    sql: &str,
) -> Result<(), sqlx::Error> {
    sqlx::raw_sql(AssertSqlSafe(sql.to_string()))
        .execute(Executes::<DB>::executor(conn))
        .await
        .map(|_| ())
}
