//! The generic service's management reads as typed methods of [`Generic`]:
//! `GET otp/list`, `otp/logs`, `otp/attempts`, `otp/reports` and `otp/rate-limits`, each with
//! query [`Filters`], each answering `{"success": true, "data": …}`.
//!
//! The list's items are typed ([`OtpRecord`] in a [`ListPage`]); the other shapes are not
//! documented, so those calls return the `data` value as JSON. Every call is a read, retried
//! as [`RetrySafety::Idempotent`] when the client's retry policy allows.
//!
//! ```no_run
//! use otpkit::providers::generic::{Config, Filters};
//! use otpkit::{CommonConfig, HttpOptions, ProviderSettings, VerificationState};
//!
//! # async fn run() -> Result<(), otpkit::Error> {
//! let mut common = CommonConfig::default();
//! common.base_url = Some("https://otp.example.com/api".into());
//! let client = Config::new("app", "key", "secret").build(&common, &HttpOptions::default())?;
//! let page = client
//!     .list(&Filters::new().status(VerificationState::Verified).page(1).limit(50))
//!     .await?;
//! for record in &page.items {
//!     println!("{} {:?}", record.verification_id, record.status);
//! }
//! let limits = client.rate_limits().await?; // JSON
//! # Ok(()) }
//! ```

use std::collections::BTreeMap;
use std::fmt;

use serde_json::{Map, Value};

use super::errors::Operation;
use super::{success_body, Generic, GenericAdapter, ID};
use crate::error::Error;
use crate::http::{HttpRequest, HttpResponse};
use crate::mask::scrub;
use crate::parse;
use crate::receipt::VerificationState;
use crate::recipient::{Phone, Recipient};
use crate::request::Channel;
use crate::retry::RetrySafety;

/// One management read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Management {
    /// `GET otp/list`: verifications, with filters.
    List,
    /// `GET otp/logs`: activity logs.
    Logs,
    /// `GET otp/attempts`: verification attempts.
    Attempts,
    /// `GET otp/reports`: usage reports.
    Reports,
    /// `GET otp/rate-limits`: the rate-limiting status.
    RateLimits,
}

impl Management {
    /// The operation name used in errors and traces (`list`, `logs`, `attempts`, `reports`,
    /// `rate_limits`).
    pub fn operation(self) -> &'static str {
        match self {
            Management::List => "list",
            Management::Logs => "logs",
            Management::Attempts => "attempts",
            Management::Reports => "reports",
            Management::RateLimits => "rate_limits",
        }
    }

    /// The path below `base_url`.
    pub fn path(self) -> &'static str {
        match self {
            Management::List => "otp/list",
            Management::Logs => "otp/logs",
            Management::Attempts => "otp/attempts",
            Management::Reports => "otp/reports",
            Management::RateLimits => "otp/rate-limits",
        }
    }
}

/// Query filters for the management reads. Each set filter becomes one query parameter:
/// `verification_id`, `status`, `channel`, `recipient` (E.164 with its `+`), `start_date`,
/// `end_date`, `page`, `limit`, then every [`Filters::extra`] pair as given.
///
/// ```
/// use otpkit::providers::generic::Filters;
/// use otpkit::Channel;
///
/// let filters = Filters::new()
///     .channel(Channel::Whatsapp)
///     .start_date("2026-01-01")
///     .extra("group_by", "day");
/// assert_eq!(filters.extra["group_by"], "day");
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct Filters {
    /// Only this verification.
    pub verification_id: Option<String>,
    /// Only verifications in this state.
    pub status: Option<VerificationState>,
    /// Only this channel.
    pub channel: Option<Channel>,
    /// Only this recipient.
    pub recipient: Option<Phone>,
    /// From this date or time, as the service writes it (e.g. `2026-01-31`).
    pub start_date: Option<String>,
    /// Up to this date or time.
    pub end_date: Option<String>,
    /// The page number.
    pub page: Option<u32>,
    /// Items per page.
    pub limit: Option<u32>,
    /// Any other query parameter, sent as is after the typed ones.
    pub extra: BTreeMap<String, String>,
}

impl Filters {
    /// No filters.
    pub fn new() -> Self {
        Filters::default()
    }

    /// Only this verification (for example a handle's
    /// [`reference`](crate::Verification::reference)).
    pub fn verification_id(mut self, id: impl Into<String>) -> Self {
        self.verification_id = Some(id.into());
        self
    }

    /// Only this state.
    pub fn status(mut self, state: VerificationState) -> Self {
        self.status = Some(state);
        self
    }

    /// Only this channel.
    pub fn channel(mut self, channel: Channel) -> Self {
        self.channel = Some(channel);
        self
    }

    /// Only this recipient.
    pub fn recipient(mut self, phone: Phone) -> Self {
        self.recipient = Some(phone);
        self
    }

    /// From this date.
    pub fn start_date(mut self, date: impl Into<String>) -> Self {
        self.start_date = Some(date.into());
        self
    }

    /// Up to this date.
    pub fn end_date(mut self, date: impl Into<String>) -> Self {
        self.end_date = Some(date.into());
        self
    }

    /// This page.
    pub fn page(mut self, page: u32) -> Self {
        self.page = Some(page);
        self
    }

    /// This many items per page.
    pub fn limit(mut self, limit: u32) -> Self {
        self.limit = Some(limit);
        self
    }

    /// Another query parameter.
    pub fn extra(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.extra.insert(name.into(), value.into());
        self
    }

    /// The query pairs, typed filters first. An empty parameter name is `invalid_request`.
    fn pairs(&self) -> Result<Vec<(&str, String)>, Error> {
        let mut pairs = Vec::new();
        let mut push = |name, value: Option<String>| {
            if let Some(value) = value {
                pairs.push((name, value));
            }
        };
        push("verification_id", self.verification_id.clone());
        push(
            "status",
            self.status.as_ref().map(|s| s.as_str().to_owned()),
        );
        push("channel", self.channel.map(|c| c.as_str().to_owned()));
        push(
            "recipient",
            self.recipient.as_ref().map(|p| p.as_str().to_owned()),
        );
        push("start_date", self.start_date.clone());
        push("end_date", self.end_date.clone());
        push("page", self.page.map(|n| n.to_string()));
        push("limit", self.limit.map(|n| n.to_string()));
        for (name, value) in &self.extra {
            if name.trim().is_empty() {
                return Err(Error::new(
                    crate::ErrorKind::InvalidRequest,
                    "a query parameter name must not be empty",
                ));
            }
            pairs.push((name.as_str(), value.clone()));
        }
        Ok(pairs)
    }
}

/// One verification as `otp/list` reports it. Unknown fields are ignored.
#[derive(Clone, PartialEq)]
#[non_exhaustive]
pub struct OtpRecord {
    /// The provider's id, the handle's reference.
    pub verification_id: String,
    recipient: Option<String>,
    /// Where it stands, when reported.
    pub status: Option<VerificationState>,
    /// The channel, when reported and known to otpkit.
    pub channel: Option<Channel>,
    /// When it was created, as the service wrote it.
    pub created_at: Option<String>,
}

impl OtpRecord {
    /// The recipient as the service wrote it (it may already be masked). Not masked here: for
    /// display use the record's `Debug`, which masks it.
    pub fn recipient(&self) -> Option<&str> {
        self.recipient.as_deref()
    }

    fn from_json(item: &Value) -> Result<Self, Error> {
        let Value::Object(item) = item else {
            return Err(Error::unexpected("a listed item is not a JSON object"));
        };
        let verification_id = parse::str_field(item, "verification_id")
            .or_else(|| parse::str_field(item, "id"))
            .ok_or_else(|| Error::unexpected("a listed item has no verification_id"))?;
        Ok(OtpRecord {
            verification_id,
            recipient: parse::str_field(item, "recipient"),
            status: parse::str_field(item, "status").map(|w| VerificationState::from_word(&w)),
            channel: parse::str_field(item, "channel").and_then(|w| Channel::parse(&w).ok()),
            created_at: parse::str_field(item, "created_at"),
        })
    }
}

impl fmt::Debug for OtpRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OtpRecord")
            .field("verification_id", &self.verification_id)
            .field("recipient", &self.recipient.as_deref().map(scrub))
            .field("status", &self.status)
            .field("channel", &self.channel)
            .field("created_at", &self.created_at)
            .finish()
    }
}

/// One page of `otp/list`.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct ListPage {
    /// The verifications on this page.
    pub items: Vec<OtpRecord>,
    /// How many match in all, when reported.
    pub total: Option<u64>,
    /// This page's number, when reported.
    pub page: Option<u64>,
    /// Items per page, when reported.
    pub limit: Option<u64>,
}

/// Where a list's items may sit inside an object `data`.
const ITEM_KEYS: [&str; 5] = ["items", "records", "otps", "results", "data"];

impl GenericAdapter {
    /// Builds a management read with these filters ([`Management::RateLimits`] takes none).
    pub(crate) fn build_management(
        &self,
        call: Management,
        filters: &Filters,
    ) -> Result<HttpRequest, Error> {
        let pairs = filters.pairs()?;
        let borrowed: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
        Ok(self.get(call.path(), &borrowed))
    }

    /// Reads an `otp/list` answer: `data` as a list of items, or an object holding the list
    /// (`items`, `records`, `otps`, `results` or `data`) and optionally `total`, `page`,
    /// `limit` (also under `pagination` or `meta`).
    pub(crate) fn parse_list(&self, response: &HttpResponse) -> Result<ListPage, Error> {
        let body = success_body(Operation::Manage, response)?;
        let empty = Map::new();
        let (items, data) = match body.get("data") {
            Some(Value::Array(items)) => (items, &empty),
            Some(Value::Object(data)) => {
                let items = ITEM_KEYS
                    .into_iter()
                    .find_map(|key| data.get(key).and_then(Value::as_array))
                    .ok_or_else(|| Error::unexpected("the list answer's data holds no list"))?;
                (items, data)
            }
            _ => return Err(Error::unexpected("the list answer carries no data list")),
        };
        let places = [
            Some(data),
            nested(data, "pagination"),
            nested(&body, "pagination"),
            nested(&body, "meta"),
            Some(&body),
        ];
        let number = |key: &str| {
            places
                .iter()
                .flatten()
                .find_map(|map| parse::u64_field(map, key))
        };
        Ok(ListPage {
            items: items
                .iter()
                .map(OtpRecord::from_json)
                .collect::<Result<_, _>>()?,
            total: number("total"),
            page: number("page"),
            limit: number("limit").or_else(|| number("per_page")),
        })
    }

    /// Reads a management answer whose shape is not documented: its `data`, or the whole body
    /// less `success` when there is no `data`.
    pub(crate) fn parse_data(&self, response: &HttpResponse) -> Result<Value, Error> {
        let mut body = success_body(Operation::Manage, response)?;
        Ok(match body.remove("data") {
            Some(data) => data,
            None => {
                body.remove("success");
                Value::Object(body)
            }
        })
    }
}

fn nested<'a>(map: &'a Map<String, Value>, key: &str) -> Option<&'a Map<String, Value>> {
    map.get(key).and_then(Value::as_object)
}

impl Generic {
    /// `GET otp/list`: verifications matching `filters`, typed.
    pub async fn list(&self, filters: &Filters) -> Result<ListPage, Error> {
        self.manage(Management::List, filters, |response| {
            self.adapter().parse_list(response)
        })
        .await
    }

    /// `GET otp/logs`: activity logs matching `filters`, as JSON.
    pub async fn logs(&self, filters: &Filters) -> Result<Value, Error> {
        self.manage_json(Management::Logs, filters).await
    }

    /// `GET otp/attempts`: verification attempts matching `filters` (typically
    /// [`Filters::verification_id`]), as JSON.
    pub async fn attempts(&self, filters: &Filters) -> Result<Value, Error> {
        self.manage_json(Management::Attempts, filters).await
    }

    /// `GET otp/reports`: usage reports for `filters` (dates, channel, and any
    /// [`Filters::extra`] such as a grouping), as JSON.
    pub async fn reports(&self, filters: &Filters) -> Result<Value, Error> {
        self.manage_json(Management::Reports, filters).await
    }

    /// `GET otp/rate-limits`: the rate-limiting status, as JSON.
    pub async fn rate_limits(&self) -> Result<Value, Error> {
        self.manage_json(Management::RateLimits, &Filters::new())
            .await
    }

    async fn manage_json(&self, call: Management, filters: &Filters) -> Result<Value, Error> {
        self.manage(call, filters, |response| {
            self.adapter().parse_data(response)
        })
        .await
    }

    async fn manage<T>(
        &self,
        call: Management,
        filters: &Filters,
        parse: impl Fn(&HttpResponse) -> Result<T, Error>,
    ) -> Result<T, Error> {
        let operation = call.operation();
        let request = self
            .adapter()
            .build_management(call, filters)
            .map_err(|e| e.in_context(ID, operation))?;
        let recipient = filters.recipient.clone().map(Recipient::Phone);
        self.call(
            operation,
            RetrySafety::Idempotent,
            recipient.as_ref(),
            &request,
            parse,
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ProviderSettings;
    use crate::http::HttpResponse;
    use crate::providers::generic::Config;
    use crate::ErrorKind;
    use url::Url;

    fn adapter() -> GenericAdapter {
        let base = Url::parse("https://otp.example.com/v2/").unwrap();
        Config::new("a", "k", "s").adapter(base).unwrap()
    }

    #[test]
    fn filters_become_query_parameters_in_order() {
        let filters = Filters::new()
            .verification_id("otp_1")
            .status(VerificationState::Delivered)
            .channel(Channel::Sms)
            .recipient(Phone::parse("+5511999888777").unwrap())
            .start_date("2026-01-01")
            .end_date("2026-01-31")
            .page(2)
            .limit(50)
            .extra("group_by", "day");
        let http = adapter()
            .build_management(Management::List, &filters)
            .unwrap();
        assert_eq!(
            http.url.as_str(),
            "https://otp.example.com/v2/otp/list?verification_id=otp_1&status=delivered&channel=sms&recipient=%2B5511999888777&start_date=2026-01-01&end_date=2026-01-31&page=2&limit=50&group_by=day"
        );
        assert_eq!(http.method, reqwest::Method::GET);
        assert_eq!(http.headers["x-api-key"], "k");
        let bare = adapter()
            .build_management(Management::RateLimits, &Filters::new())
            .unwrap();
        assert_eq!(
            bare.url.as_str(),
            "https://otp.example.com/v2/otp/rate-limits"
        );
        let err = adapter()
            .build_management(Management::Logs, &Filters::new().extra(" ", "x"))
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidRequest);
    }

    #[test]
    fn list_items_are_typed_and_recipients_masked_in_debug() {
        let answer = HttpResponse::new(
            200,
            r#"{"success":true,"data":{"items":[{"verification_id":"otp_1","recipient":"+5511999888777","status":"verified","channel":"whatsapp","created_at":"2026-01-31T10:00:00Z","extra":1}],"pagination":{"total":41,"page":2,"per_page":20}}}"#,
        );
        let page = adapter().parse_list(&answer).unwrap();
        assert_eq!(page.items.len(), 1);
        let record = &page.items[0];
        assert_eq!(record.verification_id, "otp_1");
        assert_eq!(record.recipient(), Some("+5511999888777"));
        assert_eq!(record.status, Some(VerificationState::Verified));
        assert_eq!(record.channel, Some(Channel::Whatsapp));
        assert_eq!(
            (page.total, page.page, page.limit),
            (Some(41), Some(2), Some(20))
        );
        let text = format!("{page:?}");
        assert!(!text.contains("999888"), "{text}");
        let bare = HttpResponse::new(200, r#"{"success":true,"data":[{"id":7}],"total":1}"#);
        let page = adapter().parse_list(&bare).unwrap();
        assert_eq!(page.items[0].verification_id, "7");
        assert_eq!(page.total, Some(1));
    }

    #[test]
    fn wrong_list_shapes_are_unexpected_responses() {
        for body in [
            r#"{"success":true}"#,
            r#"{"success":true,"data":{"count":1}}"#,
            r#"{"success":true,"data":[{"recipient":"+5511999888777"}]}"#,
            r#"{"success":true,"data":[1]}"#,
            r#"[]"#,
        ] {
            let err = adapter()
                .parse_list(&HttpResponse::new(200, body))
                .unwrap_err();
            assert_eq!(err.kind(), ErrorKind::UnexpectedResponse, "{body}");
        }
    }

    #[test]
    fn other_reads_pass_data_through() {
        let answer = HttpResponse::new(200, r#"{"success":true,"data":{"remaining":9}}"#);
        assert_eq!(
            adapter().parse_data(&answer).unwrap(),
            serde_json::json!({"remaining": 9})
        );
        let flat = HttpResponse::new(200, r#"{"success":true,"remaining":9}"#);
        assert_eq!(
            adapter().parse_data(&flat).unwrap(),
            serde_json::json!({"remaining": 9})
        );
        let failed = HttpResponse::new(
            401,
            r#"{"success":false,"error":{"code":"UNAUTHORIZED","message":"bad key"}}"#,
        );
        assert_eq!(
            adapter().parse_data(&failed).unwrap_err().kind(),
            ErrorKind::InvalidCredentials
        );
    }
}
