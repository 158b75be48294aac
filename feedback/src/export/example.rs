//! One training example per model call: the exact messages that were sent, and as the target
//! the answer in the same JSON schema the model was asked for, holding what humans kept.
//!
//! - Accepted suggestions are kept as the model wrote them.
//! - Modified ones are kept in the human's version: for a suggested test the `code` becomes
//!   the human's code; for a finding the `fix` becomes the human's text.
//! - Rejected ones are left out. A call whose shown suggestions were all rejected yields an
//!   empty list: that teaches silence, and is kept.
//! - Suggestions with no verdict (pending, or ignored when the pull request closed) make the
//!   call unlabeled: skipped unless [`Unlabeled::Keep`] (kept as written) or
//!   [`Unlabeled::Drop`] (left out).
//! - A call with no shown suggestion taught nothing either way and yields no example; a call
//!   that failed or whose answer was invalid is not an example of a good answer.

use std::cell::OnceCell;

use serde::de::{MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;
use serde_json::value::RawValue;

use super::source::{ExportCall, ShownSuggestion};
use crate::model::ModelCallStatus;
use crate::verdict::{Verdict, VerdictState};

/// What to do with a call some of whose suggestions have no verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Unlabeled {
    /// Skip the whole call (the default: no guessing).
    #[default]
    Skip,
    /// Keep those suggestions as the model wrote them.
    Keep,
    /// Leave those suggestions out.
    Drop,
}

/// Why a call gives no example.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Skipped {
    /// The call failed or its answer was invalid.
    NotOk,
    /// No suggestion of it was shown to anyone.
    NothingShown,
    /// Some suggestions have no verdict and `Unlabeled::Skip` was asked for.
    Unlabeled,
    /// The stored messages or answer are not the JSON they should be.
    Corrupt,
}

/// A chat message as sent: `role`, `content` and, when there was one, `name`, in that order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChatMessage {
    /// system, user or assistant.
    pub role: String,
    /// The text.
    pub content: String,
    /// The participant's name, when the message had one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// A stored chat message, its values still the JSON text they are in the store (borrowed):
/// decoded only when an export must look inside them.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoredMessage<'a> {
    /// The role, a JSON string.
    #[serde(borrow)]
    pub role: &'a RawValue,
    /// The text, a JSON string.
    #[serde(borrow)]
    pub content: &'a RawValue,
    /// The name, a JSON string, when there was one.
    #[serde(borrow, default)]
    pub name: Option<&'a RawValue>,
}

/// Equal when written the same.
impl PartialEq for StoredMessage<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.role.get() == other.role.get()
            && self.content.get() == other.content.get()
            && self.name.map(RawValue::get) == other.name.map(RawValue::get)
    }
}

impl StoredMessage<'_> {
    /// The message with its values decoded; `None` when one is not a string.
    pub fn decode(&self) -> Option<ChatMessage> {
        let text = |raw: &RawValue| serde_json::from_str::<String>(raw.get()).ok();
        Some(ChatMessage {
            role: text(self.role)?,
            content: text(self.content)?,
            name: match self.name {
                Some(name) => Some(text(name)?),
                None => None,
            },
        })
    }
}

/// A call's messages as stored.
#[derive(Debug, Clone, PartialEq)]
pub enum Messages<'a> {
    /// Byte for byte what serialising them as [`ChatMessage`]s writes (checked, not parsed:
    /// an export copies this text into its line as it is).
    Canonical(&'a str),
    /// Written some other way (spacing, key order, other escapes): their parse.
    Parsed(Vec<StoredMessage<'a>>),
}

impl<'a> Messages<'a> {
    /// Reads a call's stored messages; `None` when they are not a list of chat messages whose
    /// values are all strings.
    pub fn read(stored: &'a str) -> Option<Self> {
        if is_canonical(stored) {
            return Some(Messages::Canonical(stored));
        }
        let messages: Vec<StoredMessage<'a>> = serde_json::from_str(stored).ok()?;
        let all_strings = messages.iter().all(|m| {
            [Some(m.role), Some(m.content), m.name]
                .into_iter()
                .flatten()
                .all(|raw| raw.get().starts_with('"'))
        });
        all_strings.then_some(Messages::Parsed(messages))
    }

    /// The messages one by one (canonical text is parsed here, when an export must look
    /// inside it); `None` only if the text was not what [`read`](Self::read) said.
    pub fn list(&self) -> Option<Vec<StoredMessage<'a>>> {
        match self {
            Messages::Canonical(text) => serde_json::from_str(text).ok(),
            Messages::Parsed(messages) => Some(messages.clone()),
        }
    }
}

/// Whether `stored` is byte for byte what serde_json writes for a list of [`ChatMessage`]s:
/// `[{"role":…,"content":…(,"name":…)?},…]`, compact, every string escaped as serde_json
/// escapes. One pass over the text, no parse and no copy: at a million calls, parsing every
/// prompt to learn it could be copied cost more than copying it.
pub fn is_canonical(stored: &str) -> bool {
    let Some(mut rest) = stored.as_bytes().strip_prefix(b"[") else {
        return false;
    };
    if rest == b"]" {
        return true;
    }
    loop {
        rest = match canonical_message(rest) {
            Some(rest) => rest,
            None => return false,
        };
        match rest {
            [b']'] => return true,
            [b',', more @ ..] => rest = more,
            _ => return false,
        }
    }
}

/// What follows one message written as serde_json writes a [`ChatMessage`].
fn canonical_message(text: &[u8]) -> Option<&[u8]> {
    let text = canonical_string(text.strip_prefix(b"{\"role\":")?)?;
    let mut text = canonical_string(text.strip_prefix(b",\"content\":")?)?;
    if let Some(name) = text.strip_prefix(b",\"name\":") {
        text = canonical_string(name)?;
    }
    text.strip_prefix(b"}")
}

/// What follows a JSON string escaped exactly as serde_json escapes one: `\"`, `\\`,
/// `\b \f \n \r \t`, `\u00xx` (lowercase) for the other control characters, nothing else
/// escaped and no control character left as it is.
fn canonical_string(text: &[u8]) -> Option<&[u8]> {
    let mut rest = text.strip_prefix(b"\"")?;
    loop {
        let at = first_special(rest)?;
        let (stop, after) = (rest[at], &rest[at + 1..]);
        match stop {
            b'"' => return Some(after),
            b'\\' => {}
            _ => return None, // a control character left as it is
        }
        rest = match after {
            [b'"' | b'\\' | b'b' | b'f' | b'n' | b'r' | b't', more @ ..] => more,
            [
                b'u',
                b'0',
                b'0',
                high @ (b'0' | b'1'),
                low @ (b'0'..=b'9' | b'a'..=b'f'),
                more @ ..,
            ] => {
                let low = if low.is_ascii_digit() {
                    low - b'0'
                } else {
                    low - b'a' + 10
                };
                let code = (high - b'0') * 16 + low;
                if matches!(code, 0x08 | 0x09 | 0x0a | 0x0c | 0x0d) {
                    return None;
                }
                more
            }
            _ => return None,
        };
    }
}

/// The first byte of `bytes` that a string's content cannot hold as it is: `"`, `\` or a
/// control character. Eight bytes at a time: prompts hold an escape (`\n`) every line or
/// so, too often for a search per special byte to pay.
fn first_special(bytes: &[u8]) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    // The high bit of each byte that is zero, or below 0x20; the lowest mark is always right
    // (a borrow can only mark bytes above a marked one).
    let zero = |v: u64| v.wrapping_sub(ONES) & !v & HIGH;
    let mut chunks = bytes.chunks_exact(8);
    for (i, chunk) in chunks.by_ref().enumerate() {
        let x = u64::from_le_bytes(chunk.try_into().expect("eight bytes"));
        let marks = zero(x ^ (ONES * u64::from(b'"')))
            | zero(x ^ (ONES * u64::from(b'\\')))
            | (x.wrapping_sub(ONES * 0x20) & !x & HIGH);
        if marks != 0 {
            return Some(i * 8 + marks.trailing_zeros() as usize / 8);
        }
    }
    let tail = chunks.remainder();
    tail.iter()
        .position(|&b| b == b'"' || b == b'\\' || b < 0x20)
        .map(|at| bytes.len() - tail.len() + at)
}

/// A call's example.
#[derive(Debug, Clone, PartialEq)]
pub struct CallExample<'a> {
    /// The messages as sent, as stored (in order).
    pub messages: Messages<'a>,
    /// The target: the answer in the call's schema with what humans kept, as compact JSON.
    pub kept: String,
    /// The model's own answer, as compact JSON in the same shape (for preference pairs).
    pub original: String,
    /// The schema key holding the items (`suggestions`, `findings`).
    pub key: &'static str,
    /// Where each item of `kept` comes from: the index of the answer item it is, unchanged,
    /// or `None` (a human's version, or a suggestion matching no item).
    pub kept_from: Vec<Option<usize>>,
    /// The items of `kept`, each as compact JSON.
    pub kept_items: Vec<String>,
    /// The items of `original` (the answer's), each as compact JSON.
    pub items: Vec<String>,
}

impl CallExample<'_> {
    /// Whether humans changed the answer (a preference pair exists).
    pub fn differs(&self) -> bool {
        self.kept != self.original
    }
}

/// The schema key holding the items of a prompt's answer.
fn items_key(prompt_id: &str) -> Option<&'static str> {
    match prompt_id {
        "tests" => Some("suggestions"),
        "security" => Some("findings"),
        _ => None,
    }
}

/// A JSON object's members in their written order, each value's text as written: the answer
/// must keep the schema's property order (structured outputs generate in that order), which
/// `serde_json::Value` would sort.
struct Members(Vec<(String, Box<RawValue>)>);

impl<'de> Deserialize<'de> for Members {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct MembersVisitor;
        impl<'de> Visitor<'de> for MembersVisitor {
            type Value = Members;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Members, A::Error> {
                let mut members = Vec::new();
                while let Some(entry) = map.next_entry::<String, Box<RawValue>>()? {
                    members.push(entry);
                }
                Ok(Members(members))
            }
        }
        deserializer.deserialize_map(MembersVisitor)
    }
}

impl Members {
    /// Compact JSON, members in order.
    fn to_json(&self) -> String {
        let mut out = String::from("{");
        for (i, (key, value)) in self.0.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            // A string always serializes.
            out.push_str(&serde_json::to_string(key).unwrap_or_default());
            out.push(':');
            out.push_str(&minify(value.get()));
        }
        out.push('}');
        out
    }
}

/// `json` without the whitespace between tokens (valid JSON in, same value out; strings are
/// left exactly as written).
pub fn minify(json: &str) -> String {
    // By bytes, copying the spans between whitespace: JSON's whitespace, quotes and
    // backslashes are ASCII, and no byte of a multi-byte character is.
    let bytes = json.as_bytes();
    let mut out = String::with_capacity(json.len());
    let (mut from, mut at) = (0, 0);
    while at < bytes.len() {
        match bytes[at] {
            b'"' => {
                at += 1;
                // To the closing quote, past escapes (a string left open runs to the end).
                while let Some(stop) = memchr::memchr2(b'"', b'\\', &bytes[at..]) {
                    if bytes[at + stop] == b'"' {
                        at += stop;
                        break;
                    }
                    at = (at + stop + 2).min(bytes.len());
                }
                if at < bytes.len() && bytes[at] == b'"' {
                    at += 1;
                } else {
                    at = bytes.len();
                }
            }
            b' ' | b'\t' | b'\n' | b'\r' | b'\x0c' => {
                out.push_str(&json[from..at]);
                at += 1;
                from = at;
            }
            _ => at += 1,
        }
    }
    out.push_str(&json[from..]);
    out
}

/// The items of a `prompt_id` answer, each as compact JSON in written order, as examples
/// write them; `None` for another prompt or an answer that is not the schema's object.
pub fn answer_item_texts(prompt_id: &str, raw_answer: &str) -> Option<Vec<String>> {
    answer_items(raw_answer, items_key(prompt_id)?)
}

/// The items of an answer `{"<key>": [item, …]}`, each as compact JSON in written order.
fn answer_items(raw: &str, key: &str) -> Option<Vec<String>> {
    let answer: Members = serde_json::from_str(raw.trim()).ok()?;
    let (_, items) = answer.0.iter().find(|(k, _)| k == key)?;
    let items: Vec<Members> = serde_json::from_str(items.get()).ok()?;
    Some(items.iter().map(Members::to_json).collect())
}

/// The item a human kept, as compact JSON: as written (`None`), or with the human's version of
/// the code (a test) or the fix (a finding) where they wrote one.
fn kept_item(item: &str, verdict: &Verdict) -> Result<Option<String>, Skipped> {
    let VerdictState::Modified {
        human_text: Some(text),
    } = &verdict.state
    else {
        return Ok(None);
    };
    changed_item(item, text).map(Some).ok_or(Skipped::Corrupt)
}

/// `item` with the human's `text` as its code (a test) or fix (a finding).
fn changed_item(item: &str, text: &str) -> Option<String> {
    let mut members: Members = serde_json::from_str(item).ok()?;
    let field = if members.0.iter().any(|(k, _)| k == "code") {
        "code"
    } else {
        "fix"
    };
    let value = RawValue::from_string(serde_json::to_string(text).ok()?).ok()?;
    match members.0.iter_mut().find(|(k, _)| k == field) {
        Some((_, slot)) => *slot = value,
        None => members.0.push((field.to_owned(), value)),
    }
    Some(members.to_json())
}

/// A suggestion's `original` (the answer item it came from) as a JSON value.
fn parse_original(original: &str) -> Result<Value, Skipped> {
    serde_json::from_str(original).map_err(|_| Skipped::Corrupt)
}

/// Builds the example of `call` from its shown suggestions (ordered by id) and their verdicts.
///
/// Each suggestion is matched to the answer item it came from (same JSON value), so the
/// target keeps the model's order and formatting and differs from the original only where
/// humans changed something. Items the bot itself held back (below a threshold, a muted
/// category, a line outside the diff) were never shown and are left out of the target.
pub fn build_example(call: &ExportCall, unlabeled: Unlabeled) -> Result<CallExample<'_>, Skipped> {
    let c = call;
    if c.status != ModelCallStatus::Ok {
        return Err(Skipped::NotOk);
    }
    let key = items_key(&c.prompt_id).ok_or(Skipped::Corrupt)?;
    let messages = Messages::read(&c.messages).ok_or(Skipped::Corrupt)?;
    let items = c
        .raw_answer
        .as_deref()
        .and_then(|raw| answer_items(raw, key))
        .ok_or(Skipped::Corrupt)?;
    let shown = &call.suggestions;
    if shown.is_empty() {
        return Err(Skipped::NothingShown);
    }
    // Each item's value, parsed only if a suggestion's text differs from the item's.
    let item_values: Vec<OnceCell<Option<Value>>> = vec![OnceCell::new(); items.len()];
    // For each answer item, the shown suggestion it became (if any); suggestions matching no
    // item (the bot normalised something) are kept after them, as the store has them.
    let mut slots: Vec<Option<&ShownSuggestion>> = vec![None; items.len()];
    let mut unmatched: Vec<(String, &ShownSuggestion)> = Vec::new();
    for pair in shown {
        let original = &pair.original;
        let mut value: Option<Value> = None;
        let mut slot = None;
        for i in (0..items.len()).filter(|&i| slots[i].is_none()) {
            // The same text is the same value (items are valid JSON), and the usual case:
            // the bot stores the item as the model's schema serialises it.
            if items[i] == *original {
                slot = Some(i);
                break;
            }
            let value = match &value {
                Some(value) => value,
                None => value.insert(parse_original(original)?),
            };
            let item = item_values[i].get_or_init(|| serde_json::from_str(&items[i]).ok());
            if item.as_ref() == Some(value) {
                slot = Some(i);
                break;
            }
        }
        match slot {
            Some(i) => slots[i] = Some(pair),
            None => {
                // A suggestion whose text is not JSON is corrupt, matched or not.
                if value.is_none() {
                    parse_original(original)?;
                }
                unmatched.push((minify(original), pair));
            }
        }
    }
    let matched = items
        .iter()
        .zip(&slots)
        .enumerate()
        .filter_map(|(i, (item, slot))| slot.map(|pair| (item.clone(), Some(i), pair)));
    let unmatched = unmatched.into_iter().map(|(item, pair)| (item, None, pair));
    let mut kept_items = Vec::new();
    let mut kept_from = Vec::new();
    for (item, from, ShownSuggestion { verdict, .. }) in matched.chain(unmatched) {
        let keep = match &verdict.state {
            VerdictState::Accepted | VerdictState::Modified { .. } => true,
            VerdictState::Rejected { .. } => false,
            VerdictState::Pending | VerdictState::Ignored => match unlabeled {
                Unlabeled::Skip => return Err(Skipped::Unlabeled),
                Unlabeled::Keep => true,
                Unlabeled::Drop => false,
            },
        };
        if keep {
            match kept_item(&item, verdict)? {
                Some(changed) => {
                    kept_items.push(changed);
                    kept_from.push(None);
                }
                None => {
                    kept_items.push(item);
                    kept_from.push(from);
                }
            }
        }
    }
    let wrap = |items: &[String]| format!("{{\"{key}\":[{}]}}", items.join(","));
    Ok(CallExample {
        messages,
        kept: wrap(&kept_items),
        original: wrap(&items),
        key,
        kept_from,
        kept_items,
        items,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ModelCall, Suggestion};

    /// `call`'s example from those of `suggestions` that came from it, as an export reads
    /// them (the call is leaked: the example borrows it, and a test is short).
    fn build(
        call: &ModelCall,
        suggestions: &[(Suggestion, Verdict)],
        unlabeled: Unlabeled,
    ) -> Result<CallExample<'static>, Skipped> {
        let call = Box::leak(Box::new(ExportCall::from_call(call, suggestions)));
        build_example(call, unlabeled)
    }

    #[test]
    fn stored_messages_are_canonical_exactly_when_serialising_them_gives_the_same_text() {
        let cases = [
            r#"[{"role":"system","content":"Be brief."},{"role":"user","content":"a\n\"b\" \\ \u001f é 🦀"}]"#,
            r#"[{"role":"user","content":"x","name":"bot"}]"#,
            r#"[]"#,
            // Each of these says the same with other bytes.
            r#"[{"role": "user","content":"x"}]"#,
            r#"[{"content":"x","role":"user"}]"#,
            r#"[{"role":"user","content":"a\/b"}]"#,
            r#"[{"role":"user","content":"\u0041"}]"#,
            r#"[{"role":"user","content":"\u000a"}]"#,
            r#"[{"role":"user","content":"\u001F"}]"#,
            r#"[{"role":"user","content":"x","name":null}]"#,
            r#" [{"role":"user","content":"x"}]"#,
        ];
        for stored in cases {
            assert_eq!(
                is_canonical(stored),
                serde_says_canonical(stored),
                "{stored}"
            );
        }
        assert!(is_canonical(cases[0]));
        assert_eq!(
            Messages::read(cases[0]),
            Some(Messages::Canonical(cases[0]))
        );
        assert!(matches!(Messages::read(cases[3]), Some(Messages::Parsed(m)) if m.len() == 1));
        assert_eq!(Messages::read(r#"[{"role":"user","content":1}]"#), None);
    }

    /// The definition `is_canonical` implements: parse the text, serialise what it says,
    /// compare.
    fn serde_says_canonical(stored: &str) -> bool {
        serde_json::from_str::<Vec<ChatMessage>>(stored)
            .is_ok_and(|messages| serde_json::to_string(&messages).unwrap() == stored)
    }

    #[test]
    fn the_canonical_check_agrees_with_serde_on_generated_and_mangled_messages() {
        use rand::rngs::StdRng;
        use rand::seq::SliceRandom;
        use rand::{Rng, SeedableRng};

        const BITS: &[&str] = &[
            "a", "Z", " ", "é", "🦀", "\u{2028}", "\"", "\\", "/", "\n", "\r", "\t", "\u{8}",
            "\u{c}", "\u{0}", "\u{1f}", "\u{7f}", "{", "}", "[", "]", ",", ":", "u", "null",
        ];
        // Edits that keep the text JSON but may change how it is written.
        const EDITS: &[(&str, &str)] = &[
            ("\\n", "\\u000a"),
            ("\\u001f", "\\u001F"),
            ("/", "\\/"),
            ("a", "\\u0061"),
            (",", ", "),
            (":", ": "),
            ("\"}", "\",\"name\":null}"),
            ("\\t", "\t"),
            ("\"role\"", "\"rol\\u0065\""),
            ("}]", "} ]"),
            ("\\\"", "\\u0022"),
        ];
        let mut rng = StdRng::seed_from_u64(11);
        let text = |rng: &mut StdRng| -> String {
            // Some long enough to be read eight bytes at a time.
            let bits = if rng.gen_bool(0.2) { 40 } else { 6 };
            (0..rng.gen_range(0..bits))
                .map(|_| *BITS.choose(rng).unwrap())
                .collect()
        };
        let mut canonical = 0;
        for _ in 0..3_000 {
            let messages: Vec<ChatMessage> = (0..rng.gen_range(0..4))
                .map(|_| ChatMessage {
                    role: text(&mut rng),
                    content: text(&mut rng),
                    name: rng.gen_bool(0.3).then(|| text(&mut rng)),
                })
                .collect();
            let stored = serde_json::to_string(&messages).unwrap();
            assert!(is_canonical(&stored), "{stored}");
            let (from, to) = EDITS.choose(&mut rng).unwrap();
            let edited = stored.replacen(from, to, 1);
            assert_eq!(
                is_canonical(&edited),
                serde_says_canonical(&edited),
                "{edited}"
            );
            // Cut short or with a byte changed: never canonical unless serde says so.
            let mut at = rng.gen_range(0..=stored.len());
            while !stored.is_char_boundary(at) {
                at -= 1;
            }
            let cut = &stored[..at];
            assert_eq!(is_canonical(cut), serde_says_canonical(cut), "{cut}");
            canonical += usize::from(is_canonical(&edited));
        }
        // The edits changed most texts: the check was asked both ways.
        assert!((300..2_700).contains(&canonical), "{canonical}");
    }

    #[test]
    fn the_first_special_byte_is_found_at_any_offset_among_any_bytes() {
        use rand::rngs::StdRng;
        use rand::{Rng, SeedableRng};

        let mut rng = StdRng::seed_from_u64(3);
        for _ in 0..20_000 {
            let len = rng.gen_range(0..40);
            // Mostly ordinary bytes (ASCII and UTF-8 continuation bytes), a special one now
            // and then; bytes next to the special ones (0x1f, 0x20, 0x21, 0x23, 0x5b…) too.
            let bytes: Vec<u8> = (0..len)
                .map(|_| match rng.gen_range(0..10) {
                    0 => [b'"', b'\\', 0x00, 0x1f, 0x0a][rng.gen_range(0..5)],
                    1 => {
                        [0x20, 0x21, 0x23, 0x5b, 0x5d, 0x7f, 0x80, 0xa2, 0xdc][rng.gen_range(0..9)]
                    }
                    2 => rng.gen_range(0x80..=0xff),
                    _ => rng.gen_range(0x20..0x7f),
                })
                .collect();
            let naive = bytes
                .iter()
                .position(|&b| b == b'"' || b == b'\\' || b < 0x20);
            assert_eq!(first_special(&bytes), naive, "{bytes:?}");
        }
    }

    use crate::model::*;
    use crate::verdict::Rejection;
    use chrono::Utc;

    const MESSAGES: &str = r#"[{"role":"system","content":"s"},{"role":"user","content":"u"}]"#;

    fn call(prompt: &str, answer: &str) -> ModelCall {
        ModelCall {
            id: ModelCallId(7),
            call: NewModelCall {
                installation_id: None,
                repo: "o/r".into(),
                pr: Some(1),
                head_sha: None,
                job_id: None,
                analysis: prompt.into(),
                prompt_id: prompt.into(),
                prompt_version: "v1".into(),
                provider: "azure".into(),
                model: "gpt-4o".into(),
                deployment: None,
                messages: MESSAGES.into(),
                response_format: None,
                raw_answer: Some(answer.into()),
                finish_reason: Some("stop".into()),
                status: ModelCallStatus::Ok,
                error: None,
                tokens_in: None,
                tokens_out: None,
                message_tokens: None,
                answer_tokens: None,
                messages_scan: None,
                latency_ms: 1,
                attempt: 1,
                created_at: Utc::now(),
            },
        }
    }

    fn test_item(title: &str) -> String {
        format!(
            r#"{{"path":"a.py","line":3,"kind":"unit","title":"{title}","rationale":"r","test_path":"tests/test_a.py","code":"def test_x(): pass","confidence":0.8}}"#
        )
    }

    fn suggestion(id: i64, original: &str) -> Suggestion {
        Suggestion {
            id: SuggestionId(id),
            github_comment_id: Some(100 + id),
            suggestion: NewSuggestion {
                model_call_id: Some(ModelCallId(7)),
                review_id: None,
                repo: "o/r".into(),
                pr: 1,
                head_sha: "h".into(),
                kind: SuggestionKind::Test,
                source: SuggestionSource::Model,
                category: "test.unit".into(),
                path: "a.py".into(),
                line: Some(3),
                anchor: Anchor::Line,
                severity: None,
                confidence: Some(0.8),
                cwe: None,
                fingerprint: format!("f{id}"),
                title: "t".into(),
                body: String::new(),
                original: original.into(),
                created_at: Utc::now(),
            },
        }
    }

    fn verdict(state: VerdictState) -> Verdict {
        Verdict {
            state,
            triage: None,
            decided_by: None,
            first_verdict_at: None,
            time_to_first_verdict: None,
        }
    }

    fn answer_of(items: &[String]) -> String {
        format!(r#"{{"suggestions":[{}]}}"#, items.join(","))
    }

    #[test]
    fn kept_answers_hold_accepted_items_as_written_and_modified_ones_as_humans_wrote_them() {
        let items = [test_item("A"), test_item("B"), test_item("C")];
        let call = call("tests", &answer_of(&items));
        let suggestions = vec![
            (suggestion(1, &items[0]), verdict(VerdictState::Accepted)),
            (
                suggestion(2, &items[1]),
                verdict(VerdictState::Modified {
                    human_text: Some("def test_b():\n    assert b()\n".into()),
                }),
            ),
            (
                suggestion(3, &items[2]),
                verdict(VerdictState::Rejected {
                    reason: Some(Rejection::Reason(RejectReason::Noisy)),
                }),
            ),
        ];
        let example = build(&call, &suggestions, Unlabeled::Skip).unwrap();
        assert_eq!(example.messages.list().unwrap().len(), 2);
        let kept: Value = serde_json::from_str(&example.kept).unwrap();
        let kept = kept["suggestions"].as_array().unwrap();
        assert_eq!(kept.len(), 2, "the rejected one is left out");
        assert_eq!(kept[0]["title"], "A");
        assert_eq!(kept[1]["code"], "def test_b():\n    assert b()\n");
        assert!(example.differs());
        let original: Value = serde_json::from_str(&example.original).unwrap();
        assert_eq!(original["suggestions"].as_array().unwrap().len(), 3);
    }

    #[test]
    fn all_rejected_teaches_silence_and_unlabeled_calls_follow_the_option() {
        let items = [test_item("A"), test_item("B")];
        let call = call("tests", &answer_of(&items));
        let rejected = verdict(VerdictState::Rejected { reason: None });
        let all_rejected = vec![
            (suggestion(1, &items[0]), rejected.clone()),
            (suggestion(2, &items[1]), rejected.clone()),
        ];
        let example = build(&call, &all_rejected, Unlabeled::Skip).unwrap();
        assert_eq!(example.kept, r#"{"suggestions":[]}"#);

        let mixed = vec![
            (suggestion(1, &items[0]), verdict(VerdictState::Accepted)),
            (suggestion(2, &items[1]), verdict(VerdictState::Ignored)),
        ];
        assert_eq!(
            build(&call, &mixed, Unlabeled::Skip),
            Err(Skipped::Unlabeled)
        );
        let keep = build(&call, &mixed, Unlabeled::Keep).unwrap();
        assert!(!keep.differs(), "everything kept as written");
        let drop = build(&call, &mixed, Unlabeled::Drop).unwrap();
        let kept: Value = serde_json::from_str(&drop.kept).unwrap();
        assert_eq!(kept["suggestions"].as_array().unwrap().len(), 1);
    }

    #[test]
    fn failed_silent_and_corrupt_calls_give_no_example() {
        let items = [test_item("A")];
        let mut failed = call("tests", &answer_of(&items));
        failed.call.status = ModelCallStatus::InvalidOutput;
        let s = vec![(suggestion(1, &items[0]), verdict(VerdictState::Accepted))];
        assert_eq!(build(&failed, &s, Unlabeled::Keep), Err(Skipped::NotOk));
        let ok = call("tests", &answer_of(&items));
        assert_eq!(build(&ok, &[], Unlabeled::Keep), Err(Skipped::NothingShown));
        let garbage = call("tests", "not json");
        assert_eq!(build(&garbage, &s, Unlabeled::Keep), Err(Skipped::Corrupt));
    }

    #[test]
    fn a_modified_finding_keeps_the_humans_fix() {
        let item = r#"{"path":"a.py","line":3,"cwe":"CWE-78","severity":"high","confidence":0.9,"title":"t","explanation":"e","fix":"model fix"}"#;
        let call = call("security", &format!(r#"{{"findings":[{item}]}}"#));
        let s = vec![(
            suggestion(1, item),
            verdict(VerdictState::Modified {
                human_text: Some("use shlex.quote".into()),
            }),
        )];
        let example = build(&call, &s, Unlabeled::Skip).unwrap();
        assert_eq!(
            example.kept,
            r#"{"findings":[{"path":"a.py","line":3,"cwe":"CWE-78","severity":"high","confidence":0.9,"title":"t","explanation":"e","fix":"use shlex.quote"}]}"#,
            "the human's fix in place, everything else as the model wrote it, in its order"
        );
    }

    /// `minify` as first written, a character at a time: the reference the faster one
    /// must agree with.
    fn minify_by_chars(json: &str) -> String {
        let mut out = String::with_capacity(json.len());
        let (mut in_string, mut escaped) = (false, false);
        for c in json.chars() {
            if in_string {
                out.push(c);
                if escaped {
                    escaped = false;
                } else if c == '\\' {
                    escaped = true;
                } else if c == '"' {
                    in_string = false;
                }
            } else if c == '"' {
                in_string = true;
                out.push(c);
            } else if !c.is_ascii_whitespace() {
                out.push(c);
            }
        }
        out
    }

    #[test]
    fn minify_agrees_with_the_character_by_character_reading_on_any_text() {
        use rand::rngs::StdRng;
        use rand::seq::SliceRandom;
        use rand::{Rng, SeedableRng};
        const BITS: &[&str] = &[
            "\"", "\\", " ", "\t", "\n", "\r", "\u{c}", "\u{b}", "\u{a0}", "{", "}", "[", "]", ":",
            ",", "a", "1", "é", "\\\"", "\\é", "🦀", "\u{2028}",
        ];
        let mut rng = StdRng::seed_from_u64(5);
        for _ in 0..20_000 {
            let text: String = (0..rng.gen_range(0..24))
                .map(|_| *BITS.choose(&mut rng).unwrap())
                .collect();
            assert_eq!(minify(&text), minify_by_chars(&text), "{text:?}");
        }
    }

    #[test]
    fn minify_drops_whitespace_between_tokens_only() {
        assert_eq!(
            minify("{ \"a\" : [1, 2],\n \"b\": \"x  y \\\" z\" }"),
            r#"{"a":[1,2],"b":"x  y \" z"}"#
        );
    }

    #[test]
    fn the_target_keeps_the_answers_order_and_leaves_out_what_was_never_shown() {
        let items = [test_item("A"), test_item("B"), test_item("C")];
        // The model's own spacing; B was held back by the bot (never a suggestion).
        let raw = format!(
            "{{ \"suggestions\": [\n {},\n {} ,\n {} ] }}",
            items[0], items[1], items[2]
        );
        let call = call("tests", &raw);
        // Stored in id order C, A: the target follows the answer's order.
        let suggestions = vec![
            (suggestion(1, &items[2]), verdict(VerdictState::Accepted)),
            (suggestion(2, &items[0]), verdict(VerdictState::Accepted)),
        ];
        let example = build(&call, &suggestions, Unlabeled::Skip).unwrap();
        assert_eq!(
            example.kept,
            format!(r#"{{"suggestions":[{},{}]}}"#, items[0], items[2])
        );
        assert_eq!(
            example.original,
            format!(
                r#"{{"suggestions":[{},{},{}]}}"#,
                items[0], items[1], items[2]
            )
        );
        // A suggestion the bot normalised (no item equals it) is still kept, after the others.
        let changed = items[1].replace("a.py", "./a.py");
        let odd = vec![(suggestion(3, &changed), verdict(VerdictState::Accepted))];
        let example = build(&call, &odd, Unlabeled::Skip).unwrap();
        assert_eq!(example.kept, format!(r#"{{"suggestions":[{changed}]}}"#));
    }

    #[test]
    fn suggestions_match_the_first_free_item_of_the_same_value_however_either_is_written() {
        // The model wrote item 0 with an escape and a trailing zero, item 1 as serde writes
        // it: the same value twice. The stored suggestions are serde's text.
        let serde = test_item("A");
        let written = serde.replace("\"A\"", "\"\\u0041\"").replace("0.8", "0.80");
        let call = call("tests", &answer_of(&[written.clone(), serde.clone()]));
        let accepted = |id| (suggestion(id, &serde), verdict(VerdictState::Accepted));
        let rejected = |id| {
            (
                suggestion(id, &serde),
                verdict(VerdictState::Rejected { reason: None }),
            )
        };
        // The first suggestion takes the first item (equal as a value, not as text), the
        // second the other.
        let example = build(&call, &[accepted(1), rejected(2)], Unlabeled::Skip).unwrap();
        assert_eq!(example.kept, answer_of(std::slice::from_ref(&written)));
        assert_eq!(example.kept_from, vec![Some(0)]);
        let example = build(&call, &[rejected(1), accepted(2)], Unlabeled::Skip).unwrap();
        assert_eq!(example.kept, answer_of(std::slice::from_ref(&serde)));
        assert_eq!(example.kept_from, vec![Some(1)]);
        // A third equal suggestion finds no free item: kept after them, as stored.
        let example = build(
            &call,
            &[accepted(1), accepted(2), accepted(3)],
            Unlabeled::Skip,
        )
        .unwrap();
        assert_eq!(example.kept_from, vec![Some(0), Some(1), None]);
        // A suggestion that is not JSON is corrupt, whether items are free or all taken.
        let broken = (suggestion(9, "{not json"), verdict(VerdictState::Accepted));
        assert_eq!(
            build(&call, std::slice::from_ref(&broken), Unlabeled::Skip),
            Err(Skipped::Corrupt)
        );
        assert_eq!(
            build(&call, &[accepted(1), accepted(2), broken], Unlabeled::Skip),
            Err(Skipped::Corrupt)
        );
    }
}
