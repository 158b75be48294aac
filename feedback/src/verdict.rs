//! The verdict on a suggestion, derived from its feedback events by one rule.
//!
//! [`derive_verdict`] is *the* definition: stats, exports and the check run all call it, so a
//! suggestion's fate reads the same everywhere. It is pure: the events in, the verdict out.
//! The rule, exactly as implemented:
//!
//! 1. **Withdrawals.** A `retract` event withdraws the event whose `github_id` equals the
//!    retract's `note` (a removed 👍 withdraws the 👍), whenever either happened. Withdrawn
//!    events count for nothing below; a retract itself is never withdrawn.
//! 2. **Order.** "Latest" means the greatest `occurred_at`; equal times are broken by the
//!    event id (the order the ledger recorded them).
//! 3. **The developer verdict** comes from the highest-precedence source that has one:
//!    `command` > `reaction` > `adoption` > `thread`.
//!    - Commands (`accept`, `reject`, `modify`): each actor's latest command replaces their
//!      earlier ones, and between actors the latest wins; together, the latest command wins.
//!    - Reactions and adoption (`accept`, `reject`, `modify`): the latest wins.
//!    - Thread: the latest of `resolve` and `unresolve`. `resolve` is a weak accept; a thread
//!      whose latest event is `unresolve` gives no verdict at all.
//!
//!    `accept` is [`VerdictState::Accepted`], `modify` is [`VerdictState::Modified`] with the
//!    human's version, `reject` is [`VerdictState::Rejected`] with its [`RejectReason`]
//!    (`None` when the event has none, e.g. a 👎, or one we do not know).
//! 4. **Triage** (security findings only; on a test suggestion triage events count for
//!    nothing). The latest `triage` event whose `reason` is a [`TriageState`] decides, and it
//!    outranks any developer verdict: `tp` and `wontfix` are [`VerdictState::Accepted`] (a real
//!    finding), `fp` and `used-in-tests` are [`VerdictState::Rejected`] with the state as the
//!    reason. The latest triage being `needs-info` overrides nothing: the developer verdict
//!    stands, and [`Verdict::triage`] shows `needs-info`. The ledger holds only triage by
//!    security reviewers (others are refused before anything is stored), so the role is not
//!    checked again here.
//! 5. **Ignored.** With no verdict from 3 or 4, an `ignore` event (the pull request closed
//!    without one) makes it [`VerdictState::Ignored`]; with nothing at all it is
//!    [`VerdictState::Pending`].
//!
//! Any other event (an action its source does not give, such as a `thread` accept) counts for
//! nothing.
//!
//! Alongside the state: [`Verdict::triage`] is the latest triage state (even
//! `needs-info`); [`Verdict::decided_by`] the source of the event that decided the state;
//! [`Verdict::first_verdict_at`] the earliest remaining `accept`, `reject` or `modify` (from a
//! command, reaction or adoption) or triage other than `needs-info` — not `ignore`, not a
//! thread — and [`Verdict::time_to_first_verdict`] how long after the suggestion was made that
//! was (never negative: a clock skew counts as zero).

use std::collections::HashSet;

use chrono::{DateTime, Utc};

use crate::model::*;

/// What became of a suggestion: the outcome of its verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VerdictState {
    /// No verdict yet.
    Pending,
    /// Kept as suggested (or a real finding, by triage).
    Accepted,
    /// Kept in the human's version.
    Modified {
        /// The human's version (`None` when the event carried none).
        human_text: Option<String>,
    },
    /// Not wanted (or not a real finding, by triage).
    Rejected {
        /// Why, when known.
        reason: Option<Rejection>,
    },
    /// The pull request closed without a verdict.
    Ignored,
}

impl VerdictState {
    /// Every state's [`label`](VerdictState::label), in a fixed order.
    pub const LABELS: [&'static str; 5] =
        ["accepted", "modified", "rejected", "ignored", "pending"];

    /// A short lowercase name: `accepted`, `modified`, `rejected`, `ignored` or `pending`.
    pub fn label(&self) -> &'static str {
        match self {
            VerdictState::Accepted => "accepted",
            VerdictState::Modified { .. } => "modified",
            VerdictState::Rejected { .. } => "rejected",
            VerdictState::Ignored => "ignored",
            VerdictState::Pending => "pending",
        }
    }
}

/// Why a suggestion was rejected: a developer's reason or a security reviewer's triage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rejection {
    /// `/reject <reason>`.
    Reason(RejectReason),
    /// `/triage fp` or `/triage used-in-tests`.
    Triage(TriageState),
}

/// A suggestion's verdict and how it came about (see the [module docs](self) for the rule).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// The outcome.
    pub state: VerdictState,
    /// The latest triage state, even `needs-info` (security findings only).
    pub triage: Option<TriageState>,
    /// The channel of the event that decided the outcome (`None` while pending).
    pub decided_by: Option<FeedbackSource>,
    /// When the first verdict was given.
    pub first_verdict_at: Option<DateTime<Utc>>,
    /// How long after the suggestion was made the first verdict came.
    pub time_to_first_verdict: Option<chrono::Duration>,
}

/// Where an event stands in time: latest is greatest.
fn order(e: &FeedbackEvent) -> (DateTime<Utc>, FeedbackEventId) {
    (e.event.occurred_at, e.id)
}

/// Whether `e` is later than what `held` holds (or `held` holds nothing).
fn is_later(e: &FeedbackEvent, held: Option<&FeedbackEvent>) -> bool {
    held.is_none_or(|held| order(e) > order(held))
}

/// Keeps the later of `slot` and `e`.
fn keep_latest<'a>(slot: &mut Option<&'a FeedbackEvent>, e: &'a FeedbackEvent) {
    if is_later(e, *slot) {
        *slot = Some(e);
    }
}

/// The developer sources, highest precedence first.
const DEVELOPER_SOURCES: [FeedbackSource; 4] = [
    FeedbackSource::Command,
    FeedbackSource::Reaction,
    FeedbackSource::Adoption,
    FeedbackSource::Thread,
];

/// Derives a suggestion's verdict from its feedback events, in any order (see the
/// [module docs](self) for the rule).
pub fn derive_verdict(
    kind: SuggestionKind,
    created_at: DateTime<Utc>,
    events: &[FeedbackEvent],
) -> Verdict {
    let withdrawn: HashSet<&str> = events
        .iter()
        .filter(|e| e.event.action == FeedbackAction::Retract)
        .filter_map(|e| e.event.note.as_deref())
        .collect();
    let live = events.iter().filter(|e| {
        e.event.action != FeedbackAction::Retract && !withdrawn.contains(e.event.github_id.as_str())
    });

    // The latest verdict-bearing event per developer source, in `DEVELOPER_SOURCES` order.
    let mut developer: [Option<&FeedbackEvent>; 4] = [None; 4];
    let mut triage: Option<(&FeedbackEvent, TriageState)> = None;
    let mut ignore: Option<&FeedbackEvent> = None;
    let mut first_verdict_at: Option<DateTime<Utc>> = None;
    let mut first = |at: DateTime<Utc>| {
        if first_verdict_at.is_none_or(|held| at < held) {
            first_verdict_at = Some(at);
        }
    };
    for e in live {
        use FeedbackAction as A;
        use FeedbackSource as S;
        match (e.event.source, e.event.action) {
            (_, A::Triage) => {
                if kind != SuggestionKind::Security {
                    continue;
                }
                let Some(state) = e
                    .event
                    .reason
                    .as_deref()
                    .and_then(|r| TriageState::parse(r).ok())
                else {
                    continue;
                };
                if state != TriageState::NeedsInfo {
                    first(e.event.occurred_at);
                }
                if is_later(e, triage.map(|(held, _)| held)) {
                    triage = Some((e, state));
                }
            }
            (
                source @ (S::Command | S::Reaction | S::Adoption),
                A::Accept | A::Reject | A::Modify,
            ) => {
                first(e.event.occurred_at);
                let slot = DEVELOPER_SOURCES
                    .iter()
                    .position(|s| *s == source)
                    .expect("a developer source");
                keep_latest(&mut developer[slot], e);
            }
            (S::Thread, A::Resolve | A::Unresolve) => keep_latest(&mut developer[3], e),
            (_, A::Ignore) => keep_latest(&mut ignore, e),
            _ => {}
        }
    }

    let developer = developer
        .iter()
        .flatten()
        // An unresolved thread is no verdict (and the thread is the last source anyway).
        .find(|e| e.event.action != FeedbackAction::Unresolve)
        .map(|e| (developer_outcome(e), e.event.source));
    let triaged = triage.and_then(|(e, state)| {
        let outcome = match state {
            TriageState::TruePositive | TriageState::WontFix => VerdictState::Accepted,
            TriageState::FalsePositive | TriageState::UsedInTests => VerdictState::Rejected {
                reason: Some(Rejection::Triage(state)),
            },
            TriageState::NeedsInfo => return None,
        };
        Some((outcome, e.event.source))
    });
    let (outcome, decided_by) = match triaged
        .or(developer)
        .or_else(|| ignore.map(|e| (VerdictState::Ignored, e.event.source)))
    {
        Some((outcome, source)) => (outcome, Some(source)),
        None => (VerdictState::Pending, None),
    };
    Verdict {
        state: outcome,
        triage: triage.map(|(_, state)| state),
        decided_by,
        first_verdict_at,
        time_to_first_verdict: first_verdict_at
            .map(|at| (at - created_at).max(chrono::Duration::zero())),
    }
}

/// The outcome one developer event gives.
fn developer_outcome(e: &FeedbackEvent) -> VerdictState {
    match e.event.action {
        FeedbackAction::Modify => VerdictState::Modified {
            human_text: e.event.human_text.clone(),
        },
        FeedbackAction::Reject => VerdictState::Rejected {
            reason: e
                .event
                .reason
                .as_deref()
                .and_then(|r| RejectReason::parse(r).ok())
                .map(Rejection::Reason),
        },
        // Accept, and a resolved thread (a weak accept).
        _ => VerdictState::Accepted,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    use FeedbackAction as A;
    use FeedbackSource as S;
    use SuggestionKind::{Security, Test};

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 21, 12, 0, 0).unwrap()
    }

    /// An event `at` seconds after `t0`, by `mona`; the id is its position in the list.
    fn ev(
        github_id: &str,
        source: FeedbackSource,
        action: FeedbackAction,
        at: i64,
    ) -> NewFeedbackEvent {
        NewFeedbackEvent {
            suggestion_id: SuggestionId(1),
            github_id: github_id.into(),
            source,
            action,
            actor: "mona".into(),
            role: FeedbackRole::Author,
            reason: None,
            note: None,
            human_text: None,
            occurred_at: t0() + chrono::Duration::seconds(at),
        }
    }

    fn reason(mut e: NewFeedbackEvent, reason: &str) -> NewFeedbackEvent {
        e.reason = Some(reason.into());
        e
    }

    fn by(mut e: NewFeedbackEvent, actor: &str) -> NewFeedbackEvent {
        e.actor = actor.into();
        e
    }

    fn text(mut e: NewFeedbackEvent, human_text: &str) -> NewFeedbackEvent {
        e.human_text = Some(human_text.into());
        e
    }

    /// Withdraws the event with `target` as its GitHub id.
    fn retract(github_id: &str, target: &str, at: i64) -> NewFeedbackEvent {
        let mut e = ev(github_id, S::Reaction, A::Retract, at);
        e.note = Some(target.into());
        e
    }

    fn triage(github_id: &str, state: &str, at: i64) -> NewFeedbackEvent {
        let e = ev(github_id, S::Command, A::Triage, at);
        NewFeedbackEvent {
            role: FeedbackRole::SecurityReviewer,
            ..by(reason(e, state), "sec")
        }
    }

    fn events(list: Vec<NewFeedbackEvent>) -> Vec<FeedbackEvent> {
        list.into_iter()
            .enumerate()
            .map(|(n, event)| FeedbackEvent {
                id: FeedbackEventId(n as i64 + 1),
                recorded_at: event.occurred_at,
                event,
            })
            .collect()
    }

    fn verdict(kind: SuggestionKind, list: Vec<NewFeedbackEvent>) -> Verdict {
        derive_verdict(kind, t0(), &events(list))
    }

    fn rejected(reason: RejectReason) -> VerdictState {
        VerdictState::Rejected {
            reason: Some(Rejection::Reason(reason)),
        }
    }

    fn triaged_out(state: TriageState) -> VerdictState {
        VerdictState::Rejected {
            reason: Some(Rejection::Triage(state)),
        }
    }

    /// Each case: a name, the kind, the events, the expected outcome and deciding source.
    #[test]
    fn outcome_and_deciding_source_follow_the_documented_rule() {
        use VerdictState::{Accepted, Ignored, Pending};
        #[allow(clippy::type_complexity)]
        let cases: Vec<(
            &str,
            SuggestionKind,
            Vec<NewFeedbackEvent>,
            VerdictState,
            Option<FeedbackSource>,
        )> = vec![
            ("nothing at all", Test, vec![], Pending, None),
            (
                "an accept command",
                Test,
                vec![ev("c1", S::Command, A::Accept, 10)],
                Accepted,
                Some(S::Command),
            ),
            (
                "a reject command keeps its reason",
                Test,
                vec![reason(ev("c1", S::Command, A::Reject, 10), "noisy")],
                rejected(RejectReason::Noisy),
                Some(S::Command),
            ),
            (
                "an unknown reject reason is no reason",
                Test,
                vec![reason(ev("c1", S::Command, A::Reject, 10), "meh")],
                VerdictState::Rejected { reason: None },
                Some(S::Command),
            ),
            (
                "a modify keeps the human's version",
                Test,
                vec![text(ev("c1", S::Command, A::Modify, 10), "assert!(x);")],
                VerdictState::Modified {
                    human_text: Some("assert!(x);".into()),
                },
                Some(S::Command),
            ),
            (
                "the same actor's later command replaces the earlier one",
                Test,
                vec![
                    ev("c1", S::Command, A::Accept, 10),
                    reason(ev("c2", S::Command, A::Reject, 20), "incorrect"),
                ],
                rejected(RejectReason::Incorrect),
                Some(S::Command),
            ),
            (
                "between actors the latest command wins",
                Test,
                vec![
                    by(ev("c1", S::Command, A::Accept, 10), "alice"),
                    by(
                        reason(ev("c2", S::Command, A::Reject, 20), "duplicate"),
                        "bob",
                    ),
                ],
                rejected(RejectReason::Duplicate),
                Some(S::Command),
            ),
            (
                "an actor's new command is again the latest",
                Test,
                vec![
                    by(ev("c1", S::Command, A::Accept, 10), "alice"),
                    by(
                        reason(ev("c2", S::Command, A::Reject, 20), "duplicate"),
                        "bob",
                    ),
                    by(ev("c3", S::Command, A::Accept, 30), "alice"),
                ],
                Accepted,
                Some(S::Command),
            ),
            (
                "events in any order: the latest by time wins",
                Test,
                vec![
                    ev("c2", S::Command, A::Accept, 30),
                    reason(ev("c1", S::Command, A::Reject, 10), "noisy"),
                ],
                Accepted,
                Some(S::Command),
            ),
            (
                "equal times: the later recorded wins",
                Test,
                vec![
                    ev("c1", S::Command, A::Accept, 10),
                    reason(ev("c2", S::Command, A::Reject, 10), "noisy"),
                ],
                rejected(RejectReason::Noisy),
                Some(S::Command),
            ),
            (
                "a command outranks a later reaction",
                Test,
                vec![
                    reason(ev("c1", S::Command, A::Reject, 10), "other"),
                    ev("r1", S::Reaction, A::Accept, 20),
                ],
                rejected(RejectReason::Other),
                Some(S::Command),
            ),
            (
                "reactions: the latest wins",
                Test,
                vec![
                    by(ev("r1", S::Reaction, A::Accept, 10), "a"),
                    by(ev("r2", S::Reaction, A::Reject, 20), "b"),
                ],
                VerdictState::Rejected { reason: None },
                Some(S::Reaction),
            ),
            (
                "a reaction outranks a later adoption",
                Test,
                vec![
                    ev("r1", S::Reaction, A::Reject, 10),
                    ev("a1", S::Adoption, A::Accept, 20),
                ],
                VerdictState::Rejected { reason: None },
                Some(S::Reaction),
            ),
            (
                "adoption: the latest wins",
                Test,
                vec![
                    ev("a1", S::Adoption, A::Accept, 10),
                    text(ev("a2", S::Adoption, A::Modify, 20), "landed"),
                ],
                VerdictState::Modified {
                    human_text: Some("landed".into()),
                },
                Some(S::Adoption),
            ),
            (
                "adoption outranks a resolved thread",
                Test,
                vec![
                    ev("t1", S::Thread, A::Resolve, 30),
                    text(ev("a1", S::Adoption, A::Modify, 10), "landed"),
                ],
                VerdictState::Modified {
                    human_text: Some("landed".into()),
                },
                Some(S::Adoption),
            ),
            (
                "a resolved thread is a weak accept",
                Test,
                vec![ev("t1", S::Thread, A::Resolve, 10)],
                Accepted,
                Some(S::Thread),
            ),
            (
                "resolved then unresolved is nothing",
                Test,
                vec![
                    ev("t1", S::Thread, A::Resolve, 10),
                    ev("t2", S::Thread, A::Unresolve, 20),
                ],
                Pending,
                None,
            ),
            (
                "unresolved then resolved again is a weak accept",
                Test,
                vec![
                    ev("t1", S::Thread, A::Unresolve, 10),
                    ev("t2", S::Thread, A::Resolve, 20),
                ],
                Accepted,
                Some(S::Thread),
            ),
            (
                "a removed 👍 counts for nothing",
                Test,
                vec![
                    ev("reaction:1", S::Reaction, A::Accept, 10),
                    retract("reaction:1:removed", "reaction:1", 20),
                ],
                Pending,
                None,
            ),
            (
                "a removed 👍 leaves the earlier 👎 standing",
                Test,
                vec![
                    ev("reaction:1", S::Reaction, A::Reject, 10),
                    ev("reaction:2", S::Reaction, A::Accept, 20),
                    retract("reaction:2:removed", "reaction:2", 30),
                ],
                VerdictState::Rejected { reason: None },
                Some(S::Reaction),
            ),
            (
                "a withdrawal counts whenever it happened",
                Test,
                vec![
                    retract("x", "reaction:1", 5),
                    ev("reaction:1", S::Reaction, A::Accept, 10),
                ],
                Pending,
                None,
            ),
            (
                "a withdrawn command lets the next source decide",
                Test,
                vec![
                    ev("c1", S::Command, A::Accept, 10),
                    ev("r1", S::Reaction, A::Reject, 20),
                    retract("c1:deleted", "c1", 30),
                ],
                VerdictState::Rejected { reason: None },
                Some(S::Reaction),
            ),
            (
                "a retract is never withdrawn itself",
                Test,
                vec![
                    ev("r1", S::Reaction, A::Accept, 10),
                    retract("r1:removed", "r1", 20),
                    retract("r1:removed:removed", "r1:removed", 30),
                ],
                Pending,
                None,
            ),
            (
                "ignored when closed with nothing else",
                Test,
                vec![ev("close:1", S::Close, A::Ignore, 10)],
                Ignored,
                Some(S::Close),
            ),
            (
                "any verdict beats ignored",
                Test,
                vec![
                    ev("close:1", S::Close, A::Ignore, 20),
                    ev("r1", S::Reaction, A::Accept, 10),
                ],
                Accepted,
                Some(S::Reaction),
            ),
            (
                "even a resolved thread beats ignored",
                Test,
                vec![
                    ev("t1", S::Thread, A::Resolve, 10),
                    ev("close:1", S::Close, A::Ignore, 20),
                ],
                Accepted,
                Some(S::Thread),
            ),
            (
                "an unresolved thread is no verdict: ignored",
                Test,
                vec![
                    ev("t1", S::Thread, A::Unresolve, 10),
                    ev("close:1", S::Close, A::Ignore, 20),
                ],
                Ignored,
                Some(S::Close),
            ),
            (
                "actions a source does not give count for nothing",
                Test,
                vec![
                    ev("t1", S::Thread, A::Accept, 10),
                    ev("x1", S::Close, A::Reject, 10),
                ],
                Pending,
                None,
            ),
            (
                "triage tp outranks a developer's reject",
                Security,
                vec![
                    triage("c2", "tp", 10),
                    reason(ev("c1", S::Command, A::Reject, 20), "incorrect"),
                ],
                Accepted,
                Some(S::Command),
            ),
            (
                "triage fp outranks a developer's accept",
                Security,
                vec![ev("c1", S::Command, A::Accept, 10), triage("c2", "fp", 20)],
                triaged_out(TriageState::FalsePositive),
                Some(S::Command),
            ),
            (
                "triage fp outranks a 👍",
                Security,
                vec![ev("r1", S::Reaction, A::Accept, 30), triage("c2", "fp", 20)],
                triaged_out(TriageState::FalsePositive),
                Some(S::Command),
            ),
            (
                "wontfix is a real finding",
                Security,
                vec![triage("c1", "wontfix", 10)],
                Accepted,
                Some(S::Command),
            ),
            (
                "used-in-tests is rejected with the state",
                Security,
                vec![
                    ev("r1", S::Reaction, A::Accept, 5),
                    triage("c1", "used-in-tests", 10),
                ],
                triaged_out(TriageState::UsedInTests),
                Some(S::Command),
            ),
            (
                "the latest triage decides",
                Security,
                vec![triage("c1", "tp", 10), triage("c2", "fp", 20)],
                triaged_out(TriageState::FalsePositive),
                Some(S::Command),
            ),
            (
                "needs-info last: the developer verdict stands",
                Security,
                vec![
                    triage("c1", "tp", 10),
                    reason(ev("c2", S::Command, A::Reject, 15), "noisy"),
                    triage("c3", "needs-info", 20),
                ],
                rejected(RejectReason::Noisy),
                Some(S::Command),
            ),
            (
                "needs-info alone is pending",
                Security,
                vec![triage("c1", "needs-info", 10)],
                Pending,
                None,
            ),
            (
                "needs-info does not stop ignored",
                Security,
                vec![
                    triage("c1", "needs-info", 10),
                    ev("close:1", S::Close, A::Ignore, 20),
                ],
                Ignored,
                Some(S::Close),
            ),
            (
                "a withdrawn triage overrides nothing",
                Security,
                vec![
                    ev("r1", S::Reaction, A::Accept, 10),
                    triage("c1", "fp", 20),
                    retract("c1:deleted", "c1", 30),
                ],
                Accepted,
                Some(S::Reaction),
            ),
            (
                "a triage without a known state counts for nothing",
                Security,
                vec![
                    ev("r1", S::Reaction, A::Accept, 10),
                    triage("c1", "maybe", 20),
                ],
                Accepted,
                Some(S::Reaction),
            ),
            (
                "triage on a test suggestion counts for nothing",
                Test,
                vec![ev("r1", S::Reaction, A::Accept, 10), triage("c1", "fp", 20)],
                Accepted,
                Some(S::Reaction),
            ),
        ];
        for (name, kind, list, outcome, decided_by) in cases {
            let got = verdict(kind, list);
            assert_eq!((got.state, got.decided_by), (outcome, decided_by), "{name}");
        }
    }

    #[test]
    fn triage_reports_the_latest_state_even_needs_info_and_only_on_findings() {
        let cases = [
            (Security, vec![], None),
            (
                Security,
                vec![triage("c1", "fp", 10)],
                Some(TriageState::FalsePositive),
            ),
            (
                Security,
                vec![triage("c1", "tp", 10), triage("c2", "needs-info", 20)],
                Some(TriageState::NeedsInfo),
            ),
            (
                Security,
                vec![triage("c2", "needs-info", 20), triage("c1", "tp", 30)],
                Some(TriageState::TruePositive),
            ),
            (
                Security,
                vec![triage("c1", "tp", 10), retract("c1:deleted", "c1", 20)],
                None,
            ),
            (Test, vec![triage("c1", "tp", 10)], None),
        ];
        for (kind, list, expected) in cases {
            let shown = format!("{list:?}");
            assert_eq!(verdict(kind, list).triage, expected, "{shown}");
        }
    }

    #[test]
    fn first_verdict_is_the_earliest_remaining_explicit_verdict() {
        let at = |s: i64| Some(t0() + chrono::Duration::seconds(s));
        let cases = [
            ("nothing", Security, vec![], None),
            (
                "ignore and thread are not verdicts",
                Test,
                vec![
                    ev("t1", S::Thread, A::Resolve, 10),
                    ev("close:1", S::Close, A::Ignore, 20),
                ],
                None,
            ),
            (
                "the earliest, even from a lower source",
                Test,
                vec![
                    ev("c1", S::Command, A::Accept, 50),
                    ev("r1", S::Reaction, A::Reject, 20),
                ],
                at(20),
            ),
            (
                "a superseded verdict still came first",
                Test,
                vec![
                    ev("c1", S::Command, A::Accept, 10),
                    ev("c2", S::Command, A::Reject, 40),
                ],
                at(10),
            ),
            (
                "a withdrawn one did not",
                Test,
                vec![
                    ev("reaction:1", S::Reaction, A::Accept, 10),
                    retract("reaction:1:removed", "reaction:1", 15),
                    ev("a1", S::Adoption, A::Accept, 90),
                ],
                at(90),
            ),
            (
                "triage counts, needs-info does not",
                Security,
                vec![
                    triage("c1", "needs-info", 5),
                    triage("c2", "wontfix", 60),
                    ev("c3", S::Command, A::Accept, 70),
                ],
                at(60),
            ),
            (
                "triage on a test suggestion does not",
                Test,
                vec![triage("c1", "tp", 5), ev("c3", S::Command, A::Accept, 70)],
                at(70),
            ),
        ];
        for (name, kind, list, expected) in cases {
            let got = verdict(kind, list);
            assert_eq!(got.first_verdict_at, expected, "{name}");
            assert_eq!(
                got.time_to_first_verdict,
                expected.map(|at| at - t0()),
                "{name}"
            );
        }
    }

    #[test]
    fn time_to_first_verdict_is_never_negative() {
        let early = ev("c1", S::Command, A::Accept, -30);
        let got = verdict(Test, vec![early]);
        assert_eq!(
            got.first_verdict_at,
            Some(t0() - chrono::Duration::seconds(30))
        );
        assert_eq!(got.time_to_first_verdict, Some(chrono::Duration::zero()));
    }

    #[test]
    fn labels_cover_every_outcome_in_order() {
        let outcomes = [
            VerdictState::Accepted,
            VerdictState::Modified { human_text: None },
            VerdictState::Rejected { reason: None },
            VerdictState::Ignored,
            VerdictState::Pending,
        ];
        let labels: Vec<_> = outcomes.iter().map(VerdictState::label).collect();
        assert_eq!(labels, VerdictState::LABELS);
    }
}
