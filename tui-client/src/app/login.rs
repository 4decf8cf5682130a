//! The sign-in form: user, masked password, login/register toggle, editable server address
//! and server key (refused empty unless `--plaintext`: never a silent plaintext attempt).

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui_textarea::TextArea;

/// Which field has focus.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    /// User name.
    User,
    /// Password (masked).
    Password,
    /// Broker endpoint (requests).
    Broker,
    /// Proxy endpoint (live events).
    Proxy,
    /// The server's CURVE public key.
    ServerKey,
}

impl Field {
    const ORDER: [Field; 5] = [
        Field::User,
        Field::Password,
        Field::Broker,
        Field::Proxy,
        Field::ServerKey,
    ];

    fn step(self, forward: bool) -> Field {
        let i = Self::ORDER.iter().position(|f| *f == self).unwrap_or(0);
        let n = Self::ORDER.len();
        Self::ORDER[if forward {
            (i + 1) % n
        } else {
            (i + n - 1) % n
        }]
    }
}

/// Login or create an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Sign in to an existing account.
    Login,
    /// Create an account, then sign in.
    Register,
}

/// What a key did on the form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FormOutcome {
    /// Nothing to do outside the form.
    None,
    /// Enter on a complete form.
    Submit,
}

/// The form state.
#[derive(Debug, Clone)]
pub struct LoginForm {
    /// Login or register.
    pub mode: Mode,
    /// Focused field.
    pub focus: Field,
    /// User name editor.
    pub user: TextArea<'static>,
    /// Password editor (masked).
    pub password: TextArea<'static>,
    /// Broker endpoint editor.
    pub broker: TextArea<'static>,
    /// Proxy endpoint editor.
    pub proxy: TextArea<'static>,
    /// Server key editor.
    pub server_key: TextArea<'static>,
    /// `--plaintext`: the key field is ignored and may stay empty.
    pub plaintext: bool,
    /// The error from the last attempt, shown under the form.
    pub error: Option<String>,
    /// A note (e.g. "account created").
    pub info: Option<String>,
    /// A request is in flight.
    pub busy: bool,
}

impl LoginForm {
    /// A form pre-filled with the server addresses (and a user name, if known).
    pub fn new(broker: &str, proxy: &str, user: &str) -> Self {
        let mut password = single_line("");
        password.set_mask_char('•');
        let mut form = LoginForm {
            mode: Mode::Login,
            focus: if user.is_empty() {
                Field::User
            } else {
                Field::Password
            },
            user: single_line(user),
            password,
            broker: single_line(broker),
            proxy: single_line(proxy),
            server_key: single_line(""),
            plaintext: false,
            error: None,
            info: None,
            busy: false,
        };
        form.restyle();
        form
    }

    /// The text of a field.
    pub fn value(&self, f: Field) -> String {
        self.editor(f).lines().join("")
    }

    /// The editor of a field.
    pub fn editor(&self, f: Field) -> &TextArea<'static> {
        match f {
            Field::User => &self.user,
            Field::Password => &self.password,
            Field::Broker => &self.broker,
            Field::Proxy => &self.proxy,
            Field::ServerKey => &self.server_key,
        }
    }

    /// Prefills the server key; `plaintext` (from `--plaintext`) lets it stay empty.
    pub fn set_server_key(&mut self, key: &str, plaintext: bool) {
        self.server_key = single_line(key);
        self.plaintext = plaintext;
        self.restyle();
    }

    /// The key to connect with: `None` under `--plaintext`. Call after [`Self::validate`].
    pub fn server_key(&self) -> Option<String> {
        let key = self.value(Field::ServerKey).trim().to_string();
        (!self.plaintext).then_some(key)
    }

    fn editor_mut(&mut self, f: Field) -> &mut TextArea<'static> {
        match f {
            Field::User => &mut self.user,
            Field::Password => &mut self.password,
            Field::Broker => &mut self.broker,
            Field::Proxy => &mut self.proxy,
            Field::ServerKey => &mut self.server_key,
        }
    }

    /// Switches between login and register.
    pub fn toggle_mode(&mut self) {
        self.mode = match self.mode {
            Mode::Login => Mode::Register,
            Mode::Register => Mode::Login,
        };
        self.error = None;
    }

    /// Checks the fields before sending anything.
    pub fn validate(&self) -> Result<(), String> {
        let user = self.value(Field::User);
        zchat_protocol::validate::user_name(&user).map_err(|e| e.to_string())?;
        let pw = self.value(Field::Password);
        if pw.is_empty() {
            return Err("enter your password".into());
        }
        if self.mode == Mode::Register {
            zchat_protocol::validate::password(&pw).map_err(|e| e.to_string())?;
        }
        if self.value(Field::Broker).trim().is_empty() || self.value(Field::Proxy).trim().is_empty()
        {
            return Err("enter the server addresses".into());
        }
        if !self.plaintext {
            let key = self.value(Field::ServerKey);
            if key.trim().is_empty() {
                return Err(crate::server_key::FORM_NO_KEY.into());
            }
            crate::server_key::check(&key, "server key")?;
        }
        Ok(())
    }

    /// Handles a key press.
    pub fn key(&mut self, key: KeyEvent) -> FormOutcome {
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        match key.code {
            KeyCode::Tab | KeyCode::Down => self.focus = self.focus.step(true),
            KeyCode::BackTab | KeyCode::Up => self.focus = self.focus.step(false),
            KeyCode::F(2) => self.toggle_mode(),
            KeyCode::Char('r') if ctrl => self.toggle_mode(),
            KeyCode::Enter => {
                if self.busy {
                    return FormOutcome::None;
                }
                match self.validate() {
                    Ok(()) => {
                        self.error = None;
                        return FormOutcome::Submit;
                    }
                    Err(e) => self.error = Some(e),
                }
            }
            _ => {
                let f = self.focus;
                self.editor_mut(f).input(key);
            }
        }
        self.restyle();
        FormOutcome::None
    }

    /// Pasted text goes into the focused field (newlines dropped).
    pub fn paste(&mut self, text: &str) {
        let f = self.focus;
        self.editor_mut(f)
            .insert_str(text.replace(['\r', '\n'], ""));
    }

    fn restyle(&mut self) {
        use ratatui::style::{Modifier, Style};
        for f in Field::ORDER {
            let focused = f == self.focus;
            let e = self.editor_mut(f);
            e.set_cursor_line_style(Style::default());
            e.set_cursor_style(if focused {
                Style::default().add_modifier(Modifier::REVERSED)
            } else {
                Style::default()
            });
        }
    }
}

fn single_line(text: &str) -> TextArea<'static> {
    let mut t = TextArea::new(vec![text.to_string()]);
    t.move_cursor(ratatui_textarea::CursorMove::End);
    t
}
