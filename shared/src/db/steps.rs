//! The migration steps: `migrations/<dialect>/<name>.sql`, compiled in.

/// One step: its name (the files' stem) and its SQL in each dialect.
#[derive(Debug, Clone, Copy)]
pub struct Step {
    pub name: &'static str,
    pub mysql: &'static str,
    pub sqlite: &'static str,
}

/// `migrations/<dialect>/<name>.sql`, in order.
pub const STEPS: &[Step] = &[
    Step {
        name: "0001_tables",
        mysql: include_str!("../../../migrations/mysql/0001_tables.sql"),
        sqlite: include_str!("../../../migrations/sqlite/0001_tables.sql"),
    },
    Step {
        name: "0002_seed_columns",
        mysql: include_str!("../../../migrations/mysql/0002_seed_columns.sql"),
        sqlite: include_str!("../../../migrations/sqlite/0002_seed_columns.sql"),
    },
    Step {
        name: "0003_size_and_indexes",
        mysql: include_str!("../../../migrations/mysql/0003_size_and_indexes.sql"),
        sqlite: include_str!("../../../migrations/sqlite/0003_size_and_indexes.sql"),
    },
    Step {
        name: "0004_listing_and_statistics",
        mysql: include_str!("../../../migrations/mysql/0004_listing_and_statistics.sql"),
        sqlite: include_str!("../../../migrations/sqlite/0004_listing_and_statistics.sql"),
    },
    Step {
        name: "0005_picture_days",
        mysql: include_str!("../../../migrations/mysql/0005_picture_days.sql"),
        sqlite: include_str!("../../../migrations/sqlite/0005_picture_days.sql"),
    },
    Step {
        name: "0006_tasks",
        mysql: include_str!("../../../migrations/mysql/0006_tasks.sql"),
        sqlite: include_str!("../../../migrations/sqlite/0006_tasks.sql"),
    },
    Step {
        name: "0007_accounts",
        mysql: include_str!("../../../migrations/mysql/0007_accounts.sql"),
        sqlite: include_str!("../../../migrations/sqlite/0007_accounts.sql"),
    },
    Step {
        name: "0008_scoped_statistics",
        mysql: include_str!("../../../migrations/mysql/0008_scoped_statistics.sql"),
        sqlite: include_str!("../../../migrations/sqlite/0008_scoped_statistics.sql"),
    },
    Step {
        name: "0009_picture_facts",
        mysql: include_str!("../../../migrations/mysql/0009_picture_facts.sql"),
        sqlite: include_str!("../../../migrations/sqlite/0009_picture_facts.sql"),
    },
    Step {
        name: "0010_queue_and_uploads",
        mysql: include_str!("../../../migrations/mysql/0010_queue_and_uploads.sql"),
        sqlite: include_str!("../../../migrations/sqlite/0010_queue_and_uploads.sql"),
    },
    Step {
        name: "0011_upload_dedup",
        mysql: include_str!("../../../migrations/mysql/0011_upload_dedup.sql"),
        sqlite: include_str!("../../../migrations/sqlite/0011_upload_dedup.sql"),
    },
    Step {
        name: "0012_bytewise_ids",
        mysql: include_str!("../../../migrations/mysql/0012_bytewise_ids.sql"),
        sqlite: include_str!("../../../migrations/sqlite/0012_bytewise_ids.sql"),
    },
    Step {
        name: "0013_closed_accounts",
        mysql: include_str!("../../../migrations/mysql/0013_closed_accounts.sql"),
        sqlite: include_str!("../../../migrations/sqlite/0013_closed_accounts.sql"),
    },
    Step {
        name: "0014_objects",
        mysql: include_str!("../../../migrations/mysql/0014_objects.sql"),
        sqlite: include_str!("../../../migrations/sqlite/0014_objects.sql"),
    },
];
