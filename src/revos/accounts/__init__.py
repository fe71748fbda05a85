"""LinkedIn accounts: connection through Unipile (`connecting`, `hosted`, `credentials`), status and pauses
(`service`), the shared Unipile client (`provider`) and account safety (`safety`: one budget per account,
caps, hours, gaps, warm-up). Their SQL is `repo`'s."""
