//! Noise control: per repository and category (rule, CWE or test kind), the acceptance rate
//! over the last `noise_control.window` verdicts (accepted and modified count as kept;
//! rejected as not; pending and ignored are not verdicts). With a full window:
//!
//! - under `min_acceptance_rate`: the category is **muted**, nothing of it is posted, and the
//!   review's summary says why and how to undo it (`/reviewbot unmute <category>`, after which
//!   only newer verdicts count);
//! - under twice that: **on probation**, only suggestions with confidence ≥
//!   [`PROBATION_CONFIDENCE`] are posted;
//! - otherwise, or with fewer verdicts than the window: open.

use feedback::RejectReason;
use feedback::verdict::{Rejection, Verdict, VerdictState};

use crate::repo_config::NoiseControl;

/// Confidence a suggestion of a category on probation needs to be posted.
pub const PROBATION_CONFIDENCE: f32 = 0.8;

/// What noise control lets through for one category.
#[derive(Debug, Clone, PartialEq)]
pub enum Gate {
    /// Everything over the usual thresholds.
    Open,
    /// Only confident suggestions.
    Probation {
        /// Kept (accepted or modified) in the window.
        kept: usize,
        /// Verdicts in the window.
        of: usize,
    },
    /// Nothing.
    Muted {
        /// Rejected in the window.
        rejected: usize,
        /// Of those, rejected as noisy.
        noisy: usize,
        /// Verdicts in the window.
        of: usize,
    },
}

/// The gate for a category whose recent verdicts (newest first) are `verdicts`.
pub fn gate(verdicts: &[Verdict], config: &NoiseControl) -> Gate {
    let window = config.window as usize;
    let decided: Vec<&VerdictState> = verdicts
        .iter()
        .map(|v| &v.state)
        .filter(|s| {
            matches!(
                s,
                VerdictState::Accepted
                    | VerdictState::Modified { .. }
                    | VerdictState::Rejected { .. }
            )
        })
        .take(window)
        .collect();
    if decided.len() < window {
        return Gate::Open;
    }
    let kept = decided
        .iter()
        .filter(|s| !matches!(s, VerdictState::Rejected { .. }))
        .count();
    let rate = kept as f32 / window as f32;
    if rate < config.min_acceptance_rate {
        let noisy = decided
            .iter()
            .filter(|s| {
                matches!(
                    s,
                    VerdictState::Rejected {
                        reason: Some(Rejection::Reason(RejectReason::Noisy))
                    }
                )
            })
            .count();
        Gate::Muted {
            rejected: window - kept,
            noisy,
            of: window,
        }
    } else if rate < 2.0 * config.min_acceptance_rate {
        Gate::Probation { kept, of: window }
    } else {
        Gate::Open
    }
}

/// How the review's summary explains a gate that held something back.
pub fn explain(category: &str, gate: &Gate, held_back: usize) -> Option<String> {
    let category = category.replace('`', "'");
    match gate {
        Gate::Open => None,
        Gate::Muted {
            rejected,
            noisy,
            of,
        } => Some(format!(
            "muted `{category}` ({held_back} not posted): {rejected} of the last {of} were rejected{}; `/reviewbot unmute {category}` brings it back",
            if *noisy > 0 {
                format!(" ({noisy} as noisy)")
            } else {
                String::new()
            }
        )),
        Gate::Probation { kept, of } if held_back > 0 => Some(format!(
            "`{category}` needs confidence {PROBATION_CONFIDENCE} ({held_back} not posted): only {kept} of the last {of} were kept"
        )),
        Gate::Probation { .. } => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(state: VerdictState) -> Verdict {
        Verdict {
            state,
            triage: None,
            decided_by: None,
            first_verdict_at: None,
            time_to_first_verdict: None,
        }
    }

    fn noisy() -> Verdict {
        v(VerdictState::Rejected {
            reason: Some(Rejection::Reason(RejectReason::Noisy)),
        })
    }

    fn config() -> NoiseControl {
        NoiseControl {
            window: 10,
            min_acceptance_rate: 0.2,
        }
    }

    #[test]
    fn a_category_people_keep_rejecting_is_muted_then_on_probation_then_open() {
        let mut verdicts: Vec<Verdict> = (0..9).map(|_| noisy()).collect();
        verdicts.insert(0, v(VerdictState::Accepted));
        assert_eq!(
            gate(&verdicts, &config()),
            Gate::Muted {
                rejected: 9,
                noisy: 9,
                of: 10
            },
            "1 of 10 kept is under 0.2"
        );
        let line = explain("python.os-system", &gate(&verdicts, &config()), 3).unwrap();
        assert_eq!(
            line,
            "muted `python.os-system` (3 not posted): 9 of the last 10 were rejected (9 as noisy); `/reviewbot unmute python.os-system` brings it back"
        );

        verdicts[1] = v(VerdictState::Modified { human_text: None });
        verdicts[2] = v(VerdictState::Accepted);
        assert_eq!(
            gate(&verdicts, &config()),
            Gate::Probation { kept: 3, of: 10 },
            "3 of 10 is under twice the threshold"
        );
        verdicts[3] = v(VerdictState::Accepted);
        assert_eq!(gate(&verdicts, &config()), Gate::Open);
    }

    #[test]
    fn too_few_verdicts_decide_nothing_and_pending_or_ignored_are_not_verdicts() {
        let mut verdicts: Vec<Verdict> = (0..9).map(|_| noisy()).collect();
        verdicts.extend((0..5).map(|_| v(VerdictState::Ignored)));
        verdicts.extend((0..5).map(|_| v(VerdictState::Pending)));
        assert_eq!(gate(&verdicts, &config()), Gate::Open);
        assert_eq!(explain("x", &Gate::Open, 0), None);
        assert_eq!(explain("x", &Gate::Probation { kept: 3, of: 10 }, 0), None);
    }
}
