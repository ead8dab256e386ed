"""Validates FHIR resources with an independent implementation: the fhir.resources package
(pydantic models generated from the FHIR specification; its R4B models, whose CarePlan, Goal and
Patient are the R4 ones). Reads a Bundle (JSON) on standard input and prints, as JSON, each
entry's resourceType, id and the validation errors (empty when valid)."""
import json
import sys

from fhir.resources.R4B import get_fhir_model_class
from pydantic import ValidationError

bundle = json.load(sys.stdin)
results = []
for item in [bundle] + [entry["resource"] for entry in bundle.get("entry", [])]:
    errors = []
    try:
        model = get_fhir_model_class(item["resourceType"])
        (model.model_validate if hasattr(model, "model_validate") else model.parse_obj)(item)
    except ValidationError as error:
        errors = [f"{'.'.join(str(part) for part in problem['loc'])}: {problem['msg']}" for problem in error.errors()]
    except Exception as error:  # an unknown resource type or malformed input
        errors = [str(error)]
    results.append({"resourceType": item.get("resourceType"), "id": item.get("id"), "errors": errors})
json.dump(results, sys.stdout)
