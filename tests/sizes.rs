//! Tripwires for the size of hot types: a change here changes memory per process or per
//! message, so it must be deliberate (update the number and say why in the commit).

use moonhost::Payload;
use moonhost::ids::{ProcId, TaskId};
use moonhost::message::{Item, Message};
use std::mem::size_of;

#[test]
fn ids_are_one_word() {
    assert_eq!(size_of::<ProcId>(), 8);
    assert_eq!(size_of::<TaskId>(), 8);
    assert_eq!(size_of::<Option<ProcId>>(), 8);
}

#[test]
fn payload_and_items_stay_small() {
    assert_eq!(size_of::<Payload>(), 24);
    // An mlua `Value` is 32 bytes; boxing messages and events keeps `Item` at one tag more.
    assert_eq!(size_of::<Item>(), 40);
    // 96: the payload size is kept with the message so a mailbox can count its bytes, and
    // the topic is a `String` whose buffer a reused (pooled) message keeps.
    assert!(size_of::<Message>() <= 96, "{}", size_of::<Message>());
}
