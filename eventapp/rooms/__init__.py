"""Rooms: the video conference of an event, opened by eventapp (BigBlueButton) or a link, and the presence measured in it."""
