//! After sending, on real databases: the SMS gateway's delivery receipts are accepted only with
//! the configured token and recorded; a receipt of failure puts the message on the staff's list of
//! undelivered messages, where it is sent as a letter instead (once), with every step audited.

use concord_app::AppError;
use concord_app::cycle::Caller;
use concord_domain::access::StaffRole;
use time::OffsetDateTime;

mod common;

fn population() -> std::path::PathBuf {
    let directory = common::scratch("concord-app-messages");
    let write = |name: &str, text: &str| std::fs::write(directory.join(name), text).unwrap();
    write(
        "organisations.csv",
        "ods_code,name,kind,parent_ods_code\nY99,North Region,region,\nU12345,Riverside PCN,pcn,Y99\n\
         F83004,Mill Lane Surgery,practice,U12345\n",
    );
    write(
        "patients.csv",
        "record_id,nhs_number,given_name,family_name,birth_date,sex,practice_ods_code,registered_from,preferred_channel,mobile\n\
         P1,9434765919,Grace,Okafor,1948-02-11,female,F83004,2000-01-01,sms,07700 900123\n\
         P2,9434765870,Tom,Reid,1950-05-01,male,F83004,2000-01-01,sms,07700 900456\n",
    );
    directory
}

#[tokio::test]
async fn delivery_receipts_are_recorded_and_failures_reach_staff() {
    for mut concord in common::engines("app_messages").await {
        let now = OffsetDateTime::now_utc();
        common::import(&concord, vec![population()], now.date()).await;
        let grace = common::patient_id(&concord, "9434765919").await;
        let tom = common::patient_id(&concord, "9434765870").await;
        for person in [&grace, &tom] {
            assert_eq!(concord.send_access_code(Caller::Console, person, None, now).await.unwrap(), "sms");
        }
        let sms = |person: &str| {
            let concord = concord.clone();
            let person = person.to_owned();
            async move {
                concord.store.messages_for(&person).await.unwrap().into_iter().find(|m| m.channel == "sms").unwrap()
            }
        };
        let (to_grace, to_tom) = (sms(&grace).await, sms(&tom).await);
        // The gateway accepted both (as the transport records it).
        for (message, provider) in [(&to_grace, "gateway-1"), (&to_tom, "gateway-2")] {
            let outcome =
                concord_store::DeliveryOutcome { status: "sent", provider_id: Some(provider), ..Default::default() };
            concord.store.record_delivery(&message.id, &outcome, "2026-12-01T10:00:00Z").await.unwrap();
        }

        // Receipts need the configured token.
        assert!(matches!(
            concord.sms_delivery_receipt("anything", &to_grace.id, "delivered", now).await,
            Err(AppError::Forbidden(_))
        ));
        concord.sms_callback_token_sha256 = Some(concord_app::auth::token_digest("callback-secret"));
        assert!(matches!(
            concord.sms_delivery_receipt("wrong", &to_grace.id, "delivered", now).await,
            Err(AppError::Forbidden(_))
        ));
        // Grace's arrived (named by Concord's reference); Tom's phone was off (named by the gateway's id).
        assert!(concord.sms_delivery_receipt("callback-secret", &to_grace.id, "delivered", now).await.unwrap());
        assert!(concord.sms_delivery_receipt("callback-secret", "gateway-2", "temporary-failure", now).await.unwrap());
        assert!(!concord.sms_delivery_receipt("callback-secret", "nobody", "delivered", now).await.unwrap());

        let admin = common::staff(StaffRole::PracticeAdmin, "Sam Admin", "F83004");
        let failed = concord.failed_messages(&admin).await.unwrap();
        assert_eq!(failed.len(), 1, "only Tom's");
        assert_eq!(failed[0].message.id, to_tom.id);
        assert_eq!(failed[0].message.last_error.as_deref(), concord_app::outbox::receipt_failure("temporary-failure"));
        let commissioner = common::staff(StaffRole::Commissioner, "Chris", "F83004");
        assert!(matches!(concord.failed_messages(&commissioner).await, Err(AppError::Forbidden(_))));

        // Sent as a letter instead, once.
        assert!(matches!(
            concord.resolve_failed_message(&admin, &to_tom.id, "pigeon", now).await,
            Err(AppError::Invalid(_))
        ));
        assert!(concord.resolve_failed_message(&admin, &to_tom.id, "letter", now).await.unwrap());
        assert!(!concord.resolve_failed_message(&admin, &to_tom.id, "letter", now).await.unwrap(), "once");
        let letters: Vec<_> = concord
            .store
            .messages_for(&tom)
            .await
            .unwrap()
            .into_iter()
            .filter(|message| message.channel == "letter")
            .collect();
        assert_eq!(letters.len(), 1);
        assert_eq!((letters[0].status.as_str(), letters[0].body.as_str()), ("to_print", to_tom.body.as_str()));
        assert!(concord.failed_messages(&admin).await.unwrap().is_empty());
        let audited = concord
            .store
            .audit_events(&concord_store::AuditFilter { patient_id: Some(tom.clone()), ..Default::default() })
            .await
            .unwrap();
        let about: Vec<&str> =
            audited.iter().filter(|event| event.entity == "OutboxMessage").map(|event| event.detail.as_str()).collect();
        assert_eq!(about.len(), 2, "{about:?}");
    }
}
