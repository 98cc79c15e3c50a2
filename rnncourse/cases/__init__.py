"""Visible test cases of each chapter's exercise, keyed by the notebook's test-cell id."""
