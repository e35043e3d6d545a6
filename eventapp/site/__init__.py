"""What every page shares: the organisation, the language switch, error pages."""
