"""The organisers' back office under /admin."""
