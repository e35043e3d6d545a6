"""The satisfaction survey after an event: one answer per registration, through a personal link."""
