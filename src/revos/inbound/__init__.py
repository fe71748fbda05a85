"""The inbound inbox: Unipile webhooks (`POST /hooks/unipile`) and polled messages, stored once per
provider id in `inbound_events` and handed to the handlers registered per source."""

from revos.inbound.registry import Handler, handlers_for, register, unregister
from revos.inbound.service import process_event, record_polled_message, sweep

__all__ = [
    "Handler",
    "handlers_for",
    "process_event",
    "record_polled_message",
    "register",
    "sweep",
    "unregister",
]
