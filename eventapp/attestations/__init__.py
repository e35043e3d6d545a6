"""Attestations of presence: issued above an event's threshold of minutes, checked on a public page by their code."""
