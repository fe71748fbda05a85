"""Lead delivery to the client's ESP: signed webhooks (Standard Webhooks), Zapier, Make, Kit."""
