//! Slash commands typed into the input line, parsed without side effects.

use zchat_protocol::{validate, Target};

/// A parsed `/command`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `/join #c`
    Join(String),
    /// `/leave [#c]`: the open channel when no name is given.
    Leave(Option<String>),
    /// `/create #c description…`
    Create {
        channel: String,
        description: String,
    },
    /// `/dm @user [text…]`
    Dm { user: String, text: Option<String> },
    /// `/channels`: the channel browser.
    Channels,
    /// `/users`: the user picker.
    Users,
    /// `/help`
    Help,
    /// `/quit`
    Quit,
    /// `/logout`: forget the saved session and quit.
    Logout,
    /// `/me text` is not a command: `//text` sends a literal `/text`.
    Say(String),
}

/// Parses one submitted input. `None` when the text is not a command (send it as a message).
/// `Some(Err(msg))` for a malformed or unknown command, with a message for the status line.
pub fn parse(input: &str) -> Option<Result<Command, String>> {
    let trimmed = input.trim_start();
    let rest = trimmed.strip_prefix('/')?;
    if rest.starts_with('/') {
        return Some(Ok(Command::Say(rest.to_string())));
    }
    let (name, args) = match rest.split_once(char::is_whitespace) {
        Some((n, a)) => (n, a.trim()),
        None => (rest.trim_end(), ""),
    };
    let cmd = match name.to_ascii_lowercase().as_str() {
        "join" | "j" => channel_arg(args, "/join #channel").map(Command::Join),
        "leave" | "part" => {
            if args.is_empty() {
                Ok(Command::Leave(None))
            } else {
                channel_arg(args, "/leave [#channel]").map(|c| Command::Leave(Some(c)))
            }
        }
        "create" => {
            let (chan, desc) = args.split_once(char::is_whitespace).unwrap_or((args, ""));
            channel_arg(chan, "/create #channel description").and_then(|channel| {
                let description = desc.trim().to_string();
                validate::description(&description)
                    .map_err(|e| e.to_string())
                    .map(|()| Command::Create {
                        channel,
                        description,
                    })
            })
        }
        "dm" | "msg" | "query" => {
            let (user, text) = args.split_once(char::is_whitespace).unwrap_or((args, ""));
            if user.is_empty() {
                Err("usage: /dm @user [message]".to_string())
            } else {
                Target::user(user)
                    .map_err(|e| e.to_string())
                    .map(|t| Command::Dm {
                        user: t.name().to_string(),
                        text: Some(text.trim().to_string()).filter(|t| !t.is_empty()),
                    })
            }
        }
        "channels" | "list" => Ok(Command::Channels),
        "users" | "who" => Ok(Command::Users),
        "help" | "h" | "?" => Ok(Command::Help),
        "quit" | "q" | "exit" => Ok(Command::Quit),
        "logout" => Ok(Command::Logout),
        other => Err(format!("unknown command /{other} — try /help")),
    };
    Some(cmd)
}

fn channel_arg(arg: &str, usage: &str) -> Result<String, String> {
    if arg.is_empty() {
        return Err(format!("usage: {usage}"));
    }
    Target::channel(arg)
        .map(|t| t.name().to_string())
        .map_err(|e| e.to_string())
}

/// The commands, for the help popup (after the keys of `super::help::KEYS`): (syntax,
/// what it does).
pub const HELP: &[(&str, &str)] = &[
    ("/join #channel", "join (if needed) and open it; also /j"),
    (
        "/leave [#channel]",
        "leave this or that channel; on a DM, close it; also /part",
    ),
    (
        "/create #channel text",
        "create a channel with a description",
    ),
    (
        "/dm @user [text]",
        "open a direct conversation (and send text); also /msg, /query",
    ),
    ("/channels", "browse channels; Enter joins; also /list"),
    ("/users", "pick someone to message; also /who"),
    ("/help", "this help; also /h, /?, F1"),
    ("/logout", "forget the saved session and quit"),
    ("/quit", "quit; also /q, /exit, Ctrl+Q"),
    ("//text", "send text that starts with /"),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_commands() {
        assert_eq!(parse("hello"), None);
        assert_eq!(parse("/join #Dev"), Some(Ok(Command::Join("dev".into()))));
        assert_eq!(parse("/join dev"), Some(Ok(Command::Join("dev".into()))));
        assert_eq!(parse("/leave"), Some(Ok(Command::Leave(None))));
        assert_eq!(
            parse("/create #rust Rust talk 🦀"),
            Some(Ok(Command::Create {
                channel: "rust".into(),
                description: "Rust talk 🦀".into()
            }))
        );
        assert_eq!(
            parse("/dm @bob hi there"),
            Some(Ok(Command::Dm {
                user: "bob".into(),
                text: Some("hi there".into())
            }))
        );
        assert_eq!(
            parse("//notacommand"),
            Some(Ok(Command::Say("/notacommand".into())))
        );
        assert!(matches!(parse("/join"), Some(Err(_))));
        assert!(matches!(parse("/frobnicate"), Some(Err(_))));
        assert!(matches!(parse("/join #bad/name"), Some(Err(_))));
    }
}
