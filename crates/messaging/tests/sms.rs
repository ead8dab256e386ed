//! Text messages against a real Notify-shaped HTTP gateway on loopback (`testing::NotifySink`).

use std::sync::Arc;
use std::time::Duration;

use concord_messaging::testing::{NotifyReply, NotifySink, TEST_NOTIFY_API_KEY, TEST_NOTIFY_TEMPLATE_ID};
use concord_messaging::{
    ConfigError, NotifyApiKey, NotifySmsConfig, NotifySmsTransport, OutgoingSms, SendError, SmsTransport,
    notify_bearer_token,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn check_in(message_id: &str) -> OutgoingSms {
    OutgoingSms {
        message_id: message_id.to_owned(),
        phone_number: "07700 900123".to_owned(),
        body: "Hello Jo, it is time for your asthma review. Reply to book.".to_owned(),
    }
}

/// The error's text and `Debug` must say nothing of the message or its recipient.
fn assert_private(error: &SendError, sms: &OutgoingSms) {
    for shown in [error.to_string(), format!("{error:?}")] {
        for secret in [sms.phone_number.as_str(), "7700", "900123", "asthma", "Hello Jo", sms.body.as_str()] {
            assert!(!shown.contains(secret), "{shown:?} reveals {secret:?}");
        }
    }
}

fn transport(sink: &NotifySink) -> NotifySmsTransport {
    NotifySmsTransport::new(sink.config()).expect("loopback config is valid")
}

#[tokio::test]
async fn a_text_message_is_posted_in_notify_shape_with_a_valid_jwt() {
    let sink = NotifySink::start().await;
    let sms = check_in("0197a6c0-7d3e-7c1b-9a4e-3f2b1c0d9e8f");

    let delivery = transport(&sink).send(&sms).await.expect("the gateway accepts");

    let requests = sink.requests();
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    assert!(request.authorised, "the JWT verifies");
    assert_eq!(request.status, 201);
    assert_eq!(request.reference.as_deref(), Some(sms.message_id.as_str()));
    assert_eq!(request.phone_number.as_deref(), Some(sms.phone_number.as_str()));
    assert_eq!(request.template_id.as_deref(), Some(TEST_NOTIFY_TEMPLATE_ID));
    assert_eq!(request.body.as_deref(), Some(sms.body.as_str()));
    assert!(delivery.provider_id.is_some());
    assert_eq!(delivery.provider_id, request.notification_id);
}

#[tokio::test]
async fn several_messages_reuse_the_client_and_each_arrives_once() {
    let sink = NotifySink::start().await;
    let transport: Arc<dyn SmsTransport> = Arc::new(transport(&sink));
    let mut ids = Vec::new();
    for n in 0..3 {
        let delivery = transport.send_sms(&check_in(&format!("msg-{n}"))).await.expect("accepted");
        ids.push(delivery.provider_id.expect("an id"));
    }
    ids.dedup();
    assert_eq!(ids.len(), 3, "distinct notification ids");
    assert_eq!(sink.accepted().len(), 3);
    assert!(sink.duplicates().is_empty());
    assert_eq!(sink.count_accepted("msg-1"), 1);
}

#[tokio::test]
async fn status_codes_map_to_permanent_and_transient_failures() {
    let sink = NotifySink::start().await;
    let transport = transport(&sink);
    let sms = check_in("msg-status");
    for (status, permanent) in [(400, true), (403, true), (429, false), (500, false), (503, false)] {
        sink.script(NotifyReply::Status(status), 1);
        let error = transport.send(&sms).await.expect_err("scripted failure");
        assert_eq!(error.is_permanent(), permanent, "HTTP {status}: {error}");
        assert!(error.reason().contains(&status.to_string()), "{error}");
        assert_private(&error, &sms);
    }
    // The sink's 400 quotes the phone number; our error keeps the error class and withholds the text.
    sink.script(NotifyReply::Status(400), 1);
    let error = transport.send(&sms).await.expect_err("400");
    assert!(error.reason().contains("ValidationError (message withheld)"), "{error}");
    sink.script(NotifyReply::Status(429), 1);
    let error = transport.send(&sms).await.expect_err("429");
    assert!(error.reason().contains("RateLimitError"), "{error}");

    // After the script, the usual answer again.
    transport.send(&sms).await.expect("accepted");
    assert_eq!(sink.accepted().len(), 1);
    assert_eq!(sink.requests().len(), 8);
}

#[tokio::test]
async fn the_gateway_can_be_told_to_fail_until_told_otherwise() {
    let sink = NotifySink::start().await;
    let transport = transport(&sink);
    sink.respond_with(NotifyReply::Status(500));
    for n in 0..2 {
        assert!(transport.send(&check_in(&format!("msg-{n}"))).await.unwrap_err().is_transient());
    }
    sink.respond_with(NotifyReply::Created);
    transport.send(&check_in("msg-0")).await.expect("accepted");
    assert_eq!(sink.count_accepted("msg-0"), 1);
    assert_eq!(sink.count_accepted("msg-1"), 0);
}

#[tokio::test]
async fn a_key_the_gateway_does_not_know_is_refused_permanently() {
    let sink = NotifySink::start().await;
    let mut config = sink.config();
    config.api_key = NotifyApiKey::parse(&TEST_NOTIFY_API_KEY.replace("aaaaaaaaaaaa", "bbbbbbbbbbbb")).unwrap();
    let sms = check_in("msg-bad-key");
    let error = NotifySmsTransport::new(config).unwrap().send(&sms).await.expect_err("signature fails");
    assert!(error.is_permanent() && error.reason().contains("403"), "{error}");
    assert!(error.reason().contains("AuthError"), "{error}");
    assert!(!error.to_string().contains("bbbbbbbbbbbb"));
    assert_private(&error, &sms);
    let requests = sink.requests();
    assert!(!requests[0].authorised);
    assert!(sink.accepted().is_empty());
}

#[tokio::test]
async fn a_stale_token_is_refused_by_the_gateway() {
    let sink = NotifySink::start().await;
    let stale = notify_bearer_token(&sink.api_key(), time::OffsetDateTime::now_utc().unix_timestamp() - 120);
    let body = format!(
        r#"{{"phone_number":"07700900123","template_id":"{TEST_NOTIFY_TEMPLATE_ID}","personalisation":{{"body":"x"}},"reference":"r"}}"#
    );
    let request = format!(
        "POST /v2/notifications/sms HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {stale}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        sink.address(),
        body.len()
    );
    let mut stream = tokio::net::TcpStream::connect(sink.address()).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    assert!(response.starts_with("HTTP/1.1 403"), "{response}");
    assert!(response.contains("within 30 seconds"), "{response}");
    assert!(!sink.requests()[0].authorised);
}

#[tokio::test]
async fn a_closed_port_is_transient() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    drop(listener);
    let sink = NotifySink::start().await;
    let mut config = sink.config();
    config.base_url = format!("http://{address}");
    let sms = check_in("msg-refused");
    let error = NotifySmsTransport::new(config).unwrap().send(&sms).await.expect_err("nothing listens");
    assert!(error.is_transient(), "{error}");
    assert!(error.reason().contains("could not reach"), "{error}");
    assert_private(&error, &sms);
}

#[tokio::test]
async fn a_reply_slower_than_the_timeout_is_transient_and_the_resend_is_visible() {
    let sink = NotifySink::start().await;
    let mut config = sink.config();
    config.timeout = Duration::from_millis(300);
    let transport = NotifySmsTransport::new(config).unwrap();
    let sms = check_in("msg-slow");

    sink.delay_replies(Duration::from_secs(2));
    let error = transport.send(&sms).await.expect_err("timed out");
    assert!(error.is_transient() && error.reason().contains("timed out"), "{error}");
    assert_private(&error, &sms);

    sink.delay_replies(Duration::ZERO);
    transport.send(&sms).await.expect("resend accepted");
    // The gateway took the first attempt too: the duplicate is visible by reference.
    assert_eq!(sink.count_accepted("msg-slow"), 2);
    assert_eq!(sink.duplicates(), [("msg-slow".to_owned(), 2)]);
}

#[tokio::test]
async fn bad_configuration_is_refused_without_echoing_secrets() {
    let key = NotifyApiKey::parse(TEST_NOTIFY_API_KEY).unwrap();
    let config = |base_url: &str, template_id: &str| NotifySmsConfig {
        base_url: base_url.to_owned(),
        api_key: key.clone(),
        template_id: template_id.to_owned(),
        timeout: Duration::from_secs(1),
    };
    let error = NotifySmsTransport::new(config("http://gateway.example.org", TEST_NOTIFY_TEMPLATE_ID)).unwrap_err();
    assert!(matches!(error, ConfigError::BaseUrl(_)), "{error}");
    let error = NotifySmsTransport::new(config("https://gateway.example.org", "not-a-uuid")).unwrap_err();
    assert_eq!(error, ConfigError::NotifyTemplateId);
    assert!(NotifySmsTransport::new(NotifySmsConfig::new(key, TEST_NOTIFY_TEMPLATE_ID)).is_ok());

    let error = NotifyApiKey::parse("live-key-with-a-secret-but-not-the-right-shape-aaaaaaaa").unwrap_err();
    assert!(!error.to_string().contains("aaaaaaaa") && !error.to_string().contains("right-shape"));
}
