//! The store's error type: the variants a caller can act on, everything else as `Database`.

/// What went wrong in the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The row asked for does not exist.
    #[error("not found: {0}")]
    NotFound(String),
    /// The `DATABASE_URL` is not one we can use.
    #[error("unsupported database URL (expected sqlite://… or postgres://…): {0}")]
    UnsupportedUrl(String),
    /// The operation cannot run on this database (e.g. an in-memory SQLite).
    #[error("not supported here: {0}")]
    Unsupported(String),
    /// A value read back from the database could not be decoded into our types.
    #[error("corrupt row: {0}")]
    Corrupt(String),
    /// Applying migrations failed.
    #[error("migration failed: {0}")]
    Migrate(sqlx::migrate::MigrateError),
    /// The store was closed while the call waited.
    #[error("the store is closed")]
    Closed,
    /// The group-commit transaction holding this write failed; nothing in it was recorded.
    #[error("batched write failed: {0}")]
    Batch(String),
    /// Any other database error.
    #[error("database error: {0}")]
    Database(sqlx::Error),
    /// An error of the direct SQLite reader exports use (see `store::sqlite_export`).
    #[error("database error: {0}")]
    Sqlite(rusqlite::Error),
}

// Not `#[from]`: that would also make the inner error the `source`, and error chains would
// print its message twice.
impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        StoreError::Database(e)
    }
}

impl From<sqlx::migrate::MigrateError> for StoreError {
    fn from(e: sqlx::migrate::MigrateError) -> Self {
        StoreError::Migrate(e)
    }
}
