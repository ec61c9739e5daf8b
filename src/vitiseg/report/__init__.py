"""Pictures and tables made from metrics and predictions."""
