"""Judgement as pure functions over records: classification, severity and the triage policy, blameless language,
recurring patterns, fix verification statistics, grounding of drafts, attribution of multi-agent runs, and the
runbook entries and regression cases learnt from records."""
