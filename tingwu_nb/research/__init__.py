"""Research tooling: comparing conditions over recordings. ``metrics``: WER and CER."""
