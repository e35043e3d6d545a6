"""Speakers and the events they speak at."""
