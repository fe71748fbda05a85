"""Campaign skills: copywriting, voice, deliverability and design, with their execution log."""
