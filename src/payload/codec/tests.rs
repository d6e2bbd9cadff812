//! Round trips and refusals of `Payload::encode` / `Payload::decode`.

use super::*;
use ::serde::de::Visitor;
use ::serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Input {
    frame: u32,
    dx: i64,
    speed: f64,
    name: String,
    held: Vec<String>,
    target: Option<(i32, i32)>,
    mode: Mode,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
enum Mode {
    Idle,
    Walk(f64),
    Jump { height: i64 },
    Pair(i64, i64),
}

/// Bytes that serialize as bytes (what `serde_bytes` does), not as a sequence of integers.
#[derive(Debug, PartialEq)]
struct Bytes(Vec<u8>);

impl Serialize for Bytes {
    fn serialize<S: ::serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_bytes(&self.0)
    }
}

impl<'de> Deserialize<'de> for Bytes {
    fn deserialize<D: ::serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Bytes;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("bytes")
            }
            fn visit_bytes<E: de::Error>(self, v: &[u8]) -> std::result::Result<Bytes, E> {
                Ok(Bytes(v.to_vec()))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> std::result::Result<Bytes, E> {
                Ok(Bytes(v.as_bytes().to_vec()))
            }
        }
        d.deserialize_bytes(V)
    }
}

fn round_trip<T: Serialize + DeserializeOwned>(v: &T) -> T {
    Payload::encode(v)
        .expect("encodes")
        .decode()
        .expect("decodes")
}

fn sample() -> Input {
    Input {
        frame: 7,
        dx: -1,
        speed: 2.5,
        name: "player one".into(),
        held: vec!["left".into(), "jump".into()],
        target: Some((3, -4)),
        mode: Mode::Jump { height: 2 },
    }
}

#[test]
fn structs_round_trip() {
    let v = sample();
    assert_eq!(round_trip(&v), v);
    for mode in [Mode::Idle, Mode::Walk(0.5), Mode::Pair(1, 2)] {
        let v = Input {
            mode,
            target: None,
            ..sample()
        };
        assert_eq!(round_trip(&v), v);
    }
}

#[test]
fn structs_become_tables_with_string_keys() {
    let p = Payload::encode(&sample()).expect("encodes");
    assert_eq!(
        p.to_string(),
        "{dx = -1, frame = 7, held = {\"left\", \"jump\"}, mode = {Jump = {height = 2}}, \
         name = \"player one\", speed = 2.5, target = {3, -4}}"
    );
    // None fields are left out, as a Lua script would leave them out.
    let p = Payload::encode(&Input {
        target: None,
        mode: Mode::Idle,
        ..sample()
    })
    .expect("encodes");
    assert!(!p.to_string().contains("target"), "{p}");
    assert!(p.to_string().contains("mode = \"Idle\""), "{p}");
}

#[test]
fn nested_maps_and_sequences_round_trip() {
    let mut m: BTreeMap<String, BTreeMap<String, Vec<i64>>> = BTreeMap::new();
    m.entry("a".into())
        .or_default()
        .insert("x".into(), vec![1, 2, 3]);
    m.entry("b".into()).or_default().insert("y".into(), vec![]);
    m.entry("c".into()).or_default();
    assert_eq!(round_trip(&m), m);
    let mut by_num: BTreeMap<i64, String> = BTreeMap::new();
    by_num.insert(10, "ten".into());
    by_num.insert(-1, "minus one".into());
    assert_eq!(round_trip(&by_num), by_num);
    let nested = vec![vec![1.5, 2.0], vec![], vec![3.25]];
    assert_eq!(round_trip(&nested), nested);
}

#[test]
fn options_and_unit() {
    assert_eq!(
        Payload::encode(&None::<i32>).expect("encodes"),
        Payload::Nil
    );
    assert_eq!(Payload::encode(&()).expect("encodes"), Payload::Nil);
    assert_eq!(round_trip(&Some(5)), Some(5));
    assert_eq!(round_trip(&None::<String>), None);
    // A hole in a sequence comes back as None; trailing Nones are lost (Lua arrays end there).
    assert_eq!(
        round_trip(&vec![Some(1), None, Some(3)]),
        vec![Some(1), None, Some(3)]
    );
    assert_eq!(round_trip(&vec![Some(1), None]), vec![Some(1)]);
}

#[test]
fn integers_stay_integers_and_floats_stay_floats() {
    assert_eq!(Payload::encode(&3u8).expect("encodes"), Payload::Int(3));
    assert_eq!(
        Payload::encode(&3.0f64).expect("encodes"),
        Payload::Num(3.0)
    );
    assert_eq!(
        Payload::encode(&1.5f32).expect("encodes"),
        Payload::Num(1.5)
    );
    assert_eq!(round_trip(&i64::MIN), i64::MIN);
    assert_eq!(round_trip(&u64::from(u32::MAX)), u64::from(u32::MAX));
    // An integer reads as a float; a float with an integral value reads as an integer (as
    // Lua converts 5.0 in integer contexts), any other float does not.
    assert_eq!(Payload::Int(2).decode::<f64>().expect("decodes"), 2.0);
    assert_eq!(Payload::Num(5.0).decode::<i32>().expect("decodes"), 5);
    assert!(Payload::Num(5.5).decode::<i64>().is_err());
    assert!(Payload::Int(300).decode::<u8>().is_err());
    assert!(Payload::Int(-1).decode::<u32>().is_err());
    let err = Payload::encode(&u64::MAX).expect_err("too big for a Lua integer");
    assert!(err.to_string().contains("does not fit"), "{err}");
}

#[test]
fn bytes_become_strings() {
    let raw = Bytes(vec![0, 159, 255, b'a']);
    let p = Payload::encode(&raw).expect("encodes");
    assert_eq!(p, Payload::Str(vec![0, 159, 255, b'a'].into()));
    assert_eq!(p.decode::<Bytes>().expect("decodes"), raw);
    assert_eq!(round_trip(&'é'), 'é');
    // A sequence target reads a string as its bytes.
    assert_eq!(
        Payload::from("hi").decode::<Vec<u8>>().expect("decodes"),
        b"hi"
    );
}

#[test]
fn a_table_with_keys_1_to_n_decodes_as_a_sequence() {
    // Built the way Payload::copy builds `{"a", "b", "c"}`, keys out of order.
    let t = Payload::Table(Box::new(PTable {
        id: 0,
        narr: 3,
        entries: vec![
            (Payload::Int(2), Payload::from("b")),
            (Payload::Int(1), Payload::from("a")),
            (Payload::Int(3), Payload::from("c")),
        ],
    }));
    assert_eq!(
        t.decode::<Vec<String>>().expect("decodes"),
        vec!["a", "b", "c"]
    );
    assert_eq!(
        t.decode::<(String, String, String)>().expect("decodes"),
        ("a".into(), "b".into(), "c".into())
    );
    // A self-describing target sees a sequence too, and a map for other keys.
    assert_eq!(
        t.decode::<serde_json::Value>().expect("decodes"),
        serde_json::json!(["a", "b", "c"])
    );
    let m = Payload::encode(&BTreeMap::from([(1, "a"), (3, "c")])).expect("encodes");
    assert!(m.decode::<serde_json::Value>().is_err()); // integer keys are not JSON keys
    let j =
        Payload::encode(&serde_json::json!({"k": [1, {"x": null}], "f": 1.5})).expect("encodes");
    assert_eq!(
        j.decode::<serde_json::Value>().expect("decodes"),
        serde_json::json!({"k": [1, {}], "f": 1.5})
    );
}

#[test]
fn impossible_decodes_are_errors() {
    let p = Payload::encode(&sample()).expect("encodes");
    let err = p
        .decode::<Vec<i64>>()
        .expect_err("a struct is not a sequence");
    assert!(matches!(err, Error::Payload(_)));
    assert!(err.to_string().contains("sequence"), "{err}");
    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Other {
        missing: i64,
    }
    let err = p.decode::<Other>().expect_err("no such field");
    assert!(err.to_string().contains("missing field `missing`"), "{err}");
    assert!(Payload::from("x").decode::<bool>().is_err());
    assert!(Payload::Nil.decode::<String>().is_err());
    assert!(Payload::from("Fly").decode::<Mode>().is_err());
    let err = Payload::encode(&BTreeMap::from([(Some(1), 1), (None, 2)])).expect_err("nil key");
    assert!(err.to_string().contains("nil"), "{err}");
}

#[test]
fn shared_tables_decode_and_cycles_are_refused() {
    let shared = Payload::Table(Box::new(PTable {
        id: 1,
        narr: 1,
        entries: vec![(Payload::Int(1), Payload::Int(9))],
    }));
    let t = Payload::Table(Box::new(PTable {
        id: 0,
        narr: 0,
        entries: vec![
            (Payload::from("a"), shared),
            (Payload::from("b"), Payload::Ref(1)),
        ],
    }));
    let m: BTreeMap<String, Vec<i64>> = t.decode().expect("decodes");
    assert_eq!(m["a"], m["b"]);
    let cyclic = Payload::Table(Box::new(PTable {
        id: 0,
        narr: 0,
        entries: vec![(Payload::from("me"), Payload::Ref(0))],
    }));
    let err = cyclic.decode::<serde_json::Value>().expect_err("cycle");
    assert!(err.to_string().contains("cyclic"), "{err}");
}

#[test]
fn encoded_payloads_rebuild_in_lua() {
    let lua = mlua::Lua::new();
    let v = Payload::encode(&sample())
        .expect("encodes")
        .to_lua(&lua)
        .expect("rebuilds");
    let f: mlua::Function = lua
        .load(
            "return function(t) return t.frame == 7 and math.type(t.frame) == 'integer' \
             and t.held[2] == 'jump' and #t.held == 2 and t.mode.Jump.height == 2 \
             and t.target[2] == -4 and math.type(t.speed) == 'float' end",
        )
        .eval()
        .expect("valid");
    assert!(f.call::<bool>(v).expect("call"));
}

#[test]
fn from_impls_make_scalars() {
    assert_eq!(Payload::from(true), Payload::Bool(true));
    assert_eq!(Payload::from(4i64), Payload::Int(4));
    assert_eq!(Payload::from(0.5), Payload::Num(0.5));
    assert_eq!(Payload::from("s"), Payload::Str(b"s".as_slice().into()));
    assert_eq!(Payload::from(String::from("s")), Payload::from("s"));
}
