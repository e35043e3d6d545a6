"""Organiser accounts and signing in to the back office."""
