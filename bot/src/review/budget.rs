//! What goes to the model, and in how many calls: files left out by default (lock files,
//! generated, vendored, binary) with the reason, token counts, and chunks under a budget that
//! keep a function's hunks together. Nothing is dropped silently: every left-out file and
//! every unit too large for the budget is reported.

use std::collections::HashSet;
use std::sync::LazyLock;

use serde::Serialize;
use tiktoken_rs::CoreBPE;

use super::context::{ChangedFile, FileContext};

/// Tokens per model call for the changed code when the repository does not say otherwise:
/// room for the prompt, the context and the answer in a 128k-token window.
pub const DEFAULT_CHUNK_TOKENS: usize = 24_000;

/// Why a file or unit is not sent to the model.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "reason", content = "detail")]
pub enum SkipReason {
    /// Binary content.
    Binary,
    /// A dependency lock file (`Cargo.lock`, `package-lock.json`, …).
    LockFile,
    /// Generated code (by name, or marked `Code generated … DO NOT EDIT` / `@generated`).
    Generated,
    /// Third-party code (`vendor/`, `node_modules/`, `third_party/`).
    Vendored,
    /// Larger than one model call's budget even on its own (tokens).
    TooLarge(usize),
    /// Deleted: nothing on the new side to review.
    Deleted,
    /// A submodule pointer.
    Submodule,
    /// A symbolic link.
    Symlink,
    /// No added lines (a pure rename, a mode change, only deletions).
    NoAddedLines,
    /// Not tracked by git yet (`git add` it to include it).
    Untracked,
    /// Left out by `paths` in `.github/reviewbot.yml`.
    ExcludedByConfig,
}

impl std::fmt::Display for SkipReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SkipReason::Binary => f.write_str("binary file"),
            SkipReason::LockFile => f.write_str("lock file"),
            SkipReason::Generated => f.write_str("generated code"),
            SkipReason::Vendored => f.write_str("vendored code"),
            SkipReason::TooLarge(tokens) => {
                write!(f, "too large for one model call ({tokens} tokens)")
            }
            SkipReason::Deleted => f.write_str("deleted"),
            SkipReason::Submodule => f.write_str("submodule"),
            SkipReason::Symlink => f.write_str("symbolic link"),
            SkipReason::NoAddedLines => f.write_str("no added lines"),
            SkipReason::Untracked => f.write_str("untracked (git add it to review it)"),
            SkipReason::ExcludedByConfig => f.write_str("excluded by .github/reviewbot.yml"),
        }
    }
}

const LOCK_FILES: &[&str] = &[
    "Cargo.lock",
    "package-lock.json",
    "npm-shrinkwrap.json",
    "yarn.lock",
    "pnpm-lock.yaml",
    "bun.lockb",
    "poetry.lock",
    "Pipfile.lock",
    "uv.lock",
    "pdm.lock",
    "go.sum",
    "composer.lock",
    "Gemfile.lock",
    "flake.lock",
    "gradle.lockfile",
    "packages.lock.json",
];

const GENERATED_SUFFIXES: &[&str] = &[
    ".min.js",
    ".min.css",
    ".map",
    ".pb.go",
    "_pb2.py",
    "_pb2_grpc.py",
    ".pb.cc",
    ".pb.h",
    ".g.dart",
    ".designer.cs",
];

const VENDORED_DIRS: &[&str] = &[
    "vendor",
    "node_modules",
    "third_party",
    "third-party",
    ".yarn",
];

/// How many leading lines may carry a "generated" marker.
const GENERATED_MARKER_LINES: usize = 5;

/// Why `path` is left out by default, if it is. `head` is the start of its new content, when
/// known, for generated-code markers.
pub fn exclusion(path: &str, binary: bool, head: Option<&str>) -> Option<SkipReason> {
    if binary {
        return Some(SkipReason::Binary);
    }
    let file_name = path.rsplit('/').next().unwrap_or(path);
    if LOCK_FILES.contains(&file_name) {
        return Some(SkipReason::LockFile);
    }
    if path.split('/').any(|dir| VENDORED_DIRS.contains(&dir)) {
        return Some(SkipReason::Vendored);
    }
    if GENERATED_SUFFIXES
        .iter()
        .any(|suffix| file_name.ends_with(suffix))
        || file_name.contains(".generated.")
    {
        return Some(SkipReason::Generated);
    }
    let marked = head.is_some_and(|text| {
        text.lines().take(GENERATED_MARKER_LINES).any(|line| {
            // Go's convention (golang.org/s/generatedcode) and the widespread @generated tag.
            (line.contains("Code generated") && line.contains("DO NOT EDIT"))
                || line.contains("@generated")
        })
    });
    marked.then_some(SkipReason::Generated)
}

static TOKENIZER: LazyLock<Option<CoreBPE>> = LazyLock::new(|| tiktoken_rs::o200k_base().ok());

/// Tokens in `text` for current OpenAI models (o200k_base). The tokenizer's data ships inside
/// the crate; it is loaded once. Should it fail to load, a conservative estimate is used
/// (one token per 3 bytes) so budgets still hold.
pub fn count_tokens(text: &str) -> usize {
    match TOKENIZER.as_ref() {
        Some(bpe) => match bpe.encode(text, &SPECIAL_TOKENS) {
            Ok((tokens, _)) => tokens.len(),
            Err(_) => text.len().div_ceil(3),
        },
        None => text.len().div_ceil(3),
    }
}

thread_local! {
    /// This thread's own tokenizer, for [`count_tokens_on_own_copy`].
    static OWN_TOKENIZER: Option<CoreBPE> = tiktoken_rs::o200k_base().ok();
}

/// [`count_tokens`] with a tokenizer of the calling thread's own, loaded on first use (about
/// 0.2 s and 40 MB per thread): the shared one serialises threads on its regex scratch space,
/// so threads that count all the time (an export's workers) use this.
pub fn count_tokens_on_own_copy(text: &str) -> usize {
    OWN_TOKENIZER.with(|own| match own {
        // Every copy has the same special tokens as the shared one.
        Some(bpe) => match bpe.encode(text, &SPECIAL_TOKENS) {
            Ok((tokens, _)) => tokens.len(),
            Err(_) => text.len().div_ceil(3),
        },
        None => count_tokens(text),
    })
}

/// o200k's special tokens, counted as one token each where they appear (built once:
/// `encode_with_special_tokens` builds this set on every call; the list is the one
/// `tiktoken_rs::o200k_base` registers, so no tokenizer is loaded to learn it).
static SPECIAL_TOKENS: LazyLock<HashSet<&'static str>> =
    LazyLock::new(|| HashSet::from([tiktoken_rs::ENDOFTEXT, tiktoken_rs::ENDOFPROMPT]));

/// A piece of the change to send: one hunk with its context, grouped by what must travel
/// together (the enclosing function, else the hunk itself).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Unit {
    /// The file.
    pub path: String,
    /// The hunk's index within its file.
    pub hunk: usize,
    /// Units with the same group go in the same chunk (e.g. `path::function`).
    pub group: String,
    /// Its token count.
    pub tokens: usize,
}

/// The units of a change: one per hunk, grouped by enclosing function. A unit's tokens are
/// its hunk's new-side lines, plus the enclosing function's source for the first hunk of
/// each function (the group carries it once). `contexts[i]` describes `files[i]`.
pub fn change_units(files: &[ChangedFile], contexts: &[FileContext]) -> Vec<Unit> {
    let mut units = Vec::new();
    let mut groups_seen: Vec<String> = Vec::new();
    for (file, context) in files.iter().zip(contexts) {
        let lines: Vec<&str> = file.source.split('\n').collect();
        for (index, (hunk, hunk_context)) in file.hunks.iter().zip(&context.hunks).enumerate() {
            let start = (*hunk.lines.start() as usize)
                .saturating_sub(1)
                .min(lines.len());
            let end = (*hunk.lines.end() as usize).min(lines.len()).max(start);
            let mut tokens = count_tokens(&lines[start..end].join("\n"));
            let group = match &hunk_context.function {
                Some(function) => {
                    let group = format!("{}::{}", file.path, function.symbol.qualified_name);
                    if !groups_seen.contains(&group) {
                        tokens += count_tokens(&function.source);
                        groups_seen.push(group.clone());
                    }
                    group
                }
                None => format!("{}#{index}", file.path),
            };
            units.push(Unit {
                path: file.path.clone(),
                hunk: index,
                group,
                tokens,
            });
        }
    }
    units
}

/// One model call's worth of units, in their original order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Chunk {
    /// Indices into the units passed to [`plan_chunks`].
    pub units: Vec<usize>,
    /// Their total tokens.
    pub tokens: usize,
}

/// The plan: chunks, and units that fit nowhere.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct ChunkPlan {
    /// Model calls to make.
    pub chunks: Vec<Chunk>,
    /// Units larger than the budget on their own, with the reason.
    pub skipped: Vec<(usize, SkipReason)>,
}

/// Packs units into chunks of at most `budget` tokens, in order, keeping each group together.
/// A group too large for one chunk is split between its units (each unit still whole); a unit
/// too large on its own is skipped and reported.
pub fn plan_chunks(units: &[Unit], budget: usize) -> ChunkPlan {
    // Groups in order of first appearance; a group's units need not be adjacent.
    let mut groups: Vec<(&str, Vec<usize>)> = Vec::new();
    for (index, unit) in units.iter().enumerate() {
        match groups.iter_mut().find(|(group, _)| *group == unit.group) {
            Some((_, members)) => members.push(index),
            None => groups.push((&unit.group, vec![index])),
        }
    }
    let mut plan = ChunkPlan::default();
    let mut current = Chunk {
        units: Vec::new(),
        tokens: 0,
    };
    let flush = |current: &mut Chunk, plan: &mut ChunkPlan| {
        if !current.units.is_empty() {
            current.units.sort_unstable();
            plan.chunks.push(std::mem::replace(
                current,
                Chunk {
                    units: Vec::new(),
                    tokens: 0,
                },
            ));
        }
    };
    for (_, members) in groups {
        let tokens: usize = members.iter().map(|&i| units[i].tokens).sum();
        if tokens <= budget {
            if current.tokens + tokens > budget {
                flush(&mut current, &mut plan);
            }
            current.units.extend(&members);
            current.tokens += tokens;
            continue;
        }
        // Too big to keep together: its units go one by one, each still whole.
        for index in members {
            let unit_tokens = units[index].tokens;
            if unit_tokens > budget {
                plan.skipped
                    .push((index, SkipReason::TooLarge(unit_tokens)));
                continue;
            }
            if current.tokens + unit_tokens > budget {
                flush(&mut current, &mut plan);
            }
            current.units.push(index);
            current.tokens += unit_tokens;
        }
    }
    flush(&mut current, &mut plan);
    plan
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_threads_own_tokenizer_counts_as_the_shared_one() {
        let texts = [
            "def test_f():\n    assert f(2) == 4\n",
            "<|endoftext|> and émoji 🦀 {\"suggestions\":[]}",
            "",
        ];
        let own: Vec<usize> =
            std::thread::spawn(move || texts.iter().map(|t| count_tokens_on_own_copy(t)).collect())
                .join()
                .unwrap();
        let shared: Vec<usize> = texts.iter().map(|t| count_tokens(t)).collect();
        assert_eq!(own, shared);
        assert!(shared[1] > 5 && shared[2] == 0);
    }

    #[test]
    fn the_special_tokens_are_the_tokenizers_own() {
        let bpe = tiktoken_rs::o200k_base().unwrap();
        assert_eq!(*SPECIAL_TOKENS, bpe.special_tokens());
        // Counted as one token each, not spelled out.
        assert_eq!(count_tokens("<|endoftext|><|endofprompt|>"), 2);
    }

    #[test]
    fn lock_vendored_generated_and_binary_files_are_left_out_with_a_reason() {
        let cases = [
            ("Cargo.lock", false, None, Some(SkipReason::LockFile)),
            (
                "web/package-lock.json",
                false,
                None,
                Some(SkipReason::LockFile),
            ),
            ("go.sum", false, None, Some(SkipReason::LockFile)),
            (
                "vendor/github.com/x/y.go",
                false,
                None,
                Some(SkipReason::Vendored),
            ),
            (
                "app/node_modules/left-pad/index.js",
                false,
                None,
                Some(SkipReason::Vendored),
            ),
            (
                "static/app.min.js",
                false,
                None,
                Some(SkipReason::Generated),
            ),
            (
                "api/v1/service.pb.go",
                false,
                None,
                Some(SkipReason::Generated),
            ),
            ("logo.png", true, None, Some(SkipReason::Binary)),
            (
                "internal/mock.go",
                false,
                Some("// Code generated by mockgen. DO NOT EDIT.\npackage x"),
                Some(SkipReason::Generated),
            ),
            (
                "src/schema.rs",
                false,
                Some("// @generated by diesel\n"),
                Some(SkipReason::Generated),
            ),
            ("src/main.rs", false, Some("fn main() {}\n"), None),
            ("docs/vendoring.md", false, None, None),
            ("src/lock.rs", false, None, None),
        ];
        for (path, binary, head, expected) in cases {
            assert_eq!(exclusion(path, binary, head), expected, "{path}");
        }
    }

    #[test]
    fn tokens_are_counted_with_the_shipped_tokenizer() {
        assert!(
            TOKENIZER.is_some(),
            "o200k_base loads from the crate's embedded data"
        );
        assert_eq!(count_tokens(""), 0);
        let hello = count_tokens("Hello, world!");
        assert!((2..=5).contains(&hello), "{hello}");
        let code = "fn add(a: i32, b: i32) -> i32 { a + b }\n".repeat(100);
        let tokens = count_tokens(&code);
        assert!(tokens > 1000 && tokens < code.len(), "{tokens}");
    }

    fn unit(path: &str, group: &str, tokens: usize) -> Unit {
        Unit {
            path: path.into(),
            hunk: 0,
            group: group.into(),
            tokens,
        }
    }

    #[test]
    fn hunks_of_one_function_form_one_group_that_carries_its_source_once() {
        use crate::review::context::{ChangedHunk, parse_context};
        let source = "def first(x):\n    a = 1\n    b = 2\n    c = 3\n    d = 4\n    e = 5\n    f = 6\n    return x\n\n\ndef second():\n    return 2\n";
        let hunk = |lines: std::ops::RangeInclusive<u32>, added: &[u32]| ChangedHunk {
            lines,
            added: added.iter().copied().collect(),
        };
        let file = ChangedFile::new(
            "app.py",
            source,
            vec![hunk(2..=2, &[2]), hunk(7..=7, &[7]), hunk(12..=12, &[12])],
        );
        let context = parse_context(&file).unwrap();
        let units = change_units(std::slice::from_ref(&file), std::slice::from_ref(&context));
        let groups: Vec<&str> = units.iter().map(|u| u.group.as_str()).collect();
        assert_eq!(groups, ["app.py::first", "app.py::first", "app.py::second"]);
        assert!(
            units[0].tokens > units[1].tokens,
            "the function's source counts once: {units:?}"
        );
        let plan = plan_chunks(&units, units[0].tokens + units[1].tokens);
        assert_eq!(
            plan.chunks[0].units,
            vec![0, 1],
            "first's hunks travel together"
        );
    }

    #[test]
    fn chunks_stay_under_budget_and_keep_a_function_together() {
        let units = [
            unit("a.rs", "a.rs::f", 40),
            unit("a.rs", "a.rs::g", 30),
            unit("a.rs", "a.rs::f", 40), // a second hunk of f
            unit("b.rs", "b.rs#1", 50),
        ];
        let plan = plan_chunks(&units, 100);
        assert!(plan.skipped.is_empty());
        for chunk in &plan.chunks {
            assert!(chunk.tokens <= 100, "{chunk:?}");
            let f_hunks = chunk
                .units
                .iter()
                .filter(|&&i| units[i].group == "a.rs::f")
                .count();
            assert!(
                f_hunks == 0 || f_hunks == 2,
                "f's hunks travel together: {chunk:?}"
            );
        }
        let placed: usize = plan.chunks.iter().map(|c| c.units.len()).sum();
        assert_eq!(placed, units.len());
        assert_eq!(
            plan.chunks[0].units,
            vec![0, 2],
            "f (80) first; g (30) would overflow"
        );
    }

    #[test]
    fn oversized_groups_split_and_oversized_units_are_reported() {
        let units = [
            unit("big.rs", "big.rs::f", 70),
            unit("big.rs", "big.rs::f", 70),
            unit("huge.rs", "huge", 500),
        ];
        let plan = plan_chunks(&units, 100);
        assert_eq!(plan.chunks.len(), 2, "{plan:?}");
        assert_eq!(plan.skipped, vec![(2, SkipReason::TooLarge(500))]);
        assert_eq!(
            SkipReason::TooLarge(500).to_string(),
            "too large for one model call (500 tokens)"
        );
    }
}
