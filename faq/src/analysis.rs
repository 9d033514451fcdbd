//! Italian text analysis: normalisation, words, stopwords, stems and synonyms.
//!
//! The same pipeline runs over sheets when the index is built and over each message, so
//! that "perche", "perché" and "PERCHÈ" meet, and "dell'anagrafe" yields "anagrafe".
//! Typo tolerance needs the index's vocabulary and lives in `typos.rs`.

use std::borrow::Cow;
use std::sync::LazyLock;

use unicode_normalization::UnicodeNormalization;

use crate::sheet::Synonyms;
use rustc_hash::{FxHashMap, FxHashSet};

/// Longest message analysed, in characters; the rest is ignored so that a pasted
/// 100,000-character text costs no more than a long email.
pub const MAX_QUERY_CHARS: usize = 4000;

/// Fold a text for matching: Unicode NFKC, lower case, accents removed, typographic
/// apostrophes made plain.
pub fn normalize(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut push_folded = |c: char| {
        for lower in c.to_lowercase() {
            if lower.is_ascii() {
                out.push(if lower == '`' { '\'' } else { lower });
                continue;
            }
            // Decompose one character and keep its base letters: "è" → "e".
            unicode_normalization::char::decompose_canonical(lower, |d| {
                if !unicode_normalization::char::is_combining_mark(d) {
                    out.push(match d {
                        '\u{2019}' | '\u{2018}' | '\u{02BC}' | '\u{00B4}' => '\'',
                        _ => d,
                    });
                }
            });
        }
    };
    if text.is_ascii() {
        text.chars().for_each(&mut push_folded);
    } else {
        text.nfkc().for_each(&mut push_folded);
    }
    out
}

/// Whether a whitespace-separated chunk is a link or an email address.
fn is_link(chunk: &str) -> bool {
    let c = chunk.trim_matches(|c: char| !c.is_alphanumeric());
    c.starts_with("http://")
        || c.starts_with("https://")
        || c.starts_with("www.")
        || (c.contains('@') && c.contains('.'))
}

/// The words of a text, normalised, in order: links dropped, split at every character
/// that is not a letter or digit (so elisions like `dell'` and `l'` become words of their
/// own, which the stopword list then drops).
pub fn words(text: &str) -> Vec<String> {
    let text = match text.char_indices().nth(MAX_QUERY_CHARS) {
        Some((cut, _)) => &text[..cut],
        None => text,
    };
    let norm = normalize(text);
    let mut out = Vec::new();
    for chunk in norm.split_whitespace().filter(|c| !is_link(c)) {
        out.extend(
            chunk
                .split(|c: char| !c.is_alphanumeric())
                .filter(|w| !w.is_empty())
                .map(str::to_string),
        );
    }
    out
}

/// A text reduced to its normalised words, for telling equivalent phrasings apart.
pub fn fingerprint(text: &str) -> String {
    words(text).join(" ")
}

/// Italian function words (Snowball's list, accents folded) plus the filler of requests
/// ("vorrei sapere", "gentilmente"). Negations (`non`, `no`, `senza`) and the question
/// words that change what is asked (`quando`, `dove`, `quanto`, `chi`) are kept.
#[rustfmt::skip]
const STOPWORDS: &[&str] = &[
    // articles, prepositions and their elided and articulated forms
    "il", "lo", "la", "i", "gli", "le", "l", "un", "uno", "una", "di", "d", "a", "ad", "da", "in",
    "con", "su", "per", "tra", "fra", "del", "dello", "della", "dei", "degli", "delle", "dell",
    "al", "allo", "alla", "ai", "agli", "alle", "all", "dal", "dallo", "dalla", "dai", "dagli",
    "dalle", "dall", "nel", "nello", "nella", "nei", "negli", "nelle", "nell", "sul", "sullo",
    "sulla", "sui", "sugli", "sulle", "sull", "col", "coi",
    // conjunctions and pronouns
    "e", "ed", "o", "od", "ma", "se", "anche", "che", "cui", "ne", "mi", "ti", "si", "ci", "vi",
    "c", "m", "t", "s", "v", "io", "tu", "lui", "lei", "noi", "voi", "loro", "me", "te", "mio",
    "mia", "miei", "mie", "tuo", "tua", "tuoi", "tue", "suo", "sua", "suoi", "sue", "nostro",
    "nostra", "nostri", "nostre", "vostro", "vostra", "vostri", "vostre", "questo", "questa",
    "questi", "queste", "quest", "quello", "quella", "quelli", "quelle", "quell", "ciò", "cio",
    "come", "com", "cosa", "cos", "quale", "quali", "qual", "perche", "poi", "gia", "ancora", "piu",
    "molto", "tutto", "tutti", "tutte", "tutta", "po", "qualche", "ecc", "etc", "ok", "va", "bene",
    // auxiliaries and modal verbs
    "e'", "sono", "sei", "siamo", "siete", "era", "erano", "sara", "essere", "stato", "stata", "ho",
    "hai", "ha", "abbiamo", "avete", "hanno", "avere", "avrei", "abbia", "posso", "puoi", "puo",
    "possiamo", "possono", "potrei", "potrebbe", "devo", "deve", "devono", "dovrei", "bisogna",
    "serve", "servono", "vorrei", "volevo", "voglio", "vuole", "fare", "faccio", "fa", "fatto",
    "sto", "sta", "stanno", "c'e", "ce", "dev", "anch",
    // politeness and filler of requests
    "buongiorno", "buonasera", "salve", "ciao", "grazie", "mille", "gentilmente", "cortesemente",
    "favore", "prego", "sapere", "chiedere", "domanda", "informazione", "informazioni", "info",
    "possibile", "qualcuno", "dunque", "allora", "quindi", "pero", "scusi", "scusa", "gentile",
    "egregio", "spett",
];

static STOPWORD_SET: LazyLock<FxHashSet<&'static str>> =
    LazyLock::new(|| STOPWORDS.iter().copied().collect());

/// Whether a normalised word is a stopword.
pub fn is_stopword(word: &str) -> bool {
    STOPWORD_SET.contains(word)
}

/// Prefix of the tokens that stand for a synonym group rather than a word.
const GROUP_PREFIX: char = '~';

/// Stems words and applies synonym groups. Cheap to share: it holds no per-query state.
pub struct Analyzer {
    stemmer: rust_stemmers::Stemmer,
    /// Synonym phrases as stem sequences, by their first stem: (rest of the phrase, group
    /// token). Group tokens are `~N` for `synonyms.toml` and `~bN` for the built-in lexicon.
    phrases: FxHashMap<String, Vec<(Vec<String>, String)>>,
    /// Every word that appears in a synonym, so typo correction leaves them alone.
    synonym_words: FxHashSet<String>,
}

impl Analyzer {
    /// An analyser that knows these synonym groups, and the built-in
    /// [`crate::lexicon::LEXICON`] when `lexicon` is true.
    pub fn new(synonyms: &Synonyms, lexicon: bool) -> Self {
        let builtin: Vec<Vec<String>> = if lexicon {
            crate::lexicon::LEXICON
                .iter()
                .map(|g| g.iter().map(|t| t.to_string()).collect())
                .collect()
        } else {
            Vec::new()
        };
        let mut this = Self {
            stemmer: rust_stemmers::Stemmer::create(rust_stemmers::Algorithm::Italian),
            phrases: FxHashMap::default(),
            synonym_words: Default::default(),
        };
        let groups = synonyms
            .groups
            .iter()
            .map(|g| (g, ""))
            .chain(builtin.iter().map(|g| (g, "b")));
        for (group, (terms, kind)) in groups.enumerate() {
            for term in terms {
                let content = this.content_words(term);
                this.synonym_words.extend(content.iter().cloned());
                let stems: Vec<String> =
                    content.iter().map(|w| this.stem(w).into_owned()).collect();
                if let Some((first, rest)) = stems.split_first() {
                    this.phrases
                        .entry(first.clone())
                        .or_default()
                        .push((rest.to_vec(), format!("{GROUP_PREFIX}{kind}{group}")));
                }
            }
        }
        this
    }

    /// The words of a text that carry meaning: [`words`] without stopwords.
    pub fn content_words(&self, text: &str) -> Vec<String> {
        words(text)
            .into_iter()
            .filter(|w| !is_stopword(w))
            .collect()
    }

    /// The Snowball Italian stem of a normalised word; numbers and codes are kept whole.
    pub fn stem<'a>(&self, word: &'a str) -> Cow<'a, str> {
        if word.chars().any(|c| c.is_ascii_digit()) {
            Cow::Borrowed(word)
        } else {
            self.stemmer.stem(word)
        }
    }

    /// Whether a word belongs to a synonym phrase (and so must not be "corrected").
    pub fn is_synonym_word(&self, word: &str) -> bool {
        self.synonym_words.contains(word)
    }

    /// Append to `stems` one token per synonym group whose phrase occurs in them, so that
    /// "CIE" and "carta d'identità elettronica" share a term.
    pub fn add_synonym_groups(&self, stems: &mut Vec<String>) {
        let mut groups = Vec::new();
        self.synonym_groups(stems, &mut groups);
        let groups: Vec<String> = groups.into_iter().map(str::to_string).collect();
        stems.extend(groups);
    }

    /// The group tokens whose phrase occurs in `stems`, sorted and without repeats, into
    /// `groups` (borrowed from the analyser: nothing is allocated per token).
    pub fn synonym_groups<'a, S: AsRef<str>>(&'a self, stems: &[S], groups: &mut Vec<&'a str>) {
        if self.phrases.is_empty() {
            return;
        }
        for (i, stem) in stems.iter().enumerate() {
            let Some(candidates) = self.phrases.get(stem.as_ref()) else {
                continue;
            };
            let tail = &stems[i + 1..];
            for (rest, group) in candidates {
                if tail.len() >= rest.len()
                    && tail.iter().zip(rest).all(|(t, r)| t.as_ref() == r.as_str())
                {
                    groups.push(group.as_str());
                }
            }
        }
        groups.sort_unstable();
        groups.dedup();
    }

    /// Every term of a text: content stems, synonym-group tokens, then stem prefixes.
    pub fn terms(&self, text: &str) -> Vec<String> {
        self.terms_with(text, |w| self.stem(w).into_owned())
    }

    /// [`Analyzer::terms`] with a given stemmer (the index memoises stems while building).
    pub fn terms_with(&self, text: &str, mut stem: impl FnMut(&str) -> String) -> Vec<String> {
        let mut stems: Vec<String> = self.content_words(text).iter().map(|w| stem(w)).collect();
        self.add_synonym_groups(&mut stems);
        let prefixes: Vec<String> = stems.iter().filter_map(|s| prefix_term(s)).collect();
        stems.extend(prefixes);
        stems
    }
}

/// Characters kept by [`prefix_term`].
pub const PREFIX_CHARS: usize = 5;

/// A weaker term for a stem's first five characters, so that words of one family that
/// Snowball stems apart ("apertura", "aperto"; "iscrizione", "iscrivere") still meet.
/// Truncation to five characters is a known good light stemmer for Italian.
pub fn prefix_term(stem: &str) -> Option<String> {
    prefix_of(stem).map(|p| format!("^{p}"))
}

/// The part of `stem` that [`prefix_term`] keeps (without its `^` mark), if any.
pub fn prefix_of(stem: &str) -> Option<&str> {
    if stem.starts_with(GROUP_PREFIX) || stem.chars().any(|c| c.is_ascii_digit()) {
        return None;
    }
    let mut chars = stem.char_indices();
    let cut = chars.nth(PREFIX_CHARS - 1).map(|(i, c)| i + c.len_utf8())?;
    Some(&stem[..cut])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn analyzer() -> Analyzer {
        Analyzer::new(
            &Synonyms {
                groups: vec![
                    vec!["CIE".into(), "carta d'identità elettronica".into()],
                    vec!["carta rosa".into(), "pink card".into()],
                ],
            },
            false,
        )
    }

    #[test]
    fn accents_are_folded() {
        assert_eq!(
            words("Perché PERCHÈ perche"),
            ["perche", "perche", "perche"]
        );
    }

    #[test]
    fn elisions_are_split_with_plain_and_typographic_apostrophes() {
        assert_eq!(
            words("dell'anagrafe l’ufficio"),
            ["dell", "anagrafe", "l", "ufficio"]
        );
        assert_eq!(
            analyzer().content_words("un'auto dell’ente"),
            ["auto", "ente"]
        );
    }

    #[test]
    fn negations_and_question_words_are_kept() {
        let a = analyzer();
        assert_eq!(a.content_words("non ho la tessera"), ["non", "tessera"]);
        assert_eq!(a.content_words("quando e dove"), ["quando", "dove"]);
    }

    #[test]
    fn numbers_and_codes_are_kept_whole() {
        let a = analyzer();
        let terms = a.terms("modello F24 entro il 16/06/2025");
        assert!(terms.contains(&"f24".to_string()));
        assert!(terms.contains(&"2025".to_string()));
    }

    #[test]
    fn inflections_share_a_stem() {
        let a = analyzer();
        assert_eq!(a.terms("rinnovo"), a.terms("rinnovare"));
        assert_eq!(a.terms("certificati"), a.terms("certificato"));
    }

    #[test]
    fn nfkc_folds_compatibility_characters() {
        assert_eq!(words("ＣＩＥ ﬁno"), ["cie", "fino"]);
    }

    #[test]
    fn links_and_emails_are_not_words() {
        assert_eq!(
            words("vedi https://example.org/a?b=1 o scrivi a urp@example.org"),
            ["vedi", "o", "scrivi", "a"]
        );
    }

    #[test]
    fn an_abbreviation_and_its_expansion_share_a_group_term() {
        let a = analyzer();
        let short = a.terms("CIE");
        let long = a.terms("carta di identita elettronica");
        let shared: Vec<_> = short.iter().filter(|t| long.contains(t)).collect();
        assert_eq!(shared, ["~0"]);
    }

    #[test]
    fn a_multi_word_synonym_matches_only_as_a_phrase() {
        let a = analyzer();
        assert!(a.terms("la mia carta rosa").contains(&"~1".to_string()));
        assert!(
            !a.terms("la carta gialla e la busta rosa")
                .contains(&"~1".to_string())
        );
    }

    #[test]
    fn a_huge_message_is_cut_before_analysis() {
        let text = "anagrafe ".repeat(20_000);
        assert!(words(&text).len() <= MAX_QUERY_CHARS / 9 + 1);
    }

    #[test]
    fn equivalent_phrasings_share_a_fingerprint() {
        assert_eq!(
            fingerprint("Come rinnovo la CIE?"),
            fingerprint("come rinnovo  la cie")
        );
    }
}
