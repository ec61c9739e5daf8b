"""Finding, checking, splitting, loading and augmenting photo/mask pairs."""
