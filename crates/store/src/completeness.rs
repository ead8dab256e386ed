//! Care-process completeness: of the people in this year's cycle on a register, how many have each
//! listed checklist item done, and how many have all of them done (the National Diabetes Audit's
//! "all eight care processes" measure when the register is diabetes and the items are its eight).
//!
//! Reads the kept status only (`patient_status`, `care_process_status`), so it is as current as the
//! last status refresh; callers that need it current refresh first, as the worklist does.

use sqlx::Row;

use crate::sql::{Value, bind_values, generated};
use crate::{Store, StoreError};

/// Completeness of the listed items for the people in the cycle on one register.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Completeness {
    /// People in the cycle on the register (and practice, when one was given).
    pub people: i64,
    /// For each item asked about (in the order asked, duplicates removed): people with it done.
    pub items: Vec<(String, i64)>,
    /// People with every listed item done (everyone, when no item is listed).
    pub all_done: i64,
}

/// The statement for `items` distinct items, `practice` or not. Placeholders: `$1` the register
/// pattern, then the practice if any, then the items; the same text on both engines.
///
/// Each person's done items are read in one range of `care_process_status_done` (patient, status)
/// and counted by item in the select list, people in id order from `patient_status_cycle` so the
/// grouping needs no sort (migration 0004; about three times faster than probing each item).
fn completeness_sql(practice: bool, items: usize) -> String {
    let mut filter = String::from("s.enters_cycle = 1 AND (' ' || s.registers || ' ') LIKE $1");
    if practice {
        filter.push_str(" AND s.practice_ods_code = $2");
    }
    if items == 0 {
        return format!("SELECT COUNT(*), COUNT(*) FROM patient_status s WHERE {filter}");
    }
    let first_item = if practice { 3 } else { 2 };
    let placeholders: Vec<String> = (first_item..first_item + items).map(|n| format!("${n}")).collect();
    let mut inner =
        format!("SELECT s.patient_id, COUNT(CASE WHEN c.item IN ({}) THEN 1 END) AS done", placeholders.join(", "));
    for (index, placeholder) in placeholders.iter().enumerate() {
        inner.push_str(&format!(", COUNT(CASE WHEN c.item = {placeholder} THEN 1 END) AS item{index}"));
    }
    inner.push_str(&format!(
        " FROM patient_status s LEFT JOIN care_process_status c ON c.patient_id = s.patient_id AND c.status = 'done' \
         WHERE {filter} GROUP BY s.patient_id"
    ));
    let mut sql = format!("SELECT COUNT(*), COUNT(CASE WHEN per_person.done = {items} THEN 1 END)");
    for index in 0..items {
        sql.push_str(&format!(", COUNT(CASE WHEN per_person.item{index} > 0 THEN 1 END)"));
    }
    sql.push_str(&format!(" FROM ({inner}) per_person"));
    sql
}

impl Store {
    /// Of the people entering the cycle who are on `register` (at `practice`, or everywhere), how
    /// many have each of `items` done (`care_process_status.status = 'done'`), and how many have
    /// all of them done. An item nobody on the register is checked for counts 0, and then nobody
    /// has all of them done.
    pub async fn care_process_completeness(
        &self,
        practice: Option<&str>,
        register: &str,
        items: &[&str],
    ) -> Result<Completeness, StoreError> {
        let mut distinct: Vec<&str> = Vec::with_capacity(items.len());
        for item in items {
            if !distinct.contains(item) {
                distinct.push(item);
            }
        }
        let mut values = vec![Value::text(format!("% {register} %"))];
        if let Some(practice) = practice {
            values.push(Value::text(practice));
        }
        values.extend(distinct.iter().map(|item| Value::text(*item)));
        let row = bind_values(generated(completeness_sql(practice.is_some(), distinct.len())), &values)
            .fetch_one(self.pool())
            .await?;
        let mut counts = Vec::with_capacity(distinct.len());
        for (index, item) in distinct.iter().enumerate() {
            counts.push(((*item).to_owned(), row.try_get::<i64, _>(index + 2)?));
        }
        Ok(Completeness { people: row.try_get(0)?, items: counts, all_done: row.try_get(1)? })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statement_numbers_the_practice_before_the_items() {
        let sql = completeness_sql(true, 2);
        assert!(sql.contains("c.item IN ($3, $4) THEN"), "{sql}");
        assert!(sql.contains("s.practice_ods_code = $2"), "{sql}");
        assert!(sql.contains("per_person.done = 2"), "{sql}");
        let sql = completeness_sql(false, 1);
        assert!(sql.contains("c.item IN ($2) THEN"), "{sql}");
        assert!(!sql.contains("practice_ods_code"), "{sql}");
    }

    #[test]
    fn no_items_joins_nothing_and_everyone_has_all_done() {
        let sql = completeness_sql(false, 0);
        assert_eq!(
            sql,
            "SELECT COUNT(*), COUNT(*) FROM patient_status s WHERE s.enters_cycle = 1 AND (' ' || s.registers || ' ') LIKE $1"
        );
    }
}

/// A population measure to keep (from `data/measures.csv`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MeasureDefinition {
    pub id: String,
    pub register: String,
    pub items: Vec<String>,
}

impl Store {
    /// Recomputes the kept measures of the given practices (after their statuses changed).
    pub async fn refresh_kept_measures(
        &self,
        practices: &[String],
        measures: &[MeasureDefinition],
        now: &str,
    ) -> Result<(), StoreError> {
        for practice in practices {
            for measure in measures {
                let items: Vec<&str> = measure.items.iter().map(String::as_str).collect();
                let counts = self.care_process_completeness(Some(practice), &measure.register, &items).await?;
                let mut rows = vec![(String::new(), counts.people), ("*".to_owned(), counts.all_done)];
                rows.extend(counts.items);
                let mut transaction = self.pool().begin().await?;
                for (item, people) in rows {
                    sqlx::query(
                        "INSERT INTO kept_measure (practice_ods_code, measure, item, people, updated_at) VALUES ($1, $2, $3, $4, $5) \
                         ON CONFLICT (practice_ods_code, measure, item) DO UPDATE SET people = excluded.people, updated_at = excluded.updated_at",
                    )
                    .bind(practice.clone())
                    .bind(measure.id.clone())
                    .bind(item)
                    .bind(people)
                    .bind(now.to_owned())
                    .execute(&mut *transaction)
                    .await?;
                }
                transaction.commit().await?;
            }
        }
        Ok(())
    }

    /// A kept measure for one practice (or, with `None`, summed over every practice), in the
    /// measure's item order; `None` when never computed.
    pub async fn kept_measure(
        &self,
        practice: Option<&str>,
        measure: &MeasureDefinition,
    ) -> Result<Option<Completeness>, StoreError> {
        let rows: Vec<(String, i64)> = match practice {
            Some(practice) => {
                sqlx::query_as("SELECT item, people FROM kept_measure WHERE practice_ods_code = $1 AND measure = $2")
                    .bind(practice.to_owned())
                    .bind(measure.id.clone())
                    .fetch_all(self.pool())
                    .await?
            }
            None => {
                sqlx::query_as(
                    "SELECT item, CAST(SUM(people) AS BIGINT) FROM kept_measure WHERE measure = $1 GROUP BY item",
                )
                .bind(measure.id.clone())
                .fetch_all(self.pool())
                .await?
            }
        };
        let count = |item: &str| rows.iter().find(|(known, _)| known == item).map(|(_, people)| *people);
        let Some(people) = count("") else { return Ok(None) };
        Ok(Some(Completeness {
            people,
            all_done: count("*").unwrap_or(0),
            items: measure.items.iter().map(|item| (item.clone(), count(item).unwrap_or(0))).collect(),
        }))
    }

    /// People entering this year's cycle, per practice (as of the last status refresh).
    pub async fn cycle_eligible_by_practice(&self) -> Result<Vec<(String, i64)>, StoreError> {
        let rows: Vec<(Option<String>, i64)> = sqlx::query_as(
            "SELECT practice_ods_code, COUNT(*) FROM patient_status WHERE enters_cycle = 1 GROUP BY practice_ods_code",
        )
        .fetch_all(self.pool())
        .await?;
        Ok(rows.into_iter().filter_map(|(practice, count)| practice.map(|practice| (practice, count))).collect())
    }
}
