//! The Year of Care cycle for one person in one year, as a state machine:
//! due → invited → information gathering booked → tests done → results reviewed → preparation
//! sent → conversation booked → plan agreed → review due; with the ways out (declined, did not
//! attend, personalised care adjustment, moved away, died).
//!
//! Invariants: a stage changes only through [`CycleState::apply`], which refuses any event the
//! current stage does not allow and names both; at most [`MAX_INVITATIONS`] invitations, at least
//! [`MIN_DAYS_BETWEEN_INVITATIONS`] days apart; died is final.

use time::Date;

/// Invitations per cycle (issue 3: up to three, at least two weeks apart).
pub const MAX_INVITATIONS: u32 = 3;
pub const MIN_DAYS_BETWEEN_INVITATIONS: i64 = 14;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Stage {
    Due,
    Invited,
    InformationGatheringBooked,
    TestsDone,
    ResultsReviewed,
    PreparationSent,
    ConversationBooked,
    PlanAgreed,
    ReviewDue,
    Declined,
    DidNotAttend,
    PersonalisedCareAdjustment,
    MovedAway,
    Died,
}

impl Stage {
    pub const ALL: [Stage; 14] = [
        Stage::Due,
        Stage::Invited,
        Stage::InformationGatheringBooked,
        Stage::TestsDone,
        Stage::ResultsReviewed,
        Stage::PreparationSent,
        Stage::ConversationBooked,
        Stage::PlanAgreed,
        Stage::ReviewDue,
        Stage::Declined,
        Stage::DidNotAttend,
        Stage::PersonalisedCareAdjustment,
        Stage::MovedAway,
        Stage::Died,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Due => "due",
            Stage::Invited => "invited",
            Stage::InformationGatheringBooked => "information_gathering_booked",
            Stage::TestsDone => "tests_done",
            Stage::ResultsReviewed => "results_reviewed",
            Stage::PreparationSent => "preparation_sent",
            Stage::ConversationBooked => "conversation_booked",
            Stage::PlanAgreed => "plan_agreed",
            Stage::ReviewDue => "review_due",
            Stage::Declined => "declined",
            Stage::DidNotAttend => "did_not_attend",
            Stage::PersonalisedCareAdjustment => "personalised_care_adjustment",
            Stage::MovedAway => "moved_away",
            Stage::Died => "died",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|stage| stage.as_str() == text)
    }

    pub fn label(self) -> &'static str {
        match self {
            Stage::Due => "Due",
            Stage::Invited => "Invited",
            Stage::InformationGatheringBooked => "Information gathering booked",
            Stage::TestsDone => "Tests done",
            Stage::ResultsReviewed => "Results reviewed",
            Stage::PreparationSent => "Preparation sent",
            Stage::ConversationBooked => "Conversation booked",
            Stage::PlanAgreed => "Plan agreed",
            Stage::ReviewDue => "Review due",
            Stage::Declined => "Declined",
            Stage::DidNotAttend => "Did not attend",
            Stage::PersonalisedCareAdjustment => "Personalised care adjustment",
            Stage::MovedAway => "Moved away",
            Stage::Died => "Died",
        }
    }

    /// Stages in which nothing may be sent to the person.
    pub fn stops_messages(self) -> bool {
        matches!(self, Stage::Declined | Stage::MovedAway | Stage::Died | Stage::PersonalisedCareAdjustment)
    }

    /// Stages that end the cycle for this year.
    pub fn is_closed(self) -> bool {
        matches!(
            self,
            Stage::PlanAgreed
                | Stage::ReviewDue
                | Stage::Declined
                | Stage::PersonalisedCareAdjustment
                | Stage::MovedAway
                | Stage::Died
        )
    }
}

/// Personalised care adjustment reasons (QOF's exception categories the cycle needs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AdjustmentReason {
    Unsuitable,
    InformedDissent,
    NewlyDiagnosed,
    NewlyRegistered,
}

impl AdjustmentReason {
    pub fn as_str(self) -> &'static str {
        match self {
            AdjustmentReason::Unsuitable => "unsuitable",
            AdjustmentReason::InformedDissent => "informed_dissent",
            AdjustmentReason::NewlyDiagnosed => "newly_diagnosed",
            AdjustmentReason::NewlyRegistered => "newly_registered",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "unsuitable" => AdjustmentReason::Unsuitable,
            "informed_dissent" => AdjustmentReason::InformedDissent,
            "newly_diagnosed" => AdjustmentReason::NewlyDiagnosed,
            "newly_registered" => AdjustmentReason::NewlyRegistered,
            _ => return None,
        })
    }
}

/// What happened, as staff or the system record it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CycleEvent {
    Invite,
    BookInformationGathering,
    RecordTestsDone,
    ReviewResults,
    SendPreparation,
    BookConversation,
    AgreePlan,
    /// The agreed review date has come: the next cycle starts.
    ReviewFallsDue,
    Decline,
    DidNotAttend,
    Adjust(AdjustmentReason),
    MoveAway,
    Die,
    /// Back into the cycle after a decline, adjustment or missed appointment.
    Reinstate,
}

impl CycleEvent {
    pub fn as_str(self) -> &'static str {
        match self {
            CycleEvent::Invite => "invite",
            CycleEvent::BookInformationGathering => "book_information_gathering",
            CycleEvent::RecordTestsDone => "record_tests_done",
            CycleEvent::ReviewResults => "review_results",
            CycleEvent::SendPreparation => "send_preparation",
            CycleEvent::BookConversation => "book_conversation",
            CycleEvent::AgreePlan => "agree_plan",
            CycleEvent::ReviewFallsDue => "review_falls_due",
            CycleEvent::Decline => "decline",
            CycleEvent::DidNotAttend => "did_not_attend",
            CycleEvent::Adjust(_) => "personalised_care_adjustment",
            CycleEvent::MoveAway => "move_away",
            CycleEvent::Die => "die",
            CycleEvent::Reinstate => "reinstate",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CycleError {
    #[error("cannot {event} when the cycle is at '{stage}'")]
    NotAllowed { stage: &'static str, event: &'static str },
    #[error("already invited {MAX_INVITATIONS} times this cycle")]
    InvitationsExhausted,
    #[error("the last invitation was on {last}; the next may go from {earliest}")]
    InvitationTooSoon { last: Date, earliest: Date },
    #[error("the event is dated {on}, before the cycle's last change on {since}")]
    OutOfOrder { on: Date, since: Date },
}

/// A person's cycle for one year.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CycleState {
    pub stage: Stage,
    pub since: Date,
    pub invitations: u32,
    pub last_invited: Option<Date>,
    pub adjustment: Option<AdjustmentReason>,
    /// The stage before a did-not-attend, to return to on rebooking.
    pub before_did_not_attend: Option<Stage>,
}

impl CycleState {
    pub fn new(since: Date) -> Self {
        Self {
            stage: Stage::Due,
            since,
            invitations: 0,
            last_invited: None,
            adjustment: None,
            before_did_not_attend: None,
        }
    }

    /// The earliest date the next invitation may go, or `None` when no more may go.
    pub fn next_invitation_from(&self) -> Option<Date> {
        if self.invitations >= MAX_INVITATIONS {
            return None;
        }
        Some(match self.last_invited {
            Some(last) => last.saturating_add(time::Duration::days(MIN_DAYS_BETWEEN_INVITATIONS)),
            None => self.since,
        })
    }

    /// Applies an event on a date, returning the new state, or why it is refused.
    pub fn apply(&self, event: CycleEvent, on: Date) -> Result<CycleState, CycleError> {
        use Stage::*;
        if on < self.since {
            return Err(CycleError::OutOfOrder { on, since: self.since });
        }
        let refuse = || CycleError::NotAllowed { stage: self.stage.as_str(), event: event.as_str() };
        if self.stage == Died {
            return Err(refuse());
        }
        let mut next = CycleState { since: on, ..self.clone() };
        next.stage = match (self.stage, event) {
            (_, CycleEvent::Die) => Died,
            (_, CycleEvent::MoveAway) => MovedAway,
            (MovedAway, _) => return Err(refuse()),
            (Due | Invited, CycleEvent::Invite) => {
                if self.invitations >= MAX_INVITATIONS {
                    return Err(CycleError::InvitationsExhausted);
                }
                if let Some(last) = self.last_invited {
                    let earliest = last.saturating_add(time::Duration::days(MIN_DAYS_BETWEEN_INVITATIONS));
                    if on < earliest {
                        return Err(CycleError::InvitationTooSoon { last, earliest });
                    }
                }
                next.invitations += 1;
                next.last_invited = Some(on);
                Invited
            }
            (Due | Invited, CycleEvent::BookInformationGathering) => InformationGatheringBooked,
            (InformationGatheringBooked, CycleEvent::RecordTestsDone) => TestsDone,
            // A healthcare assistant may record the visit of someone who walked in unbooked.
            (Due | Invited, CycleEvent::RecordTestsDone) => TestsDone,
            (TestsDone, CycleEvent::ReviewResults) => ResultsReviewed,
            (ResultsReviewed, CycleEvent::SendPreparation) => PreparationSent,
            // A preparation sent after the conversation is booked, or sent again (a new letter
            // after a change), is recorded in the history without moving the stage.
            (ConversationBooked | PreparationSent, CycleEvent::SendPreparation) => {
                next.since = self.since;
                self.stage
            }
            (ResultsReviewed | PreparationSent, CycleEvent::BookConversation) => ConversationBooked,
            (ConversationBooked, CycleEvent::AgreePlan) => PlanAgreed,
            (PlanAgreed, CycleEvent::ReviewFallsDue) => ReviewDue,
            (InformationGatheringBooked | ConversationBooked, CycleEvent::DidNotAttend) => {
                next.before_did_not_attend = Some(match self.stage {
                    InformationGatheringBooked => Invited,
                    _ => ResultsReviewed,
                });
                DidNotAttend
            }
            (DidNotAttend, CycleEvent::BookInformationGathering) if self.before_did_not_attend == Some(Invited) => {
                next.before_did_not_attend = None;
                InformationGatheringBooked
            }
            (DidNotAttend, CycleEvent::BookConversation) if self.before_did_not_attend == Some(ResultsReviewed) => {
                next.before_did_not_attend = None;
                ConversationBooked
            }
            (DidNotAttend, CycleEvent::Invite) if self.before_did_not_attend == Some(Invited) => {
                if self.invitations >= MAX_INVITATIONS {
                    return Err(CycleError::InvitationsExhausted);
                }
                next.invitations += 1;
                next.last_invited = Some(on);
                next.before_did_not_attend = None;
                Invited
            }
            (stage, CycleEvent::Decline) if !stage.is_closed() => Declined,
            (stage, CycleEvent::Adjust(reason)) if !matches!(stage, PlanAgreed | ReviewDue) => {
                next.adjustment = Some(reason);
                PersonalisedCareAdjustment
            }
            (Declined | PersonalisedCareAdjustment | DidNotAttend, CycleEvent::Reinstate) => {
                next.adjustment = None;
                next.before_did_not_attend = None;
                Due
            }
            _ => return Err(refuse()),
        };
        Ok(next)
    }
}

#[cfg(test)]
mod tests {
    use time::macros::date;

    use super::*;

    fn run(events: &[(CycleEvent, Date)]) -> Result<CycleState, CycleError> {
        events.iter().try_fold(CycleState::new(date!(2026 - 01 - 01)), |state, (event, on)| state.apply(*event, *on))
    }

    #[test]
    fn the_whole_cycle_in_order() {
        let state = run(&[
            (CycleEvent::Invite, date!(2026 - 01 - 02)),
            (CycleEvent::BookInformationGathering, date!(2026 - 01 - 05)),
            (CycleEvent::RecordTestsDone, date!(2026 - 01 - 20)),
            (CycleEvent::ReviewResults, date!(2026 - 01 - 23)),
            (CycleEvent::SendPreparation, date!(2026 - 01 - 23)),
            (CycleEvent::BookConversation, date!(2026 - 01 - 24)),
            (CycleEvent::AgreePlan, date!(2026 - 02 - 06)),
            (CycleEvent::ReviewFallsDue, date!(2027 - 01 - 06)),
        ])
        .unwrap();
        assert_eq!((state.stage, state.invitations), (Stage::ReviewDue, 1));
    }

    #[test]
    fn steps_cannot_be_skipped() {
        let error = run(&[(CycleEvent::AgreePlan, date!(2026 - 01 - 02))]).unwrap_err();
        assert_eq!(error.to_string(), "cannot agree_plan when the cycle is at 'due'");
        assert!(run(&[(CycleEvent::SendPreparation, date!(2026 - 01 - 02))]).is_err());
        assert!(
            run(&[
                (CycleEvent::RecordTestsDone, date!(2026 - 01 - 02)),
                (CycleEvent::SendPreparation, date!(2026 - 01 - 03))
            ])
            .is_err(),
            "preparation never goes before results are reviewed"
        );
    }

    #[test]
    fn a_preparation_sent_after_booking_or_again_keeps_the_stage() {
        let booked = run(&[
            (CycleEvent::RecordTestsDone, date!(2026 - 01 - 02)),
            (CycleEvent::ReviewResults, date!(2026 - 01 - 05)),
            (CycleEvent::BookConversation, date!(2026 - 01 - 06)),
        ])
        .unwrap();
        let sent = booked.apply(CycleEvent::SendPreparation, date!(2026 - 01 - 08)).unwrap();
        assert_eq!((sent.stage, sent.since), (Stage::ConversationBooked, date!(2026 - 01 - 06)));
        let first = run(&[
            (CycleEvent::RecordTestsDone, date!(2026 - 01 - 02)),
            (CycleEvent::ReviewResults, date!(2026 - 01 - 05)),
            (CycleEvent::SendPreparation, date!(2026 - 01 - 06)),
        ])
        .unwrap();
        let again = first.apply(CycleEvent::SendPreparation, date!(2026 - 01 - 09)).unwrap();
        assert_eq!((again.stage, again.since), (Stage::PreparationSent, date!(2026 - 01 - 06)));
    }

    #[test]
    fn three_invitations_two_weeks_apart() {
        let error = run(&[(CycleEvent::Invite, date!(2026 - 01 - 02)), (CycleEvent::Invite, date!(2026 - 01 - 15))])
            .unwrap_err();
        assert_eq!(
            error,
            CycleError::InvitationTooSoon { last: date!(2026 - 01 - 02), earliest: date!(2026 - 01 - 16) }
        );
        let state = run(&[
            (CycleEvent::Invite, date!(2026 - 01 - 02)),
            (CycleEvent::Invite, date!(2026 - 01 - 16)),
            (CycleEvent::Invite, date!(2026 - 01 - 30)),
        ])
        .unwrap();
        assert_eq!(state.next_invitation_from(), None);
        assert_eq!(state.apply(CycleEvent::Invite, date!(2026 - 03 - 01)), Err(CycleError::InvitationsExhausted));
    }

    #[test]
    fn did_not_attend_returns_to_the_right_booking() {
        let state = run(&[
            (CycleEvent::BookInformationGathering, date!(2026 - 01 - 02)),
            (CycleEvent::DidNotAttend, date!(2026 - 01 - 10)),
        ])
        .unwrap();
        assert_eq!(state.stage, Stage::DidNotAttend);
        assert!(state.apply(CycleEvent::BookConversation, date!(2026 - 01 - 11)).is_err());
        assert_eq!(
            state.apply(CycleEvent::BookInformationGathering, date!(2026 - 01 - 11)).unwrap().stage,
            Stage::InformationGatheringBooked
        );
    }

    #[test]
    fn ways_out_and_back() {
        let declined =
            run(&[(CycleEvent::Invite, date!(2026 - 01 - 02)), (CycleEvent::Decline, date!(2026 - 01 - 03))]).unwrap();
        assert!(declined.stage.stops_messages());
        assert!(declined.apply(CycleEvent::Invite, date!(2026 - 02 - 01)).is_err());
        assert_eq!(declined.apply(CycleEvent::Reinstate, date!(2026 - 02 - 01)).unwrap().stage, Stage::Due);
        let adjusted = run(&[(CycleEvent::Adjust(AdjustmentReason::NewlyRegistered), date!(2026 - 01 - 02))]).unwrap();
        assert_eq!(adjusted.adjustment, Some(AdjustmentReason::NewlyRegistered));
        let died = run(&[(CycleEvent::Die, date!(2026 - 01 - 02))]).unwrap();
        for event in [CycleEvent::Reinstate, CycleEvent::Invite, CycleEvent::Die, CycleEvent::MoveAway] {
            assert!(died.apply(event, date!(2026 - 02 - 01)).is_err(), "died is final");
        }
        let moved = run(&[(CycleEvent::MoveAway, date!(2026 - 01 - 02))]).unwrap();
        assert!(moved.apply(CycleEvent::Invite, date!(2026 - 02 - 01)).is_err());
    }

    #[test]
    fn events_cannot_be_backdated_before_the_last_change() {
        let state = run(&[(CycleEvent::Invite, date!(2026 - 01 - 10))]).unwrap();
        assert!(matches!(state.apply(CycleEvent::Decline, date!(2026 - 01 - 09)), Err(CycleError::OutOfOrder { .. })));
    }

    #[test]
    fn every_stage_round_trips_its_name() {
        for stage in Stage::ALL {
            assert_eq!(Stage::parse(stage.as_str()), Some(stage));
        }
    }
}
