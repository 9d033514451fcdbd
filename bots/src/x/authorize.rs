//! `sportello x authorize [--code CODE]`: the OAuth 2.0 PKCE set-up of the X channel.
//!
//! Without a code it stores a new PKCE verifier and returns X's authorization page to open;
//! with the code X put in the redirect it exchanges the code for a token pair and stores it,
//! replacing a refused one. The texts returned are printed as they are: they hold no secret.

use sportello_core::config::XConfig;
use sportello_core::store::Store;

use super::oauth2;

/// Do one step of the set-up; the text to print.
pub async fn authorize(
    config: &XConfig,
    store: &Store,
    code: Option<&str>,
) -> Result<String, String> {
    if config.user_id.is_empty() || config.client_id.is_empty() {
        return Err("set x.user_id and SPORTELLO_X__CLIENT_ID (x.client_id) first".into());
    }
    match code {
        None => {
            let url = oauth2::authorization_url(config, store)
                .await
                .map_err(|e| format!("store: {e}"))?;
            Ok(format!(
                "Open this address signed in as the office's X account and allow the app:\n\n{url}\n\n\
                 X then sends the browser to {} with `code=...` in the address; run\n\
                 sportello x authorize --code CODE\n",
                config.redirect_uri
            ))
        }
        Some(code) => {
            let http = super::http_client(config)?;
            oauth2::complete(config, store, http, code.trim())
                .await
                .map_err(|e| e.to_string())?;
            Ok(
                "X authorized: the token pair is stored; start or restart `sportello serve`.\n"
                    .into(),
            )
        }
    }
}
