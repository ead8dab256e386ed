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

/// The size of a PostgreSQL database, in GB.
pub async fn postgres_size_gb(url: &str) -> anyhow::Result<f64> {
    let mut connection = sqlx::PgConnection::connect(url).await?;
    let (bytes,): (i64,) =
        sqlx::query_as("SELECT pg_database_size(current_database())").fetch_one(&mut connection).await?;
    Ok(bytes as f64 / 1e9)
}

pub async fn drop_postgres_database(base: &str, name: &str) -> anyhow::Result<()> {
    let mut admin = sqlx::PgConnection::connect(base).await?;
    admin.execute(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name}"))).await?;
    Ok(())
}

/// The largest patient and observation ids in a database (ids are UUIDv7, so rows written later
/// have larger ids): where the next slice's rows start.
pub async fn last_ids(url: &str) -> anyhow::Result<(String, String)> {
    let mut connection = sqlx::PgConnection::connect(url).await?;
    let (patient, observation): (Option<String>, Option<String>) =
        sqlx::query_as("SELECT (SELECT max(id) FROM patient), (SELECT max(id) FROM observation)")
            .fetch_one(&mut connection)
            .await?;
    Ok((patient.unwrap_or_default(), observation.unwrap_or_default()))
}

/// The PostgreSQL floor: the same observation rows, into the same schema and indexes, by `COPY`.
/// The rows are first written, untimed, to a file in COPY's text format (streamed, so memory stays
/// flat for the region's tens of millions of rows); only the COPY from that file is timed.
/// `after`: only patients and observations with larger ids than these (one slice of a region
/// imported slice by slice, so the floor database grows as the import's did); the floor database
/// must already have Concord's schema (`migrate`).
pub async fn postgres_floor(
    imported: &str,
    floor: &str,
    work: &Path,
    after: Option<&(String, String)>,
) -> anyhow::Result<f64> {
    use futures_util::TryStreamExt;
    use std::io::{Read, Write};
    let (after_patient, after_observation) = after.cloned().unwrap_or_default();
    let mut source = sqlx::PgConnection::connect(imported).await?;
    let mut target = sqlx::PgConnection::connect(floor).await?;
    // Patients first (untimed), for the foreign key.
    {
        let mut copy = target
            .copy_in_raw(
                "COPY patient (id, given_name, family_name, search_name, birth_date, sex, updated_at) FROM STDIN",
            )
            .await?;
        let mut patients = sqlx::query(
            "SELECT id, given_name, family_name, search_name, birth_date, sex, updated_at FROM patient WHERE id > $1",
        )
        .bind(after_patient)
        .fetch(&mut source);
        let mut buffer = String::new();
        while let Some(row) = patients.try_next().await? {
            let fields: Vec<String> = (0..7).map(|index| copy_text(row.try_get(index).ok())).collect();
            buffer.push_str(&fields.join("\t"));
            buffer.push('\n');
            if buffer.len() > 1 << 22 {
                copy.send(std::mem::take(&mut buffer).into_bytes()).await?;
            }
        }
        copy.send(buffer.into_bytes()).await?;
        copy.finish().await?;
    }

    let path = work.join("floor-observations.copy");
    {
        let mut file = std::io::BufWriter::with_capacity(1 << 22, std::fs::File::create(&path)?);
        let mut rows =
            sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {OBSERVATION_COLUMNS} FROM observation WHERE id > $1")))
                .bind(after_observation)
                .fetch(&mut source);
        while let Some(row) = rows.try_next().await? {
            let mut fields = Vec::with_capacity(18);
            for index in 0..18 {
                fields.push(if index == 9 {
                    copy_text(row.try_get::<Option<f64>, _>(index)?.map(|value| value.to_string()))
                } else {
                    copy_text(row.try_get::<Option<String>, _>(index)?)
                });
            }
            file.write_all(fields.join("\t").as_bytes())?;
            file.write_all(b"\n")?;
        }
        file.flush()?;
    }
    let started = Instant::now();
    let mut copy = target.copy_in_raw(&format!("COPY observation ({OBSERVATION_COLUMNS}) FROM STDIN")).await?;
    // COPY's data is a byte stream: blocks may split lines anywhere.
    let mut file = std::fs::File::open(&path)?;
    let mut block = vec![0u8; 1 << 22];
    loop {
        let read = file.read(&mut block)?;
        if read == 0 {
            break;
        }
        copy.send(&block[..read]).await?;
    }
    copy.finish().await?;
    let seconds = started.elapsed().as_secs_f64();
    let _ = std::fs::remove_file(&path);
    Ok(seconds)
}

/// Gives a database Concord's schema and indexes, through the real migrations.
pub async fn migrate(url: &str) -> anyhow::Result<()> {
    Concord::open(url).await?.store.close().await;
    Ok(())
}
