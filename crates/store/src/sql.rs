//! Small helpers for the portable SQL subset: bound values, generated multi-row upserts, and
//! conversions between domain dates/times and their TEXT storage.

use sqlx::any::{AnyArguments, AnyRow};
use sqlx::query::Query;
use sqlx::{Any, AssertSqlSafe, Row};
use time::format_description::well_known::Rfc3339;
use time::{Date, OffsetDateTime, UtcOffset};

use crate::StoreError;

/// A value to bind, in the portable column types.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value {
    Text(Option<String>),
    Integer(Option<i64>),
    Real(Option<f64>),
}

impl Value {
    pub(crate) fn text(text: impl Into<String>) -> Self {
        Self::Text(Some(text.into()))
    }

    pub(crate) fn optional_text(text: Option<impl Into<String>>) -> Self {
        Self::Text(text.map(Into::into))
    }
}

/// Binds values taken by value, so no text is copied on the import path.
pub(crate) fn bind_owned<'q>(
    mut query: Query<'q, Any, AnyArguments>,
    values: impl IntoIterator<Item = Value>,
) -> Query<'q, Any, AnyArguments> {
    for value in values {
        query = match value {
            Value::Text(text) => query.bind(text),
            Value::Integer(integer) => query.bind(integer),
            Value::Real(real) => query.bind(real),
        };
    }
    query
}

pub(crate) fn bind_values<'q>(
    mut query: Query<'q, Any, AnyArguments>,
    values: &[Value],
) -> Query<'q, Any, AnyArguments> {
    for value in values {
        query = match value {
            Value::Text(text) => query.bind(text.clone()),
            Value::Integer(integer) => query.bind(*integer),
            Value::Real(real) => query.bind(*real),
        };
    }
    query
}

/// A query over generated SQL. The SQL text holds only table and column names chosen by this
/// crate and `$n` placeholders; every value travels as a bound parameter.
pub(crate) fn generated(sql: String) -> Query<'static, Any, AnyArguments> {
    sqlx::query(AssertSqlSafe(sql))
}

/// `INSERT … VALUES (…), (…) ON CONFLICT (key) DO UPDATE SET … WHERE <something changed> RETURNING …`.
///
/// Rows whose stored values already equal the new ones are neither written nor returned, so a
/// repeated import changes nothing and the returned rows are exactly the changes to audit.
pub(crate) fn upsert_sql(
    table: &str,
    columns: &[&str],
    conflict: &[&str],
    compared: &[&str],
    rows: usize,
    returning: &str,
) -> String {
    upsert_sql_with_casts(table, columns, conflict, compared, rows, returning, &[])
}

/// [`upsert_sql`] with some placeholders cast in SQL, as `CAST($n AS type)`: (column, type).
pub(crate) fn upsert_sql_with_casts(
    table: &str,
    columns: &[&str],
    conflict: &[&str],
    compared: &[&str],
    rows: usize,
    returning: &str,
    casts: &[(&str, &str)],
) -> String {
    let cast_of: Vec<Option<&str>> = columns
        .iter()
        .map(|column| casts.iter().find(|(name, _)| name == column).map(|(_, sql_type)| *sql_type))
        .collect();
    let mut sql = format!("INSERT INTO {table} ({}) VALUES ", columns.join(", "));
    let mut placeholder = 1;
    for row in 0..rows {
        if row > 0 {
            sql.push_str(", ");
        }
        sql.push('(');
        for (column, cast) in cast_of.iter().enumerate() {
            if column > 0 {
                sql.push_str(", ");
            }
            match cast {
                Some(sql_type) => sql.push_str(&format!("CAST(${placeholder} AS {sql_type})")),
                None => {
                    sql.push('$');
                    sql.push_str(&placeholder.to_string());
                }
            }
            placeholder += 1;
        }
        sql.push(')');
    }
    sql.push_str(&format!(" ON CONFLICT ({}) DO UPDATE SET ", conflict.join(", ")));
    let updated: Vec<&str> =
        columns.iter().copied().filter(|column| !conflict.contains(column) && *column != "id").collect();
    sql.push_str(&updated.iter().map(|column| format!("{column} = excluded.{column}")).collect::<Vec<_>>().join(", "));
    sql.push_str(" WHERE ");
    sql.push_str(
        &compared
            .iter()
            .map(|column| format!("{table}.{column} IS DISTINCT FROM excluded.{column}"))
            .collect::<Vec<_>>()
            .join(" OR "),
    );
    sql.push_str(" RETURNING ");
    sql.push_str(returning);
    sql
}

pub(crate) fn date_text(date: Date) -> String {
    format!("{:04}-{:02}-{:02}", date.year(), date.month() as u8, date.day())
}

pub(crate) fn optional_date_text(date: Option<Date>) -> Option<String> {
    date.map(date_text)
}

/// Timestamps are stored in UTC RFC 3339, which sorts correctly as text.
pub(crate) fn timestamp_text(at: OffsetDateTime) -> String {
    at.to_offset(UtcOffset::UTC).format(&Rfc3339).unwrap_or_else(|_| at.unix_timestamp().to_string())
}

pub(crate) fn parse_date(table: &'static str, column: &'static str, text: &str) -> Result<Date, StoreError> {
    let corrupt = |reason: String| StoreError::Corrupt { table, column, reason };
    let mut parts = text.splitn(3, '-');
    let (Some(year), Some(month), Some(day)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(corrupt(format!("{text:?} is not YYYY-MM-DD")));
    };
    let year: i32 = year.parse().map_err(|_| corrupt(format!("{text:?} has no year")))?;
    let month: u8 = month.parse().map_err(|_| corrupt(format!("{text:?} has no month")))?;
    let day: u8 = day.parse().map_err(|_| corrupt(format!("{text:?} has no day")))?;
    let month = time::Month::try_from(month).map_err(|error| corrupt(error.to_string()))?;
    Date::from_calendar_date(year, month, day).map_err(|error| corrupt(error.to_string()))
}

pub(crate) fn parse_optional_date(
    table: &'static str,
    column: &'static str,
    text: Option<String>,
) -> Result<Option<Date>, StoreError> {
    text.filter(|text| !text.is_empty()).map(|text| parse_date(table, column, &text)).transpose()
}

/// Reads a column that one engine reports as text and the other as an integer (PRAGMA/SHOW output).
pub(crate) fn text_or_integer(row: &AnyRow, index: usize) -> Result<String, StoreError> {
    if let Ok(text) = row.try_get::<String, _>(index) {
        return Ok(text);
    }
    Ok(row.try_get::<i64, _>(index)?.to_string())
}

pub(crate) fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upsert_sql_numbers_placeholders_across_rows() {
        let sql = upsert_sql("t", &["id", "a", "b"], &["id"], &["a", "b"], 2, "id");
        assert_eq!(
            sql,
            "INSERT INTO t (id, a, b) VALUES ($1, $2, $3), ($4, $5, $6) ON CONFLICT (id) DO UPDATE SET \
             a = excluded.a, b = excluded.b WHERE t.a IS DISTINCT FROM excluded.a OR t.b IS DISTINCT FROM excluded.b \
             RETURNING id"
        );
    }

    #[test]
    fn dates_round_trip_through_text() {
        let date = Date::from_calendar_date(2026, time::Month::February, 3).unwrap();
        assert_eq!(date_text(date), "2026-02-03");
        assert_eq!(parse_date("t", "c", "2026-02-03").unwrap(), date);
        assert!(parse_date("t", "c", "2026-02-30").is_err());
        assert!(parse_date("t", "c", "yesterday").is_err());
    }
}
