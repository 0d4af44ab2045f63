//! Who receives the code: an email address or an E.164 phone number, validated locally and
//! masked whenever it is printed.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::{Error, ErrorKind};

/// An email address, checked for a plausible shape (`local@domain.tld`, no spaces, control,
/// invisible or text-direction characters, at most 254 characters). The domain is kept in its
/// lower-case ASCII (IDNA) form; see [`Email::parse`].
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
    /// Parses and validates an email address, normalizing it first so that what is accepted
    /// parses back to itself (`Email::parse(email.as_str()) == Ok(email)`, and through the
    /// handle's token and serde forms).
    ///
    /// The domain is case-insensitive and is kept in its ASCII (IDNA, punycode) form, the one
    /// DNS and every mail system understand: `jane@MÜNCHEN.de` becomes
    /// `jane@xn--mnchen-3ya.de`. The local part belongs to the mailbox's owner and is kept as
    /// written. Bidi controls and invisible characters (zero-width spaces and joiners, soft
    /// hyphens, other format characters) are refused anywhere, as they can disguise an address
    /// in logs.
    ///
    /// ```
    /// let email = otpkit::Email::parse("Jane@İSTANBUL.example.com")?;
    /// assert_eq!(email.as_str(), "Jane@xn--istanbul-o0e.example.com");
    /// assert_eq!(otpkit::Email::parse(email.as_str())?, email);
    /// assert!(otpkit::Email::parse("jane\u{202E}moc.elpmaxe@example.com").is_err());
    /// # Ok::<(), otpkit::Error>(())
    /// ```
    pub fn parse(input: &str) -> Result<Self, Error> {
        let value = input.trim();
        if value.is_empty() || value.len() > MAX_EMAIL_LEN {
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
        if value.chars().any(is_invisible) {
            return Err(invalid(
                "an email address cannot contain invisible or text-direction characters",
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
        let domain = ascii_domain(domain)
            .ok_or_else(|| invalid("the part after `@` must be a domain such as example.com"))?;
        let email = format!("{local}@{domain}");
        if email.len() > MAX_EMAIL_LEN {
            return Err(invalid("an email address must be 3 to 254 characters"));
        }
        Ok(Email(email))
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
                c if is_invisible(c) => {
                    return Err(invalid(
                        "a phone number cannot contain invisible or text-direction characters",
                    ))
                }
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

/// The longest email address accepted, in bytes (RFC 5321's path limit less the brackets).
const MAX_EMAIL_LEN: usize = 254;

/// A domain in its ASCII form, lower case, or `None` when it is not a plausible mail domain.
///
/// The domain goes through IDNA (UTS #46, as browsers do, via `url`), which folds case, maps
/// compatibility forms and checks punycode labels, so `İSTANBUL`, `i̇stanbul` and
/// `xn--istanbul-o0e` are one domain. Before that, ASCII characters other than letters, digits, `-` and `.` are refused
/// (the URL parser would otherwise percent-decode `%61` or accept `_`); after it, each label is
/// checked again in its ASCII form: 1 to 63 letters, digits or inner hyphens, at least two
/// labels, the last not numeric.
fn ascii_domain(domain: &str) -> Option<String> {
    let ascii_ok = |c: char| !c.is_ascii() || c.is_ascii_alphanumeric() || matches!(c, '-' | '.');
    if !domain.contains('.') || !domain.chars().all(ascii_ok) {
        return None;
    }
    let domain = match plain_ascii_domain(domain) {
        Some(lowercase) => lowercase,
        None => match url::Host::parse(domain).ok()? {
            url::Host::Domain(ascii) => ascii,
            url::Host::Ipv4(_) | url::Host::Ipv6(_) => return None,
        },
    };
    let labels: Vec<&str> = domain.split('.').collect();
    let labels_ok = labels.len() >= 2
        && labels.iter().all(|label| {
            (1..=63).contains(&label.len())
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        });
    let numeric_tld = labels
        .last()
        .is_some_and(|tld| tld.bytes().all(|b| b.is_ascii_digit()));
    (labels_ok && !numeric_tld).then_some(domain)
}

/// The common case without IDNA: a domain of ASCII letters, digits, `-` and `.` whose labels
/// hold no punycode (`xn--`) and whose last label is letters only (so it cannot read as an
/// IPv4 number). IDNA maps such a domain to its lower case and nothing else, so that is what
/// this returns; anything else is `None`, for the full IDNA path.
fn plain_ascii_domain(domain: &str) -> Option<String> {
    let plain = domain
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.'));
    if !plain {
        return None;
    }
    let punycode = domain.split('.').any(|label| {
        label
            .as_bytes()
            .get(..4)
            .is_some_and(|start| start.eq_ignore_ascii_case(b"xn--"))
    });
    let tld = domain.rsplit('.').next().unwrap_or_default();
    let letters_tld = !tld.is_empty() && tld.bytes().all(|b| b.is_ascii_alphabetic());
    (!punycode && letters_tld).then(|| domain.to_ascii_lowercase())
}

/// Whether `c` is invisible or changes the text's direction: the format characters (Unicode
/// category Cf: bidi controls, zero-width spaces and joiners, the soft hyphen, the byte-order
/// mark, tags, …) and the other default-ignorable code points (variation selectors, the
/// combining grapheme joiner, Hangul fillers). Such characters can make an address or number
/// look like another one in logs and interfaces.
pub(crate) fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'
            | '\u{034F}'
            | '\u{0600}'..='\u{0605}'
            | '\u{061C}'
            | '\u{06DD}'
            | '\u{070F}'
            | '\u{0890}'..='\u{0891}'
            | '\u{08E2}'
            | '\u{115F}'..='\u{1160}'
            | '\u{17B4}'..='\u{17B5}'
            | '\u{180B}'..='\u{180F}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{206F}'
            | '\u{3164}'
            | '\u{FE00}'..='\u{FE0F}'
            | '\u{FEFF}'
            | '\u{FFA0}'
            | '\u{FFF0}'..='\u{FFFB}'
            | '\u{110BD}'
            | '\u{110CD}'
            | '\u{13430}'..='\u{1343F}'
            | '\u{1BCA0}'..='\u{1BCA3}'
            | '\u{1D173}'..='\u{1D17A}'
            | '\u{E0000}'..='\u{E0FFF}'
    )
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

#[cfg(test)]
mod tests {
    use super::*;

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
    fn unicode_domains_are_normalized_and_round_trip_through_the_handle() {
        // Lower-casing `İ` gives `i` and a combining dot: the address was accepted and sent
        // to, but never parsed back, so its code could not be verified.
        let email = Email::parse("jane@İSTANBUL.example.com").unwrap();
        assert_eq!(Email::parse(email.as_str()).unwrap(), email);
        assert!(email.as_str().is_ascii(), "{}", email.as_str());
        assert!(
            email.as_str().ends_with(".example.com"),
            "{}",
            email.as_str()
        );
        let recipient = Recipient::Email(email);
        let handle = crate::handle::Verification::new("thaaigroup", recipient.clone());
        let back = crate::handle::Verification::from_token(&handle.to_token()).unwrap();
        assert_eq!(back.recipient(), &recipient);
        let json = serde_json::to_string(&handle).unwrap();
        let back: crate::handle::Verification = serde_json::from_str(&json).unwrap();
        assert_eq!(back.recipient(), &recipient);
        // One mailbox, however its domain is written: the domain's ASCII (IDNA) form.
        let munich = Email::parse("jane@münchen.de").unwrap();
        assert_eq!(munich.as_str(), "jane@xn--mnchen-3ya.de");
        assert_eq!(Email::parse("jane@MÜNCHEN.DE").unwrap(), munich);
        assert_eq!(Email::parse("jane@xn--mnchen-3ya.de").unwrap(), munich);
        // The local part is the mailbox owner's: kept as written.
        assert_eq!(
            Email::parse("Jöns@Example.COM").unwrap().as_str(),
            "Jöns@example.com"
        );
        for bad in [
            "jane@ex%61mple.com",
            "jane@exa_mple.com",
            "jane@1.2.3.4",
            "jane@xn--.com",
            "jane@example.com.",
        ] {
            assert_eq!(
                Email::parse(bad).unwrap_err().kind(),
                ErrorKind::InvalidRecipient,
                "{bad:?}"
            );
        }
    }

    /// Bidi controls, zero-width and other invisible format characters (category Cf and the
    /// default-ignorable code points).
    const INVISIBLE: &[char] = &[
        '\u{00AD}',
        '\u{034F}',
        '\u{061C}',
        '\u{180E}',
        '\u{200B}',
        '\u{200C}',
        '\u{200D}',
        '\u{200E}',
        '\u{200F}',
        '\u{202A}',
        '\u{202B}',
        '\u{202C}',
        '\u{202D}',
        '\u{202E}',
        '\u{2060}',
        '\u{2061}',
        '\u{2062}',
        '\u{2063}',
        '\u{2064}',
        '\u{2066}',
        '\u{2067}',
        '\u{2068}',
        '\u{2069}',
        '\u{206F}',
        '\u{FE0F}',
        '\u{FEFF}',
        '\u{FFF9}',
        '\u{110BD}',
        '\u{1D173}',
        '\u{E0001}',
        '\u{E0041}',
    ];

    #[test]
    fn invisible_and_bidi_characters_are_refused() {
        for &c in INVISIBLE {
            for input in [
                format!("ja{c}ne@example.com"),
                format!("{c}jane@example.com"),
                format!("jane{c}@example.com"),
                format!("jane@exa{c}mple.com"),
                format!("jane@example.com{c}"),
                format!("+1415{c}5550123"),
                format!("{c}+14155550123"),
                format!("+14155550123{c}"),
            ] {
                let err = Recipient::parse(&input).unwrap_err();
                assert_eq!(err.kind(), ErrorKind::InvalidRecipient, "{input:?}");
                assert!(!err.message().contains(c), "{input:?}");
            }
        }
        // Visible non-ASCII letters stay welcome.
        assert!(Email::parse("zoë@example.com").is_ok());
        assert!(Email::parse("用户@例子.中国").is_ok());
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
    fn the_plain_ascii_shortcut_agrees_with_idna() {
        for domain in [
            "example.com",
            "EXAMPLE.COM",
            "Mail.Example.Co",
            "a--b.example.org",
            "x-1.y-2.example",
            "-bad.example.com",
            "bad-.example.com",
            "a..b.com",
            "example.com.",
            "123.example.com",
            "xn--mnchen-3ya.de",
            "XN--MNCHEN-3YA.DE",
            "a.0x10",
            "1.2.3.4",
            "example.c0m",
        ] {
            let idna = match url::Host::parse(domain) {
                Ok(url::Host::Domain(ascii)) => Some(ascii),
                _ => None,
            };
            if let Some(fast) = plain_ascii_domain(domain) {
                assert_eq!(Some(fast), idna, "{domain}");
            }
        }
        assert!(plain_ascii_domain("xn--mnchen-3ya.de").is_none());
        assert!(plain_ascii_domain("a.0x10").is_none());
        assert_eq!(
            plain_ascii_domain("Mail.Example.COM").as_deref(),
            Some("mail.example.com")
        );
    }
}
