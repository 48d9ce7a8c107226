"""Instructor side of the Day 26 workbook: thresholds now; release, autograding and reports to come."""
