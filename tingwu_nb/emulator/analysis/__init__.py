"""What the emulator computes after (and beside) recognition: ``translate`` (live translation: the
language model's text pairs, or speech -> English without it) and ``postprocess`` (the result
files and the mp3 once a record is stopped)."""
