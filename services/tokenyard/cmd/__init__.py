"""Operator CLI commands that talk to a running gateway over its HTTP API (`tokenyard keys|apps|...`)."""
