//! The Italian names operators read for the store's codes: conversation states, handoff
//! reasons, citizens' feedback. Internal codes such as `with_operator` never reach a page.

use sportello_core::model::ConversationStatus;
use sportello_core::store::HandoffReason;
use sportello_faq::Sheet;

/// A conversation state, without who holds it.
pub fn status(s: ConversationStatus) -> &'static str {
    match s {
        ConversationStatus::Bot => "con l'assistente automatico",
        ConversationStatus::Queued => "in attesa di un operatore",
        ConversationStatus::Assigned => "presa in carico",
        ConversationStatus::Resolved => "risolta",
    }
}

/// Why the bot handed a conversation over; a sheet that needs an operator and is about
/// complaints (tagged `reclami` or `reclamo`) reads as a complaint.
pub fn handoff(reason: HandoffReason, sheet: Option<&Sheet>) -> &'static str {
    match reason {
        HandoffReason::PersonRequested => "chiesto un operatore",
        HandoffReason::NotUseful => "👎 sulla risposta",
        HandoffReason::NoSheet => "nessuna scheda",
        HandoffReason::SheetRequiresOperator if sheet.is_some_and(is_complaint) => "reclamo",
        HandoffReason::SheetRequiresOperator => "la scheda richiede un operatore",
        HandoffReason::Abuse => "linguaggio offensivo",
        HandoffReason::Attachment => "allegato da esaminare",
        HandoffReason::NoAutoReply => "messaggio da non rispondere in automatico",
        HandoffReason::Transferred => "trasferita da un operatore",
    }
}

fn is_complaint(sheet: &Sheet) -> bool {
    sheet
        .tags
        .iter()
        .any(|t| matches!(t.to_lowercase().as_str(), "reclami" | "reclamo"))
}

/// Why the bot did what it did with one message (the reason stored with it).
pub fn message_reason(reason: &str) -> &str {
    match reason {
        "matched" => "scheda trovata",
        "unsure" => "più schede possibili",
        "chosen" => "scelta dal cittadino",
        "greeting" => "saluto",
        "thanks" => "ringraziamento",
        "goodbye" => "congedo",
        "person_requested" => "chiesto un operatore",
        "abuse" => "linguaggio offensivo",
        "no_match" => "nessuna scheda",
        "empty" => "messaggio vuoto",
        "sheet_requires_operator" => "la scheda richiede un operatore",
        "with_operator" => "conversazione già affidata agli operatori",
        "unknown_choice" => "scelta non più valida",
        "start" => "avvio della chat",
        "help" => "richiesta di aiuto",
        "unsupported" => "contenuto non leggibile",
        "edited" => "messaggio modificato",
        "attachment" => "allegato",
        "no_auto_reply" => "da non rispondere in automatico",
        _ => "altro",
    }
}

/// A delivery's state.
pub fn delivery(state: &str) -> &str {
    match state {
        "pending" => "in attesa",
        "sending" => "in invio",
        "sent" => "inviato",
        "failed" => "non riuscito",
        _ => "sconosciuto",
    }
}

/// A proposed phrasing's state.
pub fn phrasing(state: &str) -> &str {
    match state {
        "pending" => "in attesa dei redattori",
        "approved" => "approvata",
        "rejected" => "respinta",
        _ => "sconosciuto",
    }
}

/// "1 stella su 5" … for a rating.
pub fn rating(score: i64) -> String {
    match score {
        1 => "1 stella su 5".into(),
        n => format!("{n} stelle su 5"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_internal_code_is_shown_as_it_is() {
        for code in ["with_operator", "no_match", "person_requested", "whatever"] {
            assert_ne!(message_reason(code), code);
        }
        assert_eq!(status(ConversationStatus::Resolved), "risolta");
        assert_eq!(handoff(HandoffReason::NotUseful, None), "👎 sulla risposta");
    }
}
