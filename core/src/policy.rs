//! The policy: what the bot does with a message in a conversation it still holds.
//!
//! It asks the `faq` matcher for a decision and turns it into a reply written for the channel:
//! a sheet's answer, a choice among sheets, a small-talk reply or a handoff notice. All texts
//! come from `[texts]` in the configuration.

use std::sync::Arc;

use sportello_faq::{Candidate, Decision, DecisionKind, Matcher, Office, Reason, Sheet};

use crate::calendar::Calendar;
use crate::channel::ChannelCaps;
use crate::config::Texts;
use crate::knowledge::Knowledge;
use crate::model::{Action, Button};
use crate::protocol::ButtonData;

/// A reply for the citizen, before it is stored: `{ref}` in its text stands for the
/// conversation's number, and its 👍/👎 buttons need the id of the message it answers.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Reply {
    /// The text, with `{ref}` where the conversation's number goes.
    pub text: String,
    /// Buttons, for channels that show them.
    pub buttons: Vec<Button>,
    /// Whether 👍/👎 buttons judging the answered message go under it.
    pub feedback: bool,
}

impl Reply {
    /// A reply of text alone.
    pub fn text(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            ..Self::default()
        }
    }

    /// The text with the conversation's reference number (or a placeholder) in it.
    pub fn text_for(&self, reference: &str) -> String {
        self.text.replace("{ref}", reference)
    }
}

/// What the policy decided for one message.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// The decision.
    pub decision: DecisionKind,
    /// Why, as stored with the message (`matched`, `no_match`, `with_operator`, …).
    pub reason: String,
    /// The matcher's confidence, when it was asked.
    pub confidence: Option<f32>,
    /// The sheets it considered.
    pub candidates: Vec<Candidate>,
    /// What to send back, if anything.
    pub reply: Option<Reply>,
    /// Whether the conversation goes to the operators' queue.
    pub escalate: bool,
}

/// The policy, over the knowledge it answers from.
pub struct Policy {
    knowledge: Arc<Knowledge>,
    texts: Texts,
    calendar: Calendar,
}

fn reason_name(reason: &Reason) -> String {
    serde_json::to_value(reason)
        .ok()
        .and_then(|v| v.get("reason").and_then(|r| r.as_str().map(str::to_string)))
        .unwrap_or_else(|| "unknown".into())
}

impl Policy {
    /// A policy over knowledge that follows the store.
    pub fn with_knowledge(knowledge: Arc<Knowledge>, texts: Texts) -> Self {
        Self {
            knowledge,
            texts,
            calendar: crate::calendar::OfficeConfig::default()
                .calendar()
                .expect("the default office calendar is valid"),
        }
    }

    /// The same policy over the office calendar of `[office]` (the default one: Monday to
    /// Friday, 9 to 17, Rome).
    pub fn with_calendar(mut self, calendar: Calendar) -> Self {
        self.calendar = calendar;
        self
    }

    /// While the office is closed at `now`: the sentence saying when it reopens.
    pub fn closed_notice(&self, now: i64) -> Option<String> {
        crate::hours::reopening(&self.calendar, &self.texts, now)
            .map(|when| self.texts.office_closed.replace("{reopens}", &when))
    }

    /// The reply to the first message written while waiting in the queue, at `position`
    /// (1: next), with a sheet's answer before it when the message clearly matched one.
    pub fn queue_status(&self, position: i64, now: i64) -> String {
        let mut text = self
            .texts
            .queue_status
            .replace("{position}", &position.to_string())
            .replace("{hours}", &self.texts.hours);
        if let Some(closed) = self.closed_notice(now) {
            text.push(' ');
            text.push_str(&closed);
        }
        text
    }

    /// A policy over a fixed `matcher`, naming `offices` in answers (tests, benchmarks,
    /// `ask --sheets`).
    pub fn new(matcher: Matcher, offices: &[Office], texts: Texts) -> Self {
        Self::with_knowledge(Arc::new(Knowledge::fixed(matcher, offices)), texts)
    }

    /// The knowledge it answers from.
    pub fn knowledge(&self) -> &Arc<Knowledge> {
        &self.knowledge
    }

    /// The matcher in use.
    pub fn matcher(&self) -> Arc<Matcher> {
        self.knowledge.matcher()
    }

    /// The texts in use.
    pub fn texts(&self) -> &Texts {
        &self.texts
    }

    /// The office a published sheet names, if it is a known office.
    pub fn sheet_office(&self, sheet_id: &str) -> Option<String> {
        let knowledge = self.knowledge.snapshot();
        let office = knowledge.matcher.sheet(sheet_id)?.office.clone()?;
        knowledge.offices.contains_key(&office).then_some(office)
    }

    /// Decide for a message in a conversation the bot holds.
    pub fn decide(&self, text: &str, action: &Action, caps: ChannelCaps) -> Outcome {
        let matcher = self.matcher();
        match action {
            Action::RequestOperator => self.handoff(
                "person_requested",
                None,
                Vec::new(),
                &self.texts.person_requested,
            ),
            Action::ChooseSheet(id) => match matcher.sheet(id) {
                Some(sheet) if sheet.handoff => self.handoff(
                    "sheet_requires_operator",
                    Some(1.0),
                    vec![Candidate {
                        sheet_id: id.clone(),
                        confidence: 1.0,
                    }],
                    &self
                        .texts
                        .sheet_requires_operator
                        .replace("{title}", &sheet.title),
                ),
                Some(sheet) => Outcome {
                    decision: DecisionKind::Answer,
                    reason: "chosen".into(),
                    confidence: Some(1.0),
                    candidates: vec![Candidate {
                        sheet_id: id.clone(),
                        confidence: 1.0,
                    }],
                    reply: Some(Reply {
                        text: self.answer_text(sheet, caps),
                        buttons: Vec::new(),
                        feedback: caps.buttons,
                    }),
                    escalate: false,
                },
                // A stale or forged choice: say so politely and let the citizen ask again.
                None => Outcome {
                    decision: DecisionKind::Smalltalk,
                    reason: "unknown_choice".into(),
                    confidence: None,
                    candidates: Vec::new(),
                    reply: Some(Reply::text(self.texts.stale_button.clone())),
                    escalate: false,
                },
            },
            Action::Message => {
                let decision = matcher.decide(text);
                self.outcome(&matcher, decision, caps)
            }
            Action::Start => self.smalltalk(
                "start",
                Some(
                    self.texts
                        .welcome
                        .replace("{privacy}", &self.texts.privacy_url),
                ),
            ),
            Action::Help => self.smalltalk("help", Some(self.texts.help.clone())),
            Action::Unsupported => {
                self.smalltalk("unsupported", Some(self.texts.unsupported.clone()))
            }
            Action::Edited => self.smalltalk("edited", None),
            Action::Quiet => Outcome {
                reply: None,
                ..self.handoff("no_auto_reply", None, Vec::new(), "")
            },
            // Intake records feedback and ratings itself; this outcome is not used.
            Action::Feedback { .. } | Action::Rate { .. } => self.smalltalk("feedback", None),
            Action::Attachment => self.handoff(
                "attachment",
                None,
                Vec::new(),
                &self.texts.attachment_received,
            ),
        }
    }

    fn smalltalk(&self, reason: &str, text: Option<String>) -> Outcome {
        Outcome {
            decision: DecisionKind::Smalltalk,
            reason: reason.into(),
            confidence: None,
            candidates: Vec::new(),
            reply: text.map(|text| Reply::text(text.replace("{hours}", &self.texts.hours))),
            escalate: false,
        }
    }

    /// After a 👎: the other sheets the matcher considered, and a person.
    pub fn alternatives(&self, candidates: &[Candidate], answered: Option<&str>) -> Reply {
        let matcher = self.matcher();
        let others: Vec<Candidate> = candidates
            .iter()
            .filter(|c| Some(c.sheet_id.as_str()) != answered)
            .cloned()
            .collect();
        let mut reply = self.clarify(&matcher, &others, crate::channel::ChannelCaps::default());
        // With no other sheet, no "one of these" with nothing under it.
        reply.text = if reply.buttons.len() > 1 {
            self.texts.feedback_negative.clone()
        } else {
            self.texts.feedback_negative_alone.clone()
        };
        reply
    }

    /// After an operator closed the conversation: a request for a 1-5 rating.
    pub fn rating_request(&self, conversation_id: i64) -> Reply {
        Reply {
            text: self.texts.rating_request.clone(),
            buttons: (1..=5u8)
                .map(|score| {
                    Button::new(
                        "⭐".repeat(score.into()),
                        ButtonData::Rate {
                            conversation: conversation_id,
                            score,
                        },
                    )
                })
                .collect(),
            feedback: false,
        }
    }

    fn handoff(
        &self,
        reason: &str,
        confidence: Option<f32>,
        candidates: Vec<Candidate>,
        text: &str,
    ) -> Outcome {
        Outcome {
            decision: DecisionKind::Handoff,
            reason: reason.into(),
            confidence,
            candidates,
            reply: Some(Reply::text(text.replace("{hours}", &self.texts.hours))),
            escalate: true,
        }
    }

    /// The outcome of a decision the matcher in use already made (`ask` times the matcher
    /// alone, then asks for the reply).
    pub fn respond(&self, d: Decision, caps: ChannelCaps) -> Outcome {
        self.outcome(&self.matcher(), d, caps)
    }

    fn outcome(&self, matcher: &Matcher, d: Decision, caps: ChannelCaps) -> Outcome {
        let reason = reason_name(&d.reason);
        let confidence = Some(d.confidence);
        let t = &self.texts;
        let simple = |text: &str| Some(Reply::text(text));
        let (reply, escalate) = match (&d.kind, &d.reason) {
            (DecisionKind::Answer, _) => {
                let sheet = d
                    .candidates
                    .first()
                    .and_then(|c| matcher.sheet(&c.sheet_id));
                match sheet {
                    Some(sheet) => (
                        Some(Reply {
                            text: self.answer_text(sheet, caps),
                            buttons: Vec::new(),
                            feedback: caps.buttons,
                        }),
                        false,
                    ),
                    None => (simple(&t.no_match), true),
                }
            }
            (DecisionKind::Clarify, _) => (Some(self.clarify(matcher, &d.candidates, caps)), false),
            (DecisionKind::Smalltalk, Reason::Thanks) => (simple(&t.thanks), false),
            (DecisionKind::Smalltalk, Reason::Goodbye) => (simple(&t.goodbye), false),
            (DecisionKind::Smalltalk, Reason::Acknowledgement) => {
                (simple(&t.acknowledgement), false)
            }
            (DecisionKind::Smalltalk, Reason::Empty) => (simple(&t.empty), false),
            (DecisionKind::Smalltalk, _) => (simple(&t.greeting), false),
            (DecisionKind::Handoff, Reason::PersonRequested) => (simple(&t.person_requested), true),
            (DecisionKind::Handoff, Reason::Abuse) => (simple(&t.abuse), true),
            (DecisionKind::Handoff, Reason::SheetRequiresOperator(id)) => {
                let title = matcher.sheet(id).map(|s| s.title.as_str()).unwrap_or(id);
                (
                    simple(&t.sheet_requires_operator.replace("{title}", title)),
                    true,
                )
            }
            (DecisionKind::Handoff, _) => (simple(&t.no_match), true),
        };
        let reply = reply.map(|mut r| {
            r.text = r.text.replace("{hours}", &t.hours);
            r
        });
        Outcome {
            decision: d.kind,
            reason,
            confidence,
            candidates: d.candidates,
            reply,
            escalate,
        }
    }

    /// A reply's buttons once the citizen's message it answers is stored as `message`: its
    /// own, then 👍/👎 judging that message when it asks for them.
    pub fn buttons_for(&self, reply: &Reply, message: i64) -> Vec<Button> {
        let mut buttons = reply.buttons.clone();
        if reply.feedback {
            for (label, useful) in [
                (&self.texts.useful_button, true),
                (&self.texts.not_useful_button, false),
            ] {
                buttons.push(Button::new(
                    label.clone(),
                    ButtonData::Feedback { message, useful },
                ));
            }
        }
        buttons
    }

    /// A sheet's answer as the channel should show it.
    /// `{hours}` in a sheet stands for the hours of `[office]`, so the URP hours sheet and the
    /// bot's texts say the same.
    pub fn answer_text(&self, sheet: &Sheet, caps: ChannelCaps) -> String {
        self.sheet_text(sheet, caps)
            .replace("{hours}", &self.texts.hours)
    }

    fn sheet_text(&self, sheet: &Sheet, caps: ChannelCaps) -> String {
        if caps.short_answers {
            return match &sheet.link {
                Some(link) => format!("{} {link}", sheet.short_text()),
                None => sheet.short_text(),
            };
        }
        let mut text = sheet.summary.trim().to_string();
        // A channel with subject lines (email) has room for the whole sheet.
        if caps.subjects && !sheet.body.trim().is_empty() {
            text.push_str("\n\n");
            text.push_str(sheet.body.trim());
        }
        if let Some(link) = &sheet.link {
            text.push_str("\n\n");
            text.push_str(link);
        }
        let knowledge = self.knowledge.snapshot();
        if let Some(office) = sheet
            .office
            .as_ref()
            .and_then(|id| knowledge.offices.get(id))
        {
            let contacts: Vec<&str> = [office.phone.as_str(), office.email.as_str()]
                .into_iter()
                .filter(|s| !s.is_empty())
                .collect();
            text.push_str(&format!("\n\n{}: {}", self.texts.office_label, office.name));
            if !contacts.is_empty() {
                text.push_str(&format!(" ({})", contacts.join(", ")));
            }
        }
        text
    }

    fn clarify(&self, matcher: &Matcher, candidates: &[Candidate], caps: ChannelCaps) -> Reply {
        let sheets: Vec<&Sheet> = candidates
            .iter()
            .take(matcher.params().max_choices.min(3))
            .filter_map(|c| matcher.sheet(&c.sheet_id))
            .collect();
        // No sheet left to offer: no "choose one" with nothing under it.
        let mut text = if sheets.is_empty() {
            self.texts.no_choices.clone()
        } else {
            self.texts.clarify.clone()
        };
        let mut buttons = Vec::new();
        for (i, sheet) in sheets.iter().enumerate() {
            if caps.buttons {
                buttons.push(Button::new(
                    sheet.title.clone(),
                    ButtonData::Sheet(sheet.id.clone()),
                ));
            } else {
                text.push_str(&format!("\n{}. {}", i + 1, sheet.title));
                if let Some(link) = &sheet.link {
                    text.push_str(&format!(" {link}"));
                }
            }
        }
        if caps.buttons {
            buttons.push(Button::new(
                self.texts.operator_button.clone(),
                ButtonData::Operator,
            ));
        }
        Reply {
            text,
            buttons,
            feedback: false,
        }
    }
}
