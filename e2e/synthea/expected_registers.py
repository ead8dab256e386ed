#!/usr/bin/env python3
"""Independent oracle for register counts over FHIR R4 patient bundles.

Reads Concord's register definitions and codelists (data/), then applies the QOF-style register
rule to the bundles with its own code, written separately from the Rust implementation:
alive and (by import option) registered on the reference date, at least the minimum age, a
diagnosis code not recorded in error, onset on or before the date (and on or after the register's
earliest diagnosis date), not resolved by then, and no resolved code recorded on or after the
latest such diagnosis.

Usage: expected_registers.py DATA_DIR BUNDLE_DIR YYYY-MM-DD  -> prints a JSON object of counts.
"""
import csv
import datetime
import glob
import json
import os
import sys

SNOMED = "http://snomed.info/sct"


def read_codelist(data_dir, codelist_id):
    path = os.path.join(data_dir, "codelists", f"{codelist_id}.csv")
    with open(path, encoding="utf-8") as handle:
        rows = [line for line in handle if not line.startswith("#")]
    return {(row["system"], row["code"].strip()) for row in csv.DictReader(rows)}


def read_registers(data_dir):
    with open(os.path.join(data_dir, "registers.csv"), encoding="utf-8") as handle:
        rows = [line for line in handle if not line.startswith("#")]
    registers = []
    for row in csv.DictReader(rows):
        registers.append({
            "id": row["id"],
            "diagnosis": read_codelist(data_dir, row["diagnosis_codelist"]),
            "resolved": read_codelist(data_dir, row["resolved_codelist"]) if row["resolved_codelist"] else set(),
            "minimum_age": int(row["minimum_age"]) if row["minimum_age"] else None,
            "earliest": datetime.date.fromisoformat(row["diagnosed_on_or_after"]) if row["diagnosed_on_or_after"] else None,
        })
    return registers


def day(text):
    return datetime.date.fromisoformat(text[:10]) if text else None


def age_on(born, on):
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def short_system(uri):
    return {SNOMED: "snomed", "http://loinc.org": "loinc"}.get(uri, uri)


def main():
    data_dir, bundle_dir, on_text = sys.argv[1:4]
    on = datetime.date.fromisoformat(on_text)
    registers = read_registers(data_dir)
    counts = {register["id"]: 0 for register in registers}
    for path in sorted(glob.glob(os.path.join(bundle_dir, "*.json"))):
        with open(path, encoding="utf-8") as handle:
            bundle = json.load(handle)
        resources = [entry["resource"] for entry in bundle.get("entry", [])]
        patient = next(resource for resource in resources if resource["resourceType"] == "Patient")
        death = day(patient.get("deceasedDateTime"))
        if death is not None and death <= on:
            continue
        born = day(patient["birthDate"])
        conditions = []
        for resource in resources:
            if resource["resourceType"] != "Condition":
                continue
            verification = [c.get("code") for c in resource.get("verificationStatus", {}).get("coding", [])]
            if "entered-in-error" in verification or "refuted" in verification:
                continue
            codes = {(short_system(c.get("system", "")), c.get("code")) for c in resource["code"].get("coding", [])}
            clinical = [c.get("code") for c in resource.get("clinicalStatus", {}).get("coding", [])]
            onset = day(resource.get("onsetDateTime")) or day(resource.get("recordedDate"))
            abatement = day(resource.get("abatementDateTime"))
            resolved_now = bool(set(clinical) & {"inactive", "resolved", "remission"}) and (abatement is None or abatement <= on)
            conditions.append((codes, onset, resolved_now or (abatement is not None and abatement <= on)))
        for register in registers:
            if register["minimum_age"] is not None and age_on(born, on) < register["minimum_age"]:
                continue
            diagnoses = [
                onset for codes, onset, resolved in conditions
                if codes & register["diagnosis"] and not resolved
                and (onset is None or onset <= on)
                and not (register["earliest"] and onset and onset < register["earliest"])
            ]
            if not diagnoses:
                continue
            dated = [onset for onset in diagnoses if onset is not None]
            latest = max(dated) if len(dated) == len(diagnoses) else None
            later_resolution = any(
                codes & register["resolved"] and (onset is None or ((latest is None or onset >= latest) and onset <= on))
                for codes, onset, _ in conditions
            )
            if not later_resolution:
                counts[register["id"]] += 1
    print(json.dumps(counts, sort_keys=True))


if __name__ == "__main__":
    main()
