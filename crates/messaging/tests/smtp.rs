//! Email over SMTP against a real SMTP peer on loopback (`testing::SmtpSink`).

use std::sync::Arc;
use std::time::Duration;

use concord_messaging::testing::{SmtpBehaviour, SmtpSink};
use concord_messaging::{
    Attachment, EmailTransport, OutgoingEmail, SendError, SmtpCredentials, SmtpEmailTransport, TlsMode,
    email_message_id,
};

const FROM: &str = "Riverside Surgery <noreply@riverside.example>";

/// A small PDF with every byte value in it, so the attachment must survive base64 intact.
fn leaflet() -> Vec<u8> {
    let mut pdf = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj << /Type /Catalog >> endobj\n".to_vec();
    pdf.extend((0..=255u8).cycle().take(3000));
    pdf.extend_from_slice(b"\n%%EOF\n");
    pdf
}

fn invitation(message_id: &str) -> OutgoingEmail {
    OutgoingEmail {
        message_id: message_id.to_owned(),
        to: "jo.bloggs@example.org".to_owned(),
        subject: "Your diabetes review at Riverside Surgery".to_owned(),
        // Lines starting with a dot, and one that is only a dot, must survive SMTP's dot-stuffing.
        text_body:
            "Dear Jo Bloggs,\r\n\r\nPlease book your review.\r\n.\r\n..two dots\r\n.one dot\r\nRiverside Surgery\r\n"
                .to_owned(),
        html_body: Some(
            "<p>Dear Jo Bloggs,</p><p>Please book your review \u{2014} it takes 20 minutes.</p>".to_owned(),
        ),
        attachments: vec![Attachment {
            filename: "preparing-for-your-review.pdf".to_owned(),
            content_type: "application/pdf".to_owned(),
            bytes: leaflet(),
        }],
    }
}

/// The error's text and `Debug` must say nothing of the message or its recipient.
fn assert_private(error: &SendError, email: &OutgoingEmail) {
    for shown in [error.to_string(), format!("{error:?}")] {
        for secret in ["jo.bloggs", "example.org", "Jo Bloggs", "diabetes", "Please book", "preparing-for"] {
            assert!(!shown.contains(secret), "{shown:?} reveals {secret:?}");
        }
        assert!(!shown.contains(&email.to) && !shown.contains(&email.subject));
    }
}

fn transport(sink: &SmtpSink) -> SmtpEmailTransport {
    SmtpEmailTransport::new(sink.config(FROM)).expect("loopback config is valid")
}

#[tokio::test]
async fn an_invitation_arrives_with_recipient_subject_message_id_bodies_and_leaflet() {
    let sink = SmtpSink::start().await;
    let email = invitation("0197a6c0-7d3e-7c1b-9a4e-3f2b1c0d9e8f");

    let delivery = transport(&sink).send(&email).await.expect("the sink accepts the email");

    assert!(delivery.provider_id.as_deref().is_some_and(|id| id.contains("queued as SINK")), "{delivery:?}");
    let received = sink.received();
    assert_eq!(received.len(), 1);
    let message = &received[0];
    assert!(message.acknowledged);
    assert_eq!(message.mail_from, "noreply@riverside.example");
    assert_eq!(message.recipients, ["jo.bloggs@example.org"]);
    let expected_id = email_message_id(&email.message_id, "riverside.example");
    assert_eq!(expected_id, "<0197a6c0-7d3e-7c1b-9a4e-3f2b1c0d9e8f@riverside.example>");
    assert_eq!(message.message_id.as_deref(), Some(expected_id.as_str()));

    let decoded = message.decoded();
    assert_eq!(decoded.from, ["noreply@riverside.example"]);
    assert_eq!(decoded.to, ["jo.bloggs@example.org"]);
    assert_eq!(decoded.subject.as_deref(), Some(email.subject.as_str()));
    assert_eq!(decoded.message_id.as_deref(), Some(expected_id.as_str()));
    let normalise = |text: &str| text.replace("\r\n", "\n").trim_end().to_owned();
    assert_eq!(normalise(decoded.text_body.as_deref().unwrap()), normalise(&email.text_body));
    assert_eq!(normalise(decoded.html_body.as_deref().unwrap()), normalise(email.html_body.as_deref().unwrap()));
    assert_eq!(decoded.attachments.len(), 1);
    let leaflet_received = &decoded.attachments[0];
    assert_eq!(leaflet_received.filename.as_deref(), Some("preparing-for-your-review.pdf"));
    assert_eq!(leaflet_received.content_type.as_deref(), Some("application/pdf"));
    assert_eq!(leaflet_received.bytes, leaflet());
    assert!(decoded.raw_headers.iter().any(|(name, _)| name.eq_ignore_ascii_case("Date")));
}

#[tokio::test]
async fn a_plain_text_email_without_attachments_is_a_single_part() {
    let sink = SmtpSink::start().await;
    let email = OutgoingEmail {
        message_id: "reminder-1".to_owned(),
        to: "jo.bloggs@example.org".to_owned(),
        subject: "Reminder".to_owned(),
        text_body: "Your appointment is on Tuesday.".to_owned(),
        html_body: None,
        attachments: Vec::new(),
    };
    transport(&sink).send(&email).await.expect("accepted");
    let decoded = sink.received()[0].decoded();
    assert_eq!(decoded.text_body.as_deref().map(str::trim_end), Some("Your appointment is on Tuesday."));
    assert_eq!(decoded.html_body, None);
    assert!(decoded.attachments.is_empty());
}

#[tokio::test]
async fn a_resend_carries_the_same_message_id_and_the_sink_counts_it() {
    let sink = SmtpSink::start().await;
    let transport: Arc<dyn EmailTransport> = Arc::new(transport(&sink));
    let first = invitation("msg-1");
    let second = invitation("msg-2");
    transport.send_email(&first).await.expect("first accepted");
    transport.send_email(&second).await.expect("second accepted");
    assert!(sink.duplicates().is_empty());

    transport.send_email(&first).await.expect("resend accepted");

    let id = email_message_id("msg-1", "riverside.example");
    assert_eq!(sink.count_with_message_id(&id), 2);
    assert_eq!(sink.count_with_message_id(&email_message_id("msg-2", "riverside.example")), 1);
    assert_eq!(sink.duplicates(), [(id, 2)]);
    assert_eq!(sink.connections(), 3, "one connection per message");
}

#[tokio::test]
async fn a_rejected_recipient_is_permanent_and_a_deferred_one_transient() {
    let sink = SmtpSink::start().await;
    let email = invitation("msg-550");

    sink.set_behaviour(SmtpBehaviour::RejectRecipients(550));
    let error = transport(&sink).send(&email).await.expect_err("550 to RCPT");
    assert!(error.is_permanent(), "{error}");
    assert!(error.reason().contains("550"), "{error}");
    assert_private(&error, &email);

    sink.set_behaviour(SmtpBehaviour::RejectRecipients(450));
    let error = transport(&sink).send(&email).await.expect_err("450 to RCPT");
    assert!(error.is_transient(), "{error}");
    assert!(error.reason().contains("450"), "{error}");
    assert_private(&error, &email);
    assert!(sink.received().is_empty());
}

#[tokio::test]
async fn a_refused_message_is_permanent_or_transient_by_reply_code() {
    let sink = SmtpSink::start().await;
    let email = invitation("msg-data");
    sink.set_behaviour(SmtpBehaviour::RejectData(554));
    let error = transport(&sink).send(&email).await.expect_err("554 to DATA");
    assert!(error.is_permanent() && error.reason().contains("554"), "{error}");
    assert_private(&error, &email);

    sink.set_behaviour(SmtpBehaviour::RejectData(451));
    let error = transport(&sink).send(&email).await.expect_err("451 to DATA");
    assert!(error.is_transient() && error.reason().contains("451"), "{error}");
    assert_eq!(sink.rejected(), 2);
    assert!(sink.received().is_empty());
}

#[tokio::test]
async fn a_connection_lost_after_data_is_transient_though_the_server_has_the_message() {
    let sink = SmtpSink::start().await;
    let email = invitation("msg-lost-reply");
    sink.set_behaviour(SmtpBehaviour::DisconnectAfterData);
    let error = transport(&sink).send(&email).await.expect_err("no reply to DATA");
    assert!(error.is_transient(), "{error}");
    assert_private(&error, &email);
    let received = sink.received();
    assert_eq!(received.len(), 1);
    assert!(!received[0].acknowledged);

    // The retry arrives with the same Message-ID, so the duplicate is recognisable.
    sink.set_behaviour(SmtpBehaviour::Accept);
    transport(&sink).send(&email).await.expect("retry accepted");
    assert_eq!(sink.duplicates(), [(email_message_id("msg-lost-reply", "riverside.example"), 2)]);
}

#[tokio::test]
async fn a_closed_port_is_transient() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let sink = SmtpSink::start().await;
    let mut config = sink.config(FROM);
    config.port = port;
    let email = invitation("msg-refused");
    let error = SmtpEmailTransport::new(config).unwrap().send(&email).await.expect_err("nothing listens");
    assert!(error.is_transient(), "{error}");
    assert!(error.reason().contains("could not reach"), "{error}");
    assert_private(&error, &email);
}

#[tokio::test]
async fn a_silent_server_times_out_as_transient() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    // Accepts connections and says nothing.
    let silent = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            held.push(stream);
        }
    });
    let sink = SmtpSink::start().await;
    let mut config = sink.config(FROM);
    config.port = port;
    config.timeout = Duration::from_millis(300);
    let email = invitation("msg-silent");
    let error = SmtpEmailTransport::new(config).unwrap().send(&email).await.expect_err("no greeting");
    assert!(error.is_transient() && error.reason().contains("timed out"), "{error}");
    assert_private(&error, &email);
    silent.abort();
}

#[tokio::test]
async fn an_invalid_recipient_address_is_permanent_without_repeating_it() {
    let sink = SmtpSink::start().await;
    let mut email = invitation("msg-bad-address");
    email.to = "jo.bloggs at example.org".to_owned();
    let error = transport(&sink).send(&email).await.expect_err("not an address");
    assert!(error.is_permanent(), "{error}");
    assert_private(&error, &email);
    assert_eq!(sink.connections(), 0, "nothing is sent");
}

#[tokio::test]
async fn credentials_are_sent_with_auth_plain_and_wrong_ones_are_permanent() {
    let sink = SmtpSink::start().await;
    sink.require_credentials("concord", "s3cret-pass");
    let email = invitation("msg-auth");
    let with = |password: Option<&str>| {
        let mut config = sink.config(FROM);
        config.credentials =
            password.map(|password| SmtpCredentials { username: "concord".to_owned(), password: password.to_owned() });
        SmtpEmailTransport::new(config).expect("credentials over plain SMTP are allowed on loopback")
    };

    with(Some("s3cret-pass")).send(&email).await.expect("authenticated");
    assert_eq!(sink.received()[0].auth_user.as_deref(), Some("concord"));

    let error = with(Some("wrong-pass")).send(&email).await.expect_err("535");
    assert!(error.is_permanent() && error.reason().contains("535"), "{error}");
    assert!(!error.to_string().contains("wrong-pass"));

    let error = with(None).send(&email).await.expect_err("530");
    assert!(error.is_permanent() && error.reason().contains("530"), "{error}");
    assert_eq!(sink.received().len(), 1);
}

#[tokio::test]
async fn tls_modes_fail_transiently_against_a_plain_server() {
    let sink = SmtpSink::start().await;
    let email = invitation("msg-tls");
    for mode in [TlsMode::Tls, TlsMode::StartTls] {
        let mut config = sink.config(FROM);
        config.tls = mode;
        // The certificate would be checked for this name; the handshake fails before that.
        config.host = "localhost".to_owned();
        let error = SmtpEmailTransport::new(config).unwrap().send(&email).await.expect_err("no TLS on the sink");
        assert!(error.is_transient(), "{mode:?}: {error}");
        assert_private(&error, &email);
    }
    assert!(sink.received().is_empty());
}
