"""Registrations: the form, capacity and waiting list, the attendee space and personal links."""
