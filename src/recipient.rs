//! Who receives the code: an email address or an E.164 phone number, validated locally and
//! masked whenever it is printed.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::{Error, ErrorKind};
use crate::provider::OtpCode;

/// An email address, checked for a plausible shape (`local@domain.tld`, no spaces or control
/// characters, at most 254 characters). The domain is lower-cased.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

/// A phone number in E.164 form: `+`, a country code and the subscriber number, 8 to 15 digits
/// in all. Spaces, dots, dashes and parentheses are accepted on input and dropped.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Phone(String);

/// Where a code goes: an email address or a phone number.
///
/// Parsing follows the command line's rule: a value containing `@` is an email, one starting with
/// `+` is a phone number, anything else is `invalid_recipient`. `Debug` and `Display` mask it.
///
/// ```
/// use otpkit::Recipient;
///
/// let email: Recipient = "jane.doe@example.com".parse()?;
/// assert_eq!(email.to_string(), "j***@example.com");
/// assert_eq!(email.as_str(), "jane.doe@example.com");
///
/// let phone: Recipient = "+44 7700 905622".parse()?;
/// assert_eq!(phone.as_str(), "+447700905622");
/// assert_eq!(format!("{phone:?}"), "Phone(+44******5622)");
///
/// assert!("07700 905622".parse::<Recipient>().is_err());
/// # Ok::<(), otpkit::Error>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub enum Recipient {
    /// An email address.
    Email(Email),
    /// A phone number.
    Phone(Phone),
}

fn invalid(message: &str) -> Error {
    Error::new(ErrorKind::InvalidRecipient, message)
}

impl Email {
    /// Parses and validates an email address.
    pub fn parse(input: &str) -> Result<Self, Error> {
        let value = input.trim();
        if value.is_empty() || value.len() > 254 {
            return Err(invalid("an email address must be 3 to 254 characters"));
        }
        if value
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || matches!(c, '<' | '>' | '"' | ','))
        {
            return Err(invalid(
                "an email address cannot contain spaces, quotes, commas or angle brackets",
            ));
        }
        let Some((local, domain)) = value.rsplit_once('@') else {
            return Err(invalid("an email address needs an `@`"));
        };
        if local.is_empty() || local.len() > 64 || local.contains('@') {
            return Err(invalid(
                "the part before `@` must be 1 to 64 characters and hold no other `@`",
            ));
        }
        let labels_ok = domain.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_alphanumeric() || c == '-')
        });
        if !domain.contains('.') || !labels_ok {
            return Err(invalid(
                "the part after `@` must be a domain such as example.com",
            ));
        }
        // Domains are case-insensitive and stored lower-cased; most arrive lower-case ASCII
        // already, and are then kept as they are without formatting a copy.
        if domain.bytes().all(|b| b.is_ascii() && !b.is_ascii_uppercase()) {
            return Ok(Email(value.to_owned()));
        }
        Ok(Email(format!("{local}@{}", domain.to_lowercase())))
    }

    /// The address, unmasked: for putting it on the wire.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The address masked for logs: `j***@example.com`.
    pub fn masked(&self) -> String {
        mask_email(&self.0)
    }
}

impl Phone {
    /// Parses and validates an E.164 phone number.
    pub fn parse(input: &str) -> Result<Self, Error> {
        let value = input.trim();
        let Some(rest) = value.strip_prefix('+') else {
            return Err(invalid(
                "a phone number must be in E.164 form, starting with `+` and the country code",
            ));
        };
        let mut digits = String::with_capacity(rest.len() + 1);
        digits.push('+');
        for c in rest.chars() {
            match c {
                '0'..='9' => digits.push(c),
                ' ' | '-' | '.' | '(' | ')' => {}
                _ => return Err(invalid("a phone number may hold only digits after `+`")),
            }
        }
        let count = digits.len() - 1;
        if !(8..=15).contains(&count) || digits.as_bytes()[1] == b'0' {
            return Err(invalid(
                "an E.164 phone number has 8 to 15 digits and a country code that does not start with 0",
            ));
        }
        Ok(Phone(digits))
    }

    /// The number in E.164 form with its `+`, unmasked: for putting it on the wire.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The digits without the `+` (country code included), as some providers want them.
    pub fn digits(&self) -> &str {
        &self.0[1..]
    }

    /// The national number when the phone has the given country code (`"91"`, `"86"`, …).
    ///
    /// ```
    /// let phone = otpkit::Phone::parse("+919876543210")?;
    /// assert_eq!(phone.national_number("91"), Some("9876543210"));
    /// assert_eq!(phone.national_number("86"), None);
    /// # Ok::<(), otpkit::Error>(())
    /// ```
    pub fn national_number(&self, country_code: &str) -> Option<&str> {
        self.digits().strip_prefix(country_code)
    }

    /// The number masked for logs: `+44******5622`.
    pub fn masked(&self) -> String {
        mask_digits(&self.0)
    }
}

impl Recipient {
    /// Parses a recipient: `@` means email, a leading `+` means phone, anything else is
    /// `invalid_recipient`.
    pub fn parse(input: &str) -> Result<Self, Error> {
        let value = input.trim();
        if value.contains('@') {
            Email::parse(value).map(Recipient::Email)
        } else if value.starts_with('+') {
            Phone::parse(value).map(Recipient::Phone)
        } else {
            Err(invalid(
                "a recipient is an email address (with `@`) or an E.164 phone number (starting with `+`)",
            ))
        }
    }

    /// The value, unmasked: for putting it on the wire.
    pub fn as_str(&self) -> &str {
        match self {
            Recipient::Email(email) => email.as_str(),
            Recipient::Phone(phone) => phone.as_str(),
        }
    }

    /// The value masked for logs and errors.
    pub fn masked(&self) -> String {
        match self {
            Recipient::Email(email) => email.masked(),
            Recipient::Phone(phone) => phone.masked(),
        }
    }

    /// The email, if this is one.
    pub fn email(&self) -> Option<&Email> {
        match self {
            Recipient::Email(email) => Some(email),
            Recipient::Phone(_) => None,
        }
    }

    /// The phone number, if this is one.
    pub fn phone(&self) -> Option<&Phone> {
        match self {
            Recipient::Phone(phone) => Some(phone),
            Recipient::Email(_) => None,
        }
    }
}

impl FromStr for Recipient {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        Recipient::parse(s)
    }
}

impl From<Email> for Recipient {
    fn from(email: Email) -> Self {
        Recipient::Email(email)
    }
}

impl From<Phone> for Recipient {
    fn from(phone: Phone) -> Self {
        Recipient::Phone(phone)
    }
}

macro_rules! masked_fmt {
    ($ty:ty, $debug_name:literal) => {
        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.masked())
            }
        }
        impl fmt::Debug for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!($debug_name, "({})"), self.masked())
            }
        }
    };
}

masked_fmt!(Email, "Email");
masked_fmt!(Phone, "Phone");

impl fmt::Display for Recipient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked())
    }
}

impl fmt::Debug for Recipient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Recipient::Email(email) => fmt::Debug::fmt(email, f),
            Recipient::Phone(phone) => fmt::Debug::fmt(phone, f),
        }
    }
}

impl Serialize for Recipient {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Recipient {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(deserializer)?;
        Recipient::parse(&raw).map_err(serde::de::Error::custom)
    }
}

fn mask_email(value: &str) -> String {
    match value.rsplit_once('@') {
        Some((local, domain)) => {
            let first = local.chars().next().unwrap_or('*');
            format!("{first}***@{domain}")
        }
        None => "***".to_owned(),
    }
}

/// Keeps a leading `+`, the first two and the last four digits: `+44******5622`.
fn mask_digits(value: &str) -> String {
    let digits: Vec<char> = value.chars().filter(char::is_ascii_digit).collect();
    let prefix = if value.starts_with('+') { "+" } else { "" };
    if digits.len() < 8 {
        return format!("{prefix}{}", "*".repeat(digits.len()));
    }
    let head: String = digits[..2].iter().collect();
    let tail: String = digits[digits.len() - 4..].iter().collect();
    format!("{prefix}{head}{}{tail}", "*".repeat(digits.len() - 6))
}

/// Masks what a provider message may echo back: email addresses, phone numbers and runs of four
/// or more digits (codes). Other text is kept.
///
/// ```
/// assert_eq!(
///     otpkit::scrub("OTP 123456 sent to jane@example.com"),
///     "OTP ****** sent to j***@example.com"
/// );
/// ```
pub fn scrub(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    while !rest.is_empty() {
        let end = rest
            .find(|c: char| c.is_whitespace() || matches!(c, ',' | ';' | '"' | '\'' | '(' | ')'))
            .unwrap_or(rest.len());
        let (word, tail) = rest.split_at(end);
        out.push_str(&scrub_word(word));
        let sep_len = tail.chars().next().map_or(0, char::len_utf8);
        out.push_str(&tail[..sep_len]);
        rest = &tail[sep_len..];
    }
    out
}

fn scrub_word(word: &str) -> String {
    if word.contains('@') {
        let trimmed = word.trim_end_matches(['.', ':', '!', '?']);
        // The word may glue more onto the address (`email=jane@example.com=+4420…`): mask digit
        // runs in what is left visible too.
        let masked = mask_digit_runs(&mask_email(trimmed));
        return format!("{masked}{}", &word[trimmed.len()..]);
    }
    // A phone number keeps its first two and last four digits, so only a word that cannot be a
    // code is masked that way: one written with `+`, or with more digits than any code has.
    // A bare run of 8 to 10 digits may be a code, and is masked whole.
    let digit_count = word.chars().filter(char::is_ascii_digit).count();
    let phone_like = if let Some(rest) = word.strip_prefix('+') {
        rest.starts_with(|c: char| c.is_ascii_digit())
    } else {
        word.starts_with(|c: char| c.is_ascii_digit()) && digit_count > OtpCode::MAX_LEN
    };
    if digit_count >= 8 && phone_like {
        return mask_digits(word);
    }
    mask_digit_runs(word)
}

/// Masks runs of four or more digits one by one, so `OTP:123456.` keeps its punctuation.
fn mask_digit_runs(word: &str) -> String {
    let mut out = String::with_capacity(word.len());
    let mut run = String::new();
    for c in word.chars() {
        if c.is_ascii_digit() {
            run.push(c);
            continue;
        }
        flush_run(&mut out, &mut run);
        out.push(c);
    }
    flush_run(&mut out, &mut run);
    out
}

fn flush_run(out: &mut String, run: &mut String) {
    if run.len() >= 4 {
        out.push_str(&"*".repeat(run.len()));
    } else {
        out.push_str(run);
    }
    run.clear();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scrub_hides_every_digit_of_long_codes() {
        // Codes run to ten digits: none of their digits may survive, while a phone number
        // (with `+`, or longer than any code) keeps the usual two-and-four.
        for code in ["1234", "123456", "12345678", "1234567890"] {
            let masked = "*".repeat(code.len());
            assert_eq!(
                scrub(&format!("code {code} is wrong")),
                format!("code {masked} is wrong")
            );
            assert_eq!(scrub(&format!("OTP {code}.")), format!("OTP {masked}."));
        }
        assert_eq!(scrub("+14155550123"), "+14*****0123");
        assert_eq!(scrub("sent to 919876543210"), "sent to 91******3210");
    }

    #[test]
    fn scrub_masks_numbers_glued_to_an_address() {
        let scrubbed = scrub("is=jane223@example.com=+442079474093");
        assert!(!scrubbed.contains("442079474093"), "{scrubbed}");
        assert!(!scrubbed.contains("jane223"), "{scrubbed}");
    }

    #[test]
    fn emails_are_validated() {
        for good in ["a@b.co", "jane.doe+otp@Example.COM", "x_y@sub.domain.io"] {
            assert!(Email::parse(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "@example.com",
            "jane@",
            "jane@localhost",
            "jane doe@example.com",
            "jane@exa mple.com",
            "jane@-example.com",
            "a@b@c.com",
            "jane@example..com",
            "jane@example.com\r\nBcc: x@y.z",
            "<jane@example.com>",
        ] {
            let err = Email::parse(bad).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidRecipient, "{bad:?}");
        }
        assert_eq!(
            Email::parse("Jane@Example.COM").unwrap().as_str(),
            "Jane@example.com"
        );
    }

    #[test]
    fn phones_are_validated() {
        assert_eq!(
            Phone::parse("+1 (415) 555-0123").unwrap().as_str(),
            "+14155550123"
        );
        for bad in [
            "+",
            "+123",
            "+0123456789",
            "+1234567890123456",
            "+1415555O123",
            "14155550123",
            "+1\r\n4155550123",
        ] {
            assert_eq!(
                Phone::parse(bad).unwrap_err().kind(),
                ErrorKind::InvalidRecipient,
                "{bad:?}"
            );
        }
    }

    #[test]
    fn recipients_are_masked_everywhere_they_print() {
        let r = Recipient::parse("jane.doe@example.com").unwrap();
        assert_eq!(format!("{r}"), "j***@example.com");
        assert_eq!(format!("{r:?}"), "Email(j***@example.com)");
        let p = Recipient::parse("+5511999888777").unwrap();
        assert_eq!(format!("{p}"), "+55*******8777");
        assert!(!format!("{p:?}").contains("999888"));
    }

    #[test]
    fn anything_else_is_invalid_recipient() {
        for bad in ["jane", "0044 7700 905622", "", "   "] {
            assert_eq!(
                Recipient::parse(bad).unwrap_err().kind(),
                ErrorKind::InvalidRecipient
            );
        }
    }

    #[test]
    fn scrub_masks_contacts_and_codes_but_keeps_words_and_small_numbers() {
        assert_eq!(scrub("Please wait 42 seconds."), "Please wait 42 seconds.");
        assert_eq!(scrub("code:123456."), "code:******.");
        assert_eq!(scrub("sent to +5511999888777"), "sent to +55*******8777");
        assert_eq!(
            scrub("user \"jane@example.com\""),
            "user \"j***@example.com\""
        );
        assert_eq!(scrub("ünïcode ok"), "ünïcode ok");
    }
}
