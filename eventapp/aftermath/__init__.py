"""What follows an event: its replay, its materials and the one mail each registrant gets."""
