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
        "registration_start": "VARCHAR",
        "registration_end": "VARCHAR",
        "death_date": "VARCHAR",
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
        "raised_at": "VARCHAR",
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
    "care_cycle_event": {"id": "VARCHAR", "cycle_id": "VARCHAR", "patient_id": "VARCHAR", "event": "VARCHAR", "on_date": "VARCHAR"},
    "care_plan": {"id": "VARCHAR", "patient_id": "VARCHAR", "current_version": "BIGINT"},
    "care_plan_version": {"id": "VARCHAR", "plan_id": "VARCHAR", "version": "BIGINT", "status": "VARCHAR", "recorded_at": "VARCHAR"},
    "care_plan_entry": {"version_id": "VARCHAR", "section": "VARCHAR", "item": "BIGINT", "field": "VARCHAR", "value": "VARCHAR"},
    "goal_progress": {"id": "VARCHAR", "patient_id": "VARCHAR", "plan_id": "VARCHAR", "goal": "VARCHAR", "status": "VARCHAR", "written_at": "VARCHAR"},
    "survey_response": {"id": "VARCHAR", "patient_id": "VARCHAR", "support": "VARCHAR", "submitted_at": "VARCHAR"},
    "encounter": {
        "patient_id": "VARCHAR",
        "start_at": "VARCHAR",
        "setting": "VARCHAR",
        "clinician": "VARCHAR",
        "status": "VARCHAR",
        "kind_code_system": "VARCHAR",
        "kind_code": "VARCHAR",
        "planned": "BIGINT",
        "booked_at": "VARCHAR",
        "year_of_care_contact": "BIGINT",
    },
}

# The dashboard (crates/app/src/outcomes.rs, practice_figures, over crates/store/src/outcomes.rs's
# reads), as DuckDB statements over the same rows. $1 is the scope's practice ('' for all).
SCOPE = "($1 = '' OR p.practice_ods_code = $1)"

# Concord's unscheduled GP contact (crates/domain/src/record.rs is_unscheduled_gp_contact, with
# the parsing of crates/domain/src/record.rs): attended (or unknown status), in the practice's own
# settings, with a GP or an unstated clinician, not a Year of Care contact, not planned (flag,
# planned type, or booked two days or more ahead). Dates are the timestamp's own calendar day.
CONTACTS = """
SELECT e.patient_id, CAST(substr(e.start_at, 1, 10) AS DATE) AS day FROM encounter e
WHERE e.year_of_care_contact = 0
  AND lower(trim(e.status)) NOT IN ('did-not-attend', 'noshow', 'no-show', 'cancelled', 'entered-in-error',
                                    'booked', 'planned', 'pending', 'proposed')
  AND lower(trim(e.setting)) IN ('surgery', 'telephone', 'video', 'home-visit')
  AND lower(trim(e.clinician)) NOT IN ('nurse', 'hca', 'healthcare assistant', 'pharmacist', 'other')
  AND COALESCE(e.planned, 0) = 0
  AND NOT EXISTS (SELECT 1 FROM planned_kinds k WHERE k.system = e.kind_code_system AND k.code = e.kind_code)
  AND NOT (e.booked_at IS NOT NULL
           AND epoch(CAST(e.start_at AS TIMESTAMPTZ)) - epoch(CAST(e.booked_at AS TIMESTAMPTZ)) >= 172800)
"""

FIRSTS = "SELECT plan_id, MIN(recorded_at) AS first_agreed FROM care_plan_version WHERE status = 'agreed' GROUP BY plan_id"


def dashboard_statements(nda_items, copd_items, practice):
    """Each statement with its parameters' names; run in order, they make the dashboard."""
    return [
        ("eligible", f"SELECT COUNT(*) FROM patient_status p WHERE p.enters_cycle = 1 AND {SCOPE}", ["scope"]),
        ("cycle", f"""SELECT e.event, COUNT(DISTINCT e.patient_id) FROM patient p
            JOIN care_cycle c ON c.patient_id = p.id AND c.cycle_year = $2
            JOIN care_cycle_event e ON e.cycle_id = c.id WHERE {SCOPE} GROUP BY e.event""", ["scope", "cycle_year"]),
        ("nda", completeness_sql(nda_items, practice), ["nda"]),
        ("copd", completeness_sql(copd_items, practice), ["copd"]),
        ("plans", f"""WITH firsts AS ({FIRSTS})
            SELECT COUNT(*) FILTER (WHERE cur.status = 'agreed' AND s.enters_cycle = 1), COUNT(f.first_agreed)
            FROM patient p
            JOIN care_plan cp ON cp.patient_id = p.id
            JOIN care_plan_version cur ON cur.plan_id = cp.id AND cur.version = cp.current_version
            LEFT JOIN patient_status s ON s.patient_id = p.id
            LEFT JOIN firsts f ON f.plan_id = cp.id WHERE {SCOPE}""", ["scope"]),
        ("unscheduled", f"""WITH firsts AS ({FIRSTS}), contacts AS ({CONTACTS}),
            planned_people AS (
                SELECT cp.patient_id, CAST(substr(f.first_agreed, 1, 10) AS DATE) AS agreed,
                       CAST(p.registration_start AS DATE) AS registered,
                       least(CAST(p.death_date AS DATE), CAST(p.registration_end AS DATE)) AS left_on FROM patient p
                JOIN care_plan cp ON cp.patient_id = p.id JOIN firsts f ON f.plan_id = cp.id WHERE {SCOPE}),
            windows AS (
                SELECT patient_id, agreed,
                       least(agreed, greatest(agreed - 365, coalesce(registered, agreed - 365))) AS before_start,
                       least(CAST($2 AS DATE), agreed + 365, coalesce(left_on, CAST($2 AS DATE))) AS after_end
                FROM planned_people)
            SELECT COUNT(*),
                   COALESCE(SUM((SELECT COUNT(*) FROM contacts c WHERE c.patient_id = w.patient_id
                                 AND c.day >= w.before_start AND c.day < w.agreed)), 0),
                   COALESCE(SUM(w.agreed - w.before_start), 0),
                   COALESCE(SUM((SELECT COUNT(*) FROM contacts c WHERE c.patient_id = w.patient_id
                                 AND c.day >= w.agreed AND c.day < w.after_end)), 0),
                   COALESCE(SUM(greatest(0, w.after_end - w.agreed)), 0)
            FROM windows w""", ["scope", "today"]),
        ("supported", f"""SELECT COUNT(*) FILTER (WHERE support IN ('yes_definitely', 'yes_some_extent')),
                   COUNT(*) FILTER (WHERE support IN ('yes_definitely', 'yes_some_extent', 'no'))
            FROM (SELECT s.support, row_number() OVER (PARTITION BY s.patient_id ORDER BY s.submitted_at DESC, s.id DESC) AS n
                  FROM patient p JOIN survey_response s ON s.patient_id = p.id WHERE {SCOPE} AND s.support <> '')
            WHERE n = 1""", ["scope"]),
        ("goals", f"""WITH newest AS (
                SELECT plan_id, goal, status FROM (
                    SELECT g.plan_id, g.goal, g.status,
                           row_number() OVER (PARTITION BY g.plan_id, g.goal ORDER BY g.written_at DESC, g.id DESC) AS n
                    FROM patient p JOIN goal_progress g ON g.patient_id = p.id WHERE {SCOPE}) WHERE n = 1),
            goals AS (
                SELECT cp.id AS plan_id, e.value AS goal FROM patient p JOIN care_plan cp ON cp.patient_id = p.id
                JOIN care_plan_version v ON v.plan_id = cp.id AND v.version = cp.current_version AND v.status = 'agreed'
                JOIN care_plan_entry e ON e.version_id = v.id AND e.section = 'goal' AND e.field = 'words' WHERE {SCOPE})
            SELECT COUNT(*), COUNT(n.status), COUNT(*) FILTER (WHERE n.status = 'achieved')
            FROM goals g LEFT JOIN newest n ON n.plan_id = g.plan_id AND n.goal = g.goal""", ["scope"]),
        ("flags", f"""WITH timed AS (
                SELECT f.severity, f.actioned_at IS NULL AS open,
                       trunc(epoch(CAST(f.actioned_at AS TIMESTAMPTZ)) - epoch(CAST(f.raised_at AS TIMESTAMPTZ))) AS seconds
                FROM patient p JOIN red_flag f ON f.patient_id = p.id AND f.raised_at >= $2 WHERE {SCOPE})
            SELECT COUNT(*) FILTER (WHERE NOT open AND greatest(seconds, 0) <= 3600),
                   COUNT(*) FILTER (WHERE NOT open AND seconds > 3600 AND seconds <= 4 * 3600),
                   COUNT(*) FILTER (WHERE NOT open AND seconds > 4 * 3600 AND seconds <= 24 * 3600),
                   COUNT(*) FILTER (WHERE NOT open AND seconds > 24 * 3600 AND seconds <= 72 * 3600),
                   COUNT(*) FILTER (WHERE NOT open AND seconds > 72 * 3600 AND seconds <= 168 * 3600),
                   COUNT(*) FILTER (WHERE NOT open AND seconds > 168 * 3600 AND seconds <= 336 * 3600),
                   COUNT(*) FILTER (WHERE NOT open AND seconds > 336 * 3600),
                   COUNT(*) FILTER (WHERE NOT open AND severity = 'urgent'),
                   COUNT(*) FILTER (WHERE NOT open AND severity = 'urgent' AND seconds <= 24 * 3600),
                   COUNT(*) FILTER (WHERE NOT open AND severity = 'soon'),
                   COUNT(*) FILTER (WHERE NOT open AND severity = 'soon' AND seconds <= 336 * 3600),
                   COUNT(*) FILTER (WHERE open)
            FROM timed""", ["scope", "since"]),
        ("events", f"""SELECT e.event, substr(e.on_date, 1, 7) AS month, COUNT(*) FROM patient p
            JOIN care_cycle_event e ON e.patient_id = p.id AND e.on_date >= $2 WHERE {SCOPE}
            GROUP BY e.event, substr(e.on_date, 1, 7)""", ["scope", "since"]),
    ]


def dashboard_line(answers, steps, activities, fy_start, months, series, register_items):
    """The answers as Concord's `name=value` line (crates/bench/src/dashboard.rs answer_line)."""
    fields = {}
    fields["eligible"] = answers["eligible"][0][0]
    cycle = dict(answers["cycle"])
    for step in steps:
        fields[f"cycle_{step}"] = cycle.get(step, 0)
    for name, rows in (("nda", answers["nda"]), ("copd", answers["copd"])):
        fields[f"{name}_people"], fields[f"{name}_done"] = rows[0][0], rows[0][1]
    fields["plans_shared"] = answers["plans"][0][0]
    people, before, days_before, after, days_after = answers["unscheduled"][0]
    fields.update(planned_people=people, unscheduled_before=before, days_before=days_before,
                  unscheduled_after=after, days_after=days_after)
    fields["supported_yes"], fields["supported_answered"] = answers["supported"][0]
    fields["goals"], fields["goals_with_progress"], fields["goals_attained"] = answers["goals"][0]
    flags = answers["flags"][0]
    for band in range(7):
        fields[f"band{band}"] = flags[band]
    (fields["urgent_actioned"], fields["urgent_within"], fields["soon_actioned"], fields["soon_within"],
     fields["flags_open"]) = flags[7:12]
    for activity, _ in activities:
        fields[f"lcs_{activity}"] = 0
    for name in series:
        for month in months:
            fields[f"month_{name}_{month}"] = 0
    for event, month, count in answers["events"]:
        if month >= fy_start[:7]:
            for activity, activity_event in activities:
                if activity_event == event:
                    fields[f"lcs_{activity}"] += count
        if event in series and month in months:
            fields[f"month_{event}_{month}"] += count
    return "\t".join(f"{name}={int(value)}" for name, value in sorted(fields.items()))

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
    # The dashboard's arguments: today, the first day counted, the financial year's start, the
    # trend months and series, the cycle steps, activity:event pairs, and the COPD measure.
    today, since, fy_start, months, series, steps, activities, copd_register, copd_items = sys.argv[9:18]
    months, series, steps = months.split(","), series.split(","), steps.split(",")
    activities = [tuple(pair.split(":")) for pair in activities.split(",") if pair]
    copd_items = [item for item in copd_items.split(",") if item]
    connection = duckdb.connect()
    connection.execute("SET TimeZone = 'UTC'")
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
        connection.execute("DROP TABLE IF EXISTS planned_kinds")
        connection.execute(
            f"CREATE TABLE planned_kinds AS SELECT * FROM read_csv('{os.path.join(directory, 'planned_kinds.tsv')}', "
            "header = true, delim = '\t', columns = {'system': 'VARCHAR', 'code': 'VARCHAR'})"
        )
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
        # The dashboard: every statement in turn is one answer, timed together.
        values = {
            "scope": practice if by_practice else "",
            "cycle_year": cycle_year,
            "today": today,
            "since": since,
            "nda": [f"% {register} %", *([practice] if by_practice else []), *items],
            "copd": [f"% {copd_register} %", *([practice] if by_practice else []), *copd_items],
        }
        statements = dashboard_statements(items, copd_items, by_practice)
        spent = []
        for round in range(repetitions + 1):
            started = time.perf_counter()
            dashboard = {}
            for name, sql, parameters in statements:
                bound = []
                for parameter in parameters:
                    value = values[parameter]
                    bound.extend(value if isinstance(value, list) else [value])
                dashboard[name] = connection.execute(sql, bound).fetchall()
            if round > 0:
                spent.append(time.perf_counter() - started)
        answers[(source, "dashboard")] = dashboard_line(dashboard, steps, activities, fy_start, months, series, items)
        print(f"timing {source} dashboard {statistics.median(spent):.6f} {min(spent):.6f} {max(spent):.6f}")
    for source in ("parquet", "memory"):
        for question in ("worklist_all", "worklist_page", "completeness", "dashboard"):
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
    with open(os.path.join(directory, "duckdb-dashboard.tsv"), "w", encoding="utf-8") as out:
        out.write(answers[("parquet", "dashboard")] + "\n")
    threads = connection.execute("SELECT current_setting('threads')").fetchone()[0]
    print(f"duckdb {duckdb.__version__} threads {threads}")


if __name__ == "__main__":
    main()
