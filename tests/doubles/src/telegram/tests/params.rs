use crate::telegram::Contract;
use crate::telegram::params::collect;
use serde_json::json;

#[test]
fn form_values_are_decoded_by_their_declared_types() {
    let contract = Contract::shared();
    let send = contract.method("sendMessage");
    let body = "chat_id=42&text=ciao+%26+addio&disable_notification=true\
        &reply_markup=%7B%22inline_keyboard%22%3A%5B%5D%7D";
    let form = Some("application/x-www-form-urlencoded");
    let params = collect(send, None, form, body.as_bytes()).unwrap();
    assert_eq!(params["chat_id"], json!(42));
    assert_eq!(params["text"], json!("ciao & addio"));
    assert_eq!(params["disable_notification"], json!(true));
    assert_eq!(params["reply_markup"], json!({ "inline_keyboard": [] }));
}

#[test]
fn a_username_stays_a_string_and_text_of_digits_stays_text() {
    let contract = Contract::shared();
    let params = collect(
        contract.method("sendMessage"),
        Some("chat_id=%40channel&text=123"),
        None,
        b"",
    )
    .unwrap();
    assert_eq!(params["chat_id"], json!("@channel"));
    assert_eq!(params["text"], json!("123"));
}

#[test]
fn json_scalars_are_taken_as_sent_and_serialized_objects_are_decoded() {
    let contract = Contract::shared();
    let body =
        json!({ "chat_id": "42", "message_id": "7", "reply_markup": "{\"inline_keyboard\":[]}" });
    let edit = contract.method("editMessageReplyMarkup");
    let params = collect(
        edit,
        None,
        Some("application/json; charset=utf-8"),
        body.to_string().as_bytes(),
    )
    .unwrap();
    assert_eq!(params["chat_id"], json!("42"));
    assert_eq!(params["message_id"], json!("7"));
    assert_eq!(params["reply_markup"], json!({ "inline_keyboard": [] }));
}

#[test]
fn query_and_body_are_merged() {
    let contract = Contract::shared();
    let body = json!({ "text": "hi" }).to_string();
    let params = collect(
        contract.method("sendMessage"),
        Some("chat_id=5"),
        Some("application/json"),
        body.as_bytes(),
    )
    .unwrap();
    assert_eq!(params["chat_id"], json!(5));
    assert_eq!(params["text"], json!("hi"));
}

#[test]
fn multipart_bodies_are_read() {
    let contract = Contract::shared();
    let body = "--XyZ\r\nContent-Disposition: form-data; name=\"chat_id\"\r\n\r\n42\r\n\
        --XyZ\r\nContent-Disposition: form-data; name=\"text\"\r\n\r\nline 1\r\nline 2\r\n--XyZ--\r\n";
    let params = collect(
        contract.method("sendMessage"),
        None,
        Some("multipart/form-data; boundary=XyZ"),
        body.as_bytes(),
    )
    .unwrap();
    assert_eq!(params["chat_id"], json!(42));
    assert_eq!(params["text"], json!("line 1\r\nline 2"));
}

#[test]
fn a_body_that_is_not_json_is_refused() {
    let contract = Contract::shared();
    let problem = collect(
        contract.method("getMe"),
        None,
        Some("application/json"),
        b"{nope",
    )
    .unwrap_err();
    assert!(
        problem
            .description
            .starts_with("Bad Request: the body is not JSON"),
        "{problem:?}"
    );
    let problem = collect(contract.method("getMe"), None, Some("text/plain"), b"x").unwrap_err();
    assert!(
        problem.description.contains("unsupported Content-Type"),
        "{problem:?}"
    );
}
