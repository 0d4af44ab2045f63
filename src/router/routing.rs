//! Routes: which recipients a route takes (`match`) and which members it tries, in order
//! (`use`).

use std::fmt;

use crate::capabilities::Capabilities;
use crate::error::Error;
use crate::recipient::Recipient;

/// What a route's `match` takes: an E.164 prefix (`"+91"`), `"phone"`, `"email"` or `"*"`.
///
/// ```
/// use otpkit::router::Match;
///
/// let india: Match = "+91".parse()?;
/// assert!(india.fits(&"+919812345678".parse()?));
/// assert!(!india.fits(&"+14155550123".parse()?));
/// assert!("email".parse::<Match>()?.fits(&"jane@example.com".parse()?));
/// assert!("91".parse::<Match>().is_err());
/// # Ok::<(), otpkit::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Match {
    /// Every recipient (`"*"`).
    Any,
    /// Every phone number (`"phone"`).
    Phone,
    /// Every email address (`"email"`).
    Email,
    /// Phone numbers starting with this E.164 prefix (`"+91"`).
    Prefix(String),
}

impl Match {
    /// The longest prefix accepted: an E.164 number has at most 15 digits.
    const MAX_PREFIX_DIGITS: usize = 15;

    /// Parses a `match` value; anything else is a `config` error naming `routes[].match`.
    pub fn parse(text: &str) -> Result<Self, Error> {
        Ok(match text.trim() {
            "*" => Match::Any,
            "phone" => Match::Phone,
            "email" => Match::Email,
            prefix => {
                let digits = prefix.strip_prefix('+').unwrap_or("");
                let valid = !digits.is_empty()
                    && digits.len() <= Self::MAX_PREFIX_DIGITS
                    && digits.bytes().all(|b| b.is_ascii_digit())
                    && !digits.starts_with('0');
                if !valid {
                    return Err(Error::config(
                        "match",
                        "must be an E.164 prefix such as \"+91\", or \"phone\", \"email\" or \"*\"",
                    ));
                }
                Match::Prefix(prefix.to_owned())
            }
        })
    }

    /// Whether this recipient is one the route takes.
    pub fn fits(&self, recipient: &Recipient) -> bool {
        match (self, recipient) {
            (Match::Any, _) => true,
            (Match::Phone, Recipient::Phone(_)) | (Match::Email, Recipient::Email(_)) => true,
            (Match::Prefix(prefix), Recipient::Phone(phone)) => phone.as_str().starts_with(prefix),
            _ => false,
        }
    }

    /// Why a provider with these capabilities can never send to a recipient this route takes,
    /// or `None` when it can reach some of them.
    pub fn never_reached_by(&self, caps: &Capabilities) -> Option<String> {
        let phones_under = |prefix: &str| {
            caps.phone
                && caps.phone_prefixes.as_ref().is_none_or(|prefixes| {
                    // Some number starts with both: one prefix extends the other.
                    prefixes
                        .iter()
                        .any(|p| p.starts_with(prefix) || prefix.starts_with(p.as_str()))
                })
        };
        let reaches = match self {
            Match::Any => caps.email || caps.phone,
            Match::Email => caps.email,
            Match::Phone => caps.phone,
            Match::Prefix(prefix) => phones_under(prefix),
        };
        if reaches {
            return None;
        }
        Some(match self {
            Match::Email => "it sends to no email address".to_owned(),
            Match::Phone | Match::Any if !caps.phone => "it sends to no recipient".to_owned(),
            Match::Phone | Match::Any => "it sends to no phone number".to_owned(),
            Match::Prefix(prefix) if !caps.phone => {
                format!("it sends to no phone number, so none starting {prefix}")
            }
            Match::Prefix(prefix) => format!(
                "it reaches phone numbers starting {} only, none starting {prefix}",
                caps.phone_prefixes
                    .as_deref()
                    .unwrap_or_default()
                    .join(", ")
            ),
        })
    }
}

impl std::str::FromStr for Match {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        Match::parse(s)
    }
}

impl fmt::Display for Match {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Match::Any => "*",
            Match::Phone => "phone",
            Match::Email => "email",
            Match::Prefix(prefix) => prefix,
        })
    }
}

/// One route: the recipients it takes and the members it tries, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Route {
    /// What the route takes.
    pub matches: Match,
    /// The member names tried, in this order.
    pub members: Vec<String>,
}

impl Route {
    /// A route taking `matches` and trying `members` in order.
    pub fn new(matches: Match, members: impl IntoIterator<Item = impl Into<String>>) -> Self {
        Route {
            matches,
            members: members.into_iter().map(Into::into).collect(),
        }
    }
}

/// The first route whose `match` fits the recipient.
pub(crate) fn route_for<'a>(routes: &'a [Route], recipient: &Recipient) -> Option<&'a Route> {
    routes.iter().find(|route| route.matches.fits(recipient))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::Channel;

    #[test]
    fn matches_parse_and_fit() {
        let phone: Recipient = "+919812345678".parse().unwrap();
        let email: Recipient = "a@b.co".parse().unwrap();
        assert!(Match::Any.fits(&phone) && Match::Any.fits(&email));
        assert!(Match::Phone.fits(&phone) && !Match::Phone.fits(&email));
        assert!(Match::Email.fits(&email) && !Match::Email.fits(&phone));
        assert!(Match::parse("+91").unwrap().fits(&phone));
        assert!(!Match::parse("+86").unwrap().fits(&phone));
        for bad in ["", "91", "+", "+9a", "+0", "+1234567890123456", "sms"] {
            let err = Match::parse(bad).unwrap_err();
            assert!(err.message().contains("match"), "{bad}: {err}");
        }
        assert_eq!(Match::parse(" +44 ").unwrap().to_string(), "+44");
    }

    #[test]
    fn routes_that_can_never_reach_a_member_are_found() {
        let phones = Capabilities::new([Channel::Sms]);
        let mail = Capabilities::new([Channel::Email]);
        let india = Capabilities::new([Channel::Sms]).phone(Some(vec!["+91".into()]));
        let wide = Capabilities::new([Channel::Sms]).phone(Some(vec!["+9".into()]));
        let narrow = Capabilities::new([Channel::Sms]).phone(Some(vec!["+9198".into()]));
        let m = |s: &str| Match::parse(s).unwrap();
        assert!(m("email").never_reached_by(&phones).is_some());
        assert!(m("email").never_reached_by(&mail).is_none());
        assert!(m("+91").never_reached_by(&mail).is_some());
        assert!(m("+86").never_reached_by(&india).is_some());
        assert!(m("+91").never_reached_by(&india).is_none());
        assert!(m("+91").never_reached_by(&wide).is_none());
        assert!(m("+91").never_reached_by(&narrow).is_none());
        assert!(m("phone").never_reached_by(&mail).is_some());
        assert!(m("*").never_reached_by(&mail).is_none());
        assert!(m("*").never_reached_by(&india).is_none());
    }
}
