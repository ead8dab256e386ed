"""DuckDB answering Concord's cycle questions over the same data, for `concord-bench`.

Run by concord-bench with the venv's python (scripts/bench.sh makes the venv):
    python duckdb_peer.py DIR PRACTICE SCOPE CYCLE_YEAR CURRENT_MONTH REGISTER ITEMS REPETITIONS

PRACTICE is the worklist's practice; SCOPE is `practice` (completeness for that practice) or `all`
(completeness across every practice in the data). ITEMS is comma-separated.

DIR holds the tables concord-bench exported as CSV (NULL written as \\N). They are converted to
Parquet first (not timed); then each question is asked over the Parquet files (views on
read_parquet), and again over the same rows loaded into DuckDB tables in memory. Every question runs
once untimed, then in REPETITIONS rounds of each in turn, timed inside this process around
execute + fetchall (process start, imports and the conversion are not counted). Prints `timing SOURCE QUESTION MEDIAN MIN MAX`
lines and writes the answers to DIR/duckdb-worklist.tsv, DIR/duckdb-page.tsv and
DIR/duckdb-completeness.tsv for concord-bench to compare with Concord's.
"""

import os
import statistics
import sys
import time

import duckdb

TABLES = {
    "patient": {
        "id": "VARCHAR",
        "nhs_number": "VARCHAR",
        "given_name": "VARCHAR",
        "family_name": "VARCHAR",
        "birth_date": "VARCHAR",
        "practice_ods_code": "VARCHAR",
    },
    "patient_status": {
        "patient_id": "VARCHAR",
        "practice_ods_code": "VARCHAR",
        "registers": "VARCHAR",
        "risk_score": "BIGINT",
        "risk_factors": "VARCHAR",
        "enters_cycle": "BIGINT",
        "care_planning": "VARCHAR",
        "recall_month": "BIGINT",
        "outstanding_items": "BIGINT",
    },
    "care_process_status": {
        "patient_id": "VARCHAR",
        "item": "VARCHAR",
        "status": "VARCHAR",
        "last_done": "VARCHAR",
        "next_due": "VARCHAR",
        "interval_months": "BIGINT",
        "performed_by": "VARCHAR",
    },
    "red_flag": {
        "id": "VARCHAR",
        "patient_id": "VARCHAR",
        "rule_id": "VARCHAR",
        "severity": "VARCHAR",
        "actioned_at": "VARCHAR",
    },
    "care_cycle": {
        "id": "VARCHAR",
        "patient_id": "VARCHAR",
        "cycle_year": "BIGINT",
        "stage": "VARCHAR",
        "invitations": "BIGINT",
        "assigned_to": "VARCHAR",
    },
}

# Concord's worklist (crates/store/src/cycle.rs): the same filter and order, with the open-flag
# count and the outstanding checklist items (Concord reads those in a second query) in one statement.
WORKLIST = """
SELECT s.patient_id, p.nhs_number, p.given_name, p.family_name, p.birth_date, s.practice_ods_code,
       COALESCE(c.stage, 'due'), s.risk_score, s.risk_factors, s.registers, s.care_planning, s.recall_month,
       c.assigned_to, COALESCE(c.invitations, 0),
       (SELECT COUNT(*) FROM red_flag f WHERE f.patient_id = s.patient_id AND f.actioned_at IS NULL),
       (SELECT string_agg(d.item || ':' || d.status, ' ' ORDER BY d.item) FROM care_process_status d
         WHERE d.patient_id = s.patient_id AND d.status <> 'done')
FROM patient_status s JOIN patient p ON p.id = s.patient_id
LEFT JOIN care_cycle c ON c.patient_id = s.patient_id AND c.cycle_year = $1
WHERE s.enters_cycle = 1 AND s.practice_ods_code = $3
ORDER BY (s.recall_month - $2 + 12) % 12, s.risk_score DESC, p.family_name, p.given_name, s.patient_id
LIMIT $4
"""


def completeness_sql(items, practice):
    """Concord's completeness statement (crates/store/src/completeness.rs), for DuckDB."""
    where = "s.enters_cycle = 1 AND (' ' || s.registers || ' ') LIKE $1"
    if practice:
        where += " AND s.practice_ods_code = $2"
    if not items:
        return f"SELECT COUNT(*), COUNT(*) FROM patient_status s WHERE {where}"
    first = 3 if practice else 2
    placeholders = [f"${n}" for n in range(first, first + len(items))]
    per_item = "".join(
        f", COUNT(CASE WHEN c.item = {p} THEN 1 END) AS item{i}" for i, p in enumerate(placeholders)
    )
    inner = (
        f"SELECT s.patient_id, COUNT(CASE WHEN c.item IN ({', '.join(placeholders)}) THEN 1 END) AS done{per_item} "
        "FROM patient_status s LEFT JOIN care_process_status c ON c.patient_id = s.patient_id AND c.status = 'done' "
        f"WHERE {where} GROUP BY s.patient_id"
    )
    outer = "".join(f", COUNT(CASE WHEN per_person.item{i} > 0 THEN 1 END)" for i in range(len(items)))
    return (
        f"SELECT COUNT(*), COUNT(CASE WHEN per_person.done = {len(items)} THEN 1 END){outer} "
        f"FROM ({inner}) per_person"
    )


def field(value):
    if value is None:
        return "\\N"
    return str(value).replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")


def timed_rounds(connection, questions, repetitions):
    """Asks every question once untimed, then in `repetitions` rounds of each in turn (as
    concord-bench does). Returns each question's last answer and its times."""
    answers, times = {}, {name: [] for name, _, _ in questions}
    for round in range(repetitions + 1):
        for name, sql, parameters in questions:
            started = time.perf_counter()
            answers[name] = connection.execute(sql, parameters).fetchall()
            if round > 0:
                times[name].append(time.perf_counter() - started)
    return answers, times


def main():
    directory, practice, scope, cycle_year, month, register, items, repetitions = sys.argv[1:9]
    cycle_year, month, repetitions = int(cycle_year), int(month), int(repetitions)
    items = [item for item in items.split(",") if item]
    connection = duckdb.connect()
    for table, columns in TABLES.items():
        csv = os.path.join(directory, f"{table}.csv")
        parquet = os.path.join(directory, f"{table}.parquet")
        spec = ", ".join(f"'{name}': '{kind}'" for name, kind in columns.items())
        connection.execute(
            f"COPY (SELECT * FROM read_csv('{csv}', header = true, nullstr = '\\N', quote = '\"', escape = '\"', "
            f"columns = {{{spec}}})) TO '{parquet}' (FORMAT parquet)"
        )
    worklist_all = [cycle_year, month, practice, 1_000_000_000]
    worklist_page = [cycle_year, month, practice, 50]
    by_practice = scope == "practice"
    completeness = [f"% {register} %", *([practice] if by_practice else []), *items]
    answers = {}
    for source in ("parquet", "memory"):
        for table in TABLES:
            parquet = os.path.join(directory, f"{table}.parquet")
            connection.execute(f"DROP VIEW IF EXISTS {table}")
            connection.execute(f"DROP TABLE IF EXISTS {table}")
            kind = "VIEW" if source == "parquet" else "TABLE"
            connection.execute(f"CREATE {kind} {table} AS SELECT * FROM read_parquet('{parquet}')")
        questions = (
            ("worklist_all", WORKLIST, worklist_all),
            ("worklist_page", WORKLIST, worklist_page),
            ("completeness", completeness_sql(items, by_practice), completeness),
        )
        rows, times = timed_rounds(connection, questions, repetitions)
        for question, _, _ in questions:
            answers[(source, question)] = rows[question]
            spent = times[question]
            print(f"timing {source} {question} {statistics.median(spent):.6f} {min(spent):.6f} {max(spent):.6f}")
    for source in ("parquet", "memory"):
        for question in ("worklist_all", "worklist_page", "completeness"):
            if answers[(source, question)] != answers[("parquet", question)]:
                sys.exit(f"DuckDB gave different answers to {question} over parquet and in memory")
    for name, rows in (
        ("worklist", answers[("parquet", "worklist_all")]),
        ("page", answers[("parquet", "worklist_page")]),
        ("completeness", answers[("parquet", "completeness")]),
    ):
        with open(os.path.join(directory, f"duckdb-{name}.tsv"), "w", encoding="utf-8") as out:
            for row in rows:
                out.write("\t".join(field(value) for value in row) + "\n")
    threads = connection.execute("SELECT current_setting('threads')").fetchone()[0]
    print(f"duckdb {duckdb.__version__} threads {threads}")


if __name__ == "__main__":
    main()
