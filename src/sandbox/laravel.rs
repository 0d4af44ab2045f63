//! Laravel validation, as Thaaigroup and ThunderSMS answer it: [`Problems`] collects field
//! messages, [`laravel_422`] writes the 422 body.

use serde_json::{json, Map, Value};

use super::fields::whole_number;
use super::wire::Reply;

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
