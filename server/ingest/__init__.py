"""Incidents in and out: JSON input with limits and the one file reader, JSONL import, backups (export and
restore), and OpenTelemetry GenAI traces (OTLP/JSON) turned into captures."""
