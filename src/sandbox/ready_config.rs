//! The ready-made provider configs of [`Sandbox::config_json`](super::Sandbox::config_json):
//! the keys every config has plus the provider's own, and the TOML form of
//! [`Sandbox::config_toml`](super::Sandbox::config_toml).

use serde_json::{json, Map, Value};

use super::routing::Route;

/// A provider's config as a JSON object: `provider`, `base_url` and the provider's own keys.
pub(super) fn config_json(route: &Route, origin: &str) -> Value {
    let mut config = Map::new();
    config.insert("provider".to_owned(), json!(route.id));
    config.insert("base_url".to_owned(), json!(route.base_url(origin)));
    if let Value::Object(own) = (route.config)() {
        config.extend(own);
    }
    Value::Object(config)
}

/// A TOML document from a flat JSON object whose values are scalars, or arrays of objects of
/// scalars (ThunderSMS `channels`).
pub(super) fn to_toml(map: &Map<String, Value>) -> String {
    let scalar = |value: &Value| match value {
        Value::String(s) => Value::String(s.clone()).to_string(),
        other => other.to_string(),
    };
    let mut head = String::new();
    let mut tables = String::new();
    // `provider` first, as people write it.
    let ordered = map
        .iter()
        .filter(|(k, _)| *k == "provider")
        .chain(map.iter().filter(|(k, _)| *k != "provider"));
    for (key, value) in ordered {
        match value {
            Value::Array(items) if items.iter().all(Value::is_object) => {
                for item in items {
                    tables.push_str(&format!("\n[[{key}]]\n"));
                    if let Value::Object(fields) = item {
                        for (k, v) in fields {
                            tables.push_str(&format!("{k} = {}\n", scalar(v)));
                        }
                    }
                }
            }
            Value::Null => {}
            other => head.push_str(&format!("{key} = {}\n", scalar(other))),
        }
    }
    head + &tables
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sandbox::routing::ROUTES;

    #[test]
    fn toml_round_trips_through_the_config_reader() {
        let config = json!({
            "provider": "thundersms",
            "token": "t\"ok",
            "code_length": 6,
            "channels": [{"name": "sms", "from": "X", "order": 0}],
        });
        let Value::Object(map) = config else {
            unreachable!()
        };
        let text = to_toml(&map);
        let back: Map<String, Value> = toml::from_str(&text).unwrap();
        assert_eq!(back["token"], "t\"ok");
        assert_eq!(back["channels"][0]["from"], "X");
    }

    #[test]
    fn every_config_names_its_provider_and_base_url() {
        for route in &ROUTES {
            let config = config_json(route, "http://127.0.0.1:1");
            assert_eq!(config["provider"], route.id);
            assert_eq!(config["base_url"], route.base_url("http://127.0.0.1:1"));
            assert!(config.as_object().is_some_and(|c| c.len() > 2));
        }
    }
}
