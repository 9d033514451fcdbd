use crate::telegram::contract::{Contract, LengthRule, length_rule, locate};

#[test]
fn the_contract_is_found_beside_the_repository() {
    let path = locate().expect("contract file");
    assert!(
        path.ends_with("shared/contracts/telegram-bot-api-9.1.json"),
        "{}",
        path.display()
    );
}

#[test]
fn methods_are_found_whatever_the_case() {
    let contract = Contract::shared();
    assert_eq!(contract.method("SENDMESSAGE").unwrap().name, "sendMessage");
    assert_eq!(contract.method("getme").unwrap().name, "getMe");
    assert!(contract.method("getMe").unwrap().fields.is_empty());
    assert!(contract.method("sendTelepathy").is_none());
}

#[test]
fn length_rules_are_read_from_descriptions() {
    let contract = Contract::shared();
    let send = contract.method("sendMessage").unwrap();
    let text = send.field("text").unwrap().length.unwrap();
    assert_eq!(
        text,
        LengthRule {
            min: 1,
            max: 4096,
            bytes: false,
            after_entities: true
        }
    );
    let button = &contract.types["InlineKeyboardButton"];
    let data = button
        .fields
        .as_ref()
        .unwrap()
        .iter()
        .find(|f| f.name == "callback_data")
        .unwrap();
    assert_eq!(
        data.length,
        Some(LengthRule {
            min: 1,
            max: 64,
            bytes: true,
            after_entities: false
        })
    );
    let answer = contract.method("answerCallbackQuery").unwrap();
    assert_eq!(
        answer.field("text").unwrap().length.map(|r| (r.min, r.max)),
        Some((0, 200))
    );
}

#[test]
fn ranges_of_numbers_are_not_taken_for_length_rules() {
    assert_eq!(
        length_rule("Values between 1-100 are accepted. Defaults to 100."),
        None
    );
}

#[test]
fn conditional_requirements_are_read_from_descriptions() {
    let contract = Contract::shared();
    let edit = contract.method("editMessageReplyMarkup").unwrap();
    assert_eq!(
        edit.field("chat_id").unwrap().required_unless,
        ["inline_message_id"]
    );
    assert_eq!(
        edit.field("inline_message_id").unwrap().required_unless,
        ["chat_id", "message_id"]
    );
}

#[test]
fn union_members_know_their_tag() {
    let contract = Contract::shared();
    let tag = |t: &str| {
        contract.types[t].fields.as_ref().unwrap()[0]
            .constant
            .clone()
    };
    assert_eq!(tag("ReactionTypeEmoji").as_deref(), Some("emoji"));
    assert_eq!(tag("BotCommandScopeChat").as_deref(), Some("chat"));
    assert!(contract.types["InlineKeyboardButton"].exactly_one_optional);
}
