"""Shareable reports: standalone HTML (figures embedded, no external resources) with secrets redacted."""
