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
//!   PostgreSQL's pool: SQLite undoes a failing statement by itself, so it
//!   needs no savepoint, one round trip less. If such a job fails in a way
//!   that may have ended the transaction (anything but a broken constraint
//!   or a row it could not decode), the whole batch fails.
//! - The jobs of a batch run one after another on one connection, each
//!   seeing the ones before: two claims of one refresh token in a batch are
//!   decided as two in a row were (the second finds the token used).
//!
//! Nothing waits forever: a job that takes longer than `JOB_WITHIN` rolls
//! its whole batch back (its statements' state is unknown), a caller that
//! gets no answer within `ANSWER_WITHIN` (a queue that long, or a writer
//! that hangs) gets an error, and one whose writer is gone gets one at once.
//! The queue is bounded: under a flood, requests wait to hand their job in.

use std::sync::Arc;
use std::time::Duration;

use futures_core::future::BoxFuture;
use sqlx::{Connection, SqliteConnection, SqlitePool};
use tokio::sync::{mpsc, oneshot};
use tracing::Instrument;

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

/// A write's own statements, run on the writer's connection inside the
/// batch's transaction. Everything it uses is owned: it runs on another
/// thread, after the caller's borrows may have ended.
pub type Work<T> = Box<
    dyn for<'c> FnOnce(&'c mut SqliteConnection) -> BoxFuture<'c, Result<T, sqlx::Error>> + Send,
>;

#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// The job's own statement failed; its batch committed without it.
    #[error(transparent)]
    Statement(sqlx::Error),
    /// The batch the job was in did not commit (nor begin).
    #[error("the batch of writes did not commit: {0}")]
    Batch(Arc<sqlx::Error>),
    #[error("a write of the same batch took over {JOB_WITHIN:?}: the batch was rolled back")]
    Stalled,
    #[error("a write of the same batch failed in a way that may have ended its transaction: the batch was rolled back")]
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
            WriteError::Statement(err) => super::is_unreachable(err),
            WriteError::Batch(err) => super::is_unreachable(err),
            WriteError::Stalled
            | WriteError::Unsure
            | WriteError::Stopped
            | WriteError::Timeout => true,
        }
    }
}

/// Why a whole batch failed, for each of its jobs.
#[derive(Clone)]
enum BatchFailure {
    Sql(Arc<sqlx::Error>),
    Stalled,
    /// A job without a savepoint failed in a way that may have ended the
    /// transaction.
    Unsure,
}

impl From<sqlx::Error> for BatchFailure {
    fn from(err: sqlx::Error) -> Self {
        BatchFailure::Sql(Arc::new(err))
    }
}

/// How a job's statements hang together, which decides whether it needs
/// a savepoint of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Atomicity {
    /// Statements that each stand on their own, as on PostgreSQL's pool
    /// (in practice one statement, or retries of one). SQLite undoes a
    /// failing statement by itself, so the job needs no savepoint: one
    /// round trip to sqlx's thread less per job.
    Statements,
    /// All of its statements or none: a savepoint before it, rolled back
    /// to if it fails.
    Atomic,
}

/// How a job's run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ran {
    Succeeded,
    /// Its error left the batch's transaction as it was: SQLite undid at
    /// most the failing statement.
    FailedAlone,
    /// Its error may have rolled back the whole transaction (I/O, a full
    /// disk, memory, a lost connection).
    FailedUnsure,
}

/// Whether SQLite undid only the failing statement: a constraint it broke
/// (a taken name), or an error on our side of the driver (decoding a row).
/// Anything else may have ended the transaction.
fn leaves_transaction_intact(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::Database(db) => db.kind() != sqlx::error::ErrorKind::Other,
        sqlx::Error::RowNotFound
        | sqlx::Error::ColumnNotFound(_)
        | sqlx::Error::ColumnIndexOutOfBounds { .. }
        | sqlx::Error::ColumnDecode { .. }
        | sqlx::Error::Decode(_)
        | sqlx::Error::TypeNotFound { .. } => true,
        _ => false,
    }
}

/// A job as the writer sees it, whatever its answer's type.
trait Job: Send {
    fn atomicity(&self) -> Atomicity;
    /// Runs the work, keeping its outcome until the batch's fate is known.
    fn run<'c>(&'c mut self, conn: &'c mut SqliteConnection) -> BoxFuture<'c, Ran>;
    /// Answers the caller once the batch committed (`Ok`) or failed.
    fn answer(self: Box<Self>, batch: Result<(), BatchFailure>);
}

struct Pending<T> {
    atomicity: Atomicity,
    work: Option<Work<T>>,
    outcome: Option<Result<T, sqlx::Error>>,
    reply: oneshot::Sender<Result<T, WriteError>>,
    /// The caller's span, so that the statements are logged under its
    /// request.
    span: tracing::Span,
}

impl<T: Send + 'static> Job for Pending<T> {
    fn atomicity(&self) -> Atomicity {
        self.atomicity
    }

    fn run<'c>(&'c mut self, conn: &'c mut SqliteConnection) -> BoxFuture<'c, Ran> {
        Box::pin(async move {
            let Some(work) = self.work.take() else {
                return Ran::FailedUnsure;
            };
            let outcome = work(conn).instrument(self.span.clone()).await;
            let ran = match &outcome {
                Ok(_) => Ran::Succeeded,
                Err(err) if leaves_transaction_intact(err) => Ran::FailedAlone,
                Err(_) => Ran::FailedUnsure,
            };
            self.outcome = Some(outcome);
            ran
        })
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

/// Hands jobs to the writer thread. Cloned into everything that writes;
/// the thread ends once every clone is gone and the queue is drained.
#[derive(Clone)]
pub struct Writer {
    jobs: mpsc::Sender<Box<dyn Job>>,
}

impl Writer {
    /// Starts the writer thread on `pool`, whose one connection it takes
    /// for each batch (so that an in-memory database's reads, which share
    /// that pool, still get their turn between batches).
    pub fn spawn(pool: SqlitePool) -> std::io::Result<Writer> {
        let (jobs, queue) = mpsc::channel(QUEUE);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()?;
        let hold = test_hold_before_commit();
        std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || runtime.block_on(serve(pool, queue, hold)))?;
        Ok(Writer { jobs })
    }

    /// Runs `work` in the writer's next batch and answers once that batch
    /// has committed.
    pub async fn run<T, F>(&self, atomicity: Atomicity, work: F) -> Result<T, WriteError>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut SqliteConnection) -> BoxFuture<'c, Result<T, sqlx::Error>>
            + Send
            + 'static,
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
/// `Writer` is gone.
async fn serve(pool: SqlitePool, mut queue: mpsc::Receiver<Box<dyn Job>>, hold: Option<Duration>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while queue.recv_many(&mut batch, MAX_BATCH).await > 0 {
        // On a task of its own so that a panic loses this batch (its
        // callers get errors, its transaction is rolled back) and not the
        // writer.
        let pool = pool.clone();
        let jobs = std::mem::take(&mut batch);
        let run = tokio::spawn(async move {
            let mut jobs = jobs;
            let outcome = commit(&pool, &mut jobs, hold).await;
            (jobs, outcome)
        });
        match run.await {
            Ok((jobs, outcome)) => {
                if let Err(BatchFailure::Sql(err)) = &outcome {
                    tracing::error!(error = %err, writes = jobs.len(), "a batch of writes failed");
                }
                for job in jobs {
                    job.answer(outcome.clone());
                }
            }
            // Its jobs were dropped with the task: their callers are told
            // that the writer stopped, and the transaction rolled back.
            Err(err) => tracing::error!(error = %err, "a batch of writes was lost"),
        }
    }
}

/// Runs a batch's jobs in one transaction, each atomic one in a
/// savepoint, and commits. An error here means nothing of the batch was committed.
async fn commit(
    pool: &SqlitePool,
    jobs: &mut [Box<dyn Job>],
    hold: Option<Duration>,
) -> Result<(), BatchFailure> {
    let mut conn = pool.acquire().await?;
    let mut tx = conn.begin_with("BEGIN IMMEDIATE").await?;
    for job in jobs.iter_mut() {
        let atomic = job.atomicity() == Atomicity::Atomic;
        if atomic {
            // Never released: the batch's COMMIT commits them all, and a
            // RELEASE each would be one more round trip to sqlx's thread.
            sqlx::query("SAVEPOINT job").execute(&mut *tx).await?;
        }
        let ran = tokio::time::timeout(JOB_WITHIN, job.run(&mut tx))
            .await
            .map_err(|_| BatchFailure::Stalled)?;
        match ran {
            Ran::Succeeded => {}
            // Undoes this job alone. It fails when SQLite has rolled the
            // whole transaction back (a full disk, an I/O error): then the
            // batch fails, and nothing of it was committed.
            Ran::FailedAlone | Ran::FailedUnsure if atomic => {
                sqlx::query("ROLLBACK TO job").execute(&mut *tx).await?;
            }
            // SQLite undid the failing statement; the others stand.
            Ran::FailedAlone => {}
            // Without a savepoint there is no telling what is left of the
            // transaction: none of the batch is committed.
            Ran::FailedUnsure => return Err(BatchFailure::Unsure),
        }
    }
    if let Some(hold) = hold {
        tracing::info!(writes = jobs.len(), "holding a batch before its commit");
        tokio::time::sleep(hold).await;
    }
    tx.commit().await?;
    if hold.is_some() {
        tracing::info!(writes = jobs.len(), "held batch committed");
    }
    Ok(())
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
    use sqlx::sqlite::SqlitePoolOptions;

    async fn writer() -> (Writer, SqlitePool) {
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .connect("sqlite::memory:")
            .await
            .unwrap();
        sqlx::query("CREATE TABLE t (x INTEGER NOT NULL UNIQUE)")
            .execute(&pool)
            .await
            .unwrap();
        (Writer::spawn(pool.clone()).unwrap(), pool)
    }

    fn insert(
        x: i64,
    ) -> impl for<'c> FnOnce(&'c mut SqliteConnection) -> BoxFuture<'c, Result<(), sqlx::Error>>
    {
        move |conn| {
            Box::pin(async move {
                sqlx::query("INSERT INTO t (x) VALUES ($1)")
                    .bind(x)
                    .execute(&mut *conn)
                    .await
                    .map(drop)
            })
        }
    }

    async fn stored(pool: &SqlitePool) -> Vec<i64> {
        sqlx::query_scalar("SELECT x FROM t ORDER BY x")
            .fetch_all(pool)
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn a_broken_constraint_fails_its_own_write_and_no_other() {
        let (writer, pool) = writer().await;
        let (a, b, c, d) = tokio::join!(
            writer.run(Atomicity::Statements, insert(1)),
            writer.run(Atomicity::Statements, insert(1)),
            writer.run(Atomicity::Statements, insert(2)),
            writer.run(Atomicity::Atomic, insert(2)),
        );
        assert!(a.is_ok());
        assert!(matches!(b, Err(WriteError::Statement(_))), "{b:?}");
        assert!(c.is_ok());
        assert!(matches!(d, Err(WriteError::Statement(_))), "{d:?}");
        assert_eq!(stored(&pool).await, [1, 2]);
    }

    #[tokio::test]
    async fn an_atomic_write_that_fails_leaves_none_of_its_statements() {
        let (writer, pool) = writer().await;
        writer.run(Atomicity::Statements, insert(5)).await.unwrap();
        fn two(conn: &mut SqliteConnection) -> BoxFuture<'_, Result<(), sqlx::Error>> {
            Box::pin(async move {
                sqlx::query("INSERT INTO t (x) VALUES (6)")
                    .execute(&mut *conn)
                    .await?;
                sqlx::query("INSERT INTO t (x) VALUES (5)")
                    .execute(&mut *conn)
                    .await
                    .map(drop)
            })
        }
        let (atomic, after) = tokio::join!(
            writer.run(Atomicity::Atomic, two),
            writer.run(Atomicity::Statements, insert(7)),
        );
        assert!(
            matches!(atomic, Err(WriteError::Statement(_))),
            "{atomic:?}"
        );
        after.unwrap();
        assert_eq!(stored(&pool).await, [5, 7], "6 went with its failed write");
    }
}
