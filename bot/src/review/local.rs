//! Where `reviewbot review` gets its change: a diff file, stdin, or the working tree against a
//! base (the upstream branch, else `main`, else `master`) via `git`.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Where the change comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChangeSource {
    /// A unified diff in a file.
    DiffFile(PathBuf),
    /// A unified diff on standard input.
    Stdin,
    /// The working tree (staged and unstaged) against the merge base with `base`.
    WorkingTree {
        /// `--base`; `None` picks the upstream branch, else `main`, else `master`.
        base: Option<String>,
    },
}

/// A change to review.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalChange {
    /// The unified diff, as git prints it.
    pub diff: Vec<u8>,
    /// What was compared, for the report (`working tree against origin/main (merge base …)`).
    pub description: String,
    /// The repository root, when reviewing a working tree: new-side files are read there.
    pub root: Option<PathBuf>,
    /// Untracked files, which `git diff` does not show (reported, not reviewed).
    pub untracked: Vec<String>,
    /// The commit the repository's `.github/reviewbot.yml` is read from: the merge base for a
    /// working tree (never the change itself), else the current checkout's `HEAD`.
    pub config_commit: Option<String>,
}

/// Why the change could not be read.
#[derive(Debug, thiserror::Error)]
pub enum LocalError {
    /// Reading the diff file or stdin failed.
    #[error("cannot read {what}: {source}")]
    Read {
        /// What was being read.
        what: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// `git` could not be run at all.
    #[error("cannot run git: {0} (install git, or pass --diff FILE)")]
    NoGit(std::io::Error),
    /// A git command failed.
    #[error("`git {command}` failed: {stderr}")]
    Git {
        /// The arguments.
        command: String,
        /// What git said.
        stderr: String,
    },
    /// No `--base` and nothing to default to.
    #[error(
        "no --base given, and the branch has no upstream and there is no main or master branch"
    )]
    NoBase,
}

fn git(dir: &Path, args: &[&str]) -> Result<Vec<u8>, LocalError> {
    let output = Command::new("git")
        .arg("-C")
        .arg(dir)
        // A user's pager, colours or external diff driver must not change what we parse.
        .args(["-c", "core.quotePath=true", "-c", "color.ui=false"])
        .args(args)
        .env("GIT_PAGER", "cat")
        .env_remove("GIT_EXTERNAL_DIFF")
        .output()
        .map_err(LocalError::NoGit)?;
    if output.status.success() {
        Ok(output.stdout)
    } else {
        Err(LocalError::Git {
            command: args.join(" "),
            stderr: String::from_utf8_lossy(&output.stderr).trim().to_owned(),
        })
    }
}

fn git_text(dir: &Path, args: &[&str]) -> Result<String, LocalError> {
    Ok(String::from_utf8_lossy(&git(dir, args)?).trim().to_owned())
}

/// The base when none is given: the upstream branch, else `main`, else `master`.
pub fn default_base(dir: &Path) -> Result<String, LocalError> {
    if let Ok(upstream) = git_text(
        dir,
        &[
            "rev-parse",
            "--abbrev-ref",
            "--symbolic-full-name",
            "@{upstream}",
        ],
    ) && !upstream.is_empty()
    {
        return Ok(upstream);
    }
    for candidate in ["main", "master"] {
        if git(
            dir,
            &[
                "rev-parse",
                "--verify",
                "--quiet",
                &format!("refs/heads/{candidate}"),
            ],
        )
        .is_ok()
        {
            return Ok(candidate.to_owned());
        }
    }
    Err(LocalError::NoBase)
}

/// Reads the change from `source`; `dir` is where to run git for a working tree.
pub fn load(source: &ChangeSource, dir: &Path) -> Result<LocalChange, LocalError> {
    match source {
        ChangeSource::DiffFile(path) => Ok(LocalChange {
            diff: std::fs::read(path).map_err(|source| LocalError::Read {
                what: path.display().to_string(),
                source,
            })?,
            description: format!("diff {}", path.display()),
            root: None,
            config_commit: head_commit(dir),
            untracked: vec![],
        }),
        ChangeSource::Stdin => {
            let mut diff = Vec::new();
            std::io::stdin()
                .read_to_end(&mut diff)
                .map_err(|source| LocalError::Read {
                    what: "standard input".into(),
                    source,
                })?;
            Ok(LocalChange {
                diff,
                description: "diff from standard input".into(),
                root: None,
                config_commit: head_commit(dir),
                untracked: vec![],
            })
        }
        ChangeSource::WorkingTree { base } => {
            let root = PathBuf::from(git_text(dir, &["rev-parse", "--show-toplevel"])?);
            let base = match base {
                Some(base) => base.clone(),
                None => default_base(&root)?,
            };
            let merge_base = git_text(&root, &["merge-base", &base, "HEAD"])?;
            // Same flags as GitHub's diffs (renames on), against the working tree.
            let diff = git(
                &root,
                &[
                    "diff",
                    "-M",
                    "--no-ext-diff",
                    "--no-textconv",
                    // A user's diff.noprefix or mnemonicPrefix must not change the paths we parse.
                    "--src-prefix=a/",
                    "--dst-prefix=b/",
                    &merge_base,
                    "--",
                ],
            )?;
            let untracked = git(&root, &["ls-files", "--others", "--exclude-standard", "-z"])?
                .split(|b| *b == 0)
                .filter(|p| !p.is_empty())
                .map(|p| String::from_utf8_lossy(p).into_owned())
                .collect();
            let short: String = merge_base.chars().take(12).collect();
            Ok(LocalChange {
                diff,
                description: format!("working tree against {base} (merge base {short})"),
                root: Some(root),
                config_commit: Some(merge_base),
                untracked,
            })
        }
    }
}

fn head_commit(dir: &Path) -> Option<String> {
    git_text(dir, &["rev-parse", "--verify", "--quiet", "HEAD"])
        .ok()
        .filter(|c| !c.is_empty())
}

/// The text of `path` at `commit`, or `None` when it does not exist there.
pub fn file_at(dir: &Path, commit: &str, path: &str) -> Option<String> {
    git(dir, &["show", &format!("{commit}:{path}")])
        .ok()
        .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
}

/// The files git tracks under `root` (relative paths), for test-layout detection.
pub fn tracked_files(root: &Path) -> Result<Vec<String>, LocalError> {
    Ok(git(root, &["ls-files", "-z"])?
        .split(|b| *b == 0)
        .filter(|p| !p.is_empty())
        .map(|p| String::from_utf8_lossy(p).into_owned())
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(dir: &Path, args: &[&str]) {
        let status = Command::new("git")
            .arg("-C")
            .arg(dir)
            .args([
                "-c",
                "user.name=t",
                "-c",
                "user.email=t@example.com",
                "-c",
                "init.defaultBranch=main",
            ])
            .args(args)
            .output()
            .unwrap();
        assert!(
            status.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&status.stderr)
        );
    }

    fn repo() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        run(dir.path(), &["init", "-q"]);
        std::fs::write(dir.path().join("app.py"), "print('hello')\n").unwrap();
        run(dir.path(), &["add", "."]);
        run(dir.path(), &["commit", "-qm", "first"]);
        dir
    }

    #[test]
    fn working_tree_is_compared_with_the_merge_base_of_main() {
        let dir = repo();
        run(dir.path(), &["checkout", "-qb", "feature"]);
        std::fs::write(dir.path().join("app.py"), "print('hello')\nimport os\n").unwrap();
        run(dir.path(), &["commit", "-qam", "committed change"]);
        std::fs::write(
            dir.path().join("app.py"),
            "print('hello')\nimport os\nos.system(x)\n",
        )
        .unwrap();
        std::fs::write(dir.path().join("new.py"), "x = 1\n").unwrap();
        let change = load(&ChangeSource::WorkingTree { base: None }, dir.path()).unwrap();
        let diff = String::from_utf8(change.diff).unwrap();
        assert!(
            diff.contains("+import os") && diff.contains("+os.system(x)"),
            "{diff}"
        );
        assert!(
            change
                .description
                .starts_with("working tree against main (merge base "),
            "{}",
            change.description
        );
        assert_eq!(change.untracked, vec!["new.py".to_string()]);
        assert_eq!(
            tracked_files(dir.path()).unwrap(),
            vec!["app.py".to_string()]
        );
        assert_eq!(
            change.root.as_deref().map(|p| p.canonicalize().unwrap()),
            Some(dir.path().canonicalize().unwrap())
        );
    }

    #[test]
    fn base_defaults_to_master_and_errors_name_the_problem() {
        let dir = repo();
        run(dir.path(), &["branch", "-m", "main", "master"]);
        assert_eq!(default_base(dir.path()).unwrap(), "master");
        run(dir.path(), &["branch", "-m", "master", "trunk"]);
        assert!(matches!(default_base(dir.path()), Err(LocalError::NoBase)));
        let err = load(
            &ChangeSource::WorkingTree {
                base: Some("no-such-branch".into()),
            },
            dir.path(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("merge-base"), "{err}");
        let not_a_repo = tempfile::tempdir().unwrap();
        let err = load(&ChangeSource::WorkingTree { base: None }, not_a_repo.path()).unwrap_err();
        assert!(err.to_string().contains("rev-parse"), "{err}");
    }

    #[test]
    fn a_missing_diff_file_is_a_clear_error() {
        let err = load(
            &ChangeSource::DiffFile("/no/such.diff".into()),
            Path::new("."),
        )
        .unwrap_err();
        assert!(
            err.to_string().starts_with("cannot read /no/such.diff"),
            "{err}"
        );
    }
}
