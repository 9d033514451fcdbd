//! The load: citizens on Telegram (through the double), the web chat (over HTTP, on a random
//! instance) and X (through the double), and operators working the queue through the JSON API.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};

use crate::{Kind, OperatorReply, Run};

/// The first Telegram chat id; citizen `i` is `CHAT_BASE + i`.
pub const CHAT_BASE: i64 = 700_000_000;
/// The first X user id.
const X_USER_BASE: u64 = 3_000_000_000;
/// Message ids the citizens' Telegram messages take (the bot's come from the double, from 1).
const MESSAGE_BASE: i64 = 1_000_000;

/// The sample sheets' questions.
fn questions() -> Vec<String> {
    let mut all = Vec::new();
    if let Ok(dir) = std::fs::read_dir("config/sheets") {
        for entry in dir.flatten() {
            let path = entry.path();
            if path.extension().is_some_and(|e| e == "toml")
                && let Ok(text) = std::fs::read_to_string(&path)
                && let Ok(table) = toml::from_str::<toml::Table>(&text)
                && let Some(toml::Value::Array(qs)) = table.get("questions")
            {
                all.extend(qs.iter().filter_map(|q| q.as_str().map(str::to_string)));
            }
        }
    }
    if all.is_empty() {
        all.push("Quali sono gli orari dell'URP?".into());
    }
    all
}

/// A question in other words: greetings, case, punctuation, thanks.
fn vary(rng: &mut StdRng, q: &str) -> String {
    let mut text = q.to_string();
    if rng.gen_bool(0.3) {
        text = text.to_lowercase();
    }
    if rng.gen_bool(0.3) {
        text = text.trim_end_matches(['?', '.', '!']).to_string();
    }
    let prefix = [
        "",
        "",
        "Buongiorno, ",
        "Salve, ",
        "Scusate, ",
        "Ciao, ",
        "Una domanda: ",
    ];
    let suffix = [
        "",
        "",
        " Grazie.",
        " grazie mille",
        " per favore",
        " Cordiali saluti.",
    ];
    format!(
        "{}{}{}",
        prefix.choose(rng).unwrap(),
        text,
        suffix.choose(rng).unwrap()
    )
}

/// One of the questions, in other words.
fn ask(rng: &mut StdRng, questions: &[String]) -> String {
    let q = questions.choose(rng).unwrap().clone();
    vary(rng, &q)
}

const PERSON: [&str; 5] = [
    "voglio parlare con un operatore",
    "Posso parlare con una persona?",
    "operatore",
    "/operatore",
    "vorrei parlare con qualcuno dell'ufficio per favore",
];
const SMALL_TALK: [&str; 6] = ["grazie", "ok", "perfetto", "/start", "/help", "buongiorno"];
const UNANSWERABLE: [&str; 4] = [
    "la mia pratica numero {n} è ferma da mesi, chi mi aiuta?",
    "Ho ricevuto una lettera con protocollo {n} e non capisco cosa devo fare",
    "il vicino fa rumore tutte le notti, a chi mi rivolgo? (segnalazione {n})",
    "xkq zzv {n} wpt",
];

/// A Telegram citizen's state the load keeps.
#[derive(Default)]
struct Citizen {
    next_message: i64,
    last_message: Option<Value>,
}

/// The bot's last message with buttons in each chat, from the double's sent messages.
#[derive(Default)]
struct Buttons {
    seen: usize,
    last: HashMap<i64, (i64, Vec<(String, String)>)>,
}

impl Buttons {
    fn follow(&mut self, run: &Run) {
        let new = run.telegram.sent_since(self.seen);
        self.seen += new.len();
        for m in new {
            let buttons: Vec<(String, String)> = m
                .reply_markup
                .as_ref()
                .and_then(|r| r["inline_keyboard"].as_array().cloned())
                .unwrap_or_default()
                .iter()
                .flat_map(|row| row.as_array().cloned().unwrap_or_default())
                .filter_map(|b| {
                    Some((
                        b["text"].as_str()?.to_string(),
                        b["callback_data"].as_str()?.to_string(),
                    ))
                })
                .collect();
            if buttons.is_empty() {
                self.last.remove(&m.chat_id);
            } else {
                self.last.insert(m.chat_id, (m.message_id, buttons));
            }
        }
    }
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

fn telegram_message(chat: i64, message_id: i64, body: Value) -> Value {
    let name = format!("Cittadino{}", chat - CHAT_BASE);
    let mut message = json!({
        "message_id": message_id,
        "from": { "id": chat, "is_bot": false, "first_name": name },
        "chat": { "id": chat, "type": "private", "first_name": name },
        "date": unix_now(),
    });
    for (k, v) in body.as_object().cloned().unwrap_or_default() {
        message[k] = v;
    }
    message
}

fn text_body(text: &str) -> Value {
    if text.starts_with('/') {
        let command = text.split_whitespace().next().unwrap_or(text);
        json!({ "text": text, "entities": [{ "type": "bot_command", "offset": 0, "length": command.encode_utf16().count() }] })
    } else {
        json!({ "text": text })
    }
}

/// Sends the load: `args.messages` inbound messages over `args.minutes`, spread evenly.
pub async fn generate(run: Arc<Run>, bases: Vec<String>) {
    let args = run.args.clone();
    let mut rng = StdRng::seed_from_u64(args.seed);
    let questions = questions();
    let mut citizens: HashMap<i64, Citizen> = HashMap::new();
    let mut buttons = Buttons::default();
    let web_limit = Arc::new(tokio::sync::Semaphore::new(24));
    let web_citizens = (args.citizens / 8).max(1);
    let mut web_sessions: HashMap<u64, Arc<WebCitizen>> = HashMap::new();
    let x_citizens = (args.citizens / 50).max(1);
    for i in 0..x_citizens {
        let id = (X_USER_BASE + i).to_string();
        run.x.add_user(
            &id,
            &format!("cittadino_{i}"),
            &format!("Cittadino X {i}"),
            true,
        );
    }
    let mut web_seq = 0u64;
    let per_sec = args.messages as f64 / args.load_secs();
    let mut emitted = 0u64;
    let mut tick = tokio::time::interval(Duration::from_millis(20));
    let mut last_follow = 0.0;
    while emitted < args.messages {
        tick.tick().await;
        let now = run.now();
        if now - last_follow > 0.2 {
            buttons.follow(&run);
            last_follow = now;
        }
        let due = ((now * per_sec) as u64).min(args.messages);
        while emitted < due {
            emitted += 1;
            let roll: f64 = rng.r#gen();
            let n = rng.gen_range(1000..99_999);
            if roll < 0.02 {
                // X: a mention or a DM.
                let user = (X_USER_BASE + rng.gen_range(0..x_citizens)).to_string();
                let q = ask(&mut rng, &questions);
                if rng.gen_bool(0.5) {
                    let id = run.x.mention(&user, &q);
                    run.record("x", id, Kind::Question);
                } else {
                    let text = if rng.gen_bool(0.2) {
                        PERSON[0].to_string()
                    } else {
                        q
                    };
                    let id = run.x.dm(&user, &text);
                    run.record("x", format!("dm:{id}"), Kind::Question);
                }
                continue;
            }
            if roll < 0.15 {
                // The web chat, on a random instance.
                let who = rng.gen_range(0..web_citizens);
                let citizen = web_sessions
                    .entry(who)
                    .or_insert_with(|| Arc::new(WebCitizen::new()))
                    .clone();
                let k: f64 = rng.r#gen();
                let (kind, text) = if k < 0.75 {
                    (Kind::Question, ask(&mut rng, &questions))
                } else if k < 0.85 {
                    (Kind::Person, PERSON[rng.gen_range(0..3)].to_string())
                } else if k < 0.92 {
                    (Kind::SmallTalk, "grazie".to_string())
                } else {
                    (
                        Kind::Unanswerable,
                        UNANSWERABLE[0].replace("{n}", &n.to_string()),
                    )
                };
                web_seq += 1;
                let id = format!("soak-w{web_seq:08}");
                let repeat = rng.gen_bool(0.03);
                let run2 = Arc::clone(&run);
                let bases = bases.clone();
                let permit = Arc::clone(&web_limit);
                let seed: u64 = rng.r#gen();
                run.webchat_open.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(async move {
                    let _permit = permit.acquire().await;
                    let ok = citizen.post(&run2, &bases, seed, &text, &id).await;
                    if ok {
                        run2.record("webchat", id.clone(), kind);
                        if repeat {
                            citizen.post(&run2, &bases, seed + 1, &text, &id).await;
                            run2.record("webchat", id, Kind::Repeat);
                        }
                    } else {
                        run2.webchat_given_up.fetch_add(1, Ordering::SeqCst);
                    }
                    run2.webchat_open.fetch_sub(1, Ordering::SeqCst);
                });
                continue;
            }
            // Telegram.
            let chat = CHAT_BASE + rng.gen_range(0..args.citizens as i64);
            let citizen = citizens.entry(chat).or_insert_with(|| Citizen {
                next_message: MESSAGE_BASE,
                last_message: None,
            });
            let k: f64 = rng.r#gen();
            let pressable = buttons.last.get(&chat).cloned();
            let feedback_buttons = pressable.as_ref().and_then(|(id, bs)| {
                let fb: Vec<_> = bs
                    .iter()
                    .filter(|(l, _)| l.contains('👍') || l.contains('👎'))
                    .cloned()
                    .collect();
                (!fb.is_empty()).then_some((*id, fb))
            });
            let choice_buttons = pressable.as_ref().and_then(|(id, bs)| {
                let other: Vec<_> = bs
                    .iter()
                    .filter(|(l, _)| !(l.contains('👍') || l.contains('👎')))
                    .cloned()
                    .collect();
                (!other.is_empty()).then_some((*id, other))
            });
            if k < 0.10
                && let Some((message_id, bs)) = feedback_buttons
            {
                let (_, data) = bs.choose(&mut rng).unwrap();
                let (update, callback) = run.telegram.push_callback(chat, message_id, data);
                run.max_update.fetch_max(update, Ordering::SeqCst);
                buttons.last.remove(&chat);
                run.record("telegram", format!("cb:{callback}"), Kind::Feedback);
                continue;
            }
            if k < 0.25
                && let Some((message_id, bs)) = choice_buttons
            {
                let (_, data) = bs.choose(&mut rng).unwrap();
                let (update, callback) = run.telegram.push_callback(chat, message_id, data);
                run.max_update.fetch_max(update, Ordering::SeqCst);
                buttons.last.remove(&chat);
                run.record("telegram", format!("cb:{callback}"), Kind::Button);
                continue;
            }
            if k < 0.28
                && let Some(message) = citizen.last_message.clone()
            {
                // The platform delivers the same message again.
                let id = message["message_id"].as_i64().unwrap_or_default();
                let update = run.telegram.push_update(json!({ "message": message }));
                run.max_update.fetch_max(update, Ordering::SeqCst);
                run.record("telegram", format!("{chat}:{id}"), Kind::Repeat);
                continue;
            }
            let (kind, body) = if k < 0.33 {
                (Kind::Person, text_body(PERSON.choose(&mut rng).unwrap()))
            } else if k < 0.37 {
                let file = format!("SOAKFILE{}", citizen.next_message);
                let body = if rng.gen_bool(0.5) {
                    json!({ "document": { "file_id": file, "file_unique_id": format!("u{file}"),
                        "file_name": "modulo.pdf", "mime_type": "application/pdf", "file_size": 48_213 },
                        "caption": "ecco il modulo compilato" })
                } else {
                    json!({ "photo": [
                        { "file_id": format!("{file}s"), "file_unique_id": format!("u{file}s"), "width": 90, "height": 67, "file_size": 1_200 },
                        { "file_id": file, "file_unique_id": format!("u{file}"), "width": 1280, "height": 960, "file_size": 183_000 }
                    ] })
                };
                (Kind::Attachment, body)
            } else if k < 0.43 {
                (
                    Kind::SmallTalk,
                    text_body(SMALL_TALK.choose(&mut rng).unwrap()),
                )
            } else if k < 0.47 {
                (
                    Kind::Unanswerable,
                    text_body(
                        &UNANSWERABLE
                            .choose(&mut rng)
                            .unwrap()
                            .replace("{n}", &n.to_string()),
                    ),
                )
            } else {
                (Kind::Question, text_body(&ask(&mut rng, &questions)))
            };
            let id = citizen.next_message;
            citizen.next_message += 1;
            let message = telegram_message(chat, id, body);
            citizen.last_message = Some(message.clone());
            let update = run.telegram.push_update(json!({ "message": message }));
            run.max_update.fetch_max(update, Ordering::SeqCst);
            run.record("telegram", format!("{chat}:{id}"), kind);
        }
    }
}

/// A web chat citizen: a browser session (cookie) and the page's CSRF token.
struct WebCitizen {
    client: reqwest::Client,
    csrf: tokio::sync::Mutex<Option<String>>,
}

impl WebCitizen {
    fn new() -> Self {
        Self {
            client: reqwest::Client::builder()
                .no_proxy()
                .cookie_store(true)
                .timeout(Duration::from_secs(15))
                .build()
                .expect("an HTTP client"),
            csrf: tokio::sync::Mutex::new(None),
        }
    }

    /// Posts the message (with its id) until an instance answers 200, as the page retries;
    /// whether one did.
    async fn post(&self, run: &Run, bases: &[String], seed: u64, text: &str, id: &str) -> bool {
        let mut rng = StdRng::seed_from_u64(seed);
        let mut csrf = self.csrf.lock().await;
        for _ in 0..60 {
            let base = bases.choose(&mut rng).unwrap();
            if csrf.is_none() {
                if let Ok(r) = self.client.get(format!("{base}/chat")).send().await
                    && let Ok(page) = r.text().await
                {
                    *csrf = csrf_of(&page);
                }
                if csrf.is_none() {
                    tokio::time::sleep(Duration::from_millis(500)).await;
                    continue;
                }
            }
            let r = self
                .client
                .post(format!("{base}/chat/messages"))
                .header("X-CSRF-Token", csrf.as_deref().unwrap_or_default())
                .json(&json!({ "text": text, "id": id }))
                .send()
                .await;
            match r {
                Ok(r) if r.status() == 200 => return true,
                Ok(r) if r.status() == 403 => *csrf = None,
                _ => {}
            }
            let _ = run;
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        false
    }
}

fn csrf_of(page: &str) -> Option<String> {
    let key = r#"name="csrf-token" content=""#;
    let at = page.find(key)? + key.len();
    Some(page[at..at + page[at..].find('"')?].to_string())
}

/// The offices a transfer may choose.
fn offices() -> Vec<String> {
    let text = std::fs::read_to_string("config/offices.toml").unwrap_or_default();
    let table: toml::Table = toml::from_str(&text).unwrap_or_default();
    table
        .get("office")
        .and_then(|o| o.as_array())
        .map(|a| {
            a.iter()
                .filter_map(|o| o.get("id")?.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// An operator: takes a waiting conversation, replies with a marked text, then resolves,
/// transfers or releases it; on a random instance each time.
pub async fn operator(run: Arc<Run>, bases: Vec<String>, index: usize, token: String) {
    let mut rng = StdRng::seed_from_u64(run.args.seed ^ ((index as u64 + 1) * 7_919));
    let client = crate::cluster::client();
    let offices = offices();
    let auth = format!("Bearer {token}");
    let mut seq = 0u64;
    while !run.stopping.load(Ordering::SeqCst) {
        tokio::time::sleep(Duration::from_millis(rng.gen_range(200..700))).await;
        let base = bases.choose(&mut rng).unwrap().clone();
        let api = |path: &str| format!("{base}/api/v1/conversations{path}");
        let list = match client
            .get(api("?status=queued&limit=50"))
            .header("Authorization", &auth)
            .send()
            .await
        {
            Ok(r) if r.status() == 200 => r.json::<Value>().await.ok(),
            _ => None,
        };
        let ids: Vec<i64> = list
            .as_ref()
            .and_then(|l| l["conversations"].as_array())
            .map(|a| a.iter().filter_map(|c| c["id"].as_i64()).collect())
            .unwrap_or_default();
        let Some(&id) = ids.choose(&mut rng) else {
            continue;
        };
        let post = |path: String, body: Value| {
            client
                .post(api(&format!("/{id}{path}")))
                .header("Authorization", &auth)
                .json(&body)
                .send()
        };
        match post("/claim".into(), json!({})).await {
            Ok(r) if r.status().is_success() => {
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_millis() as i64);
                run.claims.lock().unwrap().push((id, now));
                run.act("claim");
            }
            Ok(r) if r.status() == 409 => {
                run.act("claim refused (409)");
                continue;
            }
            _ => continue,
        }
        tokio::time::sleep(Duration::from_millis(rng.gen_range(100..400))).await;
        seq += 1;
        let mark = format!("soak-op{index}-{seq}");
        let text = format!(
            "Buongiorno, sono l'operatore {index}: abbiamo verificato la sua richiesta. [{mark}]"
        );
        let confirmed = match post("/reply".into(), json!({ "text": text })).await {
            Ok(r) if r.status().is_success() => {
                run.act("reply");
                true
            }
            Ok(r) => {
                // Refused: nothing was written.
                run.act("reply refused");
                let _ = r;
                continue;
            }
            Err(_) => false,
        };
        run.replies.lock().unwrap().push(OperatorReply {
            conversation: id,
            mark,
            confirmed,
        });
        let roll: f64 = rng.r#gen();
        let outcome = if roll < 0.6 {
            post("/resolve".into(), json!({}))
                .await
                .map(|r| ("resolve", r))
        } else if roll < 0.85 && !offices.is_empty() {
            let office = offices.choose(&mut rng).unwrap().clone();
            post("/transfer".into(), json!({ "office": office }))
                .await
                .map(|r| ("transfer", r))
        } else {
            post("/release".into(), json!({}))
                .await
                .map(|r| ("release", r))
        };
        if let Ok((name, r)) = outcome
            && r.status().is_success()
        {
            run.act(name);
        }
    }
}
