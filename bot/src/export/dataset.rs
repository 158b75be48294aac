//! `reviewbot export sft|dpo|trl`: stream the store's model calls into a JSONL dataset.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use feedback::Store;
use feedback::export::dataset::{DatasetOptions, DatasetSummary, DatasetWriter};
use feedback::export::example::Unlabeled;
use feedback::export::validate::DatasetFormat;

use super::progress::Progress;
use super::{AtomicFile, export_filter};
use crate::cli::{DatasetArgs, UnlabeledArg};

/// Calls prepared together (on every core) before they are written in order.
const BATCH: usize = 512;

/// Writes the dataset `args` ask for from `store`; returns the summary.
pub async fn export_dataset(
    store: &Store,
    format: DatasetFormat,
    args: &DatasetArgs,
) -> anyhow::Result<DatasetSummary> {
    let filter = export_filter(&args.filter);
    let options = DatasetOptions {
        format,
        unlabeled: match args.unlabeled {
            UnlabeledArg::Skip => Unlabeled::Skip,
            UnlabeledArg::Keep => Unlabeled::Keep,
            UnlabeledArg::Drop => Unlabeled::Drop,
        },
        max_tokens: args.max_tokens,
        min_verdicts: args.min_verdicts,
        validation_ratio: args.validation_ratio.unwrap_or(0.0),
    };
    let validation_path = args.validation_ratio.filter(|ratio| *ratio > 0.0).map(|_| {
        args.validation_out
            .clone()
            .unwrap_or_else(|| validation_path(&args.out))
    });
    let total = store
        .count_export_calls(&filter)
        .await
        .context("count the model calls to export")?;
    let train = AtomicFile::create(&args.out)?;
    let validation = validation_path
        .as_deref()
        .map(AtomicFile::create)
        .transpose()?;
    let mut writer = DatasetWriter::new(
        options,
        train.writer()?,
        validation.as_ref().map(AtomicFile::writer).transpose()?,
        std::sync::Arc::new(crate::review::budget::count_tokens_on_own_copy),
    );
    let mut progress = Progress::new(u64::try_from(total).unwrap_or(0));
    let mut calls = store.export_calls(&filter);
    let mut batch = Vec::with_capacity(BATCH);
    let mut read = 0u64;
    loop {
        let next = calls.next().await.transpose().context("read the store")?;
        let done = next.is_none();
        if let Some(call) = next {
            batch.push(call);
        }
        if batch.len() == BATCH || (done && !batch.is_empty()) {
            read += batch.len() as u64;
            writer
                .add_batch(std::mem::replace(&mut batch, Vec::with_capacity(BATCH)))
                .context("write the dataset")?;
            progress.update(read, writer.summary().written());
        }
        if done {
            break;
        }
    }
    progress.finish();
    let summary = writer.finish().context("write the dataset")?;
    train.commit()?;
    if let Some(validation) = validation {
        validation.commit()?;
    }
    Ok(summary)
}

/// `train.jsonl` → `train.validation.jsonl`.
pub fn validation_path(out: &Path) -> PathBuf {
    let stem = out
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "dataset".into());
    let name = match out.extension() {
        Some(ext) => format!("{stem}.validation.{}", ext.to_string_lossy()),
        None => format!("{stem}.validation"),
    };
    out.with_file_name(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_validation_file_sits_beside_the_training_file() {
        assert_eq!(
            validation_path(Path::new("out/train.jsonl")),
            PathBuf::from("out/train.validation.jsonl")
        );
        assert_eq!(
            validation_path(Path::new("data")),
            PathBuf::from("data.validation")
        );
    }
}

/// Answer token counts recorded per item add up to the direct count (see
/// `feedback::export::answer_tokens`): checked with the real tokenizer on generated answers
/// whose values end and begin in every way that could move a piece boundary.
#[cfg(test)]
mod answer_token_tests {
    use feedback::export::answer_tokens::{AnswerItem, AnswerTokens, Frame};
    use feedback::export::example::answer_item_texts;
    use rand::rngs::StdRng;
    use rand::seq::SliceRandom;
    use rand::{Rng, SeedableRng};

    use crate::review::budget::count_tokens;

    /// Pieces of text that sit next to JSON punctuation in interesting ways: spaces and
    /// other whitespace, contractions, digits, marks, letters of other scripts, escapes.
    const BITS: &[&str] = &[
        "",
        " ",
        "  ",
        "a",
        "A",
        "foo",
        "Bar",
        "'s",
        "'ll",
        "x's",
        "42",
        "1234567",
        "3.5",
        "é",
        "e\u{301}",
        "日本語",
        "🦀",
        "\u{a0}",
        "\u{2028}",
        "\n",
        "\t",
        "\r\n",
        "\"",
        "\\",
        "/",
        "//",
        "{}",
        "[]",
        "},{",
        "\"}",
        ":",
        ",",
        "-",
        "_",
        "assert f(2) == 4",
        "fn main() {}",
        "  indented\n    more",
        "null",
        "true",
        "<|endoftext|>",
    ];

    fn value(rng: &mut StdRng) -> String {
        match rng.gen_range(0..10) {
            0 => rng.gen_range(0..100_000).to_string(),
            1 => format!("{:.2}", rng.gen_range(0.0..1.0)),
            2 => ["true", "false", "null"][rng.gen_range(0..3)].to_owned(),
            3 => {
                let items: Vec<String> = (0..rng.gen_range(0..3))
                    .map(|_| serde_json::to_string(BITS.choose(rng).unwrap()).unwrap())
                    .collect();
                format!("[{}]", items.join(","))
            }
            _ => {
                let text: String = (0..rng.gen_range(0..5))
                    .map(|_| *BITS.choose(rng).unwrap())
                    .collect();
                serde_json::to_string(&text).unwrap()
            }
        }
    }

    fn item(rng: &mut StdRng, keys: &[&str]) -> String {
        let members: Vec<String> = keys
            .iter()
            .take(rng.gen_range(1..=keys.len()))
            .map(|key| format!("\"{key}\":{}", value(rng)))
            .collect();
        format!("{{{}}}", members.join(","))
    }

    fn wrap(key: &str, items: &[&str]) -> String {
        format!("{{\"{key}\":[{}]}}", items.join(","))
    }

    #[test]
    fn recorded_item_counts_add_up_to_the_direct_count() {
        let mut rng = StdRng::seed_from_u64(7);
        let prompts = [
            (
                "tests",
                "suggestions",
                &["path", "line", "kind", "title", "code"][..],
            ),
            (
                "security",
                "findings",
                &["path", "line", "cwe", "confidence", "fix"][..],
            ),
        ];
        let mut compared = 0;
        for round in 0..400 {
            let (prompt, key, keys) = prompts[round % 2];
            let raw_items: Vec<String> = (0..rng.gen_range(0..5))
                .map(|_| item(&mut rng, keys))
                .collect();
            let refs: Vec<&str> = raw_items.iter().map(String::as_str).collect();
            // Formatting as a model might write it: the export reads it back compact.
            let raw = wrap(key, &refs).replace(",\"", ", \"");
            let items = answer_item_texts(prompt, &raw).expect("an answer");
            let counts = AnswerTokens::count(&items, &count_tokens).expect("counted");
            assert_eq!(counts.0.len(), items.len());
            // Every subset in a shuffled order, some items changed by a human (text only).
            for _ in 0..3 {
                let mut chosen: Vec<usize> =
                    (0..items.len()).filter(|_| rng.gen_bool(0.7)).collect();
                chosen.shuffle(&mut rng);
                let changed: Vec<Option<String>> = chosen
                    .iter()
                    .map(|_| rng.gen_bool(0.2).then(|| item(&mut rng, keys)))
                    .collect();
                let parts: Vec<AnswerItem<'_>> = chosen
                    .iter()
                    .zip(&changed)
                    .map(|(&i, changed)| match changed {
                        Some(text) => AnswerItem {
                            text,
                            counted: None,
                        },
                        None => AnswerItem {
                            text: &items[i],
                            counted: Some(counts.0[i]),
                        },
                    })
                    .collect();
                let texts: Vec<&str> = parts.iter().map(|p| p.text).collect();
                let direct = count_tokens(&wrap(key, &texts));
                assert_eq!(
                    Frame::count(key, &count_tokens).compose(&parts, &count_tokens),
                    direct,
                    "{}",
                    wrap(key, &texts)
                );
                compared += 1;
            }
        }
        assert_eq!(compared, 1_200);
    }

    #[test]
    fn items_that_do_not_start_with_a_key_are_counted_whole() {
        let items = ["{}".to_owned(), "{\"1st\":\"x\"}".to_owned()];
        assert_eq!(AnswerTokens::count(&items, &count_tokens), None);
        let parts: Vec<AnswerItem<'_>> = items
            .iter()
            .map(|text| AnswerItem {
                text,
                counted: None,
            })
            .collect();
        let direct = count_tokens("{\"suggestions\":[{},{\"1st\":\"x\"}]}");
        assert_eq!(
            Frame::count("suggestions", &count_tokens).compose(&parts, &count_tokens),
            direct
        );
        assert_eq!(
            Frame::count("findings", &count_tokens).compose(&[], &count_tokens),
            count_tokens("{\"findings\":[]}")
        );
    }
}
