//! Masking of text otpkit did not write: [`scrub`] hides what a provider may echo back (email
//! addresses, phone numbers, digit runs that may be codes) and a [`Redactor`] hides the
//! configured secrets of one provider in every encoding they travel in.
//!
//! A leaf module: it imports nothing else from the crate, so the error type, recipients and the
//! transport can all use it.

/// The longest code otpkit sends or checks; a bare digit run longer than this is a phone number
/// (kept partly visible), a shorter one may be a code (hidden whole).
const MAX_CODE_DIGITS: usize = 10;

/// Runs of fewer digits than this are kept (`wait 42 seconds`, `HTTP 429`).
const MIN_HIDDEN_DIGITS: usize = 4;

/// Characters that may stand between the digits of one number: `482-913`, `4 8 2 9 1 3`,
/// `+1 415.555.0123`.
fn joins_digits(c: char) -> bool {
    matches!(c, ' ' | '-' | '.' | '\u{a0}')
}

/// Characters that end a word when looking for email addresses.
fn ends_word(c: char) -> bool {
    c.is_whitespace()
        || matches!(
            c,
            ',' | ';' | '"' | '\'' | '(' | ')' | '<' | '>' | '[' | ']' | '{' | '}' | '`'
        )
}

/// Masks what a provider message may echo back: email addresses (also url-encoded,
/// `jane%40example.com`), phone numbers (a leading `+`, the first two and last four digits stay)
/// and every other number of four or more digits, also when written with single spaces, dashes
/// or dots between the digits (`482-913`, `4 8 2 9 1 3`). Other text is kept.
///
/// ```
/// assert_eq!(
///     otpkit::scrub("OTP 123456 sent to jane@example.com"),
///     "OTP ****** sent to j***@example.com"
/// );
/// assert_eq!(otpkit::scrub("code 482-913 or 4 8 2 9 1 3"), "code ***-*** or * * * * * *");
/// assert_eq!(otpkit::scrub("to jane.doe%40example.com"), "to j***%40example.com");
/// assert_eq!(otpkit::scrub("+14155550123"), "+14*****0123");
/// ```
pub fn scrub(message: &str) -> String {
    mask_numbers(&mask_emails(message))
}

/// Masks the local part of every word holding `@` or a url-encoded `%40`.
fn mask_emails(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    while !rest.is_empty() {
        let end = rest.find(ends_word).unwrap_or(rest.len());
        let (word, tail) = rest.split_at(end);
        out.push_str(&mask_email_word(word));
        let sep_len = tail.chars().next().map_or(0, char::len_utf8);
        out.push_str(&tail[..sep_len]);
        rest = &tail[sep_len..];
    }
    out
}

fn mask_email_word(word: &str) -> String {
    let at = word.find('@').map(|i| (i, 1)).or_else(|| {
        word.to_ascii_lowercase()
            .find("%40")
            .map(|i| (i, "%40".len()))
    });
    let Some((at, len)) = at else {
        return word.to_owned();
    };
    let local = &word[..at];
    let first = local.chars().next().map_or('*', |c| c);
    format!("{first}***{}", &word[at..at + len]) + &word[at + len..]
}

/// Masks numbers of [`MIN_HIDDEN_DIGITS`] digits or more; see [`scrub`].
fn mask_numbers(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        if !chars[i].is_ascii_digit() {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        // One number: digits, with single joining characters between them.
        let start = i;
        let mut end = i + 1;
        while end < chars.len() {
            if chars[end].is_ascii_digit() {
                end += 1;
            } else if joins_digits(chars[end])
                && chars.get(end + 1).is_some_and(char::is_ascii_digit)
            {
                end += 2;
            } else {
                break;
            }
        }
        let number = &chars[start..end];
        let digits = number.iter().filter(|c| c.is_ascii_digit()).count();
        let plus = start > 0 && chars[start - 1] == '+';
        let phone = digits >= 8 && (plus || digits > MAX_CODE_DIGITS);
        let mut seen = 0;
        for &c in number {
            if !c.is_ascii_digit() {
                out.push(c);
                continue;
            }
            seen += 1;
            let visible = if phone {
                seen <= 2 || seen > digits - 4
            } else {
                digits < MIN_HIDDEN_DIGITS
            };
            out.push(if visible { c } else { '*' });
        }
        i = end;
    }
    out
}

/// The shortest secret masked: shorter values would hide ordinary words.
const MIN_SECRET_LEN: usize = 4;

/// Hides one provider's configured secrets in text: each value raw, base64 (standard and
/// url-safe, padded or not) and url-encoded. Built once when the provider is built; the core
/// applies it to every error leaving the exchange path.
#[derive(Clone, Default)]
pub struct Redactor {
    /// Every form to hide, longest first (so a longer form is not left half-hidden).
    forms: Vec<String>,
}

impl Redactor {
    /// A redactor for these secret values. Values shorter than four characters are skipped.
    pub fn new<S: AsRef<str>>(secrets: impl IntoIterator<Item = S>) -> Self {
        use base64::Engine;
        let engines = [
            base64::engine::general_purpose::STANDARD,
            base64::engine::general_purpose::STANDARD_NO_PAD,
            base64::engine::general_purpose::URL_SAFE,
            base64::engine::general_purpose::URL_SAFE_NO_PAD,
        ];
        let mut forms = Vec::new();
        for secret in secrets {
            let secret = secret.as_ref();
            if secret.trim().chars().count() < MIN_SECRET_LEN {
                continue;
            }
            forms.push(secret.to_owned());
            forms.extend(engines.iter().map(|e| e.encode(secret)));
        }
        forms.retain(|f| f.len() >= MIN_SECRET_LEN);
        forms.sort_by_key(|f| std::cmp::Reverse(f.len()));
        forms.dedup();
        Redactor { forms }
    }

    /// Whether there is nothing to hide.
    pub fn is_empty(&self) -> bool {
        self.forms.is_empty()
    }

    /// `text` with every form of every secret replaced by `***`. Text holding `%` escapes is
    /// decoded first, so a secret escaped in any way is found.
    pub fn hide(&self, text: &str) -> String {
        let mut out = if text.contains('%') && !self.forms.is_empty() {
            percent_decode(text)
        } else {
            text.to_owned()
        };
        for form in &self.forms {
            if out.contains(form.as_str()) {
                out = out.replace(form.as_str(), "***");
            }
        }
        out
    }
}

impl std::fmt::Debug for Redactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Redactor({} forms)", self.forms.len())
    }
}

/// Decodes every `%XY` escape (invalid UTF-8 becomes U+FFFD); other text is kept.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| char::from(b).to_digit(16);
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let (Some(high), Some(low)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                // Two hex digits make one byte: `high * 16 + low` is at most 255.
                out.push((high * 16 + low) as u8);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_hidden_in_every_spelling() {
        for code in ["1234", "482913", "12345678", "1234567890"] {
            let masked = "*".repeat(code.len());
            assert_eq!(
                scrub(&format!("code {code} is wrong")),
                format!("code {masked} is wrong")
            );
            assert_eq!(scrub(&format!("OTP {code}.")), format!("OTP {masked}."));
        }
        assert_eq!(scrub("482-913"), "***-***");
        assert_eq!(scrub("4 8 2 9 1 3"), "* * * * * *");
        assert_eq!(scrub("OTP_INVALID:482913"), "OTP_INVALID:******");
        assert_eq!(scrub("code:123456."), "code:******.");
        assert_eq!(scrub("Please wait 42 seconds."), "Please wait 42 seconds.");
        assert_eq!(scrub("HTTP 429 at 10:30"), "HTTP 429 at 10:30");
        assert_eq!(scrub("ünïcode ok"), "ünïcode ok");
    }

    #[test]
    fn phones_keep_their_ends_and_codes_glued_to_them_are_hidden() {
        assert_eq!(scrub("+14155550123"), "+14*****0123");
        assert_eq!(scrub("sent to 919876543210"), "sent to 91******3210");
        assert_eq!(scrub("sent to +5511999888777"), "sent to +55*******8777");
        assert_eq!(scrub("+1 415-555-0123"), "+1 4**-***-0123");
        let glued = scrub("+919876543210/482913");
        assert_eq!(glued, "+91******3210/******");
        assert_eq!(scrub("14155550123"), "14*****0123");
    }

    #[test]
    fn emails_are_masked_also_url_encoded() {
        assert_eq!(
            scrub("user \"jane@example.com\""),
            "user \"j***@example.com\""
        );
        assert_eq!(scrub("to jane.doe%40example.com"), "to j***%40example.com");
        assert_eq!(scrub("to JANE.DOE%40example.com"), "to J***%40example.com");
        let glued = scrub("is=jane223@example.com=+442079474093");
        assert!(
            !glued.contains("442079474093") && !glued.contains("jane223"),
            "{glued}"
        );
    }

    #[test]
    fn secrets_are_hidden_raw_base64_and_url_encoded() {
        use base64::Engine;
        let secret = "s3cr3t/key+value==";
        let redactor = Redactor::new(["abc", secret, "id-1234"]);
        let b64 = base64::engine::general_purpose::STANDARD.encode(secret);
        let url = "s3cr3t%2Fkey%2bvalue%3D%3D";
        let text = format!("a {secret} b {b64} c {url} d id-1234 e abc");
        let hidden = redactor.hide(&text);
        assert_eq!(hidden, "a *** b *** c *** d *** e abc");
        let basic = base64::engine::general_purpose::STANDARD.encode("id-1234:s3cr3t");
        let pair = Redactor::new(["id-1234:s3cr3t"]);
        assert_eq!(pair.hide(&format!("Basic {basic}")), "Basic ***");
        assert!(!format!("{pair:?}").contains("s3cr3t"));
    }
}
