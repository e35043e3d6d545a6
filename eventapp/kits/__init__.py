"""Kits of sheets: a weekly release calendar, public downloads and follow-up mails."""
