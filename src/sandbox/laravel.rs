//! Laravel validation, as Thaaigroup and ThunderSMS answer it: [`Problems`] collects field
//! messages, [`laravel_422`] writes the 422 body, and [`for_client`] turns it into the redirect
//! Laravel gives a client that does not ask for JSON.

use serde_json::{json, Map, Value};

use super::fields::whole_number;
use super::wire::{Reply, Req};

/// What Laravel answers this client: a validation failure (422) goes back as JSON only when
/// the request expects JSON (`Request::expectsJson`: an `Accept` whose first type is JSON, or
/// an AJAX request that accepts anything). Otherwise Laravel redirects back (302 to the
/// `Referer`, else the site's root) with the errors flashed to a session, and the client never
/// sees them. Every 422 of the Laravel providers is a validation failure.
pub(super) fn for_client(req: &Req, reply: Reply) -> Reply {
    if reply.status != 422 || expects_json(req) {
        return reply;
    }
    let back = req
        .header("referer")
        .map(str::to_owned)
        .or_else(|| req.header("host").map(|host| format!("http://{host}/")))
        .unwrap_or_else(|| "/".to_owned());
    let shown = html_escape(&back);
    // Symfony's RedirectResponse page, as Laravel sends it.
    let page = format!(
        "<!DOCTYPE html>\n<html>\n    <head>\n        <meta charset=\"UTF-8\" />\n        \
         <meta http-equiv=\"refresh\" content=\"0;url='{shown}'\" />\n\n        \
         <title>Redirecting to {shown}</title>\n    </head>\n    <body>\n        \
         Redirecting to <a href=\"{shown}\">{shown}</a>.\n    </body>\n</html>"
    );
    Reply::html(302, &page).header("location", back)
}

/// Laravel's `expectsJson()`: `(ajax && !pjax && acceptsAnyContentType) || wantsJson`.
fn expects_json(req: &Req) -> bool {
    let accept = req.header("accept").unwrap_or("");
    let first = accept
        .split(',')
        .next()
        .and_then(|t| t.split(';').next())
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let wants_json = first.contains("/json") || first.contains("+json");
    let ajax = req
        .header("x-requested-with")
        .is_some_and(|v| v == "XMLHttpRequest");
    let pjax = req.header("x-pjax").is_some_and(|v| v == "true");
    let any = first.is_empty() || first == "*/*" || first == "*";
    wants_json || (ajax && !pjax && any)
}

/// Escapes text for an HTML attribute or element.
fn html_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#039;"),
            _ => out.push(c),
        }
    }
    out
}

/// A Laravel validation answer: 422 `{message, errors: {field: [message]}}`, the message being
/// the first one plus "(and N more errors)".
pub(super) fn laravel_422<F: AsRef<str>, M: AsRef<str>>(errors: &[(F, M)]) -> Reply {
    let mut by_field = Map::new();
    for (field, message) in errors {
        if let Value::Array(list) = by_field
            .entry(field.as_ref())
            .or_insert_with(|| Value::Array(Vec::new()))
        {
            list.push(json!(message.as_ref()));
        }
    }
    let first = errors
        .first()
        .map_or("The given data was invalid.", |e| e.1.as_ref());
    let message = match errors.len() {
        0 | 1 => first.to_owned(),
        2 => format!("{first} (and 1 more error)"),
        n => format!("{first} (and {} more errors)", n - 1),
    };
    Reply::json(422, json!({"message": message, "errors": by_field}))
}

/// Collects Laravel-style validation messages.
#[derive(Default)]
pub(super) struct Problems(Vec<(String, String)>);

impl Problems {
    /// Records a message for a field.
    pub(super) fn add(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.0.push((field.into(), message.into()));
    }

    /// `Ok` when nothing was recorded, else the 422 answer.
    pub(super) fn finish(self) -> Result<(), Reply> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(laravel_422(&self.0))
        }
    }

    /// An optional whole number in a range, at `path` + `key` of the body.
    pub(super) fn number(
        &mut self,
        object: &Map<String, Value>,
        path: &str,
        key: &str,
        range: (u64, u64),
    ) -> Option<u64> {
        let field = format!("{path}{key}");
        match object.get(key) {
            None | Some(Value::Null) => None,
            value => match whole_number(value) {
                Some(n) if (range.0..=range.1).contains(&n) => Some(n),
                Some(_) => {
                    self.add(
                        &field,
                        format!(
                            "The {field} field must be between {} and {}.",
                            range.0, range.1
                        ),
                    );
                    None
                }
                None => {
                    self.add(&field, format!("The {field} field must be an integer."));
                    None
                }
            },
        }
    }

    /// An optional string, at `path` + `key` of the body.
    pub(super) fn optional_string(
        &mut self,
        object: &Map<String, Value>,
        path: &str,
        key: &str,
    ) -> Option<String> {
        match object.get(key) {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => {
                self.add(
                    format!("{path}{key}"),
                    format!("The {path}{key} field must be a string."),
                );
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn laravel_messages_count_the_rest() {
        let errors = vec![
            ("a".to_owned(), "A is bad.".to_owned()),
            ("b".to_owned(), "B is bad.".to_owned()),
            ("b".to_owned(), "B is worse.".to_owned()),
        ];
        let reply = laravel_422(&errors);
        let body: Value = serde_json::from_slice(&reply.body).unwrap();
        assert_eq!(reply.status, 422);
        assert_eq!(body["message"], "A is bad. (and 2 more errors)");
        assert_eq!(body["errors"]["b"][1], "B is worse.");
    }

    #[test]
    fn problems_answer_only_when_there_are_some() {
        assert!(Problems::default().finish().is_ok());
        let mut problems = Problems::default();
        problems.add("email", "The email field is required.");
        let Err(reply) = problems.finish() else {
            panic!("a problem was recorded");
        };
        let body: Value = serde_json::from_slice(&reply.body).unwrap();
        assert_eq!(body["message"], "The email field is required.");
    }
}
