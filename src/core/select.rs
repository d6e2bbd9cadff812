//! `channel.select` in the core: the first ready case in order, or a wait on all of them.

use super::chans::SendResult;
use super::{Core, Waiter};
use crate::ids::{ChanId, TaskId};
use crate::request::{Case, Done, Outcome};
use smallvec::SmallVec;

/// What a non-blocking select found.
#[derive(Debug)]
pub enum SelectResult {
    /// A case completed (its index from 0 is in the outcome).
    Done(Outcome),
    /// A send case's channel is closed (index from 0).
    SendClosed(u32),
    /// Nothing is ready: the cases come back for a request.
    WouldBlock(SmallVec<[Case; 4]>),
}

/// What a non-blocking receive-only select found.
#[derive(Debug)]
pub enum RecvSelect {
    /// Case `.0` (from 0) completed.
    Done(u32, Done),
    /// Nothing is ready.
    Idle,
    /// A case's channel is gone.
    Gone,
}

impl Core {
    /// Receives from the first ready channel of `chans` in order without blocking, when
    /// every one exists (as [`Core::try_select`] with receive cases, without a case list).
    pub fn try_select_recv(&mut self, chans: impl IntoIterator<Item = ChanId>) -> RecvSelect {
        let mut ready = None;
        for (i, chan) in chans.into_iter().enumerate() {
            match self.chans.get(chan) {
                None => return RecvSelect::Gone,
                Some(c) if ready.is_none() && c.q.can_recv() => ready = Some((i as u32, chan)),
                Some(_) => {}
            }
        }
        match ready {
            Some((i, chan)) => {
                let done = self.try_recv(chan).expect("can_recv said ready");
                RecvSelect::Done(i, done)
            }
            None => RecvSelect::Idle,
        }
    }

    /// Runs the first ready case of `cases` in order without blocking.
    pub fn try_select(&mut self, mut cases: SmallVec<[Case; 4]>) -> SelectResult {
        for i in 0..cases.len() {
            let (chan, send) = &mut cases[i];
            let chan = *chan;
            let Some(c) = self.chans.get(chan) else {
                continue;
            };
            let case = Some(i as u32);
            match send {
                None if c.q.can_recv() => {
                    let done = self.try_recv(chan).expect("can_recv said ready");
                    return SelectResult::Done(Outcome { case, done });
                }
                Some(_) if c.q.is_closed() => return SelectResult::SendClosed(i as u32),
                Some(_) if c.q.can_send() => {
                    let item = send.take().expect("matched a send case");
                    let done = match self.try_send(chan, item) {
                        SendResult::Done => Done::Sent,
                        // Over the quota on waiting values: not ready, as if full.
                        SendResult::Quota(_, item) => {
                            *send = Some(item);
                            continue;
                        }
                        _ => Done::SendClosed,
                    };
                    return SelectResult::Done(Outcome { case, done });
                }
                _ => {}
            }
        }
        SelectResult::WouldBlock(cases)
    }

    /// Parks task `t` on every case of a select, or completes it at once if a case became
    /// ready since the binding looked.
    pub(super) fn block_select(&mut self, t: TaskId, cases: SmallVec<[Case; 4]>) {
        let cases = match self.try_select(cases) {
            SelectResult::Done(outcome) => return self.deliver_now(t, outcome),
            SelectResult::SendClosed(i) => {
                let outcome = Outcome {
                    case: Some(i),
                    done: Done::SendClosed,
                };
                return self.deliver_now(t, outcome);
            }
            SelectResult::WouldBlock(cases) => cases,
        };
        let chans = cases.iter().map(|c| c.0).collect();
        let w = self.park(t, chans, true);
        for (i, (chan, send)) in cases.into_iter().enumerate() {
            let waiter = Waiter {
                wait: w,
                case: i as u32,
            };
            let Some(c) = self.chans.get_mut(chan) else {
                continue;
            };
            match send {
                None => c.q.park_recv(waiter),
                Some(item) => c.q.park_send(waiter, item),
            }
        }
    }
}
