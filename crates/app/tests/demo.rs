//! Demo accounts (with their published password) are never created in a database that has taken
//! in real records (hazard H9).

use concord_app::Concord;
use concord_app::import::ImportOptions;
use concord_domain::audit::Actor;
use time::macros::date;

#[tokio::test]
async fn demo_accounts_are_refused_once_real_records_were_imported() {
    let directory = std::env::temp_dir().join(format!("concord-demo-test-{}", std::process::id()));
    std::fs::create_dir_all(&directory).unwrap();
    let concord = Concord::open(&format!("sqlite://{}", directory.join("t.db").display())).await.unwrap();

    // An empty database may hold demo accounts.
    let accounts = concord.ensure_demo_accounts(None).await.unwrap();
    assert_eq!(accounts.len(), concord_domain::access::StaffRole::ALL.len());

    // An import not marked synthetic marks the database as real; from then on, no demo accounts.
    let extract = directory.join("extract.ndjson");
    std::fs::write(&extract, "{\"resourceType\":\"Claim\",\"id\":\"1\"}\n").unwrap();
    concord
        .import(
            ImportOptions {
                paths: vec![extract],
                extract_date: date!(2026 - 11 - 20),
                source_system: "emis".into(),
                synthetic: false,
                default_practice: None,
                actor: Actor::System("test".into()),
            },
            |_| {},
        )
        .await
        .unwrap();
    assert!(concord.holds_real_records().await.unwrap());
    let refused = concord.ensure_demo_accounts(None).await.unwrap_err();
    assert!(refused.to_string().contains("real records"), "{refused}");
    std::fs::remove_dir_all(&directory).unwrap();
}
