"""Calendar files: public downloads and feeds, personal invites, "add to my calendar" links."""
