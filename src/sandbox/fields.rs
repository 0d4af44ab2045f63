//! Reading request fields the way the vendors accept them: recipients in one normal form,
//! strings or numbers, whole numbers, emails and E.164 digits.

use serde_json::Value;

/// An email lower-cased, or a phone number as `+` and its digits.
pub(super) fn normalize(recipient: &str) -> String {
    let trimmed = recipient.trim();
    if trimmed.contains('@') {
        trimmed.to_lowercase()
    } else {
        let digits: String = trimmed.chars().filter(char::is_ascii_digit).collect();
        format!("+{digits}")
    }
}

/// A string, or a number written as a string (codes and lengths arrive both ways).
pub(super) fn string_or_number(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// [`string_or_number`], trimmed; `None` when nothing is left.
pub(super) fn trimmed_text(value: Option<&Value>) -> Option<String> {
    string_or_number(value)
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
}

/// A whole number, also from a string of digits.
pub(super) fn whole_number(value: Option<&Value>) -> Option<u64> {
    match value? {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// A plausible email: one `@`, something before it, a dotted domain after, no spaces.
pub(super) fn is_email(text: &str) -> bool {
    let Some((local, domain)) = text.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && text.len() <= 254
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !text.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// The digits of an E.164 number after the `+`: 8 to 15 of them, country code first.
pub(super) fn is_e164_digits(digits: &str) -> bool {
    (8..=15).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recipients_normalize_to_one_form() {
        assert_eq!(normalize(" Jane@Example.com "), "jane@example.com");
        assert_eq!(normalize("+91 91891-95123"), "+919189195123");
        assert_eq!(normalize("919189195123"), "+919189195123");
    }

    #[test]
    fn e164_digits_are_eight_to_fifteen_digits() {
        assert!(is_e164_digits("5511999888777"));
        assert!(!is_e164_digits("1234567"));
        assert!(!is_e164_digits("1234567890123456"));
        assert!(!is_e164_digits("55 11999888777"));
        assert!(!is_e164_digits(""));
    }
}
