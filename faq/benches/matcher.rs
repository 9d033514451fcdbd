//! Decision latency, index build time and memory at 100 to 100,000 generated sheets, and
//! the same queries on tantivy (in-RAM index, Italian stemmer) for a ratio.
//!
//! `cargo bench -p sportello-faq --bench matcher` (set `BENCH_MAX_SHEETS` to stop earlier).
//! Criterion measures the mean and median over the query mix; before each group the bench
//! also times every query once, alone, and prints median and p99, build time and the
//! resident memory the index added (Linux), since criterion reports no percentiles.

// criterion_group! and criterion_main! generate undocumented items.
#![allow(missing_docs)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use sportello_faq::{Matcher, MatcherParams, Sheet, Synonyms};

/// A small deterministic generator (SplitMix64), so runs are comparable.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    /// Zipf-like: small indices much more often than large ones.
    fn zipf(&mut self, n: usize) -> usize {
        let u = (self.next() >> 11) as f64 / (1u64 << 53) as f64;
        ((n as f64).powf(u) - 1.0) as usize % n
    }
}

const SYLLABLES: &[&str] = &[
    "ca", "ri", "to", "men", "ta", "zio", "ne", "pra", "ti", "co", "res", "si", "den", "za", "li",
    "cen", "ze", "do", "cu", "per", "mes", "so", "ac", "ces", "tri", "bu", "sta", "ge",
];
const FILLER: &[&str] = &[
    "come", "posso", "vorrei", "sapere", "per", "il", "la", "dove", "quando",
];

/// A vocabulary that grows with the number of sheets, as real ones do: words of two to
/// four Italian-looking syllables, drawn with Zipf frequencies.
fn vocabulary(size: usize, rng: &mut Rng) -> Vec<String> {
    (0..size)
        .map(|_| {
            let n = 2 + rng.below(3);
            (0..n)
                .map(|_| SYLLABLES[rng.below(SYLLABLES.len())])
                .collect()
        })
        .collect()
}

/// Ranks of the Zipf distribution left out: in real text the most frequent words are
/// function words, which the analysis drops as stopwords.
const STOPWORD_RANKS: usize = 150;

fn phrase(vocab: &[String], words: usize, rng: &mut Rng) -> String {
    (0..words)
        .map(|_| vocab[STOPWORD_RANKS + rng.zipf(vocab.len() - STOPWORD_RANKS)].as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

fn sheets(n: usize) -> Vec<Sheet> {
    let mut rng = Rng(42);
    // Heaps' law (V ≈ K·tokens^β, K = 40, β = 0.5) for ~200 content words a sheet: 5,600
    // distinct words at 100 sheets, 18,000 at 1,000, 180,000 at 100,000.
    let tokens = (n * 200) as f64;
    let vocab = vocabulary((40.0 * tokens.sqrt()) as usize, &mut rng);
    (0..n)
        .map(|i| Sheet {
            id: format!("s{i}"),
            title: phrase(&vocab, 5, &mut rng),
            summary: phrase(&vocab, 60, &mut rng),
            questions: (0..3).map(|_| phrase(&vocab, 7, &mut rng)).collect(),
            keywords: (0..3).map(|_| phrase(&vocab, 1, &mut rng)).collect(),
            body: phrase(&vocab, 120, &mut rng),
            ..Sheet::default()
        })
        .collect()
}

/// Queries: a sheet's phrasing with filler, a dropped word and sometimes a typo.
fn queries(sheets: &[Sheet]) -> Vec<String> {
    let mut rng = Rng(7);
    (0..300)
        .map(|_| {
            let s = &sheets[rng.below(sheets.len())];
            let q = &s.questions[rng.below(s.questions.len())];
            let mut words: Vec<String> = q.split(' ').map(str::to_string).collect();
            words.remove(rng.below(words.len()));
            if rng.below(2) == 0 {
                let w = rng.below(words.len());
                let mut chars: Vec<char> = words[w].chars().collect();
                if chars.len() > 5 {
                    chars.swap(2, 3);
                    words[w] = chars.into_iter().collect();
                }
            }
            words.insert(0, FILLER[rng.below(FILLER.len())].to_string());
            words.join(" ")
        })
        .collect()
}

fn resident_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

fn percentiles(mut micros: Vec<f64>) -> (f64, f64) {
    micros.sort_by(f64::total_cmp);
    let at = |p: f64| micros[((micros.len() - 1) as f64 * p).round() as usize];
    (at(0.5), at(0.99))
}

fn time_each(queries: &[String], mut run: impl FnMut(&str)) -> (f64, f64) {
    for q in queries {
        run(q); // warm-up
    }
    let micros = queries
        .iter()
        .map(|q| {
            let t = Instant::now();
            run(q);
            t.elapsed().as_secs_f64() * 1e6
        })
        .collect();
    percentiles(micros)
}

mod tantivy_side {
    use sportello_faq::Sheet;
    use tantivy::collector::TopDocs;
    use tantivy::query::QueryParser;
    use tantivy::schema::{IndexRecordOption, Schema, TextFieldIndexing, TextOptions};
    use tantivy::tokenizer::{
        AsciiFoldingFilter, Language, LowerCaser, SimpleTokenizer, Stemmer, TextAnalyzer,
    };
    use tantivy::{Index, IndexReader, TantivyDocument};

    /// An in-RAM tantivy index over the same fields, with an Italian analyser.
    pub struct Tantivy {
        reader: IndexReader,
        parser: QueryParser,
    }

    impl Tantivy {
        pub fn new(sheets: &[Sheet]) -> Self {
            let mut schema = Schema::builder();
            let text = TextOptions::default().set_indexing_options(
                TextFieldIndexing::default()
                    .set_tokenizer("it")
                    .set_index_option(IndexRecordOption::WithFreqs),
            );
            let title = schema.add_text_field("title", text.clone());
            let questions = schema.add_text_field("questions", text.clone());
            let keywords = schema.add_text_field("keywords", text.clone());
            let summary = schema.add_text_field("summary", text.clone());
            let body = schema.add_text_field("body", text);
            let index = Index::create_in_ram(schema.build());
            index.tokenizers().register(
                "it",
                TextAnalyzer::builder(SimpleTokenizer::default())
                    .filter(LowerCaser)
                    .filter(AsciiFoldingFilter)
                    .filter(Stemmer::new(Language::Italian))
                    .build(),
            );
            let mut writer = index.writer(100_000_000).expect("writer");
            for s in sheets {
                let mut doc = TantivyDocument::default();
                doc.add_text(title, &s.title);
                doc.add_text(questions, s.questions.join(" "));
                doc.add_text(keywords, s.keywords.join(" "));
                doc.add_text(summary, &s.summary);
                doc.add_text(body, &s.body);
                writer.add_document(doc).expect("add");
            }
            writer.commit().expect("commit");
            let reader = index.reader().expect("reader");
            let mut parser =
                QueryParser::for_index(&index, vec![title, questions, keywords, summary, body]);
            parser.set_field_boost(title, 3.0);
            parser.set_field_boost(questions, 2.0);
            parser.set_field_boost(keywords, 2.0);
            parser.set_field_boost(body, 0.5);
            Self { reader, parser }
        }

        pub fn search(&self, text: &str) -> usize {
            let (query, _) = self.parser.parse_query_lenient(text);
            let searcher = self.reader.searcher();
            searcher
                .search(&query, &TopDocs::with_limit(10))
                .map(|hits| hits.len())
                .unwrap_or(0)
        }
    }
}

fn bench(c: &mut Criterion) {
    let max: usize = std::env::var("BENCH_MAX_SHEETS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    for n in [100, 1_000, 10_000, 100_000]
        .into_iter()
        .filter(|&n| n <= max)
    {
        let sheets = sheets(n);
        let queries = queries(&sheets);

        let before = resident_kib();
        let t = Instant::now();
        let matcher = Matcher::new(&sheets, &Synonyms::default(), MatcherParams::default());
        let build = t.elapsed();
        let memory = resident_kib().saturating_sub(before);
        let (median, p99) = time_each(&queries, |q| {
            black_box(matcher.decide(q));
        });

        let t = Instant::now();
        let tantivy = tantivy_side::Tantivy::new(&sheets);
        let tantivy_build = t.elapsed();
        let (t_median, t_p99) = time_each(&queries, |q| {
            black_box(tantivy.search(q));
        });
        eprintln!(
            "{n} sheets: sportello build {build:.2?}, +{memory} KiB RSS, decide median {median:.1} µs, p99 {p99:.1} µs | \
             tantivy build {tantivy_build:.2?}, search median {t_median:.1} µs, p99 {t_p99:.1} µs | \
             median ratio tantivy/sportello {:.1}",
            t_median / median.max(1e-9)
        );

        let mut group = c.benchmark_group(format!("{n}_sheets"));
        group
            .sample_size(20)
            .measurement_time(Duration::from_secs(3))
            .warm_up_time(Duration::from_secs(1));
        let mut i = 0;
        group.bench_function("sportello_decide", |b| {
            b.iter(|| {
                i = (i + 1) % queries.len();
                black_box(matcher.decide(&queries[i]))
            })
        });
        group.bench_function("tantivy_search", |b| {
            b.iter(|| {
                i = (i + 1) % queries.len();
                black_box(tantivy.search(&queries[i]))
            })
        });
        if n <= 10_000 {
            group.sample_size(10);
            group.bench_function("sportello_build", |b| {
                b.iter(|| Matcher::new(&sheets, &Synonyms::default(), MatcherParams::default()))
            });
        }
        group.finish();
    }
}

/// The matcher with the sentence encoder at 100, 1,000 and 10,000 sheets
/// (`BENCH_SEMANTIC_MAX` stops earlier). The sheets' embeddings are random unit vectors
/// (embedding thousands of generated texts would take minutes and changes nothing in what
/// a decision costs: the scan is the same for any values). Every query is decided once with
/// a suffix that makes it new, so that the encoder runs: that median and p99 are what a new
/// question costs. Criterion's loop then repeats the plain queries, whose embeddings come
/// from the cache after the first round: what a repeated question costs.
fn bench_semantic(c: &mut Criterion) {
    let max: usize = std::env::var("BENCH_SEMANTIC_MAX")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let model = concat!(env!("CARGO_MANIFEST_DIR"), "/../models/e5-small-it-en.spe5");
    let encoder = sportello_encoder::CachedEncoder::shared(std::path::Path::new(model))
        .expect("the model loads");
    let mut rng = Rng(7);
    for n in [100, 1_000, 10_000].into_iter().filter(|&n| n <= max) {
        let sheets = sheets(n);
        let queries = queries(&sheets);
        let known: sportello_faq::semantic::Vectors = sheets
            .iter()
            .flat_map(sportello_faq::semantic::sheet_texts)
            .map(|t| {
                let mut v: Vec<f32> = (0..sportello_encoder::DIMENSION)
                    .map(|_| (rng.next() >> 40) as f32 / (1u64 << 24) as f32 - 0.5)
                    .collect();
                let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
                v.iter_mut().for_each(|x| *x /= norm);
                (t.key, v.into())
            })
            .collect();
        let t = Instant::now();
        let matcher = Matcher::with_semantic(
            &sheets,
            &Synonyms::default(),
            MatcherParams::default(),
            encoder.clone(),
            &known,
        );
        let build = t.elapsed();
        // New questions of a real length: the labelled sample questions (the generated
        // ones are syllable soup, which tokenises into many more pieces), each made new.
        let fresh: Vec<String> = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/eval/sample-queries.tsv"
        ))
        .expect("the sample queries")
        .lines()
        .filter(|l| !l.starts_with('#') && l.contains('\t'))
        .take(200)
        .map(|l| format!("{} ({n})", l.split('\t').next().unwrap_or_default()))
        .collect();
        // Once each, no warm-up: a second run would find the embedding cached.
        let micros = fresh
            .iter()
            .map(|q| {
                let t = Instant::now();
                black_box(matcher.decide(q));
                t.elapsed().as_secs_f64() * 1e6
            })
            .collect();
        let (median, p99) = percentiles(micros);
        eprintln!(
            "{n} sheets, semantic: build {build:.2?}, decide a new question (encoder runs) median {median:.1} µs, p99 {p99:.1} µs"
        );
        for q in &queries {
            matcher.decide(q); // every embedding in the cache
        }
        let mut group = c.benchmark_group(format!("{n}_sheets_semantic"));
        group
            .sample_size(20)
            .measurement_time(Duration::from_secs(3))
            .warm_up_time(Duration::from_secs(1));
        let mut i = 0;
        group.bench_function("sportello_decide_cached_query", |b| {
            b.iter(|| {
                i = (i + 1) % queries.len();
                black_box(matcher.decide(&queries[i]))
            })
        });
        group.finish();
    }
}

criterion_group!(benches, bench, bench_semantic);
criterion_main!(benches);
