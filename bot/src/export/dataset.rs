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
