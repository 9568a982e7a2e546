//! Index builds while the next table loads (`--create-tables`).
//!
//! A created table's primary key (when it comes after the data) and its
//! indexes are built after its rows. A stream may come back to a table at
//! any time (rows need only follow the table's schema line: concatenated
//! streams, interleaved input), so the end of a table is never known before
//! the end of the input; but most streams, every exporter's among them,
//! give each table's rows in one stretch. So once the stream has moved on
//! from a table, its builds start on a connection of their own, in a thread
//! of their own, while the writer connections load the next table. Should
//! the stream come back to the table, the importer waits for them and
//! drops the indexes again before the returning rows are written (see
//! `Importer::take_back_early`): the rows then meet the table exactly as
//! they would have without this, and the indexes are built at the end.

use std::collections::VecDeque;
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;

use decant_record::conn::ConnUrl;

use super::{build_indexes, DeferredIndexes, Sink};

/// One statement (or one table's statements, for a store that builds
/// them together) to run.
pub(crate) struct Item {
    /// Adds the table's primary key (the foreign keys need it).
    pub primary_key: bool,
    pub work: DeferredIndexes,
}

/// What the builder reports of an item it ran.
pub(crate) struct Done {
    pub table: String,
    pub primary_key: bool,
    /// The failed statements, each with the database's error (as the end of
    /// the run reports them).
    pub failures: Vec<String>,
}

#[derive(Default)]
struct Queue {
    items: VecDeque<Item>,
    /// No more items: the thread ends once the queue is empty.
    closed: bool,
    /// The table of the item the thread is running.
    running: Option<String>,
}

/// The queue between the importer and the builder's thread.
struct Shared {
    queue: Mutex<Queue>,
    wake: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Queue> {
        // A panic in the other thread while it held the lock leaves the
        // queue as it was: still usable.
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The thread that runs the items on its connection, one after the other;
/// the importer's own connections may take items from the same queue
/// ([`Builder::pop`]).
pub(crate) struct Builder {
    shared: Arc<Shared>,
    done: Receiver<Done>,
    thread: Option<JoinHandle<()>>,
}

impl Builder {
    /// Starts the thread and waits until it is connected; it connects on a
    /// runtime of its own (a connection belongs to the runtime that opened
    /// it).
    pub fn start<S: Sink>(url: ConnUrl) -> anyhow::Result<Builder> {
        let shared = Arc::new(Shared { queue: Mutex::new(Queue::default()), wake: Condvar::new() });
        let (done_tx, done) = channel::<Done>();
        let (ready_tx, ready) = channel::<anyhow::Result<()>>();
        let theirs = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("indexes".into())
            .spawn(move || run::<S>(url, &theirs, &done_tx, &ready_tx))?;
        match ready.recv() {
            Ok(Ok(())) => Ok(Builder { shared, done, thread: Some(thread) }),
            Ok(Err(e)) => {
                let _ = thread.join();
                Err(e)
            }
            Err(_) => {
                let _ = thread.join();
                anyhow::bail!("the thread stopped")
            }
        }
    }

    /// Queues items, in order.
    pub fn push(&self, items: impl IntoIterator<Item = Item>) {
        self.shared.lock().items.extend(items);
        self.shared.wake.notify_all();
    }

    /// Takes the next queued item (for another connection to run).
    pub fn pop(&self) -> Option<Item> {
        self.shared.lock().items.pop_front()
    }

    /// Takes a table's queued items back (they are not run), after waiting
    /// for the one of them the thread may be running: every item of the
    /// table that ran is then reported on the channel ([`Builder::reports`]).
    pub fn take_back(&self, table: &str) -> Vec<Item> {
        let mut q = self.shared.lock();
        let (mine, rest): (VecDeque<Item>, VecDeque<Item>) =
            std::mem::take(&mut q.items).into_iter().partition(|i| i.work.table == table);
        q.items = rest;
        while q.running.as_deref() == Some(table) {
            q = self.shared.wake.wait(q).unwrap_or_else(|e| e.into_inner());
        }
        mine.into()
    }

    /// The next report, waiting for it; `None` once the thread has ended.
    pub fn next_done(&self) -> Option<Done> {
        self.done.recv().ok()
    }

    /// The reports already there.
    pub fn reports(&self) -> Vec<Done> {
        self.done.try_iter().collect()
    }

    /// No more items: the thread ends once the queue is empty.
    pub fn close(&self) {
        self.shared.lock().closed = true;
        self.shared.wake.notify_all();
    }

    /// Takes every queued item back and closes the queue (a run that stops).
    pub fn abandon(&self) -> Vec<Item> {
        let mut q = self.shared.lock();
        q.closed = true;
        self.shared.wake.notify_all();
        std::mem::take(&mut q.items).into()
    }
}

impl Drop for Builder {
    fn drop(&mut self) {
        // The thread runs what is queued, then ends (a build cannot be
        // left half done anyway).
        self.close();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The thread: connects, then runs items until the queue is closed and empty.
fn run<S: Sink>(url: ConnUrl, shared: &Shared, done: &Sender<Done>, ready: &Sender<anyhow::Result<()>>) {
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            let _ = ready.send(Err(anyhow::anyhow!("starting a runtime: {e}")));
            return;
        }
    };
    runtime.block_on(async move {
        let mut sink = match S::open_index_builder(&url).await {
            Ok(s) => s,
            Err(e) => {
                let _ = ready.send(Err(e));
                return;
            }
        };
        let _ = ready.send(Ok(()));
        loop {
            let item = {
                let mut q = shared.lock();
                loop {
                    if let Some(item) = q.items.pop_front() {
                        q.running = Some(item.work.table.clone());
                        break item;
                    }
                    if q.closed {
                        return;
                    }
                    q = shared.wake.wait(q).unwrap_or_else(|e| e.into_inner());
                }
            };
            let running = Running(shared);
            let table = item.work.table.clone();
            let queue = std::cell::RefCell::new(VecDeque::from([item.work]));
            let failures = build_indexes(&mut sink, &|| queue.borrow_mut().pop_front()).await;
            // Reported before `running` is cleared: whoever sees it clear
            // finds the report on the channel.
            let _ = done.send(Done { table, primary_key: item.primary_key, failures });
            drop(running);
        }
    });
}

/// Clears [`Queue::running`] when the item ends, however it ends, and wakes
/// whoever waits for that ([`Builder::take_back`]).
struct Running<'a>(&'a Shared);

impl Drop for Running<'_> {
    fn drop(&mut self) {
        self.0.lock().running = None;
        self.0.wake.notify_all();
    }
}
