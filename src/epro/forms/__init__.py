"""Form files: parse, validate, model, FHIR export."""
