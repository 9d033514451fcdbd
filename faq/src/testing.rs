//! Small hand-written sheets for tests (sample data, not the office's), shared by this
//! crate's tests and the others'.

use crate::{Sheet, SheetStatus, Synonyms};

/// A published sheet with these fields, the others empty.
pub fn sheet(id: &str, title: &str, summary: &str, questions: &[&str], keywords: &[&str]) -> Sheet {
    Sheet {
        id: id.into(),
        title: title.into(),
        summary: summary.into(),
        questions: questions.iter().map(|q| q.to_string()).collect(),
        keywords: keywords.iter().map(|k| k.to_string()).collect(),
        ..Sheet::default()
    }
}

/// A small office: a handful of published sheets (one always for an operator) and a draft.
pub fn sheets() -> Vec<Sheet> {
    let mut complaint = sheet(
        "reclami",
        "Presentare un reclamo",
        "Un reclamo va protocollato: lo registra un operatore dell'URP.",
        &["voglio fare un reclamo", "come presento un reclamo formale"],
        &["reclamo", "lamentela"],
    );
    complaint.handoff = true;
    let mut draft = sheet(
        "bozza-caccia",
        "Licenza di caccia",
        "In preparazione.",
        &["come ottengo la licenza di caccia"],
        &["caccia"],
    );
    draft.status = SheetStatus::Draft;
    vec![
        sheet(
            "carta-rosa",
            "Carta Rosa per le donne residenti",
            "La Carta Rosa dà sconti e servizi alle donne residenti. Si richiede online.",
            &[
                "come ottengo la carta rosa",
                "come rinnovo la carta rosa",
                "la carta rosa è scaduta",
            ],
            &["carta rosa", "donne", "sconti"],
        ),
        sheet(
            "cie",
            "Carta d'identità elettronica",
            "La carta d'identità elettronica si richiede all'anagrafe del comune di residenza con prenotazione.",
            &[
                "come faccio la carta d'identità",
                "documento di identità scaduto",
            ],
            &["carta d'identità", "documento"],
        ),
        sheet(
            "residenza",
            "Cambio di residenza",
            "Il cambio di residenza si dichiara al comune entro 20 giorni dal trasloco.",
            &[
                "come cambio residenza",
                "mi sono trasferito, cosa devo fare per la residenza",
            ],
            &["residenza", "trasloco"],
        ),
        sheet(
            "foia",
            "Accesso civico generalizzato",
            "Chiunque può chiedere dati e documenti detenuti dall'ente, senza motivare.",
            &[
                "come chiedo documenti all'ente",
                "accesso agli atti senza motivazione",
            ],
            &["accesso civico", "trasparenza"],
        ),
        sheet(
            "urp-orari",
            "Orari e sede dell'URP",
            "L'URP è aperto dal lunedì al venerdì, 9-13, in piazza del Municipio 1. Numero verde 800 000 000.",
            &[
                "quando è aperto l'urp",
                "dove si trova l'ufficio relazioni con il pubblico",
                "numero verde urp",
            ],
            &["orari", "numero verde", "sede"],
        ),
        complaint,
        draft,
    ]
}

/// The synonyms those sheets need.
pub fn synonyms() -> Synonyms {
    Synonyms {
        groups: vec![
            vec!["carta rosa".into(), "pink card".into()],
            vec!["FOIA".into(), "accesso civico generalizzato".into()],
            vec!["CIE".into(), "carta d'identità elettronica".into()],
        ],
    }
}
