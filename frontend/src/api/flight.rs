//! One operation in flight at a time, its outcome shared by every caller
//! that asked while it ran. The API handle keeps its refresh in one: the
//! server revokes the whole session when a refresh token is used twice, so
//! two requests that both meet a 401 must wait for the same refresh.

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

pub type Task = Pin<Box<dyn Future<Output = ()>>>;

struct Slot<T> {
    outcome: RefCell<Option<T>>,
    waiting: RefCell<Vec<Waker>>,
}

pub struct Flight<T> {
    running: RefCell<Option<Rc<Slot<T>>>>,
}

impl<T> Default for Flight<T> {
    fn default() -> Self {
        Flight {
            running: RefCell::new(None),
        }
    }
}

impl<T: Clone + 'static> Flight<T> {
    /// Whether an operation is under way.
    pub fn busy(&self) -> bool {
        self.running.try_borrow().map_or(true, |r| r.is_some())
    }

    /// Waits for the operation under way, or starts `operation` and waits
    /// for it. The operation runs as its own task (`spawn`), not in the
    /// caller's: a caller that stops waiting (its screen gone) does not
    /// stop it, so its answer (new tokens) is never lost.
    pub fn join<F>(
        self: &Rc<Self>,
        operation: impl FnOnce() -> F,
        spawn: impl FnOnce(Task),
    ) -> Landing<T>
    where
        F: Future<Output = T> + 'static,
    {
        let running = self.running.try_borrow().ok().and_then(|r| r.clone());
        let slot = match running {
            Some(slot) => slot,
            None => {
                let slot = Rc::new(Slot {
                    outcome: RefCell::new(None),
                    waiting: RefCell::new(Vec::new()),
                });
                if let Ok(mut running) = self.running.try_borrow_mut() {
                    *running = Some(slot.clone());
                }
                let flight = Rc::downgrade(self);
                let landing = slot.clone();
                let work = operation();
                spawn(Box::pin(async move {
                    let outcome = work.await;
                    if let Some(flight) = flight.upgrade() {
                        if let Ok(mut running) = flight.running.try_borrow_mut() {
                            *running = None;
                        }
                    }
                    if let Ok(mut slot) = landing.outcome.try_borrow_mut() {
                        *slot = Some(outcome);
                    }
                    let waiting = landing
                        .waiting
                        .try_borrow_mut()
                        .map(|mut w| std::mem::take(&mut *w))
                        .unwrap_or_default();
                    waiting.into_iter().for_each(Waker::wake);
                }));
                slot
            }
        };
        Landing { slot }
    }
}

/// A caller waiting for the flight's outcome.
pub struct Landing<T> {
    slot: Rc<Slot<T>>,
}

impl<T: Clone> Future for Landing<T> {
    type Output = T;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        if let Some(outcome) = self.slot.outcome.try_borrow().ok().and_then(|o| o.clone()) {
            return Poll::Ready(outcome);
        }
        if let Ok(mut waiting) = self.slot.waiting.try_borrow_mut() {
            waiting.push(cx.waker().clone());
        }
        Poll::Pending
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    /// A one-shot value a test sets by hand: the "server's answer".
    #[derive(Default)]
    struct Gate {
        value: Cell<Option<u32>>,
    }

    struct Opened(Rc<Gate>);

    impl Future for Opened {
        type Output = u32;
        fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<u32> {
            self.0.value.get().map_or(Poll::Pending, Poll::Ready)
        }
    }

    /// Polls every task and caller once; `Ready` outcomes are collected.
    fn poll_all(
        tasks: &mut [Task],
        callers: &mut [Pin<Box<dyn Future<Output = u32>>>],
    ) -> Vec<Option<u32>> {
        let mut cx = Context::from_waker(Waker::noop());
        for task in tasks.iter_mut() {
            let _ = task.as_mut().poll(&mut cx);
        }
        callers
            .iter_mut()
            .map(|c| match c.as_mut().poll(&mut cx) {
                Poll::Ready(v) => Some(v),
                Poll::Pending => None,
            })
            .collect()
    }

    #[test]
    fn callers_during_a_flight_share_it_and_later_ones_start_another() {
        let flight = Rc::new(Flight::<u32>::default());
        let started = Rc::new(Cell::new(0));
        let gate = Rc::new(Gate::default());
        let tasks = Rc::new(RefCell::new(Vec::<Task>::new()));
        let join = || {
            let started = started.clone();
            let gate = gate.clone();
            let tasks = tasks.clone();
            Box::pin(flight.join(
                move || {
                    started.set(started.get() + 1);
                    Opened(gate)
                },
                move |task| tasks.borrow_mut().push(task),
            )) as Pin<Box<dyn Future<Output = u32>>>
        };
        let mut callers = vec![join(), join(), join()];
        assert_eq!(started.get(), 1, "one operation for three callers");
        assert!(flight.busy());
        let mut spawned = std::mem::take(&mut *tasks.borrow_mut());
        assert_eq!(poll_all(&mut spawned, &mut callers), [None, None, None]);
        gate.value.set(Some(7));
        assert_eq!(poll_all(&mut spawned, &mut callers), [Some(7); 3]);
        assert!(!flight.busy());

        // Over: the next caller starts a new one.
        let gate2 = Rc::new(Gate::default());
        let next = flight.join(
            {
                let started = started.clone();
                let gate2 = gate2.clone();
                move || {
                    started.set(started.get() + 1);
                    Opened(gate2)
                }
            },
            |task| tasks.borrow_mut().push(task),
        );
        assert_eq!(started.get(), 2);
        gate2.value.set(Some(8));
        let mut spawned = std::mem::take(&mut *tasks.borrow_mut());
        assert_eq!(poll_all(&mut spawned, &mut [Box::pin(next)]), [Some(8)]);
    }

    #[test]
    fn a_caller_that_stops_waiting_does_not_stop_the_flight() {
        let flight = Rc::new(Flight::<u32>::default());
        let gate = Rc::new(Gate::default());
        let mut spawned = Vec::new();
        let first = flight.join(|| Opened(gate.clone()), |task| spawned.push(task));
        drop(first);
        assert!(flight.busy(), "still running for whoever asks next");
        let mut spawned2 = Vec::new();
        let second = flight.join(
            || Opened(Rc::new(Gate::default())),
            |task| spawned2.push(task),
        );
        assert!(spawned2.is_empty(), "joined, not started again");
        gate.value.set(Some(3));
        assert_eq!(poll_all(&mut spawned, &mut [Box::pin(second)]), [Some(3)]);
    }
}
