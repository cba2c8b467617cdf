"""The eval suite for draft quality and the benchmarks (cases, scorers and runner are being built)."""
