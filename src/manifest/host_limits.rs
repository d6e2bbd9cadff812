//! The limit fields of a host entry (`max_processes`, `max_memory`, `max_instructions`,
//! `mailbox_limit`, `max_payload_bytes`, `max_payload_depth`, `max_table_entries`, `allow`),
//! checked at load.

use super::{RawEntry, field_err};
use crate::error::Result;
use crate::limits::{
    ALLOWABLE_MODULES, LimitOverrides, MAX_PAYLOAD_DEPTH, MIN_TABLE_ENTRIES, parse_size,
};
use serde::Deserialize;
use serde_saphyr::Spanned;

/// A size in a manifest: bytes, or text such as `64MiB`.
#[derive(Deserialize)]
#[serde(untagged)]
pub(super) enum SizeValue {
    Bytes(u64),
    Text(String),
}

fn size_field(shown: &str, field: &str, v: Option<Spanned<SizeValue>>) -> Result<Option<usize>> {
    let Some(v) = v else { return Ok(None) };
    let line = v.referenced.line();
    match v.value {
        SizeValue::Bytes(b) => Ok(Some(b as usize)),
        SizeValue::Text(t) => parse_size(&t)
            .map(Some)
            .map_err(|e| field_err(shown, line, field, &format!("is invalid: {e}"))),
    }
}

pub(super) fn limit_fields(shown: &str, raw: &mut RawEntry) -> Result<LimitOverrides> {
    if let Some(allow) = &raw.allow {
        for m in &allow.value {
            if !ALLOWABLE_MODULES.contains(&m.as_str()) {
                return Err(field_err(
                    shown,
                    allow.referenced.line(),
                    "allow",
                    &format!("names {m:?}; only {ALLOWABLE_MODULES:?} can be allowed"),
                ));
            }
        }
    }
    Ok(LimitOverrides {
        max_processes: raw.max_processes.take().map(|m| m.value),
        memory_bytes: size_field(shown, "max_memory", raw.max_memory.take())?,
        max_instructions: raw.max_instructions.take().map(|m| m.value),
        mailbox_len: raw.mailbox_limit.take().map(|m| m.value as usize),
        payload_bytes: size_field(shown, "max_payload_bytes", raw.max_payload_bytes.take())?,
        payload_depth: match raw.max_payload_depth.take() {
            Some(d) if d.value as usize > MAX_PAYLOAD_DEPTH => {
                return Err(field_err(
                    shown,
                    d.referenced.line(),
                    "max_payload_depth",
                    &format!("is {}; at most {MAX_PAYLOAD_DEPTH} is allowed", d.value),
                ));
            }
            Some(d) => Some(d.value as usize),
            None => None,
        },
        allow: raw.allow.take().map(|a| a.value),
        table_entries: match raw.max_table_entries.take() {
            Some(n) if (n.value as usize) < MIN_TABLE_ENTRIES => {
                return Err(field_err(
                    shown,
                    n.referenced.line(),
                    "max_table_entries",
                    &format!("is {}; at least {MIN_TABLE_ENTRIES} is required", n.value),
                ));
            }
            Some(n) => Some(n.value as usize),
            None => None,
        },
    })
}
