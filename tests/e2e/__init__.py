"""Browser tests: journeys and accessibility, in Debian's Chromium against a live server."""
