//! Client errors in plain words for the status line: no wire codes, no endpoints, no
//! retry mechanics; the server's own sentence where it is one a person can act on.

use zchat_client::ClientError;
use zchat_protocol::ErrorCode;

/// What went wrong, for a person.
pub fn explain(e: &ClientError) -> String {
    match e {
        ClientError::Server { code, message } => match code {
            ErrorCode::Unauthorized => "your session has expired: sign in again".to_string(),
            ErrorCode::RateLimited => "too many attempts: wait a moment and try again".to_string(),
            ErrorCode::Internal => "the server failed to do it; try again".to_string(),
            ErrorCode::Unavailable => {
                "the server cannot reach its database right now; try again in a moment".to_string()
            }
            ErrorCode::TooLarge => "too large for the server".to_string(),
            ErrorCode::BadRequest | ErrorCode::UnsupportedVersion | ErrorCode::UnknownRequest => {
                "the server did not understand the request (is zchat up to date?)".to_string()
            }
            // The server's sentence says which name or text and why.
            _ if !message.trim().is_empty() => message.trim().to_string(),
            ErrorCode::NotFound => "no such user or channel".to_string(),
            ErrorCode::AlreadyExists => "that name is taken".to_string(),
            ErrorCode::Forbidden => "not allowed".to_string(),
            _ => "the server refused it".to_string(),
        },
        ClientError::Unreachable(_) => "the server does not answer".to_string(),
        ClientError::Local(m) => m.clone(),
        ClientError::UnexpectedReply { .. } => {
            "the server answered something unexpected (is zchat up to date?)".to_string()
        }
        // Already a sentence for a person, naming the server and the key to check.
        e @ ClientError::Handshake { .. } => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_codes_or_endpoints() {
        let e = ClientError::Server {
            code: ErrorCode::AlreadyExists,
            message: "channel #rust already exists".into(),
        };
        assert_eq!(explain(&e), "channel #rust already exists");
        let e = ClientError::Unreachable("tcp://127.0.0.1:22555".into());
        assert_eq!(explain(&e), "the server does not answer");
    }
}
