"""The audit log: who changed what (an organiser in the back office, or a command), and when."""
