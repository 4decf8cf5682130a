//! The network side of the loop: the signed-in client and its live feed, and the effects
//! `App::update` asks for, each run as a task whose result comes back as an [`Action`].

use std::io::{stdout, Write};
use std::path::PathBuf;
use std::time::Duration;

use tokio::sync::mpsc;
use zchat_client::api::HistoryQuery;
use zchat_client::feed::{Feed, FeedEvent};
use zchat_client::{Client, ClientConfig, ClientError};
use zchat_protocol::{ChannelInfo, ErrorCode};

use super::explain::explain;
use crate::app::{Action, Effect, HistoryKind, SendFailure, HISTORY_PAGE};
use crate::session::Session;

/// What arrives on the loop's channel.
pub enum Msg {
    /// Something for `App::update`.
    Action(Action),
    /// A signed-in client, ready for the feed.
    Ready(Client, Session),
}

/// The network side: the client, its feed and where the feed's events arrive, and the
/// channel that effects' results come back on.
pub struct Net {
    client: Option<Client>,
    feed: Option<Feed>,
    events: Option<mpsc::UnboundedReceiver<FeedEvent>>,
    tx: mpsc::UnboundedSender<Msg>,
    home: PathBuf,
}

impl Net {
    /// Not signed in yet: no client, no feed.
    pub fn new(tx: mpsc::UnboundedSender<Msg>, home: PathBuf) -> Net {
        Net {
            client: None,
            feed: None,
            events: None,
            tx,
            home,
        }
    }

    /// Signed in: saves the session and starts the live feed, whose events the loop takes
    /// with [`Net::next_feed_event`].
    pub fn ready(&mut self, client: Client, session: Session) {
        if let Err(e) = session.save(&self.home) {
            tracing::warn!("could not save the session: {e:#}");
        }
        let (feed, events) =
            Feed::start(client.clone(), session.user.clone(), session.inbox.clone());
        self.client = Some(client);
        self.feed = Some(feed);
        self.events = Some(events);
    }

    /// The feed's next event; never resolves while there is no feed.
    pub async fn next_feed_event(&mut self) -> FeedEvent {
        match &mut self.events {
            Some(events) => match events.recv().await {
                Some(ev) => ev,
                None => {
                    self.events = None;
                    std::future::pending().await
                }
            },
            None => std::future::pending().await,
        }
    }

    /// A feed event that is already waiting, if any.
    pub fn try_feed_event(&mut self) -> Option<FeedEvent> {
        self.events.as_mut()?.try_recv().ok()
    }

    /// Runs `f` with the client on a task, sending its action back.
    fn spawn<F, Fut>(&self, f: F)
    where
        F: FnOnce(Client) -> Fut + Send + 'static,
        Fut: std::future::Future<Output = Option<Action>> + Send + 'static,
    {
        let Some(client) = self.client.clone() else {
            return;
        };
        let tx = self.tx.clone();
        tokio::spawn(async move {
            if let Some(a) = f(client).await {
                let _ = tx.send(Msg::Action(a));
            }
        });
    }

    /// Carries out one effect of `App::update`.
    pub fn perform(&mut self, fx: Effect) {
        match fx {
            Effect::SignIn {
                register,
                user,
                password,
                broker,
                proxy,
                server_key,
            } => {
                let tx = self.tx.clone();
                tokio::spawn(async move {
                    let endpoints = ClientConfig::new(broker, proxy).with_server_key(server_key);
                    let msg = match sign_in(register, user, password, endpoints).await {
                        Ok((client, session)) => Msg::Ready(client, session),
                        Err(e) => Msg::Action(Action::SignInFailed(e)),
                    };
                    let _ = tx.send(msg);
                });
            }
            Effect::Bootstrap => self.spawn(|c| async move {
                let channels = match c.whoami().await {
                    Ok(me) => me.channels,
                    Err(e) => return Some(rejected_or(e, Action::BootstrapFailed)),
                };
                let dms = match c.dms().await {
                    Ok(conversations) => conversations,
                    Err(e) => return Some(rejected_or(e, Action::BootstrapFailed)),
                };
                Some(Action::Bootstrap { channels, dms })
            }),
            Effect::LoadHistory {
                target,
                kind,
                before,
                after,
            } => self.spawn(move |c| async move {
                let limit = if kind == HistoryKind::After {
                    zchat_protocol::MAX_HISTORY_LIMIT
                } else {
                    HISTORY_PAGE
                };
                let query = HistoryQuery {
                    after,
                    before,
                    limit: Some(limit),
                };
                Some(match c.history(&target, query).await {
                    Ok(page) => Action::History {
                        target,
                        messages: page.messages,
                        has_more: page.has_more,
                        kind,
                    },
                    Err(e) => Action::HistoryFailed {
                        target,
                        error: explain(&e),
                        not_found: e.code() == Some(ErrorCode::NotFound),
                    },
                })
            }),
            Effect::Send {
                target,
                text,
                nonce,
            } => self.spawn(move |c| async move {
                let result = match c.send(&target, &text, Some(nonce)).await {
                    Ok(message) => Ok(message),
                    Err(e) if e.code() == Some(ErrorCode::NotFound) => {
                        Err(SendFailure::NotFound(explain(&e)))
                    }
                    Err(e)
                        if matches!(
                            e.code(),
                            Some(ErrorCode::Unavailable | ErrorCode::Internal)
                        ) =>
                    {
                        Err(SendFailure::NotNow(explain(&e)))
                    }
                    Err(e @ (ClientError::Server { .. } | ClientError::UnexpectedReply { .. })) => {
                        Err(SendFailure::Rejected(explain(&e)))
                    }
                    Err(e) => Err(SendFailure::Offline(explain(&e))),
                };
                Some(Action::Sent {
                    target,
                    nonce,
                    result,
                })
            }),
            Effect::MarkRead { target, seq } => self.spawn(move |c| async move {
                // Best effort: the next mark (or the server on reconnect) catches up.
                let _ = c.mark_read(&target, seq).await;
                None
            }),
            Effect::Join(channel) => {
                self.spawn(move |c| async move { Some(channel_reply(c.join(&channel).await)) });
            }
            Effect::Create {
                channel,
                description,
            } => self.spawn(move |c| async move {
                Some(channel_reply(
                    c.create_channel(&channel, &description).await,
                ))
            }),
            Effect::Leave(channel) => self.spawn(move |c| async move {
                Some(match c.leave(&channel).await {
                    Ok(_) => Action::Left(channel),
                    Err(e) => {
                        Action::Failed(format!("could not leave #{channel}: {}", explain(&e)))
                    }
                })
            }),
            Effect::ListChannels => self.spawn(|c| async move {
                Some(match c.channels().await {
                    Ok(channels) => Action::Channels(channels),
                    Err(e) => Action::Failed(format!("could not list channels: {}", explain(&e))),
                })
            }),
            Effect::ListUsers => self.spawn(|c| async move {
                Some(match c.users().await {
                    Ok(users) => Action::Users(users),
                    Err(e) => Action::Failed(format!("could not list users: {}", explain(&e))),
                })
            }),
            Effect::Watch { target, last_seen } => {
                if let Some(feed) = &self.feed {
                    feed.watch(target, last_seen);
                }
            }
            Effect::Unwatch(target) => {
                if let Some(feed) = &self.feed {
                    feed.unwatch(&target);
                }
            }
            Effect::Bell => {
                let mut out = stdout();
                let _ = out.write_all(b"\x07");
                let _ = out.flush();
            }
            Effect::Logout => {
                if let Err(e) = Session::clear(&self.home) {
                    tracing::warn!("could not remove the session: {e:#}");
                }
                if let Some(c) = self.client.clone() {
                    // Give the server a moment to revoke the token; quitting does not wait long.
                    let _ = std::thread::spawn(move || {
                        if let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                            .enable_all()
                            .build()
                        {
                            let _ = rt.block_on(async {
                                tokio::time::timeout(Duration::from_secs(2), c.logout()).await
                            });
                        }
                    })
                    .join();
                }
            }
            // The loop answers these itself (they concern the terminal).
            Effect::SetTitle(_) | Effect::Repaint | Effect::Quit => {}
        }
    }
}

fn channel_reply(r: Result<ChannelInfo, ClientError>) -> Action {
    match r {
        Ok(channel) => Action::Joined(channel),
        Err(e) => Action::Failed(explain(&e)),
    }
}

/// An expired or revoked token sends the user back to the form; anything else is reported.
fn rejected_or(e: ClientError, other: fn(String) -> Action) -> Action {
    match e.code() {
        Some(ErrorCode::Unauthorized) => {
            Action::SessionRejected("session expired: please sign in again".into())
        }
        _ => other(explain(&e)),
    }
}

/// Registers (optionally) and logs in; the error is a sentence for the form.
async fn sign_in(
    register: bool,
    user: String,
    password: String,
    config: ClientConfig,
) -> Result<(Client, Session), String> {
    let broker = config.broker.clone();
    // A quick ping first, so an unreachable server (or a wrong server key) is reported in
    // seconds rather than after the long login timeouts.
    let mut probe = config.clone();
    probe.request_timeout = Duration::from_millis(1500);
    probe.attempts = 2;
    let probe = Client::start(probe).map_err(|e| e.to_string())?;
    match probe.ping().await {
        Err(ClientError::Unreachable(_)) => return Err(format!("server unreachable at {broker}")),
        Err(e @ ClientError::Handshake { .. }) => return Err(explain(&e)),
        _ => {}
    }
    drop(probe);
    let client = Client::start(config).map_err(|e| e.to_string())?;
    let explain = |e: ClientError| match &e {
        ClientError::Unreachable(_) => format!("server unreachable at {broker}"),
        ClientError::Server { code, message } => match code {
            ErrorCode::WrongCredentials => "wrong user name or password".to_string(),
            ErrorCode::AlreadyExists => format!("the name {user} is taken"),
            _ => message.clone(),
        },
        ClientError::Local(m) => m.clone(),
        other @ (ClientError::UnexpectedReply { .. } | ClientError::Handshake { .. }) => {
            explain(other)
        }
    };
    if register {
        client.register(&user, &password).await.map_err(explain)?;
    }
    let session = client.login(&user, &password).await.map_err(explain)?;
    Ok((client.clone(), Session::from_login(&client, session)))
}
