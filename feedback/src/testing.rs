//! Databases for tests: a temporary SQLite file, or a fresh database on Postgres.
//!
//! Postgres comes from `REVIEWBOT_TEST_POSTGRES_URL` (an admin URL; a database is created per
//! test and dropped after) or, when that is unset, from a throwaway server this process starts
//! itself with `initdb`/`pg_ctl` on a free loopback port, stopped by a watchdog when the test
//! process exits. With `REVIEWBOT_REQUIRE_POSTGRES=1` (CI) a missing Postgres fails the test
//! instead of skipping it.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};

use sqlx::{Connection, Executor, PgConnection};

use crate::Store;

/// Admin URL of an existing Postgres server for tests.
pub const POSTGRES_URL_VAR: &str = "REVIEWBOT_TEST_POSTGRES_URL";
/// Set to `1` to make a missing Postgres a failure rather than a skip.
pub const REQUIRE_POSTGRES_VAR: &str = "REVIEWBOT_REQUIRE_POSTGRES";

/// A database that exists for as long as this value lives.
#[derive(Debug)]
pub struct TestDatabase {
    url: String,
    cleanup: Cleanup,
}

#[derive(Debug)]
enum Cleanup {
    Sqlite(#[allow(dead_code)] tempfile::TempDir),
    Postgres { admin_url: String, name: String },
}

impl TestDatabase {
    /// A new SQLite database file in a temporary directory.
    pub fn sqlite() -> TestDatabase {
        let dir = tempfile::tempdir().expect("create a temporary directory");
        let url = format!("sqlite://{}", dir.path().join("reviewbot.db").display());
        TestDatabase {
            url,
            cleanup: Cleanup::Sqlite(dir),
        }
    }

    /// A new, empty Postgres database; `None` when no Postgres is available and it is not
    /// required.
    pub async fn postgres() -> Option<TestDatabase> {
        let admin_url = match postgres_admin_url() {
            Ok(url) => url,
            Err(why) if std::env::var(REQUIRE_POSTGRES_VAR).as_deref() == Ok("1") => {
                panic!("{REQUIRE_POSTGRES_VAR}=1 but no Postgres is available: {why}")
            }
            Err(why) => {
                eprintln!("skipping Postgres: {why}");
                return None;
            }
        };
        let name = format!("reviewbot_test_{}", rand::random::<u64>());
        let mut admin = PgConnection::connect(&admin_url)
            .await
            .unwrap_or_else(|e| panic!("connect to the test Postgres: {e}"));
        admin
            .execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .await
            .unwrap_or_else(|e| panic!("create database {name}: {e}"));
        let url = with_database(&admin_url, &name);
        Some(TestDatabase {
            url,
            cleanup: Cleanup::Postgres { admin_url, name },
        })
    }

    /// The `DATABASE_URL` of this database.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Postgres only: refuses new connections and ends existing ones (`false`), as a database
    /// outage would, or lets connections in again (`true`).
    pub async fn set_reachable(&self, reachable: bool) {
        let Cleanup::Postgres { admin_url, name } = &self.cleanup else {
            panic!("set_reachable needs a Postgres test database")
        };
        let mut admin = PgConnection::connect(admin_url)
            .await
            .expect("connect as admin");
        admin
            .execute(sqlx::AssertSqlSafe(format!(
                "ALTER DATABASE {name} WITH ALLOW_CONNECTIONS {reachable}"
            )))
            .await
            .expect("change ALLOW_CONNECTIONS");
        if !reachable {
            admin
                .execute(sqlx::AssertSqlSafe(format!(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"
                )))
                .await
                .expect("end connections");
        }
    }

    /// Connects and migrates.
    pub async fn store(&self) -> Store {
        let store = Store::connect(&self.url)
            .await
            .expect("connect to the test database");
        store.migrate().await.expect("migrate the test database");
        store
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let Cleanup::Postgres { admin_url, name } = &self.cleanup else {
            return;
        };
        let (admin_url, name) = (admin_url.clone(), name.clone());
        // Drop is synchronous; run the async drop on a private runtime in its own thread so it
        // works inside or outside a tokio runtime.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            runtime.block_on(async {
                let mut admin = PgConnection::connect(&admin_url).await?;
                admin
                    .execute(sqlx::AssertSqlSafe(format!(
                        "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                    )))
                    .await?;
                Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
            })
        })
        .join();
        if let Ok(Err(e)) = dropped {
            eprintln!("could not drop test database: {e}");
        }
    }
}

/// Set by [`durable_postgres`]: the throwaway server keeps fsync and synchronous commit on.
static DURABLE: AtomicBool = AtomicBool::new(false);

/// Makes the throwaway Postgres server (if this process starts one) as durable as a production
/// server, for benchmarks: call before the first [`TestDatabase::postgres`]. Tests leave it
/// off, since their data is thrown away.
pub fn durable_postgres() {
    DURABLE.store(true, Ordering::SeqCst);
}

fn with_database(admin_url: &str, name: &str) -> String {
    let mut url = url::Url::parse(admin_url).expect("a valid Postgres URL");
    url.set_path(name);
    url.to_string()
}

/// The admin URL: from the environment, or from a server started once per test process.
fn postgres_admin_url() -> Result<String, String> {
    if let Ok(url) = std::env::var(POSTGRES_URL_VAR) {
        return Ok(url);
    }
    static SERVER: OnceLock<Result<String, String>> = OnceLock::new();
    SERVER.get_or_init(start_throwaway_server).clone()
}

fn find_postgres_bin() -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>());
    // Debian keeps the server binaries off PATH, under /usr/lib/postgresql/<major>/bin.
    let mut debian: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|dir| {
            dir.filter_map(|e| e.ok())
                .map(|e| e.path().join("bin"))
                .collect()
        })
        .unwrap_or_default();
    debian.sort();
    debian.reverse();
    on_path
        .chain(debian)
        .find(|dir| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file())
}

fn start_throwaway_server() -> Result<String, String> {
    use std::os::unix::fs::MetadataExt;

    let bin = find_postgres_bin().ok_or("no initdb/pg_ctl found (install postgresql)")?;
    let dir = tempfile::Builder::new()
        .prefix("reviewbot-pg-")
        .tempdir()
        .map_err(|e| e.to_string())?
        .keep();
    // initdb refuses to run as root; run the server as the `postgres` user then.
    let as_root = std::fs::metadata(&dir).map_err(|e| e.to_string())?.uid() == 0;
    if as_root {
        let status = Command::new("chown")
            .args(["-R", "postgres:"])
            .arg(&dir)
            .status()
            .map_err(|e| format!("chown: {e}"))?;
        if !status.success() {
            return Err("running as root and cannot chown to the postgres user".into());
        }
    }
    let run = |program: &Path, args: &[&str]| -> Result<(), String> {
        let mut command = if as_root {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(program);
            c
        } else {
            Command::new(program)
        };
        let output = command
            .args(args)
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("{}: {e}", program.display()))?;
        if output.status.success() {
            Ok(())
        } else {
            Err(format!(
                "{} failed: {}{}",
                program.display(),
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            ))
        }
    };
    let data = dir.join("data");
    let data_str = data.to_str().ok_or("non-UTF-8 temp path")?;
    run(
        &bin.join("initdb"),
        &[
            "-D",
            data_str,
            "-A",
            "trust",
            "-U",
            "postgres",
            "-E",
            "UTF8",
            "--no-sync",
        ],
    )?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_err(|e| e.to_string())?
        .port();
    // Durability is off unless asked for: tests hold throwaway data only.
    let durability = if DURABLE.load(Ordering::SeqCst) {
        ""
    } else {
        " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    };
    let options = format!(
        "-p {port} -k {} -c listen_addresses=127.0.0.1 -c max_connections=400{durability}",
        dir.display()
    );
    let log = dir.join("server.log");
    run(
        &bin.join("pg_ctl"),
        &[
            "-D",
            data_str,
            "-l",
            log.to_str().ok_or("non-UTF-8 temp path")?,
            "-o",
            &options,
            "-w",
            "start",
        ],
    )
    .map_err(|e| format!("{e}\n{}", std::fs::read_to_string(&log).unwrap_or_default()))?;
    // Stop the server and delete its files once this test process is gone.
    let stop = format!(
        "{}{} -D {data_str} -m immediate stop",
        if as_root {
            "runuser -u postgres -- "
        } else {
            ""
        },
        bin.join("pg_ctl").display()
    );
    let watchdog = format!(
        "while kill -0 {} 2>/dev/null; do sleep 1; done; {stop} >/dev/null 2>&1; rm -rf {}",
        std::process::id(),
        dir.display()
    );
    Command::new("sh")
        .args(["-c", &watchdog])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("start the watchdog: {e}"))?;
    Ok(format!("postgres://postgres@127.0.0.1:{port}/postgres"))
}
