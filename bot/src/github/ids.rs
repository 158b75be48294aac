//! Small typed identifiers for GitHub objects, so ids of different kinds cannot be mixed up.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Declares a transparent newtype over a GitHub id with `Display` showing the inner value.
macro_rules! id_newtype {
    ($(#[$meta:meta])* $name:ident($inner:ty)) => {
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub $inner);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

id_newtype!(
    /// A GitHub App installation id.
    InstallationId(i64)
);
id_newtype!(
    /// A repository's numeric id (stable across renames and transfers).
    RepoId(i64)
);
id_newtype!(
    /// A pull request (or issue) number within its repository.
    PrNumber(u64)
);
id_newtype!(
    /// A comment id (review comments and issue comments have separate id spaces).
    CommentId(i64)
);
id_newtype!(
    /// A user's numeric id (stable across login renames).
    UserId(i64)
);
id_newtype!(
    /// A git commit SHA, hex as GitHub sends it.
    CommitSha(String)
);
id_newtype!(
    /// A webhook delivery id, from the `X-GitHub-Delivery` header.
    DeliveryId(String)
);

impl CommitSha {
    /// The SHA as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl DeliveryId {
    /// The delivery id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A repository's `owner/name`, lowercased because GitHub treats names case-insensitively.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RepoName {
    owner: String,
    name: String,
}

/// Why a string is not a valid `owner/name`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid repository name {0:?}: expected `owner/name`")]
pub struct RepoNameError(String);

impl RepoName {
    /// Builds a name from its two parts, lowercasing them; both must be non-empty and free of `/`.
    pub fn new(owner: &str, name: &str) -> Result<Self, RepoNameError> {
        if owner.is_empty() || name.is_empty() || owner.contains('/') || name.contains('/') {
            return Err(RepoNameError(format!("{owner}/{name}")));
        }
        Ok(Self {
            owner: owner.to_lowercase(),
            name: name.to_lowercase(),
        })
    }

    /// The owning user or organisation, lowercased.
    pub fn owner(&self) -> &str {
        &self.owner
    }

    /// The repository name without its owner, lowercased.
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl FromStr for RepoName {
    type Err = RepoNameError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.split_once('/') {
            Some((owner, name)) => Self::new(owner, name).map_err(|_| RepoNameError(s.to_owned())),
            None => Err(RepoNameError(s.to_owned())),
        }
    }
}

impl fmt::Display for RepoName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.owner, self.name)
    }
}

impl Serialize for RepoName {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for RepoName {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // An owned String, because escaped JSON strings cannot be borrowed.
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// A GitHub account as we need it: who wrote something, and whether it was an App.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct User {
    /// The login at the time of the event (logins can be renamed; `id` cannot).
    pub login: String,
    /// The stable numeric id.
    pub id: UserId,
    /// True when GitHub reports the account's `type` as `Bot` (Apps and their bot users).
    pub is_bot: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repo_name_parses_owner_and_name_lowercased() {
        let repo: RepoName = "Codertocat/Hello-World".parse().unwrap();
        assert_eq!(repo.owner(), "codertocat");
        assert_eq!(repo.name(), "hello-world");
        assert_eq!(repo.to_string(), "codertocat/hello-world");
    }

    #[test]
    fn repo_name_differing_only_in_case_are_equal() {
        let a: RepoName = "Rust-Lang/Rust".parse().unwrap();
        let b: RepoName = "rust-lang/rust".parse().unwrap();
        assert_eq!(a, b);
    }

    #[test]
    fn repo_name_rejects_missing_extra_or_empty_parts() {
        for bad in ["", "/", "owner", "owner/", "/name", "a/b/c", "owner//name"] {
            let err = bad.parse::<RepoName>().unwrap_err();
            assert_eq!(err, RepoNameError(bad.to_owned()), "{bad:?}");
        }
    }

    #[test]
    fn repo_name_new_rejects_slash_in_a_part() {
        assert!(RepoName::new("a/b", "c").is_err());
        assert!(RepoName::new("a", "").is_err());
        assert_eq!(RepoName::new("A", "B").unwrap().to_string(), "a/b");
    }

    #[test]
    fn repo_name_serializes_as_lowercase_string() {
        let repo: RepoName = "Octo/Cat".parse().unwrap();
        assert_eq!(serde_json::to_string(&repo).unwrap(), r#""octo/cat""#);
    }

    #[test]
    fn repo_name_deserializes_from_string_and_validates() {
        let repo: RepoName = serde_json::from_str(r#""Octo/Cat""#).unwrap();
        assert_eq!(repo, RepoName::new("octo", "cat").unwrap());

        let err = serde_json::from_str::<RepoName>(r#""no-slash""#).unwrap_err();
        assert!(err.to_string().contains("no-slash"), "{err}");
        assert!(serde_json::from_str::<RepoName>("42").is_err());
    }

    #[test]
    fn repo_name_error_message_names_the_input() {
        let err = "nope".parse::<RepoName>().unwrap_err();
        assert_eq!(
            err.to_string(),
            r#"invalid repository name "nope": expected `owner/name`"#
        );
    }

    #[test]
    fn ids_serialize_transparently_and_display_inner_value() {
        assert_eq!(serde_json::to_string(&InstallationId(7)).unwrap(), "7");
        assert_eq!(
            serde_json::to_string(&CommitSha("abc".into())).unwrap(),
            r#""abc""#
        );
        assert_eq!(PrNumber(12).to_string(), "12");
        assert_eq!(DeliveryId("d-1".into()).as_str(), "d-1");
        let id: CommentId = serde_json::from_str("284312630").unwrap();
        assert_eq!(id, CommentId(284312630));
    }
}
