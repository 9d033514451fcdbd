//! The office's statistics over a generated week with known answers, figure by figure, on
//! SQLite and PostgreSQL: Monday 23 to Sunday 29 November 2026, in Rome (UTC+1), with
//! messages just outside the week on either side of local midnight.

use sportello_core::calendar::{Calendar, OfficeConfig, days_from_civil};
use sportello_core::clock::Clock;
use sportello_core::stats::{Bucket, Report, StatsQuery, compute};
use sportello_core::store::Store;
use sportello_core::testing::TestDb;
use sportello_core::testing::history::{History, rome_nov as at};
use std::time::Duration;

const MIN: i64 = 60_000;
const DAY: i64 = 86_400_000;

async fn week(store: &Store) {
    let h = History { store };
    let tg = h.contact("telegram", "anna").await;
    let em = h.contact("email", "bruno@example.org").await;
    // C1, Monday: two answers from pink-card, a 👍 and a 👎, a rating of 2
    let c1 = h
        .conversation(tg, "telegram", at(23, 10, 0), [None; 3])
        .await;
    let m1 = h
        .message(
            c1,
            "telegram",
            at(23, 10, 0),
            "answer",
            "matched",
            Some("pink-card"),
        )
        .await;
    let m2 = h
        .message(
            c1,
            "telegram",
            at(23, 10, 5),
            "answer",
            "matched",
            Some("pink-card"),
        )
        .await;
    h.feedback(
        c1,
        "telegram",
        Some(m1),
        Some("pink-card"),
        "useful",
        None,
        at(23, 10, 1),
    )
    .await;
    h.feedback(
        c1,
        "telegram",
        Some(m2),
        Some("pink-card"),
        "not_useful",
        None,
        at(23, 10, 6),
    )
    .await;
    h.feedback(c1, "telegram", None, None, "rating", Some(2), at(23, 10, 7))
        .await;
    // C2, Monday: clarify, then handoff at 11:01; reply after 30 min, resolved after 2 h
    let esc = at(23, 11, 1);
    let c2 = h
        .conversation(
            tg,
            "telegram",
            at(23, 11, 0),
            [Some(esc), Some(esc + 30 * MIN), Some(esc + 120 * MIN)],
        )
        .await;
    h.message(c2, "telegram", at(23, 11, 0), "clarify", "ambiguous", None)
        .await;
    h.message(c2, "telegram", esc, "handoff", "no_match", None)
        .await;
    h.message(
        c2,
        "telegram",
        at(23, 11, 40),
        "handoff",
        "with_operator",
        None,
    )
    .await;
    h.feedback(c2, "telegram", None, None, "rating", Some(5), at(23, 13, 5))
        .await;
    // C3, Tuesday 16:00 by email: first reply Wednesday 9:30 (90 min), resolved 11:00 (180)
    let c3 = h
        .conversation(
            em,
            "email",
            at(24, 16, 0),
            [
                Some(at(24, 16, 0)),
                Some(at(25, 9, 30)),
                Some(at(25, 11, 0)),
            ],
        )
        .await;
    let m3 = h
        .message(
            c3,
            "email",
            at(24, 16, 0),
            "handoff",
            "person_requested",
            None,
        )
        .await;
    h.delivery(
        m3,
        c3,
        "email",
        at(24, 16, 1),
        "failed",
        Some("mailbox unavailable"),
    )
    .await;
    h.delivery(m3, c3, "email", at(25, 9, 30), "sent", None)
        .await;
    h.feedback(c3, "email", None, None, "rating", Some(4), at(25, 11, 5))
        .await;
    // C5, Wednesday: small talk and two answers, a 👍 on passo-carraio
    let c5 = h
        .conversation(tg, "telegram", at(25, 9, 0), [None; 3])
        .await;
    h.message(c5, "telegram", at(25, 9, 0), "smalltalk", "greeting", None)
        .await;
    let m5 = h
        .message(
            c5,
            "telegram",
            at(25, 9, 1),
            "answer",
            "matched",
            Some("passo-carraio"),
        )
        .await;
    h.message(
        c5,
        "telegram",
        at(25, 9, 2),
        "answer",
        "matched",
        Some("pink-card"),
    )
    .await;
    h.feedback(
        c5,
        "telegram",
        Some(m5),
        Some("passo-carraio"),
        "useful",
        None,
        at(25, 9, 3),
    )
    .await;
    // C4, Friday 16:30 by email: first reply Monday 9:10 (40 min), not resolved
    let c4 = h
        .conversation(
            em,
            "email",
            at(27, 16, 30),
            [Some(at(27, 16, 30)), Some(at(30, 9, 10)), None],
        )
        .await;
    h.message(c4, "email", at(27, 16, 30), "handoff", "no_match", None)
        .await;
    // C6, Saturday: handed over, nobody answered yet; the reply to the citizen failed
    let c6 = h
        .conversation(
            tg,
            "telegram",
            at(28, 10, 0),
            [Some(at(28, 10, 0)), None, None],
        )
        .await;
    let m6 = h
        .message(c6, "telegram", at(28, 10, 0), "handoff", "no_match", None)
        .await;
    h.delivery(
        m6,
        c6,
        "telegram",
        at(28, 10, 0),
        "failed",
        Some("bot was blocked by the user"),
    )
    .await;
    // C7, outside the week: Sunday 22 at 23:30 and Monday 30 at 00:30, local time
    let c7 = h
        .conversation(tg, "telegram", at(22, 23, 30), [None; 3])
        .await;
    h.message(
        c7,
        "telegram",
        at(22, 23, 30),
        "answer",
        "matched",
        Some("pink-card"),
    )
    .await;
    let m7 = h
        .message(
            c7,
            "telegram",
            at(30, 0, 30),
            "answer",
            "matched",
            Some("pink-card"),
        )
        .await;
    h.delivery(m7, c7, "telegram", at(30, 0, 30), "failed", Some("timeout"))
        .await;
}

async fn report(store: &Store, bucket: Bucket, channel: Option<&str>) -> Report {
    let calendar: Calendar = OfficeConfig::default().calendar().unwrap();
    let q = StatsQuery {
        from_day: days_from_civil(2026, 11, 23),
        to_day: days_from_civil(2026, 11, 29),
        bucket,
        channel: channel.map(str::to_string),
    };
    compute(store, &calendar, &q).await.unwrap()
}

#[tokio::test]
async fn the_week_s_figures_are_the_known_ones_on_both_backends() {
    for db in TestDb::both().await {
        let store = db.store().await;
        week(&store).await;
        let r = report(&store, Bucket::Day, None).await;
        let b = db.backend;
        let t = &r.totals;
        assert_eq!((t.messages, t.conversations), (11, 6), "{b}: volumes");
        assert_eq!(
            (t.answer, t.clarify, t.smalltalk, t.handoff, t.with_operator),
            (4, 1, 1, 4, 1),
            "{b}: outcomes"
        );
        assert_eq!(t.auto_answer_rate, Some(0.4), "{b}");
        assert_eq!(t.clarify_rate, Some(0.1), "{b}");
        assert_eq!(t.handoff_rate, Some(0.4), "{b}");
        assert_eq!(t.delivery_failures, 2, "{b}: failures");

        let days: Vec<(&str, i64, i64, i64)> = r
            .periods
            .iter()
            .map(|p| {
                (
                    p.start.as_str(),
                    p.counts.messages,
                    p.counts.conversations,
                    p.counts.delivery_failures,
                )
            })
            .collect();
        assert_eq!(
            days,
            vec![
                ("2026-11-23", 5, 2, 0),
                ("2026-11-24", 1, 1, 1),
                ("2026-11-25", 3, 1, 0),
                ("2026-11-26", 0, 0, 0),
                ("2026-11-27", 1, 1, 0),
                ("2026-11-28", 1, 1, 1),
                ("2026-11-29", 0, 0, 0),
            ],
            "{b}: day by day"
        );

        let fr = &r.first_response;
        assert_eq!((fr.count, fr.waiting), (3, 1), "{b}");
        assert_eq!(
            (fr.median_ms, fr.p90_ms),
            (Some(40 * MIN), Some(90 * MIN)),
            "{b}"
        );
        let res = &r.resolution;
        assert_eq!((res.count, res.waiting), (2, 2), "{b}");
        assert_eq!(
            (res.median_ms, res.p90_ms),
            (Some(120 * MIN), Some(180 * MIN)),
            "{b}"
        );

        let f = &r.feedback;
        assert_eq!(
            (f.answers, f.answers_rated, f.useful, f.not_useful),
            (4, 3, 2, 1),
            "{b}"
        );
        assert_eq!(f.response_rate, Some(0.75), "{b}");
        assert_eq!(f.share_positive, Some(2.0 / 3.0), "{b}");
        assert_eq!(r.ratings.count, 3, "{b}");
        assert_eq!(r.ratings.distribution, [0, 1, 0, 1, 1], "{b}");
        assert_eq!(r.ratings.mean, Some(11.0 / 3.0), "{b}");

        let top: Vec<(&str, i64)> = r
            .top_sheets
            .iter()
            .map(|s| (s.sheet_id.as_str(), s.count))
            .collect();
        assert_eq!(top, vec![("pink-card", 3), ("passo-carraio", 1)], "{b}");
        let rejected: Vec<(&str, i64)> = r
            .rejected_sheets
            .iter()
            .map(|s| (s.sheet_id.as_str(), s.count))
            .collect();
        assert_eq!(rejected, vec![("pink-card", 1)], "{b}");
        assert_eq!(r.failure_reasons.len(), 2, "{b}");
    }
}

#[tokio::test]
async fn channels_are_counted_apart_and_can_be_chosen_alone() {
    for db in TestDb::both().await {
        let store = db.store().await;
        week(&store).await;
        let b = db.backend;
        let r = report(&store, Bucket::Day, None).await;
        let by: Vec<(&str, i64, i64, i64, i64)> = r
            .channels
            .iter()
            .map(|c| {
                (
                    c.channel.as_str(),
                    c.counts.messages,
                    c.counts.conversations,
                    c.counts.handoff,
                    c.counts.delivery_failures,
                )
            })
            .collect();
        assert_eq!(
            by,
            vec![("email", 2, 2, 2, 1), ("telegram", 9, 4, 2, 1)],
            "{b}"
        );

        let email = report(&store, Bucket::Day, Some("email")).await;
        assert_eq!((email.totals.messages, email.totals.answer), (2, 0), "{b}");
        assert_eq!(email.totals.auto_answer_rate, Some(0.0), "{b}");
        assert_eq!(email.first_response.median_ms, Some(40 * MIN), "{b}");
        assert_eq!(email.first_response.p90_ms, Some(90 * MIN), "{b}");
        assert_eq!(
            email.feedback.response_rate, None,
            "{b}: no answers, no rate"
        );
        assert_eq!(email.ratings.count, 1, "{b}");
        assert_eq!(
            email.failure_reasons,
            vec![("mailbox unavailable".to_string(), 1)],
            "{b}"
        );
    }
}

#[tokio::test]
async fn by_week_the_monday_to_sunday_week_is_one_row() {
    for db in TestDb::both().await {
        let store = db.store().await;
        week(&store).await;
        let r = report(&store, Bucket::Week, None).await;
        assert_eq!(r.periods.len(), 1, "{}", db.backend);
        assert_eq!(r.periods[0].start, "2026-11-23");
        assert_eq!(r.periods[0].counts, r.totals, "{}", db.backend);
    }
}

/// The same database seen from another date.
async fn store_at(db: &TestDb, now_ms: i64) -> Store {
    Store::connect_with_clock(
        &db.url,
        8,
        Duration::from_secs(10),
        Clock::starting_at(now_ms),
    )
    .await
    .unwrap()
}

async fn rolled_days(store: &Store) -> i64 {
    sqlx::query_scalar("select count(*) from stats_days")
        .fetch_one(store.pool())
        .await
        .unwrap()
}

/// Closed days are read from the daily rollup and the rest counted from the messages: the
/// figures are the same whichever days are closed, before and after the rollup is written.
#[tokio::test]
async fn the_figures_do_not_depend_on_which_days_are_rolled_up() {
    for db in TestDb::both().await {
        let b = db.backend;
        let store = db.store().await;
        week(&store).await;
        let past = store_at(&db, at(1, 12, 0)).await;
        let live = report(&past, Bucket::Day, None).await;
        let live_week = report(&past, Bucket::Week, Some("telegram")).await;
        assert_eq!(rolled_days(&past).await, 0, "{b}: nothing is closed yet");
        assert_eq!(live.totals.messages, 11, "{b}");

        // Wednesday noon: Monday and Tuesday are closed; then a month later, all of it.
        for (now, closed) in [(at(25, 12, 0), 2), (at(40, 12, 0), 7)] {
            let s = store_at(&db, now).await;
            let first = report(&s, Bucket::Day, None).await;
            assert_eq!(rolled_days(&s).await, closed, "{b}: days rolled up");
            let again = report(&s, Bucket::Day, None).await;
            assert_eq!(first, live, "{b}: while rolling up, at {now}");
            assert_eq!(again, live, "{b}: from the rollup, at {now}");
            assert_eq!(
                report(&s, Bucket::Week, Some("telegram")).await,
                live_week,
                "{b}: one channel by week, at {now}"
            );
        }

        // Forgetting the rollup counts everything again from the messages.
        store.clear_stats_rollup().await.unwrap();
        assert_eq!(rolled_days(&store).await, 0, "{b}");
        let s = store_at(&db, at(40, 12, 0)).await;
        assert_eq!(report(&s, Bucket::Day, None).await, live, "{b}");
    }
}

/// Today is never rolled up: what a citizen writes now shows at once, even after a period
/// holding today was asked for.
#[tokio::test]
async fn today_is_counted_live_after_the_past_days_were_rolled_up() {
    for db in TestDb::both().await {
        let b = db.backend;
        let store = db.store().await;
        week(&store).await;
        let s = store_at(&db, at(27, 18, 0)).await;
        let before = report(&s, Bucket::Day, None).await;
        let h = History { store: &s };
        let c = h.contact("telegram", "carla").await;
        let conv = h
            .conversation(c, "telegram", at(27, 17, 0), [None; 3])
            .await;
        h.message(
            conv,
            "telegram",
            at(27, 17, 0),
            "answer",
            "matched",
            Some("pink-card"),
        )
        .await;
        let after = report(&s, Bucket::Day, None).await;
        assert_eq!(
            after.totals.messages,
            before.totals.messages + 1,
            "{b}: today's message counts"
        );
        assert_eq!(after.totals.answer, before.totals.answer + 1, "{b}");
        let friday = after
            .periods
            .iter()
            .find(|p| p.start == "2026-11-27")
            .unwrap();
        assert_eq!(
            friday.counts.conversations,
            before
                .periods
                .iter()
                .find(|p| p.start == "2026-11-27")
                .unwrap()
                .counts
                .conversations
                + 1,
            "{b}"
        );
    }
}

/// Around the changes of summer time (29 March and 25 October 2026 in Rome) a period's first
/// and last days have different offsets: the rollup, cut with the first day's, gives the same
/// figures as counting everything from the messages.
#[tokio::test]
async fn the_rollup_gives_the_same_figures_across_summer_time_changes() {
    const HOUR: i64 = 3_600_000;
    for db in TestDb::both().await {
        let b = db.backend;
        let store = db.store().await;
        let h = History { store: &store };
        let who = h.contact("telegram", "dora").await;
        for (y, m, d) in [(2026, 3, 26), (2026, 10, 22)] {
            let start = days_from_civil(y, m, d);
            for day in start..start + 8 {
                // Every hour from 21:30 to 00:30 UTC, either side of local midnight in
                // winter and in summer, and noon.
                for at in [
                    day * DAY - 5 * HOUR / 2,
                    day * DAY - 3 * HOUR / 2,
                    day * DAY - HOUR / 2,
                    day * DAY + HOUR / 2,
                    day * DAY + 12 * HOUR,
                ] {
                    let c = h.conversation(who, "telegram", at, [None; 3]).await;
                    h.message(c, "telegram", at, "answer", "matched", Some("pink-card"))
                        .await;
                }
            }
        }
        let calendar: Calendar = OfficeConfig::default().calendar().unwrap();
        let live = store_at(&db, days_from_civil(2026, 1, 1) * DAY).await;
        let rolled = store_at(&db, days_from_civil(2026, 12, 20) * DAY).await;
        for (from, to) in [
            (days_from_civil(2026, 3, 27), days_from_civil(2026, 4, 1)),
            (days_from_civil(2026, 10, 23), days_from_civil(2026, 10, 28)),
        ] {
            for bucket in [Bucket::Day, Bucket::Week] {
                let q = StatsQuery {
                    from_day: from,
                    to_day: to,
                    bucket,
                    channel: None,
                };
                let expected = compute(&live, &calendar, &q).await.unwrap();
                assert!(
                    expected.totals.messages >= 17,
                    "{b}: {}",
                    expected.totals.messages
                );
                assert_eq!(
                    compute(&rolled, &calendar, &q).await.unwrap(),
                    expected,
                    "{b}: {from}..{to} by {bucket:?}"
                );
            }
        }
        assert!(rolled_days(&rolled).await >= 10, "{b}: the rollup was used");
    }
}
