//! Tencent's `POST /reset_user_password`: the one place a `reset_password` code is consumed,
//! as [`TencentCiam::reset_password`](super::TencentCiam::reset_password) and its pure halves on
//! the adapter.

use super::{answer, wire, Target, TencentCiamAdapter, ID};
use crate::adapter::Client;
use crate::error::{Error, ErrorKind};
use crate::handle::Verification;
use crate::http::{HttpRequest, HttpResponse};
use crate::receipt::SendReceipt;
use crate::request::{OtpCode, Purpose, SendRequest};
use crate::retry::RetrySafety;
use crate::secret::Secret;

impl TencentCiamAdapter {
    /// Builds `POST /reset_user_password` for a `reset_password` handle: Basic auth and
    /// `{password, email, email_otp, email_otp_token}` or the `phone_number` equivalents.
    /// A handle from another provider or for another purpose, or a blank password, is
    /// `invalid_request` with no request.
    pub(crate) fn build_reset_password(
        &self,
        handle: &Verification,
        code: &OtpCode,
        new_password: &Secret,
    ) -> Result<HttpRequest, Error> {
        // The core's `check_handle` (provider, MAC, expiry) ran before this is called.
        if handle.purpose() != Some(&Purpose::ResetPassword) {
            let purpose = handle.purpose().map_or("login", Purpose::as_str);
            return Err(Error::new(
                ErrorKind::InvalidRequest,
                format!("reset_password needs a code sent with purpose reset_password; this handle is for `{purpose}`"),
            ));
        }
        if new_password.is_blank() {
            return Err(Error::new(
                ErrorKind::InvalidRequest,
                "the new password is empty; nothing was sent",
            ));
        }
        let target = Target::of(handle.recipient())?;
        let otp_token = handle.require_reference()?;
        let (email, phone_number) = target.slots(target.value);
        let (email_otp, phone_number_otp) = target.slots(code.expose());
        let (email_otp_token, phone_number_otp_token) = target.slots(otp_token);
        let body = wire::ResetPasswordBody {
            password: new_password.expose(),
            email,
            email_otp,
            email_otp_token,
            phone_number,
            phone_number_otp,
            phone_number_otp_token,
        };
        self.post_with_basic(&self.reset_password_url, &body)
    }

    /// Reads the `/reset_user_password` answer: a 2xx with an empty body (or a JSON object
    /// without `error`) is success; `recurrent_password` and `invalid_new_password` are
    /// `invalid_request`, the rest as for the other calls.
    pub(crate) fn parse_reset_password(&self, response: &HttpResponse) -> Result<(), Error> {
        if response.is_success() && response.body.iter().all(u8::is_ascii_whitespace) {
            return Ok(());
        }
        answer(response).map(drop)
    }
}

impl Client<TencentCiamAdapter> {
    /// Sends a code for one of Tencent's own flows, whose code another Tencent call consumes
    /// rather than [`verify`](crate::OtpProvider::verify): `reset_password` (then
    /// [`reset_password`](Self::reset_password)), `signup` without `auto_signup` and
    /// `update_userinfo` (see the module docs for the fields that carry the code and the
    /// handle's `otp_token`). The portable [`send`](crate::OtpProvider::send) refuses these
    /// purposes, since its codes must be checkable by `verify`. Login codes work here too.
    ///
    /// ```no_run
    /// use otpkit::providers::tencent_ciam::Config;
    /// use otpkit::{CommonConfig, HttpOptions, ProviderSettings, Purpose, Secret, SendRequest};
    ///
    /// # async fn run() -> Result<(), otpkit::Error> {
    /// let mut common = CommonConfig::default();
    /// common.base_url = Some("https://example.portal.tencentciam.com".into());
    /// let client = Config::new("client-id", "client-secret").build(&common, &HttpOptions::default())?;
    /// let request = SendRequest::new("jane@example.com".parse()?).purpose(Purpose::ResetPassword);
    /// let receipt = client.send_code(&request).await?;
    /// // … later, with the code the user typed and the password they chose:
    /// client
    ///     .reset_password(&receipt.verification, "123456", &Secret::new("n3w-Passw0rd"))
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub async fn send_code(&self, request: &SendRequest) -> Result<SendReceipt, Error> {
        self.send_for_own_flow(request).await
    }

    /// Resets the user's password with a `reset_password` code: `POST /reset_user_password`
    /// with the handle's recipient and `otp_token`, the code and the new password. Tencent
    /// consumes the code here (there is no separate verify).
    ///
    /// A code that is not 4 to 10 digits is `invalid_code`, a handle that was changed or is not
    /// this provider's `reset_password` handle or a blank password is `invalid_request`, and an
    /// expired handle `expired`, all with no request. A reused password (`recurrent_password`) or one the policy refuses
    /// (`invalid_new_password`) is `invalid_request`; a wrong code `invalid_code`; an unknown or
    /// expired `otp_token` `verification_not_found`.
    ///
    /// ```no_run
    /// use otpkit::providers::tencent_ciam::Config;
    /// use otpkit::{CommonConfig, HttpOptions, ProviderSettings, Purpose, Secret, SendRequest};
    ///
    /// # async fn run() -> Result<(), otpkit::Error> {
    /// let mut common = CommonConfig::default();
    /// common.base_url = Some("https://example.portal.tencentciam.com".into());
    /// let client = Config::new("client-id", "client-secret").build(&common, &HttpOptions::default())?;
    /// let request = SendRequest::new("jane@example.com".parse()?).purpose(Purpose::ResetPassword);
    /// let receipt = client.send_code(&request).await?;
    /// // … later, with the code the user typed and the password they chose:
    /// client
    ///     .reset_password(&receipt.verification, "123456", &Secret::new("n3w-Passw0rd"))
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub async fn reset_password(
        &self,
        handle: &Verification,
        code: &str,
        new_password: &Secret,
    ) -> Result<(), Error> {
        let context = |e: Error| e.in_context(ID, "reset_password");
        self.check_handle(handle).map_err(context)?;
        let code = OtpCode::parse(code).map_err(context)?;
        let http = self
            .adapter()
            .build_reset_password(handle, &code, new_password)
            .map_err(context)?;
        self.call(
            "reset_password",
            RetrySafety::WhenRefused,
            Some(handle.recipient()),
            &http,
            |response| self.adapter().parse_reset_password(response),
        )
        .await
    }
}
