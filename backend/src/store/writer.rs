//! SQLite's writer: a thread of its own that holds the one write
//! connection and commits the writes of many requests as one transaction.
//!
//! With the connection in a pool, each statement held it across sqlx's
//! hand-off to its worker thread and back, and until the requesting task
//! was woken again on a busy server thread, while every other write waited:
//! the writes queued at the connection although a core stayed idle. Here a
//! request hands its writes over as one *job* and awaits the answer. The
//! writer takes every job queued meanwhile (at most `MAX_BATCH`), runs them
//! in one `BEGIN IMMEDIATE` transaction, each atomic one inside a savepoint
//! of its own, and commits once: one hand-off and one commit per batch
//! instead of per statement.
//!
//! The writer runs the statements itself, through rusqlite, on its own
//! connection. sqlx gives each SQLite connection a thread of its own and
//! hands every statement to it and its rows back: two thread switches per
//! statement, which made the writer and that thread together about
//! 100 µs of every new login, all of it in one serial chain. A job is
//! therefore plain code on a `WriterConnection` (`on_writer!` gives each
//! statement a SQLite body for it and a PostgreSQL body for sqlx, with one
//! SQL text for both); reads stay on sqlx's reader pool.
//!
//! What stays true:
//!
//! - A job is answered only after its batch committed, so an answered
//!   write survives kill -9 as before (WAL, `synchronous = NORMAL`). A batch
//!   that does not commit answers every job in it with an error, never a
//!   success.
//! - A job that fails fails alone; the rest of its batch commits. An
//!   atomic job (`on_writer!(…, transaction …)`) is rolled back to its
//!   savepoint: all of its statements or none, as a transaction was
//!   before. Any other job's statements stand on their own, as on
//!   PostgreSQL's pool: SQLite undoes a failing statement by itself. If a
//!   failure ended the transaction (SQLite rolls it back on a full disk,
//!   an I/O error, out of memory), the whole batch fails.
//! - The jobs of a batch run one after another on one connection, each
//!   seeing the ones before: two claims of one refresh token in a batch are
//!   decided as two in a row were (the second finds the token used).
//!
//! Nothing waits forever: a job still running after `JOB_WITHIN` is
//! interrupted and its whole batch rolled back, a caller that gets no
//! answer within `ANSWER_WITHIN` (a queue that long, or a writer that
//! hangs) gets an error, and one whose writer is gone gets one at once.
//! The queue is bounded: under a flood, requests wait to hand their job in.

use std::panic::AssertUnwindSafe;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rusqlite::{OpenFlags, Row, ToSql};
use sqlx::SqlitePool;
use tokio::sync::{mpsc, oneshot};

/// Jobs waiting for the writer; past this, callers wait to hand theirs in.
const QUEUE: usize = 1024;
/// The most jobs one transaction commits: a bound on the time a batch
/// holds SQLite's write lock, and on the work one failed commit undoes.
const MAX_BATCH: usize = 128;
/// A job's statements run on this machine's disk; one that takes this long
/// has hung.
const JOB_WITHIN: Duration = Duration::from_secs(5);
/// How long a caller waits for its answer, queue included. Beyond SQLite's
/// busy timeout (5 s), which a write lock held by another process can cost.
const ANSWER_WITHIN: Duration = Duration::from_secs(15);
/// How often the WAL is checkpointed: at a few thousand writes a second,
/// a WAL of a few MB at most.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(100);
/// Statements the writer keeps prepared: every write statement there is.
const PREPARED_STATEMENTS: usize = 64;
/// SQLite virtual-machine steps between checks of a job's deadline.
const STEPS_PER_DEADLINE_CHECK: i32 = 10_000;

/// A write's own statements, run on the writer's connection inside the
/// batch's transaction. Everything it uses is owned: it runs on another
/// thread, after the caller's borrows may have ended.
pub type Work<T> = Box<dyn FnOnce(&WriterConnection) -> rusqlite::Result<T> + Send>;

#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// The job's own statement failed; its batch committed without it.
    #[error(transparent)]
    Statement(rusqlite::Error),
    /// The batch the job was in did not commit (nor begin).
    #[error("the batch of writes did not commit: {0}")]
    Batch(Arc<rusqlite::Error>),
    #[error("a write of the same batch took over {JOB_WITHIN:?}: the batch was rolled back")]
    Stalled,
    #[error("a write of the same batch failed in a way that ended its transaction: the batch was rolled back")]
    Unsure,
    #[error("the SQLite writer has stopped")]
    Stopped,
    #[error("the SQLite writer did not answer within {ANSWER_WITHIN:?}")]
    Timeout,
}

impl WriteError {
    /// Whether the next request may well succeed (the writer was busy or
    /// gone), as opposed to a statement the database refused.
    pub fn is_unreachable(&self) -> bool {
        match self {
            WriteError::Statement(err) => is_unreachable(err),
            WriteError::Batch(err) => is_unreachable(err),
            WriteError::Stalled
            | WriteError::Unsure
            | WriteError::Stopped
            | WriteError::Timeout => true,
        }
    }
}

/// Whether SQLite could not do the write now (locked by another process,
/// I/O, a full disk), as opposed to refusing the statement.
fn is_unreachable(err: &rusqlite::Error) -> bool {
    use rusqlite::ErrorCode::*;
    matches!(
        err.sqlite_error_code(),
        Some(
            DatabaseBusy
                | DatabaseLocked
                | SystemIoFailure
                | DiskFull
                | CannotOpen
                | OutOfMemory
                | OperationInterrupted
                | FileLockingProtocolFailed
        )
    )
}

/// Whether `err` is a broken UNIQUE (or primary key) constraint.
pub fn is_unique_violation(err: &rusqlite::Error) -> bool {
    matches!(
        err,
        rusqlite::Error::SqliteFailure(e, _)
            if e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                || e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
    )
}

/// The writer's connection as a job sees it: statements with `$n`
/// placeholders, bound by number as sqlx binds them, so that one SQL text
/// serves this connection and PostgreSQL's. Statements stay prepared.
pub struct WriterConnection {
    conn: rusqlite::Connection,
    /// When the job running now must have finished, in ns since `origin`
    /// (`u64::MAX`: none running). SQLite's progress handler reads it.
    deadline: Arc<AtomicU64>,
    origin: Instant,
    /// Batches committed, for the checkpointer to skip idle spells.
    commits: Arc<AtomicU64>,
}

impl WriterConnection {
    fn open(path: &Path, pragmas: &[(&str, String)]) -> rusqlite::Result<WriterConnection> {
        let conn = rusqlite::Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        for (name, value) in pragmas {
            // `journal_mode` answers with a row; the others with none.
            conn.query_row(&format!("PRAGMA {name} = {value}"), [], |_| Ok(()))
                .or_else(|err| match err {
                    rusqlite::Error::QueryReturnedNoRows => Ok(()),
                    err => Err(err),
                })?;
        }
        conn.set_prepared_statement_cache_capacity(PREPARED_STATEMENTS);
        let deadline = Arc::new(AtomicU64::new(u64::MAX));
        let origin = Instant::now();
        let overdue = deadline.clone();
        // SQLite interrupts the statement running when this answers true.
        conn.progress_handler(
            STEPS_PER_DEADLINE_CHECK,
            Some(move || nanos_since(origin) > overdue.load(Ordering::Relaxed)),
        );
        Ok(WriterConnection {
            conn,
            deadline,
            origin,
            commits: Arc::default(),
        })
    }

    /// Gives the next job until `JOB_WITHIN` from now.
    fn start_job(&self) {
        let deadline = nanos_since(self.origin).saturating_add(JOB_WITHIN.as_nanos() as u64);
        self.deadline.store(deadline, Ordering::Relaxed);
    }

    /// Ends the job's deadline; whether it had passed.
    fn end_job(&self) -> bool {
        let deadline = self.deadline.swap(u64::MAX, Ordering::Relaxed);
        nanos_since(self.origin) > deadline
    }

    /// Refuses another statement once the job is past its deadline: the
    /// progress handler only counts steps within a statement, so a job of
    /// many short ones would otherwise run on.
    fn check_deadline(&self) -> rusqlite::Result<()> {
        if nanos_since(self.origin) <= self.deadline.load(Ordering::Relaxed) {
            return Ok(());
        }
        Err(rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_INTERRUPT),
            Some("the write ran past its deadline".to_owned()),
        ))
    }

    /// Runs a statement; the rows it changed.
    pub fn execute(&self, sql: &str, args: &[&dyn ToSql]) -> rusqlite::Result<u64> {
        self.check_deadline()?;
        log_statement(sql);
        let mut statement = self.conn.prepare_cached(sql)?;
        bind_numbered(&mut statement, args)?;
        statement.raw_execute().map(|rows| rows as u64)
    }

    /// The first row a statement gives, read by `row`, if any.
    pub fn optional<T>(
        &self,
        sql: &str,
        args: &[&dyn ToSql],
        row: impl FnOnce(&Row<'_>) -> rusqlite::Result<T>,
    ) -> rusqlite::Result<Option<T>> {
        self.check_deadline()?;
        log_statement(sql);
        let mut statement = self.conn.prepare_cached(sql)?;
        bind_numbered(&mut statement, args)?;
        let mut rows = statement.raw_query();
        let value = match rows.next()? {
            Some(first) => Some(row(first)?),
            None => None,
        };
        // Steps an INSERT … RETURNING or UPDATE … RETURNING to its end, so
        // that every row it writes is written.
        while rows.next()?.is_some() {}
        Ok(value)
    }

    /// The first row a statement gives; an error if it gives none.
    pub fn one<T>(
        &self,
        sql: &str,
        args: &[&dyn ToSql],
        row: impl FnOnce(&Row<'_>) -> rusqlite::Result<T>,
    ) -> rusqlite::Result<T> {
        self.optional(sql, args, row)?
            .ok_or(rusqlite::Error::QueryReturnedNoRows)
    }
}

/// Logs a statement at debug level, under the request's span, as sqlx
/// logs the ones it runs (the tests count a login's statements so).
fn log_statement(sql: &str) {
    tracing::debug!(target: "sqlite::statement", sql = %OneLine(sql));
}

/// SQL on one line: its runs of whitespace as one space.
struct OneLine<'a>(&'a str);

impl std::fmt::Display for OneLine<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut words = self.0.split_whitespace();
        if let Some(first) = words.next() {
            f.write_str(first)?;
            for word in words {
                f.write_str(" ")?;
                f.write_str(word)?;
            }
        }
        Ok(())
    }
}

fn nanos_since(origin: Instant) -> u64 {
    u64::try_from(origin.elapsed().as_nanos()).unwrap_or(u64::MAX)
}

/// Binds `args[n - 1]` to each `$n` of the statement, wherever it appears
/// (SQLite numbers parameters by first appearance, not by their digits).
fn bind_numbered(
    statement: &mut rusqlite::CachedStatement<'_>,
    args: &[&dyn ToSql],
) -> rusqlite::Result<()> {
    for index in 1..=statement.parameter_count() {
        let nth = statement
            .parameter_name(index)
            .and_then(|name| name.strip_prefix('$'))
            .and_then(|digits| digits.parse::<usize>().ok())
            .filter(|n| (1..=args.len()).contains(n))
            .ok_or(rusqlite::Error::InvalidParameterCount(
                statement.parameter_count(),
                args.len(),
            ))?;
        statement.raw_bind_parameter(index, args[nth - 1])?;
    }
    Ok(())
}

/// Why a whole batch failed, for each of its jobs.
#[derive(Clone)]
enum BatchFailure {
    Sql(Arc<rusqlite::Error>),
    Stalled,
    /// A job's failure ended the transaction.
    Unsure,
}

impl From<rusqlite::Error> for BatchFailure {
    fn from(err: rusqlite::Error) -> Self {
        BatchFailure::Sql(Arc::new(err))
    }
}

/// How a job's statements hang together, which decides whether it needs
/// a savepoint of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Atomicity {
    /// Statements that each stand on their own, as on PostgreSQL's pool
    /// (in practice one statement, or retries of one). SQLite undoes a
    /// failing statement by itself, so the job needs no savepoint.
    Statements,
    /// All of its statements or none: a savepoint before it, rolled back
    /// to if it fails.
    Atomic,
}

/// A job as the writer sees it, whatever its answer's type.
trait Job: Send {
    fn atomicity(&self) -> Atomicity;
    /// Whether its caller stopped waiting (its client left, or it timed
    /// out): then it is not run at all.
    fn abandoned(&self) -> bool;
    /// Runs the work, keeping its outcome until the batch's fate is known;
    /// whether it succeeded. (Whether a failure took the transaction with
    /// it, the batch asks SQLite.)
    fn run(&mut self, conn: &WriterConnection) -> bool;
    /// Answers the caller once the batch committed (`Ok`) or failed.
    fn answer(self: Box<Self>, batch: Result<(), BatchFailure>);
}

struct Pending<T> {
    atomicity: Atomicity,
    work: Option<Work<T>>,
    outcome: Option<rusqlite::Result<T>>,
    reply: oneshot::Sender<Result<T, WriteError>>,
    /// The caller's span, so that what the work logs is under its request.
    span: tracing::Span,
}

impl<T: Send + 'static> Job for Pending<T> {
    fn atomicity(&self) -> Atomicity {
        self.atomicity
    }

    fn abandoned(&self) -> bool {
        self.reply.is_closed()
    }

    fn run(&mut self, conn: &WriterConnection) -> bool {
        let Some(work) = self.work.take() else {
            return false;
        };
        let outcome = self.span.in_scope(|| work(conn));
        let succeeded = outcome.is_ok();
        self.outcome = Some(outcome);
        succeeded
    }

    fn answer(self: Box<Self>, batch: Result<(), BatchFailure>) {
        let answer = match (batch, self.outcome) {
            // A job's own failure is its answer, whatever became of the rest.
            (_, Some(Err(err))) => Err(WriteError::Statement(err)),
            (Ok(()), Some(Ok(value))) => Ok(value),
            (Err(BatchFailure::Sql(err)), _) => Err(WriteError::Batch(err)),
            (Err(BatchFailure::Stalled), _) => Err(WriteError::Stalled),
            (Err(BatchFailure::Unsure), _) => Err(WriteError::Unsure),
            // Never run: not a write this batch made.
            (Ok(()), None) => Err(WriteError::Stopped),
        };
        // A caller that stopped waiting (its client left) needs no answer.
        let _ = self.reply.send(answer);
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot open the write connection: {0}")]
    Open(#[from] rusqlite::Error),
    #[error("cannot start the writer thread: {0}")]
    Thread(#[from] std::io::Error),
}

/// Hands jobs to the writer thread. Cloned into everything that writes;
/// the thread ends once every clone is gone and the queue is drained.
#[derive(Clone)]
pub struct Writer {
    jobs: mpsc::Sender<Box<dyn Job>>,
}

impl Writer {
    /// Opens the write connection to the database at `path` (which exists,
    /// migrated) with `pragmas`, and starts the writer thread on it. The
    /// thread also checkpoints the WAL on `checkpointer`, if given, while
    /// it lives.
    pub fn spawn(
        path: &Path,
        pragmas: &[(&str, String)],
        checkpointer: Option<SqlitePool>,
    ) -> Result<Writer, StartError> {
        let conn = WriterConnection::open(path, pragmas)?;
        let commits = conn.commits.clone();
        let (jobs, queue) = mpsc::channel(QUEUE);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()?;
        let hold = test_hold_before_commit();
        std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || {
                if let Some(checkpointer) = checkpointer {
                    // Dropped with the runtime when `serve` returns.
                    runtime.spawn(checkpoint_wal(checkpointer, commits));
                }
                runtime.block_on(serve(conn, queue, hold))
            })?;
        Ok(Writer { jobs })
    }

    /// Runs `work` in the writer's next batch and answers once that batch
    /// has committed.
    pub async fn run<T, F>(&self, atomicity: Atomicity, work: F) -> Result<T, WriteError>
    where
        T: Send + 'static,
        F: FnOnce(&WriterConnection) -> rusqlite::Result<T> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let job = Box::new(Pending {
            atomicity,
            work: Some(Box::new(work) as Work<T>),
            outcome: None,
            reply,
            span: tracing::Span::current(),
        });
        let exchange = async {
            self.jobs.send(job).await.map_err(|_| WriteError::Stopped)?;
            answer.await.map_err(|_| WriteError::Stopped)?
        };
        tokio::time::timeout(ANSWER_WITHIN, exchange)
            .await
            .map_err(|_| WriteError::Timeout)?
    }
}

/// The writer thread's loop: a batch of whatever is queued, until every
/// `Writer` is gone. The statements run on this thread; only waiting for
/// jobs is async.
async fn serve(
    conn: WriterConnection,
    mut queue: mpsc::Receiver<Box<dyn Job>>,
    hold: Option<Duration>,
) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while queue.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let jobs = &mut batch;
        // A panic loses this batch (its callers are told that the writer
        // stopped, its transaction is rolled back), not the writer.
        let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| commit(&conn, jobs, hold)));
        match outcome {
            Ok(outcome) => {
                if outcome.is_err() {
                    roll_back(&conn);
                }
                if let Err(BatchFailure::Sql(err)) = &outcome {
                    tracing::error!(error = %err, writes = jobs.len(), "a batch of writes failed");
                }
                let writes = jobs.len();
                let answer = outcome.as_ref().map(drop).map_err(BatchFailure::clone);
                for job in jobs.drain(..) {
                    job.answer(answer.clone());
                }
                // After the answers: nothing here can undo them.
                if let Ok(times) = outcome {
                    crate::metrics::sqlite_batch(writes, times.statements, times.commit);
                }
            }
            Err(_) => {
                // The job that panicked left its deadline running.
                conn.end_job();
                roll_back(&conn);
                tracing::error!(writes = jobs.len(), "a batch of writes was lost to a panic");
                // Dropping the jobs tells their callers.
                jobs.clear();
            }
        }
    }
}

/// Runs a batch's jobs in one transaction, each atomic one in a
/// savepoint, and commits. An error here means nothing of the batch was
/// committed (the caller rolls back what is left of it).
fn commit(
    conn: &WriterConnection,
    jobs: &mut [Box<dyn Job>],
    hold: Option<Duration>,
) -> Result<BatchTimes, BatchFailure> {
    let started = Instant::now();
    conn.conn.execute_batch("BEGIN IMMEDIATE")?;
    for job in jobs.iter_mut() {
        if job.abandoned() {
            continue;
        }
        let atomic = job.atomicity() == Atomicity::Atomic;
        if atomic {
            // Never released: the batch's COMMIT commits them all.
            conn.conn.execute_batch("SAVEPOINT job")?;
        }
        conn.start_job();
        let succeeded = job.run(conn);
        // An interrupted statement (the progress handler, or the check
        // before each statement) is past the deadline too.
        if conn.end_job() {
            return Err(BatchFailure::Stalled);
        }
        // However the job says it ended: if SQLite rolled the transaction
        // back under it (a job that swallowed the error, too), the jobs
        // before it are gone, and a savepoint now would open a new one.
        if conn.conn.is_autocommit() {
            return Err(BatchFailure::Unsure);
        }
        // A failed atomic job is undone alone; otherwise SQLite undid the
        // failing statement, and the others stand.
        if !succeeded && atomic {
            conn.conn.execute_batch("ROLLBACK TO job")?;
        }
    }
    if let Some(hold) = hold {
        tracing::info!(writes = jobs.len(), "holding a batch before its commit");
        std::thread::sleep(hold);
    }
    let committing = Instant::now();
    conn.conn.execute_batch("COMMIT")?;
    conn.commits.fetch_add(1, Ordering::Relaxed);
    if hold.is_some() {
        tracing::info!(writes = jobs.len(), "held batch committed");
    }
    Ok(BatchTimes {
        statements: committing.duration_since(started),
        commit: committing.elapsed(),
    })
}

/// How long a committed batch took, for the metrics.
struct BatchTimes {
    statements: Duration,
    commit: Duration,
}

/// Rolls back what is left of a batch that failed, if anything is.
fn roll_back(conn: &WriterConnection) {
    if conn.conn.is_autocommit() {
        return;
    }
    if let Err(err) = conn.conn.execute_batch("ROLLBACK") {
        // The next batch's BEGIN fails, and its ROLLBACK tries again.
        tracing::error!(error = %err, "rolling back a failed batch failed");
    }
}

/// Checkpoints the WAL every `CHECKPOINT_EVERY` in which the writer
/// committed something (`commits` counts its commits), for as long as it
/// is polled (the writer's thread runs it while the writer lives). PASSIVE
/// copies what no reader still needs and waits for nobody; what it leaves
/// is copied next time.
async fn checkpoint_wal(pool: SqlitePool, commits: Arc<AtomicU64>) {
    let mut every = tokio::time::interval(CHECKPOINT_EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut checkpointed = 0;
    loop {
        every.tick().await;
        let committed = commits.load(Ordering::Relaxed);
        if committed == checkpointed {
            continue;
        }
        checkpointed = committed;
        if let Err(err) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
            .execute(&pool)
            .await
        {
            // The writer's own checkpoint still bounds the WAL.
            tracing::warn!(error = %err, "checkpointing the WAL failed");
        }
    }
}

/// For the kill -9 test alone: hold every batch this long between its last
/// statement and its commit, so that the test can kill the server in the
/// middle of one. Only a debug build reads it.
#[cfg(debug_assertions)]
fn test_hold_before_commit() -> Option<Duration> {
    let millis = std::env::var("ACAPP_TEST_HOLD_COMMIT_MS").ok()?;
    millis.parse().ok().map(Duration::from_millis)
}

#[cfg(not(debug_assertions))]
fn test_hold_before_commit() -> Option<Duration> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A writer on a fresh database file with `t (x UNIQUE)`; the file's
    /// path, to read what was committed.
    fn writer() -> (Writer, std::path::PathBuf) {
        let path = database();
        let pragmas = test_pragmas();
        (Writer::spawn(&path, &pragmas, None).unwrap(), path)
    }

    /// WAL, and SQLite's own checkpoint only as the server's backstop.
    fn test_pragmas() -> Vec<(&'static str, String)> {
        vec![
            ("journal_mode", "WAL".to_owned()),
            ("wal_autocheckpoint", "10000".to_owned()),
        ]
    }

    /// A fresh database file with the tests' tables.
    fn database() -> std::path::PathBuf {
        let path =
            std::env::temp_dir().join(format!("acapp-writer-{}.db", crate::secret::random_hex(8)));
        let setup = rusqlite::Connection::open(&path).unwrap();
        setup
            .execute_batch(
                "PRAGMA journal_mode = WAL;
                 CREATE TABLE t (x INTEGER NOT NULL UNIQUE);
                 CREATE TABLE pair (a INTEGER, b INTEGER, c INTEGER)",
            )
            .unwrap();
        path
    }

    /// The WAL's size after `writes` commits of one row each, with or
    /// without the checkpointer.
    async fn wal_after(writes: i64, checkpointer: bool) -> u64 {
        let path = database();
        let pool = match checkpointer {
            true => Some(
                sqlx::sqlite::SqlitePoolOptions::new()
                    .max_connections(1)
                    .connect(&format!("sqlite://{}", path.display()))
                    .await
                    .unwrap(),
            ),
            false => None,
        };
        let pragmas = test_pragmas();
        let writer = Writer::spawn(&path, &pragmas, pool).unwrap();
        let started = Instant::now();
        for x in 0..writes {
            writer.run(Atomicity::Statements, insert(x)).await.unwrap();
            // Spread over a few of the checkpointer's periods.
            if x % 500 == 0 {
                tokio::time::sleep(Duration::from_millis(120)).await;
            }
        }
        assert!(started.elapsed() < Duration::from_secs(60));
        std::fs::metadata(path.with_extension("db-wal"))
            .unwrap()
            .len()
    }

    #[tokio::test]
    async fn the_checkpointer_keeps_the_wal_short_without_the_writers_help() {
        let (without, with) = (wal_after(3000, false).await, wal_after(3000, true).await);
        // Each commit appends a page or two; SQLite's own checkpoint would
        // stay away until 10,000 pages.
        assert!(without > 2000 * 4096, "{without}");
        println!(
            "WAL after 3,000 commits: {without} bytes without the checkpointer, {with} with it"
        );
        assert!(with < without / 4, "with {with}, without {without}");
    }

    fn insert(x: i64) -> impl FnOnce(&WriterConnection) -> rusqlite::Result<()> {
        move |conn| {
            conn.execute("INSERT INTO t (x) VALUES ($1)", &[&x])
                .map(drop)
        }
    }

    fn stored(path: &Path) -> Vec<i64> {
        let conn = rusqlite::Connection::open(path).unwrap();
        let mut statement = conn.prepare("SELECT x FROM t ORDER BY x").unwrap();
        let rows = statement.query_map([], |row| row.get(0)).unwrap();
        rows.map(Result::unwrap).collect()
    }

    #[tokio::test]
    async fn a_broken_constraint_fails_its_own_write_and_no_other() {
        let (writer, path) = writer();
        let (a, b, c, d) = tokio::join!(
            writer.run(Atomicity::Statements, insert(1)),
            writer.run(Atomicity::Statements, insert(1)),
            writer.run(Atomicity::Statements, insert(2)),
            writer.run(Atomicity::Atomic, insert(2)),
        );
        assert!(a.is_ok());
        assert!(
            matches!(&b, Err(WriteError::Statement(e)) if is_unique_violation(e)),
            "{b:?}"
        );
        assert!(c.is_ok());
        assert!(
            matches!(&d, Err(WriteError::Statement(e)) if is_unique_violation(e)),
            "{d:?}"
        );
        assert_eq!(stored(&path), [1, 2]);
    }

    #[tokio::test]
    async fn an_atomic_write_that_fails_leaves_none_of_its_statements() {
        let (writer, path) = writer();
        writer.run(Atomicity::Statements, insert(5)).await.unwrap();
        let two = |conn: &WriterConnection| {
            conn.execute("INSERT INTO t (x) VALUES (6)", &[])?;
            conn.execute("INSERT INTO t (x) VALUES (5)", &[]).map(drop)
        };
        let (atomic, after) = tokio::join!(
            writer.run(Atomicity::Atomic, two),
            writer.run(Atomicity::Statements, insert(7)),
        );
        assert!(
            matches!(atomic, Err(WriteError::Statement(_))),
            "{atomic:?}"
        );
        after.unwrap();
        assert_eq!(stored(&path), [5, 7], "6 went with its failed write");
    }

    #[tokio::test]
    async fn placeholders_are_bound_by_their_number_wherever_they_appear() {
        let (writer, path) = writer();
        // SQLite numbers `$3` here 1 and `$1` 3: sqlx binds by the digits,
        // and so must the writer, for one SQL text to serve both.
        writer
            .run(Atomicity::Statements, |conn| {
                conn.execute(
                    "INSERT INTO pair (c, a, b) VALUES ($3, $1, $2), ($3, $2, $1)",
                    &[&10i64, &20i64, &30i64],
                )
            })
            .await
            .unwrap();
        let conn = rusqlite::Connection::open(&path).unwrap();
        let mut statement = conn.prepare("SELECT a, b, c FROM pair ORDER BY a").unwrap();
        let rows: Vec<(i64, i64, i64)> = statement
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(rows, [(10, 20, 30), (20, 10, 30)]);
        let missing = writer
            .run(Atomicity::Statements, |conn| {
                conn.execute("INSERT INTO pair (a, b) VALUES ($1, $2)", &[&1i64])
            })
            .await;
        assert!(
            matches!(missing, Err(WriteError::Statement(_))),
            "{missing:?}"
        );
    }

    #[tokio::test]
    async fn a_write_that_runs_past_its_deadline_is_interrupted_and_the_writer_goes_on() {
        let (writer, path) = writer();
        let endless = |conn: &WriterConnection| {
            conn.one(
                "WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c)
                 SELECT count(*) FROM c",
                &[],
                |row| row.get::<_, i64>(0),
            )
        };
        let started = Instant::now();
        let (beside, stuck) = tokio::join!(
            writer.run(Atomicity::Statements, insert(1)),
            writer.run(Atomicity::Statements, endless),
        );
        let took = started.elapsed();
        assert!(took >= JOB_WITHIN && took < ANSWER_WITHIN, "{took:?}");
        assert!(matches!(stuck, Err(WriteError::Statement(_))), "{stuck:?}");
        writer.run(Atomicity::Statements, insert(2)).await.unwrap();
        // The write beside it is rolled back with it if they shared a batch.
        match beside {
            Err(WriteError::Stalled) => assert_eq!(stored(&path), [2]),
            Ok(()) => assert_eq!(stored(&path), [1, 2]),
            other => panic!("{other:?}"),
        }
    }

    #[tokio::test]
    async fn a_write_that_ends_the_transaction_fails_its_batch_even_if_it_says_it_succeeded() {
        let (writer, path) = writer();
        // As SQLite does on a full disk: the transaction is gone, and a job
        // that swallowed the error would answer Ok.
        let rolls_back = |conn: &WriterConnection| {
            conn.execute("INSERT INTO t (x) VALUES (1)", &[])?;
            conn.conn.execute_batch("ROLLBACK")
        };
        let (with_it, ended) = tokio::join!(
            writer.run(Atomicity::Statements, insert(2)),
            writer.run(Atomicity::Atomic, rolls_back),
        );
        assert!(matches!(ended, Err(WriteError::Unsure)), "{ended:?}");
        writer.run(Atomicity::Statements, insert(3)).await.unwrap();
        match with_it {
            Err(WriteError::Unsure) => assert_eq!(stored(&path), [3]),
            Ok(()) => assert_eq!(stored(&path), [2, 3]),
            other => panic!("{other:?}"),
        }
    }

    #[tokio::test]
    async fn a_panic_loses_its_batch_and_not_the_writer() {
        let (writer, path) = writer();
        let panics = |_: &WriterConnection| -> rusqlite::Result<()> { panic!("a bug in a write") };
        let (with_it, lost) = tokio::join!(
            writer.run(Atomicity::Statements, insert(1)),
            writer.run(Atomicity::Statements, panics),
        );
        assert!(matches!(lost, Err(WriteError::Stopped)), "{lost:?}");
        writer.run(Atomicity::Statements, insert(3)).await.unwrap();
        // The write beside it is lost with it if they shared a batch.
        match with_it {
            Err(WriteError::Stopped) => assert_eq!(stored(&path), [3]),
            Ok(()) => assert_eq!(stored(&path), [1, 3]),
            other => panic!("{other:?}"),
        }
    }
}
