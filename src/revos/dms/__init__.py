"""Direct messages: asking commenters for their email and reading it from their reply."""
