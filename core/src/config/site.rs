//! `[site]`: what every page says about the administration behind it, as the Italian public
//! administrations' design system (Bootstrap Italia) asks: the body named in the header, and
//! the footer's links to the privacy notice, the legal notes and the accessibility statement.

use serde::{Deserialize, Serialize};

/// `[site]`: the body behind the pages and the footer's links.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct SiteConfig {
    /// The administration named in the header ("Città metropolitana di Milano").
    pub body_name: String,
    /// Its home page, linked from the header; empty: no link.
    pub body_url: String,
    /// The office's name beside the logo of every page.
    pub office_name: String,
    /// The privacy notice ("Informativa privacy").
    pub privacy_url: String,
    /// The legal notes ("Note legali").
    pub legal_notes_url: String,
    /// The accessibility statement ("Dichiarazione di accessibilità", AgID).
    pub accessibility_url: String,
}

impl Default for SiteConfig {
    fn default() -> Self {
        Self {
            body_name: "Città metropolitana di Milano".into(),
            body_url: "https://www.cittametropolitana.mi.it/".into(),
            office_name: "URP — Sportello".into(),
            privacy_url: "https://www.cittametropolitana.mi.it/portale/privacy/".into(),
            legal_notes_url: "https://www.cittametropolitana.mi.it/portale/note-legali/".into(),
            accessibility_url: "https://form.agid.gov.it/".into(),
        }
    }
}
