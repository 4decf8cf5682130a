//! The scriptable subcommands: `zchat register`, `send`, `tail`, ... Each prints plain
//! lines (or JSON with `--json` where it makes sense), exits 0 on success and prints one
//! `zchat: error: ...` line and exits non-zero on failure — including when the server
//! answers with a reply of the wrong kind.

mod args;
mod output;
mod tail;

use anyhow::{anyhow, Result};
use zchat_client::api::HistoryQuery;
use zchat_client::ClientError;
use zchat_protocol::{ErrorCode, Target};

pub use args::{Cli, Command, Env, PasswordArg, DEFAULT_BROKER, DEFAULT_PROXY};

use crate::session::Session;
use args::{parse_target, password};

/// Runs one subcommand.
pub async fn run(env: Env, command: Command) -> Result<()> {
    match command {
        Command::Register { user, password: pw } => {
            let pw = password(pw, &user)?;
            let client = env.client()?;
            let user = client.register(&user, &pw).await?;
            if let Some(key) = &client.config().server_key {
                crate::session::remember_key(&env.home, &env.broker, key)?;
            }
            println!("registered {user}; now run `zchat login {user}`");
        }
        Command::Login { user, password: pw } => {
            let pw = password(pw, &user)?;
            let client = env.client()?;
            let session = client.login(&user, &pw).await?;
            let saved = Session::from_login(&client, session);
            saved.save(&env.home)?;
            println!("signed in as {}", saved.user);
        }
        Command::Logout => {
            let (client, session) = env.signed_in()?;
            let result = client.logout().await;
            Session::clear(&env.home)?;
            match result {
                Ok(()) => println!("signed out {}", session.user),
                Err(e) if e.code() == Some(ErrorCode::Unauthorized) => {
                    println!(
                        "signed out {} (the session had already ended)",
                        session.user
                    );
                }
                Err(e) => return Err(e.into()),
            }
        }
        Command::Whoami => {
            let (client, _) = env.signed_in()?;
            let me = client.whoami().await?;
            println!(
                "{} (session expires {})",
                me.user,
                output::datetime(me.expires_at)
            );
            for c in me.channels {
                println!("{}", output::channel_line(&c));
            }
        }
        Command::Channels => {
            let (client, _) = env.signed_in()?;
            let channels = client.channels().await?;
            if channels.is_empty() {
                println!("no channels yet; create one with `zchat create '#name'`");
            }
            for c in channels {
                println!("{}", output::channel_line(&c));
            }
        }
        Command::Create { channel, desc } => {
            let (client, _) = env.signed_in()?;
            let target = Target::channel(&channel).map_err(|e| anyhow!("{e}"))?;
            let channel = client.create_channel(target.name(), &desc).await?;
            println!("created #{} (joined)", channel.name);
        }
        Command::Join { channel } => {
            let (client, _) = env.signed_in()?;
            let target = Target::channel(&channel).map_err(|e| anyhow!("{e}"))?;
            let channel = client.join(target.name()).await?;
            println!("joined #{} ({} members)", channel.name, channel.members);
        }
        Command::Leave { channel } => {
            let (client, _) = env.signed_in()?;
            let target = Target::channel(&channel).map_err(|e| anyhow!("{e}"))?;
            let channel = client.leave(target.name()).await?;
            println!("left #{}", channel.name);
        }
        Command::Users => {
            let (client, _) = env.signed_in()?;
            for u in client.users().await? {
                println!("{}\tsince {}", u.name, output::datetime(u.created_at));
            }
        }
        Command::Dms => {
            let (client, _) = env.signed_in()?;
            let conversations = client.dms().await?;
            if conversations.is_empty() {
                println!("no direct messages yet");
            }
            for d in conversations {
                println!("{}", output::dm_line(&d));
            }
        }
        Command::Send {
            target,
            text,
            nonce,
        } => {
            let (client, _) = env.signed_in()?;
            let target = parse_target(&target)?;
            let text = if text.len() == 1 && text[0] == "-" {
                let mut s = String::new();
                std::io::Read::read_to_string(&mut std::io::stdin(), &mut s)?;
                s.trim_end_matches('\n').to_string()
            } else {
                text.join(" ")
            };
            zchat_protocol::validate::text(&text).map_err(|e| anyhow!("{e}"))?;
            let nonce = nonce.unwrap_or_else(rand::random);
            let message = client
                .send(&target, &text, Some(nonce))
                .await
                .map_err(|e| match e {
                    ClientError::Unreachable(_) => anyhow!(
                        "{e}; to retry without risking a duplicate, repeat the command with --nonce {nonce}"
                    ),
                    other => other.into(),
                })?;
            println!(
                "sent {} #{} at {}",
                message.target,
                message.seq,
                output::datetime(message.ts)
            );
        }
        Command::History {
            target,
            limit,
            after,
            before,
            json,
        } => {
            let (client, session) = env.signed_in()?;
            let target = parse_target(&target)?;
            let query = HistoryQuery {
                after,
                before,
                limit: Some(limit),
            };
            let page = client.history(&target, query).await?;
            for m in &page.messages {
                println!("{}", output::message(m, &session.user, json));
            }
        }
        Command::Tail { targets, json } => tail::run(env, targets, json).await?,
        #[cfg(feature = "demo")]
        Command::Demo {
            join: true, user, ..
        } => {
            if env.broker_flag.is_some() || env.proxy_flag.is_some() {
                return Err(anyhow!(
                    "`zchat demo --join` takes the running demo's endpoints from {}: drop \
                     --broker/--proxy (and ZCHAT_BROKER/ZCHAT_PROXY), or sign in anywhere \
                     with `zchat --broker … --proxy …`",
                    crate::demo::endpoints_file(&env.home).display()
                ));
            }
            crate::demo::join(&env.home, &user, env.bell).await?;
        }
        #[cfg(feature = "demo")]
        Command::Demo {
            data_dir,
            bots,
            pace,
            ..
        } => {
            crate::demo::run(crate::demo::DemoOptions {
                data_dir,
                bots,
                pace_secs: pace.max(0.5),
                bell: env.bell,
                broker: env.broker_flag,
                proxy: env.proxy_flag,
                home: env.home,
            })
            .await?;
        }
    }
    Ok(())
}
