//! The measured phases: cold starts, one invocation per event size, and
//! the interleaved warm run with mock-api's own baseline.

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::events::{COLD_EVENT, Event, Feed, Route, case_body, render_config};
use crate::opts::Opts;
use crate::proxy;
use crate::report::{Cold, Sample, Warm};
use crate::runner::Runtime;
use crate::scaling;
use crate::services::{self, Services};

/// One fresh notifier per event size, for its peak RSS over one invocation
/// and the size of the ticket it files (see `scaling`).
pub async fn scaling(
    s: &Services,
    notifier: &Runtime,
    feed: &mut Feed<'_>,
) -> Result<Vec<scaling::Point>, String> {
    let cfg = render_config()?;
    let mut out = Vec::new();
    for (name, bytes) in scaling::SIZES {
        let value = scaling::sized_event(bytes);
        let case = case_body(&value, None, &cfg)
            .await
            .map_err(|e| format!("{name} event: {e}"))?;
        let event = Event {
            name: name.to_owned(),
            route: Route::of(&value),
            value,
            case: case.into(),
        };
        let raw = feed.next(&event).await?;
        let event_bytes = raw.len();
        let mut inst = notifier
            .launch(&s.logs, &format!("size-{name}"), Some(raw))
            .await?;
        inst.first(Duration::from_secs(120)).await?;
        let peak = inst.child.peak_rss_kb();
        let usage = inst
            .child
            .stop(Duration::ZERO)
            .ok_or("could not reap a scaling process")?;
        out.push(scaling::Point {
            name,
            event_bytes,
            ticket_bytes: event.case.len(),
            peak_rss_kb: peak.unwrap_or(usage.max_rss_kb),
        });
    }
    Ok(out)
}

/// Fresh processes, alternating which runtime goes first, each timed from
/// spawn to its first delivered ticket, then killed.
pub async fn cold(
    o: &Opts,
    s: &Services,
    runtimes: &[Runtime],
    events: &[Event],
    feed: &mut Feed<'_>,
) -> Result<Vec<Cold>, String> {
    let event = events
        .iter()
        .find(|e| e.name == COLD_EVENT)
        .ok_or("no cold-start event")?;
    let mut cold: Vec<Cold> = runtimes.iter().map(|_| Cold::default()).collect();
    let n = runtimes.len();
    for round in 0..o.cold {
        // Each round starts with a different runtime.
        for i in (0..n).map(|k| (round + k) % n) {
            let rt = &runtimes[i];
            let raw = feed.next(event).await?;
            let (reads0, fetches0) = (s.secret_reads(), s.token_fetches());
            s.sm_proxy.trace_start();
            s.token_proxy.trace_start();
            let mut inst = rt
                .launch(&s.logs, &format!("cold-{round}"), Some(raw))
                .await?;
            let out = inst.first(Duration::from_secs(120)).await?;
            let peak = inst.child.peak_rss_kb();
            let usage = inst
                .child
                .stop(Duration::ZERO)
                .ok_or("could not reap a cold process")?;
            let c = &mut cold[i];
            // Where the time went: the first Secrets Manager read and token
            // fetch, as the proxies saw them.
            let waited = |seen: Vec<proxy::Seen>, key: &str| {
                seen.iter()
                    .find(|x| x.key == key)
                    .map(|x| (ms(x.arrived - inst.spawned), ms(x.answered - x.arrived)))
                    .unwrap_or_default()
            };
            c.secret_read
                .push(waited(s.sm_proxy.trace_take(), services::SECRET_READ));
            c.token_fetch
                .push(waited(s.token_proxy.trace_take(), services::TOKEN_FETCH));
            c.total_ms.push(ms(out.finished - inst.spawned));
            c.init_ms.push(ms(
                inst.api.first_next().unwrap_or(out.started) - inst.spawned
            ));
            c.cpu_ms.push(usage.cpu.as_secs_f64() * 1e3);
            c.rss_kb.push(peak.unwrap_or(usage.max_rss_kb));
            c.secret_reads.push(s.secret_reads() - reads0);
            c.token_fetches.push(s.token_fetches() - fetches0);
        }
    }
    Ok(cold)
}

/// What the warm run measured: each runtime's, mock-api's own times (by
/// the route of the event whose case it took) and how long the run took.
pub struct WarmRun {
    pub warm: Vec<Warm>,
    pub baseline: Vec<(Route, f64)>,
    pub span: Duration,
}

/// One warm process per runtime plus mock-api on its own, in interleaved
/// blocks over the same events, so drift on the machine hits all alike.
/// Each invocation's CPU time is read from the process's CPU clock around
/// it (`Instance::invoke_measured`).
pub async fn warm(
    o: &Opts,
    s: &Services,
    runtimes: &[Runtime],
    events: &[Event],
    feed: &mut Feed<'_>,
) -> Result<WarmRun, String> {
    let timeout = Duration::from_secs(30);
    let mut insts = Vec::new();
    for rt in runtimes {
        let first = feed.next(&events[0]).await?;
        let mut inst = rt.launch(&s.logs, "warm", Some(first)).await?;
        inst.first(Duration::from_secs(120)).await?;
        for k in 1..o.warmup {
            let raw = feed.next(&events[k % events.len()]).await?;
            inst.invoke(raw, timeout).await?;
        }
        inst.idle(timeout).await?;
        insts.push(inst);
    }
    let mut base = Baseline::new(s).await?;
    for k in 0..o.warmup {
        base.call(&events[k % events.len()]).await?;
    }

    let mut warm: Vec<Warm> = runtimes.iter().map(|_| Warm::default()).collect();
    // One slot per runtime plus mock-api's baseline, rotating.
    let slots = runtimes.len() + 1;
    let cpu0: Vec<Duration> = insts
        .iter()
        .map(|i| i.child.cpu_now().unwrap_or_default())
        .collect();
    let mut baseline = Vec::with_capacity(o.warm);
    let rounds = o.warm.div_ceil(o.block);
    let phase_start = Instant::now();
    let mut n = 0;
    for round in 0..rounds {
        let size = o.block.min(o.warm - round * o.block);
        for slot in 0..slots {
            let who = (round + slot) % slots;
            if who == runtimes.len() {
                for k in 0..size {
                    let e = &events[(n + k) % events.len()];
                    baseline.push((e.route, base.call(e).await?));
                }
                continue;
            }
            let inst = &mut insts[who];
            let (reads0, fetches0) = (s.secret_reads(), s.token_fetches());
            for k in 0..size {
                let e = &events[(n + k) % events.len()];
                let raw = feed.next(e).await?;
                let (out, cpu_ms) = inst.invoke_measured(raw, timeout).await?;
                warm[who].samples.push(Sample {
                    route: e.route,
                    latency_ms: ms(out.finished - out.started),
                    cpu_ms,
                });
            }
            warm[who].secret_reads += s.secret_reads() - reads0;
            warm[who].token_fetches += s.token_fetches() - fetches0;
        }
        n += size;
    }
    let span = phase_start.elapsed();
    for (i, inst) in insts.iter_mut().enumerate() {
        let peak = inst.child.peak_rss_kb();
        let usage = inst
            .child
            .stop(Duration::ZERO)
            .ok_or("could not reap a warm process")?;
        warm[i].cpu_ms_per_invocation =
            usage.cpu.saturating_sub(cpu0[i]).as_secs_f64() * 1e3 / o.warm as f64;
        warm[i].peak_rss_kb = peak.unwrap_or(usage.max_rss_kb);
    }
    Ok(WarmRun {
        warm,
        baseline,
        span,
    })
}

/// mock-api's own service time: the same case bodies, POSTed straight from
/// the harness with the same HTTP stack the notifier uses (reqwest, keep-alive).
struct Baseline<'a> {
    s: &'a Services,
    client: reqwest::Client,
    token: String,
    token_at: Instant,
}

impl<'a> Baseline<'a> {
    async fn new(s: &'a Services) -> Result<Self, String> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| e.to_string())?;
        Ok(Baseline {
            token: s.direct_token().await?,
            token_at: Instant::now(),
            client,
            s,
        })
    }

    async fn call(&mut self, e: &Event) -> Result<f64, String> {
        // Refreshed outside the timed part: the baseline is mock-api alone.
        if self.token_at.elapsed() > Duration::from_secs(self.s.token_ttl) / 2 {
            self.token = self.s.direct_token().await?;
            self.token_at = Instant::now();
        }
        let t0 = Instant::now();
        let r = self
            .client
            .post(self.s.cases_url())
            .query(&[("sendAutoResponder", "false")])
            .bearer_auth(&self.token)
            .header("content-type", "application/json")
            .body(e.case.clone())
            .send()
            .await
            .map_err(|err| format!("mock-api baseline: {err}"))?;
        let status = r.status();
        let body = r
            .bytes()
            .await
            .map_err(|err| format!("mock-api baseline: {err}"))?;
        let took = ms(t0.elapsed());
        let uid = serde_json::from_slice::<Value>(&body)
            .ok()
            .and_then(|v| v.get("Uid").and_then(Value::as_str).map(str::to_owned));
        match uid {
            Some(_) if status.is_success() => Ok(took),
            _ => Err(format!(
                "mock-api baseline: HTTP {status} for {}: {}",
                e.name,
                String::from_utf8_lossy(&body)
            )),
        }
    }
}

pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}
