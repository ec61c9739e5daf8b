"""Small helpers every layer uses: atomic files, machine facts, quiet logs, background decoding."""
