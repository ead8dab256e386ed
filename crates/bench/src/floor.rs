//! The floors the import is compared with: the same observation rows, into the same schema and
//! indexes, by the cheapest path each engine has (a prepared-statement loop in one transaction for
//! SQLite, `COPY` for PostgreSQL).

use std::path::Path;
use std::time::Instant;

use anyhow::Context;
use concord_app::Concord;
use sqlx::{Connection, Executor, Row};

const OBSERVATION_COLUMNS: &str = "id, patient_id, source_key, code_system, code, term, observable, value_kind, value_text, \
     value_number, unit, value_code_system, value_code, effective, status, source, unreadable_reason, updated_at";

/// The SQLite floor: the same observation rows, into the same schema and indexes, by one prepared
/// INSERT in a loop inside one transaction, with the same durability settings.
pub async fn sqlite_floor(imported: &Path, floor: &Path) -> anyhow::Result<f64> {
    // Same schema and indexes, made by the real migrations.
    let floor_url = format!("sqlite://{}", floor.display());
    Concord::open(&floor_url).await?.store.close().await;
    let mut connection = sqlx::SqliteConnection::connect(&format!("{floor_url}?mode=rwc")).await?;
    connection.execute("PRAGMA journal_mode = WAL").await?;
    connection.execute("PRAGMA synchronous = FULL").await?;
    connection.execute("PRAGMA foreign_keys = ON").await?;
    connection.execute(sqlx::AssertSqlSafe(format!("ATTACH DATABASE '{}' AS source", imported.display()))).await?;
    connection.execute("INSERT INTO patient SELECT * FROM source.patient").await?;
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {OBSERVATION_COLUMNS} FROM source.observation")))
        .fetch_all(&mut connection)
        .await?;
    let insert = format!(
        "INSERT INTO observation ({OBSERVATION_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)"
    );
    let started = Instant::now();
    let mut transaction = connection.begin().await?;
    for row in &rows {
        let mut query = sqlx::query(sqlx::AssertSqlSafe(insert.as_str()));
        for index in 0..18 {
            query = if index == 9 {
                query.bind(row.try_get::<Option<f64>, _>(index)?)
            } else {
                query.bind(row.try_get::<Option<String>, _>(index)?)
            };
        }
        query.execute(&mut *transaction).await?;
    }
    transaction.commit().await?;
    Ok(started.elapsed().as_secs_f64())
}

pub async fn fresh_postgres_database(base: &str, name: &str) -> anyhow::Result<String> {
    let mut admin = sqlx::PgConnection::connect(base).await?;
    admin.execute(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name}"))).await?;
    admin.execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).await?;
    let (prefix, _) = base.rsplit_once('/').context("postgres URL has a database name")?;
    Ok(format!("{prefix}/{name}"))
}

/// Escapes a value for COPY's text format.
fn copy_text(value: Option<String>) -> String {
    match value {
        None => "\\N".into(),
        Some(text) => text.replace('\\', "\\\\").replace('\t', "\\t").replace('\n', "\\n").replace('\r', "\\r"),
    }
}

/// The PostgreSQL floor: the same observation rows, into the same schema and indexes, by `COPY`.
pub async fn postgres_floor(imported: &str, floor: &str) -> anyhow::Result<f64> {
    Concord::open(floor).await?.store.close().await;
    let mut source = sqlx::PgConnection::connect(imported).await?;
    let mut target = sqlx::PgConnection::connect(floor).await?;
    // Patients first (untimed), for the foreign key.
    let patients =
        sqlx::query("SELECT id, given_name, family_name, search_name, birth_date, sex, updated_at FROM patient")
            .fetch_all(&mut source)
            .await?;
    let mut buffer = String::new();
    for row in &patients {
        let fields: Vec<String> = (0..7).map(|index| copy_text(row.try_get(index).ok())).collect();
        buffer.push_str(&fields.join("\t"));
        buffer.push('\n');
    }
    let mut copy = target
        .copy_in_raw("COPY patient (id, given_name, family_name, search_name, birth_date, sex, updated_at) FROM STDIN")
        .await?;
    copy.send(buffer.into_bytes()).await?;
    copy.finish().await?;

    let rows = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {OBSERVATION_COLUMNS} FROM observation")))
        .fetch_all(&mut source)
        .await?;
    let mut lines = Vec::with_capacity(rows.len());
    for row in &rows {
        let mut fields = Vec::with_capacity(18);
        for index in 0..18 {
            fields.push(if index == 9 {
                copy_text(row.try_get::<Option<f64>, _>(index)?.map(|value| value.to_string()))
            } else {
                copy_text(row.try_get::<Option<String>, _>(index)?)
            });
        }
        lines.push(fields.join("\t"));
    }
    let started = Instant::now();
    let mut copy = target.copy_in_raw(&format!("COPY observation ({OBSERVATION_COLUMNS}) FROM STDIN")).await?;
    for chunk in lines.chunks(10_000) {
        let mut block = chunk.join("\n");
        block.push('\n');
        copy.send(block.into_bytes()).await?;
    }
    copy.finish().await?;
    Ok(started.elapsed().as_secs_f64())
}
