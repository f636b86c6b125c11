"""What the emulator computes after (and beside) recognition: ``translate`` (speech -> English,
live) and ``postprocess`` (the result files and the mp3 once a record is stopped)."""
