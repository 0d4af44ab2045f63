//! The JSON body of ThunderSMS's `POST verify/send`, as the vendor's document shows it:
//!
//! ```json
//! {"channels": [{"name": "whatsapp", "from": "…", "recipient": {"to": "9189195…"},
//!                "order": 0, "wait": 60}],
//!  "payload": {"length": 5, "timeout": 60, "token": "12345", "ip_address": "…"},
//!  "foreign_id": "…", "template": "Your code is {token}"}
//! ```
//!
//! Optional members are left out rather than sent as `null`. `length` is a number, as in the
//! document's example (its parameter table says "string").

use serde::Serialize;

/// The whole send body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(super) struct SendBody<'a> {
    /// The channels to try, in `order`.
    pub channels: Vec<WireChannel<'a>>,
    /// The code's settings.
    pub payload: Payload<'a>,
    /// The caller's reference.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub foreign_id: Option<&'a str>,
    /// The message, with `{token}` where the code goes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub template: Option<&'a str>,
}

/// One channel of the fallback sequence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(super) struct WireChannel<'a> {
    /// `whatsapp`, `sms`, `voice` or `viber`.
    pub name: &'static str,
    /// The sender id or number (a UUID for Viber).
    pub from: &'a str,
    /// Who receives the code.
    pub recipient: WireRecipient<'a>,
    /// The place in the sequence, from 0.
    pub order: usize,
    /// Seconds before the next channel is tried.
    pub wait: u64,
    /// Voice only: the call flow.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub flow_id: Option<&'a str>,
    /// Voice only: the text-to-speech language, such as `en_US`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub language: Option<&'a str>,
    /// Viber only: the message's time to live, in seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ttl: Option<u64>,
}

/// The recipient of one channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(super) struct WireRecipient<'a> {
    /// Digits with the country prefix and no `+`.
    pub to: &'a str,
}

/// The code's settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(super) struct Payload<'a> {
    /// The number of digits.
    pub length: u8,
    /// The code's lifetime in seconds.
    pub timeout: u64,
    /// A caller-chosen code of exactly `length` digits.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<&'a str>,
    /// The end user's IP address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ip_address: Option<String>,
}
