//! The run database: every transition is written here before it is acted
//! on, so a run killed at any point resumes from its last checkpoint.
//!
//! SQLite in WAL mode with `synchronous = FULL`: a committed write survives
//! the process being killed and the machine losing power. Several `gyre`
//! processes (a run, `gyre stop`, `gyre runs`) may open it at once.

use crate::RunId;
use crate::record::{IterationRecord, Journal, Phase, RunRecord, ShipRecord, StopReason};
use rusqlite::{Connection, OptionalExtension, params};
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
#[error("run database {path}: {message}")]
pub struct StoreError {
    pub path: PathBuf,
    pub message: String,
}

pub struct Store {
    conn: Connection,
    path: PathBuf,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS runs(
  id TEXT PRIMARY KEY,
  record TEXT NOT NULL,
  loop TEXT NOT NULL,
  finished INTEGER NOT NULL DEFAULT 0,
  inbox INTEGER NOT NULL DEFAULT 0,
  stop_requested INTEGER NOT NULL DEFAULT 0,
  created_ms INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS runs_loop ON runs(loop, finished);
CREATE TABLE IF NOT EXISTS iterations(
  run TEXT NOT NULL, n INTEGER NOT NULL, record TEXT NOT NULL,
  PRIMARY KEY(run, n)
);
CREATE TABLE IF NOT EXISTS ships(
  run TEXT NOT NULL, step TEXT NOT NULL, record TEXT NOT NULL,
  PRIMARY KEY(run, step)
);
CREATE TABLE IF NOT EXISTS journal(
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  run TEXT NOT NULL, at_ms INTEGER NOT NULL, kind TEXT NOT NULL, message TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS journal_run ON journal(run, seq);
CREATE TABLE IF NOT EXISTS fires(
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  loop TEXT NOT NULL, event_id TEXT NOT NULL, event TEXT NOT NULL,
  created_ms INTEGER NOT NULL, status TEXT NOT NULL DEFAULT 'pending', run TEXT
);
CREATE UNIQUE INDEX IF NOT EXISTS fires_event ON fires(loop, event_id);
CREATE INDEX IF NOT EXISTS fires_status ON fires(status, seq);
CREATE TABLE IF NOT EXISTS triggers(
  loop TEXT PRIMARY KEY, cursor TEXT, last_poll_ms INTEGER
);
";

/// Handled fires kept per loop (their event ids drop re-deliveries).
const FIRES_KEPT: i64 = 1000;

/// A fire waiting in the database for the daemon to start it.
#[derive(Debug, Clone)]
pub struct PendingFire {
    pub seq: i64,
    pub loop_name: String,
    pub event: serde_json::Value,
}

/// What became of the events offered to [`Store::accept_fires`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Accepted {
    pub queued: usize,
    /// Seen before (a re-delivery): dropped.
    pub duplicates: usize,
    /// The queue was full: nothing was written, not even the cursor.
    pub full: bool,
}

impl Store {
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let err = |e: rusqlite::Error| StoreError {
            path: path.into(),
            message: e.to_string(),
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| StoreError {
                path: path.into(),
                message: format!("cannot create {}: {e}", dir.display()),
            })?;
        }
        let conn = Connection::open(path).map_err(err)?;
        conn.busy_timeout(std::time::Duration::from_secs(10))
            .map_err(err)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(err)?;
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(err)?;
        conn.execute_batch(SCHEMA).map_err(err)?;
        Ok(Self {
            conn,
            path: path.into(),
        })
    }

    fn fail(&self, e: impl std::fmt::Display) -> StoreError {
        StoreError {
            path: self.path.clone(),
            message: e.to_string(),
        }
    }

    fn decode<T: serde::de::DeserializeOwned>(
        &self,
        what: &str,
        text: &str,
    ) -> Result<T, StoreError> {
        serde_json::from_str(text).map_err(|e| self.fail(format!("{what} is damaged: {e}")))
    }

    pub fn insert_run(&self, run: &RunRecord) -> Result<(), StoreError> {
        let record = serde_json::to_string(run).map_err(|e| self.fail(e))?;
        self.conn
            .execute(
                "INSERT INTO runs(id, record, loop, created_ms) VALUES (?1, ?2, ?3, ?4)",
                params![
                    run.id.as_str(),
                    record,
                    run.loop_name,
                    run.created_ms as i64
                ],
            )
            .map_err(|e| self.fail(e))?;
        Ok(())
    }

    /// Writes `run` as it now stands (its phase, totals, outcome).
    pub fn save_run(&self, run: &RunRecord) -> Result<(), StoreError> {
        let record = serde_json::to_string(run).map_err(|e| self.fail(e))?;
        let finished = matches!(run.phase, Phase::Finished);
        let inbox = finished && run.reason.is_some_and(StopReason::needs_review);
        self.conn
            .execute(
                "UPDATE runs SET record = ?2, finished = ?3, inbox = CASE WHEN ?3 THEN ?4 ELSE inbox END WHERE id = ?1",
                params![run.id.as_str(), record, finished, inbox],
            )
            .map_err(|e| self.fail(e))?;
        Ok(())
    }

    pub fn run(&self, id: &RunId) -> Result<Option<RunRecord>, StoreError> {
        let text: Option<String> = self
            .conn
            .query_row(
                "SELECT record FROM runs WHERE id = ?1",
                [id.as_str()],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| self.fail(e))?;
        text.map(|t| self.decode("run record", &t)).transpose()
    }

    /// Runs whose id starts with `prefix` (ids are long; people type a few
    /// characters).
    pub fn find_runs(&self, prefix: &str) -> Result<Vec<RunId>, StoreError> {
        let pattern = format!("{}%", prefix.replace(['%', '_'], ""));
        self.ids(
            "SELECT id FROM runs WHERE id LIKE ?1 ORDER BY created_ms",
            [pattern],
        )
    }

    fn ids<P: rusqlite::Params>(&self, sql: &str, p: P) -> Result<Vec<RunId>, StoreError> {
        let mut stmt = self.conn.prepare(sql).map_err(|e| self.fail(e))?;
        let rows = stmt
            .query_map(p, |r| r.get::<_, String>(0))
            .map_err(|e| self.fail(e))?;
        let mut out = Vec::new();
        for row in rows {
            out.push(RunId::from_stored(row.map_err(|e| self.fail(e))?));
        }
        Ok(out)
    }

    /// Runs, newest first; `limit` caps the count.
    pub fn runs(&self, limit: usize) -> Result<Vec<RunRecord>, StoreError> {
        self.records(
            "SELECT record FROM runs ORDER BY created_ms DESC, id DESC LIMIT ?1",
            [limit as i64],
        )
    }

    /// Finished runs that stopped without meeting their goal, not yet dismissed.
    pub fn inbox(&self) -> Result<Vec<RunRecord>, StoreError> {
        self.records(
            "SELECT record FROM runs WHERE inbox = 1 ORDER BY created_ms DESC",
            [],
        )
    }

    pub fn dismiss(&self, id: &RunId) -> Result<bool, StoreError> {
        let n = self
            .conn
            .execute(
                "UPDATE runs SET inbox = 0 WHERE id = ?1 AND inbox = 1",
                [id.as_str()],
            )
            .map_err(|e| self.fail(e))?;
        Ok(n == 1)
    }

    /// Unfinished runs, oldest first.
    pub fn unfinished(&self) -> Result<Vec<RunRecord>, StoreError> {
        self.records(
            "SELECT record FROM runs WHERE finished = 0 ORDER BY created_ms",
            [],
        )
    }

    fn records<P: rusqlite::Params>(&self, sql: &str, p: P) -> Result<Vec<RunRecord>, StoreError> {
        self.decoded("run record", sql, p)
    }

    /// Each row's first column, a JSON record, decoded.
    fn decoded<T: serde::de::DeserializeOwned, P: rusqlite::Params>(
        &self,
        what: &str,
        sql: &str,
        p: P,
    ) -> Result<Vec<T>, StoreError> {
        let mut stmt = self.conn.prepare(sql).map_err(|e| self.fail(e))?;
        let rows = stmt
            .query_map(p, |r| r.get::<_, String>(0))
            .map_err(|e| self.fail(e))?;
        let mut out = Vec::new();
        for row in rows {
            out.push(self.decode(what, &row.map_err(|e| self.fail(e))?)?);
        }
        Ok(out)
    }

    pub fn request_stop(&self, id: &RunId) -> Result<bool, StoreError> {
        let n = self
            .conn
            .execute(
                "UPDATE runs SET stop_requested = 1 WHERE id = ?1 AND finished = 0",
                [id.as_str()],
            )
            .map_err(|e| self.fail(e))?;
        Ok(n == 1)
    }

    pub fn stop_requested(&self, id: &RunId) -> Result<bool, StoreError> {
        self.conn
            .query_row(
                "SELECT stop_requested FROM runs WHERE id = ?1",
                [id.as_str()],
                |r| r.get::<_, bool>(0),
            )
            .optional()
            .map(|v| v.unwrap_or(false))
            .map_err(|e| self.fail(e))
    }

    /// Writes `record` as JSON under (run, key), replacing what was there.
    fn upsert(
        &self,
        sql: &str,
        run: &RunId,
        key: &dyn rusqlite::ToSql,
        record: &impl serde::Serialize,
    ) -> Result<(), StoreError> {
        let record = serde_json::to_string(record).map_err(|e| self.fail(e))?;
        self.conn
            .execute(sql, params![run.as_str(), key, record])
            .map_err(|e| self.fail(e))?;
        Ok(())
    }

    pub fn save_iteration(&self, run: &RunId, it: &IterationRecord) -> Result<(), StoreError> {
        self.upsert(
            "INSERT INTO iterations(run, n, record) VALUES (?1, ?2, ?3)
             ON CONFLICT(run, n) DO UPDATE SET record = excluded.record",
            run,
            &it.n,
            it,
        )
    }

    pub fn iterations(&self, run: &RunId) -> Result<Vec<IterationRecord>, StoreError> {
        self.decoded(
            "iteration record",
            "SELECT record FROM iterations WHERE run = ?1 ORDER BY n",
            [run.as_str()],
        )
    }

    pub fn save_ship(&self, run: &RunId, ship: &ShipRecord) -> Result<(), StoreError> {
        self.upsert(
            "INSERT INTO ships(run, step, record) VALUES (?1, ?2, ?3)
             ON CONFLICT(run, step) DO UPDATE SET record = excluded.record",
            run,
            &ship.step,
            ship,
        )
    }

    pub fn ships(&self, run: &RunId) -> Result<Vec<ShipRecord>, StoreError> {
        self.decoded(
            "ship record",
            "SELECT record FROM ships WHERE run = ?1 ORDER BY rowid",
            [run.as_str()],
        )
    }

    pub fn ship(&self, run: &RunId, step: &str) -> Result<Option<ShipRecord>, StoreError> {
        Ok(self
            .decoded(
                "ship record",
                "SELECT record FROM ships WHERE run = ?1 AND step = ?2",
                params![run.as_str(), step],
            )?
            .pop())
    }

    pub fn journal(&self, run: &RunId, kind: &str, message: &str) -> Result<Journal, StoreError> {
        let at_ms = crate::now_ms();
        self.conn
            .execute(
                "INSERT INTO journal(run, at_ms, kind, message) VALUES (?1, ?2, ?3, ?4)",
                params![run.as_str(), at_ms as i64, kind, message],
            )
            .map_err(|e| self.fail(e))?;
        Ok(Journal {
            seq: self.conn.last_insert_rowid(),
            at_ms,
            kind: kind.into(),
            message: message.into(),
        })
    }

    /// Journal entries of `run` after `after` (a sequence number).
    pub fn journal_since(&self, run: &RunId, after: i64) -> Result<Vec<Journal>, StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT seq, at_ms, kind, message FROM journal WHERE run = ?1 AND seq > ?2 ORDER BY seq")
            .map_err(|e| self.fail(e))?;
        let rows = stmt
            .query_map(params![run.as_str(), after], |r| {
                Ok(Journal {
                    seq: r.get(0)?,
                    at_ms: r.get::<_, i64>(1)? as u64,
                    kind: r.get(2)?,
                    message: r.get(3)?,
                })
            })
            .map_err(|e| self.fail(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.fail(e))
    }

    /// Queues `events` (id, JSON) for `loop_name` and moves its trigger
    /// state to `state`, in one transaction: either the fires and the new
    /// cursor are both durable, or neither is (queue full).
    pub fn accept_fires(
        &self,
        loop_name: &str,
        events: &[(String, serde_json::Value)],
        state: Option<&TriggerState>,
        capacity: usize,
    ) -> Result<Accepted, StoreError> {
        // IMMEDIATE: the write lock is taken at BEGIN, where the busy
        // timeout applies; a deferred read upgraded to a write fails at
        // once with "database is locked" when another process writes.
        let tx = rusqlite::Transaction::new_unchecked(
            &self.conn,
            rusqlite::TransactionBehavior::Immediate,
        )
        .map_err(|e| self.fail(e))?;
        let pending: i64 = tx
            .query_row(
                "SELECT COUNT(*) FROM fires WHERE status = 'pending'",
                [],
                |r| r.get(0),
            )
            .map_err(|e| self.fail(e))?;
        let mut out = Accepted::default();
        let mut room = (capacity as i64 - pending).max(0);
        for (id, event) in events {
            let seen: bool = tx
                .query_row(
                    "SELECT COUNT(*) FROM fires WHERE loop = ?1 AND event_id = ?2",
                    params![loop_name, id],
                    |r| r.get::<_, i64>(0),
                )
                .map(|n| n > 0)
                .map_err(|e| self.fail(e))?;
            if seen {
                out.duplicates += 1;
                continue;
            }
            if room == 0 {
                return Ok(Accepted {
                    full: true,
                    ..Accepted::default()
                });
            }
            let text = serde_json::to_string(event).map_err(|e| self.fail(e))?;
            tx.execute(
                "INSERT INTO fires(loop, event_id, event, created_ms) VALUES (?1, ?2, ?3, ?4)",
                params![loop_name, id, text, crate::now_ms() as i64],
            )
            .map_err(|e| self.fail(e))?;
            room -= 1;
            out.queued += 1;
        }
        if let Some(state) = state {
            tx.execute(
                "INSERT INTO triggers(loop, cursor, last_poll_ms) VALUES (?1, ?2, ?3)
                 ON CONFLICT(loop) DO UPDATE SET cursor = excluded.cursor,
                   last_poll_ms = excluded.last_poll_ms",
                params![
                    loop_name,
                    state.cursor,
                    state.last_poll_ms.map(|v| v as i64)
                ],
            )
            .map_err(|e| self.fail(e))?;
        }
        tx.execute(
            "DELETE FROM fires WHERE loop = ?1 AND status != 'pending' AND seq NOT IN
               (SELECT seq FROM fires WHERE loop = ?1 ORDER BY seq DESC LIMIT ?2)",
            params![loop_name, FIRES_KEPT],
        )
        .map_err(|e| self.fail(e))?;
        tx.commit().map_err(|e| self.fail(e))?;
        Ok(out)
    }

    /// How many fires wait, without reading them.
    pub fn pending_count(&self) -> Result<usize, StoreError> {
        self.conn
            .query_row(
                "SELECT COUNT(*) FROM fires WHERE status = 'pending'",
                [],
                |r| r.get::<_, i64>(0),
            )
            .map(|n| n.max(0) as usize)
            .map_err(|e| self.fail(e))
    }

    pub fn pending_fires(&self) -> Result<Vec<PendingFire>, StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT seq, loop, event FROM fires WHERE status = 'pending' ORDER BY seq")
            .map_err(|e| self.fail(e))?;
        let rows = stmt
            .query_map([], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                ))
            })
            .map_err(|e| self.fail(e))?;
        let mut out = Vec::new();
        for row in rows {
            let (seq, loop_name, event) = row.map_err(|e| self.fail(e))?;
            out.push(PendingFire {
                seq,
                loop_name,
                event: self.decode("fire", &event)?,
            });
        }
        Ok(out)
    }

    /// Marks a fire handled: `started` (with its run) or `skipped`.
    pub fn fire_handled(
        &self,
        seq: i64,
        status: &str,
        run: Option<&RunId>,
    ) -> Result<(), StoreError> {
        self.conn
            .execute(
                "UPDATE fires SET status = ?2, run = ?3 WHERE seq = ?1",
                params![seq, status, run.map(RunId::as_str)],
            )
            .map_err(|e| self.fail(e))?;
        Ok(())
    }

    /// Fires marked started whose run never got recorded (the daemon died
    /// in between) go back to pending.
    pub fn requeue_lost_fires(&self) -> Result<usize, StoreError> {
        self.conn
            .execute(
                "UPDATE fires SET status = 'pending', run = NULL WHERE status = 'started'
                   AND (run IS NULL OR run NOT IN (SELECT id FROM runs))",
                [],
            )
            .map_err(|e| self.fail(e))
    }

    /// A trigger's poll cursor and when it last polled.
    pub fn trigger_state(&self, loop_name: &str) -> Result<TriggerState, StoreError> {
        let row: Option<(Option<String>, Option<i64>)> = self
            .conn
            .query_row(
                "SELECT cursor, last_poll_ms FROM triggers WHERE loop = ?1",
                [loop_name],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(|e| self.fail(e))?;
        Ok(match row {
            None => TriggerState::default(),
            Some((cursor, last)) => TriggerState {
                cursor,
                last_poll_ms: last.map(|v| v as u64),
            },
        })
    }
}

#[derive(Debug, Clone, Default)]
pub struct TriggerState {
    pub cursor: Option<String>,
    pub last_poll_ms: Option<u64>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::Totals;

    fn run(id: &str) -> RunRecord {
        RunRecord {
            id: RunId::from_stored(id.into()),
            loop_name: "l".into(),
            configured: true,
            recipe_path: "r.toml".into(),
            recipe_text: String::new(),
            recipe_digest: String::new(),
            project: ".".into(),
            repo: ".".into(),
            base: "abc".into(),
            branch: "b".into(),
            worktree: "w".into(),
            event: serde_json::json!({}),
            findings: serde_json::json!({}),
            phase: Phase::Iterate,
            reason: None,
            detail: None,
            totals: Totals::default(),
            created_ms: 1,
            updated_ms: 1,
            finished_ms: None,
            commit: None,
            worktree_kept: false,
            child_pgid: None,
        }
    }

    #[test]
    fn runs_move_from_unfinished_to_the_inbox_when_they_stop_short() {
        let dir = std::env::temp_dir().join(format!("gyre-store-{}", std::process::id()));
        let store = Store::open(&dir.join("runs.db")).unwrap();
        let mut a = run("a1");
        let mut b = run("b2");
        store.insert_run(&a).unwrap();
        store.insert_run(&b).unwrap();
        assert_eq!(store.unfinished().unwrap().len(), 2);

        assert!(store.request_stop(&a.id).unwrap());
        assert!(store.stop_requested(&a.id).unwrap());
        a.phase = Phase::Finished;
        a.reason = Some(StopReason::Stopped);
        store.save_run(&a).unwrap();
        b.phase = Phase::Finished;
        b.reason = Some(StopReason::GoalMet);
        store.save_run(&b).unwrap();

        assert!(store.unfinished().unwrap().is_empty());
        let inbox = store.inbox().unwrap();
        assert_eq!(inbox.len(), 1, "only the run that stopped short");
        assert_eq!(inbox[0].id.as_str(), "a1");
        assert!(
            !store.request_stop(&a.id).unwrap(),
            "a finished run cannot be stopped"
        );
        assert!(store.dismiss(&a.id).unwrap());
        assert!(store.inbox().unwrap().is_empty());
        assert_eq!(store.find_runs("a").unwrap().len(), 1);
        assert_eq!(
            store.find_runs("%").unwrap().len(),
            2,
            "LIKE wildcards in a prefix are dropped, not matched"
        );
        // Another connection (another gyre process) sees the same state.
        let other = Store::open(&dir.join("runs.db")).unwrap();
        assert_eq!(
            other.run(&b.id).unwrap().unwrap().reason,
            Some(StopReason::GoalMet)
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
