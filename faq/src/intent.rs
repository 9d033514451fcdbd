//! Messages that are not questions: small talk, requests for a person, abuse.
//!
//! Recognised on normalised words (see [`crate::analysis::words`]), before any ranking.
//! Small talk is recognised only when the message holds nothing else: "ciao, come rinnovo
//! la carta rosa?" is a question.

use crate::analysis::is_stopword;

/// What a message is when it is not a question for the sheets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Intent {
    /// Only a greeting.
    Greeting,
    /// Only thanks (possibly with a greeting).
    Thanks,
    /// A goodbye (possibly with thanks).
    Goodbye,
    /// Only an acknowledgement: "ok", "perfetto", "va bene", "d'accordo".
    Acknowledgement,
    /// The citizen asks for a person.
    Person,
    /// Insults.
    Abuse,
}

#[rustfmt::skip]
const GREETINGS: &[&str] = &[
    "ciao", "salve", "buongiorno", "buonasera", "buondi", "buonpomeriggio", "hey", "ehi", "ehila",
    "hei", "hello", "hi", "eccomi", "saluti", "giorno", "sera", "pomeriggio", "buon", "buona",
    "buonanotte", "notte", "ben", "trovato", "trovati",
];
#[rustfmt::skip]
const THANKS: &[&str] = &[
    "grazie", "grazi", "ringrazio", "ringraziamo", "thanks", "thank", "thx", "gentilissimo",
    "gentilissima", "gentilissimi", "gentile", "perfetto", "ottimo", "chiarissimo", "mille",
    "tante", "infinite", "davvero", "tanto", "molto", "ok", "okay", "bene", "va",
];
/// Words that acknowledge an answer without asking anything ("ok", "va bene", "d'accordo").
#[rustfmt::skip]
const ACKNOWLEDGEMENTS: &[&str] = &[
    "ok", "okay", "okk", "oki", "perfetto", "perfetta", "ottimo", "ottima", "bene", "va", "benissimo",
    "accordo", "capito", "chiaro", "chiarissimo", "inteso", "certo", "esatto", "giusto", "si",
    "sì", "benone", "fatto", "ricevuto", "visto",
];
#[rustfmt::skip]
const GOODBYES: &[&str] = &[
    "arrivederci", "arrivederla", "addio", "bye", "presto", "giornata", "serata", "saluto",
    "salutiamo", "prossima", "volta",
];
/// Words that show a goodbye, not a greeting, when both sets hold them.
#[rustfmt::skip]
const GOODBYE_MARKERS: &[&str] = &[
    "arrivederci", "arrivederla", "addio", "bye", "presto", "giornata", "serata", "prossima",
];
#[rustfmt::skip]
const THANKS_MARKERS: &[&str] = &[
    "grazie", "grazi", "ringrazio", "ringraziamo", "thanks", "thank", "thx",
];

/// Word stems that are insults whatever follows them.
#[rustfmt::skip]
const INSULTS: &[&str] = &[
    "stronz", "vaffancul", "fancul", "coglion", "cazz", "merd", "idiot", "imbecill", "cretin",
    "deficient", "puttan", "troia", "bastard", "stupid", "scemo", "scema", "scemi", "porco",
    "schifos", "minchi", "sfigat",
];

#[rustfmt::skip]
const PERSON_WORDS: &[&str] = &[
    "operatore", "operatrice", "operatori", "umano", "umana", "umani",
];
#[rustfmt::skip]
const SPEAK_WORDS: &[&str] = &[
    "parlare", "parlo", "parla", "passami", "passarmi", "passare", "contattare", "sentire",
    "chiamare", "richiamare", "richiamatemi", "chattare",
];
#[rustfmt::skip]
const WHO_WORDS: &[&str] = &[
    "qualcuno", "persona", "persone", "addetto", "addetta", "impiegato", "impiegata", "funzionario",
    "funzionaria", "responsabile", "umano", "operatore", "operatrice",
];
const REAL_WORDS: &[&str] = &["vera", "reale", "fisica", "viva", "vero", "reali", "vere"];

/// Recognise what `words` (normalised, stopwords included) are, when not a question.
pub fn classify(words: &[String]) -> Option<Intent> {
    let has = |set: &[&str]| words.iter().any(|w| set.contains(&w.as_str()));
    if words
        .iter()
        .any(|w| INSULTS.iter().any(|i| w.starts_with(i)))
    {
        return Some(Intent::Abuse);
    }
    if asks_for_person(words) {
        return Some(Intent::Person);
    }
    let only_small_talk = words.iter().all(|w| {
        is_stopword(w)
            || GREETINGS.contains(&w.as_str())
            || THANKS.contains(&w.as_str())
            || GOODBYES.contains(&w.as_str())
            || ACKNOWLEDGEMENTS.contains(&w.as_str())
    });
    if !only_small_talk || words.is_empty() {
        return None;
    }
    if has(GOODBYE_MARKERS) {
        Some(Intent::Goodbye)
    } else if has(THANKS_MARKERS) {
        Some(Intent::Thanks)
    } else if has(GREETINGS) {
        Some(Intent::Greeting)
    } else if has(ACKNOWLEDGEMENTS) {
        Some(Intent::Acknowledgement)
    } else {
        None
    }
}

fn asks_for_person(words: &[String]) -> bool {
    for (i, w) in words.iter().enumerate() {
        if PERSON_WORDS.contains(&w.as_str()) {
            return true;
        }
        let next = &words[i + 1..(i + 2).min(words.len())];
        if matches!(w.as_str(), "persona" | "persone" | "essere")
            && next
                .iter()
                .any(|n| REAL_WORDS.contains(&n.as_str()) || n == "umano")
        {
            return true;
        }
        if SPEAK_WORDS.contains(&w.as_str()) {
            let window = &words[i + 1..(i + 5).min(words.len())];
            if window.iter().any(|n| WHO_WORDS.contains(&n.as_str())) {
                return true;
            }
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::words;

    fn intent(text: &str) -> Option<Intent> {
        classify(&words(text))
    }

    #[test]
    fn greetings_alone_are_small_talk() {
        for text in [
            "Ciao!",
            "buongiorno a tutti",
            "Buon pomeriggio",
            "salve 👋",
            "ehilà",
        ] {
            assert_eq!(intent(text), Some(Intent::Greeting), "{text}");
        }
    }

    #[test]
    fn thanks_and_goodbyes_are_told_apart() {
        assert_eq!(intent("grazie mille, gentilissimi"), Some(Intent::Thanks));
        assert_eq!(intent("ok grazie, arrivederci"), Some(Intent::Goodbye));
        assert_eq!(intent("buona giornata!"), Some(Intent::Goodbye));
    }

    #[test]
    fn acknowledgements_alone_are_small_talk() {
        for text in [
            "ok",
            "Ok.",
            "perfetto",
            "va bene",
            "Va bene!",
            "ok va bene",
            "d'accordo",
            "okay 👍",
        ] {
            assert_eq!(intent(text), Some(Intent::Acknowledgement), "{text}");
        }
        for text in ["grazie mille", "perfetto grazie", "ok grazie mille"] {
            assert_eq!(intent(text), Some(Intent::Thanks), "{text}");
        }
    }

    #[test]
    fn an_acknowledgement_with_a_question_is_a_question() {
        assert_eq!(intent("ok, e per il rinnovo della carta rosa?"), None);
        assert_eq!(intent("va bene, quali documenti servono?"), None);
    }

    #[test]
    fn a_greeting_with_a_question_is_a_question() {
        assert_eq!(intent("ciao, come rinnovo la carta rosa?"), None);
        assert_eq!(intent("buongiorno, orari dell'URP"), None);
    }

    #[test]
    fn explicit_requests_for_a_person_are_recognised() {
        for text in [
            "operatore",
            "vorrei parlare con qualcuno",
            "voglio parlare con un umano",
            "c'è una persona vera?",
            "mi passi un operatore per favore",
            "posso parlare con un impiegato dell'ufficio?",
        ] {
            assert_eq!(intent(text), Some(Intent::Person), "{text}");
        }
    }

    #[test]
    fn a_question_about_a_person_is_not_a_request_for_one() {
        assert_eq!(intent("documenti per una persona disabile"), None);
        assert_eq!(intent("come parlare in pubblico al consiglio"), None);
    }

    #[test]
    fn insults_are_abuse_even_inside_a_question() {
        assert_eq!(intent("siete degli incapaci, stronzi"), Some(Intent::Abuse));
        assert_eq!(intent("ma che cazzo di orari avete"), Some(Intent::Abuse));
    }
}
