//! Parking and waking: the scheduler parks a task on the request its binding recorded,
//! and [`Core::complete`] is the one path that wakes it, with an [`Outcome`].

use super::chans::{SendResult, outcome_for};
use super::{Core, Fire, Resume, Wait, Waiter};
use crate::ids::{ChanId, TaskId, WaitId};
use crate::request::{Done, Outcome, Request};
use smallvec::{SmallVec, smallvec};

impl Core {
    /// Records what the running task asks for before it yields (bindings call this).
    pub fn request(&mut self, req: Request) {
        if let Some(t) = self.current.and_then(|t| self.tasks.get_mut(t)) {
            t.request = Some(req);
        }
    }

    /// Drops the running task's recorded request (its yield could not reach the scheduler).
    pub fn drop_request(&mut self) {
        if let Some(t) = self.current.and_then(|t| self.tasks.get_mut(t)) {
            t.request = None;
        }
    }

    /// Parks task `t` on its recorded request, trying it once more first (something may have
    /// changed between the binding and the yield). A request that completes now, or an
    /// `Exit`, queues the task again. A task without a request is left as it is.
    pub fn block(&mut self, t: TaskId) {
        let Some(req) = self.tasks.get_mut(t).and_then(|task| task.request.take()) else {
            return;
        };
        match req {
            Request::Recv(chan) => match self.try_recv(chan) {
                Some(done) => self.deliver_now(t, Outcome::plain(done)),
                None => {
                    let w = self.park(t, smallvec![chan], false);
                    self.chans[chan].q.park_recv(Waiter { wait: w, case: 0 });
                }
            },
            Request::Send(chan, item) => match self.try_send(chan, item) {
                SendResult::Done => self.deliver_now(t, Outcome::plain(Done::Sent)),
                SendResult::Closed => self.deliver_now(t, Outcome::plain(Done::SendClosed)),
                SendResult::WouldBlock(item) | SendResult::Quota(_, item) => {
                    let w = self.park(t, smallvec![chan], false);
                    self.chans[chan]
                        .q
                        .park_send(Waiter { wait: w, case: 0 }, item);
                }
            },
            Request::Select(cases) => self.block_select(t, SmallVec::from_vec(cases)),
            Request::Sleep(deadline) => {
                let w = self.park(t, SmallVec::new(), false);
                let owner = self.tasks[t].proc;
                let timer = self.arm(owner, deadline, Fire::Wake(w));
                self.waits[w].timer = Some(timer);
            }
            Request::Exit => self.queue(t),
            Request::Upgrade => self.upgrade(t),
        }
    }

    /// Stores `outcome` on task `t` and queues it (as [`Core::queue`], in the one lookup of
    /// the task).
    pub(super) fn deliver_now(&mut self, t: TaskId, outcome: Outcome) {
        let Some(task) = self.tasks.get_mut(t) else {
            return;
        };
        task.resume = Resume::Outcome(outcome);
        if !task.queued {
            task.queued = true;
            self.run_queue.push_back(t);
            self.sched_readied(t);
        }
    }

    /// Creates the wait record of task `t` parked on `chans`.
    pub(super) fn park(&mut self, t: TaskId, chans: SmallVec<[ChanId; 2]>, select: bool) -> WaitId {
        let w = self.waits.insert(Wait {
            task: t,
            chans,
            timer: None,
            select,
        });
        self.tasks[t].wait = Some(w);
        w
    }

    /// Completes a parked operation: withdraws its other cases, disarms its timer, and queues
    /// its task with the outcome. The one wake path.
    pub fn complete(&mut self, w: Waiter, done: Done) {
        self.complete_from(w, done, None);
    }

    /// [`Core::complete`] for a waiter just popped from `chan`'s queue: a plain receive or
    /// send waits on that one channel alone, so no queue is searched for it.
    pub(super) fn complete_popped(&mut self, w: Waiter, done: Done, chan: ChanId) {
        self.complete_from(w, done, Some(chan));
    }

    fn complete_from(&mut self, w: Waiter, done: Done, popped: Option<ChanId>) {
        let Some((task, select)) = self.withdraw_from(w.wait, popped) else {
            return;
        };
        if self.touches()
            && let Some(p) = self.tasks.get(task).map(|t| t.proc)
        {
            self.touch(p);
        }
        self.deliver_now(task, outcome_for(w, select, done));
    }

    /// Removes a parked operation from every channel and timer it waits on.
    pub(super) fn withdraw(&mut self, w: WaitId) {
        self.withdraw_from(w, None);
    }

    /// [`Core::withdraw`] of a wait whose entry in `popped`'s queue is gone already. A
    /// select may wait on one channel twice, so its queues are all searched. Returns the
    /// task it woke and whether it was a select.
    fn withdraw_from(&mut self, w: WaitId, popped: Option<ChanId>) -> Option<(TaskId, bool)> {
        let wait = self.waits.remove(w)?;
        let searched = match (wait.select, popped, wait.chans.as_slice()) {
            (false, Some(p), [only]) if *only == p => &[][..],
            _ => wait.chans.as_slice(),
        };
        for c in searched {
            if let Some(ch) = self.chans.get_mut(*c) {
                ch.q.withdraw_where(|x| x.wait == w);
            }
        }
        if let Some(t) = wait.timer {
            self.disarm(t);
        }
        if let Some(task) = self.tasks.get_mut(wait.task) {
            task.wait = None;
        }
        Some((wait.task, wait.select))
    }
}
