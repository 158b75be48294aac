//! `.github/reviewbot.yml`: a repository's own settings, always read from the default branch
//! (for `reviewbot review`, from the base) so a change cannot switch off its own review.
//! Unknown keys are an error, reported with where they are, never silently ignored.

use globset::{Glob, GlobSet, GlobSetBuilder};
use serde::{Deserialize, Serialize};

use crate::config::{SecurityReviewer, parse_security_reviewer};
use crate::review::finding::Severity;

/// Where the file lives in a repository.
pub const REPO_CONFIG_PATH: &str = ".github/reviewbot.yml";
/// GitHub takes many comments per review, but past this many a review is noise; the rest go
/// to the summary.
pub const MAX_INLINE_COMMENTS: u32 = 30;

/// Which analyses run.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Analyses {
    /// Suggested tests (and the built-in test-gap check).
    pub tests: bool,
    /// Security findings.
    pub security: bool,
}

impl Default for Analyses {
    fn default() -> Self {
        Analyses {
            tests: true,
            security: true,
        }
    }
}

/// Which files are reviewed: `include` (all when empty) minus `exclude`, as globs.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Paths {
    /// Globs of files to review; empty means every file.
    pub include: Vec<String>,
    /// Globs of files never to review.
    pub exclude: Vec<String>,
}

/// How suggestions reach the branch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Comments only (the default).
    #[default]
    Suggest,
    /// After a human's `/accept`, a configured category of test suggestions may be committed.
    Auto,
}

/// What `mode: auto` may commit after a human's `/accept`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct AutoCommit {
    /// Test kinds (`test.unit`, `test.edge_case`, …) that may be committed; none by default.
    pub categories: Vec<String>,
    /// Only suggestions at least this confident.
    pub min_confidence: f32,
}

impl Default for AutoCommit {
    fn default() -> Self {
        AutoCommit {
            categories: Vec::new(),
            min_confidence: 0.9,
        }
    }
}

/// When a category of suggestions is quietened because people keep rejecting it.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct NoiseControl {
    /// Verdicts per category considered (the most recent ones).
    pub window: u32,
    /// Below this acceptance rate over the window, the category is muted.
    pub min_acceptance_rate: f32,
}

impl Default for NoiseControl {
    /// 10 verdicts: enough to see a pattern, few enough to react within a week of reviews.
    fn default() -> Self {
        NoiseControl {
            window: 10,
            min_acceptance_rate: 0.2,
        }
    }
}

/// The repository's settings; every key is optional.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct RepoConfig {
    /// Which analyses run.
    pub analyses: Analyses,
    /// Which files are reviewed.
    pub paths: Paths,
    /// Findings below this severity are not reported.
    pub min_severity: Severity,
    /// Suggestions and findings below this confidence (0–1) are not reported.
    pub min_confidence: f32,
    /// Inline comments per review (1–30); the rest are summarised.
    pub max_comments: u32,
    /// Whether draft pull requests are reviewed.
    pub drafts: bool,
    /// An Azure OpenAI deployment to use instead of `AZURE_OPENAI_DEPLOYMENT`.
    pub deployment: Option<String>,
    /// The check run fails while a finding at or above this severity is untriaged.
    pub block_on: Option<Severity>,
    /// Who may `/triage` findings here, besides `REVIEWBOT_SECURITY_REVIEWERS`.
    pub security_reviewers: Vec<String>,
    /// `suggest` or `auto`.
    pub mode: Mode,
    /// What `mode: auto` may commit.
    pub auto: AutoCommit,
    /// Noise-control thresholds.
    pub noise_control: NoiseControl,
}

impl Default for RepoConfig {
    fn default() -> Self {
        RepoConfig {
            analyses: Analyses::default(),
            paths: Paths::default(),
            min_severity: Severity::Low,
            min_confidence: 0.5,
            max_comments: MAX_INLINE_COMMENTS,
            drafts: false,
            deployment: None,
            block_on: None,
            security_reviewers: Vec::new(),
            mode: Mode::Suggest,
            auto: AutoCommit::default(),
            noise_control: NoiseControl::default(),
        }
    }
}

/// Why a `.github/reviewbot.yml` was refused: said once, on the pull request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{REPO_CONFIG_PATH}: {0}")]
pub struct RepoConfigError(pub String);

/// A parsed, validated configuration with its path filter compiled.
#[derive(Debug, Clone)]
pub struct LoadedRepoConfig {
    /// The settings.
    pub config: RepoConfig,
    /// Parsed `security_reviewers`.
    pub security_reviewers: Vec<SecurityReviewer>,
    include: Option<GlobSet>,
    exclude: GlobSet,
}

impl Default for LoadedRepoConfig {
    fn default() -> Self {
        LoadedRepoConfig {
            config: RepoConfig::default(),
            security_reviewers: Vec::new(),
            include: None,
            exclude: GlobSet::empty(),
        }
    }
}

fn glob_set(globs: &[String], key: &str) -> Result<GlobSet, RepoConfigError> {
    let mut builder = GlobSetBuilder::new();
    for glob in globs {
        let compiled = Glob::new(glob).map_err(|e| {
            RepoConfigError(format!("paths.{key}: {glob:?} is not a valid glob: {e}"))
        })?;
        builder.add(compiled);
    }
    builder
        .build()
        .map_err(|e| RepoConfigError(format!("paths.{key}: {e}")))
}

/// Parses and validates the file's text. An empty file means all defaults.
pub fn parse_repo_config(yaml: &str) -> Result<LoadedRepoConfig, RepoConfigError> {
    let config: RepoConfig = if yaml.trim().is_empty() {
        RepoConfig::default()
    } else {
        // serde's message names the unknown or mistyped key and its line and column.
        serde_norway::from_str(yaml).map_err(|e| RepoConfigError(e.to_string()))?
    };
    if !(0.0..=1.0).contains(&config.min_confidence) {
        return Err(RepoConfigError(format!(
            "min_confidence must be between 0 and 1, not {}",
            config.min_confidence
        )));
    }
    if !(1..=MAX_INLINE_COMMENTS).contains(&config.max_comments) {
        return Err(RepoConfigError(format!(
            "max_comments must be between 1 and {MAX_INLINE_COMMENTS}, not {}",
            config.max_comments
        )));
    }
    if !(0.0..=1.0).contains(&config.auto.min_confidence) {
        return Err(RepoConfigError(format!(
            "auto.min_confidence must be between 0 and 1, not {}",
            config.auto.min_confidence
        )));
    }
    let noise = &config.noise_control;
    if noise.window == 0 || !(0.0..=1.0).contains(&noise.min_acceptance_rate) {
        return Err(RepoConfigError(
            "noise_control needs a window of at least 1 and a min_acceptance_rate between 0 and 1"
                .into(),
        ));
    }
    let security_reviewers = config
        .security_reviewers
        .iter()
        .map(|entry| {
            parse_security_reviewer(entry).ok_or_else(|| {
                RepoConfigError(format!(
                    "security_reviewers: {entry:?} is neither a login nor org/team-slug"
                ))
            })
        })
        .collect::<Result<_, _>>()?;
    let include = (!config.paths.include.is_empty())
        .then(|| glob_set(&config.paths.include, "include"))
        .transpose()?;
    let exclude = glob_set(&config.paths.exclude, "exclude")?;
    Ok(LoadedRepoConfig {
        config,
        security_reviewers,
        include,
        exclude,
    })
}

impl LoadedRepoConfig {
    /// Whether `path` is reviewed under `paths.include` / `paths.exclude`.
    pub fn reviews_path(&self, path: &str) -> bool {
        self.include.as_ref().is_none_or(|set| set.is_match(path)) && !self.exclude.is_match(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE: &str = include_str!("../../docs/reviewbot.example.yml");

    #[test]
    fn the_documented_example_parses_and_every_key_in_it_is_real() {
        let loaded = parse_repo_config(EXAMPLE).unwrap();
        let config = &loaded.config;
        assert_eq!(config.min_severity, Severity::Medium);
        assert_eq!(config.block_on, Some(Severity::High));
        assert_eq!(config.max_comments, 20);
        assert!(loaded.reviews_path("src/app.py"));
        assert!(!loaded.reviews_path("src/generated/api.py"), "excluded");
        assert!(!loaded.reviews_path("README.md"), "not included");
        assert_eq!(loaded.security_reviewers.len(), 2);
    }

    #[test]
    fn an_empty_or_missing_file_means_defaults() {
        let loaded = parse_repo_config("").unwrap();
        assert_eq!(loaded.config, RepoConfig::default());
        assert!(loaded.reviews_path("anything/at/all.rs"));
        let comment_only = parse_repo_config("# nothing yet\n").unwrap();
        assert_eq!(comment_only.config, RepoConfig::default());
    }

    #[test]
    fn unknown_keys_and_bad_values_are_errors_that_say_where() {
        let cases = [
            ("min_severty: high\n", "unknown field `min_severty`"),
            (
                "analyses:\n  tests: true\n  style: false\n",
                "unknown field `style`",
            ),
            ("min_severity: severe\n", "min_severity"),
            (
                "min_confidence: 1.5\n",
                "min_confidence must be between 0 and 1",
            ),
            (
                "max_comments: 100\n",
                "max_comments must be between 1 and 30",
            ),
            ("paths:\n  exclude: ['src/[oops']\n", "not a valid glob"),
            (
                "security_reviewers: ['not a login']\n",
                "security_reviewers",
            ),
            ("mode: yolo\n", "mode"),
        ];
        for (yaml, expected) in cases {
            let err = parse_repo_config(yaml).unwrap_err().to_string();
            assert!(err.starts_with(".github/reviewbot.yml: "), "{err}");
            assert!(err.contains(expected), "{yaml:?}: {err}");
        }
        let located = parse_repo_config("drafts: true\nmin_severty: high\n")
            .unwrap_err()
            .to_string();
        assert!(located.contains("line 2"), "{located}");
    }
}
