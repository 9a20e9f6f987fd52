//! Answers of a session whose tables do not change, kept for the next identical query.
//!
//! The server reads the warehouse through one session pinned to the table versions it
//! opened (`api::AppState`): the same SQL gives the same rows until it reopens. A
//! [`QueryCache`] attached to that session ([`attach`]) keeps each query's batches, so the
//! dashboard's and the map's measures are computed once per distinct question instead of
//! once per request. Concurrent identical queries run once: the others wait for its answer.
//! Failures are not kept. The cache holds at most its byte budget, and forgets the oldest
//! answers first.
//!
//! Only sessions that carry the cache use it: a session over tables that can change (a
//! test's in-memory tables, a scenario's session) is queried as before.

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::sync::{Arc, Mutex};

use datafusion::arrow::record_batch::RecordBatch;
use datafusion::prelude::SessionContext;
use tokio::sync::OnceCell;

type Slot = Arc<OnceCell<Vec<RecordBatch>>>;

/// The cache of one pinned session.
#[derive(Debug)]
pub struct QueryCache {
    budget: usize,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    slots: HashMap<String, (Slot, Option<usize>)>,
    /// Keys with an answer, oldest first, and their total size.
    order: VecDeque<String>,
    bytes: usize,
    hits: u64,
    misses: u64,
}

/// How a cache is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stats {
    /// Answers kept.
    pub entries: usize,
    /// Their size in memory.
    pub bytes: usize,
    /// Queries answered from the cache (or by waiting for an identical one).
    pub hits: u64,
    /// Queries run.
    pub misses: u64,
}

impl QueryCache {
    /// A cache holding at most `budget` bytes of answers.
    pub fn new(budget: usize) -> Self {
        Self { budget, state: Mutex::new(State::default()) }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding the lock leaves only bookkeeping behind; keep serving.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The answer to `sql`: kept, or computed by `run` (once, however many ask at the
    /// same time) and kept.
    pub async fn get_or_run<F, Fut, E>(&self, sql: &str, run: F) -> Result<Vec<RecordBatch>, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Vec<RecordBatch>, E>>,
    {
        let slot = {
            let mut st = self.lock();
            let slot = st.slots.entry(sql.to_owned()).or_insert_with(|| (Arc::new(OnceCell::new()), None)).0.clone();
            if slot.initialized() {
                st.hits += 1;
            }
            slot
        };
        if let Some(v) = slot.get() {
            return Ok(v.clone());
        }
        let mut ran = false;
        let value = slot
            .get_or_try_init(|| {
                ran = true;
                run()
            })
            .await?
            .clone();
        let mut st = self.lock();
        if ran {
            st.misses += 1;
            let size: usize = value.iter().map(RecordBatch::get_array_memory_size).sum();
            // The slot may have been dropped meanwhile (evicted while running): keep it
            // only if it is still the one in the map.
            if let Some((s, known)) = st.slots.get_mut(sql)
                && Arc::ptr_eq(s, &slot)
                && known.is_none()
            {
                *known = Some(size);
                st.bytes += size;
                st.order.push_back(sql.to_owned());
                self.evict(&mut st);
            }
        } else {
            st.hits += 1;
        }
        Ok(value)
    }

    fn evict(&self, st: &mut State) {
        while st.bytes > self.budget {
            let Some(old) = st.order.pop_front() else { break };
            if let Some((_, Some(size))) = st.slots.remove(&old) {
                st.bytes -= size;
            }
        }
    }

    /// Entries, bytes, hits and misses.
    pub fn stats(&self) -> Stats {
        let st = self.lock();
        Stats { entries: st.order.len(), bytes: st.bytes, hits: st.hits, misses: st.misses }
    }
}

/// The answer kept under `key` in the session's cache, or computed by `run` (and kept,
/// when the session has a cache). For work beyond one query (a measure over several).
pub async fn remember<F, Fut, E>(ctx: &SessionContext, key: &str, run: F) -> Result<Vec<RecordBatch>, E>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<Vec<RecordBatch>, E>>,
{
    match of(ctx) {
        Some(cache) => cache.get_or_run(key, run).await,
        None => run().await,
    }
}

/// Attaches a cache to a session whose tables will not change.
pub fn attach(ctx: &SessionContext, cache: Arc<QueryCache>) {
    ctx.state_ref().write().config_mut().set_extension(cache);
}

/// The session's cache, if it has one.
pub fn of(ctx: &SessionContext) -> Option<Arc<QueryCache>> {
    ctx.state_ref().read().config().get_extension::<QueryCache>()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use datafusion::arrow::array::Int64Array;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn batch(n: i64) -> Vec<RecordBatch> {
        vec![RecordBatch::try_from_iter([("n", Arc::new(Int64Array::from(vec![n; 1000])) as _)]).unwrap()]
    }

    #[tokio::test]
    async fn runs_once_per_query_and_keeps_no_failure() {
        let cache = QueryCache::new(1 << 20);
        let runs = AtomicUsize::new(0);
        let ask = |sql: &'static str, n: i64| {
            let runs = &runs;
            let cache = &cache;
            async move {
                cache
                    .get_or_run(sql, || async move {
                        runs.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                        Ok::<_, String>(batch(n))
                    })
                    .await
            }
        };
        // Ten identical questions at once: one run.
        let answers = futures::future::join_all((0..10).map(|_| ask("a", 1))).await;
        assert!(answers.iter().all(|a| a.as_ref().unwrap()[0].num_rows() == 1000));
        assert_eq!(runs.load(Ordering::SeqCst), 1);
        ask("b", 2).await.unwrap();
        assert_eq!(runs.load(Ordering::SeqCst), 2);
        let failed = cache.get_or_run("c", || async { Err::<Vec<RecordBatch>, _>("boom".to_owned()) }).await;
        assert_eq!(failed.unwrap_err(), "boom");
        // A failure is not kept: the next asker runs the query.
        let again = cache.get_or_run("c", || async { Ok::<_, String>(batch(3)) }).await.unwrap();
        assert_eq!(again[0].num_rows(), 1000);
        let s = cache.stats();
        assert_eq!((s.entries, s.misses, s.hits), (3, 3, 9));
    }

    #[tokio::test]
    async fn forgets_the_oldest_beyond_its_budget() {
        let one: usize = batch(0).iter().map(RecordBatch::get_array_memory_size).sum();
        let cache = QueryCache::new(one * 2 + one / 2);
        for sql in ["a", "b", "c"] {
            cache.get_or_run(sql, || async { Ok::<_, String>(batch(1)) }).await.unwrap();
        }
        assert_eq!(cache.stats().entries, 2);
        assert!(cache.stats().bytes <= one * 2 + one / 2);
        // "a" was forgotten: asking again runs it.
        let ran = AtomicUsize::new(0);
        cache
            .get_or_run("a", || async {
                ran.fetch_add(1, Ordering::SeqCst);
                Ok::<_, String>(batch(1))
            })
            .await
            .unwrap();
        assert_eq!(ran.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_session_uses_the_cache_it_carries() {
        let ctx = SessionContext::new();
        assert!(of(&ctx).is_none());
        attach(&ctx, Arc::new(QueryCache::new(1 << 20)));
        let sql = "SELECT 1 AS one";
        crate::territory::batches(&ctx, sql).await.unwrap();
        crate::territory::batches(&ctx, sql).await.unwrap();
        let s = of(&ctx).unwrap().stats();
        assert_eq!((s.misses, s.hits), (1, 1));
    }
}
