//! Endpoint lists: `--broker`/`--proxy` (and `ZCHAT_BROKER`/`ZCHAT_PROXY`) take one endpoint
//! or several, separated by commas, so that a client can fail over between redundant brokers
//! and hear every redundant proxy (PROTOCOL.md §11.1). One parser for every program, so that
//! they all accept and refuse the same lists with the same words.

use crate::ClientError;

/// The endpoints of a comma-separated list, in order, each trimmed of surrounding spaces:
/// `"tcp://a:5555, tcp://b:5555"` → `["tcp://a:5555", "tcp://b:5555"]`. An empty list or
/// an empty item (`"a,,b"`, a trailing comma) is an error naming the item, rather than an
/// endpoint that can never connect.
pub fn parse_list(list: &str) -> Result<Vec<String>, ClientError> {
    let items: Vec<String> = list.split(',').map(|s| s.trim().to_string()).collect();
    if items.len() == 1 && items[0].is_empty() {
        return Err(ClientError::Local("no endpoint given (empty list)".into()));
    }
    if let Some(i) = items.iter().position(String::is_empty) {
        return Err(ClientError::Local(format!(
            "empty endpoint at position {} in the list {list:?} (endpoints are separated by \
             single commas, e.g. tcp://10.0.0.1:5555,tcp://10.0.0.2:5555)",
            i + 1
        )));
    }
    Ok(items)
}

/// The list written the one way it is compared and saved: items trimmed, joined by `,`.
pub fn normalize_list(list: &str) -> Result<String, ClientError> {
    Ok(parse_list(list)?.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_are_split_trimmed_and_checked() {
        assert_eq!(
            parse_list("tcp://127.0.0.1:5555").unwrap(),
            vec!["tcp://127.0.0.1:5555"]
        );
        assert_eq!(
            parse_list(" tcp://a:1 ,tcp://b:2").unwrap(),
            vec!["tcp://a:1", "tcp://b:2"]
        );
        assert_eq!(
            normalize_list("tcp://a:1 , tcp://b:2").unwrap(),
            "tcp://a:1,tcp://b:2"
        );
        for bad in [
            "",
            "  ",
            "tcp://a:1,",
            ",tcp://a:1",
            "tcp://a:1,,tcp://b:2",
            "a, ,b",
        ] {
            let e = parse_list(bad).expect_err(bad).to_string();
            assert!(e.contains("empty"), "{bad:?}: {e}");
        }
        let e = parse_list("tcp://a:1,,tcp://b:2").unwrap_err().to_string();
        assert!(e.contains("position 2"), "{e}");
    }
}
