//! The review pipeline's understanding of a change: diff, line anchoring, code context and
//! built-in analyzers. GitHub-free: `reviewbot review` runs it on a local diff.

pub mod analyzers;
pub mod anchor;
pub mod budget;
pub mod context;
pub mod diff;
pub mod finding;
pub mod languages;
pub mod learnings;
pub mod local;
pub mod model_output;
pub mod model_review;
pub mod pipeline;
pub mod prompt;
pub mod publish;
pub mod render;
pub mod report;
pub mod sanitize;
pub mod test_layout;
