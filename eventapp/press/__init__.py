"""Press room: press releases, press contacts and the inquiries journalists send."""
