//! Tests of the test harness `zchat_backend::test_postgres`: a real PostgreSQL starts, takes
//! password logins only, hands out isolated databases, keeps committed data across a fast
//! stop and a SIGKILL, and leaves nothing running or on disk behind, even when the test
//! process itself dies.

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use zchat_backend::test_postgres::Postgres;

fn connect(url: &str) -> Result<postgres::Client, postgres::Error> {
    let mut config: postgres::Config = url.parse()?;
    config.connect_timeout(Duration::from_secs(5));
    config.connect(postgres::NoTls)
}

/// Waits up to `limit` for `cond`.
fn wait_until(limit: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    cond()
}

fn process_gone(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => {
            let state = stat
                .rfind(')')
                .and_then(|i| stat[i + 1..].split_whitespace().next());
            matches!(state, Some("Z" | "X"))
        }
    }
}

#[test]
fn starts_with_password_auth_on_loopback_and_the_zchat_database() {
    let pg = Postgres::start().expect("start PostgreSQL");
    let url = pg.url();
    assert!(url.starts_with("postgres://zchat:"), "{url}");
    assert!(
        url.ends_with(&format!("@127.0.0.1:{}/zchat", pg.port())),
        "{url}"
    );

    let mut c = connect(&url).expect("connect with the URL");
    let row = c
        .query_one(
            "SELECT current_database(), current_user, current_setting('listen_addresses'), \
             current_setting('server_version_num')::int",
            &[],
        )
        .unwrap();
    assert_eq!(row.get::<_, String>(0), "zchat");
    assert_eq!(row.get::<_, String>(1), "zchat");
    assert_eq!(row.get::<_, String>(2), "127.0.0.1");
    assert!(row.get::<_, i32>(3) >= 150_000);

    // A wrong password is refused: authentication is on.
    let bad = url.replacen("postgres://zchat:", "postgres://zchat:wrong", 1);
    let err = connect(&bad)
        .err()
        .expect("a wrong password must be refused");
    assert!(
        format!("{err:?}").contains("password") || format!("{err:?}").contains("28P01"),
        "{err:?}"
    );
}

#[test]
fn fresh_databases_are_distinct_and_isolated() {
    let pg = Postgres::start().unwrap();
    let a = pg.fresh_database().unwrap();
    let b = pg.fresh_database().unwrap();
    assert_ne!(a, b);
    let mut ca = connect(&a).unwrap();
    let mut cb = connect(&b).unwrap();
    ca.batch_execute("CREATE TABLE t (x int); INSERT INTO t VALUES (1)")
        .unwrap();
    // The same table name in the other database is another table.
    cb.batch_execute("CREATE TABLE t (x int)").unwrap();
    let n: i64 = cb.query_one("SELECT count(*) FROM t", &[]).unwrap().get(0);
    assert_eq!(n, 0);
    let n: i64 = ca.query_one("SELECT count(*) FROM t", &[]).unwrap().get(0);
    assert_eq!(n, 1);
}

#[test]
fn stop_and_restart_keep_the_data_and_the_url() {
    let mut pg = Postgres::start().unwrap();
    let url = pg.fresh_database().unwrap();
    let mut c = connect(&url).unwrap();
    c.batch_execute("CREATE TABLE t (x int); INSERT INTO t VALUES (42)")
        .unwrap();

    pg.stop().unwrap();
    assert!(pg.pid().is_none());
    assert!(pg.dir().join("data").is_dir(), "stop keeps the data dir");
    assert!(
        connect(&url).is_err(),
        "a stopped server takes no connection"
    );
    // The old session is gone with the server.
    assert!(c.query_one("SELECT 1", &[]).is_err());

    pg.restart().unwrap();
    let mut c = connect(&url).unwrap();
    let x: i32 = c.query_one("SELECT x FROM t", &[]).unwrap().get(0);
    assert_eq!(x, 42);
    // Databases made after the restart get new names.
    let next = pg.fresh_database().unwrap();
    assert_ne!(next, url);
    connect(&next).unwrap();
}

#[test]
fn kill_is_a_crash_that_keeps_committed_data() {
    let mut pg = Postgres::start().unwrap();
    let url = pg.url();
    let mut c = connect(&url).unwrap();
    c.batch_execute("CREATE TABLE t (x int)").unwrap();
    for i in 0..100 {
        c.execute("INSERT INTO t VALUES ($1)", &[&i]).unwrap();
    }
    let pid = pg.pid().unwrap();

    pg.kill().unwrap();
    assert!(process_gone(pid), "the postmaster {pid} is gone after kill");
    assert!(connect(&url).is_err());

    pg.restart().unwrap();
    assert_ne!(pg.pid(), Some(pid));
    let mut c = connect(&url).unwrap();
    let n: i64 = c.query_one("SELECT count(*) FROM t", &[]).unwrap().get(0);
    assert_eq!(n, 100, "every committed row survives SIGKILL");
    let log = std::fs::read_to_string(pg.dir().join("postgres.log")).unwrap();
    assert!(
        log.contains("not properly shut down") || log.contains("automatic recovery"),
        "the restart after kill ran crash recovery:\n{log}"
    );
}

#[test]
fn drop_stops_the_server_and_removes_the_directory() {
    let pg = Postgres::start().unwrap();
    let pid = pg.pid().unwrap();
    let dir: PathBuf = pg.dir().to_path_buf();
    let url = pg.url();
    let mut c = connect(&url).unwrap();
    c.batch_execute("SELECT 1").unwrap();
    drop(pg);
    assert!(
        process_gone(pid),
        "postmaster {pid} still running after drop"
    );
    assert!(!dir.exists(), "{} still exists after drop", dir.display());
    assert!(connect(&url).is_err());
}

#[test]
fn shared_is_one_cluster_per_process() {
    let a = Postgres::shared().unwrap();
    let b = Postgres::shared().unwrap();
    assert!(std::ptr::eq(a, b));
    let url = a.fresh_database().unwrap();
    connect(&url).unwrap().batch_execute("SELECT 1").unwrap();
}

/// Not a test on its own: run by `a_dying_test_process_leaves_nothing_behind` in a child
/// process, it starts the shared cluster, reports its PID and directory, and aborts.
#[test]
fn child_that_aborts_with_a_shared_cluster() {
    let Ok(report) = std::env::var("ZCHAT_PG_ABORT_REPORT") else {
        return;
    };
    let pg = Postgres::shared().unwrap();
    std::fs::write(
        &report,
        format!("{}\n{}\n", pg.pid().unwrap(), pg.dir().display()),
    )
    .unwrap();
    std::process::abort();
}

#[test]
fn a_dying_test_process_leaves_nothing_behind() {
    let report = tempfile::NamedTempFile::new().unwrap();
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "child_that_aborts_with_a_shared_cluster",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("ZCHAT_PG_ABORT_REPORT", report.path())
        .output()
        .unwrap();
    assert!(
        !out.status.success(),
        "the child was meant to abort: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    let text = std::fs::read_to_string(report.path()).unwrap();
    let mut lines = text.lines();
    let pid: u32 = lines.next().expect("child reported a pid").parse().unwrap();
    let dir = PathBuf::from(lines.next().expect("child reported a dir"));
    assert!(
        wait_until(Duration::from_secs(20), || process_gone(pid)),
        "postmaster {pid} of the aborted process still runs"
    );
    assert!(
        wait_until(Duration::from_secs(20), || !dir.exists()),
        "{} of the aborted process is still there",
        dir.display()
    );
}
