//! `zchat tail`: live messages, line by line, until Ctrl-C.

use anyhow::{bail, Result};
use zchat_client::api::HistoryQuery;
use zchat_client::feed::{Feed, FeedEvent};
use zchat_protocol::Target;

use super::args::{parse_target, Env};
use super::output;

/// `zchat tail`: a [`Feed`] printed line by line until Ctrl-C.
pub(super) async fn run(env: Env, targets: Vec<String>, json: bool) -> Result<()> {
    let (client, session) = env.signed_in()?;
    let only: Vec<Target> = targets
        .iter()
        .map(|t| parse_target(t))
        .collect::<Result<_>>()?;
    let me = client.whoami().await?;
    let (channels, inbox, user) = (me.channels, me.inbox, me.user);
    let (feed, mut events) = Feed::start(client.clone(), user.clone(), inbox);
    // Start from "now": each conversation's newest seq is the snapshot.
    let watch_channels: Vec<_> = if only.is_empty() {
        channels
            .iter()
            .map(|c| (Target::Channel(c.name.clone()), c.last_seq))
            .collect()
    } else {
        let mut v = Vec::new();
        for t in only.iter().filter(|t| t.is_channel()) {
            let page = client.history(t, HistoryQuery::latest(1)).await?;
            let last = page.messages.last().map_or(0, |m| m.seq);
            v.push((t.clone(), last));
        }
        v
    };
    for (t, last) in watch_channels {
        feed.watch(t, last);
    }
    let dm_filter: Option<Vec<String>> = (!only.is_empty()).then(|| {
        only.iter()
            .filter(|t| !t.is_channel())
            .map(zchat_protocol::Target::key)
            .collect()
    });
    let names: Vec<String> = if only.is_empty() {
        vec!["joined channels and direct messages".into()]
    } else {
        only.iter().map(std::string::ToString::to_string).collect()
    };
    eprintln!(
        "tail: {} listening on {} (Ctrl-C to stop)",
        session.user,
        names.join(", ")
    );
    loop {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => return Ok(()),
            ev = events.recv() => match ev {
                Some(FeedEvent::Message(m)) => {
                    let conv = m.conversation_for(&user);
                    if !conv.is_channel() {
                        if let Some(f) = &dm_filter {
                            if !f.contains(&conv.key()) { continue; }
                        }
                    }
                    println!("{}", output::message(&m, &user, json));
                }
                Some(FeedEvent::HandshakeFailed(reason)) => bail!("{reason}"),
                Some(FeedEvent::Connection { connected: false, .. }) => {
                    eprintln!("tail: connection lost, reconnecting…");
                }
                Some(_) => {}
                None => bail!("feed stopped"),
            }
        }
    }
}
