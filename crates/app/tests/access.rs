//! Lists that can identify people are permission-checked in the application layer and their reads
//! are audited, whichever entry point asks.

use concord_app::Concord;
use concord_app::record::StaffMember;
use concord_domain::access::StaffRole;

fn staff(role: StaffRole) -> StaffMember {
    StaffMember {
        user_id: "u".into(),
        username: format!("test.{}", role.as_str()),
        display_name: "Test".into(),
        role,
        organisation: Some("F00001".into()),
    }
}

#[tokio::test]
async fn the_audit_trail_and_unreadable_list_are_checked_and_their_reads_audited() {
    let directory = std::env::temp_dir().join(format!("concord-access-test-{}", std::process::id()));
    std::fs::create_dir_all(&directory).unwrap();
    let concord = Concord::open(&format!("sqlite://{}", directory.join("t.db").display())).await.unwrap();

    assert!(concord.audit_trail(&staff(StaffRole::Nurse), 10, None).await.is_err());
    assert!(concord.unreadable_results(&staff(StaffRole::Commissioner), None).await.is_err());
    assert_eq!(concord.store.audit_event_count().await.unwrap(), 0, "refused reads leave no trail of data read");

    concord.unreadable_results(&staff(StaffRole::Gp), Some("r1".into())).await.unwrap();
    let trail = concord.audit_trail(&staff(StaffRole::PrivacyOfficer), 10, Some("r2".into())).await.unwrap();
    assert_eq!(trail.len(), 1, "the list read is on the trail before the trail is read");
    assert_eq!((trail[0].entity.as_str(), trail[0].actor.as_str()), ("UnreadableResultsList", "test.gp"));
    let after = concord.audit_trail(&staff(StaffRole::PrivacyOfficer), 10, None).await.unwrap();
    assert_eq!(after[0].entity, "AuditTrail");
    assert_eq!(after[0].request_id.as_deref(), Some("r2"));
    std::fs::remove_dir_all(&directory).unwrap();
}
